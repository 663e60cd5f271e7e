//! Owns building the answer table: every owner name and type of every zone
//! answered once by the general path (on every core for big zones), what
//! it wrote kept as stored bodies, and anything that follows health left
//! to the general path or to [`super::Live`].

use std::collections::HashMap;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use hickory_proto::rr::{Name, RData, RecordType};

use super::frag::{answer_rr, zone_frags};
use super::{Below, Body, Entry, Fallback, Kind, NOT_CHECKED, Table, push_wire, wire};
use crate::dns::judged::Judged;
use crate::dns::serial::Served;
use crate::dns::slow::{self, Depends};
use crate::dns::snapshot::Source;
use crate::dns::wire::AA;
use crate::dns::{Rcode, Transport};
use crate::health::{Checks, Verdicts};
use crate::zones::{Node, NodeEntry, Rrset, Zone, ZoneSet, same_name};

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

/// Names a thread builds entries for: (zone index, a slice of its nodes).
type Run<'z> = Vec<(usize, &'z [NodeEntry])>;

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
    /// Owners of DNAMEs: names below them are the general path's.
    dnames: Vec<&'z Name>,
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
            dnames: zone.dname_owners().collect(),
        }
    }
}

impl Table {
    /// The table of `zones` with the checks `checks`; `transfers`: whether
    /// zones go to secondaries (then whatever carries a SOA follows health).
    /// What follows health is left to [`super::Live`] or the general path.
    ///
    /// Names are done in runs on every core (each name's bodies depend on
    /// the zones alone), and the runs joined in order: at a million names one
    /// core took 0.3 s.
    pub fn build(zones: &ZoneSet, checks: &Checks, transfers: bool) -> Table {
        let names: usize = zones.iter().map(|z| z.len()).sum();
        let threads = match names {
            0..PARALLEL_NAMES => 1,
            _ => crate::parallel::cores(),
        };
        Table::build_in_runs(zones, checks, transfers, threads)
    }

    /// [`Table::build`] in `threads` runs.
    pub(crate) fn build_in_runs(
        zones: &ZoneSet,
        checks: &Checks,
        transfers: bool,
        threads: usize,
    ) -> Table {
        // The general path over every target healthy: what it answers from a
        // checked set, or with a SOA that follows health, it marks as such.
        let judged = Judged::new(checks, &Verdicts::all_healthy());
        let served = Served::files(transfers);
        let source = Source {
            zones,
            judged: &judged,
            served: &served,
        };
        let checked: HashMap<&Name, u32, foldhash::fast::RandomState> = checks
            .names()
            .iter()
            .enumerate()
            .map(|(i, n)| (&n.name, i as u32))
            .collect();
        let mut zones: Vec<&Zone> = source.zones.iter().map(|z| z.as_ref()).collect();
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
            let f = zone_frags(source, zone);
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
                for entry in list {
                    let (name, node) = &**entry;
                    filed.add(source, zi, &facts[zi], name, node, checked, &mut scratch);
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
        source: Source,
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
        // Below a DNAME every name is redirected (RFC 6672 §2.3): no entry,
        // so the DNAME owner's entry sends them to the general path.
        let dname = !facts.dnames.is_empty() && facts.dnames.iter().any(|d| same_name(d, name));
        if !facts.dnames.is_empty() && !dname && zone.find_dname(name).is_some() {
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
                && source.zones.find(&name.base_name()).is_some());
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
                bodies.push(store(source, name, qtype, Kind::Full, out, bytes));
            }
            // Any type that is none of the above answers alike, when
            // the chain (if any) ends where types alone decide.
            let absent = RecordType::Unknown(65_280);
            let body = match chain {
                Some(_) => store(source, name, absent, Kind::Full, out, bytes),
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
                    t if crate::dns::slow::is_kx_or_rt(t) => Kind::Full,
                    // Sent without the zone's NS (as NSD does): not the tail.
                    RecordType::DNSKEY => Kind::Full,
                    _ => Kind::WithTail,
                };
                // Addresses, the bulk of big zones, need no general path.
                let body = match (kind, set.rtype) {
                    (Kind::WithTail, RecordType::A | RecordType::AAAA) => {
                        store_addresses(set.rtype, set.ttl, set, bytes)
                    }
                    _ => store(source, name, set.rtype, kind, out, bytes),
                };
                bodies.push(body);
            }
            Fallback::NoData
        };
        let wild = !facts.wildcard_parents.is_empty() && facts.wildcard_parents.contains(name);
        let below = match (in_cut || dname, wild) {
            (true, _) => Below::Slow,
            (false, true) => Below::Wildcard,
            (false, false) => Below::NxDomain,
        };
        let at = t.arena.len();
        push_wire(&mut t.arena, name);
        let key_len = t.arena.len() - at;
        if check != NOT_CHECKED {
            t.arena.extend_from_slice(&check.to_ne_bytes());
        }
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
            bits: Entry::bits(fallback, below, check != NOT_CHECKED),
        };
        t.entries.push((hash, entry));
    }
}

/// Runs the general path for (`name`, `qtype`) into `out`, appends what
/// follows the question to `bytes`, and describes it.
fn store(
    source: Source,
    name: &Name,
    qtype: RecordType,
    kind: Kind,
    out: &mut Vec<u8>,
    bytes: &mut Vec<u8>,
) -> Body {
    let query = synthetic_query(name, qtype);
    let answered = slow::answer(source, &query, Transport::Tcp, 0, None, out);
    let qend = query.len();
    let slow = slow_body(qtype);
    // SERVFAIL here means the answer outgrew even TCP: UDP would say TC.
    let Some((Rcode::NoError | Rcode::NxDomain, Depends::Zones, _)) = answered else {
        return slow;
    };
    if out.len() < qend {
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

/// The types at the end of `name`'s in-zone CNAME chain, or `None` when the
/// answer there depends on more than the type (a target that only a
/// wildcard covers, or a chain as long as the general path follows).
fn chain_types(zone: &Zone, name: &Name) -> Option<Vec<RecordType>> {
    let mut at = name.clone();
    for _ in 0..=crate::dns::slow::MAX_CNAME_HOPS {
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

#[cfg(test)]
mod tests {
    use super::{Below, Entry, Fallback, Groups};

    /// A million-name index holds 2 Mi of these (where 24 bytes took 52 MB),
    /// and what they pack comes back out.
    #[test]
    fn an_entry_takes_16_bytes_and_keeps_its_bits() {
        assert_eq!(std::mem::size_of::<Entry>(), 16);
        for fallback in [Fallback::NoData, Fallback::Last, Fallback::Slow] {
            for below in [Below::NxDomain, Below::Wildcard, Below::Slow] {
                for checked in [false, true] {
                    let e = Entry {
                        bits: Entry::bits(fallback, below, checked),
                        ..Entry::default()
                    };
                    assert_eq!(e.fallback() as u8, fallback as u8);
                    assert_eq!(e.below(), below);
                    assert_eq!(e.checked(), checked);
                }
            }
        }
    }

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
