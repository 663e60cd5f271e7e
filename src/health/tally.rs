//! Owns the counts one target keeps for metrics: probes by result, verdict
//! changes by direction, and how long probes took (a histogram). Kept under
//! the target's lock, which each result takes anyway; read at each scrape.

use super::Verdict;

/// Upper bounds of the probe-duration histogram, in seconds: from a
/// loopback answer (sub-millisecond) to the longest sensible timeout.
pub const PROBE_DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One target's counts since it was created.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeTally {
    /// Probes that passed.
    pub passed: u64,
    /// Probes that failed (timeouts included).
    pub failed: u64,
    /// Verdict changes to up (a first result of up included).
    pub to_up: u64,
    /// Verdict changes to down (a first result of down included).
    pub to_down: u64,
    /// Probes per duration bucket (not cumulative), the last one past
    /// every bound.
    pub buckets: [u64; PROBE_DURATION_BUCKETS.len() + 1],
    /// Total probe time, in seconds.
    pub duration_sum: f64,
}

impl ProbeTally {
    /// Counts one probe that took `seconds`.
    pub(super) fn probe(&mut self, ok: bool, seconds: f64) {
        match ok {
            true => self.passed += 1,
            false => self.failed += 1,
        }
        let bucket = PROBE_DURATION_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(PROBE_DURATION_BUCKETS.len());
        self.buckets[bucket] += 1;
        self.duration_sum += seconds.max(0.0);
    }

    /// Counts a verdict change to `to`.
    pub(super) fn transition(&mut self, to: Verdict) {
        match to {
            Verdict::Up => self.to_up += 1,
            Verdict::Down => self.to_down += 1,
            Verdict::Unknown => {}
        }
    }

    /// Probes counted.
    pub fn probes(&self) -> u64 {
        self.passed + self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_into_their_buckets() {
        let mut t = ProbeTally::default();
        t.probe(true, 0.0004);
        t.probe(true, 0.001);
        t.probe(false, 0.3);
        t.probe(false, 60.0);
        assert_eq!(t.buckets[0], 2, "at or under 1 ms");
        assert_eq!(t.buckets[8], 1, "0.25 s < 0.3 s <= 0.5 s");
        assert_eq!(t.buckets[PROBE_DURATION_BUCKETS.len()], 1, "past 10 s");
        assert_eq!((t.passed, t.failed, t.probes()), (2, 2, 4));
        assert!((t.duration_sum - 60.3014).abs() < 1e-9);
    }
}
