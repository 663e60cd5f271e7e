//! Owns what hale checks in a zone file's text before hickory's parser reads
//! it, because the parser cannot be asked: which `$INCLUDE`s it will follow
//! (it reads absolute paths and `..` anywhere, and follows a loop 256 levels
//! deep), and where RFC 3597 generic data (`\#`) is, which it cannot read but
//! silently takes as text for some types (a TXT became the strings `\#`,
//! `4`, `03616263`); and where records end, so that big files are cut into
//! pieces, and errors searched for, only between records. The text is read
//! the way hickory's lexer reads it (`serialize/txt/zone_lex.rs`), so no
//! directive it follows is missed.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use super::{ZoneError, ZoneProblem};

/// Most `$INCLUDE`s one zone may follow, counting every time a file is
/// included: bounds a file that includes another twice, which includes
/// another twice, and so on.
const MAX_INCLUDES: usize = 10_000;
/// Deepest `$INCLUDE` nesting (NSD allows 10).
const MAX_DEPTH: usize = 32;

/// Why hale will not follow an `$INCLUDE`. Clone: a file's scan is kept
/// and checked again each time the file is included, so its errors are
/// handed out more than once.
#[derive(thiserror::Error, Debug, Clone)]
pub enum IncludeError {
    /// A quoted path with a backslash escape.
    #[error("$INCLUDE \"{path}\": escapes in an $INCLUDE path are not supported")]
    Escapes {
        /// The path as written.
        path: String,
    },
    /// An absolute path, or one that climbs above the zone folder.
    #[error(
        "$INCLUDE {written}: only files inside the zone folder {} may be \
         included (no absolute path, no .. above it)",
        root.display()
    )]
    Outside {
        /// The path as written.
        written: String,
        /// The zone file's folder.
        root: PathBuf,
    },
    /// More than `MAX_INCLUDES` followed in one zone.
    #[error("more than {} $INCLUDEs in one zone", MAX_INCLUDES)]
    TooMany,
    /// Nested more than `MAX_DEPTH` deep.
    #[error("$INCLUDE nested more than {} deep", MAX_DEPTH)]
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

/// One `$INCLUDE` directive.
#[derive(Debug)]
struct Include {
    /// 1-based line of the directive.
    line: usize,
    /// The path as written, or why hale will not follow it.
    path: Result<String, IncludeError>,
}

/// What one file holds that is checked before parsing.
#[derive(Debug, Default)]
struct Scan {
    /// `$INCLUDE` directives the parser would follow, in order.
    includes: Vec<Include>,
    /// The line of the first `\#` token in record data.
    generic: Option<usize>,
    /// Offsets just past each line end outside parentheses and quotes: the
    /// places a record may end.
    ends: Vec<usize>,
}

/// Offsets in `text` just past each line end outside parentheses and
/// quotes, up to where hickory's lexer would fail: the prefixes that hold
/// whole records only.
pub(super) fn record_ends(text: &str) -> Vec<usize> {
    scan(text).ends
}

/// Below this size [`record_ends_on`] scans on one thread.
const PARALLEL_SCAN: usize = 1 << 20;

/// [`record_ends`] on up to `threads` threads. The text is cut after line
/// ends and each piece scanned as if a record started there; a piece is
/// right when the one before ends at a record end (not inside parentheses
/// or quotes, and not stopped early). When one does not, the text is
/// scanned again in one piece.
pub(super) fn record_ends_on(text: &str, threads: usize) -> Vec<usize> {
    if threads < 2 || text.len() < PARALLEL_SCAN {
        return record_ends(text);
    }
    let mut cuts = vec![0];
    for k in 1..threads {
        let at = text.len() * k / threads;
        if let Some(nl) = memchr::memchr(b'\n', &text.as_bytes()[at..]) {
            let cut = at + nl + 1;
            if cut > cuts[cuts.len() - 1] && cut < text.len() {
                cuts.push(cut);
            }
        }
    }
    cuts.push(text.len());
    let pieces: Vec<&str> = cuts.windows(2).map(|w| &text[w[0]..w[1]]).collect();
    let scanned = crate::parallel::each_on_threads(&pieces, |piece| record_ends(piece));
    let mut ends = Vec::with_capacity(scanned.iter().flatten().map(Vec::len).sum());
    for (k, piece_ends) in scanned.iter().enumerate() {
        let Some(piece_ends) = piece_ends else {
            return record_ends(text);
        };
        ends.extend(piece_ends.iter().map(|e| e + cuts[k]));
        let last = k + 1 == scanned.len();
        if !last && piece_ends.last() != Some(&pieces[k].len()) {
            return record_ends(text);
        }
    }
    ends
}

/// Longest line read. No record needs more (its RDATA is at most 65,535
/// octets, four characters each as `\DDD`), and hickory's lexer takes a
/// 50 MB line character by character into one token, in seconds and
/// several copies of memory, only to reject it.
pub(super) const MAX_LINE: usize = 1 << 20;

/// Reads a zone file; bytes that are not UTF-8 and lines over [`MAX_LINE`]
/// are errors at their line (hickory's parser reads text; write other
/// octets as `\DDD`).
pub(super) fn read_text(path: &Path) -> Result<String, ZoneError> {
    let bytes = std::fs::read(path).map_err(|source| ZoneError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // memchr: a byte-by-byte split took 20 ms of a 25 MB file's load.
    let mut from = 0;
    for (i, end) in memchr::memchr_iter(b'\n', &bytes)
        .chain([bytes.len()])
        .enumerate()
    {
        if end - from > MAX_LINE {
            return Err(ZoneError::Invalid {
                path: path.to_path_buf(),
                line: i + 1,
                problem: Box::new(ZoneProblem::LongLine { bytes: end - from }),
            });
        }
        from = end + 1;
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        ZoneError::Invalid {
            path: path.to_path_buf(),
            line: 1 + valid.iter().filter(|&&b| b == b'\n').count(),
            problem: Box::new(ZoneProblem::NotUtf8(e.utf8_error())),
        }
    })
}

/// Checks the zone file at `path` (whose `text` is read) and every file it
/// includes: `$INCLUDE` paths must be relative and stay inside the zone
/// file's folder (symbolic links are the operator's own choice and are not
/// followed here), the files must be readable UTF-8, no file may include
/// itself directly or through others, and no file may hold `\#` data.
pub(super) fn check(path: &Path, text: &str) -> Result<(), ZoneError> {
    if !text.contains("$INCLUDE") && !text.contains("\\#") {
        return Ok(());
    }
    let mut walk = Walk {
        root: path.parent().unwrap_or(Path::new("")),
        stack: vec![identity(path)],
        count: 0,
        seen: HashMap::new(),
    };
    walk.file(path, Path::new(""), &scan(text), None)
}

/// The state of one check over a zone and its includes.
struct Walk<'a> {
    /// The zone file's folder: no include may leave it.
    root: &'a Path,
    /// The files being read, outermost first.
    stack: Vec<PathBuf>,
    /// `$INCLUDE`s followed so far.
    count: usize,
    /// Each included file's scan, read once however often it is included.
    seen: HashMap<PathBuf, Rc<Scan>>,
}

impl Walk<'_> {
    /// Checks one file: `dir` is its folder relative to the root, `from`
    /// where it was included (file and line).
    fn file(
        &mut self,
        path: &Path,
        dir: &Path,
        scan: &Scan,
        from: Option<(&Path, usize)>,
    ) -> Result<(), ZoneError> {
        let at = |line: usize, problem: ZoneProblem| ZoneError::Invalid {
            path: path.to_path_buf(),
            line,
            problem: Box::new(match from {
                Some((from, from_line)) => ZoneProblem::Included {
                    problem: Box::new(problem),
                    from: from.to_path_buf(),
                    line: from_line,
                },
                None => problem,
            }),
        };
        for include in &scan.includes {
            if let Some(line) = scan.generic
                && line < include.line
            {
                return Err(at(line, ZoneProblem::Generic));
            }
            let line = include.line;
            let written = include
                .path
                .as_ref()
                .map_err(|e| at(line, e.clone().into()))?;
            let Some(relative) = inside(dir, Path::new(written)) else {
                let outside = IncludeError::Outside {
                    written: written.clone(),
                    root: self.root.to_path_buf(),
                };
                return Err(at(line, outside.into()));
            };
            self.count += 1;
            if self.count > MAX_INCLUDES {
                return Err(at(line, IncludeError::TooMany.into()));
            }
            if self.stack.len() > MAX_DEPTH {
                return Err(at(line, IncludeError::TooDeep.into()));
            }
            // Where hickory reads it: relative to the including file.
            let target = path.parent().unwrap_or(Path::new("")).join(written);
            let id = identity(&target);
            if self.stack.contains(&id) {
                let looped = IncludeError::Loop {
                    written: written.clone(),
                    target,
                };
                return Err(at(line, looped.into()));
            }
            let here = (path, line);
            let inner = match self.seen.get(&id) {
                Some(scan) => scan.clone(),
                None => {
                    let text = read_text(&target).map_err(|e| match e {
                        ZoneError::Read { source, .. } => at(
                            line,
                            ZoneProblem::IncludeRead {
                                written: written.clone(),
                                target: target.clone(),
                                source,
                            },
                        ),
                        ZoneError::Invalid {
                            path: inner_path,
                            line: inner_line,
                            problem,
                        } => ZoneError::Invalid {
                            path: inner_path,
                            line: inner_line,
                            problem: Box::new(ZoneProblem::Included {
                                problem,
                                from: path.to_path_buf(),
                                line,
                            }),
                        },
                        other => other,
                    })?;
                    let inner = Rc::new(self::scan(&text));
                    self.seen.insert(id.clone(), inner.clone());
                    inner
                }
            };
            let inner_dir = relative.parent().unwrap_or(Path::new("")).to_path_buf();
            self.stack.push(id);
            self.file(&target, &inner_dir, &inner, Some(here))?;
            self.stack.pop();
        }
        match scan.generic {
            Some(line) => Err(at(line, ZoneProblem::Generic)),
            None => Ok(()),
        }
    }
}

/// The file `written` names from the folder `dir` (relative to the zone
/// folder), with `.` and `..` resolved; `None` when `written` is absolute
/// or climbs above the zone folder.
fn inside(dir: &Path, written: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = dir.iter().collect();
    for part in written.components() {
        match part {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// One name per file, for finding loops: the canonical path when there is one.
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Line numbers of byte positions, counted forward from the last one asked.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, pos: usize) -> usize {
        if pos < self.pos {
            (self.pos, self.line) = (0, 1);
        }
        let newlines = memchr::memchr_iter(b'\n', &self.text.as_bytes()[self.pos..pos]).count();
        self.line += newlines;
        self.pos = pos;
        self.line
    }
}

/// Reads `text` as hickory's lexer does and notes its `$INCLUDE`s and the
/// first `\#` token. Scanning stops where the lexer would fail: the parser
/// reads nothing after that.
fn scan(text: &str) -> Scan {
    #[derive(Clone, Copy)]
    enum S {
        /// Start of a line.
        Line,
        /// Between tokens.
        Rest,
        /// Inside a token; `owner` when it is a line's first (its owner name).
        Chars {
            list: bool,
            start: usize,
            owner: bool,
        },
        /// Inside a quoted string.
        Quote,
        /// Inside parentheses, between tokens.
        List,
        Comment {
            list: bool,
        },
        /// At a line end (`\r` before `\n` allowed).
        End,
    }
    let mut out = Scan::default();
    let mut lines = Lines {
        text,
        pos: 0,
        line: 1,
    };
    let mut generic = |start: usize, end: usize, owner: bool, out: &mut Scan| {
        if !owner && out.generic.is_none() && text.get(start..end) == Some("\\#") {
            out.generic = Some(lines.at(start));
        }
    };
    let mut includes = Lines {
        text,
        pos: 0,
        line: 1,
    };
    // Records an `$INCLUDE` directive starting at byte `at`.
    let mut include_at = |at: usize, out: &mut Scan| {
        if let Some(rest) = text[at..].strip_prefix("$INCLUDE")
            && !rest.starts_with(|c: char| c.is_ascii_uppercase())
            && let Some(path) = include_path(rest)
        {
            out.includes.push(Include {
                line: includes.at(at),
                path,
            });
        }
    };
    // hickory's lexer is back at a line start once a `$TTL` or `$ORIGIN`
    // has its value, so `$TTL 60 $INCLUDE f` includes `f` (found in review):
    // this follows where on such a line the scan is.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Directive {
        None,
        /// `$TTL` or `$ORIGIN` read, its value not yet.
        Named,
        /// ... and its value: a `$` now starts a directive.
        Valued,
    }
    let mut directive = Directive::None;
    let mut state = S::Line;
    // The next token is the first of its line: an owner, not record data.
    let mut first = false;
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, ch)) = chars.peek() {
        state = match state {
            // Most lines of a big zone are one plain record: take them whole.
            S::Line if let Some(len) = plain_line(&text.as_bytes()[at..]) => {
                chars.nth(len);
                out.ends.push(at + len + 1);
                S::Line
            }
            S::Line => match ch {
                '\r' | '\n' => S::End,
                c if c.is_whitespace() => {
                    chars.next();
                    S::Rest
                }
                _ => {
                    include_at(at, &mut out);
                    first = true;
                    S::Rest
                }
            },
            S::Rest => {
                let owner = std::mem::take(&mut first);
                match ch {
                    '@' => {
                        chars.next();
                        S::Rest
                    }
                    '(' => {
                        chars.next();
                        S::List
                    }
                    '$' => {
                        // hickory's parser is back at a line start after the
                        // value of `$TTL` or `$ORIGIN`, so `$TTL 60 $INCLUDE f`
                        // includes `f`: such an include is checked like one
                        // at the start of a line (found in review).
                        let word_end = text[at + 1..]
                            .find(|c: char| !c.is_ascii_uppercase())
                            .map_or(text.len(), |n| at + 1 + n);
                        let word = &text[at + 1..word_end];
                        if !owner && directive == Directive::Valued && word == "INCLUDE" {
                            include_at(at, &mut out);
                        }
                        // (At a line's start the Line state has recorded an include.)
                        directive = match (owner || directive == Directive::Valued, word) {
                            (true, "TTL" | "ORIGIN") => Directive::Named,
                            _ => Directive::None,
                        };
                        chars.next();
                        while chars.next_if(|&(_, c)| c.is_ascii_uppercase()).is_some() {}
                        S::Rest
                    }
                    '\r' | '\n' => S::End,
                    '"' => {
                        chars.next();
                        S::Quote
                    }
                    ';' => S::Comment { list: false },
                    c if c.is_whitespace() => {
                        chars.next();
                        S::Rest
                    }
                    c if !c.is_control() && c != ')' => {
                        directive = match directive {
                            Directive::Named => Directive::Valued,
                            _ => Directive::None,
                        };
                        S::Chars {
                            list: false,
                            start: at,
                            owner,
                        }
                    }
                    _ => break,
                }
            }
            S::Chars { list, start, owner } => match ch {
                ')' if !list => break,
                c if c.is_whitespace() || c == ')' || c == ';' => {
                    generic(start, at, owner, &mut out);
                    if list { S::List } else { S::Rest }
                }
                c if !c.is_control() => {
                    chars.next();
                    state
                }
                _ => break,
            },
            S::Quote => {
                chars.next();
                match ch {
                    '"' => S::Rest,
                    '\\' => match chars.next() {
                        Some((_, c)) if c.is_control() => break,
                        None => break,
                        Some((_, c)) => {
                            // \DDD: three characters in all.
                            if c.is_numeric() {
                                chars.next();
                                chars.next();
                            }
                            S::Quote
                        }
                    },
                    _ => S::Quote,
                }
            }
            S::List => match ch {
                ';' => {
                    chars.next();
                    S::Comment { list: true }
                }
                ')' => {
                    chars.next();
                    S::Rest
                }
                c if c.is_whitespace() => {
                    chars.next();
                    S::List
                }
                c if !c.is_control() => S::Chars {
                    list: true,
                    start: at,
                    owner: false,
                },
                _ => break,
            },
            S::Comment { list } => match ch {
                '\r' | '\n' if list => S::List,
                '\r' | '\n' => S::End,
                _ => {
                    chars.next();
                    state
                }
            },
            S::End => match ch {
                '\r' => {
                    chars.next();
                    S::End
                }
                '\n' => {
                    chars.next();
                    out.ends.push(at + 1);
                    directive = Directive::None;
                    S::Line
                }
                _ => break,
            },
        };
    }
    // A token running to the end of the text ends there.
    if let S::Chars { start, owner, .. } = state {
        generic(start, text.len(), owner, &mut out);
    }
    out
}

/// The offset of the `\n` ending the line that starts `bytes`, when the
/// line holds nothing the lexer treats specially: printable ASCII but for
/// `( ) " ; \ $`, spaces and tabs. Such a line, begun outside parentheses
/// and quotes, is one whole record (or blank), and the scan has nothing to
/// note in it but its end.
fn plain_line(bytes: &[u8]) -> Option<usize> {
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\n' => return Some(i),
            b'\t' | b' ' => {}
            b'(' | b')' | b'"' | b';' | b'\\' | b'$' => return None,
            0x21..=0x7e => {}
            _ => return None,
        }
    }
    None
}

/// The path of a `$INCLUDE` whose text after the keyword is `rest`; `None`
/// when there is none (the parser rejects that line itself).
fn include_path(rest: &str) -> Option<Result<String, IncludeError>> {
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() && c != '\r' && c != '\n');
    if let Some(quoted) = rest.strip_prefix('"') {
        let path = &quoted[..quoted.find('"')?];
        if path.contains('\\') {
            return Some(Err(IncludeError::Escapes {
                path: path.to_string(),
            }));
        }
        return Some(Ok(path.to_string()));
    }
    let first = rest.chars().next()?;
    if first.is_control() || "@()$;".contains(first) {
        return None;
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || c == ')' || c == ';')
        .unwrap_or(rest.len());
    let path = &rest[..end];
    if path.chars().any(char::is_control) {
        return None;
    }
    Some(Ok(path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn includes(text: &str) -> Vec<(usize, String)> {
        scan(text)
            .includes
            .into_iter()
            .map(|i| (i.line, i.path.unwrap_or_else(|e| format!("error: {e}"))))
            .collect()
    }

    #[test]
    fn an_include_after_a_directive_value_on_the_same_line_is_found() {
        let found = includes(
            "$TTL 60 $INCLUDE a.inc
$ORIGIN x. $TTL 5 $INCLUDE b.inc
",
        );
        assert_eq!(found, [(1, "a.inc".to_string()), (2, "b.inc".to_string())]);
        // Not after record data, nor after a directive without its value.
        assert!(
            includes(
                "www TXT $INCLUDE a.inc
$TTL
"
            )
            .is_empty()
        );
        assert!(
            includes(
                "$TTL 60 www $INCLUDE a.inc
"
            )
            .is_empty()
        );
    }

    #[test]
    fn includes_are_found_where_the_lexer_follows_them() {
        let text = "$TTL 60\n$INCLUDE a.inc\n$INCLUDE\t\"b c.inc\" ; note\n$INCLUDEd.inc\n\
                    t TXT \"line one\n$INCLUDE quoted.inc\"\n\
                    m MX ( 10\n$INCLUDE list.inc )\n\
                    ; $INCLUDE comment.inc\r\n$INCLUDE last.inc\n";
        assert_eq!(
            includes(text),
            [
                (2, "a.inc".to_string()),
                (3, "b c.inc".to_string()),
                (4, "d.inc".to_string()),
                (10, "last.inc".to_string()),
            ]
        );
        // Not a directive: after a blank, or a longer word.
        assert!(includes(" $INCLUDE a.inc\n$INCLUDEX a.inc\n").is_empty());
        assert!(includes("$INCLUDE \"a\\\"b\"\n")[0].1.starts_with("error"));
        // Where the lexer fails, the parser follows nothing after.
        assert!(includes("a ) b\n$INCLUDE x.inc\n").is_empty());
    }

    #[test]
    fn generic_data_is_found_in_record_data_only() {
        let line = |text: &str| scan(text).generic;
        assert_eq!(line("a TXT \\# 4 03616263\n"), Some(1));
        assert_eq!(line("a TXT x\nb TYPE65000 (\n \\#\n 1 ab )\n"), Some(3));
        assert_eq!(line("a TXT \"\\#\"\n\\# A 192.0.2.1\n"), None);
        assert_eq!(line("a TXT x\\#\n; \\#\n"), None);
        assert_eq!(line("a TXT \\#"), Some(1));
    }

    /// The pieces give the ends one scan gives, whether a cut falls
    /// between records, inside parentheses or a quoted string spanning lines,
    /// or after the place where the lexer would stop.
    #[test]
    fn ends_found_in_pieces_are_the_ends_found_whole() {
        let plain = |n: usize| -> String {
            (0..n)
                .map(|i| format!("h{i} A 10.0.{}.{}\n", (i / 256) % 256, i % 256))
                .collect()
        };
        let long_list: String = format!("p TXT ( \"x\"\n{}) ; end\n", " \"y\"\n".repeat(200_000));
        let long_quote = format!("q TXT \"{}\"\n", "z\n".repeat(300_000));
        let cases = [
            plain(90_000),
            format!("{}{long_list}{}", plain(30_000), plain(30_000)),
            format!("{}{long_quote}{}", plain(30_000), plain(30_000)),
            format!("{}bad \u{1} A 10.0.0.1\n{}", plain(20_000), plain(60_000)),
            format!("{}x ) A 10.0.0.1\n{}", plain(60_000), plain(20_000)),
        ];
        for (i, text) in cases.iter().enumerate() {
            assert!(text.len() > PARALLEL_SCAN, "case {i} is big enough");
            let whole = record_ends(text);
            for threads in 2..5 {
                assert_eq!(
                    record_ends_on(text, threads),
                    whole,
                    "case {i}, {threads} threads"
                );
            }
        }
    }

    #[test]
    fn records_end_outside_parentheses_and_quotes() {
        let text = "a A 1\n; c\nb MX ( 10\n m )\nt TXT \"x\ny\"\r\nu ) v\nw A 2\n";
        let ends: Vec<&str> = record_ends(text).iter().map(|&e| &text[..e]).collect();
        assert_eq!(
            ends,
            [
                "a A 1\n",
                "a A 1\n; c\n",
                "a A 1\n; c\nb MX ( 10\n m )\n",
                "a A 1\n; c\nb MX ( 10\n m )\nt TXT \"x\ny\"\r\n",
            ],
            "none after the lexer fails at `)`"
        );
    }

    #[test]
    fn inside_resolves_dots_and_refuses_to_leave() {
        let p = |dir: &str, w: &str| inside(Path::new(dir), Path::new(w));
        assert_eq!(p("", "a.inc"), Some(PathBuf::from("a.inc")));
        assert_eq!(p("sub", "../a.inc"), Some(PathBuf::from("a.inc")));
        assert_eq!(p("sub", "./x/../b.inc"), Some(PathBuf::from("sub/b.inc")));
        assert_eq!(p("", "../a.inc"), None);
        assert_eq!(p("sub", "../../a.inc"), None);
        assert_eq!(p("", "/etc/passwd"), None);
    }
}
