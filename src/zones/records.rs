//! Owns reading a zone file's records fast: hickory's parser run on one
//! record at a time, on every core, each record checked and kept compact as
//! soon as it is read, and handed on in file order while the rest are read.
//!
//! Why one record at a time: hickory's `Parser` files every record into one
//! `BTreeMap` keyed by name, and its name comparison walks labels from the
//! right a byte at a time; at a million records those comparisons, and the
//! memory the map and its copies take, were three quarters of a 4.4 s load.
//! Parsed one record (one owner line and its continuation lines) at a time,
//! with the `$ORIGIN` and `$TTL` in force given to it, the same parser reads
//! the same text in a fifth of the time.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::{Name, RData, RecordSet, RecordType, RrKey};
use hickory_proto::serialize::txt::Parser;

use super::{
    Directives, ZoneProblem, check_record, error_line, first_error, flatten, hickory_parse,
    record_starts,
};

/// One record as read, its data compact: a bare address for A and AAAA,
/// hickory's 184-byte `RData`, boxed, for the rest.
#[derive(Debug)]
pub(super) struct Rec {
    /// Owner, lower case.
    pub name: Name,
    /// Its hash for the zone's node index.
    pub hash: u64,
    /// Offset of its record start (its owner's line) in the file.
    pub at: usize,
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

/// Record starts and the directives in force at each ([`record_starts`]).
pub(super) struct Starts {
    /// Each record start's offset and the index of its directives.
    pub starts: Vec<(usize, u32)>,
    /// The directives in force, as they change through the file.
    pub directives: Vec<Directives>,
}

/// Where the first failing record is: the offset of its record start (an
/// owner line), the line in it (1-based), and why.
pub(super) type Failure = (usize, usize, ZoneProblem);

/// Records read per batch handed to the caller: small enough that the
/// caller files one while the next are read, big enough that handing them
/// over costs nothing.
pub(super) const BATCH: usize = 16_384;

/// Reads and checks every record of `text` ([`check_record`]; the checks
/// that need the zone's origin are the caller's) on `threads` threads, and
/// hands them to `each` in file order, in batches of `batch`, while the
/// rest are read: the caller files one batch while the next ones are
/// parsed. `hasher` hashes each record's name on the reading thread.
///
/// `None` when the file cannot be read a record at a time (see
/// [`record_starts`] and [`carries_state`]; a relative `$ORIGIN`, or no
/// origin before the first `$ORIGIN`) or when `each` says so by returning
/// false: the caller then parses it whole. An error is the first record in
/// the file that fails.
pub(super) fn read(
    text: &str,
    hint: &Option<Name>,
    threads: usize,
    batch: usize,
    hasher: &foldhash::fast::RandomState,
    mut each: impl FnMut(&mut Vec<Rec>) -> bool,
) -> Option<Result<(), Failure>> {
    let t = tokio::time::Instant::now();
    let starts: Starts = record_starts(text, threads)?;
    let origins = origins(&starts.directives, hint)?;
    tracing::debug!(
        records = starts.starts.len(),
        ms = t.elapsed().as_millis() as u64,
        "record starts found"
    );
    let batch = batch.max(1);
    let batches = starts.starts.len().div_ceil(batch);
    // Batches' vectors, emptied by `each`, are used again: new ones are
    // fresh memory, and faulting in 150 MB of it per million records (then
    // unmapping it) was a tenth of the load's CPU.
    let spare: std::sync::Mutex<Vec<Vec<Rec>>> = std::sync::Mutex::new(Vec::new());
    let read_batch = |b: usize| {
        let records = b * batch..((b + 1) * batch).min(starts.starts.len());
        let out = spare
            .lock()
            .ok()
            .and_then(|mut s| s.pop())
            .unwrap_or_default();
        read_records(text, &starts, &origins, hasher, records, out)
    };
    // What one batch's result means for the whole read: go on, or this.
    let mut hand_on = |result| match result {
        Ok(mut records) => {
            let go_on = each(&mut records);
            if let Ok(mut s) = spare.lock() {
                s.push(records);
            }
            (!go_on).then_some(None)
        }
        // Every batch before it was read: the file's first error.
        Err(e) => Some(Some(Err(e))),
    };
    if threads < 2 || batches < 2 {
        for b in 0..batches {
            if let Some(end) = hand_on(read_batch(b)) {
                return end;
            }
        }
        return Some(Ok(()));
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..threads {
            let (tx, next, stop, read_batch) = (tx.clone(), &next, &stop, &read_batch);
            scope.spawn(move || {
                use std::sync::atomic::Ordering::Relaxed;
                loop {
                    let b = next.fetch_add(1, Relaxed);
                    if b >= batches || stop.load(Relaxed) {
                        break;
                    }
                    if tx.send((b, read_batch(b))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let done = |result| {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            result
        };
        // Batches arrive in any order; they are handed on in file order.
        let mut waiting: Vec<Option<Result<Vec<Rec>, Failure>>> = Vec::new();
        waiting.resize_with(batches, || None);
        let mut turn = 0;
        for (b, result) in rx {
            waiting[b] = Some(result);
            while let Some(result) = waiting.get_mut(turn).and_then(Option::take) {
                turn += 1;
                if let Some(end) = hand_on(result) {
                    return done(end);
                }
            }
        }
        done(Some(Ok(())))
    })
}

/// Reads the records that start at `starts.starts[range]`.
fn read_records(
    text: &str,
    starts: &Starts,
    origins: &[Option<Name>],
    hasher: &foldhash::fast::RandomState,
    range: std::ops::Range<usize>,
    mut out: Vec<Rec>,
) -> Result<Vec<Rec>, Failure> {
    out.clear();
    out.reserve(range.len());
    let mut piece = String::new();
    let mut scratch = Vec::new();
    for i in range {
        let start = starts.starts[i].0;
        let end = starts.starts.get(i + 1).map_or(text.len(), |s| s.0);
        let lines = &text[start..end];
        // No line here carries a TTL or class on to the next record:
        // record_starts read every line a record starts at, and gave up on
        // the file otherwise.
        let sets = match parse_piece(&mut piece, starts, origins, i, lines) {
            Ok(sets) => sets,
            Err(problem) => return Err(failing_line(starts, origins, i, lines, problem)),
        };
        for (key, set) in sets {
            let name = Name::from(key.name);
            let hash = hasher.hash_one(&name);
            for r in set.into_parts().records {
                let rtype = r.record_type();
                if let Err(problem) =
                    check_record(&name, rtype, r.dns_class, r.ttl, &r.data, &mut scratch)
                {
                    return Err(failing_line(starts, origins, i, lines, problem));
                }
                out.push(Rec {
                    name: name.clone(),
                    hash,
                    at: start,
                    rtype,
                    ttl: r.ttl,
                    data: r.data.into(),
                });
            }
        }
    }
    Ok(out)
}

/// hickory's records of `lines`, the text of record start `i`, parsed
/// alone in `piece`: the `$TTL` in force, then `lines`, with the `$ORIGIN`
/// in force as the origin.
fn parse_piece(
    piece: &mut String,
    Starts { starts, directives }: &Starts,
    origins: &[Option<Name>],
    i: usize,
    lines: &str,
) -> Result<BTreeMap<RrKey, RecordSet>, ZoneProblem> {
    let d = starts[i].1 as usize;
    piece.clear();
    if let Some(ttl) = &directives[d].ttl {
        piece.push_str("$TTL ");
        piece.push_str(ttl);
        piece.push('\n');
    }
    piece.push_str(lines);
    hickory_parse(piece, None, origins[d].clone())
}

/// Where in `lines`, the text of record start `i`, the error `msg` is: the
/// record start's offset and the line in it (usually its first: most
/// record starts hold one line).
fn failing_line(
    starts: &Starts,
    origins: &[Option<Name>],
    i: usize,
    lines: &str,
    msg: ZoneProblem,
) -> Failure {
    let start = starts.starts[i].0;
    let fails = |prefix: &str| {
        let parsed = parse_piece(&mut String::new(), starts, origins, i, prefix);
        first_error(parsed.map(flatten), None)
    };
    let line = match memchr::memchr(b'\n', lines.as_bytes()) {
        Some(nl) if nl + 1 < lines.len() => error_line(lines, &msg, fails),
        _ => 1,
    };
    (start, line, msg)
}

/// The origin each set of directives gives its records, as hickory reads
/// it: the file name's origin until an `$ORIGIN`. `None` when one is not
/// absolute or does not parse: hickory keeps such an origin relative, which
/// one parse of the whole file must see (or reject at its line).
fn origins(directives: &[Directives], hint: &Option<Name>) -> Option<Vec<Option<Name>>> {
    directives
        .iter()
        .map(|d| match &d.origin {
            // No origin yet: the parser fails unless a later `$ORIGIN` gives one.
            None => hint.clone().map(Some),
            Some(text) => {
                let (origin, _) = Parser::new(format!("$ORIGIN {text}\n"), None, None)
                    .parse()
                    .ok()?;
                origin.is_fqdn().then_some(Some(origin))
            }
        })
        .collect()
}
