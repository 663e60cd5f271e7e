//! Owns the fast path: reads the common query shape straight from the bytes
//! (one question, class IN, no compression, at most one OPT of version 0),
//! looks the name up in the answer table, and assembles the response from
//! stored bytes. Whatever it does not recognise, or what would not fit, it
//! leaves to the general path by returning `None`: it never answers
//! differently, only faster.

use super::cookie;
use super::snapshot::Snapshot;
use super::table::{Answer, rcode_of};
use super::wire::{AA, ADVERTISED_UDP_PAYLOAD, EDE_NOT_AUTHORITATIVE, QR, RD};
use super::{Answered, Client, Rcode, Transport};

/// Query types the table never answers: meta types and ANY.
fn general_only(qtype: u16) -> bool {
    matches!(qtype, 41 | 251..=255)
}

/// Writes the question's name of `msg` into `key` in lowercase wire form;
/// returns its length and where the question's type starts in `msg`, or
/// `None` for a name the general path reads (compressed, or too long).
fn question_key(msg: &[u8], key: &mut [u8; 255]) -> Option<(usize, usize)> {
    let mut at = 12;
    let mut k = 0;
    loop {
        let len = *msg.get(at)? as usize;
        if len == 0 {
            *key.get_mut(k)? = 0;
            return Some((k + 1, at + 1));
        }
        // Compression in a question is legal but rare: general path.
        if len > 63 || k + len + 2 > key.len() {
            return None;
        }
        let label = msg.get(at + 1..at + 1 + len)?;
        key[k] = len as u8;
        for (dst, src) in key[k + 1..k + 1 + len].iter_mut().zip(label) {
            *dst = src.to_ascii_lowercase();
        }
        k += len + 1;
        at += len + 1;
    }
}

/// Starts fetching the table records that will answer `msgs` (see
/// [`crate::dns::table::Table::warm`]), 32 at a time.
pub(super) fn warm<'m>(snapshot: &Snapshot, msgs: impl IntoIterator<Item = &'m [u8]>) {
    // Without a table every query takes the general path: nothing to fetch.
    let table = snapshot.table();
    if table.is_empty() {
        return;
    }
    let mut key = [0u8; 255];
    let mut hashes = [0u64; 32];
    let mut n = 0;
    for msg in msgs {
        if let Some((k, _)) = question_key(msg, &mut key) {
            hashes[n] = table.hash(&key[..k]);
            n += 1;
            if n == hashes.len() {
                table.warm(&hashes);
                n = 0;
            }
        }
    }
    table.warm(&hashes[..n]);
}

/// Answers `msg` from the table into `out`, or returns `None` for the
/// general path to answer (it clears `out` first).
// Inlined into `dns::answer` by hand: LLVM stopped doing so by itself when
// unrelated code grew (+12 ns per query in `cargo bench --bench answer`,
// with `extend_from_slice` left as calls).
#[inline(always)]
pub(super) fn respond(
    snapshot: &Snapshot,
    msg: &[u8],
    transport: Transport,
    client: Client,
    rotation: usize,
    out: &mut Vec<u8>,
) -> Option<Answered> {
    let header = msg.get(..12)?;
    let flags = u16::from_be_bytes([header[2], header[3]]);
    // A query (QR clear) with opcode QUERY.
    if flags & 0xF800 != 0 {
        return None;
    }
    // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1.
    if header[4..11] != [0, 1, 0, 0, 0, 0, 0] || header[11] > 1 {
        return None;
    }

    let mut key = [0u8; 255];
    let (qname_len, at) = question_key(msg, &mut key)?;
    let fixed = msg.get(at..at + 4)?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    if qclass != 1 || general_only(qtype) {
        return None;
    }
    let qend = at + 4;

    // At most one OPT: root owner, version 0, nothing after it.
    let mut cookie = None;
    let edns = if header[11] == 1 {
        let opt = msg.get(qend..qend + 11)?;
        let rdlen = u16::from_be_bytes([opt[9], opt[10]]) as usize;
        if opt[0] != 0 || opt[1..3] != [0, 41] || opt[5] != 0 || opt[6] != 0 {
            return None;
        }
        if msg.len() != qend + 11 + rdlen {
            return None;
        }
        // Options: the general path answers any that are malformed FORMERR.
        if rdlen > 0 {
            let options = msg.get(qend + 11..)?;
            if !super::edns::options_sound(options) {
                return None;
            }
            if let (Some(secrets), Some(got)) = (snapshot.cookies(), cookie::find(options)) {
                cookie = Some(cookie::reply(secrets, &got, client));
            }
        }
        Some((u16::from_be_bytes([opt[3], opt[4]]), opt[7] & 0x80 != 0))
    } else {
        if msg.len() != qend {
            return None;
        }
        None
    };
    let limit = transport.limit(edns.map(|(size, _)| size));

    let answer = snapshot
        .table()
        .answer(snapshot.live(), &key[..qname_len], qtype, rotation)?;

    out.clear();
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(msg.get(12..qend)?);
    let (counts, bits) = match answer {
        Answer::Full(body, bytes) => {
            out.extend_from_slice(bytes);
            (body.counts, body.flags)
        }
        Answer::WithTail(bytes, an, zone) => {
            out.extend_from_slice(bytes);
            let tail = zone.tail.as_ref()?;
            tail.write(out, zone.origin_at(qname_len)?);
            ([an, tail.counts[0], tail.counts[1]], AA)
        }
        Answer::NoData(zone) => {
            zone.soa.write(out, zone.origin_at(qname_len)?);
            ([0, 1, 0], AA)
        }
        Answer::NxDomain(zone) => {
            zone.soa.write(out, zone.origin_at(qname_len)?);
            ([0, 1, 0], AA | Rcode::NxDomain as u16)
        }
        Answer::Refused => ([0, 0, 0], Rcode::Refused as u16),
    };
    let mut ar = counts[2];
    if let Some((_, dnssec_ok)) = edns {
        out.extend_from_slice(&[0, 0, 41]);
        out.extend_from_slice(&ADVERTISED_UDP_PAYLOAD.to_be_bytes());
        out.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0]);
        // Options in the general path's order: EDE, then COOKIE.
        let refused = bits & 0xF == Rcode::Refused as u16;
        let rdlen = if refused { 6 } else { 0 }
            + if cookie.is_some() {
                cookie::OPTION_LEN
            } else {
                0
            };
        out.extend_from_slice(&(rdlen as u16).to_be_bytes());
        if refused {
            // Extended DNS Error 20, "Not Authoritative", as the general path sends.
            out.extend_from_slice(&[0, 15, 0, 2, 0, EDE_NOT_AUTHORITATIVE as u8]);
        }
        if let Some(cookie) = &cookie {
            cookie.write(out);
        }
        ar += 1;
    }
    // Too big for this transport: the general path truncates properly.
    if out.len() > limit {
        return None;
    }
    let flags = QR | (flags & RD) | bits;
    out[0..2].copy_from_slice(&header[0..2]);
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    out[4..6].copy_from_slice(&1u16.to_be_bytes());
    out[6..8].copy_from_slice(&counts[0].to_be_bytes());
    out[8..10].copy_from_slice(&counts[1].to_be_bytes());
    out[10..12].copy_from_slice(&ar.to_be_bytes());
    Some(Answered {
        rcode: rcode_of(bits),
        qtype,
        server_cookie: cookie.is_some_and(|c| c.valid),
    })
}
