//! Owns zone data: reads RFC 1035 master files with hickory's parser, checks
//! them, and keeps them in an immutable [`ZoneSet`] indexed for answering.
//!
//! Every name is stored lower-cased; empty non-terminals get an empty node so
//! that "name exists" is one lookup (NODATA vs NXDOMAIN, closest encloser).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use hickory_proto::serialize::txt::Parser;

/// Largest TTL RFC 2181 §8 allows.
const MAX_TTL: u32 = (1 << 31) - 1;

/// A zone file that could not be loaded.
#[derive(thiserror::Error, Debug)]
pub enum ZoneError {
    /// The file could not be read.
    #[error("{}: cannot read zone file: {source}", path.display())]
    Read {
        /// The zone file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is malformed or its content is not a valid zone.
    #[error("{}:{line}: {msg}", path.display())]
    Invalid {
        /// The zone file.
        path: PathBuf,
        /// 1-based line; for whole-zone problems (no SOA) line 1.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// Two files define the same zone.
    #[error("{}: zone {origin} is already loaded from {}", path.display(), first.display())]
    Duplicate {
        /// The second file.
        path: PathBuf,
        /// The zone's origin.
        origin: String,
        /// The first file.
        first: PathBuf,
    },
}

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
    fn with_capacity(n: usize) -> Nodes {
        Nodes {
            list: Vec::with_capacity(n),
            index: hashbrown::HashTable::with_capacity(n),
            hasher: Default::default(),
        }
    }

    fn position(&self, name: &Name) -> Option<usize> {
        let hash = self.hasher.hash_one(name);
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

    /// The node at `name`, added empty if missing.
    fn entry(&mut self, name: &Name) -> &mut Node {
        let i = match self.position(name) {
            Some(i) => i,
            None => {
                let i = self.list.len();
                self.list.push((name.clone(), Node::default()));
                let hash = self.hasher.hash_one(name);
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

    fn push(&mut self, rdata: RData) {
        match (&mut self.rdatas, rdata) {
            (Rdatas::One4(first), RData::A(a)) if *first != a.0 => {
                self.rdatas = Rdatas::V4(vec![*first, a.0]);
            }
            (Rdatas::One6(first), RData::AAAA(a)) if *first != a.0 => {
                self.rdatas = Rdatas::V6(vec![*first, a.0]);
            }
            (Rdatas::V4(v), RData::A(a)) if !v.contains(&a.0) => v.push(a.0),
            (Rdatas::V6(v), RData::AAAA(a)) if !v.contains(&a.0) => v.push(a.0),
            (Rdatas::Other(v), r) if !v.contains(&r) => v.push(r),
            _ => {}
        }
    }

    fn new(rtype: RecordType, ttl: u32, rdata: RData) -> Rrset {
        let rdatas = match rdata {
            RData::A(a) => Rdatas::One4(a.0),
            RData::AAAA(a) => Rdatas::One6(a.0),
            other => Rdatas::Other(vec![other]),
        };
        Rrset { rtype, ttl, rdatas }
    }
}

/// One owner name: its RRsets, or none for an empty non-terminal.
#[derive(Clone, Debug, Default)]
pub struct Node {
    /// RRsets at this name.
    pub rrsets: Vec<Rrset>,
    /// True at a delegation point (NS below the apex): data here and below is not authoritative.
    pub is_cut: bool,
}

impl Node {
    /// Adds a record (once: a set split over parse chunks may repeat one).
    fn push(&mut self, rtype: RecordType, ttl: u32, rdata: RData) {
        match self.rrsets.iter_mut().find(|s| s.rtype == rtype) {
            Some(set) => {
                set.ttl = set.ttl.min(ttl);
                set.push(rdata);
            }
            None => {
                // A Vec's first push reserves room for four: most names have
                // one RRset, and at a million names the slack is ~100 MB.
                self.rrsets.reserve_exact(1);
                self.rrsets.push(Rrset::new(rtype, ttl, rdata));
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
    pub fn closest_encloser(&self, name: &Name) -> Name {
        let apex_labels = label_count(&self.origin);
        let mut n = label_count(name);
        while n > apex_labels {
            n -= 1;
            let ancestor = name.trim_to(n);
            if self.nodes.contains_key(&ancestor) {
                return ancestor;
            }
        }
        self.origin.clone()
    }
}

/// Every loaded zone, immutable; a reload builds a new one.
#[derive(Debug, Default)]
pub struct ZoneSet {
    /// Zones by origin (lower case).
    zones: HashMap<Name, Arc<Zone>>,
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
        Ok(ZoneSet { zones })
    }

    /// The zone with the longest origin that contains `name` (lower case).
    pub fn find(&self, name: &Name) -> Option<&Arc<Zone>> {
        let mut n = label_count(name);
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

/// Names compared label by label from the left. The parser hands out
/// lower-case names, and hickory's own comparison walks labels from the right
/// one byte-reversed step at a time: for a million records this is seconds.
fn same(a: &Name, b: &Name) -> bool {
    a.len() == b.len() && a.iter().eq(b.iter())
}

/// Whether lower-case `name` is `origin` or below it.
fn within(name: &Name, origin: &Name) -> bool {
    let (n, o) = (label_count(name), label_count(origin));
    n >= o && name.iter().skip(n - o).eq(origin.iter())
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

fn parse(text: &str, path: &Path, hint: Option<Name>) -> Result<Parsed, String> {
    let (_, sets) = Parser::new(text, Some(path.to_path_buf()), hint)
        .parse()
        .map_err(|e| e.to_string())?;
    // The map is ordered by (name, type): records of one name stay together,
    // which the checks and the node index below rely on.
    let mut out = Vec::with_capacity(sets.len());
    for (key, set) in sets {
        let name = Name::from(key.name);
        for r in set.into_parts().records {
            out.push((name.clone(), r.record_type(), r.dns_class, r.ttl, r.data));
        }
    }
    Ok(out)
}

/// Files smaller than this are parsed in one piece: threads cost more than they save.
const PARALLEL_MIN: usize = 1 << 20;

/// Parses a large zone file in pieces on every core, or returns `None` when
/// it cannot be split safely (small, `$INCLUDE`, no `$TTL`) or any piece
/// fails; the caller then parses the whole file in one piece.
///
/// Pieces start at lines that begin with an owner name outside parentheses
/// and quotes, each prefixed with the `$ORIGIN` and `$TTL` in force there, so
/// every piece means what it meant in the whole file.
fn parse_parallel(
    text: &str,
    path: &Path,
    hint: &Option<Name>,
    threads: usize,
    min: usize,
) -> Option<Parsed> {
    if text.len() < min || threads < 2 {
        return None;
    }
    let target = text.len() / threads + 1;
    let mut pieces: Vec<(usize, String)> = vec![(0, String::new())];
    // The directives in force, as written: hickory reads `$ORIGIN` without
    // the current origin, so repeating the text keeps its meaning.
    let mut origin: Option<String> = None;
    let mut ttl: Option<String> = None;
    let (mut depth, mut quoted) = (0usize, false);
    let mut line_start = 0usize;
    for line in text.split_inclusive('\n') {
        let start = line_start;
        line_start += line.len();
        if depth == 0 && !quoted {
            let mut words = line.split_whitespace();
            match line.as_bytes().first() {
                Some(b'$') => match words.next().map(str::to_ascii_uppercase).as_deref() {
                    Some("$ORIGIN") => origin = words.next().map(str::to_owned),
                    Some("$TTL") => ttl = words.next().map(str::to_owned),
                    _ => return None,
                },
                Some(b) if !b.is_ascii_whitespace() && *b != b';' => {
                    let since = start - pieces.last().map_or(0, |p| p.0);
                    if let (Some(ttl), true) = (&ttl, since >= target) {
                        let origin = origin.as_ref().map(|o| format!("$ORIGIN {o}\n"));
                        pieces.push((start, format!("{}$TTL {ttl}\n", origin.unwrap_or_default())));
                    }
                }
                _ => {}
            }
        }
        let mut escaped = false;
        for b in line.bytes() {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = !quoted,
                b';' if !quoted => break,
                b'(' if !quoted => depth += 1,
                b')' if !quoted => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    if pieces.len() < 2 {
        return None;
    }
    let ends: Vec<usize> = pieces
        .iter()
        .skip(1)
        .map(|p| p.0)
        .chain([text.len()])
        .collect();
    let results: Vec<Option<Parsed>> = std::thread::scope(|scope| {
        let handles: Vec<_> = pieces
            .iter()
            .zip(&ends)
            .map(|((start, prefix), end)| {
                let piece = format!("{prefix}{}", &text[*start..*end]);
                scope.spawn(move || parse(&piece, path, hint.clone()).ok())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    // A second SOA or CNAME for one name is an error or a replacement in one
    // parse (hickory decides); pieces would keep both. Let one parse decide.
    let mut singles = std::collections::HashSet::new();
    for r in &all {
        if matches!(r.1, RecordType::SOA | RecordType::CNAME) && !singles.insert((&r.0, r.1)) {
            return None;
        }
    }
    Some(all)
}

/// Record-level checks that can be pinned to a line.
fn check_records(records: &Parsed, origin: Option<&Name>) -> Result<(), String> {
    let mut scratch = Vec::new();
    for (name, rtype, class, ttl, rdata) in records {
        // The parser accepts some data the wire cannot carry (a TXT string
        // over 255 bytes); find it now rather than fail every answer later.
        scratch.clear();
        if let Err(e) = rdata.emit(&mut BinEncoder::new(&mut scratch)) {
            return Err(format!("{name} {rtype}: cannot be sent: {e}"));
        }
        if *class != DNSClass::IN {
            return Err(format!(
                "{name} {rtype}: class {class} is not supported, only IN"
            ));
        }
        if *ttl > MAX_TTL {
            return Err(format!(
                "{name} {rtype}: TTL {ttl} exceeds {MAX_TTL} (RFC 2181)"
            ));
        }
        if let Some(origin) = origin
            && !within(name, origin)
        {
            return Err(format!("{name} is outside the zone {origin}"));
        }
        if *rtype == RecordType::SOA
            && let Some(origin) = origin
            && name != origin
        {
            return Err(format!(
                "second SOA at {name}: the zone's SOA is at {origin}"
            ));
        }
    }
    // CNAME and other data (RFC 1034 §3.6.2); a name's records are adjacent.
    for run in records.chunk_by(|a, b| same(&a.0, &b.0)) {
        let cname = run.iter().any(|r| r.1 == RecordType::CNAME);
        if let Some(other) = run.iter().find(|r| r.1 != RecordType::CNAME)
            && cname
        {
            return Err(format!(
                "{} has a CNAME and other data ({})",
                other.0, other.1
            ));
        }
    }
    Ok(())
}

/// The smallest number of leading lines of `text` that reproduce `msg`, so a
/// parser error without a position still names its line.
fn error_line(text: &str, msg: &str, fails_with: impl Fn(&str) -> Option<String>) -> usize {
    let ends: Vec<usize> = text
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .chain(std::iter::once(text.len()))
        .collect();
    let (mut lo, mut hi) = (1usize, ends.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails_with(&text[..ends[mid - 1]]).as_deref() == Some(msg) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Pins an error to its line, following one `$INCLUDE` level: when the
/// failing line includes a file, the error is in that file, so the search goes
/// on there with the including file's context (origin, TTL) in front of it.
fn locate(
    path: &Path,
    text: &str,
    msg: String,
    fails: impl Fn(&str) -> Option<String>,
) -> ZoneError {
    let line = error_line(text, &msg, &fails);
    let invalid = |path: &Path, line: usize, msg: String| ZoneError::Invalid {
        path: path.to_path_buf(),
        line,
        msg,
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
    let context = format!("{msg} (included from {}:{line})", path.display());
    invalid(&file, inner, context)
}

fn load_zone(path: &Path) -> Result<Zone, ZoneError> {
    let text = std::fs::read_to_string(path).map_err(|source| ZoneError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |line: usize, msg: String| ZoneError::Invalid {
        path: path.to_path_buf(),
        line,
        msg,
    };
    let hint = origin_from_file_name(path);

    let t0 = tokio::time::Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parsed = match parse_parallel(&text, path, &hint, cores, PARALLEL_MIN) {
        Some(records) => Ok(records),
        // Small, unusual or broken: one parser over the whole file says exactly what and where.
        None => parse(&text, path, hint.clone()),
    };
    let records = match parsed {
        Ok(r) => r,
        Err(msg) => {
            let fails = |prefix: &str| parse(prefix, path, hint.clone()).err();
            return Err(locate(path, &text, msg, fails));
        }
    };

    tracing::debug!(file = %path.display(), ms = t0.elapsed().as_millis() as u64, "zone file parsed");
    // The apex is where the SOA is.
    let soas: Vec<_> = records.iter().filter(|r| r.1 == RecordType::SOA).collect();
    let Some(soa) = soas.first() else {
        return Err(invalid(1, "zone has no SOA record".into()));
    };
    let origin = soa.0.clone();
    let t1 = tokio::time::Instant::now();
    if let Err(msg) = check_records(&records, Some(&origin)) {
        let fails = |prefix: &str| match parse(prefix, path, hint.clone()) {
            Ok(r) => check_records(&r, Some(&origin)).err(),
            Err(e) => Some(e),
        };
        return Err(locate(path, &text, msg, fails));
    }
    if !records
        .iter()
        .any(|r| r.1 == RecordType::NS && r.0 == origin)
    {
        return Err(invalid(
            1,
            format!("zone {origin} has no NS record at its apex"),
        ));
    }

    let soa_record = Record::from_rdata(origin.clone(), soa.3, soa.4.clone());
    let negative_ttl = match &soa.4 {
        RData::SOA(s) => soa.3.min(s.minimum),
        _ => soa.3,
    };

    tracing::debug!(ms = t1.elapsed().as_millis() as u64, "records checked");
    let t2 = tokio::time::Instant::now();
    let apex_labels = label_count(&origin);
    let mut nodes = Nodes::with_capacity(records.len());
    let mut records = records.into_iter().peekable();
    while let Some((name, rtype, _, ttl, rdata)) = records.next() {
        let node = nodes.entry(&name);
        node.push(rtype, ttl, rdata);
        // A name's records are adjacent within each parsed chunk.
        while let Some((_, rtype, _, ttl, rdata)) = records.next_if(|r| same(&r.0, &name)) {
            node.push(rtype, ttl, rdata);
        }
        // Empty non-terminals up to the first ancestor already known; one
        // that gets records later is filled in place. (Most names sit right
        // below the apex: no ancestor to make.)
        let mut up = name;
        while label_count(&up) > apex_labels + 1 {
            up = up.base_name();
            if nodes.contains_key(&up) {
                break;
            }
            nodes.entry(&up);
        }
    }
    tracing::debug!(ms = t2.elapsed().as_millis() as u64, "nodes built");
    for (name, node) in nodes.iter_mut() {
        node.is_cut = *name != origin && node.get(RecordType::NS).is_some();
        // Across parallel chunks a CNAME may meet other data only here.
        if node.get(RecordType::CNAME).is_some() && node.rrsets.len() > 1 {
            let msg = format!("{name} has a CNAME and other data");
            let fails = |prefix: &str| match parse(prefix, path, hint.clone()) {
                Ok(r) => check_records(&r, Some(&origin)).err().map(|_| msg.clone()),
                Err(e) => Some(e),
            };
            return Err(locate(path, &text, msg.clone(), fails));
        }
    }

    Ok(Zone {
        origin,
        file: path.to_path_buf(),
        nodes,
        soa: soa_record,
        negative_ttl,
    })
}

#[cfg(test)]
mod tests;
