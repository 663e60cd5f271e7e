//! Owns the general answer path, which handles every query: it parses the
//! header, question and OPT itself (to choose FORMERR, NOTIMP, BADVERS
//! precisely), looks the name up in the zones (RFC 1034 §4.3.2), and writes
//! the response with hickory-proto's encoder. The answer table is built by
//! running this path once per name and type, so both paths answer alike.

use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};

use super::{Rcode, Transport};
use crate::view::{Filter, View};
use crate::zones::{Node, Zone};

/// Largest UDP payload we answer with, whatever the client offers.
pub(super) const MAX_UDP_PAYLOAD: u16 = 4096;
/// The UDP payload size we advertise (what we accept), as NSD and Knot do (DNS flag day 2020).
pub(super) const ADVERTISED_UDP_PAYLOAD: u16 = 1232;
/// RFC 8914 info codes, sent with REFUSED as NSD does.
pub(super) const EDE_NOT_AUTHORITATIVE: u16 = 20;
const EDE_NOT_SUPPORTED: u16 = 21;
/// CNAME hops followed inside a zone before giving up (loops end here too).
const MAX_CNAME_HOPS: usize = 8;
/// Room kept for the OPT record we append: root name, type, class, TTL,
/// RDLENGTH, and an Extended DNS Error option.
const OPT_LEN: usize = 11 + 6;

const QR: u16 = 0x8000;
const AA: u16 = 0x0400;
const TC: u16 = 0x0200;
const RD: u16 = 0x0100;

/// The EDNS part of a query.
#[derive(Clone, Copy, Debug)]
struct Edns {
    /// Client's UDP payload size.
    udp_size: u16,
    /// Requested EDNS version.
    version: u8,
    /// DNSSEC OK, copied back per RFC 3225.
    dnssec_ok: bool,
}

/// A parsed query.
struct Query {
    id: u16,
    flags: u16,
    qname: Name,
    qtype: u16,
    qclass: u16,
    edns: Option<Edns>,
}

/// Why a query could not be parsed.
enum Malformed {
    /// Not worth a response (too short for a header, or a response itself).
    Drop,
    /// Answer with this rcode and an empty body, echoing the header.
    Reply { id: u16, flags: u16, rcode: Rcode },
}

/// One record to write: owner, type, TTL, data.
struct Rr<'a> {
    owner: &'a Name,
    rtype: RecordType,
    ttl: u32,
    rdata: &'a RData,
}

/// The sections of a response, before encoding.
#[derive(Default)]
struct Sections<'a> {
    answer: Vec<Rr<'a>>,
    authority: Vec<Rr<'a>>,
    additional: Vec<Rr<'a>>,
    /// The authority section is the apex NS set of a positive answer: nice to
    /// have, so it is left out rather than truncating when it does not fit.
    authority_optional: bool,
    /// Extended DNS Error info code (RFC 8914) to explain a refusal.
    ede: Option<u16>,
    /// The additional section is a referral's glue: set TC rather than drop it.
    glue_required: bool,
}

/// Answers one DNS message. Writes the response into `out` (cleared first)
/// and returns its rcode, or `None` when the message deserves no response.
/// `rotation` picks where a health-checked address list starts.
pub(super) fn respond(
    view: &View,
    msg: &[u8],
    transport: Transport,
    rotation: usize,
    out: &mut Vec<u8>,
) -> Option<Rcode> {
    out.clear();
    let query = match parse(msg) {
        Ok(q) => q,
        Err(Malformed::Drop) => return None,
        Err(Malformed::Reply { id, flags, rcode }) => {
            write_header_only(out, id, flags, rcode);
            return Some(rcode);
        }
    };
    let limit = match transport {
        Transport::Tcp => u16::MAX as usize,
        Transport::Udp => match query.edns {
            Some(e) => e.udp_size.clamp(512, MAX_UDP_PAYLOAD) as usize,
            None => 512,
        },
    };

    if let Some(edns) = query.edns
        && edns.version > 0
    {
        return encode(
            out,
            &query,
            Rcode::BadVers,
            false,
            &Sections::default(),
            limit,
        );
    }
    // Only IN data exists here; ANY is read as IN (RFC 6895 §3.2 leaves it to us).
    if query.qclass != 1 && query.qclass != 255 {
        let s = Sections {
            ede: Some(EDE_NOT_SUPPORTED),
            ..Sections::default()
        };
        return encode(out, &query, Rcode::Refused, false, &s, limit);
    }
    let qtype = RecordType::from(query.qtype);
    match qtype {
        RecordType::OPT => {
            return encode(
                out,
                &query,
                Rcode::FormErr,
                false,
                &Sections::default(),
                limit,
            );
        }
        // Zone transfers are not offered (yet): never zone data, over any transport.
        RecordType::AXFR | RecordType::IXFR => {
            return encode(
                out,
                &query,
                Rcode::Refused,
                false,
                &Sections::default(),
                limit,
            );
        }
        _ => {}
    }
    // MAILA and MAILB (RFC 1035 §3.2.3) are obsolete meta types.
    if query.qtype == 253 || query.qtype == 254 {
        return encode(
            out,
            &query,
            Rcode::NotImp,
            false,
            &Sections::default(),
            limit,
        );
    }
    let Some(mut zone) = view.zones.find(&query.qname) else {
        let s = Sections {
            ede: Some(EDE_NOT_AUTHORITATIVE),
            ..Sections::default()
        };
        return encode(out, &query, Rcode::Refused, false, &s, limit);
    };
    // DS lives on the parent side of a cut (RFC 4035 §3.1.4.1): when we also
    // serve the parent, it answers DS for the child's apex.
    if qtype == RecordType::DS
        && zone.origin == query.qname
        && !query.qname.is_root()
        && let Some(parent) = view.zones.find(&query.qname.base_name())
    {
        zone = parent;
    }
    let mut sections = Sections::default();
    let (rcode, mut aa) = resolve(view, zone, &query.qname, qtype, rotation, &mut sections);
    if query.qclass == 255 && aa {
        // Data "for every class" is more than an IN zone can vouch for: answer
        // what we have, not authoritatively and without authority data, as NSD does.
        aa = false;
        sections.authority.clear();
        sections.additional.clear();
    }
    encode(out, &query, rcode, aa, &sections, limit)
}

/// Finds the answer for `qname`/`qtype` in `zone` (RFC 1034 §4.3.2, authoritative part).
fn resolve<'a>(
    view: &'a View,
    zone: &'a Zone,
    qname: &'a Name,
    qtype: RecordType,
    rotation: usize,
    s: &mut Sections<'a>,
) -> (Rcode, bool) {
    let mut sname: &'a Name = qname;
    for hop in 0..=MAX_CNAME_HOPS {
        if let Some((cut_name, cut)) = zone.find_cut(sname) {
            // The parent side answers DS at the cut itself.
            if !(qtype == RecordType::DS && cut_name == sname) {
                let Some(ns) = cut.get(RecordType::NS) else {
                    return (Rcode::ServFail, false);
                };
                let owner = cut_name;
                for rdata in &ns.rdatas {
                    s.authority.push(Rr {
                        owner,
                        rtype: RecordType::NS,
                        ttl: ns.ttl,
                        rdata,
                    });
                }
                s.glue_required = true;
                add_glue(view, zone, ns, s);
                // A referral is not authoritative; after a CNAME the answer part still is.
                return (Rcode::NoError, hop > 0);
            }
        }

        // `key` names the node (for health filtering), `owner` the records sent.
        let (node, owner, key): (&'a Node, &'a Name, &'a Name) = match zone.node_entry(sname) {
            Some((key, node)) => (node, sname, key),
            None => {
                let encloser = zone.closest_encloser(sname);
                match zone.wildcard_at(&encloser) {
                    // Synthesised records take the name asked for.
                    Some((key, node)) => (node, sname, key),
                    None => {
                        negative(zone, s);
                        return (Rcode::NxDomain, true);
                    }
                }
            }
        };

        if qtype == RecordType::ANY {
            // RFC 8482: one RRset, preferring what a client most likely wants.
            let preferred = [
                RecordType::A,
                RecordType::AAAA,
                RecordType::SOA,
                RecordType::MX,
                RecordType::PTR,
            ];
            let chosen = preferred
                .iter()
                .find_map(|t| node.get(*t))
                .or_else(|| node.rrsets.first());
            let before = s.answer.len();
            if let Some(set) = chosen {
                push_set(view, owner, key, set.rtype, set.ttl, &set.rdatas, s);
                add_additional(view, zone, set.rtype, &set.rdatas, s);
            }
            if s.answer.len() == before {
                negative(zone, s);
            }
            return (Rcode::NoError, true);
        }

        if let Some(filter) = view.filter(key, qtype) {
            match filter {
                Filter::Records(ttl, rdatas) => {
                    let start = rotation;
                    let n = rdatas.len();
                    for i in 0..n {
                        let rdata = &rdatas[(start + i) % n];
                        s.answer.push(Rr {
                            owner,
                            rtype: qtype,
                            ttl,
                            rdata,
                        });
                    }
                    add_apex_ns(view, zone, s);
                }
                Filter::NoData => negative(zone, s),
                Filter::ServFail => {
                    s.answer.clear();
                    return (Rcode::ServFail, false);
                }
            }
            return (Rcode::NoError, true);
        }

        if let Some(set) = node.get(qtype) {
            push_set(view, owner, key, qtype, set.ttl, &set.rdatas, s);
            add_additional(view, zone, qtype, &set.rdatas, s);
            if !(qtype == RecordType::NS && *owner == zone.origin) {
                add_apex_ns(view, zone, s);
            }
            return (Rcode::NoError, true);
        }

        if let Some(cname) = node.get(RecordType::CNAME)
            && let Some(rdata) = cname.rdatas.first()
        {
            s.answer.push(Rr {
                owner,
                rtype: RecordType::CNAME,
                ttl: cname.ttl,
                rdata,
            });
            let RData::CNAME(target) = rdata else {
                return (Rcode::NoError, true);
            };
            // Chains are followed only inside this zone; the resolver does the rest.
            if !zone.origin.zone_of(&target.0) {
                return (Rcode::NoError, true);
            }
            sname = &target.0;
            continue;
        }

        negative(zone, s);
        return (Rcode::NoError, true);
    }
    // Too long a chain (or a loop): hand back what we have, as BIND and NSD do.
    (Rcode::NoError, true)
}

/// Adds one RRset to the answer, health-filtered when it is checked.
fn push_set<'a>(
    view: &'a View,
    owner: &'a Name,
    key: &Name,
    rtype: RecordType,
    ttl: u32,
    rdatas: &'a [RData],
    s: &mut Sections<'a>,
) {
    match view.filter(key, rtype) {
        Some(Filter::Records(ttl, healthy)) => {
            for rdata in healthy {
                s.answer.push(Rr {
                    owner,
                    rtype,
                    ttl,
                    rdata,
                });
            }
            return;
        }
        Some(_) => return,
        None => {}
    }
    for rdata in rdatas {
        s.answer.push(Rr {
            owner,
            rtype,
            ttl,
            rdata,
        });
    }
}

/// The zone's NS set in the authority section of a positive answer, with the
/// addresses of in-zone name servers, as NSD does by default.
fn add_apex_ns<'a>(view: &'a View, zone: &'a Zone, s: &mut Sections<'a>) {
    let Some((owner, apex)) = zone.node_entry(&zone.origin) else {
        return;
    };
    let Some(ns) = apex.get(RecordType::NS) else {
        return;
    };
    for rdata in &ns.rdatas {
        s.authority.push(Rr {
            owner,
            rtype: RecordType::NS,
            ttl: ns.ttl,
            rdata,
        });
    }
    s.authority_optional = true;
    add_glue(view, zone, ns, s);
}

/// The SOA in the authority section of a negative answer (RFC 2308 §3).
fn negative<'a>(zone: &'a Zone, s: &mut Sections<'a>) {
    s.authority.push(Rr {
        owner: &zone.origin,
        rtype: RecordType::SOA,
        ttl: zone.negative_ttl,
        rdata: &zone.soa.data,
    });
}

/// Addresses of in-zone targets of NS, MX and SRV answers.
fn add_additional<'a>(
    view: &'a View,
    zone: &'a Zone,
    qtype: RecordType,
    rdatas: &'a [RData],
    s: &mut Sections<'a>,
) {
    for rdata in rdatas {
        let target = match (qtype, rdata) {
            (RecordType::NS, RData::NS(ns)) => &ns.0,
            (RecordType::MX, RData::MX(mx)) => &mx.exchange,
            (RecordType::SRV, RData::SRV(srv)) => &srv.target,
            _ => continue,
        };
        add_addresses(view, zone, target, s);
    }
}

/// Glue for a referral: addresses of name servers inside this zone's data.
fn add_glue<'a>(view: &'a View, zone: &'a Zone, ns: &'a crate::zones::Rrset, s: &mut Sections<'a>) {
    for rdata in &ns.rdatas {
        if let RData::NS(target) = rdata {
            add_addresses(view, zone, &target.0, s);
        }
    }
}

fn add_addresses<'a>(view: &'a View, zone: &'a Zone, target: &'a Name, s: &mut Sections<'a>) {
    if !zone.origin.zone_of(target) {
        return;
    }
    let Some((owner, node)) = zone.node_entry(target) else {
        return;
    };
    for rtype in [RecordType::A, RecordType::AAAA] {
        // Nothing twice: an address already in the answer is not repeated.
        let in_answer = |s: &Sections<'a>| {
            s.answer
                .iter()
                .any(|rr| rr.rtype == rtype && rr.owner == owner)
        };
        if in_answer(s) {
            continue;
        }
        match view.filter(owner, rtype) {
            Some(Filter::Records(ttl, rdatas)) => {
                for rdata in rdatas {
                    s.additional.push(Rr {
                        owner,
                        rtype,
                        ttl,
                        rdata,
                    });
                }
            }
            Some(_) => {}
            None => {
                if let Some(set) = node.get(rtype) {
                    for rdata in &set.rdatas {
                        s.additional.push(Rr {
                            owner,
                            rtype,
                            ttl: set.ttl,
                            rdata,
                        });
                    }
                }
            }
        }
    }
}

/// Parses header, question and additional section (for OPT).
fn parse(msg: &[u8]) -> Result<Query, Malformed> {
    if msg.len() < 12 {
        return Err(Malformed::Drop);
    }
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let flags = u16::from_be_bytes([msg[2], msg[3]]);
    if flags & QR != 0 {
        return Err(Malformed::Drop);
    }
    let opcode = (flags >> 11) & 0xF;
    let count = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]);
    let (qdcount, ancount, nscount, arcount) = (count(4), count(6), count(8), count(10));
    let formerr = Malformed::Reply {
        id,
        flags,
        rcode: Rcode::FormErr,
    };
    if opcode != 0 {
        // RFC 8906 §3.1.4: only QR and the opcode, empty sections.
        return Err(Malformed::Reply {
            id,
            flags: flags & 0x7800,
            rcode: Rcode::NotImp,
        });
    }
    if qdcount != 1 || ancount != 0 || nscount != 0 {
        return Err(formerr);
    }
    let mut d = BinDecoder::new(msg);
    d.read_slice(12).map_err(|_| Malformed::Drop)?;
    let qname = Name::read(&mut d).map_err(|_| formerr_of(id, flags))?;
    let qtype = d
        .read_u16()
        .map_err(|_| formerr_of(id, flags))?
        .unverified();
    let qclass = d
        .read_u16()
        .map_err(|_| formerr_of(id, flags))?
        .unverified();

    let mut edns = None;
    for _ in 0..arcount {
        let name = Name::read(&mut d).map_err(|_| formerr_of(id, flags))?;
        let mut fixed = || -> Result<(u16, u16, u32, u16), Malformed> {
            let t = d
                .read_u16()
                .map_err(|_| formerr_of(id, flags))?
                .unverified();
            let c = d
                .read_u16()
                .map_err(|_| formerr_of(id, flags))?
                .unverified();
            let ttl = d
                .read_u32()
                .map_err(|_| formerr_of(id, flags))?
                .unverified();
            let len = d
                .read_u16()
                .map_err(|_| formerr_of(id, flags))?
                .unverified();
            d.read_slice(len as usize)
                .map_err(|_| formerr_of(id, flags))?;
            Ok((t, c, ttl, len))
        };
        let (rtype, class, ttl, _) = fixed()?;
        if rtype == u16::from(RecordType::OPT) {
            // RFC 6891 §6.1.1: one OPT, owned by the root.
            if edns.is_some() || !name.is_root() {
                return Err(formerr_of(id, flags));
            }
            edns = Some(Edns {
                udp_size: class,
                version: (ttl >> 16) as u8,
                dnssec_ok: ttl & 0x8000 != 0,
            });
        }
    }
    Ok(Query {
        id,
        flags,
        qname,
        qtype,
        qclass,
        edns,
    })
}

fn formerr_of(id: u16, flags: u16) -> Malformed {
    Malformed::Reply {
        id,
        flags,
        rcode: Rcode::FormErr,
    }
}

/// A response with no question: for queries we could not read, and NOTIMP.
fn write_header_only(out: &mut Vec<u8>, id: u16, qflags: u16, rcode: Rcode) {
    let flags = QR
        | (qflags & 0x7800)
        | (if rcode == Rcode::NotImp {
            0
        } else {
            qflags & RD
        })
        | (rcode as u16 & 0xF);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0; 8]);
}

/// Writes the response; on overflow of `limit` drops answer and authority and sets TC.
fn encode(
    out: &mut Vec<u8>,
    q: &Query,
    rcode: Rcode,
    mut aa: bool,
    s: &Sections<'_>,
    limit: usize,
) -> Option<Rcode> {
    let mut rcode = rcode;
    let reserve = if q.edns.is_some() { OPT_LEN } else { 0 };
    let mut counts = [1u16, 0, 0, 0];
    let mut tc = false;
    {
        let mut enc = BinEncoder::new(out);
        let ok = enc.emit_vec(&[0; 12]).is_ok()
            && q.qname.emit(&mut enc).is_ok()
            && enc.emit_u16(q.qtype).is_ok()
            && enc.emit_u16(q.qclass).is_ok();
        if !ok {
            return None;
        }
        let after_question = enc.offset();
        let fits = |enc: &BinEncoder<'_>| enc.offset() + reserve <= limit;
        let mut ok = true;
        for rr in &s.answer {
            ok = ok && emit_rr(&mut enc, rr) && fits(&enc);
        }
        let after_answer = enc.offset();
        let mut authority_ok = true;
        for rr in &s.authority {
            authority_ok = authority_ok && emit_rr(&mut enc, rr) && fits(&enc);
        }
        let mut additional = true;
        if ok && !authority_ok && s.authority_optional {
            enc.set_offset(after_answer);
            enc.trim();
            counts[1] = s.answer.len() as u16;
            additional = false;
        } else if ok && authority_ok {
            counts[1] = s.answer.len() as u16;
            counts[2] = s.authority.len() as u16;
        } else {
            ok = false;
        }
        if ok && additional {
            // Additional data is optional: stop at the first record that does not fit.
            for rr in &s.additional {
                let mark = enc.offset();
                if !(emit_rr(&mut enc, rr) && fits(&enc)) {
                    enc.set_offset(mark);
                    enc.trim();
                    // Except glue a referral cannot work without (RFC 9471).
                    tc = s.glue_required;
                    break;
                }
                counts[3] += 1;
            }
        } else if !ok {
            enc.set_offset(after_question);
            enc.trim();
            if limit == u16::MAX as usize {
                // Over TCP there is no bigger message to retry with.
                rcode = Rcode::ServFail;
                aa = false;
            } else {
                tc = true;
            }
        }
        if let Some(edns) = q.edns {
            // The extended rcode's upper 8 bits live in the OPT TTL.
            let ext = ((rcode as u16) >> 4) as u32;
            let ttl = (ext << 24) | if edns.dnssec_ok { 0x8000 } else { 0 };
            let mut ede = [0u8; 6];
            let ede: &[u8] = match s.ede {
                Some(code) => {
                    ede[..4].copy_from_slice(&[0, 15, 0, 2]);
                    ede[4..].copy_from_slice(&code.to_be_bytes());
                    &ede
                }
                None => &[],
            };
            let ok = enc.emit(0).is_ok()
                && enc.emit_u16(u16::from(RecordType::OPT)).is_ok()
                && enc.emit_u16(ADVERTISED_UDP_PAYLOAD).is_ok()
                && enc.emit_u32(ttl).is_ok()
                && enc.emit_u16(ede.len() as u16).is_ok()
                && enc.emit_vec(ede).is_ok();
            if !ok {
                return None;
            }
            counts[3] += 1;
        }
    }
    // RD is echoed (RFC 1035 §4.1.1); CD is not, as NSD and Knot do without DNSSEC.
    let mut flags = QR | (q.flags & RD) | (rcode as u16 & 0xF);
    if aa {
        flags |= AA;
    }
    if tc {
        flags |= TC;
    }
    out[0..2].copy_from_slice(&q.id.to_be_bytes());
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    for (i, c) in counts.iter().enumerate() {
        out[4 + 2 * i..6 + 2 * i].copy_from_slice(&c.to_be_bytes());
    }
    Some(rcode)
}

fn emit_rr(enc: &mut BinEncoder<'_>, rr: &Rr<'_>) -> bool {
    let head = rr.owner.emit(enc).is_ok()
        && enc.emit_u16(u16::from(rr.rtype)).is_ok()
        && enc.emit_u16(1).is_ok()
        && enc.emit_u32(rr.ttl).is_ok();
    if !head {
        return false;
    }
    let Ok(place) = enc.place::<u16>() else {
        return false;
    };
    if rr.rdata.emit(enc).is_err() {
        return false;
    }
    let len = enc.len_since_place(&place);
    u16::try_from(len).is_ok_and(|len| place.replace(enc, len).is_ok())
}
