//! Owns the general answer path, which handles every query: the query is
//! read by [`super::query`], the name looked up in the zones here (RFC 1034
//! §4.3.2: delegations, CNAME chains, wildcards, health filtering), and the
//! response written by [`super::encode`]. The answer table is built by
//! running this path once per name and type, so both paths answer alike.

use std::cell::{Cell, OnceCell};

use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::cookie::{self, Secrets};
use super::encode::{Rr, Sections, encode};
use super::judged::{Filter, pick};
use super::query::{Malformed, Query, parse, write_header_only};
use super::snapshot::{Snapshot, Source};
use super::tsig::{self, Keys, Verdict};
use super::wire::{EDE_NOT_AUTHORITATIVE, EDE_NOT_SUPPORTED, EDE_OTHER};
use super::{Answered, Client, Rcode, Transport};
use crate::zones::{Node, RdataRef, Rrset, Zone, label_count};

/// CNAME hops followed inside a zone before giving up (loops end here too).
pub(super) const MAX_CNAME_HOPS: usize = 8;

/// What an answer was made from: the answer table keeps only those made
/// from the zones alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Depends {
    /// The zones alone: the same for every health state.
    #[default]
    Zones,
    /// Health too: a checked name's set, or a SOA whose serial follows health.
    Health,
}

/// Answers one DNS message. Writes the response into `out` (cleared first)
/// and returns its rcode, or `None` when the message deserves no response.
/// `rotation` picks where a health-checked address list starts.
pub(super) fn respond(
    snapshot: &Snapshot,
    msg: &[u8],
    transport: Transport,
    client: Client,
    rotation: usize,
    out: &mut Vec<u8>,
) -> Option<Answered> {
    let cookies = snapshot.cookies().map(|secrets| (secrets, client));
    let (rcode, _, server_cookie) = answer_as(
        snapshot.source(),
        Some(snapshot.keys()),
        msg,
        transport,
        rotation,
        cookies,
        out,
    )?;
    // Off the fast path: reading the type again costs nothing that matters.
    let qtype = super::question_type(msg);
    Some(Answered {
        rcode,
        qtype,
        server_cookie,
    })
}

/// [`respond`] from `src`, answering DNS Cookies with `cookies` (the
/// secrets and who asked) when on; saying also what the answer depends on
/// and whether the query carried a valid server cookie.
pub(super) fn answer(
    src: Source<'_>,
    msg: &[u8],
    transport: Transport,
    rotation: usize,
    cookies: Option<(&Secrets, Client)>,
    out: &mut Vec<u8>,
) -> Option<(Rcode, Depends, bool)> {
    answer_as(src, None, msg, transport, rotation, cookies, out)
}

/// [`answer`], checking a signed query against `keys` and signing its
/// answer (RFC 8945 §5.2, §5.3): one that fails gets NOTAUTH and the TSIG
/// error, never data.
fn answer_as(
    src: Source<'_>,
    keys: Option<&Keys>,
    msg: &[u8],
    transport: Transport,
    rotation: usize,
    cookies: Option<(&Secrets, Client)>,
    out: &mut Vec<u8>,
) -> Option<(Rcode, Depends, bool)> {
    if let Some((secrets, client)) = cookies
        && let Some(valid) = cookie::question_less(msg, secrets, client, out)
    {
        return Some((Rcode::NoError, Depends::Zones, valid));
    }
    out.clear();
    let mut query = match parse(msg) {
        Ok(q) => q,
        Err(Malformed::Drop) => return None,
        Err(Malformed::Reply { id, flags, rcode }) => {
            write_header_only(out, id, flags, rcode);
            return Some((rcode, Depends::Zones, false));
        }
    };
    let synth = Synthesised::default();
    let mut s = Sections {
        cookie: cookies
            .zip(query.edns.and_then(|e| e.cookie))
            .map(|((secrets, client), got)| cookie::reply(secrets, &got, client)),
        ..Sections::default()
    };
    let valid_cookie = s.cookie.is_some_and(|c| c.valid);
    // A malformed option makes the message FORMERR before its signature
    // is looked at (the fuzz target's invariant; Knot does the same).
    let sound = query.edns.is_none_or(|e| e.options_sound);
    let (Some(keys), Some(start), true) = (keys, query.tsig, sound) else {
        let rcode = write(src, &query, transport, rotation, &synth, &mut s, out)?;
        return Some((rcode, s.depends, valid_cookie));
    };
    let now = tsig::now();
    match tsig::verify(keys, msg, start, now) {
        Verdict::Signed(signed) => {
            query.reserve = signed.size();
            let rcode = write(src, &query, transport, rotation, &synth, &mut s, out)?;
            signed.sign(out, now);
            Some((rcode, s.depends, valid_cookie))
        }
        Verdict::Refused(refusal) => {
            let limit = transport.limit(query.edns.map(|e| e.udp_size));
            encode(out, &query, Rcode::NotAuth, false, &s, limit)?;
            refusal.write_within(out, now, limit);
            Some((Rcode::NotAuth, Depends::Zones, valid_cookie))
        }
        Verdict::Malformed => {
            write_header_only(out, query.id, query.flags, Rcode::FormErr);
            Some((Rcode::FormErr, Depends::Zones, false))
        }
    }
}

/// Answers `query` into `out`, collecting the sections in `s` (which
/// also records what they depend on).
fn write<'a>(
    src: Source<'a>,
    query: &'a Query,
    transport: Transport,
    rotation: usize,
    synth: &'a Synthesised,
    s: &mut Sections<'a>,
    out: &mut Vec<u8>,
) -> Option<Rcode> {
    let limit = transport.limit(query.edns.map(|e| e.udp_size));
    // An answer without records: an error, or a refusal explained by `ede`.
    let refuse = |out: &mut Vec<u8>, rcode: Rcode, ede: Option<u16>, s: &mut Sections<'a>| {
        s.ede = ede.map(|code| (code, ""));
        encode(out, query, rcode, false, s, limit)
    };

    if let Some(edns) = query.edns
        && edns.version > 0
    {
        return refuse(out, Rcode::BadVers, None, s);
    }
    // A malformed option in a sound OPT: FORMERR, the OPT echoed (RFC 6891 §7).
    if query.edns.is_some_and(|e| !e.options_sound) {
        return refuse(out, Rcode::FormErr, None, s);
    }
    // Only IN data exists here; ANY is read as IN (RFC 6895 §3.2 leaves it to us).
    if query.qclass != 1 && query.qclass != 255 {
        return refuse(out, Rcode::Refused, Some(EDE_NOT_SUPPORTED), s);
    }
    let qtype = RecordType::from(query.qtype);
    match qtype {
        RecordType::OPT => return refuse(out, Rcode::FormErr, None, s),
        // RFC 1995 §2: IXFR over UDP gets the current SOA alone, which tells
        // the secondary to ask over TCP (where the transfer ACL decides).
        RecordType::IXFR
            if transport == Transport::Udp
                && let Some(zone) = src.zones.find(&query.qname)
                && zone.origin == query.qname =>
        {
            let data = soa(src, zone, s);
            s.answer.push(Rr {
                owner: &query.qname,
                rtype: RecordType::SOA,
                ttl: zone.soa.ttl,
                rdata: RdataRef::Full(data),
            });
            return encode(out, query, Rcode::NoError, true, s, limit);
        }
        // Transfers are the TCP path's, for allowed clients: here (everyone
        // else, and any AXFR over UDP) never zone data.
        RecordType::AXFR | RecordType::IXFR => return refuse(out, Rcode::Refused, None, s),
        _ => {}
    }
    // MAILA and MAILB (RFC 1035 §3.2.3) are obsolete meta types.
    if query.qtype == 253 || query.qtype == 254 {
        return refuse(out, Rcode::NotImp, None, s);
    }
    let Some(mut zone) = src.zones.find(&query.qname) else {
        return refuse(out, Rcode::Refused, Some(EDE_NOT_AUTHORITATIVE), s);
    };
    // DS lives on the parent side of a cut (RFC 4035 §3.1.4.1): when we also
    // serve the parent, it answers DS for the child's apex.
    if qtype == RecordType::DS
        && zone.origin == query.qname
        && !query.qname.is_root()
        && let Some(parent) = src.zones.find(&query.qname.base_name())
    {
        zone = parent;
    }
    let (rcode, mut aa) = resolve(src, zone, &query.qname, qtype, rotation, synth, s);
    if query.qclass == 255 && aa {
        // Data "for every class" is more than an IN zone can vouch for: answer
        // what we have, not authoritatively and without authority data, as NSD does.
        aa = false;
        s.authority.clear();
        s.additional.clear();
    }
    encode(out, query, rcode, aa, s, limit)
}

/// The SOA data `zone` is served with; notes in `s` when its serial
/// follows health.
fn soa<'a>(src: Source<'a>, zone: &'a Zone, s: &mut Sections<'a>) -> &'a RData {
    if src.served.follows_health() {
        s.depends = Depends::Health;
    }
    src.served.soa(zone)
}

/// The health-filtered answer for (`key`, `rtype`) in `zone`, if it has one
/// (a checked A/AAAA set, or the zone's SOA when its serial follows
/// health); notes in `s` that the answer depends on health.
fn filter<'a>(
    src: Source<'a>,
    zone: &'a Zone,
    key: &Name,
    rtype: RecordType,
    s: &mut Sections<'a>,
) -> Option<Filter<'a>> {
    let filter = match rtype {
        RecordType::SOA if src.served.follows_health() && *key == zone.origin => Filter::Records(
            zone.soa.ttl,
            std::slice::from_ref(src.served.soa(zone)),
            &[],
        ),
        _ => src.judged.filter(key, rtype)?,
    };
    s.depends = Depends::Health;
    Some(filter)
}

/// Data one answer makes rather than finds in a zone, which its sections
/// borrow as they borrow the zone's records: the CNAMEs DNAMEs synthesise
/// (one per hop at most), and the targets of KX and RT records, kept as
/// wire bytes, whose addresses go in the additional section. Made on first
/// use: most answers need none, and the slots take 2.5 KB.
#[derive(Default)]
pub(super) struct Synthesised(OnceCell<Box<Slots>>);

#[derive(Default)]
struct Slots {
    cnames: [OnceCell<RData>; MAX_CNAME_HOPS + 1],
    targets: [OnceCell<Name>; 8],
    used: Cell<usize>,
}

impl Synthesised {
    fn slots(&self) -> &Slots {
        self.0.get_or_init(Box::default)
    }

    /// Keeps the CNAME of hop `hop` for the answer.
    fn cname(&self, hop: usize, target: Name) -> Option<&RData> {
        let cell = self.slots().cnames.get(hop)?;
        Some(cell.get_or_init(|| RData::CNAME(CNAME(target))))
    }

    /// Keeps `name` for the answer; `None` once every slot is taken.
    fn keep(&self, name: Name) -> Option<&Name> {
        let slots = self.slots();
        let i = slots.used.get();
        let cell = slots.targets.get(i)?;
        slots.used.set(i + 1);
        Some(cell.get_or_init(|| name))
    }
}

/// The target of a DNAME record (kept as its wire bytes: hickory has no DNAME type).
fn dname_target(rdata: &RData) -> Option<Name> {
    match rdata {
        RData::Unknown { rdata, .. } => Name::read(&mut BinDecoder::new(&rdata.anything)).ok(),
        _ => None,
    }
}

/// Finds the answer for `qname`/`qtype` in `zone` (RFC 1034 §4.3.2, authoritative part).
fn resolve<'a>(
    src: Source<'a>,
    zone: &'a Zone,
    qname: &'a Name,
    qtype: RecordType,
    rotation: usize,
    synth: &'a Synthesised,
    s: &mut Sections<'a>,
) -> (Rcode, bool) {
    let mut sname: &'a Name = qname;
    for hop in 0..=MAX_CNAME_HOPS {
        // A DNAME above the name redirects it (RFC 6672 §3.2): the DNAME,
        // then a CNAME made from it (with its TTL), then the chain goes on.
        if let Some((owner, dname)) = zone.find_dname(sname)
            && let Some(rdata) = dname.others().first()
            && let Some(target) = dname_target(rdata)
        {
            // A DNAME met again redirects into itself: stop, as NSD does.
            if s.answer
                .iter()
                .any(|rr| rr.rtype == RecordType::DNAME && rr.owner == owner)
            {
                return (Rcode::NoError, true);
            }
            s.answer.push(Rr {
                owner,
                rtype: RecordType::DNAME,
                ttl: dname.ttl,
                rdata: RdataRef::Full(rdata),
            });
            let keep = label_count(sname) - label_count(owner);
            let labels: Vec<&[u8]> = sname.iter().take(keep).collect();
            let Some(new) = labels
                .iter()
                .rev()
                .try_fold(target, |name, label| name.prepend_label(*label).ok())
            else {
                // Too long a name: YXDOMAIN with the DNAME alone (RFC 6672
                // §2.2), and NSD's EDE.
                s.ede = Some((EDE_OTHER, "DNAME expansion became too large"));
                return (Rcode::YxDomain, true);
            };
            let Some(cname) = synth.cname(hop, new) else {
                return (Rcode::NoError, true);
            };
            s.answer.push(Rr {
                owner: sname,
                rtype: RecordType::CNAME,
                ttl: dname.ttl,
                rdata: RdataRef::Full(cname),
            });
            let RData::CNAME(target) = cname else {
                return (Rcode::NoError, true);
            };
            if !zone.origin.zone_of(&target.0) {
                return (Rcode::NoError, true);
            }
            sname = &target.0;
            continue;
        }
        if let Some((cut_name, cut)) = zone.find_cut(sname) {
            // The parent side answers DS at the cut itself.
            if !(qtype == RecordType::DS && cut_name == sname) {
                let Some(ns) = cut.get(RecordType::NS) else {
                    return (Rcode::ServFail, false);
                };
                push_ns(src, zone, cut_name, ns, s);
                s.glue_required = true;
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
                        negative(src, zone, s);
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
                push_set(src, zone, owner, key, set, s);
                add_additional(src, zone, set.rtype, set.others(), synth, s);
            }
            if s.answer.len() == before {
                negative(src, zone, s);
            }
            return (Rcode::NoError, true);
        }

        if let Some(filter) = filter(src, zone, key, qtype, s) {
            match filter {
                Filter::Records(ttl, rdatas, orders) => {
                    for rdata in pick(rdatas, orders, rotation) {
                        s.answer.push(Rr {
                            owner,
                            rtype: qtype,
                            ttl,
                            rdata: RdataRef::Full(rdata),
                        });
                    }
                    add_apex_ns(src, zone, s);
                }
                Filter::NoData(ttl) => negative_within(src, zone, ttl, s),
                Filter::ServFail(why) => {
                    s.answer.clear();
                    s.ede = Some((EDE_OTHER, why));
                    return (Rcode::ServFail, false);
                }
            }
            return (Rcode::NoError, true);
        }

        // A DS at our own apex is the parent's data, not this zone's (RFC
        // 4035 §3.1.4.1): the child side has none, as NSD answers.
        if qtype == RecordType::DS && *key == zone.origin {
            negative(src, zone, s);
            return (Rcode::NoError, true);
        }

        if let Some(set) = node.get(qtype) {
            push_set(src, zone, owner, key, set, s);
            add_additional(src, zone, qtype, set.others(), synth, s);
            // NSD sends no NS with the apex's own NS set, nor with a DS at a
            // cut (the parent's answer about the child).
            let own_ns = qtype == RecordType::NS && *owner == zone.origin;
            let cut_ds = qtype == RecordType::DS && node.is_cut;
            // Nor with DNSKEY sets, which are big enough already.
            if !own_ns && !cut_ds && qtype != RecordType::DNSKEY {
                add_apex_ns(src, zone, s);
            }
            return (Rcode::NoError, true);
        }

        if let Some(cname) = node.get(RecordType::CNAME)
            && let Some(rdata) = cname.others().first()
        {
            s.answer.push(Rr {
                owner,
                rtype: RecordType::CNAME,
                ttl: cname.ttl,
                rdata: RdataRef::Full(rdata),
            });
            let RData::CNAME(target) = rdata else {
                return (Rcode::NoError, true);
            };
            // Chains are followed only inside this zone; the resolver does the rest.
            if !zone.origin.zone_of(&target.0) {
                return (Rcode::NoError, true);
            }
            // A loop ends where it closes, each CNAME once (as NSD answers).
            let looped = s
                .answer
                .iter()
                .any(|rr| rr.rtype == RecordType::CNAME && *rr.owner == target.0);
            if looped {
                return (Rcode::NoError, true);
            }
            sname = &target.0;
            continue;
        }

        negative(src, zone, s);
        return (Rcode::NoError, true);
    }
    // Too long a chain (or a loop): hand back what we have, as BIND and NSD do.
    (Rcode::NoError, true)
}

/// Adds one RRset to the answer, health-filtered when it is checked.
fn push_set<'a>(
    src: Source<'a>,
    zone: &'a Zone,
    owner: &'a Name,
    key: &Name,
    set: &'a Rrset,
    s: &mut Sections<'a>,
) {
    let rtype = set.rtype;
    match filter(src, zone, key, rtype, s) {
        Some(Filter::Records(ttl, healthy, orders)) => {
            for rdata in pick(healthy, orders, 0) {
                s.answer.push(Rr {
                    owner,
                    rtype,
                    ttl,
                    rdata: RdataRef::Full(rdata),
                });
            }
            return;
        }
        Some(_) => return,
        None => {}
    }
    for rdata in set.iter() {
        s.answer.push(Rr {
            owner,
            rtype,
            ttl: set.ttl,
            rdata,
        });
    }
}

/// The zone's NS set in the authority section of a positive answer, with the
/// addresses of in-zone name servers, as NSD does by default.
fn add_apex_ns<'a>(src: Source<'a>, zone: &'a Zone, s: &mut Sections<'a>) {
    let Some((owner, apex)) = zone.node_entry(&zone.origin) else {
        return;
    };
    let Some(ns) = apex.get(RecordType::NS) else {
        return;
    };
    push_ns(src, zone, owner, ns, s);
    s.authority_optional = true;
}

/// An NS set in the authority section, with its glue.
fn push_ns<'a>(
    src: Source<'a>,
    zone: &'a Zone,
    owner: &'a Name,
    ns: &'a Rrset,
    s: &mut Sections<'a>,
) {
    for rdata in ns.others() {
        s.authority.push(Rr {
            owner,
            rtype: RecordType::NS,
            ttl: ns.ttl,
            rdata: RdataRef::Full(rdata),
        });
    }
    add_glue(src, zone, ns, s);
}

/// The SOA in the authority section of a negative answer (RFC 2308 §3).
fn negative<'a>(src: Source<'a>, zone: &'a Zone, s: &mut Sections<'a>) {
    negative_within(src, zone, u32::MAX, s);
}

/// [`negative`] with its TTL at most `cap`.
fn negative_within<'a>(src: Source<'a>, zone: &'a Zone, cap: u32, s: &mut Sections<'a>) {
    let data = soa(src, zone, s);
    s.authority.push(Rr {
        owner: &zone.origin,
        rtype: RecordType::SOA,
        ttl: zone.negative_ttl.min(cap),
        rdata: RdataRef::Full(data),
    });
}

/// Addresses of in-zone targets of NS, MX and SRV answers.
fn add_additional<'a>(
    src: Source<'a>,
    zone: &'a Zone,
    qtype: RecordType,
    rdatas: &'a [RData],
    synth: &'a Synthesised,
    s: &mut Sections<'a>,
) {
    for rdata in rdatas {
        let (target, glue) = match (qtype, rdata) {
            (RecordType::NS, RData::NS(ns)) => (&ns.0, true),
            (RecordType::MX, RData::MX(mx)) => (&mx.exchange, false),
            (RecordType::SRV, RData::SRV(srv)) => (&srv.target, false),
            // KX and RT: a preference, then the host (as NSD adds them).
            (_, RData::Unknown { code, rdata }) if is_kx_or_rt(*code) => {
                let host = rdata.anything.get(2..).map(BinDecoder::new);
                match host
                    .and_then(|mut d| Name::read(&mut d).ok())
                    .and_then(|n| synth.keep(n))
                {
                    Some(name) => (name, false),
                    None => continue,
                }
            }
            _ => continue,
        };
        // Below a delegation only a name server's addresses (glue) are
        // given, as NSD does, and no wildcard of ours speaks for a name there.
        let below_cut = zone.find_cut(target).is_some();
        if below_cut && !glue {
            continue;
        }
        add_addresses(src, zone, target, !below_cut, s);
    }
}

/// KX (36) and RT (21), whose hosts' addresses go in the additional section.
pub(super) fn is_kx_or_rt(rtype: RecordType) -> bool {
    matches!(u16::from(rtype), 21 | 36)
}

/// Glue for a referral: addresses of name servers inside this zone's data.
fn add_glue<'a>(src: Source<'a>, zone: &'a Zone, ns: &'a Rrset, s: &mut Sections<'a>) {
    for rdata in ns.others() {
        if let RData::NS(target) = rdata {
            add_addresses(src, zone, &target.0, false, s);
        }
    }
}

/// Adds the addresses of `target` (a name server, mail exchange or
/// service host) inside this zone; `wildcard`: also those a wildcard
/// synthesises for it (as NSD adds them; not for glue, which is data).
fn add_addresses<'a>(
    src: Source<'a>,
    zone: &'a Zone,
    target: &'a Name,
    wildcard: bool,
    s: &mut Sections<'a>,
) {
    if !zone.origin.zone_of(target) {
        return;
    }
    // `key` names the node (for health filtering), `owner` the records sent.
    let (owner, key, node) = match zone.node_entry(target) {
        Some((key, node)) => (key, key, node),
        None if wildcard => match zone.wildcard_at(&zone.closest_encloser(target)) {
            Some((key, node)) => (target, key, node),
            None => return,
        },
        None => return,
    };
    for rtype in [RecordType::A, RecordType::AAAA] {
        // Nothing twice: an address already in the answer is not repeated.
        let sent = |s: &Sections<'a>| {
            s.answer
                .iter()
                .chain(&s.additional)
                .any(|rr| rr.rtype == rtype && rr.owner == owner)
        };
        if sent(s) {
            continue;
        }
        match filter(src, zone, key, rtype, s) {
            Some(Filter::Records(ttl, rdatas, orders)) => {
                for rdata in pick(rdatas, orders, 0) {
                    s.additional.push(Rr {
                        owner,
                        rtype,
                        ttl,
                        rdata: RdataRef::Full(rdata),
                    });
                }
            }
            Some(_) => {}
            None => {
                if let Some(set) = node.get(rtype) {
                    for rdata in set.iter() {
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
