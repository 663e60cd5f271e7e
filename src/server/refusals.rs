//! Owns what hale says about transfers and signed queries it refuses: the
//! log line (at most one a second per kind, so one noisy client cannot
//! hide a misconfigured secondary's BADSIG) and, for signatures,
//! `hale_tsig_refusals_total{error}`, which counts every one. Never key
//! material: the key's name and the TSIG error only.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::dns;
use crate::metrics::Metrics;

/// The kinds of refusal, each with its own log budget.
const KINDS: [&str; 6] = [
    "unsigned",
    "BADKEY",
    "BADSIG",
    "BADTIME",
    "malformed",
    "not listed",
];

/// The second each kind last logged in.
static LOGGED: [AtomicU64; KINDS.len()] = [const { AtomicU64::new(0) }; KINDS.len()];

/// True for the first refusal of `error`'s kind in this second of the clock.
fn first_this_second(error: &str) -> bool {
    let i = KINDS.iter().position(|k| *k == error).unwrap_or(4);
    let now = dns::tsig::now();
    LOGGED[i].swap(now, Ordering::Relaxed) != now
}

/// A zone transfer refused because no `[transfer] allow` entry holds the
/// client (REFUSED): a secondary with the wrong source address.
pub(super) fn not_listed(peer: &dyn std::fmt::Display) {
    if first_this_second("not listed") {
        tracing::info!(%peer, "zone transfer refused: not in [transfer] allow");
    }
}

/// A zone transfer refused (NOTAUTH, or FORMERR for a malformed TSIG).
pub(super) fn transfer(
    metrics: &Metrics,
    peer: &dyn std::fmt::Display,
    rcode: dns::Rcode,
    error: &'static str,
    key: Option<&str>,
    why: &str,
) {
    metrics.tsig_refused(error);
    if first_this_second(error) {
        let rcode = match rcode {
            dns::Rcode::FormErr => "FORMERR",
            _ => "NOTAUTH",
        };
        let key = key.unwrap_or("-");
        tracing::warn!(%peer, key, "zone transfer refused ({rcode}): {error}{why}");
    }
}

/// A signed query refused with NOTAUTH: its TSIG error and key name, read
/// from the answer `response`.
pub(super) fn signed_query(metrics: &Metrics, peer: &dyn std::fmt::Display, response: &[u8]) {
    let Some((error, key)) = dns::tsig::describe(response) else {
        return;
    };
    metrics.tsig_refused(error);
    if first_this_second(error) {
        tracing::warn!(%peer, key, "signed query refused (NOTAUTH): {error}");
    }
}
