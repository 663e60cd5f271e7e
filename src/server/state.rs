//! Owns the state every task of a running server shares: the snapshot
//! queries are answered from, the loaded config it was built from, and the
//! one path by which a health change or a reload publishes a new snapshot.
//!
//! ```text
//! health change ─► rebuild ─┐
//! SIGHUP, POST /reload ─► reload (load on a blocking thread) ─┼─► publish ─► ArcSwap<Snapshot> ─► UDP/TCP
//!                                                             └─► NOTIFY to secondaries
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use tracing::{error, info, warn};

use super::notify::Notifier;
use super::rrl::Limiter;
use super::tcp::Connections;
use crate::config::AdminToken;
use crate::dns::{Changed, LoadError, Loaded, Serials, Snapshot};
use crate::health::{Guard, Health, SavedDeparture, TargetSpec, Targets, Verdicts};
use crate::metrics::Metrics;
use hickory_proto::rr::Name;

/// Why a reload kept the old config.
#[derive(thiserror::Error, Debug)]
pub enum ReloadError {
    /// The new config or a zone file is wrong (file, line, problem).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Loading panicked: a bug, reported instead of taking hale down.
    #[error("reload failed: {0}")]
    Panicked(String),
}

/// State shared by every task of a running server.
pub struct State {
    /// What queries are answered from.
    snapshot: ArcSwap<Snapshot>,
    /// The current config bundle; the lock also serialises snapshot builds.
    loaded: Mutex<Arc<Loaded>>,
    /// The serials served to secondaries; the `loaded` lock orders its use.
    serials: Mutex<Serials>,
    /// The probers.
    pub(super) health: Health,
    /// Holds answers when every probe fails at once.
    pub(super) guard: Guard,
    /// Counters and gauges for /metrics.
    pub(super) metrics: Metrics,
    /// The config file, read again on reload.
    config_path: PathBuf,
    /// Open TCP connections and their cap.
    pub(super) tcp: Arc<Connections>,
    /// Response rate limiting for UDP.
    pub(super) rrl: Limiter,
    /// Tells secondaries of new serials.
    pub(super) notifier: Notifier,
    /// When each address last left a checked name's answers (no query
    /// after that got it); removed while it is in them.
    left: Mutex<HashMap<(Name, IpAddr), SystemTime>>,
    /// The admin token of the start's config: the listener bound then is
    /// guarded by it until a restart, whatever a reload says.
    admin_token: Option<AdminToken>,
    /// Whether the start's config keeps a state file (overrides outlive hale).
    persistent: bool,
    /// Serialises overrides, so two drains cannot each pass the safety
    /// check against the other not yet applied.
    pub(super) control: Mutex<()>,
    /// The last load of config and zones: the start's, or a reload's.
    last_load: Mutex<LastLoad>,
}

/// The last load of config and zones, for `/status` and the page: a
/// rejected reload leaves the old config serving and the files on disk
/// unable to start hale, which an operator must see.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LastLoad {
    /// When it was tried.
    #[serde(with = "humantime_serde")]
    pub at: SystemTime,
    /// `start`, `ok` or `error`.
    pub result: &'static str,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When config and zones last loaded (the start, or a reload).
    #[serde(with = "humantime_serde")]
    pub last_success: SystemTime,
}

/// What [`State::new`] starts from, besides the loaded config.
pub(super) struct Parts {
    /// The probers, already reconciled with the loaded config's targets.
    pub(super) health: Health,
    /// Counters and gauges.
    pub(super) metrics: Metrics,
    /// The config file.
    pub(super) config_path: PathBuf,
    /// Tells secondaries of new serials.
    pub(super) notifier: Notifier,
}

impl State {
    /// The state of a server starting with `loaded`, its first snapshot
    /// built from the targets as they stand; with the zones whose serial
    /// it sets, for the first NOTIFYs.
    pub(super) fn new(loaded: Loaded, parts: Parts) -> (State, Changed) {
        let targets = parts.health.targets();
        let guard = Guard::default();
        let mut serials = Serials::default();
        let verdicts = guard
            .verdicts(&loaded.config.mass_failure, &loaded.checks, &targets)
            .with_overrides(parts.health.overrides().active(SystemTime::now()));
        let (snapshot, changed) = Snapshot::build(&loaded, &verdicts, &mut serials);
        log_serials(&changed);
        // Saved verdicts can put a name in fail-open, or empty it, from the start.
        super::announce::announce(&loaded, None, &snapshot);
        let departures = restored_departures(&parts.health);
        let admin_token = loaded.config.admin_token.clone();
        let persistent = loaded.config.state.is_some();
        let state = State {
            tcp: Arc::new(Connections::new(
                loaded.config.tcp,
                loaded.config.transfer_allow.clone(),
            )),
            rrl: Limiter::new(loaded.config.rrl),
            snapshot: ArcSwap::from_pointee(snapshot),
            loaded: Mutex::new(Arc::new(loaded)),
            serials: Mutex::new(serials),
            health: parts.health,
            guard,
            metrics: parts.metrics,
            config_path: parts.config_path,
            notifier: parts.notifier,
            left: Mutex::new(departures),
            admin_token,
            persistent,
            control: Mutex::new(()),
            last_load: Mutex::new(LastLoad {
                at: SystemTime::now(),
                result: "start",
                error: None,
                last_success: SystemTime::now(),
            }),
        };
        (state, changed)
    }

    /// The last load of config and zones.
    pub fn last_load(&self) -> LastLoad {
        self.last_load
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The config bundle being served.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.lock_loaded().clone()
    }

    /// The snapshot queries are answered from right now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The probers and their targets.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The mass-failure guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether hale is ready: zones loaded (they are, once there is a
    /// state) and every target has a verdict (saved, or a first result).
    pub fn ready(&self) -> bool {
        self.health
            .targets()
            .values()
            .all(|t| t.verdict() != crate::health::Verdict::Unknown)
    }

    /// The token state-changing admin requests need (the start's config's).
    pub fn admin_token(&self) -> Option<&AdminToken> {
        self.admin_token.as_ref()
    }

    /// Whether overrides outlive hale (the start's config has a state file).
    pub fn persistent(&self) -> bool {
        self.persistent
    }

    /// TCP connections open right now.
    pub fn tcp_connections(&self) -> usize {
        self.tcp.open()
    }

    /// The `loaded` lock; whoever panicked holding it left a whole bundle.
    fn lock_loaded(&self) -> MutexGuard<'_, Arc<Loaded>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The verdicts answers follow for `loaded` now: the targets' own (or
    /// the guard's held ones) under the operator's overrides.
    pub(super) fn verdicts(&self, loaded: &Loaded, targets: &Targets) -> Verdicts {
        self.guard
            .verdicts(&loaded.config.mass_failure, &loaded.checks, targets)
            .with_overrides(self.health.overrides().active(SystemTime::now()))
    }

    /// When `address` last left the answers of `name`; `None` while it is
    /// in them (or never was since the start).
    pub fn left_answers_at(&self, name: &Name, address: IpAddr) -> Option<SystemTime> {
        let left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        left.get(&(name.clone(), address)).copied()
    }

    /// Builds and publishes the snapshot of `loaded` under the targets'
    /// current verdicts (or the guard's); the caller holds the `loaded` lock.
    fn publish(&self, loaded: &Loaded, targets: &Targets) {
        let verdicts = self.verdicts(loaded, targets);
        let mut serials = self.serials.lock().unwrap_or_else(|e| e.into_inner());
        let (snapshot, changed) = Snapshot::build(loaded, &verdicts, &mut serials);
        drop(serials);
        log_serials(&changed);
        let before = self.snapshot.swap(Arc::new(snapshot));
        self.note_changes(loaded, &before);
        // After the store: secondaries ask for the new serial at once.
        self.notifier.send(loaded, changed);
    }

    /// Notes when addresses left the answers, and logs names entering or
    /// leaving fail-open; `before` is the snapshot the one just published
    /// replaced.
    fn note_changes(&self, loaded: &Loaded, before: &Snapshot) {
        let now = SystemTime::now();
        let after = self.snapshot();
        super::announce::announce(loaded, Some(before), &after);
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        for spec in loaded.checks.names() {
            let serving = after.serving(&spec.name);
            for (address, _) in before.serving(&spec.name) {
                if !serving.iter().any(|(ip, _)| *ip == address) {
                    left.entry((spec.name.clone(), address)).or_insert(now);
                }
            }
            for (address, _) in serving {
                left.remove(&(spec.name.clone(), address));
            }
        }
        let departures = left
            .iter()
            .map(|((name, address), at)| SavedDeparture {
                name: name.to_ascii(),
                address: *address,
                at: *at,
            })
            .collect();
        self.health.set_departures(departures);
    }

    /// A target's verdict or an override changed: a new snapshot from the
    /// current bundle.
    pub(super) fn rebuild(&self) {
        let loaded = self.lock_loaded();
        let targets = self.health.targets();
        self.publish(&loaded, &targets);
    }

    /// Reloads config and zones, as SIGHUP and `POST /reload` do: on
    /// success replaces config, zones and targets at once; on any failure,
    /// a panic included, everything stays as it was and the error says why.
    pub async fn reload(self: &Arc<Self>) -> Result<(), ReloadError> {
        self.reload_with(Loaded::load_after).await
    }

    /// [`State::reload`] with `load` reading the config (after the bundle
    /// being served, whose unchanged zones it may take over).
    pub(super) async fn reload_with(
        self: &Arc<Self>,
        load: fn(&std::path::Path, Option<&Loaded>) -> Result<Loaded, LoadError>,
    ) -> Result<(), ReloadError> {
        let state = self.clone();
        super::systemd::reloading();
        // Parsing large zones must not stall the runtime's workers.
        let outcome = tokio::task::spawn_blocking(move || {
            let new = load(&state.config_path, Some(&state.loaded()))?;
            state.replace(new);
            Ok(())
        })
        .await
        .unwrap_or_else(|e| Err(ReloadError::Panicked(panic_text(e))));
        self.metrics.reload(outcome.is_ok());
        {
            let mut last = self.last_load.lock().unwrap_or_else(|e| e.into_inner());
            let now = SystemTime::now();
            last.at = now;
            last.result = if outcome.is_ok() { "ok" } else { "error" };
            last.error = outcome.as_ref().err().map(|e| e.to_string());
            if outcome.is_ok() {
                last.last_success = now;
            }
        }
        super::systemd::reloaded();
        match &outcome {
            Ok(()) => {}
            Err(e) => error!(error = %e, "reload rejected; still serving the previous config"),
        }
        outcome
    }

    /// Serves `new` from now on.
    fn replace(&self, new: Loaded) {
        let new = Arc::new(new);
        let mut loaded = self.lock_loaded();
        if new.config.listen != loaded.config.listen || new.config.admin != loaded.config.admin {
            warn!("listen addresses changed; they take effect after a restart");
        }
        if new.config.admin_token != loaded.config.admin_token
            || new.config.state != loaded.config.state
        {
            warn!("[admin] token_file or [state] changed; they take effect after a restart");
        }
        self.tcp
            .set_limits(new.config.tcp, new.config.transfer_allow.clone());
        self.rrl.set(new.config.rrl);
        let targets = self.health.reconcile(target_specs(&new));
        notify_unless_allowed(&new.config);
        self.serials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .restart_histories();
        self.publish(&new, &targets);
        info!(
            zones = new.zones.len(),
            checked_names = new.checks.len(),
            targets = targets.len(),
            "reloaded"
        );
        self.metrics.set_zones(new.zones.len());
        *loaded = new;
    }
}

/// When addresses left answers, as the state file kept it.
fn restored_departures(health: &Health) -> HashMap<(Name, IpAddr), SystemTime> {
    health
        .departures()
        .into_iter()
        .filter_map(|d| Some(((Name::from_ascii(&d.name).ok()?, d.address), d.at)))
        .collect()
}

/// What a panicking reload said, for its error.
fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into()),
        Err(e) => e.to_string(),
    }
}

/// Logs each zone whose serial changed; a start or a reload of many zones in one line.
fn log_serials(changed: &Changed) {
    if changed.len() <= 10 {
        for (zone, soa) in changed {
            let serial = crate::dns::serial::serial(&soa.data);
            info!(%zone, serial, "zone serial");
        }
    } else {
        info!(zones = changed.len(), "zone serials set");
    }
}

/// Warns of a secondary sent NOTIFYs that may not transfer: it would ask,
/// and be refused.
pub(super) fn notify_unless_allowed(config: &crate::config::Config) {
    for to in config.notify_not_allowed() {
        warn!(secondary = %to, "[transfer] notify names a secondary that [transfer] allow does not: its transfers will be REFUSED");
    }
    for warning in crate::config::key_warnings(&config.keys) {
        warn!("{warning}");
    }
}

/// Every target to probe: the checks' and the mass-failure canary.
pub(super) fn target_specs(loaded: &Loaded) -> Vec<TargetSpec> {
    let mut specs = loaded.checks.target_specs();
    if let Some(canary) = &loaded.config.mass_failure.canary {
        let canary = TargetSpec::canary(canary);
        if !specs.iter().any(|s| s.key == canary.key) {
            specs.push(canary);
        }
    }
    specs
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::time::Duration;

    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::{Name, RData, RecordType};

    use super::*;

    /// Issue #5 (one reload path): a reload whose loading panics is an
    /// error, not a success and not the end of the server; the old config
    /// keeps answering, the failure is counted, and a later good reload
    /// still takes (the `loaded` lock the panic may have poisoned is fine).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_reload_is_an_error_and_the_old_config_serves() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zone = "$TTL 300\n@ SOA ns1 h 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\n\
                    www A 192.0.2.2\n";
        std::fs::write(dir.path().join("example.com.zone"), zone).expect("zone");
        let config = dir.path().join("hale.toml");
        std::fs::write(
            &config,
            "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"example.com.zone\"\n",
        )
        .expect("config");
        let loaded = Loaded::load(&config).expect("loads");
        let running = crate::server::start(loaded, config.clone())
            .await
            .expect("starts");
        let dns = running.dns_addrs()[0];
        let state = running.state().clone();

        let outcome = state.reload_with(|_, _| panic!("a bug in loading")).await;
        match outcome {
            Err(ReloadError::Panicked(text)) => assert!(text.contains("a bug in loading")),
            other => panic!("a panicking reload gave {other:?}"),
        }
        assert_eq!(www(dns), Some("192.0.2.2".parse().unwrap()));
        let metrics = state.metrics().render(Default::default());
        assert!(
            metrics.contains("hale_reloads_total{result=\"error\"} 1"),
            "{metrics}"
        );

        std::fs::write(
            dir.path().join("example.com.zone"),
            zone.replace("192.0.2.2", "192.0.2.3"),
        )
        .expect("zone");
        running
            .reload()
            .await
            .expect("a good reload after the panic");
        assert_eq!(www(dns), Some("192.0.2.3".parse().unwrap()));
        running.shutdown().await;
    }

    /// www.example.com's first A record, asked over UDP at `dns`.
    fn www(dns: std::net::SocketAddr) -> Option<std::net::Ipv4Addr> {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let name = Name::from_ascii("www.example.com.").expect("name");
        let mut query = Message::query();
        query.add_query(Query::query(name, RecordType::A));
        socket
            .send_to(&query.to_vec().expect("encode"), dns)
            .expect("send");
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).expect("an answer");
        let response = Message::from_vec(&buf[..n]).expect("parses");
        response.answers.iter().find_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
    }
}
