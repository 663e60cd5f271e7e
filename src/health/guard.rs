//! Owns the mass-failure guard. When more than `share` of all targets are
//! down at once across at least `min_names` checked names, or the canary
//! fails, the likelier fault is hale's own network (a cut uplink, a firewall
//! change), not every backend at the same moment: publishing those verdicts
//! would withdraw every address from the answers of every name. So hale keeps
//! answering as it did before the wave, says so loudly in the log, in
//! `/status` and in `hale_mass_failure`, and follows the probes again as soon
//! as the condition clears.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;
use tracing::{error, warn};

use super::{Checks, TargetKey, TargetSpec, Targets, Verdicts};
use crate::config::MassFailure;

/// The guard's memory between health changes.
#[derive(Default)]
pub struct Guard {
    state: Mutex<Option<Engaged>>,
}

/// An engaged guard: the verdicts answers keep following.
struct Engaged {
    since: SystemTime,
    reason: String,
    frozen: Verdicts,
}

/// The guard's state for `/status`.
#[derive(Clone, Debug, Serialize)]
pub struct GuardStatus {
    /// True while answers are held.
    pub engaged: bool,
    /// Why, while engaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Since when, while engaged (RFC 3339 UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

impl Guard {
    /// The verdicts answers follow: the targets' own, unless they look like
    /// a failure of hale's own network, when the guard holds the ones from
    /// before the wave.
    pub fn verdicts(&self, settings: &MassFailure, checks: &Checks, targets: &Targets) -> Verdicts {
        let own = Verdicts::of(targets);
        match self.judge(settings, checks, targets) {
            Some(held) => held.with_probation_of(own),
            None => own,
        }
    }

    /// Judges the targets' current verdicts; returns the verdicts answers
    /// must follow instead, or `None` to follow the targets themselves.
    fn judge(
        &self,
        settings: &MassFailure,
        checks: &Checks,
        targets: &Targets,
    ) -> Option<Verdicts> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let trigger = if settings.enabled {
            trigger(settings, checks, targets)
        } else {
            None
        };
        match (trigger, state.as_ref()) {
            (Some(_), Some(engaged)) => Some(engaged.frozen.clone()),
            (Some(reason), None) => {
                let frozen = before_the_wave(settings, checks, targets);
                error!(
                    reason = %reason,
                    "mass failure: suspecting hale's own network, not the backends; \
                     answers keep the health from before the failures until it clears"
                );
                *state = Some(Engaged {
                    since: SystemTime::now(),
                    reason,
                    frozen: frozen.clone(),
                });
                Some(frozen)
            }
            (None, Some(engaged)) => {
                warn!(was = %engaged.reason, "mass failure over: answers follow the probes again");
                *state = None;
                None
            }
            (None, None) => None,
        }
    }

    /// True while answers are held.
    pub fn engaged(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// The state for `/status`.
    pub fn status(&self) -> GuardStatus {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        GuardStatus {
            engaged: state.is_some(),
            reason: state.as_ref().map(|e| e.reason.clone()),
            since: state
                .as_ref()
                .map(|e| humantime::format_rfc3339_millis(e.since).to_string()),
        }
    }
}

/// Why the guard should hold answers now, if it should.
fn trigger(settings: &MassFailure, checks: &Checks, targets: &Targets) -> Option<String> {
    if let Some(canary) = &settings.canary {
        let key = TargetSpec::canary(canary).key;
        if targets.get(&key).is_some_and(|t| !t.is_healthy()) {
            return Some(format!("canary {key} is down"));
        }
    }
    let down = |key: &TargetKey| targets.get(key).is_some_and(|t| !t.is_healthy());
    let mut all = HashSet::new();
    let mut down_keys = HashSet::new();
    let mut names_down = 0;
    for name in checks.names() {
        let mut any = false;
        for key in name.keys() {
            all.insert(key);
            if down(key) {
                down_keys.insert(key);
                any = true;
            }
        }
        names_down += usize::from(any);
    }
    let share = down_keys.len() as f64 / all.len().max(1) as f64;
    (!down_keys.is_empty() && share >= settings.share && names_down >= settings.min_names).then(
        || {
            format!(
                "{} of {} targets down across {names_down} checked names",
                down_keys.len(),
                all.len()
            )
        },
    )
}

/// The verdicts from before the wave: targets that went down within
/// `window` count as healthy, ones down for longer stay down.
fn before_the_wave(settings: &MassFailure, checks: &Checks, targets: &Targets) -> Verdicts {
    let now = SystemTime::now();
    let down_before = |key: &TargetKey| {
        targets.get(key).is_some_and(|t| {
            // A verdict changed "in the future" (clock stepped back) is recent too.
            !t.is_healthy()
                && now
                    .duration_since(t.changed_at())
                    .is_ok_and(|down_for| down_for > settings.window)
        })
    };
    checks
        .names()
        .iter()
        .flat_map(|name| name.keys())
        .filter(|key| down_before(key))
        .cloned()
        .collect()
}
