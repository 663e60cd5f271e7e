//! Owns the answer table: every response the fast path can send, computed
//! ahead of time by running the general path, so a query costs one hash
//! lookup and a few copies.
//!
//! - [`Table`] (per loaded config): for every owner name and empty
//!   non-terminal, the lowercase wire name, the answer per query type, what
//!   other types get (NODATA), and whether a missing child gets NXDOMAIN.
//!   Positive answers keep only their answer section; the zone's authority
//!   "tail" (apex NS and glue) and its SOA for negative answers are stored
//!   once per zone with their names compressed against the zone origin inside
//!   the question, and patched per query (the origin's offset depends on the
//!   length of the name asked).
//! - [`Live`] (per health change): the answer sections of health-checked
//!   A/AAAA sets, one per rotation.
//!
//! Anything that depends on health in ways these two cannot express (a CNAME
//! to a checked name, glue of a checked name) is left to the general path.

// Building a table: every name run once through the general path.
mod build;
// The checked names' answers of one health state.
mod live;
// Per-zone bytes shared by every name: negative answers' SOA, the NS tail.
mod frag;

pub(super) use frag::ZoneFrags;
pub use live::Live;

use std::hash::BuildHasher;

use hashbrown::HashTable;
use hickory_proto::rr::Name;

use super::Rcode;
use live::LiveSet;

/// `Entry::checked` when the name is not health-checked.
const NOT_CHECKED: u32 = u32::MAX;

/// What the fast path sends for one query.
pub(super) enum Answer<'t> {
    /// Stored bytes: complete sections.
    Full(Body, &'t [u8]),
    /// An answer section, then the zone's tail.
    WithTail(&'t [u8], u16, &'t ZoneFrags),
    /// NODATA: the zone's SOA in authority.
    NoData(&'t ZoneFrags),
    /// NXDOMAIN: the zone's SOA in authority.
    NxDomain(&'t ZoneFrags),
    /// REFUSED: the name is in none of our zones.
    Refused,
}

/// A stored response body (everything after the question). In the arena
/// it is a [`Body::SIZE`]-byte header; its bytes follow all of its name's
/// headers, in the same order.
#[derive(Clone, Copy, Debug)]
pub(super) struct Body {
    /// The query type it answers.
    qtype: u16,
    /// Whether it is complete or an answer section for the zone tail.
    kind: Kind,
    /// Length of its bytes.
    len: u32,
    /// Answer, authority and additional counts.
    pub(super) counts: [u16; 3],
    /// AA and rcode bits of the header.
    pub(super) flags: u16,
    /// The bytes point only at offset 12 (the question's name), so they also
    /// serve names synthesised from a wildcard, whatever their length.
    free: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// All sections, as the general path wrote them.
    Full = 0,
    /// Only the answer section; the zone tail follows.
    WithTail = 1,
    /// Depends on health in a way the table cannot hold: ask the general path.
    Slow = 2,
}

impl Body {
    /// Bytes of a header in the arena.
    const SIZE: usize = 16;

    /// Appends the header.
    fn put(&self, arena: &mut Vec<u8>) {
        arena.extend_from_slice(&self.qtype.to_ne_bytes());
        arena.extend_from_slice(&[self.kind as u8, u8::from(self.free)]);
        arena.extend_from_slice(&self.flags.to_ne_bytes());
        for count in self.counts {
            arena.extend_from_slice(&count.to_ne_bytes());
        }
        arena.extend_from_slice(&self.len.to_ne_bytes());
    }

    /// Reads a header [`Body::put`] wrote.
    fn read(h: &[u8; Body::SIZE]) -> Body {
        let u16_at = |i: usize| u16::from_ne_bytes([h[i], h[i + 1]]);
        Body {
            qtype: u16_at(0),
            kind: match h[2] {
                0 => Kind::Full,
                1 => Kind::WithTail,
                _ => Kind::Slow,
            },
            free: h[3] != 0,
            flags: u16_at(4),
            counts: [u16_at(6), u16_at(8), u16_at(10)],
            len: u32::from_ne_bytes([h[12], h[13], h[14], h[15]]),
        }
    }
}

/// One name, kept in the index itself: a lookup's cache misses are the
/// index slot and then the name's record in the arena (the key it compares,
/// the body headers and the bytes it sends lie together there). 16 bytes:
/// a million-name index takes 2 Mi slots of it.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    /// Offset in `arena` of the name's record: its lowercase wire name,
    /// its index into [`Live`] when it is health-checked (4 bytes), `count`
    /// body headers, then the bodies' bytes.
    at: u32,
    /// The high half of the key's hash (see [`Table::warm`]).
    tag: u32,
    /// The zone that answers at this name.
    zone: u32,
    /// Number of bodies.
    count: u16,
    /// Length of the wire name.
    key_len: u8,
    /// What types without a body get, what a missing name directly below
    /// this one gets, and whether the name is health-checked
    /// ([`Entry::bits`]).
    bits: u8,
}

impl Entry {
    /// Set in `bits` when the record holds an index into [`Live`].
    const CHECKED: u8 = 1 << 4;

    /// [`Entry::bits`] for `fallback` and `below`, and whether checked.
    fn bits(fallback: Fallback, below: Below, checked: bool) -> u8 {
        fallback as u8 | (below as u8) << 2 | if checked { Entry::CHECKED } else { 0 }
    }

    /// What types without a body get.
    fn fallback(&self) -> Fallback {
        match self.bits & 3 {
            0 => Fallback::NoData,
            1 => Fallback::Last,
            _ => Fallback::Slow,
        }
    }

    /// What a missing name directly below this one gets.
    fn below(&self) -> Below {
        match (self.bits >> 2) & 3 {
            0 => Below::NxDomain,
            1 => Below::Wildcard,
            _ => Below::Slow,
        }
    }

    /// Whether the name is health-checked: its index into [`Live`] follows its key.
    fn checked(&self) -> bool {
        self.bits & Entry::CHECKED != 0
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Below {
    /// The zone's NXDOMAIN.
    #[default]
    NxDomain = 0,
    /// What `*.<this name>` has, under the name asked.
    Wildcard = 1,
    /// The general path (below a delegation).
    Slow = 2,
}

#[derive(Clone, Copy, Debug, Default)]
enum Fallback {
    /// The zone's NODATA.
    #[default]
    NoData = 0,
    /// The name's last body (a referral, a CNAME chain).
    Last = 1,
    /// The general path.
    Slow = 2,
}

/// The precomputed answers of one loaded config.
#[derive(Default)]
pub struct Table {
    /// One entry per name, hashed by lowercase wire name.
    index: HashTable<Entry>,
    /// Seeded per table: query names are chosen by strangers.
    hasher: foldhash::fast::RandomState,
    /// The names' records (see [`Entry::at`]).
    arena: Vec<u8>,
    /// Per-zone fragments.
    zones: Vec<ZoneFrags>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("names", &self.index.len())
            .field("arena_bytes", &self.arena.len())
            .finish()
    }
}

impl Table {
    /// The entry of a lowercase wire name.
    fn get(&self, key: &[u8]) -> Option<&Entry> {
        let hash = self.hash(key);
        self.index.find(hash, |e| key_of(&self.arena, e) == key)
    }

    /// Asks the CPU to fetch the record of `key` ahead of its lookup, so
    /// that warming a batch of queries first overlaps their cache misses
    /// instead of answering each after waiting for its own. The entry is
    /// matched on its hash alone: reading its key from the arena would wait
    /// for the very miss this is meant to hide (a wrong guess costs only a
    /// useless prefetch; the lookup that answers compares the key).
    ///
    /// Takes the keys' hashes ([`Table::hash`]), all computed first: a loop
    /// of lookups alone is short enough for the CPU to run ahead into the
    /// next while one waits for the index.
    pub(super) fn warm(&self, hashes: &[u64]) {
        for &hash in hashes {
            let tag = (hash >> 32) as u32;
            if let Some(entry) = self.index.find(hash, |e| e.tag == tag) {
                prefetch(self.arena.get(entry.at as usize..).unwrap_or(&[]));
            }
        }
    }

    /// The hash of a lowercase wire name, as the index files it.
    pub(super) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// What to send for `qtype` at the lowercase wire name `key` (the name
    /// as asked, `len` bytes), or `None` for the general path.
    pub(super) fn answer<'t>(
        &'t self,
        live: &'t Live,
        key: &[u8],
        qtype: u16,
        rotation: usize,
    ) -> Option<Answer<'t>> {
        // An empty table (zones past 4 GiB of answers): the general path answers.
        if self.is_empty() {
            return None;
        }
        match self.get(key) {
            Some(entry) => self.at(live, entry, qtype, rotation, false),
            None => self.missing(live, key, qtype, rotation),
        }
    }

    /// The answer at `entry`; `synthesised` when the name asked only matched
    /// the wildcard `entry`, so only bytes free of its name may be sent.
    fn at<'t>(
        &'t self,
        live: &'t Live,
        entry: &Entry,
        qtype: u16,
        rotation: usize,
        synthesised: bool,
    ) -> Option<Answer<'t>> {
        let zone = self.zones.get(entry.zone as usize)?;
        let key_end = entry.at as usize + entry.key_len as usize;
        // A checked name's index into `Live` lies between its key and its headers.
        let heads_at = key_end + if entry.checked() { 4 } else { 0 };
        if entry.checked() && (qtype == 1 || qtype == 28) {
            let checked = self.arena.get(key_end..heads_at)?;
            let checked = u32::from_ne_bytes(checked.try_into().ok()?);
            let sets = live.names.get(checked as usize)?;
            match &sets[usize::from(qtype == 28)] {
                LiveSet::Absent => {}
                LiveSet::Records(rotations, an) => {
                    let answer = rotations.get(rotation % rotations.len().max(1))?;
                    return Some(Answer::WithTail(answer, *an, zone));
                }
                LiveSet::NoData(own) => {
                    let frags = own.as_deref();
                    return Some(Answer::NoData(
                        frags.unwrap_or_else(|| live.negative(entry.zone, zone)),
                    ));
                }
                LiveSet::ServFail => return None,
            }
        }
        let heads = self
            .arena
            .get(heads_at..heads_at + entry.count as usize * Body::SIZE)?;
        // The bodies' bytes follow the headers, in the same order.
        let mut off = heads_at + heads.len();
        let mut found = None;
        let mut last = None;
        for head in heads.chunks_exact(Body::SIZE) {
            let body = Body::read(head.try_into().ok()?);
            if body.qtype == qtype {
                found = Some((body, off));
                break;
            }
            last = Some((body, off));
            off += body.len as usize;
        }
        let (body, off) = match found {
            Some(found) => found,
            None => match entry.fallback() {
                Fallback::NoData => return Some(Answer::NoData(live.negative(entry.zone, zone))),
                Fallback::Last => last?,
                Fallback::Slow => return None,
            },
        };
        if synthesised && !body.free {
            return None;
        }
        let bytes = self.arena.get(off..off + body.len as usize)?;
        match body.kind {
            Kind::Full => Some(Answer::Full(body, bytes)),
            Kind::WithTail => Some(Answer::WithTail(bytes, body.counts[0], zone)),
            Kind::Slow => None,
        }
    }

    /// A name the table lacks: its closest encloser decides (NXDOMAIN, a
    /// wildcard's records, or the general path).
    fn missing<'t>(
        &'t self,
        live: &'t Live,
        key: &[u8],
        qtype: u16,
        rotation: usize,
    ) -> Option<Answer<'t>> {
        let mut at = 0usize;
        loop {
            let len = *key.get(at)? as usize;
            if len == 0 {
                // Every suffix, the root included, was looked up: no zone of ours.
                return Some(Answer::Refused);
            }
            at += len + 1;
            let encloser_key = key.get(at..)?;
            let Some(encloser) = self.get(encloser_key) else {
                continue;
            };
            return match encloser.below() {
                Below::NxDomain => {
                    let zone = self.zones.get(encloser.zone as usize)?;
                    Some(Answer::NxDomain(live.negative(encloser.zone, zone)))
                }
                Below::Wildcard => {
                    let mut wild = [0u8; 256];
                    wild[..2].copy_from_slice(&[1, b'*']);
                    let wild = wild.get_mut(..2 + encloser_key.len())?;
                    wild[2..].copy_from_slice(encloser_key);
                    let entry = self.get(wild)?;
                    self.at(live, entry, qtype, rotation, true)
                }
                Below::Slow => None,
            };
        }
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no zone is loaded.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// The lowercase wire form of `name`.
fn wire(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    push_wire(&mut out, name);
    out
}

/// Appends the lowercase wire form of `name` to `out`.
fn push_wire(out: &mut Vec<u8>, name: &Name) {
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
}

/// Asks the CPU to bring the first 128 bytes of `bytes` into its cache.
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.iter().step_by(64).take(2) {
        // SAFETY: a prefetch is a hint that reads nothing and cannot fault,
        // and SSE, which it needs, is part of every x86_64.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                (line as *const u8).cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// The lowercase wire name of `entry`.
fn key_of<'a>(arena: &'a [u8], entry: &Entry) -> &'a [u8] {
    let at = entry.at as usize;
    arena.get(at..at + entry.key_len as usize).unwrap_or(&[])
}

/// The rcode in a stored body's flags.
pub(super) fn rcode_of(flags: u16) -> Rcode {
    match flags & 0x000F {
        0 => Rcode::NoError,
        2 => Rcode::ServFail,
        3 => Rcode::NxDomain,
        5 => Rcode::Refused,
        6 => Rcode::YxDomain,
        _ => Rcode::ServFail,
    }
}
