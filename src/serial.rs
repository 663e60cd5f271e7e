//! Owns the SOA serials hale serves when zones go to secondaries (`[transfer]`
//! configured). A zone holding a checked name changes whenever a target goes
//! up or down, and a secondary transfers a zone again only when its serial
//! rises (RFC 1982). Such a zone is served with a serial of its own: the
//! file's serial plus the seconds from 2026-01-01 to the zone's last change
//! (at least one more than the change before). It rises with every health
//! change, reload and restart, and still rises when the operator raises the
//! file's serial. Zones without checked names, and every zone when nothing
//! is transferred, keep the file's serial: their answers are NSD's exactly.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::rr::{Name, RData, Record};

use crate::view::{Soa, View};
use crate::zones::Zone;

/// 2026-01-01T00:00:00Z. Offsets count seconds from here: small enough that
/// the file's serial plus one stays a rise in RFC 1982 arithmetic (below
/// 2^31 apart) for decades.
const EPOCH: u64 = 1_767_225_600;

/// The serial each zone was last served with, and what it was served for.
#[derive(Debug, Default)]
pub struct Serials {
    zones: HashMap<Name, Stamp>,
    /// The last offset handed out: each change gets a larger one.
    last: u64,
}

#[derive(Debug)]
struct Stamp {
    /// The zone as loaded: a reload makes a new one (and keeps this one's
    /// address from being reused while the stamp holds it).
    zone: Weak<Zone>,
    /// What its checked names answer ([`content`]); 0 for a static zone.
    content: u64,
    /// Seconds since [`EPOCH`] of its last change; 0 for a static zone.
    offset: u64,
    /// The serial served.
    served: u32,
}

impl Serials {
    /// Gives `view` the SOA of every zone served with a serial of its own,
    /// and returns each zone whose served serial changed since the last
    /// call (every zone on the first), with its SOA as served now: the
    /// secondaries to tell. `transfers`: whether zones go to secondaries.
    pub fn stamp(
        &mut self,
        view: &mut View,
        transfers: bool,
        now: SystemTime,
    ) -> Vec<(Name, Record)> {
        if !transfers {
            self.zones.clear();
            view.soas.clear();
            return Vec::new();
        }
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .saturating_sub(EPOCH);
        let contents = contents(view);
        let mut changed = Vec::new();
        let mut zones = HashMap::with_capacity(view.zones.len());
        for zone in view.zones.iter() {
            let file_serial = serial(&zone.soa.data);
            let before = self.zones.remove(&zone.origin);
            let same_zone = before
                .as_ref()
                .is_some_and(|b| std::ptr::eq(b.zone.as_ptr(), Arc::as_ptr(zone)));
            let served_before = before.as_ref().map(|b| b.served);
            let stamp = match contents.get(&zone.origin) {
                // Static: the file's serial.
                None => Stamp {
                    zone: Arc::downgrade(zone),
                    content: 0,
                    offset: 0,
                    served: file_serial,
                },
                Some(&content) => match before {
                    Some(b) if same_zone && b.offset > 0 && b.content == content => b,
                    _ => {
                        self.last = now.max(self.last + 1);
                        Stamp {
                            zone: Arc::downgrade(zone),
                            content,
                            offset: self.last,
                            served: file_serial.wrapping_add(self.last as u32),
                        }
                    }
                },
            };
            let data = with_serial(&zone.soa.data, stamp.served);
            if served_before != Some(stamp.served) {
                let soa = Record::from_rdata(zone.origin.clone(), zone.soa.ttl, data.clone());
                changed.push((zone.origin.clone(), soa));
            }
            if stamp.offset > 0 {
                let ttl = zone.soa.ttl;
                view.soas.insert(zone.origin.clone(), Soa { ttl, data });
            }
            zones.insert(zone.origin.clone(), stamp);
        }
        self.zones = zones;
        changed
    }
}

/// Marks in `view` the zones that will be served with their own serial
/// (their SOA as loaded, for now), so the answer table leaves whatever
/// carries their SOA to the general path, which reads the served one.
pub fn mark(view: &mut View, transfers: bool) {
    if !transfers {
        return;
    }
    let dynamic: Vec<Name> = contents(view).into_keys().collect();
    for origin in dynamic {
        if let Some(zone) = view.zones.find(&origin) {
            let soa = Soa {
                ttl: zone.soa.ttl,
                data: zone.soa.data.clone(),
            };
            view.soas.insert(origin, soa);
        }
    }
}

/// Per zone holding checked names (by origin), a digest of what those
/// names answer: the healthy addresses of each.
fn contents(view: &View) -> HashMap<Name, u64> {
    let mut out: HashMap<Name, u64> = HashMap::new();
    for (name, checked) in &view.checked {
        let Some(zone) = view.zones.find(name) else {
            continue;
        };
        let mut h = DefaultHasher::new();
        name.hash(&mut h);
        for set in [&checked.a, &checked.aaaa].into_iter().flatten() {
            set.healthy.hash(&mut h);
        }
        // Names come in any order: a sum does not care.
        let sum = out.entry(zone.origin.clone()).or_insert(1);
        *sum = sum.wrapping_add(h.finish());
    }
    out
}

/// The serial of SOA data.
fn serial(data: &RData) -> u32 {
    match data {
        RData::SOA(soa) => soa.serial,
        _ => 0,
    }
}

/// SOA data with another serial.
fn with_serial(data: &RData, serial: u32) -> RData {
    match data {
        RData::SOA(soa) => {
            let mut soa = soa.clone();
            soa.serial = serial;
            RData::SOA(soa)
        }
        other => other.clone(),
    }
}
