//! Owns what can be wrong with a zone file: [`ZoneError`] (with the file
//! line and column) and the problems it reports ([`ZoneProblem`], [`DataError`]).

use std::path::PathBuf;

use hickory_proto::rr::{Name, RecordType};

use super::MAX_TTL;

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
    #[error("{}:{line}{}: {problem}", path.display(), at_column(*column))]
    Invalid {
        /// The zone file.
        path: PathBuf,
        /// 1-based line; for whole-zone problems (no SOA) line 1.
        line: usize,
        /// 1-based column of the token at fault; 0 when the line is meant.
        column: usize,
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
    /// A record is neither at nor below the zone's apex.
    #[error("{name} is outside the zone {origin}")]
    OutsideZone {
        /// The record's owner.
        name: Box<Name>,
        /// The zone's apex.
        origin: Box<Name>,
    },
    /// An SOA below the apex.
    #[error("two SOA records: a second one at {name}, below the zone's at {origin}")]
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
    /// A second DNAME at one name (RFC 6672 §2.4: one per name).
    #[error("{name} has two DNAME records: a name has at most one")]
    TwoDnames {
        /// The name.
        name: Box<Name>,
    },
    /// Data below a DNAME (RFC 6672 §2.3).
    #[error(
        "DNAME at {owner} has data below it ({below}): names below a DNAME are redirected, so their records would never be served"
    )]
    BelowDname {
        /// The DNAME's owner.
        owner: Box<Name>,
        /// A name below it with data.
        below: Box<Name>,
    },
    /// A second, different SOA at the apex.
    #[error("second SOA record at {name}: a zone has one")]
    DuplicateSoa {
        /// The apex.
        name: Box<Name>,
    },
    /// A CNAME and other data at one name (RFC 1034 §3.6.2).
    #[error("{name} has a CNAME and other data ({other})")]
    CnameAndOther {
        /// The name.
        name: Box<Name>,
        /// The type of one of the other records.
        other: RecordType,
    },
    /// Reading the record panicked (a bug: please report it with the record).
    #[error("reading this record failed unexpectedly (a bug in hale or a library it uses)")]
    Panicked,
    /// A record's text or data.
    #[error(transparent)]
    Data(#[from] DataError),
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

/// Why hale will not follow an `$INCLUDE`.
#[derive(thiserror::Error, Debug, Clone)]
pub enum IncludeError {
    /// An absolute path, or one that leads outside the zone folder
    /// (through `..` or a symbolic link).
    #[error(
        "$INCLUDE {written}: only files inside the zone folder {} may be \
         included (no absolute path, no .. or symbolic link leading out of it)",
        root.display()
    )]
    Outside {
        /// The path as written.
        written: String,
        /// The zone file's folder.
        root: PathBuf,
    },
    /// More than the most `$INCLUDE`s one zone may follow.
    #[error("more than 10000 $INCLUDEs in one zone")]
    TooMany,
    /// Nested too deep.
    #[error("$INCLUDE nested more than 32 deep")]
    TooDeep,
    /// A file that includes itself, directly or through others.
    #[error("$INCLUDE {written}: {} is already being read (an include loop)", target.display())]
    Loop {
        /// The path as written.
        written: String,
        /// The file it names.
        target: PathBuf,
    },
}

/// `:column` after a line, when known.
fn at_column(column: usize) -> String {
    if column == 0 {
        String::new()
    } else {
        format!(":{column}")
    }
}

/// Longest piece of a zone file quoted in an error: a 50 MB garbage token
/// must not make a 50 MB message.
const SHOWN: usize = 80;

/// Bytes of a zone file as an error quotes them: lossy UTF-8, cut short.
pub(super) fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN)]).into_owned();
    if bytes.len() > SHOWN {
        format!("{text}…")
    } else {
        text
    }
}

/// What is wrong in one field of a record's text or data.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// A `\DDD` over 255 or a backslash with nothing after it.
    #[error(
        "bad escape {text:?}: write \\DDD with a decimal value up to 255, or \\ before one character"
    )]
    Escape {
        /// The escape as written.
        text: String,
    },
    /// A relative name before any origin is known.
    #[error(
        "relative name {name:?} but no origin is known: write it with a final dot, or set $ORIGIN first"
    )]
    NoOrigin {
        /// The name.
        name: String,
    },
    /// An empty name.
    #[error("empty domain name")]
    EmptyName,
    /// Two dots in a row, or a leading one.
    #[error("empty label in {name:?}")]
    EmptyLabel {
        /// The name.
        name: String,
    },
    /// A label over 63 bytes.
    #[error("label longer than 63 bytes in {name:?}")]
    LongLabel {
        /// The name.
        name: String,
    },
    /// A name over 255 bytes in wire form.
    #[error("name longer than 255 bytes: {name:?}")]
    LongName {
        /// The name.
        name: String,
    },
    /// A name hickory will not hold.
    #[error("bad domain name: {why}")]
    Name {
        /// hickory's reason.
        why: String,
    },
    /// A character string or length-prefixed field over its limit.
    #[error("string of {bytes} bytes; at most 255 (split a TXT into several \"…\" strings)")]
    LongString {
        /// Its length.
        bytes: usize,
    },
    /// Not a decimal number within its range.
    #[error("expected a {what} from 0 to {max}, found {text:?}")]
    Number {
        /// What it is.
        what: &'static str,
        /// The text.
        text: String,
        /// The largest allowed.
        max: u64,
    },
    /// Not a TTL.
    #[error("expected a TTL such as 3600, 1h or 1h30m, found {text:?}")]
    Ttl {
        /// The text.
        text: String,
    },
    /// A TTL past RFC 2181's limit.
    #[error("TTL {ttl} exceeds {} (RFC 2181)", MAX_TTL)]
    TtlRange {
        /// The TTL.
        ttl: u32,
    },
    /// Not an RRSIG time.
    #[error("expected a time as YYYYMMDDHHmmSS or seconds, found {text:?}")]
    Time {
        /// The text.
        text: String,
    },
    /// The data ends early.
    #[error("missing {what}")]
    Missing {
        /// What was expected.
        what: &'static str,
    },
    /// Tokens after the data's last field.
    #[error(
        "unexpected {text:?} after the record's data (one record per line: write a second record for a second value)"
    )]
    Extra {
        /// The first extra token.
        text: String,
    },
    /// A type that has no text form.
    #[error("{rtype} data can only be written as RFC 3597 generic data: \\# length hex")]
    GenericOnly {
        /// The type.
        rtype: String,
    },
    /// `\#` whose length differs from its data's.
    #[error("\\# says {said} bytes but its hex holds {got}")]
    GenericLength {
        /// The length written.
        said: usize,
        /// The bytes the hex holds.
        got: usize,
    },
    /// Record data past what a record carries.
    #[error("record data of {bytes} bytes; at most 65535 fit in one record")]
    TooMuchData {
        /// Its length.
        bytes: usize,
    },
    /// Bad base64, hex or base32.
    #[error("bad {what}: {text:?}")]
    Encoding {
        /// The encoding.
        what: &'static str,
        /// The text.
        text: String,
    },
    /// A type name that is not a type.
    #[error(
        "unknown record type {text:?} (write TYPEnnn and \\# data for types hale does not know)"
    )]
    UnknownType {
        /// The text.
        text: String,
    },
    /// A field of a special form.
    #[error("bad {what} {text:?}: expected {expected}")]
    Field {
        /// The field.
        what: &'static str,
        /// The text.
        text: String,
        /// What to write.
        expected: &'static str,
    },
    /// Not an address.
    #[error("bad {family} address {text:?}")]
    Address {
        /// IPv4 or IPv6.
        family: &'static str,
        /// The text.
        text: String,
    },
    /// Data the type's wire form does not hold (from `\#`).
    #[error("not valid {rtype} data: {why}")]
    Invalid {
        /// The type.
        rtype: String,
        /// Why.
        why: String,
    },
    /// A class other than IN.
    #[error("class {class} is not supported, only IN")]
    Class {
        /// The class as written.
        class: String,
    },
    /// A directive hale does not know.
    #[error("unknown directive {text} (hale reads $ORIGIN, $TTL and $INCLUDE)")]
    Directive {
        /// The directive.
        text: String,
    },
    /// A blank owner on the first record.
    #[error(
        "the first record has no owner name (a line starting with a space takes the previous record's)"
    )]
    NoOwner,
    /// An entry with an owner but no type.
    #[error("missing record type")]
    NoType,
    /// The lexer's error.
    #[error(transparent)]
    Syntax(#[from] super::lexer::SyntaxError),
}
