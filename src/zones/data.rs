//! Owns the zone in memory: each name's node and RRsets (stored compact,
//! decoded when read), the node index, and the lookups answering needs
//! (closest encloser, wildcards, cuts).

use super::*;

/// The hash of a name in the node index: its wire form, lower case, without
/// the root's final zero, hashed in one go (hickory's `Hash` feeds the hasher
/// a byte at a time: 4 % of a million-record load). [`wire_hash`] gives the
/// same for a wire name.
pub(super) fn name_hash(hasher: &foldhash::fast::RandomState, name: &Name) -> u64 {
    let mut wire = [0u8; 256];
    let mut n = 0;
    for label in name.iter() {
        let Some(room) = wire.get_mut(n..n + 1 + label.len()) else {
            break;
        };
        room[0] = label.len() as u8;
        for (dst, src) in room[1..].iter_mut().zip(label) {
            *dst = src.to_ascii_lowercase();
        }
        n += 1 + label.len();
    }
    hasher.hash_one(&wire[..n])
}

/// [`name_hash`] of a name in lower-case wire form (with its final zero).
pub(super) fn wire_hash(hasher: &foldhash::fast::RandomState, wire: &[u8]) -> u64 {
    hasher.hash_one(wire.strip_suffix(&[0]).unwrap_or(wire))
}

/// One name and its node, shared between the zones of two loads when the
/// file has not changed them: a reload then holds one copy of what stayed.
pub type NodeEntry = Arc<(Name, Node)>;

/// Owner names to nodes: the nodes in a list, and a hash index of 4-byte
/// slots over it. A map holding (Name, Node) in its slots would be half empty
/// at a million names (power-of-two sizing) at 112 bytes a slot.
#[derive(Default)]
pub(super) struct Nodes {
    /// Names and their nodes.
    pub(super) list: Vec<NodeEntry>,
    /// Positions in `list`, hashed by name (case-insensitively, as Name hashes).
    index: hashbrown::HashTable<u32>,
    /// Seeded: names may come from anyone's zone file, lookups from queries.
    pub(super) hasher: foldhash::fast::RandomState,
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
        self.position_hashed(name, name_hash(&self.hasher, name))
    }

    pub(super) fn position_hashed(&self, name: &Name, hash: u64) -> Option<usize> {
        let list = &self.list;
        self.index
            .find(hash, |&i| {
                list.get(i as usize).is_some_and(|e| e.0 == *name)
            })
            .map(|&i| i as usize)
    }

    fn get_key_value(&self, name: &Name) -> Option<(&Name, &Node)> {
        self.list.get(self.position(name)?).map(|e| (&e.0, &e.1))
    }

    pub(super) fn get(&self, name: &Name) -> Option<&Node> {
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
    pub(super) fn entry_owned(&mut self, name: Name, hash: u64) -> &mut Node {
        let i = self.entry_index(name, hash);
        &mut Arc::make_mut(&mut self.list[i]).1
    }

    /// The position of the node at `name` ([`Self::entry_owned`]).
    pub(super) fn entry_index(&mut self, name: Name, hash: u64) -> usize {
        match self.position_hashed(&name, hash) {
            Some(i) => i,
            None => {
                let i = self.list.len();
                self.list.push(Arc::new((name, Node::default())));
                let (list, hasher) = (&self.list, &self.hasher);
                self.index.insert_unique(hash, i as u32, |&j| {
                    list.get(j as usize).map_or(0, |e| name_hash(hasher, &e.0))
                });
                i
            }
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&Name, &Node)> {
        self.list.iter().map(|e| (&e.0, &e.1))
    }
}

/// One record as read, its data compact: a bare address for A and AAAA,
/// hickory's 184-byte `RData`, boxed, for the rest.
#[derive(Debug)]
pub(super) struct Rec {
    /// Owner, lower case.
    pub name: Name,
    /// Its hash for the zone's node index.
    pub hash: u64,
    /// Where it was written (its first line).
    pub at: Where,
    /// Type.
    pub rtype: RecordType,
    /// TTL.
    pub ttl: u32,
    /// Data.
    pub data: Data,
}

/// A record's data.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Data {
    /// An A record.
    V4(Ipv4Addr),
    /// An AAAA record.
    V6(Ipv6Addr),
    /// Any other.
    Other(Box<RData>),
}

/// Files records into nodes as they are read, and checks what one record
/// can break in the zone as a whole where it is added, so that the error
/// names the record that broke it: the first record outside the zone, a
/// second SOA, a CNAME beside other data, a second CNAME or DNAME.
pub(super) struct Builder {
    pub(super) nodes: Nodes,
    /// The SOA: owner, TTL, data.
    pub(super) soa: Option<(Name, u32, RData)>,
    /// Records before the SOA (which sets the apex): where, and the owner.
    unplaced: Vec<(Where, Name)>,
    /// DNAME records: owner and where.
    pub(super) dnames: Vec<(Name, Where)>,
    /// NSEC3 records and their RRSIGs: transferred, never looked up.
    pub(super) nsec3: Vec<Rec>,
    /// The zone this file made last time, whose unchanged nodes are shared.
    previous: Option<Arc<Zone>>,
    /// The node the last record went to.
    last: Option<usize>,
}

/// An NSEC3 record, or an RRSIG over one.
fn is_nsec3(r: &Rec) -> bool {
    match (&r.data, r.rtype) {
        (_, RecordType::NSEC3) => true,
        (Data::Other(data), RecordType::RRSIG) => match &**data {
            RData::Unknown { rdata, .. } => rdata.anything.starts_with(&[0, 50]),
            _ => false,
        },
        _ => false,
    }
}

/// Types that may sit beside a CNAME (RFC 4035 §2.5).
fn beside_cname(rtype: RecordType) -> bool {
    matches!(
        rtype,
        RecordType::CNAME | RecordType::RRSIG | RecordType::NSEC
    )
}

impl Builder {
    pub(super) fn new(
        hasher: &foldhash::fast::RandomState,
        names: usize,
        previous: Option<Arc<Zone>>,
    ) -> Builder {
        Builder {
            nodes: Nodes::with_capacity(names, hasher),
            soa: None,
            unplaced: Vec::new(),
            dnames: Vec::new(),
            nsec3: Vec::new(),
            previous,
            last: None,
        }
    }

    /// Shares the node the last records went to with the previous zone's,
    /// when they are the same: a reload of a changed file then copies only
    /// what changed. A record for it further on unshares it again
    /// (`Arc::make_mut`), so what is shared is always what was read.
    pub(super) fn share_last(&mut self) {
        let (Some(previous), Some(i)) = (&self.previous, self.last) else {
            return;
        };
        let Some(entry) = self.nodes.list.get(i) else {
            return;
        };
        let old = previous
            .nodes
            .position(&entry.0)
            .and_then(|j| previous.nodes.list.get(j));
        if let Some(old) = old
            && old.1.rrsets == entry.1.rrsets
        {
            self.nodes.list[i] = old.clone();
        }
    }

    /// The first record outside the zone is an error at its place.
    fn place(&self, at: Where, name: &Name) -> Result<(), Located> {
        match &self.soa {
            Some((origin, ..)) if !within(name, origin) => Err((
                at,
                ZoneProblem::OutsideZone {
                    name: Box::new(name.clone()),
                    origin: Box::new(origin.clone()),
                },
            )),
            _ => Ok(()),
        }
    }

    /// What adding a record of `rtype` with `data` to `node` (at `name`) breaks.
    fn conflict(node: &Node, name: &Name, rtype: RecordType, data: &Data) -> Option<ZoneProblem> {
        if (rtype == RecordType::CNAME || rtype == RecordType::DNAME)
            && let (Some(first), Data::Other(second)) =
                (node.get(rtype).and_then(|s| s.others().first()), data)
            && *first != **second
        {
            return Some(match (first, &**second) {
                (RData::CNAME(a), RData::CNAME(b)) => ZoneProblem::TwoCnames {
                    name: Box::new(name.clone()),
                    first: Box::new(a.0.clone()),
                    second: Box::new(b.0.clone()),
                },
                _ => ZoneProblem::TwoDnames {
                    name: Box::new(name.clone()),
                },
            });
        }
        let other = if rtype == RecordType::CNAME {
            node.rrsets
                .iter()
                .find(|s| !beside_cname(s.rtype))
                .map(|s| s.rtype)
        } else if !beside_cname(rtype) && node.get(RecordType::CNAME).is_some() {
            Some(rtype)
        } else {
            None
        };
        other.map(|other| ZoneProblem::CnameAndOther {
            name: Box::new(name.clone()),
            other,
        })
    }

    /// Files `records` (leaving the vector empty); the first that breaks
    /// the zone is an error at its place. The same record again is one
    /// record (RFC 2181 §5) and is dropped.
    pub(super) fn add(&mut self, records: &mut Vec<Rec>) -> Result<(), Located> {
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
            if r.rtype == RecordType::SOA {
                match &self.soa {
                    Some((origin, _, first)) => {
                        let problem = if *origin == r.name {
                            if r.data == Data::Other(Box::new(first.clone())) {
                                continue;
                            }
                            ZoneProblem::DuplicateSoa {
                                name: Box::new(r.name.clone()),
                            }
                        } else if within(&r.name, origin) {
                            ZoneProblem::SecondSoa {
                                name: Box::new(r.name.clone()),
                                origin: Box::new(origin.clone()),
                            }
                        } else {
                            ZoneProblem::TwoSoas {
                                first: Box::new(origin.clone()),
                                second: Box::new(r.name.clone()),
                            }
                        };
                        return Err((r.at, problem));
                    }
                    None => {
                        if let Data::Other(rdata) = &r.data {
                            self.soa = Some((r.name.clone(), r.ttl, (**rdata).clone()));
                        }
                        // Those before it, in file order, come first.
                        for (at, name) in std::mem::take(&mut self.unplaced) {
                            self.place(at, &name)?;
                        }
                    }
                }
            }
            if self.soa.is_none() {
                self.unplaced.push((r.at, r.name.clone()));
            } else {
                self.place(r.at, &r.name)?;
            }
            if r.rtype == RecordType::DNAME {
                self.dnames.push((r.name.clone(), r.at));
            }
            // The NSEC3 chain's owners are hashes, not names of the zone
            // (RFC 5155 §7.2.8): NSD answers them NXDOMAIN.
            if is_nsec3(&r) {
                self.nsec3.push(r);
                continue;
            }
            let i = self.nodes.entry_index(r.name, r.hash);
            if self.last != Some(i) {
                self.share_last();
                self.last = Some(i);
            }
            let (name, node) = Arc::make_mut(&mut self.nodes.list[i]);
            if !node.rrsets.is_empty()
                && let Some(problem) = Self::conflict(node, name, r.rtype, &r.data)
            {
                return Err((r.at, problem));
            }
            node.push(r.rtype, r.ttl, r.data);
        }
        Ok(())
    }
}

/// All RRs of one type at one owner.
#[derive(Clone, Debug, PartialEq)]
pub struct Rrset {
    /// The type shared by every record.
    pub rtype: RecordType,
    /// The TTL answers carry: the smallest in the set (RFC 2181 §5.2).
    pub ttl: u32,
    /// The records' data, in file order.
    rdatas: Rdatas,
}

/// An RRset's data. Addresses, the bulk of big zones, are kept as bare
/// addresses: hickory's `RData` takes 184 bytes whatever it holds. Sets of
/// more than one record are boxed, so the enum (and a node holding one set
/// inline) stays small: 24 bytes, where three `Vec` variants took 32.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Rdatas {
    /// One A record: most names have just one, and a Vec of one costs an allocation.
    One4(Ipv4Addr),
    /// One AAAA record.
    One6(Ipv6Addr),
    /// One record of another type.
    One(Box<RData>),
    /// More than one record.
    Many(Box<Many>),
}

/// The records of a set of more than one.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Many {
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
            Rdatas::One4(_) | Rdatas::One6(_) | Rdatas::One(_) => 1,
            Rdatas::Many(many) => match &**many {
                Many::V4(v) => v.len(),
                Many::V6(v) => v.len(),
                Many::Other(v) => v.len(),
            },
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
            Rdatas::One(r) => (&[][..], &[][..], std::slice::from_ref(&**r)),
            Rdatas::Many(many) => match &**many {
                Many::V4(v) => (&v[..], &[][..], &[][..]),
                Many::V6(v) => (&[][..], &v[..], &[][..]),
                Many::Other(v) => (&[][..], &[][..], &v[..]),
            },
        };
        v4.iter()
            .map(|ip| RdataRef::V4(*ip))
            .chain(v6.iter().map(|ip| RdataRef::V6(*ip)))
            .chain(other.iter().map(RdataRef::Full))
    }

    /// The data of types other than A and AAAA (empty for those).
    pub fn others(&self) -> &[RData] {
        match &self.rdatas {
            Rdatas::One(r) => std::slice::from_ref(&**r),
            Rdatas::Many(many) => match &**many {
                Many::Other(v) => v,
                _ => &[],
            },
            _ => &[],
        }
    }

    /// Adds `data` unless the set holds it already; true if added.
    fn push(&mut self, data: Data) -> bool {
        let many = match (&mut self.rdatas, data) {
            (Rdatas::One4(first), Data::V4(a)) if *first != a => Many::V4(vec![*first, a]),
            (Rdatas::One6(first), Data::V6(a)) if *first != a => Many::V6(vec![*first, a]),
            (Rdatas::One(first), Data::Other(r)) if **first != *r => {
                Many::Other(vec![(**first).clone(), *r])
            }
            (Rdatas::Many(many), data) => {
                match (&mut **many, data) {
                    (Many::V4(v), Data::V4(a)) if !v.contains(&a) => v.push(a),
                    (Many::V6(v), Data::V6(a)) if !v.contains(&a) => v.push(a),
                    (Many::Other(v), Data::Other(r)) if !v.contains(&r) => v.push(*r),
                    _ => return false,
                }
                return true;
            }
            _ => return false,
        };
        self.rdatas = Rdatas::Many(Box::new(many));
        true
    }

    pub(super) fn new(rtype: RecordType, ttl: u32, data: Data) -> Rrset {
        let rdatas = match data {
            Data::V4(a) => Rdatas::One4(a),
            Data::V6(a) => Rdatas::One6(a),
            Data::Other(other) => Rdatas::One(other),
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
    pub(super) fn push(&mut self, rtype: RecordType, ttl: u32, data: Data) {
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
    pub(super) nodes: Nodes,
    /// The SOA record, for negative answers.
    pub soa: Record,
    /// TTL of the SOA in negative answers: min(SOA TTL, MINIMUM), RFC 2308 §3.
    pub negative_ttl: u32,
    /// Whether any name holds a DNAME: lookups look for one only then.
    pub(super) has_dname: bool,
    /// Owners of NSEC3 records with their sets: sent in transfers only.
    pub(super) nsec3: Vec<(Name, Node)>,
    /// The fingerprint of the file's bytes, when it includes no other file:
    /// a reload of the same bytes takes this zone as it is.
    pub(super) print: Option<u64>,
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
    pub fn node_list(&self) -> &[NodeEntry] {
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

    /// Every node a transfer sends: [`Zone::nodes`] and the NSEC3 chain's owners.
    pub fn transfer_nodes(&self) -> impl Iterator<Item = (&Name, &Node)> {
        self.nodes
            .iter()
            .chain(self.nsec3.iter().map(|(n, node)| (n, node)))
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

    /// The DNAME that redirects `name` (RFC 6672 §2.3): the highest one at a
    /// proper ancestor of it, unless a delegation comes first. Its owner and set.
    pub fn find_dname(&self, name: &Name) -> Option<(&Name, &Rrset)> {
        if !self.has_dname {
            return None;
        }
        let apex_labels = label_count(&self.origin);
        let labels = label_count(name);
        for n in apex_labels..labels {
            let ancestor = name.trim_to(n);
            let (owner, node) = self.nodes.get_key_value(&ancestor)?;
            if node.is_cut {
                return None;
            }
            if let Some(set) = node.get(RecordType::DNAME) {
                return Some((owner, set));
            }
        }
        None
    }

    /// Owners of DNAME records.
    pub fn dname_owners(&self) -> impl Iterator<Item = &Name> {
        // Zones without a DNAME (nearly all) are not walked.
        let nodes = if self.has_dname {
            &self.nodes.list[..]
        } else {
            &[]
        };
        nodes
            .iter()
            .filter(|e| e.1.get(RecordType::DNAME).is_some())
            .map(|e| &e.0)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A million-name zone holds a million of these: 128 bytes each
    /// (hickory's `Name` is 80 of them), where they took 144.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_node_with_its_name_takes_128_bytes() {
        assert_eq!(std::mem::size_of::<Rrset>(), 32);
        assert_eq!(std::mem::size_of::<Node>(), 48);
        assert_eq!(std::mem::size_of::<(Name, Node)>(), 128);
    }

    /// Sets grow from one record to many and drop repeats, whatever the type.
    #[test]
    fn sets_of_one_and_of_many() {
        let a = |i: u8| Data::V4(Ipv4Addr::new(192, 0, 2, i));
        let txt = |s: &str| {
            Data::Other(Box::new(RData::TXT(hickory_proto::rr::rdata::TXT::new(
                vec![s.into()],
            ))))
        };
        let mut set = Rrset::new(RecordType::A, 300, a(1));
        assert!(!set.push(a(1)));
        assert!(set.push(a(2)));
        assert!(set.push(a(3)));
        assert!(!set.push(a(2)));
        let ips: Vec<_> = set.iter().filter_map(|r| r.ip()).collect();
        assert_eq!(ips.len(), 3);
        assert!(set.others().is_empty());
        let mut set = Rrset::new(RecordType::TXT, 300, txt("a"));
        assert_eq!(set.others().len(), 1);
        assert!(!set.push(txt("a")));
        assert!(set.push(txt("b")));
        assert!(!set.push(txt("b")));
        assert_eq!(set.len(), 2);
        assert_eq!(set.others().len(), 2);
        assert_eq!(set.iter().count(), 2);
    }
}
