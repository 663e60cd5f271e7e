//! Owns what can be wrong with a zone file: [`ZoneError`] (with the file
//! and line) and the problems it reports ([`ZoneProblem`], [`RecordError`]).

use std::path::PathBuf;

use hickory_proto::ProtoError;
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::DecodeError;
use hickory_proto::serialize::txt::ParseError;

use super::MAX_TTL;
use super::rewrite::SyntaxError;
use super::scan::{self, IncludeError};

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
    #[error("{}:{line}: {problem}", path.display())]
    Invalid {
        /// The zone file.
        path: PathBuf,
        /// 1-based line; for whole-zone problems (no SOA) line 1.
        line: usize,
        /// What is wrong (boxed: every layer above carries this error).
        #[source]
        problem: Box<ZoneProblem>,
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

/// What is wrong in a zone file, without the file and line that
/// [`ZoneError::Invalid`] puts before it. The Display text is what operators
/// read after `file:line:`, and tests match on it: keep it stable.
///
/// Names are boxed: a `Name` takes 80 bytes, and the check of every record
/// returns this.
#[derive(thiserror::Error, Debug)]
pub enum ZoneProblem {
    /// hickory's parser rejected the text; `message` is its own, said
    /// plainly where it misleads and cut short.
    #[error("{message}")]
    Parser {
        /// What the parser said, as operators read it.
        message: String,
        /// The parser's error.
        source: ParseError,
    },
    /// hickory's parser panicked.
    #[error("the zone parser failed on this record")]
    ParserPanic,
    /// One record is wrong whatever the zone.
    #[error("{name} {rtype}: {problem}")]
    Record {
        /// Its owner.
        name: Box<Name>,
        /// Its type.
        rtype: RecordType,
        /// What is wrong with it.
        #[source]
        problem: RecordError,
    },
    /// A record is neither at nor below the zone's apex.
    #[error("{name} is outside the zone {origin}")]
    OutsideZone {
        /// The record's owner.
        name: Box<Name>,
        /// The zone's apex.
        origin: Box<Name>,
    },
    /// An SOA below the apex.
    #[error("second SOA at {name}: the zone's SOA is at {origin}")]
    SecondSoa {
        /// The second SOA's owner.
        name: Box<Name>,
        /// The zone's apex.
        origin: Box<Name>,
    },
    /// Two SOAs at different names: two zones in one file.
    #[error("two SOA records, at {first} and {second}: one zone per file")]
    TwoSoas {
        /// The first SOA's owner.
        first: Box<Name>,
        /// The second's.
        second: Box<Name>,
    },
    /// No SOA, so no apex.
    #[error("zone has no SOA record")]
    NoSoa,
    /// The apex has no NS records.
    #[error("zone {origin} has no NS record at its apex")]
    NoApexNs {
        /// The zone's apex.
        origin: Box<Name>,
    },
    /// A second CNAME at one name, with another target.
    #[error("{name} has two CNAME records ({first} and {second}): an alias has one target")]
    TwoCnames {
        /// The alias.
        name: Box<Name>,
        /// The first target.
        first: Box<Name>,
        /// The other.
        second: Box<Name>,
    },
    /// A CNAME and other data at one name (RFC 1034 §3.6.2).
    #[error("{name} has a CNAME and other data ({other})")]
    CnameAndOther {
        /// The name.
        name: Box<Name>,
        /// The type of one of the other records.
        other: RecordType,
    },
    /// Text the rewrite before parsing cannot write as NSD would read it.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// A line longer than any record needs.
    #[error(
        "line of {bytes} bytes; lines may have at most {} (no record needs more)",
        scan::MAX_LINE
    )]
    LongLine {
        /// Its length.
        bytes: usize,
    },
    /// Bytes that are not UTF-8.
    #[error("not UTF-8 text (write other octets as \\DDD)")]
    NotUtf8(#[source] std::str::Utf8Error),
    /// RFC 3597 generic data, which hickory's parser misreads.
    #[error(
        "RFC 3597 generic data (\\#) is not supported: write the record in its type's own syntax"
    )]
    Generic,
    /// An `$INCLUDE` hale will not follow.
    #[error(transparent)]
    Include(#[from] IncludeError),
    /// An `$INCLUDE`d file cannot be read.
    #[error("$INCLUDE {written}: cannot read {}: {source}", target.display())]
    IncludeRead {
        /// The path as written.
        written: String,
        /// The file it names.
        target: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A problem in an `$INCLUDE`d file, with the line that included it.
    #[error("{problem} (included from {}:{line})", from.display())]
    Included {
        /// The problem in the included file.
        #[source]
        problem: Box<ZoneProblem>,
        /// The including file.
        from: PathBuf,
        /// The `$INCLUDE`'s line in it.
        line: usize,
    },
}

/// What is wrong with one record whatever the zone ([`ZoneProblem::Record`]
/// names it).
#[derive(thiserror::Error, Debug)]
pub enum RecordError {
    /// A class other than IN.
    #[error("class {class} is not supported, only IN")]
    Class {
        /// The record's class.
        class: DNSClass,
    },
    /// A TTL past RFC 2181's limit.
    #[error("TTL {ttl} exceeds {} (RFC 2181)", MAX_TTL)]
    Ttl {
        /// The record's TTL.
        ttl: u32,
    },
    /// The data cannot be written in wire format.
    #[error("cannot be sent: {source}")]
    CannotSend {
        /// hickory's encoder error.
        source: ProtoError,
    },
    /// The data is written as nothing.
    #[error("has no data")]
    NoData,
    /// The data is written in a form no reader takes back.
    #[error("data the wire cannot carry: {source}")]
    Wire {
        /// hickory's decoder error on reading it back.
        source: DecodeError,
    },
}
