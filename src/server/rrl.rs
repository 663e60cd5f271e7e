//! Owns response rate limiting (RRL) for UDP, as NSD and Knot do it: each
//! client prefix (/24, /56 by default) gets `responses_per_second` full
//! responses per second; past that every `slip`-th response goes out
//! truncated (an honest client retries over TCP, which cannot be spoofed) and
//! the rest are dropped, so a spoofed flood gains no amplification.
//!
//! Why a fixed table of atomic buckets: the limiter sits on the query path of
//! every worker, so it must not lock or allocate. Prefixes hash (with a
//! per-process seed, so attackers cannot aim at one bucket) into 65,536
//! buckets of one `u64` each: a tag of the prefix, the current second and a
//! count. A prefix that lands on a bucket held by another takes it over, as
//! in Knot's table; with 65,536 buckets that is rare and errs on the side of
//! answering.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::prefix::client_prefix;
use crate::config::Rrl;

const BUCKETS: usize = 1 << 16;

/// What to do with one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the rate: send it as it is.
    Send,
    /// Over the rate, slipped: send it truncated.
    Slip,
    /// Over the rate: send nothing.
    Drop,
}

/// The limiter shared by every UDP worker.
pub struct Limiter {
    /// Responses per second per prefix; 0 = off.
    rate: AtomicU32,
    slip: AtomicU32,
    /// Prefix lengths, IPv4 in the low byte, IPv6 in the next.
    prefixes: AtomicU32,
    buckets: Box<[AtomicU64]>,
    hasher: foldhash::fast::FixedState,
    /// The clock's zero: rates count whole seconds since.
    epoch: tokio::time::Instant,
}

impl Limiter {
    /// A limiter with `settings`, or off for `None`.
    pub fn new(settings: Option<Rrl>) -> Limiter {
        let limiter = Limiter {
            rate: AtomicU32::new(0),
            slip: AtomicU32::new(0),
            prefixes: AtomicU32::new(0),
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            hasher: foldhash::fast::FixedState::with_seed(rand::random()),
            epoch: tokio::time::Instant::now(),
        };
        limiter.set(settings);
        limiter
    }

    /// Applies reloaded settings; counts already made stay.
    pub fn set(&self, settings: Option<Rrl>) {
        match settings {
            Some(s) => {
                self.slip.store(s.slip, Ordering::Relaxed);
                self.prefixes.store(
                    u32::from(s.ipv4_prefix) | u32::from(s.ipv6_prefix) << 8,
                    Ordering::Relaxed,
                );
                self.rate.store(s.responses_per_second, Ordering::Relaxed);
            }
            None => self.rate.store(0, Ordering::Relaxed),
        }
    }

    /// True when responses are being limited at all.
    pub fn enabled(&self) -> bool {
        self.rate.load(Ordering::Relaxed) > 0
    }

    /// The second to [`Limiter::check`] responses in, or `None` when
    /// limiting is off: read once per batch of responses.
    pub fn second(&self) -> Option<u64> {
        self.enabled().then(|| self.epoch.elapsed().as_secs())
    }

    /// Counts one response to `client` in second `now` (any clock that
    /// ticks once a second) and says what to do with it.
    pub fn check(&self, client: IpAddr, now: u64) -> Verdict {
        let rate = self.rate.load(Ordering::Relaxed);
        if rate == 0 {
            return Verdict::Send;
        }
        let prefixes = self.prefixes.load(Ordering::Relaxed);
        let key = client_prefix(client, (prefixes & 0xFF) as u8, (prefixes >> 8) as u8);
        let hash = self.hasher.hash_one(key);
        let bucket = &self.buckets[hash as usize & (BUCKETS - 1)];
        // A bucket: prefix tag (24 bits) | second (16 bits) | count (24 bits).
        // 16 bits of the second: a bucket idle for exactly 256 s must not
        // carry its old count on (it did with 8, found in review).
        let tag = (hash >> 40) & 0xFF_FFFF;
        let second = now & 0xFFFF;
        let mut current = bucket.load(Ordering::Relaxed);
        let count = loop {
            let same = current >> 40 == tag && (current >> 24) & 0xFFFF == second;
            let count = if same {
                ((current & 0xFF_FFFF) as u32 + 1).min(0xFF_FFFF)
            } else {
                1
            };
            let next = tag << 40 | second << 24 | u64::from(count);
            match bucket.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break count,
                Err(seen) => current = seen,
            }
        };
        if count <= rate {
            return Verdict::Send;
        }
        let slip = self.slip.load(Ordering::Relaxed);
        if slip > 0 && (count - rate - 1).is_multiple_of(slip) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: u32, slip: u32) -> Limiter {
        Limiter::new(Some(Rrl {
            responses_per_second: rate,
            slip,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
        }))
    }

    #[test]
    fn full_then_slipped_and_dropped_per_prefix_and_second() {
        let l = limiter(10, 3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let same_prefix: IpAddr = "192.0.2.200".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        let verdicts: Vec<Verdict> = (0..40)
            .map(|i| l.check(if i % 2 == 0 { a } else { same_prefix }, 7))
            .collect();
        let count = |v: Verdict| verdicts.iter().filter(|&&x| x == v).count();
        assert_eq!(count(Verdict::Send), 10);
        assert_eq!(count(Verdict::Slip), 10, "every 3rd of 30 limited");
        assert_eq!(count(Verdict::Drop), 20);
        assert_eq!(
            l.check(other, 7),
            Verdict::Send,
            "another prefix is unaffected"
        );
        assert_eq!(l.check(a, 8), Verdict::Send, "a new second starts afresh");
        let l = limiter(10, 3);
        for _ in 0..40 {
            l.check(a, 7);
        }
        assert_eq!(
            l.check(a, 7 + 256),
            Verdict::Send,
            "256 s later is not the same second"
        );
    }

    #[test]
    fn off_and_ipv6_prefixes() {
        let off = Limiter::new(None);
        assert!(!off.enabled());
        let a: IpAddr = "2001:db8:0:100::1".parse().unwrap();
        assert!((0..1000).all(|_| off.check(a, 1) == Verdict::Send));
        let l = limiter(1, 0);
        let same56: IpAddr = "2001:db8:0:1ff::2".parse().unwrap();
        let other56: IpAddr = "2001:db8:0:200::1".parse().unwrap();
        assert_eq!(l.check(a, 1), Verdict::Send);
        assert_eq!(
            l.check(same56, 1),
            Verdict::Drop,
            "slip 0 drops everything limited"
        );
        assert_eq!(l.check(other56, 1), Verdict::Send);
    }
}
