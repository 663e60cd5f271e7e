//! Owns the zone in memory: each name's node and RRsets (stored compact,
//! decoded when read), the node index, and the lookups answering needs
//! (closest encloser, wildcards, cuts).

use super::*;

/// Owner names to nodes: the nodes in a list, and a hash index of 4-byte
/// slots over it. A map holding (Name, Node) in its slots would be half empty
/// at a million names (power-of-two sizing) at 112 bytes a slot.
#[derive(Default)]
pub(super) struct Nodes {
    /// Names and their nodes.
    pub(super) list: Vec<(Name, Node)>,
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
        self.position_hashed(name, self.hasher.hash_one(name))
    }

    pub(super) fn position_hashed(&self, name: &Name, hash: u64) -> Option<usize> {
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

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&Name, &mut Node)> {
        self.list.iter_mut().map(|(n, node)| (&*n, node))
    }
}

/// Files records into nodes as they are read.
pub(super) struct Builder {
    pub(super) nodes: Nodes,
    /// SOA records: owner, TTL, data.
    pub(super) soas: Vec<(Name, u32, RData)>,
    /// A second CNAME at one name with another target: where it starts and
    /// the error (NSD's too). hickory, parsing a whole file, would keep the
    /// last one silently.
    pub(super) conflict: Option<(usize, ZoneProblem)>,
    /// The first record outside the zone: where it starts, and its owner.
    /// The zone is the first SOA's; records before it wait in `unplaced`.
    pub(super) outside: Option<(usize, Name)>,
    unplaced: Vec<(usize, Name)>,
}

impl Builder {
    pub(super) fn new(hasher: &foldhash::fast::RandomState, names: usize) -> Builder {
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
    pub(super) fn add(&mut self, records: &mut Vec<Rec>) -> bool {
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
/// addresses: hickory's `RData` takes 184 bytes whatever it holds. Sets of
/// more than one record are boxed, so the enum (and a node holding one set
/// inline) stays small: 24 bytes, where three `Vec` variants took 32.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
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
    pub(super) nodes: Nodes,
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
