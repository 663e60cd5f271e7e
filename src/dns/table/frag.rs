//! Owns the per-zone fragments of stored answers: the SOA record of
//! negative answers and the authority tail (apex NS and glue) of positive
//! ones, written once per zone with their names compressed against the
//! zone origin inside the question and patched per query.

use hickory_proto::rr::{Name, RData, RecordType};

use super::super::snapshot::Source;
use super::wire;
use crate::zones::{Zone, label_count};

/// Per-zone fragments that are the same for every name in the zone.
#[derive(Debug)]
pub(in crate::dns) struct ZoneFrags {
    /// The zone's origin.
    pub(super) origin: Name,
    /// TTL of the SOA in negative answers.
    pub(super) negative_ttl: u32,
    /// Wire length of the origin.
    pub(super) origin_len: u8,
    /// The SOA record of negative answers.
    pub(in crate::dns) soa: Frag,
    /// The apex NS set and its glue, after positive answers; `None` when it
    /// depends on health (glue of a checked name).
    pub(in crate::dns) tail: Option<Frag>,
}

/// Bytes whose names point at the zone origin inside the question.
#[derive(Debug, Default)]
pub(in crate::dns) struct Frag {
    /// The records.
    pub(super) bytes: Vec<u8>,
    /// Offsets of the two-byte pointers to patch.
    pub(super) patches: Vec<u16>,
    /// Authority and additional counts.
    pub(in crate::dns) counts: [u16; 2],
}

impl Frag {
    /// Appends the fragment to `out` with its pointers aimed at `origin_at`.
    pub(in crate::dns) fn write(&self, out: &mut Vec<u8>, origin_at: usize) {
        let base = out.len();
        out.extend_from_slice(&self.bytes);
        let pointer = (0xC000 | origin_at as u16).to_be_bytes();
        for &p in &self.patches {
            let p = base + p as usize;
            out[p..p + 2].copy_from_slice(&pointer);
        }
    }
}

impl ZoneFrags {
    /// Where the origin starts in a question whose name is `qname_len` bytes.
    pub(in crate::dns) fn origin_at(&self, qname_len: usize) -> Option<usize> {
        let at = 12 + qname_len.checked_sub(self.origin_len as usize)?;
        (at < 0x4000).then_some(at)
    }
}

/// One A/AAAA record owned by the question's name (a pointer to offset 12).
pub(super) fn answer_rr(out: &mut Vec<u8>, rtype: RecordType, ttl: u32, ip: std::net::IpAddr) {
    let (v4, v6);
    let data: &[u8] = match ip {
        std::net::IpAddr::V4(ip) => {
            v4 = ip.octets();
            &v4
        }
        std::net::IpAddr::V6(ip) => {
            v6 = ip.octets();
            &v6
        }
    };
    out.extend_from_slice(&[0xC0, 0x0C]);
    out.extend_from_slice(&u16::from(rtype).to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// The SOA fragment and the authority tail of `zone`.
pub(super) fn zone_frags(source: Source, zone: &Zone) -> ZoneFrags {
    let origin_len = wire(&zone.origin).len() as u8;
    let soa = soa_frag(&zone.origin, zone.negative_ttl, &zone.soa.data);

    let tail = (|| {
        let apex = zone.node(&zone.origin)?;
        let ns = apex.get(RecordType::NS)?;
        let mut w = FragWriter::new(&zone.origin);
        for rdata in ns.others() {
            w.rr(&zone.origin, RecordType::NS, ns.ttl, rdata);
        }
        let mut glue = 0u16;
        for rdata in ns.others() {
            let RData::NS(target) = rdata else { continue };
            if !zone.origin.zone_of(&target.0) {
                continue;
            }
            let Some((owner, node)) = zone.node_entry(&target.0) else {
                continue;
            };
            for rtype in [RecordType::A, RecordType::AAAA] {
                if source.judged.filter(owner, rtype).is_some() {
                    // Glue of a checked name follows health: general path.
                    return None;
                }
                if let Some(set) = node.get(rtype) {
                    for rdata in set.iter() {
                        w.rr(owner, rtype, set.ttl, &rdata.to_rdata());
                        glue += 1;
                    }
                }
            }
        }
        Some(w.finish([ns.len() as u16, glue]))
    })();
    ZoneFrags {
        origin: zone.origin.clone(),
        negative_ttl: zone.negative_ttl,
        origin_len,
        soa,
        tail,
    }
}

/// The SOA record of the negative answers of the zone at `origin`, with
/// `data` (the file's, or one with the serial served now).
pub(super) fn soa_frag(origin: &Name, negative_ttl: u32, data: &RData) -> Frag {
    let mut soa = FragWriter::new(origin);
    soa.rr(origin, RecordType::SOA, negative_ttl, data);
    soa.finish([1, 0])
}

/// Writes records whose in-zone names end in a pointer to the origin.
struct FragWriter<'o> {
    origin: &'o Name,
    frag: Frag,
}

impl<'o> FragWriter<'o> {
    fn new(origin: &'o Name) -> Self {
        FragWriter {
            origin,
            frag: Frag::default(),
        }
    }

    fn name(&mut self, name: &Name) {
        let out = &mut self.frag.bytes;
        if self.origin.zone_of(name) {
            let own = label_count(name) - label_count(self.origin);
            for label in name.iter().take(own) {
                out.push(label.len() as u8);
                out.extend(label.iter().map(u8::to_ascii_lowercase));
            }
            self.frag.patches.push(out.len() as u16);
            out.extend_from_slice(&[0xC0, 0]);
        } else {
            out.extend_from_slice(&wire(name));
        }
    }

    fn rr(&mut self, owner: &Name, rtype: RecordType, ttl: u32, rdata: &RData) {
        self.name(owner);
        let out = &mut self.frag.bytes;
        out.extend_from_slice(&u16::from(rtype).to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        let len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        match rdata {
            RData::NS(ns) => self.name(&ns.0),
            RData::SOA(soa) => {
                self.name(&soa.mname);
                self.name(&soa.rname);
                let out = &mut self.frag.bytes;
                for v in [
                    soa.serial,
                    soa.refresh as u32,
                    soa.retry as u32,
                    soa.expire as u32,
                    soa.minimum,
                ] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
            RData::A(a) => self.frag.bytes.extend_from_slice(&a.0.octets()),
            RData::AAAA(a) => self.frag.bytes.extend_from_slice(&a.0.octets()),
            _ => {}
        }
        let out = &mut self.frag.bytes;
        let len = (out.len() - len_at - 2) as u16;
        out[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
    }

    fn finish(self, counts: [u16; 2]) -> Frag {
        Frag {
            counts,
            ..self.frag
        }
    }
}
