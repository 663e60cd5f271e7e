//! Owns zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995), so standard
//! secondaries can serve hale's health-filtered zones. IXFR from a serial
//! kept in the zone's history ([`super::serial::Version`]) gets one
//! condensed difference: the addresses that left and those that returned;
//! from the current serial, the SOA alone; from anything else, the whole
//! zone in AXFR form (RFC 1995 §4). Only over TCP, only to clients the config allows
//! (the caller checks); everyone else gets the general path's REFUSED.
//!
//! The transfer carries what a query would see right now: checked names
//! hold their healthy addresses (all of them when `when_all_down = "all"`
//! and none is healthy; none under "none" or "servfail").

use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use super::Rcode;
use super::encode::{Rr, Sections, emit_rr, encode};
use super::judged::Filter;
use super::query::{Query, parse, write_header_only};
use super::serial::{serial, with_serial};
use super::snapshot::Snapshot;
use super::tsig::{self, Signed, Verdict};
use super::wire::{AA, QR};
use crate::config::TransferAllow;
use crate::zones::{RdataRef, Zone};

/// A message is closed once it passes this size (RFC 5936 leaves it to us;
/// 16 KiB keeps each one well inside the 64 KiB limit).
const MESSAGE_TARGET: usize = 16 * 1024;
/// Room kept in every message for a TSIG record (a key name of up to 255
/// octets, an algorithm name and a 64-octet MAC).
const TSIG_ROOM: usize = 512;

/// True when `msg` asks for AXFR or IXFR: the question's type, read in
/// place (every TCP query asks this). [`transfer`] parses the whole query.
pub(super) fn is_transfer(msg: &[u8]) -> bool {
    is_transfer_type(super::question_type(msg))
}

fn is_transfer_type(qtype: u16) -> bool {
    qtype == u16::from(RecordType::AXFR) || qtype == u16::from(RecordType::IXFR)
}

/// Whether a client may transfer, by the `[transfer] allow` entries that
/// hold its address and the request's signature.
pub enum Access<'s> {
    /// No entry holds the client: the general path answers (REFUSED).
    NotListed,
    /// Refused: NOTAUTH, with the TSIG error when the request is signed
    /// (FORMERR for a malformed TSIG record).
    Denied {
        /// The answer to send.
        response: Vec<u8>,
        /// Its rcode.
        rcode: Rcode,
        /// What was wrong: `unsigned`, `BADKEY`, `BADSIG`, `BADTIME` or
        /// `malformed`, for the log and the metrics.
        error: &'static str,
        /// The key's name the request was signed with, if any.
        key: Option<String>,
        /// More, for the log (never key material); may be empty.
        why: String,
    },
    /// Allowed; the messages are signed when the request was.
    Allowed(Option<Signed<'s>>),
}

/// Who may transfer: a client in an entry without a key, or one whose
/// request is signed with the key of an entry that holds it. A signed
/// request is verified whichever entry holds the client (its answer is
/// signed, or NOTAUTH with the TSIG error).
pub(super) fn access<'s>(
    snapshot: &'s Snapshot,
    msg: &[u8],
    peer: IpAddr,
    allow: &[TransferAllow],
) -> Access<'s> {
    let holding: Vec<&TransferAllow> = allow.iter().filter(|a| a.net.contains(&peer)).collect();
    if holding.is_empty() {
        return Access::NotListed;
    }
    let Ok(query) = parse(msg) else {
        // Malformed: the general path says how.
        return Access::Allowed(None);
    };
    let now = tsig::now();
    let denied = |refusal: Option<tsig::Refusal<'_>>, error, key, why: String| {
        let mut response = Vec::new();
        let _ = encode(
            &mut response,
            &query,
            Rcode::NotAuth,
            false,
            &Sections::default(),
            u16::MAX as usize,
        );
        if let Some(refusal) = refusal {
            refusal.write(&mut response, now);
        }
        Access::Denied {
            response,
            rcode: Rcode::NotAuth,
            error,
            key,
            why,
        }
    };
    let Some(start) = query.tsig else {
        if holding.iter().any(|a| a.key.is_none()) {
            return Access::Allowed(None);
        }
        let keys: Vec<String> = holding
            .iter()
            .filter_map(|a| a.key.as_ref().map(|k| k.to_ascii()))
            .collect();
        let why = format!("; [transfer] allow requires key {}", keys.join(" or "));
        return denied(None, "unsigned", None, why);
    };
    match tsig::verify(snapshot.keys(), msg, start, now) {
        Verdict::Signed(signed) => {
            if holding
                .iter()
                .any(|a| a.key.as_ref().is_none_or(|k| signed.is_key(k)))
            {
                return Access::Allowed(Some(signed));
            }
            let why = "; no [transfer] allow entry for this address names that key".to_string();
            denied(Some(signed.wrong_key()), "BADKEY", Some(signed.key()), why)
        }
        Verdict::Refused(refusal) => {
            let (error, key) = (refusal.error_name(), refusal.key.clone());
            denied(Some(refusal), error, Some(key), String::new())
        }
        // Never the zone, whichever entries hold the client.
        Verdict::Malformed => {
            let mut response = Vec::new();
            write_header_only(&mut response, query.id, query.flags, Rcode::FormErr);
            Access::Denied {
                response,
                rcode: Rcode::FormErr,
                error: "malformed",
                key: None,
                why: " TSIG record".into(),
            }
        }
    }
}

/// A transfer's messages, and what they are, for the log.
pub struct Transfer {
    /// The messages, in order.
    pub messages: Vec<Vec<u8>>,
    /// The zone's origin.
    pub zone: Name,
    /// The serial sent.
    pub serial: u32,
    /// `axfr`, `ixfr` (a difference), `ixfr-current` (the SOA alone) or
    /// `ixfr-full` (the whole zone, in AXFR form).
    pub kind: &'static str,
    /// Records sent.
    pub records: usize,
}

/// The transfer for an allowed client, or `None` when `msg` is not a
/// transfer of a zone we serve (the general path answers it).
pub(super) fn transfer(
    snapshot: &Snapshot,
    msg: &[u8],
    signed: Option<&Signed<'_>>,
) -> Option<Transfer> {
    let mut sent = unsigned(snapshot, msg)?;
    if let Some(signed) = signed {
        // Every message signed, each chained to the one before (RFC 8945 §5.3.1).
        let now = tsig::now();
        let mut prior: Option<Vec<u8>> = None;
        for m in &mut sent.messages {
            prior = Some(match &prior {
                None => signed.sign(m, now),
                Some(mac) => signed.sign_next(m, now, mac),
            });
        }
    }
    Some(sent)
}

/// [`transfer`], before signing.
fn unsigned(snapshot: &Snapshot, msg: &[u8]) -> Option<Transfer> {
    let src = snapshot.source();
    let query = parse(msg).ok()?;
    if !is_transfer_type(query.qtype) || query.qclass != 1 {
        return None;
    }
    let zone = src.zones.find(&query.qname)?;
    if zone.origin != query.qname {
        return None;
    }
    // The serial as served (it follows health when transfers are on).
    let current = src.served.soa(zone);
    let serial = serial(current);
    let soa = Rr {
        owner: &zone.origin,
        rtype: RecordType::SOA,
        ttl: zone.soa.ttl,
        rdata: RdataRef::Full(current),
    };
    let ixfr = query.qtype == u16::from(RecordType::IXFR);
    if ixfr
        && let Some((messages, kind, records)) =
            incremental(snapshot, zone, &query, msg, soa, current, serial)
    {
        return Some(Transfer {
            messages,
            zone: zone.origin.clone(),
            serial,
            kind,
            records,
        });
    }
    let mut rrs = vec![soa];
    for (name, node) in zone.transfer_nodes() {
        // Only this zone's own checked names follow health here (its serial
        // follows only theirs): glue of a zone we also serve is this zone's
        // data as written.
        let live =
            src.judged.contains(name) && src.zones.find(name).is_some_and(|z| Arc::ptr_eq(z, zone));
        for rrset in &node.rrsets {
            if rrset.rtype == RecordType::SOA {
                continue;
            }
            let filter = match live {
                true => src.judged.filter(name, rrset.rtype),
                false => None,
            };
            match filter {
                Some(Filter::Records(ttl, records, _)) => {
                    rrs.extend(records.iter().map(|rdata| Rr {
                        owner: name,
                        rtype: rrset.rtype,
                        ttl,
                        rdata: RdataRef::Full(rdata),
                    }));
                }
                Some(Filter::NoData(_) | Filter::ServFail(_)) => {}
                None => rrs.extend(rrset.iter().map(|rdata| Rr {
                    owner: name,
                    rtype: rrset.rtype,
                    ttl: rrset.ttl,
                    rdata,
                })),
            }
        }
    }
    rrs.push(rrs[0]);
    Some(Transfer {
        messages: pack(&query, &rrs),
        zone: zone.origin.clone(),
        serial,
        kind: if ixfr { "ixfr-full" } else { "axfr" },
        records: rrs.len(),
    })
}

/// The IXFR answer for a client at a serial hale can answer incrementally:
/// the current one (the SOA alone) or one in the zone's history (a
/// condensed difference): its messages, kind and record count. `soa` is
/// the zone's SOA record as served, `current` its data and `serving` its
/// serial. `None`: the whole zone it is.
fn incremental(
    snapshot: &Snapshot,
    zone: &Arc<Zone>,
    query: &Query,
    msg: &[u8],
    soa: Rr<'_>,
    current: &RData,
    serving: u32,
) -> Option<(Vec<Vec<u8>>, &'static str, usize)> {
    // The client's SOA is in the authority section (RFC 1995 §3).
    let asked = Message::from_vec(msg).ok()?;
    let client = asked.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(s) if r.name == zone.origin => Some(s.serial),
        _ => None,
    })?;
    // Up to date, or ahead of us (RFC 1982): the SOA alone (RFC 1995 §2).
    if client.wrapping_sub(serving) < 1 << 31 {
        return Some((pack(query, &[soa]), "ixfr-current", 1));
    }
    let history = snapshot.history(&zone.origin)?;
    let newest = history
        .last()
        .filter(|v| v.serial == serving && v.of(zone))?;
    let old = history.iter().find(|v| v.serial == client && v.of(zone))?;
    let old_soa = with_serial(current, client);
    fn record((name, rtype, ttl, ip): &(Name, RecordType, u32, IpAddr)) -> Rr<'_> {
        Rr {
            owner: name,
            rtype: *rtype,
            ttl: *ttl,
            rdata: match ip {
                IpAddr::V4(ip) => RdataRef::V4(*ip),
                IpAddr::V6(ip) => RdataRef::V6(*ip),
            },
        }
    }
    let mut rrs = vec![
        soa,
        Rr {
            rdata: RdataRef::Full(&old_soa),
            ..soa
        },
    ];
    rrs.extend(old.records.difference(&newest.records).map(record));
    rrs.push(soa);
    rrs.extend(newest.records.difference(&old.records).map(record));
    rrs.push(soa);
    Some((pack(query, &rrs), "ixfr", rrs.len()))
}

/// Packs records into consecutive messages (the question in the first
/// only), each with its own name compression.
fn pack(query: &Query, rrs: &[Rr<'_>]) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    let mut rest = rrs;
    while !rest.is_empty() {
        let first = messages.is_empty();
        let mut out = Vec::with_capacity(MESSAGE_TARGET + 1024);
        let mut count = 0u16;
        {
            let mut enc = BinEncoder::new(&mut out);
            let _ = enc.emit_vec(&[0; 12]);
            if first {
                let _ = query.qname.emit(&mut enc);
                let _ = enc.emit_u16(query.qtype);
                let _ = enc.emit_u16(query.qclass);
            }
            while let Some(rr) = rest.first() {
                let mark = enc.offset();
                if !(emit_rr(&mut enc, rr) && enc.offset() <= u16::MAX as usize - TSIG_ROOM) {
                    enc.set_offset(mark);
                    enc.trim();
                    if count == 0 {
                        // Fits in no message: a zone file cannot hold such a record.
                        tracing::warn!(owner = %rr.owner, "record too large for a transfer; skipped");
                        rest = &rest[1..];
                    }
                    break;
                }
                count += 1;
                rest = &rest[1..];
                if enc.offset() >= MESSAGE_TARGET {
                    break;
                }
            }
        }
        out[0..2].copy_from_slice(&query.id.to_be_bytes());
        out[2..4].copy_from_slice(&(QR | AA).to_be_bytes());
        out[4..6].copy_from_slice(&u16::from(first).to_be_bytes());
        out[6..8].copy_from_slice(&count.to_be_bytes());
        messages.push(out);
    }
    messages
}
