//! Owns rewriting a zone file's text, before hickory's parser reads it, where
//! that parser reads RFC 1035 master files otherwise than NSD, Knot and BIND
//! do. Each case was found by loading the same files into NSD and comparing
//! (see the README); all but the first changed the data silently.
//!
//! - `@` in record data: RFC 1035 §5.1 makes a lone `@` the origin wherever
//!   a name goes (`www CNAME @`, `@ MX 10 @`); the parser takes it only as an
//!   owner. It is written as the origin, in the data of the types whose data
//!   is names and numbers only (an `@` there can only be a name; in a TXT it
//!   is text).
//! - Parentheses: inside them the parser's lexer knows no quotes, so
//!   `TXT ( "v=DKIM1; k=rsa; " "p=…" )` became the strings `"v=DKIM1` and
//!   `"p=…"`, with the quotes, and the text after the `;` was a comment. A
//!   record in parentheses is written on its first line instead (its
//!   comments dropped, its other lines left empty, so every line keeps its
//!   number), where the lexer reads quotes.
//! - `\DDD` in quoted text: the lexer computes `\065` as the code point
//!   0 << 16 | 6 << 8 | 5, U+0605. Values up to 127 are written as the
//!   character itself; above
//!   127 (a byte that is not text) and above 255 are errors.
//! - Unquoted TXT data with escapes (`a\032b\;c`): the lexer ends the token
//!   at the `;` and keeps the backslashes. Such a token is written quoted.
//! - `$INCLUDE` of a file that sets `$ORIGIN`: RFC 1035 §5.1 has the origin
//!   revert after the included file; the parser keeps the included file's.
//!   The origin is set again at the start of the next record line.
//! - `$INCLUDE file origin`, which the parser rejects: written as
//!   `$ORIGIN origin $INCLUDE file` on its line, the origin set again after.
//!
//! The text is walked the way hickory's lexer reads it (as `scan` does), and
//! the origin followed through `$ORIGIN` lines. Files that hickory reads
//! itself (`$INCLUDE`d ones) are not rewritten: the parser's own error names
//! an `@` in one.

use std::path::Path;

use hickory_proto::rr::Name;

/// What a record's type says of its data, for this rewrite.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Names and numbers only: a lone `@` is the origin.
    Names,
    /// Text (TXT): unquoted tokens with escapes are quoted.
    Text,
    Other,
}

/// Types hickory reads whose data holds names and nothing an `@` could be.
const NAME_TYPES: [&str; 9] = [
    "CNAME", "NS", "PTR", "MX", "SOA", "SRV", "SVCB", "HTTPS", "ANAME",
];

/// `text` rewritten where hickory's parser would read it otherwise than NSD
/// (see the module comment), with `origin` in force until an `$ORIGIN`;
/// `None` when nothing needs writing. `path` is the file's, for its
/// `$INCLUDE`s. An error is a `\DDD` escape that cannot be written as text.
pub(super) fn rewrite(
    text: &str,
    path: Option<&Path>,
    origin: Option<&Name>,
) -> Result<Option<String>, String> {
    let next = next_interest(text.as_bytes(), 0);
    if next == text.len() {
        return Ok(None);
    }
    let mut w = Walk {
        text,
        out: String::with_capacity(text.len() + 64),
        origin: origin.map(Name::to_ascii),
        kind: None,
        pending: 0,
        revert: None,
        next,
    };
    w.walk(path)?;
    Ok((w.out != text).then_some(w.out))
}

struct Walk<'t> {
    text: &'t str,
    out: String,
    /// The origin in force, as an absolute name; `None` when unknown.
    origin: Option<String>,
    /// The current record's type, once read (`None` before it).
    kind: Option<Kind>,
    /// Line ends taken out of the current record's parentheses, to be
    /// written after its last line.
    pending: usize,
    /// The origin to set again at the next record line, after an included
    /// file that changes it.
    revert: Option<String>,
    /// Offset of the next character that may need writing ([`next_interest`]).
    next: usize,
}

/// Offset of the first `@`, `(`, `\` or `$INCLUDE` at or after `from`, or
/// the text's length: lines before it are copied as they are.
fn next_interest(bytes: &[u8], from: usize) -> usize {
    let rest = &bytes[from..];
    let special = memchr::memchr3(b'@', b'(', b'\\', rest).unwrap_or(rest.len());
    let include = memchr::memmem::find(&rest[..special], b"$INCLUDE").unwrap_or(special);
    from + include
}

/// Where the walk is.
#[derive(Clone, Copy)]
enum S {
    /// At the start of a line, outside parentheses.
    Line,
    /// Between tokens; `list` inside parentheses; `first` when the next
    /// token is the line's owner.
    Between { list: bool, first: bool },
}

impl Walk<'_> {
    fn walk(&mut self, path: Option<&Path>) -> Result<(), String> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut at = 0;
        let mut state = S::Line;
        while at < text.len() {
            let c = bytes[at];
            state = match state {
                S::Line => {
                    self.kind = None;
                    if at > self.next {
                        self.next = next_interest(bytes, at);
                    }
                    if self.revert.is_none() && self.next == text.len() {
                        // Nothing left to write (most of a big file after its head).
                        self.out.push_str(&text[at..]);
                        return Ok(());
                    }
                    let end = memchr::memchr(b'\n', &bytes[at..]).map_or(text.len(), |n| at + n);
                    if self.revert.is_none() && self.next > end && c != b'$' {
                        // Nothing to write on this line.
                        let stop = (end + 1).min(text.len());
                        self.out.push_str(&text[at..stop]);
                        at = stop;
                        continue;
                    }
                    let line = &text[at..end];
                    if let Some(origin) = self.revert.take() {
                        if line.starts_with(|c: char| !c.is_whitespace() && c != ';') {
                            self.out.push_str("$ORIGIN ");
                            self.out.push_str(&origin);
                            self.out.push(' ');
                            self.origin = Some(origin);
                        } else if !is_blank(line) {
                            // A line continuing the included file's last owner:
                            // left as the parser reads it.
                            self.origin = None;
                        } else {
                            self.revert = Some(origin);
                        }
                    }
                    match c {
                        b'\n' | b'\r' => {
                            self.out.push(c as char);
                            at += 1;
                            S::Line
                        }
                        b'$' => {
                            self.directive(line, path);
                            at = end;
                            S::Line
                        }
                        c if c.is_ascii_whitespace() => S::Between {
                            list: false,
                            first: false,
                        },
                        _ => S::Between {
                            list: false,
                            first: true,
                        },
                    }
                }
                S::Between { list, first } => match c {
                    b'\n' if list => {
                        // Taken out; written after the record's last line.
                        self.out.push(' ');
                        self.pending += 1;
                        at += 1;
                        state
                    }
                    b'\n' => {
                        self.out.push('\n');
                        for _ in 0..std::mem::take(&mut self.pending) {
                            self.out.push('\n');
                        }
                        at += 1;
                        S::Line
                    }
                    b'\r' if list => {
                        self.out.push(' ');
                        at += 1;
                        state
                    }
                    c if c.is_ascii_whitespace() => {
                        self.out.push(c as char);
                        at += 1;
                        state
                    }
                    b'(' if !list => {
                        self.out.push(' ');
                        at += 1;
                        S::Between { list: true, first }
                    }
                    b')' if list => {
                        self.out.push(' ');
                        at += 1;
                        S::Between { list: false, first }
                    }
                    b';' => {
                        let end =
                            memchr::memchr(b'\n', &bytes[at..]).map_or(text.len(), |n| at + n);
                        // In parentheses the comment would end the record's
                        // one line: it is dropped.
                        if !list {
                            self.out.push_str(&text[at..end]);
                        }
                        at = end;
                        state
                    }
                    b'"' => {
                        at = self.quoted(at)?;
                        S::Between { list, first: false }
                    }
                    _ => {
                        at = self.token(at, first)?;
                        S::Between { list, first: false }
                    }
                },
            };
        }
        if let S::Between { list: true, .. } = state {
            // Flattened, the record would read as closed.
            return Err("a `(` is never closed by its `)`".into());
        }
        Ok(())
    }

    /// Follows the origin through a directive line.
    /// Copies a directive line, following the origin through it.
    fn directive(&mut self, line: &str, path: Option<&Path>) {
        if let Some(rest) = line.strip_prefix("$ORIGIN") {
            // hickory reads `$ORIGIN` without an origin: only an absolute
            // name is one we can write.
            self.origin = absolute(rest.split_whitespace().next());
        } else if let Some(rest) = line.strip_prefix("$INCLUDE") {
            let (file, after) = include_file(rest);
            let origin = absolute(
                after
                    .split_whitespace()
                    .next()
                    .filter(|t| !t.starts_with(';')),
            );
            if let (Some(origin), Some(current)) = (origin, &self.origin) {
                // `$INCLUDE file origin` (RFC 1035 §5.1), which the parser
                // does not take: the same as `$ORIGIN origin` just before it,
                // on the same line, and the origin back after the file.
                self.out.push_str("$ORIGIN ");
                self.out.push_str(&origin);
                self.out.push_str(" $INCLUDE");
                self.out.push_str(file);
                self.revert = Some(current.clone());
                self.origin = None;
                return;
            }
            if sets_origin(path, rest) {
                self.revert = self.origin.clone();
                self.origin = None;
            }
        }
        self.out.push_str(line);
    }

    /// Copies the quoted string starting at `at` (its `"`), writing `\DDD`
    /// escapes as characters; returns the offset past its closing quote.
    fn quoted(&mut self, at: usize) -> Result<usize, String> {
        let bytes = self.text.as_bytes();
        self.out.push('"');
        let mut i = at + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    self.out.push('"');
                    return Ok(i + 1);
                }
                b'\\' => i = self.escape(i)?,
                _ => {
                    let n = utf8_len(bytes[i]);
                    self.out.push_str(&self.text[i..(i + n).min(bytes.len())]);
                    i += n;
                }
            }
        }
        // Unclosed: the parser says so.
        Ok(i)
    }

    /// Copies the escape at `at` (its backslash) for a quoted string;
    /// returns the offset past it.
    fn escape(&mut self, at: usize) -> Result<usize, String> {
        let bytes = self.text.as_bytes();
        let digits = bytes[at + 1..]
            .iter()
            .take(3)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 3 {
            let value = bytes[at + 1..at + 4]
                .iter()
                .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
            match value {
                34 => self.out.push_str("\\\""),
                92 => self.out.push_str("\\\\"),
                0..=127 => self.out.push(char::from(value as u8)),
                128..=255 => {
                    return Err(format!(
                        "\\{value}: a byte above 127 in text is not supported (write UTF-8 text)"
                    ));
                }
                _ => return Err(format!("\\{value}: an escaped byte is at most \\255")),
            }
            return Ok(at + 4);
        }
        // `\X`: the parser reads it as X.
        let n = bytes.get(at + 1).map_or(0, |&b| utf8_len(b));
        let end = (at + 1 + n).min(bytes.len());
        self.out.push_str(&self.text[at..end]);
        Ok(end)
    }

    /// Copies the unquoted token at `at` (`first` when it is the owner),
    /// rewritten as its record's kind needs; returns the offset past it.
    fn token(&mut self, at: usize, first: bool) -> Result<usize, String> {
        let bytes = self.text.as_bytes();
        // The token's end as NSD reads it: a backslash takes the next
        // character into the token.
        let mut end = at;
        let mut escaped = false;
        while end < bytes.len() {
            match bytes[end] {
                b'\\' => {
                    escaped = true;
                    end += 1 + bytes.get(end + 1).map_or(0, |&b| utf8_len(b));
                }
                b';' | b'(' | b')' | b'"' => break,
                b if b.is_ascii_whitespace() => break,
                b => end += utf8_len(b),
            }
        }
        // A `(` or `)` where it means nothing to the lexer: one character.
        let end = if end == at {
            at + utf8_len(bytes[at])
        } else {
            end
        }
        .min(bytes.len());
        let token = &self.text[at..end];
        if first {
            self.out.push_str(token);
            return Ok(end);
        }
        let Some(kind) = self.kind else {
            self.kind = kind(token);
            self.out.push_str(token);
            return Ok(end);
        };
        match kind {
            Kind::Names if token == "@" => match &self.origin {
                Some(origin) => self.out.push_str(origin),
                None => self.out.push('@'),
            },
            Kind::Text if escaped => {
                // Quoted, the lexer reads its escapes.
                self.out.push('"');
                let mut i = at;
                while i < end {
                    match bytes[i] {
                        b'\\' => i = self.escape(i)?,
                        b'"' => {
                            self.out.push_str("\\\"");
                            i += 1;
                        }
                        b => {
                            let n = utf8_len(b).min(end - i);
                            self.out.push_str(&self.text[i..i + n]);
                            i += n;
                        }
                    }
                }
                self.out.push('"');
            }
            _ => self.out.push_str(token),
        }
        Ok(end)
    }
}

/// An absolute name as written, else `None`.
fn absolute(token: Option<&str>) -> Option<String> {
    token
        .filter(|o| o.ends_with('.') && !o.contains('"'))
        .map(str::to_owned)
}

/// Splits the text after `$INCLUDE` into the file name as written (with the
/// white space before it, and its quotes) and what follows.
fn include_file(rest: &str) -> (&str, &str) {
    let start = rest.len() - rest.trim_start().len();
    let name = &rest[start..];
    let len = match name.strip_prefix('"') {
        Some(quoted) => quoted.find('"').map_or(name.len(), |n| n + 2),
        None => name.find(char::is_whitespace).unwrap_or(name.len()),
    };
    rest.split_at(start + len)
}

/// Bytes of the UTF-8 character starting with `b`.
fn utf8_len(b: u8) -> usize {
    match b {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

/// A line with nothing but white space and a comment.
fn is_blank(line: &str) -> bool {
    let line = line.trim_start();
    line.is_empty() || line.starts_with(';')
}

/// What a token before a record's data says of it: `None` for a TTL or a
/// class, else it is the type, and this is its kind.
fn kind(token: &str) -> Option<Kind> {
    const CLASSES: [&str; 5] = ["IN", "CH", "HS", "NONE", "ANY"];
    if token.starts_with(|c: char| c.is_ascii_digit())
        || CLASSES.iter().any(|c| token.eq_ignore_ascii_case(c))
    {
        return None;
    }
    if NAME_TYPES.iter().any(|t| token.eq_ignore_ascii_case(t)) {
        Some(Kind::Names)
    } else if token.eq_ignore_ascii_case("TXT") {
        Some(Kind::Text)
    } else {
        Some(Kind::Other)
    }
}

/// Whether the file an `$INCLUDE` line (`rest` after the keyword) names
/// may set an `$ORIGIN`: true unless it is read and has none.
fn sets_origin(path: Option<&Path>, rest: &str) -> bool {
    let Some(name) = rest.split_whitespace().next() else {
        return true;
    };
    let name = name.trim_matches('"');
    let file = path
        .and_then(Path::parent)
        .map_or_else(|| Path::new(name).to_path_buf(), |dir| dir.join(name));
    std::fs::read_to_string(file).map_or(true, |included| included.contains("$ORIGIN"))
}

#[cfg(test)]
mod tests {
    use super::rewrite;
    use hickory_proto::rr::Name;

    fn run(text: &str) -> Option<String> {
        let origin = Name::from_ascii("example.com.").unwrap();
        rewrite(text, None, Some(&origin)).unwrap()
    }

    #[test]
    fn a_lone_at_in_names_data_becomes_the_origin() {
        assert_eq!(
            run("www CNAME @\n").as_deref(),
            Some("www CNAME example.com.\n")
        );
        assert_eq!(
            run("@ MX 10 @\n").as_deref(),
            Some("@ MX 10 example.com.\n")
        );
        assert_eq!(
            run("\tIN CNAME @").as_deref(),
            Some("\tIN CNAME example.com.")
        );
        assert_eq!(
            run("x 60 IN CNAME @\ny IN 60 SRV 0 0 80 @\n").as_deref(),
            Some("x 60 IN CNAME example.com.\ny IN 60 SRV 0 0 80 example.com.\n")
        );
    }

    #[test]
    fn owners_strings_comments_text_and_longer_tokens_keep_their_at() {
        assert_eq!(run("@ A 192.0.2.1\n"), None);
        assert_eq!(run("x TXT \"@\" \"a @ b\" ; @\n"), None);
        assert_eq!(run("x TXT a@b @x\n"), None);
        assert_eq!(run("x CNAME @x\n"), None);
        assert_eq!(run("x TXT @\nx 60 IN CAA 0 issue @\n"), None);
    }

    #[test]
    fn a_record_in_parentheses_is_written_on_its_first_line() {
        // Every line keeps its number; comments inside are dropped.
        assert_eq!(
            run("@ MX ( 10 ; pref\n @ )\nnext A 192.0.2.1\n").as_deref(),
            Some("@ MX   10   example.com.  \n\nnext A 192.0.2.1\n")
        );
        assert_eq!(
            run("k TXT ( \"v=DKIM1; k=rsa; \"\n  \"p=AB\" ) ; key\n").as_deref(),
            Some("k TXT   \"v=DKIM1; k=rsa; \"   \"p=AB\"   ; key\n\n")
        );
    }

    #[test]
    fn a_parenthesis_never_closed_stays_an_error() {
        let origin = Name::from_ascii("example.com.").unwrap();
        let open = rewrite("m MX ( 10 mail\nmore A 192.0.2.5\n", None, Some(&origin));
        assert!(open.is_err_and(|e| e.contains("never closed")));
    }

    #[test]
    fn decimal_escapes_in_text_are_written_as_characters() {
        assert_eq!(
            run("t TXT \"a\\032b\\059c\\034d\\092e\\\"f\"\n").as_deref(),
            Some("t TXT \"a b;c\\\"d\\\\e\\\"f\"\n")
        );
        let origin = Name::from_ascii("example.com.").unwrap();
        let high = rewrite("t TXT \"\\200\"\n", None, Some(&origin));
        assert!(high.is_err_and(|e| e.contains("above 127")));
        let over = rewrite("t TXT \"\\256\"\n", None, Some(&origin));
        assert!(over.is_err_and(|e| e.contains("at most")));
    }

    #[test]
    fn unquoted_text_with_escapes_is_quoted() {
        assert_eq!(
            run("t TXT a\\032b\\;c plain\n").as_deref(),
            Some("t TXT \"a b\\;c\" plain\n")
        );
        // Not in other types' data.
        assert_eq!(run("a\\.b A 192.0.2.1\n"), None);
    }

    #[test]
    fn the_origin_follows_origin_lines_and_is_unknown_after_an_include() {
        let text = "a CNAME @\n$ORIGIN sub.example.com.\nb CNAME @\n$INCLUDE f\nc CNAME @\n$ORIGIN rel\nd CNAME @\n$ORIGIN x.test.\ne CNAME @\n";
        assert_eq!(
            run(text).as_deref(),
            Some(
                "a CNAME example.com.\n$ORIGIN sub.example.com.\nb CNAME sub.example.com.\n$INCLUDE f\n$ORIGIN sub.example.com. c CNAME sub.example.com.\n$ORIGIN rel\nd CNAME @\n$ORIGIN x.test.\ne CNAME x.test.\n"
            )
        );
        assert_eq!(rewrite("a CNAME @\n", None, None).unwrap(), None);
    }

    #[test]
    fn an_include_with_an_origin_sets_it_for_the_file_only() {
        let text = "$INCLUDE sub.inc sub.example.com. ; hosts\nwww CNAME @\n";
        assert_eq!(
            run(text).as_deref(),
            Some(
                "$ORIGIN sub.example.com. $INCLUDE sub.inc\n$ORIGIN example.com. www CNAME example.com.\n"
            )
        );
        assert_eq!(
            run("$INCLUDE \"a b.inc\" x.test.\n").as_deref(),
            Some("$ORIGIN x.test. $INCLUDE \"a b.inc\"\n")
        );
        // A relative origin is left to the parser's error.
        assert_eq!(run("$INCLUDE sub.inc sub\n"), None);
    }

    #[test]
    fn after_an_include_that_sets_an_origin_the_origin_is_set_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plain.inc"), "k A 192.0.2.1\n").unwrap();
        std::fs::write(dir.path().join("moves.inc"), "$ORIGIN other.test.\n").unwrap();
        let zone = dir.path().join("example.com.zone");
        let origin = Name::from_ascii("example.com.").unwrap();
        let text = "$INCLUDE plain.inc\na CNAME @\n$INCLUDE \"moves.inc\"\n\n; note\nb CNAME @\n";
        assert_eq!(
            rewrite(text, Some(&zone), Some(&origin))
                .unwrap()
                .as_deref(),
            Some(
                "$INCLUDE plain.inc\na CNAME example.com.\n$INCLUDE \"moves.inc\"\n\n; note\n$ORIGIN example.com. b CNAME example.com.\n"
            )
        );
    }
}
