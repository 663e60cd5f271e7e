//! Owns reading a master file's text into records: hickory's parser over
//! pieces of the file (on every core for large ones), the checks each
//! record gets, and finding the line of an error.

use super::*;

/// The parsed records of one file, flattened, in no particular order.
pub(super) type Parsed = Vec<(Name, RecordType, DNSClass, u32, RData)>;

pub(super) fn parse(text: &str, path: &Path, hint: Option<Name>) -> Result<Parsed, ZoneProblem> {
    hickory_parse(text, Some(path.to_path_buf()), hint).map(flatten)
}

/// hickory's parser over `text` (`path` for relative `$INCLUDE`s, `origin`
/// until an `$ORIGIN`), its message said plainly. A panic in the parser is
/// an error here, not the end of the server.
pub(super) fn hickory_parse(
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
pub(super) fn flatten(sets: BTreeMap<RrKey, RecordSet>) -> Parsed {
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
pub(super) fn first_error(
    parsed: Result<Parsed, ZoneProblem>,
    origin: Option<&Name>,
) -> Option<ZoneProblem> {
    match parsed {
        Ok(records) => check_records(&records, origin).err(),
        Err(e) => Some(e),
    }
}

/// Lines before offset `at` of `text`.
pub(super) fn lines_before(text: &str, at: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..at]).count()
}

/// Longest parser message kept: hickory quotes the offending token, and a
/// 50 MB garbage line must not make a 50 MB error.
pub(super) const MAX_MESSAGE: usize = 200;

/// hickory's message, said plainly where it misleads, and cut short.
pub(super) fn explain(msg: String) -> String {
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
pub(super) const PARALLEL_MIN: usize = 1 << 20;

/// One piece of a zone file cut by [`split_points`]: where it starts, its
/// text, and the directives to put before it.
pub(super) struct Piece<'t> {
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
pub(super) fn pieces(text: &str, target: usize) -> Option<Vec<Piece<'_>>> {
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
pub(super) struct Directives {
    pub(super) origin: Option<String>,
    pub(super) ttl: Option<String>,
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
pub(super) fn record_starts(text: &str, threads: usize) -> Option<records::Starts> {
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
pub(super) fn carries_state(line: &str) -> bool {
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
pub(super) fn split_points(text: &str, target: usize) -> Option<Vec<(usize, String)>> {
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
pub(super) fn check_records(records: &Parsed, origin: Option<&Name>) -> Result<(), ZoneProblem> {
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
pub(super) fn check_record(
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
pub(super) fn round_trip(
    rtype: RecordType,
    rdata: &RData,
    scratch: &mut Vec<u8>,
) -> Result<(), RecordError> {
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
pub(super) fn check_in_zone(
    name: &Name,
    rtype: RecordType,
    origin: &Name,
) -> Result<(), ZoneProblem> {
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
pub(super) fn error_line(
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
pub(super) const LOCATE_PIECE: usize = 64 << 10;
/// ... and the size from which a file is searched in pieces.
pub(super) const LOCATE_MIN: usize = 4 * LOCATE_PIECE;

/// The line of `msg` in `text`. [`error_line`] parses one prefix per step,
/// so an error near the end of a 200,000-record file took twenty parses of
/// nearly all of it (12 s; minutes at a million records). A big file is cut
/// into pieces that parse on their own ([`split_points`]) and only the first
/// piece failing the same way is searched; when none does (the error needs
/// two far-apart lines), the whole file is.
///
/// `from` is an offset the error is known not to precede.
pub(super) fn find_line(
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
pub(super) fn locate(
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
pub(super) type Seen = Vec<(Name, RecordType)>;

/// Locates an error that takes two records, which may be far apart (a CNAME
/// and other data at one name, two SOAs): the first line by which the
/// records read so far, the `relevant` ones, make `done` true. A big file is
/// parsed once, in pieces on every core; then only the piece where `done`
/// turns true is searched line by line. (Searching the whole file parses a
/// prefix per step: at 200,000 records that took minutes.)
///
/// `problem` makes the error afresh each time a search step needs it: a
/// `ZoneProblem` cannot be cloned (hickory's `ParseError` cannot).
pub(super) fn locate_pair(
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
