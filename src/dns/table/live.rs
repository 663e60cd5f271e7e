//! Owns the live part of the answer table: the answer sections of the
//! health-checked A/AAAA sets under one health state (one per rotation),
//! and the negative answers' SOA of zones whose serial follows health.
//! Built with each snapshot, so a query never filters anything.

use hickory_proto::rr::{Name, RecordType};

use super::Table;
use super::frag::{ZoneFrags, answer_rr, soa_frag};
use super::wire;
use crate::dns::judged::{Filter, Judged, pick};
use crate::dns::serial::Served;
use crate::health::Checks;
use crate::zones::{RdataRef, ZoneSet};

/// The health-checked answer sections of one health state.
#[derive(Debug, Default)]
pub struct Live {
    /// Per checked name (in [`Checks`] order): A, then AAAA.
    pub(super) names: Vec<[LiveSet; 2]>,
    /// Per table zone: the SOA fragment of negative answers when the
    /// zone's serial follows health; empty when none does.
    negatives: Vec<Option<ZoneFrags>>,
}

impl Live {
    /// What negative answers of table zone `zi` carry: `zone`'s own
    /// fragments, or this health state's when the serial follows health.
    pub(super) fn negative<'t>(&'t self, zi: u32, zone: &'t ZoneFrags) -> &'t ZoneFrags {
        match self.negatives.get(zi as usize) {
            Some(Some(frags)) => frags,
            _ => zone,
        }
    }
}

#[derive(Debug, Default)]
pub(super) enum LiveSet {
    /// No such RRset: the name's normal fallback applies.
    #[default]
    Absent,
    /// Answer sections, one per rotation, each with this many records.
    Records(Vec<Box<[u8]>>, u16),
    /// NODATA (`when_all_down = "none"`, or every address drained), with
    /// its own SOA fragment when the check's TTL is below the zone's
    /// negative TTL.
    NoData(Option<Box<ZoneFrags>>),
    /// `when_all_down = "servfail"`: the general path answers, with its
    /// Extended DNS Error text.
    ServFail,
}

impl Live {
    /// The answer sections of every name of `checks` as `judged` answers
    /// them, and the negative answers' SOA of zones whose serial follows
    /// health (`served`), for the table of `checks`' load.
    pub(in crate::dns) fn build(
        judged: &Judged,
        served: &Served,
        table: &Table,
        checks: &Checks,
        zones: &ZoneSet,
    ) -> Live {
        let negatives = match served.follows_health() {
            false => Vec::new(),
            true => table
                .zones
                .iter()
                .map(|frags| {
                    let soa = served.soa_at(&frags.origin)?;
                    Some(ZoneFrags {
                        origin: frags.origin.clone(),
                        negative_ttl: frags.negative_ttl,
                        origin_len: frags.origin_len,
                        soa: soa_frag(&frags.origin, frags.negative_ttl, soa),
                        tail: None,
                    })
                })
                .collect(),
        };
        let names = checks
            .names()
            .iter()
            .map(|spec| {
                let name = &spec.name;
                [RecordType::A, RecordType::AAAA].map(|rtype| match judged.filter(name, rtype) {
                    None => LiveSet::Absent,
                    Some(Filter::NoData(ttl)) => LiveSet::NoData(capped(name, ttl, served, zones)),
                    Some(Filter::ServFail(_)) => LiveSet::ServFail,
                    Some(Filter::Records(ttl, rdatas, orders)) => {
                        let mut count = 0;
                        let rotations = (0..orders.len().max(1))
                            .map(|r| {
                                let mut bytes = Vec::with_capacity(rdatas.len() * 28);
                                count = 0;
                                for rdata in pick(rdatas, orders, r) {
                                    if let Some(ip) = RdataRef::Full(rdata).ip() {
                                        answer_rr(&mut bytes, rtype, ttl, ip);
                                        count += 1;
                                    }
                                }
                                bytes.into_boxed_slice()
                            })
                            .collect();
                        LiveSet::Records(rotations, count)
                    }
                })
            })
            .collect();
        Live { names, negatives }
    }
}

/// The SOA fragment of a checked name's NODATA whose TTL is capped at
/// `ttl`, or `None` when the zone's own negative TTL is already within it.
fn capped(name: &Name, ttl: u32, served: &Served, zones: &ZoneSet) -> Option<Box<ZoneFrags>> {
    let zone = zones.find(name)?;
    if zone.negative_ttl <= ttl {
        return None;
    }
    Some(Box::new(ZoneFrags {
        origin: zone.origin.clone(),
        negative_ttl: ttl,
        origin_len: wire(&zone.origin).len() as u8,
        soa: soa_frag(&zone.origin, ttl, served.soa(zone)),
        tail: None,
    }))
}
