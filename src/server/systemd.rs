//! Owns telling a service manager how hale is doing (sd_notify): `READY=1`
//! once it is ready (zones loaded and every target has a verdict),
//! `RELOADING=1` with `MONOTONIC_USEC` when a reload starts and `READY=1`
//! when it ends, `STOPPING=1` at shutdown. Without `NOTIFY_SOCKET` (not
//! under systemd) each of these does nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::State;

/// Whether `READY=1` went out: reloads before that must not send it.
static READY_SENT: AtomicBool = AtomicBool::new(false);

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        warn!(error = %e, "cannot notify the service manager");
    }
}

/// Sends `READY=1` as soon as `state` is ready.
pub(super) fn spawn_ready(state: Arc<State>, token: CancellationToken, tracker: &TaskTracker) {
    let mut changes = state.health().subscribe();
    tracker.spawn(async move {
        loop {
            if state.ready() {
                info!("ready: every target has a verdict");
                READY_SENT.store(true, Ordering::Release);
                send(&[NotifyState::Ready]);
                return;
            }
            tokio::select! {
                _ = token.cancelled() => return,
                changed = changes.changed() => if changed.is_err() { return },
            }
        }
    });
}

/// A reload begins.
pub(super) fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(e) => debug!(error = %e, "no monotonic clock for RELOADING"),
    }
}

/// A reload ended (taken or rejected: hale serves either way).
pub(super) fn reloaded() {
    if READY_SENT.load(Ordering::Acquire) {
        send(&[NotifyState::Ready]);
    }
}

/// Shutdown begins.
pub(super) fn stopping() {
    send(&[NotifyState::Stopping]);
}
