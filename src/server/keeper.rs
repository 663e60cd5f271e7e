//! Owns keeping `[state] file` current while hale runs: restored before
//! the first probers start, written again whenever a verdict or an override
//! changes, every half `max_age` besides (so the verdicts a crash leaves
//! are recent enough to count at the next start, however long they held),
//! and once more at shutdown. The file in use is the start's; a reload
//! that names another takes effect at the next start.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use crate::config::StateSettings;
use crate::health::{Health, Saved};

/// Gives `health` what the state file kept, if it can be read; a missing
/// file is a first start, a bad one is reported and ignored whole.
pub(super) fn restore(health: &Health, settings: &StateSettings) {
    match Saved::read(&settings.file) {
        Ok(Some(saved)) => health.restore(saved, settings.max_age),
        Ok(None) => debug!(file = %settings.file.display(), "no state file yet"),
        Err(e) => {
            warn!(error = %e, "state file ignored: starting without saved verdicts or overrides")
        }
    }
}

/// Writes the state file after every change, and every half `max_age`,
/// until `token` is cancelled.
pub(super) fn spawn(
    health: Health,
    settings: &StateSettings,
    token: CancellationToken,
    tracker: &TaskTracker,
) {
    let mut changes = health.subscribe();
    let file = settings.file.clone();
    let every = (settings.max_age / 2).max(Duration::from_secs(1));
    tracker.spawn(async move {
        let mut refresh = tokio::time::interval(every);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = token.cancelled() => break,
                _ = refresh.tick() => write(&health, &file).await,
                changed = changes.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    write(&health, &file).await;
                }
            }
        }
    });
}

/// Writes the state file now, off the runtime's workers.
pub(super) async fn write(health: &Health, file: &Path) {
    let saved = health.save();
    let file = file.to_path_buf();
    let written = tokio::task::spawn_blocking(move || saved.write(&file)).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!(error = %e, "state file not written"),
        Err(e) => warn!(error = %e, "state file writer failed"),
    }
}
