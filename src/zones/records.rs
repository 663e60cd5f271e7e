//! Owns reading a zone file's records fast: hickory's parser run on one
//! record at a time, on every core, each record checked and kept compact as
//! soon as it is read.
//!
//! Why one record at a time: hickory's `Parser` files every record into one
//! `BTreeMap` keyed by name, and its name comparison walks labels from the
//! right a byte at a time; at a million records those comparisons, and the
//! memory the map and its copies take, were three quarters of a 4.4 s load.
//! Parsed one record (one owner line and its continuation lines) at a time,
//! with the `$ORIGIN` and `$TTL` in force given to it, the same parser reads
//! the same text in a fifth of the time.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::txt::Parser;

use super::{Directives, check_record, explain, record_starts};

/// One record as read, its data compact: a bare address for A and AAAA,
/// hickory's 184-byte `RData`, boxed, for the rest.
#[derive(Debug)]
pub(super) struct Rec {
    /// Owner, lower case.
    pub name: Name,
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

impl From<RData> for Data {
    fn from(rdata: RData) -> Data {
        match rdata {
            RData::A(a) => Data::V4(a.0),
            RData::AAAA(a) => Data::V6(a.0),
            other => Data::Other(Box::new(other)),
        }
    }
}

/// Reads and checks every record of `text` on up to `threads` threads
/// ([`check_record`]; the checks that need the zone's origin are the
/// caller's). `None` when the file cannot be read a record at a time (see
/// [`record_starts`]; a relative `$ORIGIN`; two SOA or CNAME records at one
/// name, where one parse decides): the caller then parses it whole. An
/// error is the offset of the first record that fails, and why.
pub(super) fn read(
    text: &str,
    hint: &Option<Name>,
    threads: usize,
) -> Option<Result<Vec<Rec>, (usize, String)>> {
    let (starts, directives) = record_starts(text)?;
    let origins = origins(&directives, hint)?;
    let threads = threads.clamp(1, starts.len());
    // Contiguous runs of records of about equal size, one per thread.
    let mut runs = vec![0];
    for t in 1..threads {
        let at = text.len() * t / threads;
        let i = starts.partition_point(|s| s.0 < at);
        if i > *runs.last().unwrap_or(&0) && i < starts.len() {
            runs.push(i);
        }
    }
    runs.push(starts.len());
    let end_of = |i: usize| starts.get(i + 1).map_or(text.len(), |s| s.0);
    let read_run = |first: usize, last: usize| -> Result<Vec<Rec>, (usize, String)> {
        let mut out = Vec::with_capacity(last - first);
        let mut piece = String::new();
        let mut scratch = Vec::new();
        for i in first..last {
            let (start, d) = starts[i];
            piece.clear();
            if let Some(ttl) = &directives[d as usize].ttl {
                piece.push_str("$TTL ");
                piece.push_str(ttl);
                piece.push('\n');
            }
            piece.push_str(&text[start..end_of(i)]);
            let origin = origins[d as usize].clone();
            let (_, sets) = Parser::new(piece.as_str(), None, origin)
                .parse()
                .map_err(|e| (start, explain(e.to_string())))?;
            for (key, set) in sets {
                let name = Name::from(key.name);
                for r in set.into_parts().records {
                    let rtype = r.record_type();
                    check_record(&name, rtype, r.dns_class, r.ttl, &r.data, &mut scratch)
                        .map_err(|msg| (start, msg))?;
                    out.push(Rec {
                        name: name.clone(),
                        rtype,
                        ttl: r.ttl,
                        data: r.data.into(),
                    });
                }
            }
        }
        Ok(out)
    };
    let results: Vec<Option<Result<Vec<Rec>, (usize, String)>>> = if runs.len() == 2 {
        vec![Some(read_run(0, starts.len()))]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = runs
                .windows(2)
                .map(|w| {
                    let (first, last) = (w[0], w[1]);
                    let read_run = &read_run;
                    scope.spawn(move || read_run(first, last))
                })
                .collect();
            handles.into_iter().map(|h| h.join().ok()).collect()
        })
    };
    let mut all = Vec::with_capacity(starts.len());
    for result in results {
        // A thread lost to a panic: let one parse of the whole file decide.
        match result? {
            Ok(records) => all.extend(records),
            Err(e) => return Some(Err(e)),
        }
    }
    // A second SOA or CNAME at one name is an error or a replacement in one
    // parse (hickory decides); read apart, both would be kept.
    let mut singles = std::collections::HashSet::new();
    for r in &all {
        if matches!(r.rtype, RecordType::SOA | RecordType::CNAME)
            && !singles.insert((&r.name, r.rtype))
        {
            return None;
        }
    }
    Some(Ok(all))
}

/// The origin each set of directives gives its records, as hickory reads
/// it: the file name's origin until an `$ORIGIN`. `None` when one is not
/// absolute or does not parse: hickory keeps such an origin relative, which
/// one parse of the whole file must see (or reject at its line).
fn origins(directives: &[Directives], hint: &Option<Name>) -> Option<Vec<Option<Name>>> {
    directives
        .iter()
        .map(|d| match &d.origin {
            None => Some(hint.clone()),
            Some(text) => {
                let (origin, _) = Parser::new(format!("$ORIGIN {text}\n"), None, None)
                    .parse()
                    .ok()?;
                origin.is_fqdn().then_some(Some(origin))
            }
        })
        .collect()
}
