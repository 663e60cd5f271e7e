//! Owns answering: one query message in, one response message out, no
//! sockets; and the immutable [`Snapshot`] every answer is read from.
//!
//! ```text
//! Loaded (config, zones, checks, table) + Verdicts ─► Snapshot::build ─► Snapshot
//!
//! query bytes ─► fast (answer table: exact names, NODATA, NXDOMAIN, checked A/AAAA)
//!                  │ anything else (wildcards, referrals, ANY, TC, errors…)
//!                  └──► slow (zone walk + hickory encoder) ─► response bytes
//! ```
//!
//! The table is filled at load by running the slow path once per name and
//! type; what that path reports as depending on health is left to the
//! snapshot's live sets or to the slow path, so the fast path only copies
//! bytes and patches the header, question and OPT.

// The snapshot and what it is built from.
mod draw;
mod judged;
mod load;
pub mod serial;
mod snapshot;
mod table;
// Answering a query: reading it, the two paths, writing the response.
mod cookie;
mod edns;
mod encode;
mod fast;
mod query;
mod slow;
mod wire;
// Zone transfers to secondaries, and TSIG.
mod transfer;
pub mod tsig;
// Why a checked answer is what it is.
pub mod explain;

pub use cookie::Secrets as CookieSecrets;
pub use judged::NameCounts;
pub use load::{LoadError, Loaded};
pub use serial::Serials;
pub use snapshot::{Changed, Snapshot, emptied};
pub use table::Table;
pub use transfer::{Access, Transfer};
pub use wire::truncate;

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};

/// How the response leaves: UDP answers are limited in size, TCP ones are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Datagram: truncate to the client's advertised size.
    Udp,
    /// Stream: up to 65535 bytes.
    Tcp,
}

/// Response codes hale sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Rcode {
    /// No error.
    NoError = 0,
    /// Malformed query.
    FormErr = 1,
    /// Server failure (also `when_all_down = "servfail"`).
    ServFail = 2,
    /// Name does not exist.
    NxDomain = 3,
    /// Opcode not implemented.
    NotImp = 4,
    /// Outside our zones, or refused by policy.
    Refused = 5,
    /// A TSIG that did not verify (RFC 8945 §5.2), or a transfer that
    /// must be signed and was not.
    NotAuth = 9,
    /// A DNAME made a name too long (RFC 6672 §2.2).
    YxDomain = 6,
    /// Unsupported EDNS version (extended rcode 16).
    BadVers = 16,
}

impl Transport {
    /// The largest response this transport may carry, given the client's
    /// EDNS UDP size (RFC 6891 §6.2.5: at least 512, and our own cap).
    fn limit(self, edns_udp_size: Option<u16>) -> usize {
        match (self, edns_udp_size) {
            (Transport::Tcp, _) => u16::MAX as usize,
            (Transport::Udp, Some(size)) => size.clamp(512, wire::MAX_UDP_PAYLOAD) as usize,
            (Transport::Udp, None) => 512,
        }
    }
}

/// Who asked, and when: what a server cookie (RFC 9018) is made from and
/// judged by. The clock is the caller's, so an answer is a function of its
/// inputs (the UDP workers read it once per batch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    /// The client's address.
    pub ip: IpAddr,
    /// Unix time in seconds (serial number arithmetic past 2106).
    pub now: u32,
}

impl Client {
    /// What answers without a known client use: address 0.0.0.0, time 0.
    pub const UNKNOWN: Client = Client {
        ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        now: 0,
    };

    /// `ip`, now by the system clock.
    pub fn at_now(ip: IpAddr) -> Client {
        Client {
            ip,
            now: unix_now(),
        }
    }
}

/// Unix time in seconds, as a server cookie's timestamp holds it.
pub fn unix_now() -> u32 {
    // RFC 9018 compares timestamps in serial arithmetic: wrapping is fine.
    tsig::now() as u32
}

/// Answers one DNS message from [`Client::UNKNOWN`]. Writes the response
/// into `out` (cleared first) and returns its rcode, or `None` when the
/// message deserves no response.
pub fn respond(
    snapshot: &Snapshot,
    msg: &[u8],
    transport: Transport,
    out: &mut Vec<u8>,
) -> Option<Rcode> {
    answer(snapshot, msg, transport, Client::UNKNOWN, out).map(|a| a.rcode)
}

/// What one response answered, for the metrics' tallies and rate limiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answered {
    /// The response code sent.
    pub rcode: Rcode,
    /// The question's type (0 for a message whose question was unreadable).
    pub qtype: u16,
    /// The query carried a valid server cookie: its source address is not
    /// spoofed, so rate limiting lets it through (as Knot does).
    pub server_cookie: bool,
}

/// Answers one DNS message from `client`, saying also the question's type
/// and whether it carried a valid server cookie.
pub fn answer(
    snapshot: &Snapshot,
    msg: &[u8],
    transport: Transport,
    client: Client,
    out: &mut Vec<u8>,
) -> Option<Answered> {
    let rotation = next_rotation();
    if let Some(answered) = fast::respond(snapshot, msg, transport, client, rotation, out) {
        return Some(answered);
    }
    slow::respond(snapshot, msg, transport, client, rotation, out)
}

/// Starts fetching what the answers to `msgs` need into the CPU's cache:
/// called with a whole batch before its first query is answered, the
/// batch's cache misses overlap.
pub fn warm<'m>(snapshot: &Snapshot, msgs: impl IntoIterator<Item = &'m [u8]>) {
    fast::warm(snapshot, msgs);
}

/// True when `msg` asks for a zone transfer (AXFR or IXFR): over TCP, a
/// client the config allows gets [`transfer`]'s messages, when the query is
/// well-formed and names a zone we serve.
pub fn is_transfer(msg: &[u8]) -> bool {
    transfer::is_transfer(msg)
}

/// The zone transfer answering `msg`, or `None` when it is no well-formed
/// transfer query (class IN) of a zone we serve ([`respond`] then answers
/// it: REFUSED, FORMERR...).
pub fn transfer(
    snapshot: &Snapshot,
    msg: &[u8],
    signed: Option<&tsig::Signed<'_>>,
) -> Option<Transfer> {
    transfer::transfer(snapshot, msg, signed)
}

/// Whether the client at `peer` may transfer what `msg` asks, by the
/// `[transfer] allow` entries `allow` and the request's TSIG signature.
pub fn transfer_access<'s>(
    snapshot: &'s Snapshot,
    msg: &[u8],
    peer: std::net::IpAddr,
    allow: &[crate::config::TransferAllow],
) -> Access<'s> {
    transfer::access(snapshot, msg, peer, allow)
}

/// The question's type of `msg`, read in place (0 when unreadable).
pub fn question_type(msg: &[u8]) -> u16 {
    query::skip_name(msg, 12)
        .and_then(|(end, _)| msg.get(end..end + 2))
        .map_or(0, |t| u16::from_be_bytes([t[0], t[1]]))
}

/// The general path alone, for tests that compare both paths.
pub fn respond_slow(
    snapshot: &Snapshot,
    msg: &[u8],
    transport: Transport,
    out: &mut Vec<u8>,
) -> Option<Rcode> {
    answer_slow(snapshot, msg, transport, Client::UNKNOWN, out).map(|a| a.rcode)
}

/// [`answer`] by the general path alone, for tests that compare both paths.
pub fn answer_slow(
    snapshot: &Snapshot,
    msg: &[u8],
    transport: Transport,
    client: Client,
    out: &mut Vec<u8>,
) -> Option<Answered> {
    slow::respond(snapshot, msg, transport, client, next_rotation(), out)
}

thread_local! {
    /// Rotation of health-checked answers, per thread so cores never share a
    /// counter's cache line; each still hands out every order in turn.
    static ROTATION: Cell<usize> = const { Cell::new(0) };
}

fn next_rotation() -> usize {
    ROTATION.with(|r| {
        let n = r.get();
        r.set(n.wrapping_add(1));
        n
    })
}

#[cfg(test)]
mod tests;
