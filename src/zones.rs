//! Owns zone data: reads RFC 1035 master files as NSD reads them, checks
//! them, and keeps them in an immutable [`ZoneSet`] indexed for answering.
//!
//! Every name is stored lower-cased; empty non-terminals get an empty node so
//! that "name exists" is one lookup (NODATA vs NXDOMAIN, closest encloser).

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::hash::BuildHasher;

use hickory_proto::rr::{Name, RData, Record, RecordType};

pub use error::{DataError, IncludeError, ZoneError, ZoneProblem};
pub use lexer::SyntaxError;
pub use rdata::type_name;

/// Largest TTL RFC 2181 §8 allows.
const MAX_TTL: u32 = (1 << 31) - 1;

/// Every loaded zone, immutable; a reload builds a new one.
#[derive(Debug, Default)]
pub struct ZoneSet {
    /// Zones by origin (lower case).
    zones: HashMap<Name, Arc<Zone>>,
    /// Labels of the deepest origin.
    max_labels: usize,
    /// How many zones were taken from the previous set.
    reused: usize,
}

impl ZoneSet {
    /// Loads and checks every file; the first error stops the load.
    pub fn load(files: &[PathBuf]) -> Result<ZoneSet, ZoneError> {
        ZoneSet::load_reusing(files, None)
    }

    /// [`ZoneSet::load`], taking from `previous` the zone of every file
    /// whose bytes are those it was read from, rather than reading it again:
    /// a reload then holds one copy of it, not two. A file with an
    /// `$INCLUDE` is always read again (the included file may have changed).
    /// A file read again shares with its previous zone the names it did
    /// not change ([`data::Builder::share_last`]).
    pub fn load_reusing(
        files: &[PathBuf],
        previous: Option<&ZoneSet>,
    ) -> Result<ZoneSet, ZoneError> {
        let mut zones: HashMap<Name, Arc<Zone>> = HashMap::new();
        let mut reused = 0;
        // The zones served, by file: one lookup per file, not a scan.
        let served_by_file: HashMap<&Path, &Arc<Zone>> = previous
            .iter()
            .flat_map(|p| p.zones.values())
            .map(|z| (z.file.as_path(), z))
            .collect();
        for file in files {
            let bytes = std::fs::read(file).map_err(|source| ZoneError::Read {
                path: file.clone(),
                source,
            })?;
            let print = fingerprint(&bytes);
            let served = served_by_file.get(file.as_path()).copied();
            let zone = match served {
                // The very bytes it was read from (and no `$INCLUDE`, whose
                // files may have changed): the zone as it is.
                Some(zone) if zone.print == Some(print) => {
                    reused += 1;
                    zone.clone()
                }
                _ => Arc::new(load_zone(file, &bytes, print, served.cloned())?),
            };
            if let Some(first) = zones.get(&zone.origin) {
                return Err(ZoneError::Duplicate {
                    path: file.clone(),
                    origin: zone.origin.to_ascii(),
                    first: first.file.clone(),
                });
            }
            zones.insert(zone.origin.clone(), zone);
        }
        let max_labels = zones.keys().map(label_count).max().unwrap_or(0);
        Ok(ZoneSet {
            zones,
            max_labels,
            reused,
        })
    }

    /// How many zones [`ZoneSet::load_reusing`] took from the previous set.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// Whether both sets hold the very same zones (taken over by a reload).
    pub fn same_zones(&self, other: &ZoneSet) -> bool {
        self.zones.len() == other.zones.len()
            && self.zones.iter().all(|(origin, zone)| {
                other
                    .zones
                    .get(origin)
                    .is_some_and(|z| Arc::ptr_eq(z, zone))
            })
    }

    /// The zone with the longest origin that contains `name` (lower case).
    pub fn find(&self, name: &Name) -> Option<&Arc<Zone>> {
        // No zone is deeper than the deepest origin: start there, so a
        // 127-label query costs a few lookups, not one per label.
        let mut n = label_count(name).min(self.max_labels);
        loop {
            let candidate = name.trim_to(n);
            if let Some(z) = self.zones.get(&candidate) {
                return Some(z);
            }
            if n == 0 {
                return None;
            }
            n -= 1;
        }
    }

    /// Every zone.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Zone>> {
        self.zones.values()
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// True when no zone is loaded.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}

/// A zone file's contents as 64 bits, seeded per process (no file can be
/// made to collide with another in advance; a 25 MB file in milliseconds).
fn fingerprint(bytes: &[u8]) -> u64 {
    static KEYS: std::sync::OnceLock<foldhash::quality::RandomState> = std::sync::OnceLock::new();
    KEYS.get_or_init(Default::default).hash_one(bytes)
}

/// Lower-case names compared label by label from the left. The parser hands
/// out lower-case names, and hickory's own comparison walks labels from the
/// right one byte-reversed step at a time: for a million records this is seconds.
pub fn same_name(a: &Name, b: &Name) -> bool {
    a.len() == b.len() && a.iter().eq(b.iter())
}

/// Whether lower-case `name` is `origin` or below it.
fn within(name: &Name, origin: &Name) -> bool {
    let (mut n, mut o) = (name.iter(), origin.iter());
    loop {
        match (o.next_back(), n.next_back()) {
            (None, _) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// Labels in `name`, counting a leading `*` (hickory's `num_labels` leaves it
/// out, as RRSIG label counts do).
pub fn label_count(name: &Name) -> usize {
    name.iter().count()
}

/// The origin a file name implies: `example.com.zone` → `example.com.`.
fn origin_from_file_name(path: &Path) -> Option<Name> {
    let file = path.file_name()?.to_str()?;
    let stem = file.strip_suffix(".zone").unwrap_or(file);
    let mut name = Name::from_ascii(stem).ok()?;
    name.set_fqdn(true);
    Some(name)
}

// The zone in memory and loading one zone file into it.
mod data;
mod load;

// Reading master files: entries, scalar forms, record data, the file and its includes.
mod lexer;
mod rdata;
mod reader;
mod special;
mod text;

mod error;

use data::*;
pub use data::{Node, NodeEntry, RdataRef, Rrset, Zone};
use load::*;
use reader::{Files, Located, Reader, Where};

#[cfg(test)]
mod tests;
