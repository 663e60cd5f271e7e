//! Owns the SOA serials hale serves when zones go to secondaries (`[transfer]`
//! with `allow` or `notify`). A zone holding a checked name changes whenever
//! a target goes up or down, and a secondary transfers a zone again only
//! when its serial rises (RFC 1982). So each zone is then served with the
//! file's serial plus an offset: the seconds from 2026-01-01 to the zone's
//! last change, and at least one more than its offset before. The offset is
//! set at start (a restart may change what checked names answer) and moves
//! when what the zone's checked names transfer changes (their addresses,
//! TTLs, or their absence under `when_all_down`, by health or by a reload);
//! a reload keeps it otherwise, so a raised file serial shows through and
//! an unchanged zone is not sent again. Without transfers every zone keeps the file's serial: its answers
//! are NSD's exactly.
//!
//! For IXFR, each zone with checked names keeps what they transferred at
//! its last [`KEPT`] serials ([`Version`]): between two serials of one load
//! only those records differ, so a secondary gets just the addresses that
//! left and returned instead of the whole zone. A reload starts the list
//! again (the rest of the zone may have changed).
//!
//! Every zone, checked names or not, takes an offset: a zone that loses its
//! last checked name would otherwise fall back to the file's serial, below
//! what secondaries hold. The one case not covered: a restart within the
//! second of a zone's last change (or of a burst of changes, each one more)
//! can serve a serial a secondary already holds, as with Knot's `unixtime`
//! serial policy.

use std::collections::{BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::judged::{Filter, Judged};
use crate::zones::{RdataRef, Zone, ZoneSet};

/// Serials of a zone kept for IXFR.
const KEPT: usize = 16;

/// What a zone's checked names transferred at one serial.
#[derive(Debug)]
pub(super) struct Version {
    /// The serial.
    pub(super) serial: u32,
    /// The zone as loaded then: versions of two loads are not compared.
    zone: Weak<Zone>,
    /// Owner, type, TTL and address of each record.
    pub(super) records: Arc<Records>,
}

impl Version {
    /// Whether this version is of `zone` as loaded now.
    pub(super) fn of(&self, zone: &Arc<Zone>) -> bool {
        std::ptr::eq(self.zone.as_ptr(), Arc::as_ptr(zone))
    }
}

/// Owner, type, TTL and address of each record of checked names.
pub(super) type Records = BTreeSet<(Name, RecordType, u32, IpAddr)>;

/// A zone's kept versions, oldest first; the last is the one served.
pub(super) type History = Arc<Vec<Arc<Version>>>;

/// 2026-01-01T00:00:00Z. Offsets count seconds from here: small enough that
/// the file's serial plus one stays a rise in RFC 1982 arithmetic (below
/// 2^31 apart) for decades.
const EPOCH: u64 = 1_767_225_600;

/// The serial each zone was last served with, and what it was served for.
#[derive(Debug, Default)]
pub struct Serials {
    zones: HashMap<Name, Stamp>,
}

#[derive(Debug)]
struct Stamp {
    /// What its checked names transfer ([`digest`]; 0 without any).
    content: u64,
    /// Seconds since [`EPOCH`] of its last change.
    offset: u64,
    /// The serial served.
    served: u32,
    /// The versions kept for IXFR (none for a zone without checked names),
    /// shared with the snapshots that serve them.
    history: History,
}

/// The SOA each zone is served with when zones go to secondaries.
#[derive(Debug, Default)]
pub(super) struct Served {
    /// Whether serials follow health (`[transfer]` on): then every answer
    /// that carries a zone's SOA does too.
    on: bool,
    /// By origin, the SOA data served; a zone missing here (the answer
    /// table's build, which only needs to know `on`) serves its file's.
    soas: HashMap<Name, RData>,
}

impl Served {
    /// Serials that follow health when `on`, not yet stamped: the file's.
    pub(super) fn files(on: bool) -> Served {
        Served {
            on,
            soas: HashMap::new(),
        }
    }

    /// Whether answers carrying a SOA follow health.
    pub(super) fn follows_health(&self) -> bool {
        self.on
    }

    /// The SOA data served for the zone at `origin`, when it is not the file's.
    pub(super) fn soa_at(&self, origin: &Name) -> Option<&RData> {
        self.soas.get(origin)
    }

    /// The SOA data `zone` is served with.
    pub(super) fn soa<'a>(&'a self, zone: &'a Zone) -> &'a RData {
        match self.on {
            true => self.soas.get(&zone.origin).unwrap_or(&zone.soa.data),
            false => &zone.soa.data,
        }
    }
}

/// What [`Serials::stamp`] gives one snapshot.
pub(super) struct Stamped {
    /// The SOA of every zone as served.
    pub(super) served: Served,
    /// The versions of each zone with checked names kept for IXFR, by origin.
    pub(super) history: HashMap<Name, History>,
    /// Each zone whose served serial changed since the last stamp (every
    /// zone on the first), with its SOA as served now: the secondaries to tell.
    pub(super) changed: Vec<(Name, Record)>,
}

impl Serials {
    /// A reload: every zone's IXFR history starts again at its next stamp,
    /// a zone taken over from the previous load unchanged included (its
    /// checks may have changed, and versions of two loads are not compared).
    pub fn restart_histories(&mut self) {
        for stamp in self.zones.values_mut() {
            stamp.history = History::default();
        }
    }

    /// The serials `zones` are served with when the checked names answer
    /// as `judged` does; `transfers`: whether zones go to secondaries at all.
    pub(super) fn stamp(
        &mut self,
        zones: &ZoneSet,
        judged: &Judged,
        transfers: bool,
        now: SystemTime,
    ) -> Stamped {
        let mut stamped = Stamped {
            served: Served::files(transfers),
            history: HashMap::new(),
            changed: Vec::new(),
        };
        if !transfers {
            self.zones.clear();
            return stamped;
        }
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .saturating_sub(EPOCH);
        let mut snapshots = snapshots(zones, judged);
        let mut stamps = HashMap::with_capacity(zones.len());
        for zone in zones.iter() {
            let file_serial = serial(&zone.soa.data);
            let records = snapshots.remove(&zone.origin);
            let content = records.as_ref().map_or(0, digest);
            let mut before = self.zones.remove(&zone.origin);
            let served_before = before.as_ref().map(|b| b.served);
            let mut history = before
                .as_mut()
                .map(|b| std::mem::take(&mut b.history))
                .unwrap_or_default();
            let offset = next_offset(before.map(|b| (b.content, b.offset)), content, now);
            let served = file_serial.wrapping_add(offset as u32);
            let data = with_serial(&zone.soa.data, served);
            if served_before != Some(served) {
                let soa = Record::from_rdata(zone.origin.clone(), zone.soa.ttl, data.clone());
                stamped.changed.push((zone.origin.clone(), soa));
            }
            stamped.served.soas.insert(zone.origin.clone(), data);
            if let Some(records) = records {
                if history.first().is_some_and(|v| !v.of(zone)) {
                    history = History::default();
                }
                if history.last().map(|v| v.serial) != Some(served) {
                    let versions = Arc::make_mut(&mut history);
                    if versions.len() == KEPT {
                        versions.remove(0);
                    }
                    versions.push(Arc::new(Version {
                        serial: served,
                        zone: Arc::downgrade(zone),
                        records: Arc::new(records),
                    }));
                }
                stamped.history.insert(zone.origin.clone(), history.clone());
            } else {
                history = History::default();
            }
            let stamp = Stamp {
                content,
                offset,
                served,
                history,
            };
            stamps.insert(zone.origin.clone(), stamp);
        }
        self.zones = stamps;
        stamped
    }
}

/// A zone's offset, given what it was served for before (`(content,
/// offset)`, none for a zone new to this process), what it answers now, and
/// the seconds since [`EPOCH`]: kept while the content is, else now, and
/// always more than the one before.
fn next_offset(before: Option<(u64, u64)>, content: u64, now: u64) -> u64 {
    match before {
        Some((was, offset)) if was == content => offset,
        Some((_, offset)) => now.max(offset + 1),
        None => now,
    }
}

/// The records each zone's own checked names transfer as `judged` answers,
/// by origin (names of a zone below it, glue there, are that zone's).
fn snapshots(zones: &ZoneSet, judged: &Judged) -> HashMap<Name, Records> {
    let mut out: HashMap<Name, Records> = HashMap::new();
    for name in judged.names() {
        let Some(zone) = zones.find(name) else {
            continue;
        };
        let records = out.entry(zone.origin.clone()).or_default();
        for rtype in [RecordType::A, RecordType::AAAA] {
            if let Some(Filter::Records(ttl, rdatas, _)) = judged.filter(name, rtype) {
                for rdata in rdatas {
                    if let Some(ip) = RdataRef::Full(rdata).ip() {
                        records.insert((name.clone(), rtype, ttl, ip));
                    }
                }
            }
        }
    }
    out
}

/// A digest of what a zone's checked names transfer: a reload that changes
/// a TTL or `when_all_down`, or an edit of their addresses, moves it as a
/// health change does.
fn digest(records: &Records) -> u64 {
    let mut h = DefaultHasher::new();
    records.hash(&mut h);
    // 0 is a zone without checked names.
    h.finish().max(1)
}

/// The serial of SOA data.
pub fn serial(data: &RData) -> u32 {
    match data {
        RData::SOA(soa) => soa.serial,
        _ => 0,
    }
}

/// SOA data with another serial.
pub(super) fn with_serial(data: &RData, serial: u32) -> RData {
    match data {
        RData::SOA(soa) => {
            let mut soa = soa.clone();
            soa.serial = serial;
            RData::SOA(soa)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::next_offset;

    #[test]
    fn offsets_rise_with_every_change_and_stay_otherwise() {
        // A new zone (start, or added by a reload) takes the time.
        assert_eq!(next_offset(None, 7, 1000), 1000);
        // Same content (a health change elsewhere, a reload): kept.
        assert_eq!(next_offset(Some((7, 1000)), 7, 5000), 1000);
        // Changed: the time, or one more than before within one second.
        assert_eq!(next_offset(Some((7, 1000)), 8, 5000), 5000);
        assert_eq!(next_offset(Some((7, 1000)), 8, 1000), 1001);
        assert_eq!(next_offset(Some((8, 1001)), 7, 1000), 1002);
        // A clock set back never takes a serial back.
        assert_eq!(next_offset(Some((7, 1000)), 8, 10), 1001);
    }
}
