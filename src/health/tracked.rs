//! Owns one probed target's state: its verdict (with the rise/fall
//! hysteresis and flap damping behind it), its recent results, when it was
//! last heard from, and what `/status` shows of it. Its prober task
//! (`super::run`) feeds it one result at a time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{
    Damping, Hysteresis, ProbeResult, ProbeTally, SavedVerdict, Schedule, TargetKey, TargetSpec,
    probe,
};

/// What hale has concluded of a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No probe result yet (and no saved verdict): probed at once, and
    /// counted as healthy meanwhile unless it came with a reload.
    Unknown,
    /// Passing (after `rise` passes, or its first result).
    Up,
    /// Failing (after `fall` failures, or its first result), or held down
    /// by flap damping.
    Down,
}

impl Verdict {
    /// As the log and `/status` say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Unknown => "unknown",
            Verdict::Up => "up",
            Verdict::Down => "down",
        }
    }

    fn from_u8(v: u8) -> Verdict {
        match v {
            1 => Verdict::Up,
            2 => Verdict::Down,
            _ => Verdict::Unknown,
        }
    }
}

/// Snapshot of one target for the admin /status page.
#[derive(Clone, Debug, Serialize)]
pub struct TargetStatus {
    /// Whether answers count it as healthy (true until its first result).
    pub healthy: bool,
    /// The verdict itself: `unknown` until the first result.
    pub verdict: Verdict,
    /// When the verdict last changed (or the target was created), RFC 3339 UTC.
    #[serde(serialize_with = "probe::serialize_time")]
    pub since: SystemTime,
    /// Owner names whose records point at this target.
    pub names: Vec<String>,
    /// The latest probe, if any has finished.
    pub last: Option<ProbeResult>,
    /// Passes since the last failure.
    pub consecutive_passes: u32,
    /// Failures since the last pass.
    pub consecutive_failures: u32,
    /// Held down by flap damping (its probes may pass meanwhile).
    pub flap_held: bool,
    /// Flap damping's penalty (0 without damping): 1 per flip, halved every
    /// half-life; held at 2.5, released below 0.75.
    pub flap_penalty: f64,
    /// The verdict came from the state file, last confirmed then; absent
    /// once probed here.
    #[serde(
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none",
        rename = "restored_from_state_file"
    )]
    pub restored: Option<SystemTime>,
    /// The last results, oldest first (at most [`RECENT`]).
    pub recent: Vec<ProbeResult>,
    /// When its next probe starts, as scheduled.
    #[serde(with = "humantime_serde")]
    pub next_probe: Option<SystemTime>,
    /// Seconds since its last result (or since it was created, before one).
    pub age_seconds: f64,
    /// No result for [`STALE_INTERVALS`] intervals plus the timeout: its
    /// prober is stuck, and its verdict may be out of date.
    pub stale: bool,
    /// Passes that change a down verdict.
    pub rise: u32,
    /// Failures that change an up verdict.
    pub fall: u32,
    /// Time between probes.
    #[serde(with = "humantime_serde")]
    pub interval: std::time::Duration,
}

/// Results each target keeps for `/status` and `explain`.
pub const RECENT: usize = 20;

/// Intervals without a result after which a verdict is stale.
pub const STALE_INTERVALS: u32 = 3;

/// One probed (ip, scheme, port, path, host, expectations) and its state.
pub struct Target {
    /// Identity; never changes for the life of the target.
    key: TargetKey,
    /// Mirror of the verdict ([`Verdict`] as u8), readable without the lock.
    verdict: AtomicU8,
    /// No result for too long (see [`STALE_INTERVALS`]).
    stale: AtomicBool,
    /// Added by a reload: until its first result it enters no answer that
    /// has a healthy address without it.
    probation: bool,
    /// Everything else, touched once per probe and by /status.
    state: Mutex<TargetState>,
    /// Wakes the prober when a reload changed the schedule.
    pub(super) schedule_changed: Notify,
    /// Stops this target's prober, including a probe in flight.
    pub(super) cancel: CancellationToken,
}

/// The mutable part of a [`Target`].
pub(super) struct TargetState {
    /// Rise/fall counters and verdict.
    hysteresis: Hysteresis,
    /// Flap damping on top of the hysteresis verdict.
    damping: Damping,
    /// Origin of the damping clock.
    epoch: tokio::time::Instant,
    /// Current timing; a reload may change it.
    schedule: Schedule,
    /// Current owner names; a reload may change them.
    pub(super) names: Vec<String>,
    /// When the verdict last changed.
    since: SystemTime,
    /// The latest probe result.
    last: Option<ProbeResult>,
    /// When the saved verdict it started with was last confirmed, until its
    /// first probe here.
    restored: Option<SystemTime>,
    /// The last results, oldest first.
    recent: VecDeque<ProbeResult>,
    /// When the next probe starts.
    next_probe: Option<SystemTime>,
    /// When it was created: its age before a first result.
    created: SystemTime,
    /// Probes, verdict changes and probe durations, for metrics.
    tally: ProbeTally,
}

impl Target {
    /// A target with no verdict, or the one `saved` (a warm restart).
    pub(super) fn new(
        spec: TargetSpec,
        probation: bool,
        saved: Option<&SavedVerdict>,
        cancel: CancellationToken,
    ) -> Self {
        let schedule = spec.schedule;
        let mut hysteresis = Hysteresis::new(schedule.rise, schedule.fall);
        let verdict = match saved {
            Some(saved) => {
                hysteresis.first(saved.up);
                if saved.up { Verdict::Up } else { Verdict::Down }
            }
            None => Verdict::Unknown,
        };
        Self {
            key: spec.key,
            verdict: AtomicU8::new(verdict as u8),
            stale: AtomicBool::new(false),
            probation,
            state: Mutex::new(TargetState {
                hysteresis,
                damping: Damping::default(),
                epoch: tokio::time::Instant::now(),
                schedule,
                names: spec.names,
                since: saved.map_or_else(SystemTime::now, |s| s.since),
                last: None,
                restored: saved.map(|s| s.at),
                recent: VecDeque::with_capacity(RECENT),
                next_probe: None,
                created: SystemTime::now(),
                tally: ProbeTally::default(),
            }),
            schedule_changed: Notify::new(),
            cancel,
        }
    }

    /// What this target probes.
    pub fn key(&self) -> &TargetKey {
        &self.key
    }

    /// Whether answers count it as healthy: up, or not yet probed.
    pub fn is_healthy(&self) -> bool {
        self.verdict() != Verdict::Down
    }

    /// The current verdict.
    pub fn verdict(&self) -> Verdict {
        Verdict::from_u8(self.verdict.load(Ordering::Acquire))
    }

    /// Added by a reload and not probed yet.
    pub fn on_probation(&self) -> bool {
        self.probation && self.verdict() == Verdict::Unknown
    }

    /// When the verdict last changed (or the target was created).
    pub fn changed_at(&self) -> SystemTime {
        self.lock().since
    }

    /// A consistent snapshot for the admin /status page.
    pub fn status(&self) -> TargetStatus {
        let st = self.lock();
        TargetStatus {
            healthy: self.is_healthy(),
            verdict: self.verdict(),
            since: st.since,
            names: st.names.clone(),
            last: st.last.clone(),
            consecutive_passes: st.hysteresis.consecutive_passes(),
            consecutive_failures: st.hysteresis.consecutive_failures(),
            flap_held: st.damping.held(),
            flap_penalty: (st.damping.penalty() * 100.0).round() / 100.0,
            restored: st.restored,
            recent: st.recent.iter().cloned().collect(),
            next_probe: st.next_probe,
            age_seconds: SystemTime::now()
                .duration_since(st.last.as_ref().map_or(st.created, |l| l.at))
                .map_or(0.0, |d| (d.as_secs_f64() * 10.0).round() / 10.0),
            stale: self.stale.load(Ordering::Relaxed),
            rise: st.schedule.rise,
            fall: st.schedule.fall,
            interval: st.schedule.interval,
        }
    }

    /// Its counts for metrics.
    pub fn tally(&self) -> ProbeTally {
        self.lock().tally.clone()
    }

    /// Whether its prober has been silent too long.
    pub fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Relaxed)
    }

    /// When the prober will start its next probe.
    pub(super) fn set_next_probe(&self, at: SystemTime) {
        self.lock().next_probe = Some(at);
    }

    /// Marks it stale when no result came for [`STALE_INTERVALS`] intervals
    /// plus the timeout; returns true when it just became so.
    pub(super) fn check_stale(&self, now: SystemTime) -> bool {
        if self.is_stale() {
            return false;
        }
        let st = self.lock();
        let heard = st.last.as_ref().map_or(st.created, |l| l.at);
        let limit = st
            .schedule
            .interval
            .saturating_mul(STALE_INTERVALS)
            .saturating_add(st.schedule.timeout);
        let stale = now.duration_since(heard).is_ok_and(|silent| silent > limit);
        drop(st);
        if stale {
            self.stale.store(true, Ordering::Relaxed);
            warn!(
                probe = %self.key,
                silent_for = %humantime::format_duration(limit),
                "no probe result for {STALE_INTERVALS} intervals: verdict is stale"
            );
        }
        stale
    }

    /// Its verdict for the state file, if it has one.
    pub(super) fn saved(&self) -> Option<SavedVerdict> {
        let up = match self.verdict() {
            Verdict::Unknown => return None,
            verdict => verdict == Verdict::Up,
        };
        let st = self.lock();
        Some(SavedVerdict {
            target: self.key.clone(),
            up,
            since: st.since,
            at: st
                .last
                .as_ref()
                .map(|l| l.at)
                .or(st.restored)
                .unwrap_or(st.since),
        })
    }

    /// The state lock; a panic elsewhere while holding it leaves plain data
    /// that is still consistent enough to keep probing, so poison is ignored.
    pub(super) fn lock(&self) -> MutexGuard<'_, TargetState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn schedule(&self) -> Schedule {
        self.lock().schedule.clone()
    }

    /// Applies a reload's names and schedule, keeping the learned state.
    pub(super) fn update(&self, names: Vec<String>, schedule: Schedule) {
        let mut st = self.lock();
        st.names = names;
        if st.schedule != schedule {
            st.hysteresis.set_thresholds(schedule.rise, schedule.fall);
            let interval_changed = st.schedule.interval != schedule.interval;
            st.schedule = schedule;
            drop(st);
            if interval_changed {
                self.schedule_changed.notify_one();
            }
        }
    }

    /// Feeds one result through the hysteresis; logs and signals a flip.
    pub(super) fn record(&self, result: ProbeResult, changes: &watch::Sender<u64>) {
        debug!(
            probe = %self.key,
            ok = result.ok,
            reason = %result.reason,
            latency_ms = result.latency_ms,
            "probe"
        );
        if self.stale.swap(false, Ordering::Relaxed) {
            info!(probe = %self.key, "probe results again: verdict no longer stale");
        }
        let mut st = self.lock();
        st.restored = None;
        if st.recent.len() == RECENT {
            st.recent.pop_front();
        }
        st.recent.push_back(result.clone());
        st.tally.probe(result.ok, result.latency_ms / 1000.0);
        let old = self.verdict();
        let transition = match old {
            // Nothing was known: the first result is the verdict.
            Verdict::Unknown => {
                st.hysteresis.first(result.ok);
                None
            }
            _ => st.hysteresis.record(result.ok),
        };
        let mut reason = result.reason.clone();
        st.last = Some(result);
        let was_held = st.damping.held();
        let held = match st.schedule.flap_half_life {
            Some(half_life) => {
                let now = st.epoch.elapsed();
                st.damping.update(now, half_life, transition.is_some())
            }
            None => {
                st.damping = Damping::default();
                false
            }
        };
        let new = match st.hysteresis.is_healthy() && !held {
            true => Verdict::Up,
            false => Verdict::Down,
        };
        if old == new {
            if held && !was_held {
                info!(probe = %self.key, penalty = st.damping.penalty(), "flap damping: held down");
            }
            return;
        }
        if held != was_held {
            reason = match held {
                true => format!("flap damping: held down ({reason})"),
                false => "flap damping: released, settled".to_string(),
            };
        }
        st.since = SystemTime::now();
        st.tally.transition(new);
        self.verdict.store(new as u8, Ordering::Release);
        let names = st.names.clone();
        drop(st);
        // Down is what an operator must hear of with RUST_LOG=warn; tracing
        // fixes an event's level where it is written, hence one per level.
        let change = format!("{} → {}", old.as_str(), new.as_str());
        // As strings, so the text log quotes them (they hold spaces).
        let probe = self.key.to_string();
        macro_rules! log_change {
            ($level:ident) => {
                $level!(
                    address = %self.key.ip,
                    names = ?names,
                    probe = probe.as_str(),
                    old = old.as_str(),
                    new = new.as_str(),
                    change,
                    reason = reason.as_str(),
                    "health changed"
                )
            };
        }
        match new {
            Verdict::Down => log_change!(warn),
            _ => log_change!(info),
        }
        changes.send_modify(|generation| *generation = generation.wrapping_add(1));
    }
}
