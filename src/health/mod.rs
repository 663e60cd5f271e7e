//! Owns what hale knows of its backends: which targets the checks name
//! ([`Checks`]), one prober task per distinct target (however many names
//! share it) with its rise/fall hysteresis, the mass-failure [`Guard`], and
//! the [`Verdicts`] the answer snapshots are built from.
//!
//! ```text
//! Checks ─► Health::reconcile ─► prober tasks ─► Target (verdict) ─┐
//!                                                                   ├─► Guard ─► Verdicts
//!                              `changes` watch moves on each flip ◄─┘
//! ```
//!
//! The query path never waits on anything here: a new snapshot is built
//! from [`Verdicts`] whenever the `changes` watch channel given to
//! [`Health::new`] moves.

// Config resolved against zones: names, addresses, targets.
mod checks;
mod target;
// One target's verdict and results, fed by its prober.
mod tracked;
// Probing and the verdict it feeds.
mod probe;
mod state;
// Counts for metrics: probes, verdict changes, probe durations.
mod tally;
// TLS trust for https probes: roots, ca_file, certificate checks.
mod tls;
// What answers follow: the verdicts, or the guard's held ones, and the
// operator's overrides.
mod guard;
mod overrides;
// The state file: verdicts and overrides across restarts.
mod persist;
mod verdicts;

pub use crate::config::{Schedule, Scheme};
pub use checks::{AddressProbes, Addresses, CheckedName, Checks, Placement, WorstCase};
pub use guard::{Guard, GuardStatus};
pub use overrides::{Override, OverrideKind, Overrides, override_name};
pub use persist::{Saved, SavedDeparture, SavedVerdict, StateError};
pub use target::{TargetKey, TargetSpec};
pub use tracked::{Target, TargetStatus, Verdict};
pub use verdicts::{Judgement, Verdicts};

use std::collections::HashMap;

use std::net::IpAddr;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rand::Rng;

use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

pub use probe::{MAX_BODY, ProbeResult};
pub use state::{Damping, Hysteresis, Transition};
pub use tally::{PROBE_DURATION_BUCKETS, ProbeTally};

use probe::{ProbeError, Prober};
use tls::TlsConfigs;

/// Probes allowed in flight at once across all targets, so a large config
/// cannot open thousands of sockets in the same instant.
const MAX_CONCURRENT_PROBES: usize = 256;

/// Floor for the probe interval, so a zero or tiny interval cannot spin a core.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Ceiling for any single wait, so absurd intervals cannot overflow an `Instant`.
const MAX_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Every running target by key. Replaced whole on reconcile, never mutated.
pub type Targets = Arc<HashMap<TargetKey, Arc<Target>>>;

/// Errors building the probing machinery.
#[derive(thiserror::Error, Debug)]
pub enum HealthError {
    /// rustls refused the TLS client configuration.
    #[error("building TLS configuration for health probes: {0}")]
    Tls(#[from] rustls::Error),
}

/// Owns every prober. Cheap to clone; all clones drive the same set.
#[derive(Clone)]
pub struct Health {
    /// State shared by all clones.
    inner: Arc<Probers>,
}

/// What all clones of [`Health`] share.
struct Probers {
    /// Built once; every per-target client clones from it.
    tls: TlsConfigs,
    /// Bounds probes in flight across all targets.
    permits: Arc<Semaphore>,
    /// Parent of every target's token; cancelled on shutdown.
    root: CancellationToken,
    /// Bumped on every healthy-flag flip.
    changes: Arc<watch::Sender<u64>>,
    /// The current map, readable without a lock.
    targets: ArcSwap<HashMap<TargetKey, Arc<Target>>>,
    /// The operator's overrides.
    overrides: Overrides,
    /// Verdicts from the state file, for the targets of the first reconcile.
    saved: Mutex<HashMap<TargetKey, SavedVerdict>>,
    /// When addresses left answers: restored from the state file, then kept
    /// current by the server, for the state file.
    departures: Mutex<Vec<SavedDeparture>>,
    /// Serialises reconciles so two reloads cannot interleave; true once
    /// the first (the start's) is done: targets added later are on probation.
    reconciling: Mutex<bool>,
}

impl Drop for Probers {
    fn drop(&mut self) {
        // Prober tasks hold no reference back to `Probers`, so without this they
        // would outlive the last `Health` handle.
        self.root.cancel();
    }
}

impl Health {
    /// Builds the shared TLS and HTTP machinery. `changes` is bumped every time
    /// any target's healthy flag flips (not on every probe).
    pub fn new(changes: watch::Sender<u64>) -> Result<Self, HealthError> {
        let tls = TlsConfigs::new()?;
        Ok(Self {
            inner: Arc::new(Probers {
                tls,
                permits: Arc::new(Semaphore::new(MAX_CONCURRENT_PROBES)),
                root: CancellationToken::new(),
                changes: Arc::new(changes),
                targets: ArcSwap::from_pointee(HashMap::new()),
                overrides: Overrides::default(),
                saved: Mutex::new(HashMap::new()),
                departures: Mutex::new(Vec::new()),
                reconciling: Mutex::new(false),
            }),
        })
    }

    /// Makes the running probers match `specs`: keys already running keep
    /// their `Arc<Target>` and state (names and schedule are updated), new keys
    /// get a fresh target with no verdict (on probation after the first
    /// reconcile) and a prober that probes it at once, and keys no longer
    /// present have their prober stopped. Must be called from
    /// within a tokio runtime; returns the new map.
    pub fn reconcile(&self, specs: Vec<TargetSpec>) -> Targets {
        let mut started = self
            .inner
            .reconciling
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let probation = std::mem::replace(&mut *started, true);
        if !probation && let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let probers = Arc::downgrade(&self.inner);
            runtime.spawn(watch_stale(probers, self.inner.root.clone()));
        }
        // Saved verdicts count for the start's targets only.
        let saved =
            std::mem::take(&mut *self.inner.saved.lock().unwrap_or_else(|e| e.into_inner()));
        let old = self.inner.targets.load_full();
        let runtime = tokio::runtime::Handle::try_current();
        // One TLS client per ca_file of this load, shared by its targets.
        if let Err(e) = self
            .inner
            .tls
            .install(specs.iter().filter_map(|s| s.ca.as_ref()))
        {
            error!(error = %e, "ca_file: cannot build a TLS client; its targets fail their probes");
        }
        let mut new: HashMap<TargetKey, Arc<Target>> = HashMap::with_capacity(specs.len());

        for spec in specs {
            if let Some(existing) = new.get(&spec.key) {
                // Keys should be unique; if not, keep one prober and merge the names.
                let mut names = existing.lock().names.clone();
                for name in spec.names {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                let schedule = existing.schedule();
                existing.update(names, schedule);
                continue;
            }
            if let Some(existing) = old.get(&spec.key) {
                existing.update(spec.names, spec.schedule);
                new.insert(spec.key, existing.clone());
                continue;
            }
            let restored = saved.get(&spec.key);
            // A warm restart starts it down: say so, as its going down was.
            if let Some(down) = restored.filter(|v| !v.up) {
                warn!(
                    address = %spec.key.ip,
                    names = ?spec.names,
                    probe = spec.key.to_string().as_str(),
                    since = %humantime::format_rfc3339_seconds(down.since),
                    "restored down from the state file"
                );
            }
            let target = Arc::new(Target::new(
                spec,
                probation,
                restored,
                self.inner.root.child_token(),
            ));
            match &runtime {
                Ok(handle) => {
                    let prober = Prober::new(target.key(), &self.inner.tls);
                    handle.spawn(run(
                        target.clone(),
                        prober,
                        self.inner.permits.clone(),
                        self.inner.changes.clone(),
                    ));
                }
                Err(e) => {
                    error!(probe = %target.key(), error = %e, "no tokio runtime: target will not be probed");
                }
            }
            new.insert(target.key().clone(), target);
        }

        for (key, target) in old.iter() {
            if !new.contains_key(key) {
                target.cancel.cancel();
            }
        }
        let new = Arc::new(new);
        self.inner.targets.store(new.clone());
        new
    }

    /// The current map.
    pub fn targets(&self) -> Targets {
        self.inner.targets.load_full()
    }

    /// The operator's overrides.
    pub fn overrides(&self) -> &Overrides {
        &self.inner.overrides
    }

    /// Takes what a state file kept: its overrides at once, and its verdicts
    /// no older than `max_age` for the targets the first reconcile creates
    /// (the rest start without a verdict). Call before that reconcile.
    pub fn restore(&self, saved: Saved, max_age: Duration) {
        let now = SystemTime::now();
        let fresh: HashMap<TargetKey, SavedVerdict> = saved
            .verdicts
            .into_iter()
            .filter(|v| now.duration_since(v.at).is_ok_and(|age| age <= max_age))
            .map(|v| (v.target.clone(), v))
            .collect();
        let overrides = Overrides::from_list(saved.overrides, now).active(now);
        info!(
            verdicts = fresh.len(),
            overrides = overrides.len(),
            "state file restored"
        );
        for o in overrides {
            self.expire_later(&o);
            let _ = self.inner.overrides.set(o);
        }
        *self.inner.saved.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
        self.set_departures(saved.departures);
    }

    /// When addresses left answers, as the server last said (or the state
    /// file, until it does).
    pub fn departures(&self) -> Vec<SavedDeparture> {
        self.inner
            .departures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Keeps `list` for the state file.
    pub fn set_departures(&self, list: Vec<SavedDeparture>) {
        *self
            .inner
            .departures
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = list;
    }

    /// What the state file should hold now.
    pub fn save(&self) -> Saved {
        let targets = self.targets();
        let verdicts = targets.values().filter_map(|t| t.saved()).collect();
        Saved::new(
            verdicts,
            self.inner.overrides.active(SystemTime::now()),
            self.departures(),
        )
    }

    /// A receiver of the signal that moves whenever a verdict or an
    /// override changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// Sets an override and moves answers to it at once; one with an
    /// expiry moves them again when it ends. Must be called from within a
    /// tokio runtime for the expiry to be kept.
    pub fn set_override(&self, o: Override) -> Option<Override> {
        // WARN, as a verdict going down: answers change by hand, and
        // `RUST_LOG=warn` must show it.
        warn!(
            address = %o.address,
            name = o.name.as_deref().unwrap_or("(every name)"),
            kind = o.kind.as_str(),
            reason = o.reason.as_deref().unwrap_or(""),
            until = o
                .until
                .map(|u| humantime::format_rfc3339_seconds(u).to_string())
                .unwrap_or_else(|| "cleared".into()),
            "override set"
        );
        self.expire_later(&o);
        let replaced = self.inner.overrides.set(o);
        self.signal();
        replaced
    }

    /// Removes the overrides of `address` (for `name`, or every one);
    /// returns those removed.
    pub fn clear_override(&self, address: IpAddr, name: Option<&str>) -> Vec<Override> {
        let gone = self.inner.overrides.clear(address, name);
        for o in &gone {
            warn!(
                address = %o.address,
                name = o.name.as_deref().unwrap_or("(every name)"),
                kind = o.kind.as_str(),
                "override cleared"
            );
        }
        if !gone.is_empty() {
            self.signal();
        }
        gone
    }

    /// Moves answers again when `o` expires.
    fn expire_later(&self, o: &Override) {
        let Some(until) = o.until else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (changes, stop) = (self.inner.changes.clone(), self.inner.root.clone());
        let (address, kind) = (o.address, o.kind.as_str());
        runtime.spawn(async move {
            // Expiry is judged by the wall clock: sleep again if it was set
            // back meanwhile, so answers never keep an expired override.
            while let Ok(wait) = until.duration_since(SystemTime::now()) {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(wait.min(MAX_WAIT) + Duration::from_millis(1)) => {}
                }
            }
            warn!(%address, kind, "override expired");
            changes.send_modify(|generation| *generation = generation.wrapping_add(1));
        });
    }

    /// Tells the snapshot builder that what answers follow changed.
    fn signal(&self) {
        self.inner
            .changes
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    /// Stops every prober (on shutdown). Verdicts stay readable.
    pub fn shutdown(&self) {
        self.inner.root.cancel();
    }
}

/// A value in [0, interval): spreads first probes so a start-up or reload
/// with many targets does not probe them all at once.
fn initial_delay(interval: Duration) -> Duration {
    let fraction: f64 = rand::rng().random();
    scale(interval, fraction)
}

/// The interval ±10%, so targets that started together drift apart.
fn jittered(interval: Duration) -> Duration {
    let factor: f64 = rand::rng().random_range(0.9..=1.1);
    scale(interval, factor)
}

fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor)
        .unwrap_or(d)
        .min(MAX_WAIT)
}

/// `base + d` without the overflow panic of `Instant + Duration`.
fn after(base: Instant, d: Duration) -> Instant {
    base.checked_add(d.min(MAX_WAIT)).unwrap_or(base)
}

/// The prober loop of one target: wait, probe, record, until cancelled.
async fn run(
    target: Arc<Target>,
    prober: Result<Prober, ProbeError>,
    permits: Arc<Semaphore>,
    changes: Arc<watch::Sender<u64>>,
) {
    let cancel = target.cancel.clone();
    let interval = target.schedule().interval.max(MIN_INTERVAL);
    // Without a verdict, at once: answers count it as healthy (or keep a
    // reload's new address out) only until its first result. Otherwise
    // spread over one interval, so a start does not probe all at once.
    let first = match target.verdict() {
        Verdict::Unknown => Duration::ZERO,
        _ => initial_delay(interval),
    };
    let mut next = after(Instant::now(), first);
    target.set_next_probe(wall_time(next));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
            _ = target.schedule_changed.notified() => {
                // A shorter interval takes effect now; a longer one after this wait.
                let interval = target.schedule().interval.max(MIN_INTERVAL);
                next = next.min(after(Instant::now(), jittered(interval)));
                continue;
            }
        }
        let permit = tokio::select! {
            _ = cancel.cancelled() => return,
            permit = permits.acquire() => match permit {
                Ok(permit) => permit,
                // Only a closed semaphore errs, and nothing closes it.
                Err(_) => return,
            },
        };
        let schedule = target.schedule();
        let started = Instant::now();
        let result = match &prober {
            Ok(prober) => tokio::select! {
                _ = cancel.cancelled() => return,
                result = prober.probe(schedule.timeout) => result,
            },
            Err(err) => ProbeResult {
                ok: false,
                reason: err.to_string(),
                latency_ms: 0.0,
                at: SystemTime::now(),
                cert_expires: None,
            },
        };
        drop(permit);
        target.record(result, &changes);
        next = after(started, jittered(schedule.interval.max(MIN_INTERVAL)));
        target.set_next_probe(wall_time(next));
    }
}

/// The wall-clock time of `at`, for people.
fn wall_time(at: Instant) -> SystemTime {
    SystemTime::now() + at.saturating_duration_since(Instant::now())
}

/// Marks targets whose probers fell silent as stale, once a second, until
/// `stop` is cancelled or the probers are gone (it holds them weakly, so
/// that dropping the last [`Health`] still stops everything).
async fn watch_stale(probers: std::sync::Weak<Probers>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let Some(probers) = probers.upgrade() else {
            return;
        };
        let now = SystemTime::now();
        for target in probers.targets.load().values() {
            target.check_stale(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;
    use std::net::SocketAddr;

    use super::probe::test_server::{Reply, Server};
    use super::*;

    fn spec(addr: SocketAddr, names: &[&str], interval_ms: u64) -> TargetSpec {
        TargetSpec {
            key: TargetKey {
                ip: addr.ip(),
                scheme: Scheme::Http,
                port: addr.port(),
                path: "/healthz".into(),
                host: "www.example.test".into(),
                expect_status: None,
                expect_body: Some("ok".into()),
                tls_verify: true,
                ca_file: None,
                cert_min_days: None,
            },
            schedule: Schedule {
                interval: Duration::from_millis(interval_ms),
                timeout: Duration::from_millis(500),
                rise: 2,
                fall: 2,
                flap_half_life: None,
            },
            names: names.iter().map(|n| n.to_string()).collect(),
            ca: None,
        }
    }

    /// Polls `cond` every 10 ms until it holds or `limit` passes.
    async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if cond() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cond()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reconcile_end_to_end() {
        let server = Server::start(Reply::status(200, "ok")).await;
        let (tx, mut rx) = watch::channel(0u64);
        let health = Health::new(tx).unwrap();
        let s = spec(server.addr, &["www.example.test."], 50);
        let key = s.key.clone();

        let targets = health.reconcile(vec![s.clone()]);
        let target = targets.get(&key).unwrap().clone();
        assert!(target.is_healthy(), "healthy before any result");
        assert!(eventually(Duration::from_secs(5), || server.hits() >= 2).await);
        assert!(target.is_healthy());
        assert_eq!(target.verdict(), Verdict::Up);
        assert_eq!(*rx.borrow_and_update(), 1, "the first result is a verdict");
        assert!(eventually(Duration::from_secs(5), || server.hits() >= 4).await);
        assert!(!rx.has_changed().unwrap(), "passes alone do not signal");

        // A reload with the same key keeps the target and its state.
        let mut s2 = s.clone();
        s2.names = vec!["www.example.test.".into(), "api.example.test.".into()];
        let targets = health.reconcile(vec![s2]);
        assert!(Arc::ptr_eq(targets.get(&key).unwrap(), &target));
        assert_eq!(target.status().names.len(), 2);

        server.set(Reply::status(503, "down"));
        assert!(eventually(Duration::from_secs(5), || !target.is_healthy()).await);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 2);
        let status = target.status();
        assert!(!status.healthy);
        assert!(status.consecutive_failures >= 2);
        let last = status.last.unwrap();
        assert!(!last.ok);
        assert_eq!(last.reason, "status 503");
        let json = serde_json::to_value(target.status()).unwrap();
        assert_eq!(json["healthy"], false);
        assert!(json["since"].as_str().unwrap().ends_with('Z'));

        server.set(Reply::status(200, "ok"));
        assert!(eventually(Duration::from_secs(5), || target.is_healthy()).await);
        assert_eq!(*rx.borrow_and_update(), 3);

        // Removing the spec stops the prober: the request count settles.
        let targets = health.reconcile(Vec::new());
        assert!(targets.is_empty());
        assert!(health.targets().is_empty());
        let mut last_seen = server.hits();
        let mut quiet_since = Instant::now();
        let stopped = eventually(Duration::from_secs(5), || {
            let now = server.hits();
            if now != last_seen {
                last_seen = now;
                quiet_since = Instant::now();
            }
            quiet_since.elapsed() >= Duration::from_millis(400)
        })
        .await;
        assert!(stopped, "prober still running");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_interrupts_a_probe_in_flight() {
        let server = Server::start(Reply::Hang).await;
        let (tx, _rx) = watch::channel(0u64);
        let health = Health::new(tx).unwrap();
        let mut s = spec(server.addr, &["www.example.test."], 50);
        s.schedule.timeout = Duration::from_secs(3600);
        let targets = health.reconcile(vec![s.clone()]);
        let target = targets.get(&s.key).unwrap().clone();
        assert!(eventually(Duration::from_secs(5), || server.hits() == 1).await);
        health.shutdown();
        // The cancelled probe drops its connection: the task is gone, and with
        // it the last reference to the target besides ours.
        assert!(eventually(Duration::from_secs(5), || Arc::strong_count(&target) == 2).await);
        drop(targets);
        health.reconcile(Vec::new());
        assert!(eventually(Duration::from_secs(5), || Arc::strong_count(&target) == 1).await);
        assert!(target.status().last.is_none());
    }

    /// Captures (level, message, fields) of every event.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<Captured>>>);

    /// One event: its level and its fields by name (the text is `message`).
    type Captured = (tracing::Level, HashMap<String, String>);

    struct Fields<'a>(&'a mut HashMap<String, String>);

    impl tracing::field::Visit for Fields<'_> {
        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            self.0.insert(field.name().to_string(), value.to_string());
        }
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
            self.0
                .insert(field.name().to_string(), format!("{value:?}"));
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut fields = HashMap::new();
            event.record(&mut Fields(&mut fields));
            self.0
                .lock()
                .unwrap()
                .push((*event.metadata().level(), fields));
        }
    }

    fn result(ok: bool, reason: &str) -> ProbeResult {
        ProbeResult {
            ok,
            reason: reason.into(),
            latency_ms: 1.0,
            at: SystemTime::now(),
            cert_expires: None,
        }
    }

    #[test]
    fn a_flip_is_logged_once_down_at_warn_up_at_info_and_signalled() {
        use tracing_subscriber::layer::SubscriberExt;
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry().with(capture.clone());
        let (tx, rx) = watch::channel(0u64);
        let addr = SocketAddr::from(([192, 0, 2, 1], 8080));
        let target = Target::new(
            spec(addr, &["www.example.test."], 50),
            false,
            None,
            CancellationToken::new(),
        );
        tracing::subscriber::with_default(subscriber, || {
            // The first result is the verdict at once (rise and fall
            // are for changes of a verdict).
            target.record(result(false, "status 503"), &tx);
            target.record(result(false, "status 503"), &tx);
            target.record(result(false, "connection refused"), &tx);
            target.record(result(true, "status 200"), &tx);
            target.record(result(true, "status 200"), &tx);
        });
        assert!(target.is_healthy());
        assert_eq!(*rx.borrow(), 2);

        let events = capture.0.lock().unwrap();
        // Down at WARN (RUST_LOG=warn shows every outage), up at INFO.
        let changes: Vec<_> = events
            .iter()
            .filter(|(level, _)| *level == tracing::Level::INFO || *level == tracing::Level::WARN)
            .collect();
        assert_eq!(changes.len(), 2, "{events:?}");
        assert_eq!(changes[0].0, tracing::Level::WARN);
        assert_eq!(changes[1].0, tracing::Level::INFO);
        let infos: Vec<_> = changes.iter().map(|(_, f)| f).collect();
        let down = infos[0];
        assert_eq!(down["message"], "health changed");
        assert_eq!(
            down["probe"],
            "http://192.0.2.1:8080/healthz (host www.example.test, body \"ok\")"
        );
        assert_eq!(down["names"], r#"["www.example.test."]"#);
        // Never probed before: not "up" (issue #14).
        assert_eq!(down["old"], "unknown");
        assert_eq!(down["new"], "down");
        assert_eq!(down["reason"], "status 503");
        assert_eq!(infos[1]["old"], "down");
        assert_eq!(infos[1]["new"], "up");
        let debugs = events
            .iter()
            .filter(|(level, _)| *level == tracing::Level::DEBUG)
            .count();
        assert_eq!(debugs, 5, "one DEBUG line per probe");
    }

    #[test]
    fn jitter_stays_in_bounds() {
        let i = Duration::from_millis(1000);
        for _ in 0..1000 {
            let d = initial_delay(i);
            assert!(d < i);
            let j = jittered(i);
            assert!(j >= Duration::from_millis(900) && j <= Duration::from_millis(1100));
        }
        assert_eq!(initial_delay(Duration::ZERO), Duration::ZERO);
        assert_eq!(jittered(Duration::MAX), MAX_WAIT);
    }
}
