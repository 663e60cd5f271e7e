//! The rise/fall hysteresis that turns a stream of probe results into one
//! healthy flag, and the optional flap damping on top of it. Pure (no clock,
//! no I/O: times are passed in) so every edge is unit-tested.

use std::time::Duration;

/// A flip of the healthy flag, returned by [`Hysteresis::record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The healthy flag before this result.
    pub old: bool,
    /// The healthy flag after this result.
    pub new: bool,
}

/// Counts consecutive passes and failures and decides when a target flips.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hysteresis {
    /// Consecutive passes an unhealthy target needs to become healthy (at least 1).
    rise: u32,
    /// Consecutive failures a healthy target needs to become unhealthy (at least 1).
    fall: u32,
    /// The current verdict.
    healthy: bool,
    /// Passes since the last failure.
    passes: u32,
    /// Failures since the last pass.
    failures: u32,
}

impl Hysteresis {
    /// A target with no results yet counts as healthy, so a restart or a new
    /// record never empties an answer before anything has been learned.
    pub fn new(rise: u32, fall: u32) -> Self {
        Self {
            rise: rise.max(1),
            fall: fall.max(1),
            healthy: true,
            passes: 0,
            failures: 0,
        }
    }

    /// Takes a target's first result as its verdict at once: nothing was
    /// known before, so there is no hysteresis to honour.
    pub fn first(&mut self, pass: bool) {
        self.healthy = pass;
        self.passes = u32::from(pass);
        self.failures = u32::from(!pass);
    }

    /// Changes the thresholds without touching the counters, so a reload keeps
    /// what was learned; the new thresholds apply from the next result on.
    pub fn set_thresholds(&mut self, rise: u32, fall: u32) {
        self.rise = rise.max(1);
        self.fall = fall.max(1);
    }

    /// Records one probe result; returns the transition when the flag flips.
    pub fn record(&mut self, pass: bool) -> Option<Transition> {
        let old = self.healthy;
        if pass {
            self.passes = self.passes.saturating_add(1);
            self.failures = 0;
            if !self.healthy && self.passes >= self.rise {
                self.healthy = true;
            }
        } else {
            self.failures = self.failures.saturating_add(1);
            self.passes = 0;
            if self.healthy && self.failures >= self.fall {
                self.healthy = false;
            }
        }
        (old != self.healthy).then_some(Transition {
            old,
            new: self.healthy,
        })
    }

    /// The current verdict.
    pub fn is_healthy(&self) -> bool {
        self.healthy
    }

    /// Passes since the last failure.
    pub fn consecutive_passes(&self) -> u32 {
        self.passes
    }

    /// Failures since the last pass.
    pub fn consecutive_failures(&self) -> u32 {
        self.failures
    }
}

/// Penalty added by each flip of the hysteresis verdict.
const FLIP_PENALTY: f64 = 1.0;
/// A target whose penalty reaches this is held down (three flips within a
/// third of a half-life; flips once a half-life settle at 2 and never hold)...
const HOLD_AT: f64 = 2.5;
/// ... until the penalty has decayed below this (about two half-lives).
const RELEASE_BELOW: f64 = 0.75;

/// Flap damping, as BGP route flap damping (RFC 2439): every flip adds a
/// penalty that halves every `half_life`; a target whose penalty reaches
/// [`HOLD_AT`] (three flips in quick succession) is held down until it has
/// settled, however its probes go meanwhile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Damping {
    /// Penalty as of `at`.
    penalty: f64,
    /// When `penalty` was last brought up to date (any monotonic origin).
    at: Duration,
    /// Held down.
    held: bool,
}

impl Damping {
    /// Brings the penalty up to `now`, adds a flip's worth if `flipped`, and
    /// decides whether the target is held; returns that.
    pub fn update(&mut self, now: Duration, half_life: Duration, flipped: bool) -> bool {
        let elapsed = now.saturating_sub(self.at).as_secs_f64();
        let half_life = half_life.as_secs_f64().max(0.001);
        self.penalty *= 0.5f64.powf(elapsed / half_life);
        self.at = now;
        if flipped {
            self.penalty += FLIP_PENALTY;
        }
        if self.penalty >= HOLD_AT {
            self.held = true;
        } else if self.penalty < RELEASE_BELOW {
            self.held = false;
        }
        self.held
    }

    /// Whether the target is held down.
    pub fn held(&self) -> bool {
        self.held
    }

    /// The penalty as of the last update.
    pub fn penalty(&self) -> f64 {
        self.penalty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_quick_flips_hold_a_target_until_it_settles() {
        let half = Duration::from_secs(60);
        let s = Duration::from_secs;
        let mut d = Damping::default();
        assert!(!d.update(s(0), half, true));
        assert!(!d.update(s(10), half, true));
        assert!(d.update(s(20), half, true), "third flip within a minute");
        // Results without flips only let the penalty decay: 2.69 → 0.75 takes 1.8 half-lives.
        assert!(d.update(s(80), half, false));
        assert!(d.update(s(120), half, false), "still held: {}", d.penalty());
        assert!(!d.update(s(140), half, false), "released: {}", d.penalty());
        // Flips spread out never add up to a hold.
        let mut d = Damping::default();
        for minute in 0..30 {
            assert!(!d.update(s(minute * 60), half, true), "at minute {minute}");
        }
    }

    const DOWN: Option<Transition> = Some(Transition {
        old: true,
        new: false,
    });
    const UP: Option<Transition> = Some(Transition {
        old: false,
        new: true,
    });

    fn down_after_failures(rise: u32, fall: u32) -> Hysteresis {
        let mut h = Hysteresis::new(rise, fall);
        for _ in 0..fall {
            h.record(false);
        }
        assert!(!h.is_healthy());
        h
    }

    #[test]
    fn starts_healthy_with_no_results() {
        let h = Hysteresis::new(2, 3);
        assert!(h.is_healthy());
        assert_eq!(h.consecutive_passes(), 0);
        assert_eq!(h.consecutive_failures(), 0);
    }

    #[test]
    fn falls_exactly_at_fall() {
        let mut h = Hysteresis::new(2, 3);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        assert!(h.is_healthy());
        assert_eq!(h.record(false), DOWN);
        assert!(!h.is_healthy());
        assert_eq!(h.consecutive_failures(), 3);
        // Further failures do not report another transition.
        assert_eq!(h.record(false), None);
        assert_eq!(h.consecutive_failures(), 4);
    }

    #[test]
    fn a_pass_resets_the_failure_count() {
        let mut h = Hysteresis::new(2, 3);
        h.record(false);
        h.record(false);
        assert_eq!(h.record(true), None);
        assert_eq!(h.consecutive_failures(), 0);
        assert_eq!(h.consecutive_passes(), 1);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        assert!(h.is_healthy());
        assert_eq!(h.record(false), DOWN);
    }

    #[test]
    fn rises_exactly_at_rise() {
        let mut h = down_after_failures(3, 2);
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(true), None);
        assert!(!h.is_healthy());
        assert_eq!(h.record(true), UP);
        assert!(h.is_healthy());
        assert_eq!(h.record(true), None);
    }

    #[test]
    fn a_failure_resets_the_pass_count() {
        let mut h = down_after_failures(2, 2);
        h.record(true);
        h.record(false);
        assert_eq!(h.consecutive_passes(), 0);
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(true), UP);
    }

    #[test]
    fn alternating_never_flips_when_rise_and_fall_at_least_two() {
        for (rise, fall) in [(2, 2), (2, 3), (3, 2), (5, 5)] {
            // From healthy.
            let mut h = Hysteresis::new(rise, fall);
            for i in 0..100 {
                assert_eq!(h.record(i % 2 == 0), None, "rise={rise} fall={fall}");
                assert!(h.is_healthy());
            }
            // From unhealthy.
            let mut h = down_after_failures(rise, fall);
            for i in 0..100 {
                assert_eq!(h.record(i % 2 == 0), None, "rise={rise} fall={fall}");
                assert!(!h.is_healthy());
            }
        }
    }

    #[test]
    fn rise_one_fall_one_follows_every_result() {
        let mut h = Hysteresis::new(1, 1);
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(false), DOWN);
        assert_eq!(h.record(true), UP);
        assert_eq!(h.record(false), DOWN);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(true), UP);
    }

    #[test]
    fn zero_thresholds_behave_as_one() {
        let mut h = Hysteresis::new(0, 0);
        assert_eq!(h.record(false), DOWN);
        assert_eq!(h.record(true), UP);
    }

    #[test]
    fn new_thresholds_keep_counters() {
        let mut h = Hysteresis::new(2, 5);
        h.record(false);
        h.record(false);
        h.set_thresholds(2, 3);
        assert_eq!(h.consecutive_failures(), 2);
        assert_eq!(h.record(false), DOWN);
    }
}
