//! Owns zone data: reads RFC 1035 master files with hickory's parser, checks
//! them, and keeps them in an immutable [`ZoneSet`] indexed for answering.
//!
//! Every name is stored lower-cased; empty non-terminals get an empty node so
//! that "name exists" is one lookup (NODATA vs NXDOMAIN, closest encloser).

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordSet, RecordType, RrKey};
use hickory_proto::serialize::binary::{BinDecoder, BinEncodable, BinEncoder, Restrict};
use hickory_proto::serialize::txt::Parser;

pub use error::{RecordError, ZoneError, ZoneProblem};
pub use rewrite::SyntaxError;
pub use scan::IncludeError;

/// Largest TTL RFC 2181 §8 allows.
const MAX_TTL: u32 = (1 << 31) - 1;

/// Owner names to nodes: the nodes in a list, and a hash index of 4-byte
/// slots over it. A map holding (Name, Node) in its slots would be half empty
/// at a million names (power-of-two sizing) at 112 bytes a slot.
#[derive(Default)]
struct Nodes {
    /// Names and their nodes.
    list: Vec<(Name, Node)>,
    /// Positions in `list`, hashed by name (case-insensitively, as Name hashes).
    index: hashbrown::HashTable<u32>,
    /// Seeded: names may come from anyone's zone file, lookups from queries.
    hasher: foldhash::fast::RandomState,
}

impl std::fmt::Debug for Nodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nodes")
            .field("len", &self.list.len())
            .finish()
    }
}

impl Nodes {
    fn with_capacity(n: usize, hasher: &foldhash::fast::RandomState) -> Nodes {
        Nodes {
            list: Vec::with_capacity(n),
            index: hashbrown::HashTable::with_capacity(n),
            hasher: hasher.clone(),
        }
    }

    fn position(&self, name: &Name) -> Option<usize> {
        self.position_hashed(name, self.hasher.hash_one(name))
    }

    fn position_hashed(&self, name: &Name, hash: u64) -> Option<usize> {
        let list = &self.list;
        self.index
            .find(hash, |&i| {
                list.get(i as usize).is_some_and(|(n, _)| n == name)
            })
            .map(|&i| i as usize)
    }

    fn get_key_value(&self, name: &Name) -> Option<(&Name, &Node)> {
        self.list
            .get(self.position(name)?)
            .map(|(n, node)| (n, node))
    }

    fn get(&self, name: &Name) -> Option<&Node> {
        self.get_key_value(name).map(|(_, node)| node)
    }

    fn contains_key(&self, name: &Name) -> bool {
        self.position(name).is_some()
    }

    /// Reads the index where a name hashing to `hash` is looked for, so
    /// that a loop of these ahead of the inserts overlaps their cache misses
    /// (see [`Builder::add`]).
    fn warm(&self, hash: u64) {
        std::hint::black_box(self.index.find(hash, |_| false));
    }

    /// The node at `name`, whose hash is `hash`, added empty if missing.
    fn entry_owned(&mut self, name: Name, hash: u64) -> &mut Node {
        let i = match self.position_hashed(&name, hash) {
            Some(i) => i,
            None => {
                let i = self.list.len();
                self.list.push((name, Node::default()));
                let (list, hasher) = (&self.list, &self.hasher);
                self.index.insert_unique(hash, i as u32, |&j| {
                    list.get(j as usize).map_or(0, |(n, _)| hasher.hash_one(n))
                });
                i
            }
        };
        &mut self.list[i].1
    }

    fn iter(&self) -> impl Iterator<Item = (&Name, &Node)> {
        self.list.iter().map(|(n, node)| (n, node))
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (&Name, &mut Node)> {
        self.list.iter_mut().map(|(n, node)| (&*n, node))
    }
}

/// Files records into nodes as they are read.
struct Builder {
    nodes: Nodes,
    /// SOA records: owner, TTL, data.
    soas: Vec<(Name, u32, RData)>,
    /// A second CNAME at one name with another target: where it starts and
    /// the error (NSD's too). hickory, parsing a whole file, would keep the
    /// last one silently.
    conflict: Option<(usize, ZoneProblem)>,
    /// The first record outside the zone: where it starts, and its owner.
    /// The zone is the first SOA's; records before it wait in `unplaced`.
    outside: Option<(usize, Name)>,
    unplaced: Vec<(usize, Name)>,
}

impl Builder {
    fn new(hasher: &foldhash::fast::RandomState, names: usize) -> Builder {
        Builder {
            nodes: Nodes::with_capacity(names, hasher),
            soas: Vec::new(),
            conflict: None,
            outside: None,
            unplaced: Vec::new(),
        }
    }

    /// Notes `name`, at offset `at`, if it is the first record outside the zone.
    fn place(&mut self, at: usize, name: &Name) {
        match self.soas.first() {
            None => self.unplaced.push((at, name.clone())),
            Some((origin, ..)) => {
                if self.outside.is_none() && !within(name, origin) {
                    self.outside = Some((at, name.clone()));
                }
            }
        }
    }

    /// The target of the CNAME already filed at `name`, if any.
    fn cname_at(&self, name: &Name, hash: u64) -> Option<&Name> {
        let i = self.nodes.position_hashed(name, hash)?;
        match self.nodes.list[i]
            .1
            .get(RecordType::CNAME)?
            .others()
            .first()?
        {
            RData::CNAME(target) => Some(&target.0),
            _ => None,
        }
    }

    /// Files `records` (leaving the vector empty). False on a second SOA at
    /// one name, which is an error or a replacement in one parse (hickory
    /// decides): the file must be parsed whole. False too on a second CNAME
    /// at one name with another target, noted in `conflict`; the same CNAME
    /// again is one record (RFC 2181 §5) and is dropped.
    fn add(&mut self, records: &mut Vec<Rec>) -> bool {
        // Names are new more often than not, and each new one is a cache
        // miss in the node index: looked up a stretch ahead, in a loop of
        // their own, the misses overlap (filing a million names took
        // 0.67-0.76 s, 0.48-0.57 s so).
        const AHEAD: usize = 64;
        let mut records = records.drain(..);
        for i in 0.. {
            if i % AHEAD == 0 {
                for r in records.as_slice().iter().take(AHEAD) {
                    self.nodes.warm(r.hash);
                }
            }
            let Some(r) = records.next() else {
                break;
            };
            if r.rtype == RecordType::CNAME
                && let Data::Other(rdata) = &r.data
                && let RData::CNAME(target) = &**rdata
            {
                // The same one again is one record (the set drops it).
                if let Some(first) = self.cname_at(&r.name, r.hash)
                    && *first != target.0
                {
                    let problem = ZoneProblem::TwoCnames {
                        name: Box::new(r.name.clone()),
                        first: Box::new(first.clone()),
                        second: Box::new(target.0.clone()),
                    };
                    self.conflict = Some((r.at, problem));
                    return false;
                }
            }
            if r.rtype == RecordType::SOA {
                if self.soas.iter().any(|s| s.0 == r.name) {
                    return false;
                }
                if let Data::Other(rdata) = &r.data
                    && let RData::SOA(_) = **rdata
                {
                    self.soas.push((r.name.clone(), r.ttl, (**rdata).clone()));
                    // Those before it, in file order, come first.
                    for (at, name) in std::mem::take(&mut self.unplaced) {
                        self.place(at, &name);
                    }
                }
            }
            self.place(r.at, &r.name);
            self.nodes
                .entry_owned(r.name, r.hash)
                .push(r.rtype, r.ttl, r.data);
        }
        true
    }
}

/// All RRs of one type at one owner.
#[derive(Clone, Debug)]
pub struct Rrset {
    /// The type shared by every record.
    pub rtype: RecordType,
    /// The TTL answers carry: the smallest in the set (RFC 2181 §5.2).
    pub ttl: u32,
    /// The records' data, in file order.
    rdatas: Rdatas,
}

/// An RRset's data. Addresses, the bulk of big zones, are kept as bare
/// addresses: hickory's `RData` takes 184 bytes whatever it holds.
#[derive(Clone, Debug)]
enum Rdatas {
    /// One A record: most names have just one, and a Vec of one costs an allocation.
    One4(Ipv4Addr),
    /// One AAAA record.
    One6(Ipv6Addr),
    /// A records.
    V4(Vec<Ipv4Addr>),
    /// AAAA records.
    V6(Vec<Ipv6Addr>),
    /// Everything else.
    Other(Vec<RData>),
}

/// One record's data, borrowed from an [`Rrset`] or a health-checked set.
#[derive(Clone, Copy, Debug)]
pub enum RdataRef<'a> {
    /// An A record.
    V4(Ipv4Addr),
    /// An AAAA record.
    V6(Ipv6Addr),
    /// Any record.
    Full(&'a RData),
}

impl RdataRef<'_> {
    /// The address of an A or AAAA record.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        match *self {
            RdataRef::V4(ip) => Some(ip.into()),
            RdataRef::V6(ip) => Some(ip.into()),
            RdataRef::Full(RData::A(a)) => Some(a.0.into()),
            RdataRef::Full(RData::AAAA(a)) => Some(a.0.into()),
            RdataRef::Full(_) => None,
        }
    }

    /// The data as hickory's type.
    pub fn to_rdata(&self) -> RData {
        match *self {
            RdataRef::V4(ip) => RData::A(ip.into()),
            RdataRef::V6(ip) => RData::AAAA(ip.into()),
            RdataRef::Full(r) => r.clone(),
        }
    }
}

impl Rrset {
    /// Number of records.
    pub fn len(&self) -> usize {
        match &self.rdatas {
            Rdatas::One4(_) | Rdatas::One6(_) => 1,
            Rdatas::V4(v) => v.len(),
            Rdatas::V6(v) => v.len(),
            Rdatas::Other(v) => v.len(),
        }
    }

    /// True for an empty set (never stored).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records' data, in file order.
    pub fn iter(&self) -> impl Iterator<Item = RdataRef<'_>> {
        let (v4, v6, other) = match &self.rdatas {
            Rdatas::One4(ip) => (std::slice::from_ref(ip), &[][..], &[][..]),
            Rdatas::One6(ip) => (&[][..], std::slice::from_ref(ip), &[][..]),
            Rdatas::V4(v) => (&v[..], &[][..], &[][..]),
            Rdatas::V6(v) => (&[][..], &v[..], &[][..]),
            Rdatas::Other(v) => (&[][..], &[][..], &v[..]),
        };
        v4.iter()
            .map(|ip| RdataRef::V4(*ip))
            .chain(v6.iter().map(|ip| RdataRef::V6(*ip)))
            .chain(other.iter().map(RdataRef::Full))
    }

    /// The data of types other than A and AAAA (empty for those).
    pub fn others(&self) -> &[RData] {
        match &self.rdatas {
            Rdatas::Other(v) => v,
            _ => &[],
        }
    }

    /// Adds `data` unless the set holds it already; true if added.
    fn push(&mut self, data: Data) -> bool {
        match (&mut self.rdatas, data) {
            (Rdatas::One4(first), Data::V4(a)) if *first != a => {
                self.rdatas = Rdatas::V4(vec![*first, a]);
            }
            (Rdatas::One6(first), Data::V6(a)) if *first != a => {
                self.rdatas = Rdatas::V6(vec![*first, a]);
            }
            (Rdatas::V4(v), Data::V4(a)) if !v.contains(&a) => v.push(a),
            (Rdatas::V6(v), Data::V6(a)) if !v.contains(&a) => v.push(a),
            (Rdatas::Other(v), Data::Other(r)) if !v.contains(&r) => v.push(*r),
            _ => return false,
        }
        true
    }

    fn new(rtype: RecordType, ttl: u32, data: Data) -> Rrset {
        let rdatas = match data {
            Data::V4(a) => Rdatas::One4(a),
            Data::V6(a) => Rdatas::One6(a),
            Data::Other(other) => Rdatas::Other(vec![*other]),
        };
        Rrset { rtype, ttl, rdatas }
    }
}

/// One owner name: its RRsets, or none for an empty non-terminal.
#[derive(Clone, Debug, Default)]
pub struct Node {
    /// RRsets at this name, by type.
    pub rrsets: smallvec::SmallVec<[Rrset; 1]>,
    /// True at a delegation point (NS below the apex): data here and below is not authoritative.
    pub is_cut: bool,
}

impl Node {
    /// Adds a record (once: a set split over parse chunks may repeat one).
    fn push(&mut self, rtype: RecordType, ttl: u32, data: Data) {
        match self.rrsets.iter_mut().find(|s| s.rtype == rtype) {
            // A record repeated (whatever its TTL) is ignored, as
            // hickory's parser ignores it within one parse (RFC 2136 §1.1.1:
            // the TTL is not part of a record's identity).
            Some(set) => {
                if set.push(data) {
                    set.ttl = set.ttl.min(ttl);
                }
            }
            None => {
                // Past the one held inline, a push reserves room for four:
                // keep the slack out of a million nodes.
                self.rrsets.reserve_exact(1);
                self.rrsets.push(Rrset::new(rtype, ttl, data));
                self.rrsets.sort_by_key(|s| u16::from(s.rtype));
            }
        }
    }

    /// The RRset of `rtype`, if any.
    pub fn get(&self, rtype: RecordType) -> Option<&Rrset> {
        self.rrsets.iter().find(|r| r.rtype == rtype)
    }
}

/// One zone, immutable once loaded.
#[derive(Debug)]
pub struct Zone {
    /// The apex name (lower case), where the SOA is.
    pub origin: Name,
    /// The file it came from.
    pub file: PathBuf,
    /// Every owner name and empty non-terminal, lower case.
    nodes: Nodes,
    /// The SOA record, for negative answers.
    pub soa: Record,
    /// TTL of the SOA in negative answers: min(SOA TTL, MINIMUM), RFC 2308 §3.
    pub negative_ttl: u32,
}

impl Zone {
    /// The node at `name` (lower case), including empty non-terminals.
    pub fn node(&self, name: &Name) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// The node at `name` with its stored (lower-case) owner name.
    pub fn node_entry(&self, name: &Name) -> Option<(&Name, &Node)> {
        self.nodes.get_key_value(name)
    }

    /// The wildcard node `*.<encloser>` with its name, if the zone has one.
    pub fn wildcard_at(&self, encloser: &Name) -> Option<(&Name, &Node)> {
        let wildcard = encloser.prepend_label("*").ok()?;
        self.nodes.get_key_value(&wildcard)
    }

    /// Every owner name and empty non-terminal with its node, in no particular order.
    pub fn node_list(&self) -> &[(Name, Node)] {
        &self.nodes.list
    }

    /// Number of nodes: owner names and empty non-terminals.
    pub fn len(&self) -> usize {
        self.nodes.list.len()
    }

    /// True for a zone without nodes (never loaded: the apex has the SOA).
    pub fn is_empty(&self) -> bool {
        self.nodes.list.is_empty()
    }

    /// Every node, for building tables.
    pub fn nodes(&self) -> impl Iterator<Item = (&Name, &Node)> {
        self.nodes.iter()
    }

    /// The highest delegation point at or above `name` (below the apex), if any.
    pub fn find_cut(&self, name: &Name) -> Option<(&Name, &Node)> {
        let apex_labels = label_count(&self.origin);
        let labels = label_count(name);
        for n in apex_labels + 1..=labels {
            let ancestor = name.trim_to(n);
            match self.nodes.get_key_value(&ancestor) {
                Some((owner, node)) if node.is_cut => return Some((owner, node)),
                Some(_) => {}
                // No node here means nothing below exists either.
                None => return None,
            }
        }
        None
    }

    /// The longest existing ancestor of `name` (which itself does not exist).
    /// Walks down from the apex: every ancestor of a node exists (empty
    /// non-terminals included), so the walk stops at the first gap, and a
    /// 127-label query costs a few lookups instead of one per label.
    pub fn closest_encloser(&self, name: &Name) -> Name {
        let apex_labels = label_count(&self.origin);
        let labels = label_count(name);
        let mut encloser = self.origin.clone();
        for n in apex_labels + 1..labels {
            let ancestor = name.trim_to(n);
            if !self.nodes.contains_key(&ancestor) {
                break;
            }
            encloser = ancestor;
        }
        encloser
    }
}

/// Every loaded zone, immutable; a reload builds a new one.
#[derive(Debug, Default)]
pub struct ZoneSet {
    /// Zones by origin (lower case).
    zones: HashMap<Name, Arc<Zone>>,
    /// Labels of the deepest origin.
    max_labels: usize,
}

impl ZoneSet {
    /// Loads and checks every file; the first error stops the load.
    pub fn load(files: &[PathBuf]) -> Result<ZoneSet, ZoneError> {
        let mut zones: HashMap<Name, Arc<Zone>> = HashMap::new();
        for file in files {
            let zone = load_zone(file)?;
            if let Some(first) = zones.get(&zone.origin) {
                return Err(ZoneError::Duplicate {
                    path: file.clone(),
                    origin: zone.origin.to_ascii(),
                    first: first.file.clone(),
                });
            }
            zones.insert(zone.origin.clone(), Arc::new(zone));
        }
        let max_labels = zones.keys().map(label_count).max().unwrap_or(0);
        Ok(ZoneSet { zones, max_labels })
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

/// The parsed records of one file, flattened, in no particular order.
type Parsed = Vec<(Name, RecordType, DNSClass, u32, RData)>;

fn parse(text: &str, path: &Path, hint: Option<Name>) -> Result<Parsed, ZoneProblem> {
    hickory_parse(text, Some(path.to_path_buf()), hint).map(flatten)
}

/// hickory's parser over `text` (`path` for relative `$INCLUDE`s, `origin`
/// until an `$ORIGIN`), its message said plainly. A panic in the parser is
/// an error here, not the end of the server.
fn hickory_parse(
    text: &str,
    path: Option<PathBuf>,
    origin: Option<Name>,
) -> Result<BTreeMap<RrKey, RecordSet>, ZoneProblem> {
    let parsed =
        std::panic::catch_unwind(AssertUnwindSafe(|| Parser::new(text, path, origin).parse()));
    match parsed {
        Ok(Ok((_, sets))) => Ok(sets),
        Ok(Err(source)) => Err(ZoneProblem::Parser {
            message: explain(source.to_string()),
            source,
        }),
        Err(_) => Err(ZoneProblem::ParserPanic),
    }
}

/// The parser's records, flattened. The map is ordered by (name, type):
/// records of one name stay together, which the checks rely on.
fn flatten(sets: BTreeMap<RrKey, RecordSet>) -> Parsed {
    let mut out = Vec::with_capacity(sets.len());
    for (key, set) in sets {
        let name = Name::from(key.name);
        for r in set.into_parts().records {
            out.push((name.clone(), r.record_type(), r.dns_class, r.ttl, r.data));
        }
    }
    out
}

/// The error a text that `parsed` as this gives: the parser's, or the first
/// record check that fails (with the zone's `origin`, the in-zone checks too).
fn first_error(parsed: Result<Parsed, ZoneProblem>, origin: Option<&Name>) -> Option<ZoneProblem> {
    match parsed {
        Ok(records) => check_records(&records, origin).err(),
        Err(e) => Some(e),
    }
}

/// Lines before offset `at` of `text`.
fn lines_before(text: &str, at: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..at]).count()
}

/// Longest parser message kept: hickory quotes the offending token, and a
/// 50 MB garbage line must not make a 50 MB error.
const MAX_MESSAGE: usize = 200;

/// hickory's message, said plainly where it misleads, and cut short.
fn explain(msg: String) -> String {
    let mut msg = match msg.rsplit_once("record type string unknown: ") {
        // A number where the type should be: a TTL past 32 bits (`4294967296`,
        // `7102w`) that the parser went on to read as a type. No type starts
        // with a digit.
        Some((_, word)) if word.starts_with(|c: char| c.is_ascii_digit()) => {
            format!("TTL {word} exceeds {MAX_TTL} (RFC 2181)")
        }
        // `get`, not slicing: the fourth byte may sit inside a UTF-8 character (found by fuzzing).
        Some((_, word))
            if word.len() > 4
                && word
                    .get(..4)
                    .is_some_and(|w| w.eq_ignore_ascii_case("TYPE")) =>
        {
            format!("unknown record type {word}: RFC 3597 generic types are not supported")
        }
        // hickory's parser refuses DNSSEC key types in zone files.
        _ if msg.ends_with(" should be dynamically generated") => format!(
            "{} records are not supported in zone files (hale serves no DNSSEC keys)",
            msg.rsplit(": ")
                .next()
                .unwrap_or(&msg)
                .trim_end_matches(" should be dynamically generated")
        ),
        _ if msg.ends_with("unrecognized token in stream: At") => "`@` is read as the origin \
            only as an owner and in the data of CNAME, NS, PTR, MX, SOA, SRV, SVCB, HTTPS and \
            ANAME records, not in $INCLUDEd files: write the name here"
            .into(),
        _ => msg,
    };
    if msg.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !msg.is_char_boundary(end) {
            end -= 1;
        }
        msg.truncate(end);
        msg.push('…');
    }
    msg
}

/// Files smaller than this are read on one thread: threads cost more than they save.
const PARALLEL_MIN: usize = 1 << 20;

/// One piece of a zone file cut by [`split_points`]: where it starts, its
/// text, and the directives to put before it.
struct Piece<'t> {
    start: usize,
    text: &'t str,
    prefix: String,
}

impl Piece<'_> {
    /// The piece as parsed alone: directives in force, then its lines.
    fn parsable(&self) -> String {
        format!("{}{}", self.prefix, self.text)
    }
}

/// [`split_points`] with each piece's text, which ends where the next begins.
fn pieces(text: &str, target: usize) -> Option<Vec<Piece<'_>>> {
    let points = split_points(text, target)?;
    let ends = points.iter().skip(1).map(|p| p.0).chain([text.len()]);
    Some(
        points
            .iter()
            .zip(ends)
            .map(|((start, prefix), end)| Piece {
                start: *start,
                text: &text[*start..end],
                prefix: prefix.clone(),
            })
            .collect(),
    )
}

/// The `$ORIGIN` and `$TTL` in force at a place in a zone file, as written:
/// hickory reads `$ORIGIN` without the current origin, so repeating the text
/// keeps its meaning.
#[derive(Clone, Debug, Default, PartialEq)]
struct Directives {
    origin: Option<String>,
    ttl: Option<String>,
}

impl Directives {
    /// The directives as lines to put before a piece.
    fn prefix(&self) -> String {
        let origin = self.origin.as_ref().map(|o| format!("$ORIGIN {o}\n"));
        let ttl = self.ttl.as_ref().map(|t| format!("$TTL {t}\n"));
        format!("{}{}", origin.unwrap_or_default(), ttl.unwrap_or_default())
    }
}

/// Every place `text` can be cut so that what follows parses on its own:
/// `(offset, index into the directives)` pairs, the first at 0 with no
/// directives, and the directives. `None` when it cannot be cut safely (`$INCLUDE` or another
/// directive, two directives on one line).
///
/// Cuts are at lines that begin with an owner name outside parentheses and
/// quotes, once a `$TTL` is known, so every piece means what it meant in
/// the whole file, and a piece that fails is where the whole file fails.
fn record_starts(text: &str, threads: usize) -> Option<records::Starts> {
    let mut starts: Vec<(usize, u32)> = vec![(0, 0)];
    let mut directives = vec![Directives::default()];
    let mut now = Directives::default();
    // Lines that start outside parentheses and quotes, as hickory's lexer
    // reads them: a cut anywhere else would make a piece fail (or mean
    // something else) where the whole file does not.
    for start in std::iter::once(0).chain(scan::record_ends_on(text, threads)) {
        let line = &text[start..];
        if carries_state(line) {
            return None;
        }
        // The lexer reads any Unicode white space (a vertical tab, a
        // no-break space) at a line's start as a blank owner.
        let blank = match line.as_bytes().first() {
            Some(&b) if b.is_ascii() => (b as char).is_whitespace(),
            _ => line.chars().next().is_some_and(char::is_whitespace),
        };
        match text.as_bytes().get(start) {
            Some(b'$') => {
                let line = text[start..].split('\n').next().unwrap_or_default();
                let mut words = line.split_whitespace();
                match words.next() {
                    Some("$ORIGIN") => now.origin = words.next().map(str::to_owned),
                    Some("$TTL") => now.ttl = words.next().map(str::to_owned),
                    _ => return None,
                }
                // `$TTL 60 $ORIGIN sub.` is two directives on one line; the
                // prefixes would miss the second: parse in one piece.
                if words.next().is_some_and(|w| !w.starts_with(';')) {
                    return None;
                }
            }
            Some(b) if !blank && *b != b';' && now.ttl.is_some() && start > 0 => {
                if directives.last() != Some(&now) {
                    directives.push(now.clone());
                }
                starts.push((start, (directives.len() - 1) as u32));
            }
            _ => {}
        }
    }
    Some(records::Starts { starts, directives })
}

/// Whether the line `line` starts (at a record boundary) ends after its
/// owner, TTL and class without a type. hickory's parser then keeps that
/// TTL or class for the next record (`www 300` on a line, `mail A …` on
/// the next gets TTL 300), which a record parsed alone would not see.
fn carries_state(line: &str) -> bool {
    // Bytes, not chars: this runs on every line of a million-record file.
    // A multi-byte character is no TTL or class: the line does not carry.
    let bytes = line.as_bytes();
    let space = |b: u8| b == b' ' || b == b'\t' || b == b'\r';
    let mut i = 0;
    match bytes.first() {
        Some(b'$') | None => return false,
        Some(&b) if space(b) => {}
        // Past the owner.
        Some(_) => {
            while i < bytes.len() && !space(bytes[i]) && bytes[i] != b'\n' {
                i += 1;
            }
        }
    }
    let mut any = false;
    loop {
        while i < bytes.len() && space(bytes[i]) {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !space(bytes[i]) && !b"\n;(\"".contains(&bytes[i]) {
            i += 1;
        }
        let word = &line[start..i];
        if word.is_empty() {
            // End of line or comment: carries what it read; parentheses or
            // a quote before the type fail in either parse.
            return any && !matches!(bytes.get(i), Some(b'(' | b'"'));
        }
        let class = word.len() <= 4
            && ["IN", "CH", "HS", "NONE", "ANY", "*"]
                .iter()
                .any(|c| word.eq_ignore_ascii_case(c));
        let ttl = word.as_bytes()[0].is_ascii_digit()
            && hickory_proto::serialize::txt::parse_ttl(word).is_ok();
        if !class && !ttl {
            // A type (or something the parser rejects either way).
            return false;
        }
        any = true;
    }
}

/// Where `text` can be cut into pieces of about `target` bytes that each
/// parse on their own ([`record_starts`]): `(offset, prefix)` pairs, the
/// first at 0, each prefix repeating the `$ORIGIN` and `$TTL` in force there.
fn split_points(text: &str, target: usize) -> Option<Vec<(usize, String)>> {
    let records::Starts { starts, directives } = record_starts(text, 1)?;
    let mut pieces: Vec<(usize, String)> = vec![(0, String::new())];
    for (start, d) in starts.into_iter().skip(1) {
        if start - pieces.last().map_or(0, |p| p.0) >= target {
            pieces.push((start, directives[d as usize].prefix()));
        }
    }
    Some(pieces)
}

/// Record-level checks that can be pinned to a line: [`check_record`] on
/// each, and with the zone's `origin`, [`check_in_zone`].
fn check_records(records: &Parsed, origin: Option<&Name>) -> Result<(), ZoneProblem> {
    let mut scratch = Vec::new();
    for (name, rtype, class, ttl, rdata) in records {
        check_record(name, *rtype, *class, *ttl, rdata, &mut scratch)?;
        if let Some(origin) = origin {
            check_in_zone(name, *rtype, origin)?;
        }
    }
    // CNAME and other data: checked on the nodes, where a name's records
    // meet wherever their lines are (see `load_zone`).
    Ok(())
}

/// What one record must be whatever the zone: data the wire can carry and
/// readers take back, class IN, a TTL within RFC 2181.
fn check_record(
    name: &Name,
    rtype: RecordType,
    class: DNSClass,
    ttl: u32,
    rdata: &RData,
    scratch: &mut Vec<u8>,
) -> Result<(), ZoneProblem> {
    let record = |problem| ZoneProblem::Record {
        name: Box::new(name.clone()),
        rtype,
        problem,
    };
    // An address always makes the round trip below: skip it for the bulk
    // of big zones.
    if !matches!(rdata, RData::A(_) | RData::AAAA(_)) {
        round_trip(rtype, rdata, scratch).map_err(record)?;
    }
    if class != DNSClass::IN {
        return Err(record(RecordError::Class { class }));
    }
    if ttl > MAX_TTL {
        return Err(record(RecordError::Ttl { ttl }));
    }
    Ok(())
}

/// The parser accepts some data the wire cannot carry (a TXT string over
/// 255 bytes), and writes some in a form no reader takes back (an empty
/// TXT, a CAA tag with characters RFC 8659 forbids: found by fuzzing), so
/// resolvers would reject every answer holding it: find it now rather than
/// fail every answer later.
fn round_trip(rtype: RecordType, rdata: &RData, scratch: &mut Vec<u8>) -> Result<(), RecordError> {
    scratch.clear();
    rdata
        .emit(&mut BinEncoder::new(scratch))
        .map_err(|source| RecordError::CannotSend { source })?;
    if scratch.is_empty() {
        return Err(RecordError::NoData);
    }
    let length = Restrict::new(scratch.len() as u16);
    RData::read(&mut BinDecoder::new(scratch), rtype, length)
        .map_err(|source| RecordError::Wire { source })?;
    Ok(())
}

/// A record of the zone at `origin` is at or below it, and its only SOA is there.
fn check_in_zone(name: &Name, rtype: RecordType, origin: &Name) -> Result<(), ZoneProblem> {
    if !within(name, origin) {
        return Err(ZoneProblem::OutsideZone {
            name: Box::new(name.clone()),
            origin: Box::new(origin.clone()),
        });
    }
    if rtype == RecordType::SOA && name != origin {
        return Err(ZoneProblem::SecondSoa {
            name: Box::new(name.clone()),
            origin: Box::new(origin.clone()),
        });
    }
    Ok(())
}

/// The line where the error `msg` is: the first line of the shortest run of
/// whole records from the start of `text` that reproduces it, so a parser
/// error without a position still names its line. Prefixes end between
/// records only: one cut inside a record's parentheses or quotes fails by
/// itself ("unclosed list"), which may be the very message searched for
/// (an unclosed parenthesis on line 12 was reported at the SOA's on line 3).
///
/// Errors are told apart by their text: a prefix fails "the same way" when
/// operators would read the same message, and hickory's `ParseError` has no
/// equality to compare by.
fn error_line(
    text: &str,
    msg: &ZoneProblem,
    fails_with: impl Fn(&str) -> Option<ZoneProblem>,
) -> usize {
    let msg = msg.to_string();
    let mut ends = scan::record_ends(text);
    if ends.last() != Some(&text.len()) {
        ends.push(text.len());
    }
    // The first end whose prefix fails; the whole text is taken to.
    let (mut lo, mut hi) = (0usize, ends.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails_with(&text[..ends[mid]]).is_some_and(|e| e.to_string() == msg) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let start = if lo == 0 { 0 } else { ends[lo - 1] };
    1 + lines_before(text, start)
}

/// Bytes per piece when locating an error in a big file ...
const LOCATE_PIECE: usize = 64 << 10;
/// ... and the size from which a file is searched in pieces.
const LOCATE_MIN: usize = 4 * LOCATE_PIECE;

/// The line of `msg` in `text`. [`error_line`] parses one prefix per step,
/// so an error near the end of a 200,000-record file took twenty parses of
/// nearly all of it (12 s; minutes at a million records). A big file is cut
/// into pieces that parse on their own ([`split_points`]) and only the first
/// piece failing the same way is searched; when none does (the error needs
/// two far-apart lines), the whole file is.
///
/// `from` is an offset the error is known not to precede.
fn find_line(
    text: &str,
    msg: &ZoneProblem,
    from: usize,
    fails: &impl Fn(&str) -> Option<ZoneProblem>,
) -> usize {
    // Compared by text, as in `error_line`.
    let wanted = msg.to_string();
    if text.len() >= LOCATE_MIN
        && let Some(pieces) = pieces(text, LOCATE_PIECE)
        && pieces.len() > 1
    {
        for piece in &pieces {
            if piece.start + piece.text.len() <= from {
                continue;
            }
            let in_piece = |p: &str| fails(&format!("{}{p}", piece.prefix));
            if in_piece(piece.text).is_some_and(|e| e.to_string() == wanted) {
                let before = lines_before(text, piece.start);
                return before + error_line(piece.text, msg, in_piece);
            }
        }
    }
    error_line(text, msg, fails)
}

/// Pins an error to its line, following one `$INCLUDE` level: when the
/// failing line includes a file, the error is in that file, so the search goes
/// on there with the including file's context (origin, TTL) in front of it.
fn locate(
    path: &Path,
    text: &str,
    msg: ZoneProblem,
    from: usize,
    fails: impl Fn(&str) -> Option<ZoneProblem>,
) -> ZoneError {
    let line = find_line(text, &msg, from, &fails);
    let invalid = |path: &Path, line: usize, problem: ZoneProblem| ZoneError::Invalid {
        path: path.to_path_buf(),
        line,
        problem: Box::new(problem),
    };
    let before: String = text.split_inclusive('\n').take(line - 1).collect();
    let Some(include) = text
        .split_inclusive('\n')
        .nth(line - 1)
        .and_then(|l| l.trim_start().strip_prefix("$INCLUDE"))
        .and_then(|rest| rest.split_whitespace().next())
    else {
        return invalid(path, line, msg);
    };
    let file = path.parent().unwrap_or(Path::new(".")).join(include);
    let Ok(included) = std::fs::read_to_string(&file) else {
        return invalid(path, line, msg);
    };
    let inner = error_line(&included, &msg, |prefix| {
        fails(&format!("{before}{prefix}\n"))
    });
    let context = ZoneProblem::Included {
        problem: Box::new(msg),
        from: path.to_path_buf(),
        line,
    };
    invalid(&file, inner, context)
}

/// Owner and type of the records an error between two records looks at.
type Seen = Vec<(Name, RecordType)>;

/// Locates an error that takes two records, which may be far apart (a CNAME
/// and other data at one name, two SOAs): the first line by which the
/// records read so far, the `relevant` ones, make `done` true. A big file is
/// parsed once, in pieces on every core; then only the piece where `done`
/// turns true is searched line by line. (Searching the whole file parses a
/// prefix per step: at 200,000 records that took minutes.)
///
/// `problem` makes the error afresh each time a search step needs it: a
/// `ZoneProblem` cannot be cloned (hickory's `ParseError` cannot).
fn locate_pair(
    path: &Path,
    text: &str,
    hint: &Option<Name>,
    problem: impl Fn() -> ZoneProblem,
    relevant: impl Fn(&Name, RecordType) -> bool + Sync,
    done: impl Fn(&Seen) -> bool,
) -> ZoneError {
    let keep = |text: &str| -> Option<Seen> {
        let records = parse(text, path, hint.clone()).ok()?;
        Some(
            records
                .into_iter()
                .filter(|r| relevant(&r.0, r.1))
                .map(|r| (r.0, r.1))
                .collect(),
        )
    };
    if text.len() >= LOCATE_MIN
        && let Some(pieces) = pieces(text, LOCATE_PIECE)
        && pieces.len() > 1
    {
        let piece_text = |i: usize| pieces[i].parsable();
        let cores = crate::parallel::cores();
        let per_thread = pieces.len().div_ceil(cores);
        let runs: Vec<std::ops::Range<usize>> = (0..pieces.len())
            .step_by(per_thread)
            .map(|first| first..(first + per_thread).min(pieces.len()))
            .collect();
        let found: Vec<Option<Seen>> = crate::parallel::each_on_threads(&runs, |run| {
            run.clone()
                .map(|i| keep(&piece_text(i)))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .zip(&runs)
        // A thread lost to a panic leaves its pieces unknown (`None`).
        .flat_map(|(done, run)| done.unwrap_or_else(|| vec![None; run.len()]))
        .collect();
        let mut seen = Seen::new();
        for (i, piece) in found.iter().enumerate() {
            // A piece that does not parse alone, or lost to a panic: search the whole file.
            let Some(piece) = piece else { break };
            let before = seen.len();
            seen.extend(piece.iter().cloned());
            if !done(&seen) {
                continue;
            }
            seen.truncate(before);
            let piece = &pieces[i];
            let lines_before = lines_before(text, piece.start);
            let msg = problem();
            let line = error_line(piece.text, &msg, |p| {
                let mut all = seen.clone();
                all.extend(keep(&format!("{}{p}", piece.prefix))?);
                done(&all).then(&problem)
            });
            return ZoneError::Invalid {
                path: path.to_path_buf(),
                line: lines_before + line,
                problem: Box::new(msg),
            };
        }
    }
    let fails = |prefix: &str| match parse(prefix, path, hint.clone()) {
        Ok(r) => {
            let seen: Seen = r
                .into_iter()
                .filter(|r| relevant(&r.0, r.1))
                .map(|r| (r.0, r.1))
                .collect();
            done(&seen).then(&problem)
        }
        Err(e) => Some(e),
    };
    locate(path, text, problem(), 0, fails)
}

fn load_zone(path: &Path) -> Result<Zone, ZoneError> {
    load_zone_read(path, Some((PARALLEL_MIN, records::BATCH)))
}

/// [`load_zone`], reading the file a record at a time when it can, on every
/// core from `parallel_min` bytes, in batches of `batch` (`by_record`);
/// else (`None`) with one parse of the whole file.
fn load_zone_read(path: &Path, by_record: Option<(usize, usize)>) -> Result<Zone, ZoneError> {
    let invalid = |line: usize, problem: ZoneProblem| ZoneError::Invalid {
        path: path.to_path_buf(),
        line,
        problem: Box::new(problem),
    };
    let hint = origin_from_file_name(path);
    let text = scan::read_text(path)?;
    // Once, before anything else reads the text: the checks below then see
    // what the parser reads.
    let text = match rewrite::rewrite(&text, hint.as_ref()) {
        Ok(Some(rewritten)) => rewritten,
        Ok(None) => text,
        Err((at, problem)) => return Err(invalid(1 + lines_before(&text, at), problem.into())),
    };
    // Before hickory follows any `$INCLUDE` or misreads `\#` data.
    scan::check(path, &text)?;

    let t0 = tokio::time::Instant::now();
    let cores = crate::parallel::cores();
    // A prefix of the file fails as the whole does: the parser's error or
    // the first record check that fails.
    let fails = |prefix: &str| first_error(parse(prefix, path, hint.clone()), None);

    let hasher = foldhash::fast::RandomState::default();
    let mut build = Builder::new(&hasher, text.len() / 24);
    let read = by_record.and_then(|(parallel_min, batch)| {
        let threads = if text.len() < parallel_min { 1 } else { cores };
        records::read(&text, &hint, threads, batch, &hasher, |records| {
            build.add(records)
        })
    });
    // The line of an offset in the file.
    let line_of = |at: usize| 1 + lines_before(&text, at);
    // Read a record at a time, each record's offset is known; parsed whole,
    // errors are searched for by parsing prefixes.
    if let Some((at, problem)) = build.conflict.take() {
        return Err(invalid(line_of(at), problem));
    }
    let whole = match read {
        Some(Ok(())) => false,
        Some(Err((at, line, problem))) => return Err(invalid(line_of(at) + line - 1, problem)),
        None => {
            // Give back the first builder's room before taking it again.
            drop(build);
            build = Builder::new(&hasher, text.len() / 24);
            let read = parse(&text, path, hint.clone()).and_then(|parsed| {
                check_records(&parsed, None)?;
                build.add(
                    &mut parsed
                        .into_iter()
                        .map(|(name, rtype, _, ttl, rdata)| Rec {
                            hash: hasher.hash_one(&name),
                            name,
                            at: 0,
                            rtype,
                            ttl,
                            data: rdata.into(),
                        })
                        .collect(),
                );
                Ok(())
            });
            if let Err(problem) = read {
                return Err(locate(path, &text, problem, 0, fails));
            }
            true
        }
    };
    let Builder {
        mut nodes,
        soas,
        outside,
        ..
    } = build;

    tracing::debug!(file = %path.display(), ms = t0.elapsed().as_millis() as u64, "zone file read");
    // Two SOAs at different names (hickory rejects two at one name): the
    // apex would be whichever came first, and the error would fall on every
    // record of the other zone. Name both, at the line of the second.
    if let [a, b, ..] = &soas[..] {
        let problem = || ZoneProblem::TwoSoas {
            first: Box::new(a.0.clone()),
            second: Box::new(b.0.clone()),
        };
        let is_soa = |_: &Name, t: RecordType| t == RecordType::SOA;
        return Err(locate_pair(path, &text, &hint, problem, is_soa, |seen| {
            seen.len() > 1
        }));
    }
    // The apex is where the SOA is.
    let Some((origin, soa_ttl, soa_rdata)) = soas.into_iter().next() else {
        return Err(invalid(1, ZoneProblem::NoSoa));
    };
    let negative_ttl = match &soa_rdata {
        RData::SOA(s) => soa_ttl.min(s.minimum),
        _ => soa_ttl,
    };
    let soa_record = Record::from_rdata(origin.clone(), soa_ttl, soa_rdata);

    let t1 = tokio::time::Instant::now();
    if let Some((at, name)) = outside {
        let problem = ZoneProblem::OutsideZone {
            name: Box::new(name),
            origin: Box::new(origin.clone()),
        };
        if !whole {
            return Err(invalid(line_of(at), problem));
        }
        let fails = |prefix: &str| first_error(parse(prefix, path, hint.clone()), Some(&origin));
        return Err(locate(path, &text, problem, 0, fails));
    }
    if nodes
        .get(&origin)
        .and_then(|apex| apex.get(RecordType::NS))
        .is_none()
    {
        return Err(invalid(
            1,
            ZoneProblem::NoApexNs {
                origin: Box::new(origin),
            },
        ));
    }
    tracing::debug!(ms = t1.elapsed().as_millis() as u64, "records checked");

    let t2 = tokio::time::Instant::now();
    // Empty non-terminals: every missing name between an owner and the
    // apex, up to the first ancestor already known. (Most names sit right
    // below the apex: no ancestor to make.)
    let apex_labels = label_count(&origin);
    // The list only grows: the names filed from the file are its first `filed`.
    let filed = nodes.list.len();
    for i in 0..filed {
        let mut up = nodes.list[i].0.clone();
        while label_count(&up) > apex_labels + 1 {
            up = up.base_name();
            let hash = nodes.hasher.hash_one(&up);
            if nodes.position_hashed(&up, hash).is_some() {
                break;
            }
            nodes.entry_owned(up.clone(), hash);
        }
    }
    tracing::debug!(ms = t2.elapsed().as_millis() as u64, "nodes built");
    for (name, node) in nodes.iter_mut() {
        node.is_cut = *name != origin && node.get(RecordType::NS).is_some();
        // CNAME and other data (RFC 1034 §3.6.2). Its two lines may be far
        // apart, in pieces parsed apart: `locate_pair` finds the second.
        if node.get(RecordType::CNAME).is_some()
            && let Some(other) = node.rrsets.iter().find(|s| s.rtype != RecordType::CNAME)
        {
            let problem = || ZoneProblem::CnameAndOther {
                name: Box::new(name.clone()),
                other: other.rtype,
            };
            let here = |n: &Name, _: RecordType| same_name(n, name);
            let both = |seen: &Seen| {
                seen.iter().any(|r| r.1 == RecordType::CNAME)
                    && seen.iter().any(|r| r.1 != RecordType::CNAME)
            };
            return Err(locate_pair(path, &text, &hint, problem, here, both));
        }
    }

    // The list was sized from the file's length.
    nodes.list.shrink_to_fit();
    Ok(Zone {
        origin,
        file: path.to_path_buf(),
        nodes,
        soa: soa_record,
        negative_ttl,
    })
}

mod error;
mod records;
mod rewrite;
mod scan;

use records::{Data, Rec};
#[cfg(test)]
mod tests;
