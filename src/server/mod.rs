//! Owns the running server: binds the DNS and admin sockets, starts the
//! probers, turns every health change into a new snapshot, reloads on
//! SIGHUP and `POST /reload`, and drains on shutdown.
//!
//! ```text
//! Health ──(watch: generation)──► rebuild ─┐
//! SIGHUP, POST /reload ─► reload ──────────┴─► State::publish ─► ArcSwap<Snapshot> ◄── udp, tcp
//!                                                     └─► notify (NOTIFY to secondaries)
//! admin (HTTP) reads State: /status, /metrics, the page; POSTs /reload
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

// Shared state and the one way a snapshot is published.
mod state;
// What the log says of whole answers: fail-open, empty, back.
mod announce;
// What an operator changes at run time: overrides.
pub mod control;
// DNS sockets.
mod pktinfo;
mod prefix;
mod rrl;
mod tcp;
mod udp;
// Refused signed requests: their log lines and counts.
mod refusals;
// Telling secondaries.
mod notify;
// The state file.
mod keeper;
// sd_notify.
mod systemd;
// The admin HTTP listener.
pub mod admin;

pub use state::{ReloadError, State};

use crate::dns::Loaded;
use crate::health::{Health, HealthError};
use state::{Parts, notify_unless_allowed, target_specs};

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
    Health(#[from] HealthError),
}

/// A started server.
pub struct Running {
    /// Shared state.
    state: Arc<State>,
    /// The state file in use, written once more at shutdown.
    state_file: Option<PathBuf>,
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
    let health = Health::new(changes_tx)?;
    let state_file = loaded.config.state.clone();
    if let Some(settings) = &state_file {
        keeper::restore(&health, settings);
    }
    let specs = target_specs(&loaded);
    let hold = match loaded.config.notify.is_empty() {
        true => Duration::ZERO,
        false => notify::settle_time(&specs),
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
    let notifier = notify::Notifier::spawn(
        token.clone(),
        &tracker,
        metrics.notifies(),
        dns_addrs.clone(),
        hold,
    );
    notify_unless_allowed(&loaded.config);
    info!(
        zones = loaded.zones.len(),
        checked_names = loaded.checks.len(),
        targets = targets.len(),
        "loaded"
    );
    metrics.set_zones(loaded.zones.len());
    tcp::raise_fd_limit();
    let parts = Parts {
        health,
        metrics,
        config_path,
        notifier,
    };
    // Every zone's serial, announced once it is served.
    let (state, initial) = State::new(loaded, parts);
    let state = Arc::new(state);
    // Before any rebuild can announce a newer serial (probes without a
    // verdict report at once): the notifier follows the last one it is given.
    state.notifier.send(&state.loaded(), initial);

    if let Some(settings) = &state_file {
        keeper::spawn(state.health.clone(), settings, token.clone(), &tracker);
    }
    systemd::spawn_ready(state.clone(), token.clone(), &tracker);
    // Health changes become a new snapshot as soon as they are reported.
    {
        let state = state.clone();
        let token = token.clone();
        tracker.spawn(async move {
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    changed = changes_rx.changed() => {
                        if changed.is_err() { break; }
                        state.rebuild();
                    }
                }
            }
        });
    }

    let udp = udp::spawn(udp, &state).map_err(ServerError::Thread)?;
    for listener in tcp {
        tracker.spawn(tcp::serve(
            listener,
            state.clone(),
            token.clone(),
            tracker.clone(),
        ));
    }
    if let Some(listener) = admin_listener {
        tracker.spawn(admin::serve(listener, state.clone(), token.clone()));
    }
    for addr in &dns_addrs {
        info!(%addr, "serving DNS over UDP and TCP");
    }
    if let Some(addr) = admin_addr {
        info!(%addr, "serving admin HTTP");
    }
    Ok(Running {
        state,
        state_file: state_file.map(|s| s.file),
        dns_addrs,
        admin_addr,
        token,
        tracker,
        udp,
    })
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

    /// Shared state (snapshot, health), for tests.
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Reloads config and zones, as SIGHUP does. The old state keeps serving on error.
    pub async fn reload(&self) -> Result<(), ReloadError> {
        self.state.reload().await
    }

    /// Stops accepting, lets in-flight work finish (bounded by a grace period), stops probing.
    pub async fn shutdown(self) {
        systemd::stopping();
        self.token.cancel();
        self.state.health.shutdown();
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
        if let Some(file) = &self.state_file {
            keeper::write(&self.state.health, file).await;
        }
    }

    /// Serves until SIGTERM or SIGINT, reloading on SIGHUP.
    pub async fn run_until_signal(self, mut signals: Signals) {
        loop {
            tokio::select! {
                _ = signals.hup.recv() => {
                    info!("SIGHUP: reloading");
                    // The outcome is logged and counted where the reload ends.
                    let _ = self.reload().await;
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
