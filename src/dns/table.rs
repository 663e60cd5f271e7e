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

use std::collections::HashMap;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use hickory_proto::rr::{Name, RData, RecordType};

use super::encode::AA;
use super::{Rcode, Transport, slow};
use crate::view::{Filter, View, take_touched};
use crate::zones::{Node, RdataRef, Rrset, Zone, label_count, same_name};

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
    /// SERVFAIL (a checked name with `when_all_down = "servfail"`).
    ServFail,
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

/// Buffers reused from name to name while a table is built.
#[derive(Default)]
struct Scratch {
    /// A general-path response.
    out: Vec<u8>,
    /// The bodies of the name being added.
    bodies: Vec<Body>,
    /// Their bytes, in order.
    bytes: Vec<u8>,
}

/// One name, kept in the index itself: a lookup's cache misses are the
/// index slot and then the name's record in the arena (the key it compares,
/// the body headers and the bytes it sends lie together there).
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    /// Offset in `arena` of the name's record: its lowercase wire name,
    /// `count` body headers, then the bodies' bytes.
    at: u32,
    /// Length of the wire name.
    key_len: u8,
    /// The zone that answers at this name.
    zone: u32,
    /// Number of bodies.
    count: u16,
    /// What types without a body get.
    fallback: Fallback,
    /// What a missing name directly below this one gets.
    below: Below,
    /// Index into [`Live`], or [`NOT_CHECKED`].
    checked: u32,
    /// The high half of the key's hash (see [`Table::warm`]).
    tag: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Below {
    /// The zone's NXDOMAIN.
    #[default]
    NxDomain,
    /// What `*.<this name>` has, under the name asked.
    Wildcard,
    /// The general path (below a delegation).
    Slow,
}

#[derive(Clone, Copy, Debug, Default)]
enum Fallback {
    /// The zone's NODATA.
    #[default]
    NoData,
    /// The name's last body (a referral, a CNAME chain).
    Last,
    /// The general path.
    Slow,
}

/// Names a thread builds entries for: (zone index, a slice of its nodes).
type Run<'z> = Vec<(usize, &'z [(Name, Node)])>;

/// Below this many names a table is built on one thread.
const PARALLEL_NAMES: usize = 50_000;

/// What [`Table::add`] needs to know of a name's zone, found once per zone
/// so the loop over (maybe millions of) names does no name arithmetic for
/// zones without delegations or wildcards.
struct ZoneFacts<'z> {
    zone: &'z Zone,
    /// Names of the apex NS records, lower case (data keeps the file's case).
    ns_targets: Vec<Name>,
    /// Whether negative answers can be made from the zone's tail.
    has_tail: bool,
    /// Zones we serve inside this one (grandchildren sit inside children:
    /// skipping those covers them).
    children: Vec<&'z Name>,
    /// Whether any name is a delegation.
    has_cuts: bool,
    /// Parents of wildcard names.
    wildcard_parents: std::collections::HashSet<Name>,
}

impl<'z> ZoneFacts<'z> {
    fn of(
        zone: &'z Zone,
        has_tail: bool,
        children_of: &HashMap<&Name, Vec<&'z Name>>,
    ) -> ZoneFacts<'z> {
        let ns_targets = zone
            .node(&zone.origin)
            .and_then(|apex| apex.get(RecordType::NS))
            .map(|ns| {
                ns.others()
                    .iter()
                    .filter_map(|r| match r {
                        RData::NS(n) => Some(n.0.to_lowercase()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        ZoneFacts {
            zone,
            ns_targets,
            has_tail,
            children: children_of.get(&zone.origin).cloned().unwrap_or_default(),
            has_cuts: zone.nodes().any(|(_, n)| n.is_cut),
            wildcard_parents: zone
                .nodes()
                .filter(|(n, _)| n.is_wildcard())
                .map(|(n, _)| n.base_name())
                .collect(),
        }
    }
}

/// Per-zone fragments that are the same for every name in the zone.
#[derive(Debug)]
pub(super) struct ZoneFrags {
    /// The zone's origin.
    origin: Name,
    /// TTL of the SOA in negative answers.
    negative_ttl: u32,
    /// Wire length of the origin.
    origin_len: u8,
    /// The SOA record of negative answers.
    pub(super) soa: Frag,
    /// The apex NS set and its glue, after positive answers; `None` when it
    /// depends on health (glue of a checked name).
    pub(super) tail: Option<Frag>,
}

/// Bytes whose names point at the zone origin inside the question.
#[derive(Debug, Default)]
pub(super) struct Frag {
    /// The records.
    pub(super) bytes: Vec<u8>,
    /// Offsets of the two-byte pointers to patch.
    pub(super) patches: Vec<u16>,
    /// Authority and additional counts.
    pub(super) counts: [u16; 2],
}

impl Frag {
    /// Appends the fragment to `out` with its pointers aimed at `origin_at`.
    pub(super) fn write(&self, out: &mut Vec<u8>, origin_at: usize) {
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
    pub(super) fn origin_at(&self, qname_len: usize) -> Option<usize> {
        let at = 12 + qname_len.checked_sub(self.origin_len as usize)?;
        (at < 0x4000).then_some(at)
    }
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

/// The health-checked answer sections of one health state.
#[derive(Debug, Default)]
pub struct Live {
    /// Per checked name (in [`crate::view::Checks`] order): A, then AAAA.
    names: Vec<[LiveSet; 2]>,
    /// Per table zone: the SOA fragment of negative answers when the zone's
    /// serial is its own ([`View::soas`]); empty when none is.
    negatives: Vec<Option<ZoneFrags>>,
}

impl Live {
    /// What negative answers of table zone `zi` carry: `zone`'s own
    /// fragments, or this health state's when the serial follows health.
    fn negative<'t>(&'t self, zi: u32, zone: &'t ZoneFrags) -> &'t ZoneFrags {
        match self.negatives.get(zi as usize) {
            Some(Some(frags)) => frags,
            _ => zone,
        }
    }
}

#[derive(Debug, Default)]
enum LiveSet {
    /// No such RRset: the name's normal fallback applies.
    #[default]
    Absent,
    /// Answer sections, one per rotation, each with this many records.
    Records(Vec<Box<[u8]>>, u16),
    /// `when_all_down = "none"`.
    NoData,
    /// `when_all_down = "servfail"`.
    ServFail,
}

impl Table {
    /// Fills the table from `view`, whose checked names (in `checked` order)
    /// must be present so that health-dependent answers are recognised.
    ///
    /// Names are done in runs on every core (each name's bodies depend on
    /// the view alone), and the runs joined in order: at a million names one
    /// core took 0.3 s.
    pub fn build(view: &View, checked: &[Name]) -> Table {
        let names: usize = view.zones.iter().map(|z| z.len()).sum();
        let threads = match names {
            0..PARALLEL_NAMES => 1,
            _ => crate::parallel::cores(),
        };
        Table::build_in_runs(view, checked, threads)
    }

    /// [`Table::build`] in `threads` runs.
    pub(crate) fn build_in_runs(view: &View, checked: &[Name], threads: usize) -> Table {
        let checked: HashMap<&Name, u32, foldhash::fast::RandomState> = checked
            .iter()
            .enumerate()
            .map(|(i, n)| (n, i as u32))
            .collect();
        let mut zones: Vec<&Zone> = view.zones.iter().map(|z| z.as_ref()).collect();
        zones.sort_by_key(|z| z.origin.to_ascii());
        // Zones inside other zones we serve, by parent: one walk up per zone.
        let origins: std::collections::HashSet<&Name> = zones.iter().map(|z| &z.origin).collect();
        let mut children_of: HashMap<&Name, Vec<&Name>> = HashMap::new();
        for z in &zones {
            let mut up = z.origin.clone();
            while !up.is_root() {
                up = up.base_name();
                if let Some(parent) = origins.get(&up) {
                    children_of.entry(*parent).or_default().push(&z.origin);
                    break;
                }
            }
        }
        let mut frags = Vec::with_capacity(zones.len());
        let mut facts = Vec::with_capacity(zones.len());
        for zone in &zones {
            let f = zone_frags(view, zone);
            facts.push(ZoneFacts::of(zone, f.tail.is_some(), &children_of));
            frags.push(f);
        }
        // Runs of about equal size over all zones' names, in order.
        let names: usize = zones.iter().map(|z| z.len()).sum();
        let threads = threads.max(1);
        let per_run = names.div_ceil(threads).max(1);
        let mut runs: Vec<Run> = vec![Vec::new()];
        let mut room = per_run;
        for (zi, zone) in zones.iter().enumerate() {
            let mut list = zone.node_list();
            while !list.is_empty() {
                // The last run takes whatever is left.
                let take = match runs.len() >= threads {
                    true => list.len(),
                    false => room.min(list.len()),
                };
                let (now, rest) = list.split_at(take);
                if let Some(run) = runs.last_mut() {
                    run.push((zi, now));
                }
                room = room.saturating_sub(now.len());
                list = rest;
                if room == 0 && runs.len() < threads {
                    runs.push(Vec::new());
                    room = per_run;
                }
            }
        }
        // One seed for all runs: their hashes go into one index.
        let hasher = foldhash::fast::RandomState::default();
        let groups = Groups::for_names(names);
        let (checked, facts, hasher) = (&checked, &facts, &hasher);
        let part = |(i, run): (usize, &Run)| {
            let size: usize = run.iter().map(|(_, l)| l.len()).sum();
            // The first run's arena becomes the whole one: room for all.
            let mut filed = Filed::with_room(if i == 0 { names } else { size }, size, hasher);
            let mut scratch = Scratch::default();
            for &(zi, list) in run {
                for (name, node) in list {
                    filed.add(view, zi, &facts[zi], name, node, checked, &mut scratch);
                }
            }
            filed.starts = groups.sort(&mut filed.entries);
            filed
        };
        // The first run's arena, the one kept, is built on this thread: it
        // then lies in this thread's malloc arena, not among a finished
        // thread's freed scraps (40 MB more resident at a million names).
        let runs: Vec<(usize, &Run)> = runs.iter().enumerate().collect();
        let mut filed: Vec<Filed> = crate::parallel::each_on_threads(&runs, |&r| part(r))
            .into_iter()
            .zip(&runs)
            // A run lost to a panic would leave names out: do it again here.
            .map(|(done, &r)| done.unwrap_or_else(|| part(r)))
            .collect();
        let joined = tokio::time::Instant::now();
        let arenas: Vec<Vec<u8>> = filed
            .iter_mut()
            .map(|f| std::mem::take(&mut f.arena))
            .collect();
        // Each run's records move by the arena bytes of the runs before it.
        // Offsets are 32 bits: past 4 GiB of records (some 80 million
        // names) they would wrap and find wrong records, so such a table is
        // left empty and the general path answers everything.
        let mut base = 0usize;
        for (arena, run) in arenas.iter().zip(&mut filed) {
            run.base = u32::try_from(base).unwrap_or(u32::MAX);
            base += arena.len();
        }
        if u32::try_from(base).is_err() {
            tracing::warn!(
                names,
                "zones too big for the answer table (over 4 GiB of answers): \
                 every query takes the general path"
            );
            return Table {
                zones: frags,
                ..Table::default()
            };
        }
        let mut arenas = arenas.into_iter();
        let mut arena = arenas.next().unwrap_or_default();
        // The index is filled on another thread while the arenas are joined.
        let index = std::thread::scope(|scope| {
            let index = scope.spawn(|| index_of(&filed));
            for part in arenas {
                arena.extend_from_slice(&part);
            }
            arena.shrink_to_fit();
            index.join().unwrap_or_else(|_| index_of(&filed))
        });
        tracing::debug!(
            ms = joined.elapsed().as_millis() as u64,
            "table runs joined"
        );
        Table {
            index,
            hasher: hasher.clone(),
            arena,
            zones: frags,
        }
    }
}

impl Filed {
    /// A run of `size` names with arena room for the records of `names`:
    /// a few bytes more than a 20-byte name with one A record each, since
    /// an arena that outgrows its room doubles (and is shrunk, in place,
    /// once joined).
    fn with_room(names: usize, size: usize, hasher: &foldhash::fast::RandomState) -> Filed {
        let slack = names / 16 + 64;
        Filed {
            hasher: hasher.clone(),
            arena: Vec::with_capacity((names + slack) * 52),
            entries: Vec::with_capacity(size),
            starts: Vec::new(),
            base: 0,
        }
    }

    /// Adds the record of one name of zone `zi` to the arena and its entry
    /// (with the hash of its key) to `entries`, unless a child zone answers
    /// there.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        view: &View,
        zi: usize,
        facts: &ZoneFacts,
        name: &Name,
        node: &Node,
        checked: &HashMap<&Name, u32, foldhash::fast::RandomState>,
        scratch: &mut Scratch,
    ) {
        let t = self;
        let Scratch { out, bodies, bytes } = scratch;
        bodies.clear();
        bytes.clear();
        let zone = facts.zone;
        // Inside a child zone we also serve, the child answers; it has its own entries.
        if facts.children.iter().any(|c| c.zone_of(name)) {
            return;
        }
        let in_cut = facts.has_cuts && zone.find_cut(name).is_some();
        let general = in_cut
            || node.get(RecordType::CNAME).is_some()
            || !facts.has_tail
            || facts.ns_targets.iter().any(|t| same_name(t, name))
            // DS at a child apex comes from the parent we also serve.
            || (same_name(name, &zone.origin)
                && !name.is_root()
                && view.zones.find(&name.base_name()).is_some());
        // A checked name here whose answers the general path shapes
        // (say, an NS target, deduplicated against glue) is not
        // served from `Live`: its A/AAAA bodies come out Slow.
        let check = match general {
            true => NOT_CHECKED,
            false if checked.is_empty() => NOT_CHECKED,
            false => checked.get(name).copied().unwrap_or(NOT_CHECKED),
        };
        let fallback = if general {
            let mut types: Vec<RecordType> = node.rrsets.iter().map(|s| s.rtype).collect();
            types.extend([RecordType::A, RecordType::AAAA, RecordType::DS]);
            let chain = match node.get(RecordType::CNAME) {
                Some(_) => chain_types(zone, name),
                None => Some(Vec::new()),
            };
            types.extend(chain.iter().flatten());
            types.sort_by_key(|t| u16::from(*t));
            types.dedup();
            for qtype in types {
                bodies.push(store(view, name, qtype, Kind::Full, out, bytes));
            }
            // Any type that is none of the above answers alike, when
            // the chain (if any) ends where types alone decide.
            let absent = RecordType::Unknown(65_280);
            let body = match chain {
                Some(_) => store(view, name, absent, Kind::Full, out, bytes),
                None => slow_body(absent),
            };
            if body.kind == Kind::Slow {
                Fallback::Slow
            } else {
                bodies.push(body);
                Fallback::Last
            }
        } else {
            for set in &node.rrsets {
                if check != NOT_CHECKED && matches!(set.rtype, RecordType::A | RecordType::AAAA) {
                    continue;
                }
                // These add addresses of their targets: keep them whole.
                let kind = match set.rtype {
                    RecordType::NS | RecordType::MX | RecordType::SRV => Kind::Full,
                    _ => Kind::WithTail,
                };
                // Addresses, the bulk of big zones, need no general path.
                let body = match (kind, set.rtype) {
                    (Kind::WithTail, RecordType::A | RecordType::AAAA) => {
                        store_addresses(set.rtype, set.ttl, set, bytes)
                    }
                    _ => store(view, name, set.rtype, kind, out, bytes),
                };
                bodies.push(body);
            }
            Fallback::NoData
        };
        let wild = !facts.wildcard_parents.is_empty() && facts.wildcard_parents.contains(name);
        let below = match (in_cut, wild) {
            (true, _) => Below::Slow,
            (false, true) => Below::Wildcard,
            (false, false) => Below::NxDomain,
        };
        let at = t.arena.len();
        push_wire(&mut t.arena, name);
        let key_len = t.arena.len() - at;
        for body in bodies.iter() {
            body.put(&mut t.arena);
        }
        t.arena.extend_from_slice(bytes);
        let hash = t.hasher.hash_one(&t.arena[at..at + key_len]);
        let entry = Entry {
            tag: (hash >> 32) as u32,
            at: at as u32,
            key_len: key_len as u8,
            zone: zi as u32,
            count: bodies.len() as u16,
            fallback,
            below,
            checked: check,
        };
        t.entries.push((hash, entry));
    }
}

/// Runs the general path for (`name`, `qtype`) into `out`, appends what
/// follows the question to `bytes`, and describes it.
fn store(
    view: &View,
    name: &Name,
    qtype: RecordType,
    kind: Kind,
    out: &mut Vec<u8>,
    bytes: &mut Vec<u8>,
) -> Body {
    let query = synthetic_query(name, qtype);
    take_touched();
    let rcode = slow::respond(view, &query, Transport::Tcp, 0, out);
    let touched = take_touched();
    let qend = query.len();
    let slow = slow_body(qtype);
    // SERVFAIL here means the answer outgrew even TCP: UDP would say TC.
    if touched || !matches!(rcode, Some(Rcode::NoError | Rcode::NxDomain)) || out.len() < qend {
        return slow;
    }
    let count = |i: usize| u16::from_be_bytes([out[i], out[i + 1]]);
    let counts = [count(6), count(8), count(10)];
    let flags = u16::from_be_bytes([out[2], out[3]]) & (AA | 0x000F);
    // A WithTail body is an answer section the zone's NS tail follows: a
    // type present but answered without records (a DS in a zone's own apex
    // data, NODATA) is not one.
    if kind == Kind::WithTail && (flags != AA || counts[0] == 0) {
        return slow;
    }
    let body = match kind {
        Kind::WithTail => match answer_section_end(out, qend, counts[0]) {
            Some(end) => &out[qend..end],
            None => return slow,
        },
        _ => &out[qend..],
    };
    bytes.extend_from_slice(body);
    Body {
        qtype: u16::from(qtype),
        kind,
        len: body.len() as u32,
        counts,
        flags,
        // Records whose data holds no names: only their owner, a
        // pointer to the question, refers to the message.
        free: kind == Kind::WithTail
            && matches!(
                qtype,
                RecordType::A
                    | RecordType::AAAA
                    | RecordType::TXT
                    | RecordType::CAA
                    | RecordType::SSHFP
                    | RecordType::TLSA
                    | RecordType::HINFO
            ),
    }
}

/// An answer section of A or AAAA records owned by the question's name,
/// exactly as the general path writes it.
fn store_addresses(rtype: RecordType, ttl: u32, set: &Rrset, bytes: &mut Vec<u8>) -> Body {
    let start = bytes.len();
    for rdata in set.iter() {
        if let Some(ip) = rdata.ip() {
            answer_rr(bytes, rtype, ttl, ip);
        }
    }
    Body {
        qtype: u16::from(rtype),
        kind: Kind::WithTail,
        len: (bytes.len() - start) as u32,
        counts: [set.len() as u16, 0, 0],
        flags: AA,
        free: true,
    }
}

/// A body that sends `qtype` to the general path.
fn slow_body(qtype: RecordType) -> Body {
    Body {
        qtype: u16::from(qtype),
        kind: Kind::Slow,
        len: 0,
        counts: [0; 3],
        flags: 0,
        free: false,
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
        // No table (a view built without one): everything is the general path's.
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
        if entry.checked != NOT_CHECKED && (qtype == 1 || qtype == 28) {
            let sets = live.names.get(entry.checked as usize)?;
            match &sets[usize::from(qtype == 28)] {
                LiveSet::Absent => {}
                LiveSet::Records(rotations, an) => {
                    let answer = rotations.get(rotation % rotations.len().max(1))?;
                    return Some(Answer::WithTail(answer, *an, zone));
                }
                LiveSet::NoData => return Some(Answer::NoData(live.negative(entry.zone, zone))),
                LiveSet::ServFail => return Some(Answer::ServFail),
            }
        }
        let heads_at = entry.at as usize + entry.key_len as usize;
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
            None => match entry.fallback {
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
            return match encloser.below {
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

impl Live {
    /// The answer sections of every checked name under `view`'s health,
    /// and the negative answers' SOA of zones whose serial follows it.
    pub fn build(view: &View, table: &Table, checked: &[Name]) -> Live {
        let negatives = match view.soas.is_empty() {
            true => Vec::new(),
            false => table
                .zones
                .iter()
                .map(|frags| {
                    let soa = view.soas.get(&frags.origin)?;
                    Some(ZoneFrags {
                        origin: frags.origin.clone(),
                        negative_ttl: frags.negative_ttl,
                        origin_len: frags.origin_len,
                        soa: soa_frag(&frags.origin, frags.negative_ttl, &soa.data),
                        tail: None,
                    })
                })
                .collect(),
        };
        let names = checked
            .iter()
            .map(|name| {
                [RecordType::A, RecordType::AAAA].map(|rtype| match view.filter(name, rtype) {
                    None => LiveSet::Absent,
                    Some(Filter::NoData) => LiveSet::NoData,
                    Some(Filter::ServFail) => LiveSet::ServFail,
                    Some(Filter::Records(ttl, rdatas)) => {
                        let n = rdatas.len().max(1);
                        let rotations = (0..n)
                            .map(|start| {
                                let mut bytes = Vec::with_capacity(rdatas.len() * 28);
                                for i in 0..rdatas.len() {
                                    let rdata = RdataRef::Full(&rdatas[(start + i) % rdatas.len()]);
                                    if let Some(ip) = rdata.ip() {
                                        answer_rr(&mut bytes, rtype, ttl, ip);
                                    }
                                }
                                bytes.into_boxed_slice()
                            })
                            .collect();
                        LiveSet::Records(rotations, rdatas.len() as u16)
                    }
                })
            })
            .collect();
        Live { names, negatives }
    }
}

/// The index's buckets in 2,048 groups of neighbours: entries inserted
/// group by group fill its memory front to back (in name order, a million
/// inserts were a million cache misses).
#[derive(Clone, Copy)]
struct Groups {
    mask: usize,
    shift: u32,
}

impl Groups {
    const COUNT: usize = 0x800;

    /// The groups of an index with room for `names` (hashbrown's bucket
    /// count: an eighth spare, rounded up to a power of two).
    fn for_names(names: usize) -> Groups {
        let buckets = (names.max(8) * 8 / 7).next_power_of_two();
        Groups {
            mask: buckets - 1,
            shift: buckets.trailing_zeros().saturating_sub(11),
        }
    }

    fn of(&self, hash: u64) -> usize {
        ((hash as usize & self.mask) >> self.shift) & (Groups::COUNT - 1)
    }

    /// Orders `run` by group in place (one counting pass, then each entry
    /// swapped straight to its group's next place); returns where each
    /// group starts, and one past the end.
    fn sort(&self, run: &mut [(u64, Entry)]) -> Vec<usize> {
        let mut starts = vec![0usize; Groups::COUNT + 1];
        for &(h, _) in run.iter() {
            starts[self.of(h) + 1] += 1;
        }
        for g in 1..starts.len() {
            starts[g] += starts[g - 1];
        }
        let mut next = starts.clone();
        for g in 0..Groups::COUNT {
            while next[g] < starts[g + 1] {
                let home = self.of(run[next[g]].0);
                if home == g {
                    next[g] += 1;
                } else {
                    run.swap(next[g], next[home]);
                    next[home] += 1;
                }
            }
        }
        starts
    }
}

/// What one run of [`Table::build`] made: its names' records, and their
/// entries ordered by [`Groups::sort`].
struct Filed {
    /// The seed shared by every run: their hashes go into one index.
    hasher: foldhash::fast::RandomState,
    /// The records, until the arenas are joined.
    arena: Vec<u8>,
    /// (hash of the key, entry), group by group.
    entries: Vec<(u64, Entry)>,
    /// Where each group starts, and one past the end.
    starts: Vec<usize>,
    /// Where the run's records start in the joined arena.
    base: u32,
}

/// The index of the entries of every run.
fn index_of(runs: &[Filed]) -> HashTable<Entry> {
    let total: usize = runs.iter().map(|run| run.entries.len()).sum();
    let mut index = HashTable::with_capacity(total);
    // Only called should the index grow, which its capacity rules out; the
    // arena is still being joined, so the hash is found among the runs.
    let rehash = |e: &Entry| {
        runs.iter()
            .flat_map(|run| run.entries.iter().map(|&(h, x)| (h, x.at + run.base)))
            .find(|&(_, at)| at == e.at)
            .map_or(0, |(h, _)| h)
    };
    for g in 0..Groups::COUNT {
        for run in runs {
            let (Some(&from), Some(&to)) = (run.starts.get(g), run.starts.get(g + 1)) else {
                continue;
            };
            for &(h, mut e) in run.entries.get(from..to).unwrap_or(&[]) {
                e.at += run.base;
                index.insert_unique(h, e, rehash);
            }
        }
    }
    index
}

/// One A/AAAA record owned by the question's name (a pointer to offset 12).
fn answer_rr(out: &mut Vec<u8>, rtype: RecordType, ttl: u32, ip: std::net::IpAddr) {
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
fn zone_frags(view: &View, zone: &Zone) -> ZoneFrags {
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
                if view.filter(owner, rtype).is_some() {
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
fn soa_frag(origin: &Name, negative_ttl: u32, data: &RData) -> Frag {
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

/// The types at the end of `name`'s in-zone CNAME chain, or `None` when the
/// answer there depends on more than the type (a target that only a
/// wildcard covers, or a chain as long as the general path follows).
fn chain_types(zone: &Zone, name: &Name) -> Option<Vec<RecordType>> {
    let mut at = name.clone();
    for _ in 0..=super::slow::MAX_CNAME_HOPS {
        if !zone.origin.zone_of(&at) {
            // The chain leaves the zone: the resolver takes it from there.
            return Some(Vec::new());
        }
        let node = zone.node(&at)?;
        match node.get(RecordType::CNAME).and_then(|s| s.others().first()) {
            Some(RData::CNAME(target)) => at = target.0.clone(),
            _ => return Some(node.rrsets.iter().map(|s| s.rtype).collect()),
        }
    }
    None
}

/// A query for (`name`, `qtype`), class IN, no EDNS.
fn synthetic_query(name: &Name, qtype: RecordType) -> Vec<u8> {
    let mut q = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(&wire(name));
    q.extend_from_slice(&u16::from(qtype).to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// Where the answer section of `msg` ends (it starts at `start`).
fn answer_section_end(msg: &[u8], start: usize, count: u16) -> Option<usize> {
    let mut at = start;
    for _ in 0..count {
        // Owner: labels ending in a zero or a pointer.
        loop {
            let len = *msg.get(at)?;
            if len & 0xC0 == 0xC0 {
                at += 2;
                break;
            }
            at += 1 + len as usize;
            if len == 0 {
                break;
            }
        }
        let rdlen = u16::from_be_bytes([*msg.get(at + 8)?, *msg.get(at + 9)?]) as usize;
        at += 10 + rdlen;
    }
    (at <= msg.len()).then_some(at)
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
        _ => Rcode::ServFail,
    }
}

#[cfg(test)]
mod tests {
    use super::{Entry, Groups};

    /// The in-place grouping keeps every entry and leaves them group by
    /// group, with the starts it reports; for sizes that fill some groups
    /// and leave others empty.
    #[test]
    fn grouping_in_place_is_a_permutation_in_group_order() {
        for (names, len) in [
            (10, 0),
            (10, 1),
            (100, 100),
            (1_000_000, 5_000),
            (100_000, 100_000),
        ] {
            let groups = Groups::for_names(names);
            let mut run: Vec<(u64, Entry)> = (0..len as u64)
                .map(|i| {
                    let entry = Entry {
                        at: i as u32,
                        ..Entry::default()
                    };
                    (i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17), entry)
                })
                .collect();
            let mut before: Vec<(u64, u32)> = run.iter().map(|(h, e)| (*h, e.at)).collect();
            let starts = groups.sort(&mut run);
            let mut after: Vec<(u64, u32)> = run.iter().map(|(h, e)| (*h, e.at)).collect();
            assert!(
                run.windows(2)
                    .all(|w| groups.of(w[0].0) <= groups.of(w[1].0))
            );
            assert_eq!(starts.len(), Groups::COUNT + 1);
            assert_eq!(starts[Groups::COUNT], len);
            for (i, (h, _)) in run.iter().enumerate() {
                let g = groups.of(*h);
                assert!(
                    starts[g] <= i && i < starts[g + 1],
                    "entry {i} outside its group {g}"
                );
            }
            before.sort_unstable();
            after.sort_unstable();
            assert_eq!(before, after);
        }
    }
}
