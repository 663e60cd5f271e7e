//! Owns the running server: binds the DNS and admin sockets, wires health
//! changes into new answer views, reloads on SIGHUP and drains on shutdown.
//!
//! ```text
//! Health ──(watch: generation)──► rebuild task ──► ArcSwap<View> ◄── UDP/TCP tasks
//!    ▲                                                    ▲
//! reload (SIGHUP or Running::reload) ─ reconcile targets ─┘
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

mod pktinfo;
mod tcp;
mod udp;
use crate::health::Health;
use crate::load::{LoadError, Loaded};
use crate::view::View;

/// How long shutdown waits for in-flight work.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// A start-up failure after the config was accepted.
#[derive(thiserror::Error, Debug)]
pub enum ServerError {
    /// A listen address could not be bound.
    #[error("cannot listen on {addr} ({proto}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// udp, tcp or http.
        proto: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// A worker thread could not start.
    #[error("cannot start a UDP worker thread: {0}")]
    Thread(std::io::Error),
    /// The health machinery could not start.
    #[error("cannot start health checks: {0}")]
    Health(String),
}

/// State shared by every task of a running server.
pub struct Shared {
    /// What queries are answered from.
    view: ArcSwap<View>,
    /// The current config bundle; the lock also serialises view rebuilds.
    loaded: Mutex<Arc<Loaded>>,
    /// The probers.
    health: Health,
    /// Counters and gauges for /metrics.
    metrics: crate::metrics::Metrics,
    /// The config file, read again on reload.
    config_path: PathBuf,
    /// Open TCP connections and their cap.
    tcp: Arc<tcp::Connections>,
    /// Response rate limiting for UDP.
    rrl: crate::rrl::Limiter,
    /// Holds answers when every probe fails at once.
    guard: crate::guard::Guard,
    /// The serials served to secondaries; the `loaded` lock orders its use.
    serials: Mutex<crate::serial::Serials>,
    /// Tells secondaries of new serials.
    notifier: crate::notify::Notifier,
}

impl Shared {
    /// The config bundle being served.
    pub fn loaded(&self) -> Arc<Loaded> {
        match self.loaded.lock() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The probers and their targets.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// The mass-failure guard.
    pub fn guard(&self) -> &crate::guard::Guard {
        &self.guard
    }

    /// A view of `loaded` with the targets' health, unless the mass-failure
    /// guard holds the verdicts from before a wave of failures; with the
    /// zones whose serial it changes, for [`Shared::publish`].
    fn build_view(&self, loaded: &Loaded, targets: &crate::health::Targets) -> (View, Changed) {
        let zones = loaded.zones.clone();
        let view = match self
            .guard
            .judge(&loaded.config.mass_failure, &loaded.checks, targets)
        {
            Some(frozen) => loaded
                .checks
                .judged(zones, &|key| frozen.get(key).copied().unwrap_or(true)),
            None => loaded.checks.view(zones, targets),
        };
        let mut serials = match self.serials.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        stamped(view, loaded, &mut serials)
    }

    /// Makes `view` the one queries are answered from, then tells the
    /// secondaries of `changed` (after: they ask for the new serial at once).
    fn publish(&self, view: View, changed: Changed, loaded: &Loaded) {
        self.view.store(Arc::new(view));
        self.notifier.send(&loaded.config, changed);
    }

    /// TCP connections open right now.
    pub fn tcp_connections(&self) -> usize {
        self.tcp.open()
    }

    /// The view queries are answered from right now.
    pub fn view(&self) -> Arc<View> {
        self.view.load_full()
    }

    /// Builds a view from the current bundle and the targets' current health.
    fn rebuild(&self) {
        let loaded = match self.loaded.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        let targets = self.health.targets();
        let (view, changed) = self.build_view(&loaded, &targets);
        self.publish(view, changed, &loaded);
    }

    /// Loads the config again; on success replaces config, zones and targets
    /// atomically, on failure keeps everything as it was.
    pub fn reload(&self) -> Result<(), LoadError> {
        let new = match Loaded::load(&self.config_path) {
            Ok(new) => Arc::new(new),
            Err(e) => {
                self.metrics.reload(false);
                return Err(e);
            }
        };
        let mut loaded = match self.loaded.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        if new.config.listen != loaded.config.listen || new.config.admin != loaded.config.admin {
            warn!("listen addresses changed; they take effect after a restart");
        }
        self.tcp
            .set_limits(new.config.tcp, new.config.transfer_allow.clone());
        self.rrl.set(new.config.rrl);
        let targets = self.health.reconcile(target_specs(&new));
        notify_unless_allowed(&new.config);
        let (view, changed) = self.build_view(&new, &targets);
        self.publish(view, changed, &new);
        info!(
            zones = new.zones.len(),
            checked_names = new.checks.len(),
            targets = targets.len(),
            "reloaded"
        );
        self.metrics.reload(true);
        self.metrics.set_zones(new.zones.len());
        *loaded = new;
        Ok(())
    }
}

/// A started server.
pub struct Running {
    /// Shared state.
    shared: Arc<Shared>,
    /// Bound DNS addresses (UDP and TCP share each).
    dns_addrs: Vec<SocketAddr>,
    /// Bound admin address.
    admin_addr: Option<SocketAddr>,
    /// Cancelled on shutdown.
    token: CancellationToken,
    /// Every task, for draining.
    tracker: TaskTracker,
    /// The UDP worker threads.
    udp: udp::Workers,
}

/// Binds every socket, then starts serving `loaded`. Nothing is left bound on error.
pub async fn start(loaded: Loaded, config_path: PathBuf) -> Result<Running, ServerError> {
    let workers = loaded.config.workers;
    let mut udp = Vec::new();
    let mut tcp = Vec::new();
    let mut dns_addrs = Vec::new();
    for &addr in &loaded.config.listen {
        let (u, t) = bind_pair(addr, workers)?;
        dns_addrs.push(t.local_addr().map_err(|source| ServerError::Bind {
            addr,
            proto: "tcp",
            source,
        })?);
        udp.extend(u);
        tcp.push(t);
    }
    let admin_listener = match loaded.config.admin {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind {
                    addr,
                    proto: "http",
                    source,
                })?,
        ),
        None => None,
    };
    let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());

    let (changes_tx, mut changes_rx) = tokio::sync::watch::channel(0u64);
    let health = Health::new(changes_tx).map_err(|e| ServerError::Health(e.to_string()))?;
    let specs = target_specs(&loaded);
    let hold = match loaded.config.notify.is_empty() {
        true => Duration::ZERO,
        false => crate::notify::settle_time(&specs),
    };
    let targets = health.reconcile(specs);
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let metrics = crate::metrics::Metrics::new();
    if !hold.is_zero() {
        info!(
            hold = %humantime::format_duration(hold),
            "NOTIFYs wait for the first probe results"
        );
    }
    let notifier = crate::notify::Notifier::spawn(
        token.clone(),
        &tracker,
        metrics.notifies(),
        dns_addrs.clone(),
        hold,
    );
    let mut serials = crate::serial::Serials::default();
    let (view, changed) = stamped(
        loaded.checks.view(loaded.zones.clone(), &targets),
        &loaded,
        &mut serials,
    );
    notify_unless_allowed(&loaded.config);
    // Every zone, once it is served.
    let initial = changed;
    info!(
        zones = loaded.zones.len(),
        checked_names = loaded.checks.len(),
        targets = targets.len(),
        "loaded"
    );
    metrics.set_zones(loaded.zones.len());
    tcp::raise_fd_limit();
    let shared = Arc::new(Shared {
        tcp: Arc::new(tcp::Connections::new(
            loaded.config.tcp,
            loaded.config.transfer_allow.clone(),
        )),
        rrl: crate::rrl::Limiter::new(loaded.config.rrl),
        guard: crate::guard::Guard::default(),
        metrics,
        view: ArcSwap::from_pointee(view),
        loaded: Mutex::new(Arc::new(loaded)),
        health,
        config_path,
        serials: Mutex::new(serials),
        notifier,
    });

    // Health changes become a new view as soon as they are reported.
    {
        let shared = shared.clone();
        let token = token.clone();
        tracker.spawn(async move {
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    changed = changes_rx.changed() => {
                        if changed.is_err() { break; }
                        shared.rebuild();
                    }
                }
            }
        });
    }

    let udp = udp::spawn(udp, &shared).map_err(ServerError::Thread)?;
    for listener in tcp {
        tracker.spawn(tcp::serve(
            listener,
            shared.clone(),
            token.clone(),
            tracker.clone(),
        ));
    }
    if let Some(listener) = admin_listener {
        tracker.spawn(crate::admin::serve(listener, shared.clone(), token.clone()));
    }
    for addr in &dns_addrs {
        info!(%addr, "serving DNS over UDP and TCP");
    }
    if let Some(addr) = admin_addr {
        info!(%addr, "serving admin HTTP");
    }
    shared.notifier.send(&shared.loaded().config, initial);
    Ok(Running {
        shared,
        dns_addrs,
        admin_addr,
        token,
        tracker,
        udp,
    })
}

/// Zones whose served serial changed, with their SOA as served now.
type Changed = Vec<(hickory_proto::rr::Name, hickory_proto::rr::Record)>;

/// `view` with the serials it is served with and its answer table, and the
/// zones whose serial that changes.
fn stamped(
    mut view: View,
    loaded: &Loaded,
    serials: &mut crate::serial::Serials,
) -> (View, Changed) {
    let transfers = loaded.config.transfers();
    let changed = serials.stamp(&mut view, transfers, std::time::SystemTime::now());
    // Each change by name; a start or a reload of many zones in one line.
    if changed.len() <= 10 {
        for (zone, soa) in &changed {
            let serial = crate::serial::serial(&soa.data);
            info!(%zone, serial, "zone serial");
        }
    } else {
        info!(zones = changed.len(), "zone serials set");
    }
    let view = view.with_table(loaded.table.clone(), &loaded.checks.order());
    (view, changed)
}

/// Warns of a secondary sent NOTIFYs that may not transfer: it would ask,
/// and be refused.
fn notify_unless_allowed(config: &crate::config::Config) {
    for to in config.notify_not_allowed() {
        warn!(secondary = %to, "[transfer] notify names a secondary that [transfer] allow does not: its transfers will be REFUSED");
    }
}

/// Every target to probe: the checks' and the mass-failure canary.
fn target_specs(loaded: &Loaded) -> Vec<crate::health::TargetSpec> {
    let mut specs = loaded.checks.target_specs();
    if let Some(canary) = &loaded.config.mass_failure.canary
        && !specs.iter().any(|s| s.key == canary.key)
    {
        specs.push(canary.clone());
    }
    specs
}

/// Binds the UDP sockets (one per worker) and TCP on the same address; with
/// port 0 they all get the same port.
fn bind_pair(
    addr: SocketAddr,
    workers: usize,
) -> Result<(Vec<std::net::UdpSocket>, TcpListener), ServerError> {
    let mut attempts = 0;
    loop {
        let udp = udp::bind(addr, workers).map_err(|source| ServerError::Bind {
            addr,
            proto: "udp",
            source,
        })?;
        let bound = match udp.first().map(|s| s.local_addr()) {
            Some(Ok(bound)) => bound,
            Some(Err(source)) => {
                return Err(ServerError::Bind {
                    addr,
                    proto: "udp",
                    source,
                });
            }
            None => addr,
        };
        match bind_tcp(bound) {
            Ok(tcp) => return Ok((udp, tcp)),
            // An ephemeral UDP port may be taken on the TCP side: try another.
            Err(_) if addr.port() == 0 && attempts < 20 => attempts += 1,
            Err(source) => {
                return Err(ServerError::Bind {
                    addr: bound,
                    proto: "tcp",
                    source,
                });
            }
        }
    }
}

/// Binds a TCP listener. An IPv6 address is bound IPv6-only, as the UDP
/// sockets are, so `0.0.0.0:53` and `[::]:53` can both be listed.
fn bind_tcp(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // A restart must not wait for the old connections' TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
}

impl Running {
    /// The bound DNS addresses, in config order.
    pub fn dns_addrs(&self) -> &[SocketAddr] {
        &self.dns_addrs
    }

    /// The bound admin address, if enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Shared state (view, health), for tests and the admin listener.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Reloads config and zones, as SIGHUP does. The old state keeps serving on error.
    pub async fn reload(&self) -> Result<(), LoadError> {
        let shared = self.shared.clone();
        // Parsing large zones must not stall the runtime's workers.
        match tokio::task::spawn_blocking(move || shared.reload()).await {
            Ok(r) => r,
            Err(e) => {
                error!(error = %e, "reload task failed");
                Ok(())
            }
        }
    }

    /// Stops accepting, lets in-flight work finish (bounded by a grace period), stops probing.
    pub async fn shutdown(self) {
        self.token.cancel();
        self.shared.health.shutdown();
        let udp = self.udp;
        let joined = tokio::task::spawn_blocking(move || udp.stop());
        self.tracker.close();
        if tokio::time::timeout(DRAIN_GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            warn!("shutdown grace period over; abandoning remaining connections");
        }
        let _ = joined.await;
    }

    /// Serves until SIGTERM or SIGINT, reloading on SIGHUP.
    pub async fn run_until_signal(self, mut signals: Signals) {
        loop {
            tokio::select! {
                _ = signals.hup.recv() => {
                    info!("SIGHUP: reloading");
                    if let Err(e) = self.reload().await {
                        error!(error = %e, "reload rejected; still serving the previous config");
                    }
                }
                _ = signals.term.recv() => { info!("SIGTERM: shutting down"); break; }
                _ = signals.int.recv() => { info!("SIGINT: shutting down"); break; }
            }
        }
        self.shutdown().await;
        info!("stopped");
    }
}

/// The signals hale handles, registered before any socket opens so that a
/// SIGHUP sent as soon as hale answers never meets the default action (exit).
pub struct Signals {
    /// Reload.
    hup: tokio::signal::unix::Signal,
    /// Shut down.
    term: tokio::signal::unix::Signal,
    /// Shut down (ctrl-c).
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers; must run inside the runtime.
    pub fn register() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }
}
