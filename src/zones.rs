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
    /// The contents each file had all through its load, for a reload to
    /// take the zone of an unchanged file as it is (none for a file that
    /// changed meanwhile or includes another).
    prints: HashMap<PathBuf, Fingerprint>,
    /// How many zones were taken from the previous set.
    reused: usize,
}

impl ZoneSet {
    /// Loads and checks every file; the first error stops the load.
    pub fn load(files: &[PathBuf]) -> Result<ZoneSet, ZoneError> {
        ZoneSet::load_reusing(files, None)
    }

    /// [`ZoneSet::load`], taking from `previous` the zone of every file
    /// whose bytes are those it was loaded from, rather than reading it
    /// again: a reload then holds one copy of it, not two. A file with an
    /// `$INCLUDE` is always read again (the included file may have changed).
    /// A file read again shares with its previous zone the names it did
    /// not change ([`data::Builder::share_last`]).
    pub fn load_reusing(
        files: &[PathBuf],
        previous: Option<&ZoneSet>,
    ) -> Result<ZoneSet, ZoneError> {
        let mut zones: HashMap<Name, Arc<Zone>> = HashMap::new();
        let mut prints = HashMap::new();
        let mut reused = 0;
        for file in files {
            let before = Fingerprint::of(file);
            let kept = previous.and_then(|p| p.unchanged(file, before?));
            let taken = kept.is_some();
            let zone = match kept {
                Some(zone) => {
                    reused += 1;
                    zone
                }
                None => {
                    let served = previous.and_then(|p| p.zones.values().find(|z| z.file == *file));
                    Arc::new(load_zone(file, served.cloned())?)
                }
            };
            // Kept only when the file did not change while it was read.
            if let Some(print) = before
                && (taken || Fingerprint::of(file) == Some(print))
            {
                prints.insert(file.clone(), print);
            }
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
            prints,
            reused,
        })
    }

    /// The zone loaded from `file` when its contents were `print`.
    fn unchanged(&self, file: &Path, print: Fingerprint) -> Option<Arc<Zone>> {
        if self.prints.get(file) != Some(&print) {
            return None;
        }
        self.zones.values().find(|z| z.file == file).cloned()
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

/// A zone file's contents in 16 bytes: its length and a hash seeded per
/// process (so no file can be made to collide with another in advance;
/// foldhash reads a 25 MB file in a few milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    hash: u64,
}

impl Fingerprint {
    /// The fingerprint of `file`, or `None` when it cannot be read or it
    /// has an `$INCLUDE` (anywhere, comments included: reading it again is
    /// always right).
    fn of(file: &Path) -> Option<Fingerprint> {
        use std::hash::Hasher;
        use std::io::Read;
        static KEYS: std::sync::OnceLock<foldhash::quality::RandomState> =
            std::sync::OnceLock::new();
        const INCLUDE: &[u8] = b"$INCLUDE";
        let t = tokio::time::Instant::now();
        let mut reader = std::fs::File::open(file).ok()?;
        let mut hasher = KEYS.get_or_init(Default::default).build_hasher();
        // In pieces of a fixed size (the same file hashes alike), each
        // searched with the end of the one before: no copy of a big file.
        let mut buf = vec![0u8; INCLUDE.len() + (64 << 10)];
        let mut kept = 0;
        let mut len = 0u64;
        loop {
            let mut filled = kept;
            while filled < buf.len() {
                match reader.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return None,
                }
            }
            let piece = &buf[..filled];
            if memchr::memchr_iter(b'$', piece).any(|i| {
                piece
                    .get(i..i + INCLUDE.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(INCLUDE))
            }) {
                return None;
            }
            hasher.write(&piece[kept..]);
            len += (filled - kept) as u64;
            if filled < buf.len() {
                break;
            }
            // The last bytes again at the start: a word split between two pieces.
            kept = INCLUDE.len() - 1;
            buf.copy_within(filled - kept..filled, 0);
        }
        tracing::debug!(file = %file.display(), ms = t.elapsed().as_millis() as u64, "zone file fingerprinted");
        Some(Fingerprint {
            len,
            hash: hasher.finish(),
        })
    }
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

#[cfg(test)]
mod fingerprint_tests {
    use super::Fingerprint;

    /// Equal contents print alike, any change differs, and `$INCLUDE`
    /// (any case) is found wherever it lies, across a piece's end too.
    #[test]
    fn fingerprints_tell_changes_and_includes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = |name: &str, text: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            Fingerprint::of(&path)
        };
        let big: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let a = at("a", &big).expect("a print");
        assert_eq!(at("b", &big), Some(a));
        let mut changed = big.clone();
        changed[150_000] = b'!';
        assert_ne!(at("c", &changed), Some(a));
        assert_ne!(at("d", &big[..big.len() - 1]), Some(a));
        // Across the first piece's end (64 KiB + 8), and anywhere else.
        for start in [0, 65_530, 65_536, 65_540, 131_070, big.len() - 8] {
            let mut with = big.clone();
            with[start..start + 8].copy_from_slice(b"$include");
            assert_eq!(at("e", &with), None, "$INCLUDE at {start}");
        }
        assert!(at("f", b"$ORIGIN x.\n$TTL 300\n").is_some());
    }
}
