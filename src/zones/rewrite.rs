//! Owns rewriting a zone file's text where hickory's parser would read it
//! otherwise than NSD, Knot and BIND do. Each case was found by loading the
//! same files into NSD and comparing (see the README); most changed the
//! data silently.
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
//!   character; a run of bytes above 127 as the UTF-8 text it spells (as
//!   BIND and Knot write UTF-8 out); any other is an error.
//! - Unquoted TXT data with escapes (`a\032b\;c`): the lexer ends the token
//!   at the `;` and keeps the backslashes. Such a token is written quoted.
//! - `$INCLUDE file origin`, which the parser rejects: written as
//!   `$ORIGIN origin $INCLUDE file` on its line.
//! - After an `$INCLUDE` the origin reverts (RFC 1035 §5.1); the parser
//!   keeps whatever the included file set. The origin is written again at
//!   the start of the next owner's line.
//! - Directives in lower case (`$ttl`), which BIND and NSD read.
//!
//! The rewrite runs once per file, before anything else reads it: the
//! checks of `scan` (which `$INCLUDE`s are followed, where records end) then
//! see the very text the parser reads. The text is walked the way hickory's
//! lexer reads it, and the origin followed through `$ORIGIN` lines. Files
//! that hickory reads itself (`$INCLUDE`d ones) are not rewritten.

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

/// An error in the text: its offset and what is wrong.
pub(super) type Error = (usize, SyntaxError);

/// Text the rewrite cannot write so that hickory's parser reads it as NSD
/// does.
#[derive(thiserror::Error, Debug)]
pub enum SyntaxError {
    /// A line whose first token is a `(`.
    #[error("a record line cannot start with `(`")]
    ParenthesisFirst,
    /// A `(` without its `)`: written on one line, the record would read
    /// as closed.
    #[error("a `(` is never closed by its `)`")]
    Unclosed,
    /// A directive after `$TTL`'s or `$ORIGIN`'s value on its line.
    #[error("one directive per line, please")]
    TwoDirectives,
    /// `\010` in text: a line end would move every later line.
    #[error("\\010 (a line end) in text is not supported")]
    LineEnd,
    /// A `\DDD` escape past 255.
    #[error("\\{value}: an escaped byte is at most \\255")]
    ByteTooBig {
        /// The escape's value.
        value: u32,
    },
    /// `\DDD` escapes above 127 that do not spell UTF-8 text.
    #[error("\\DDD bytes above 127 that are not UTF-8 text are not supported")]
    NotUtf8(#[source] std::str::Utf8Error),
}

/// `text` rewritten where hickory's parser would read it otherwise than NSD
/// (see the module comment), with `origin` in force until an `$ORIGIN`;
/// `None` when nothing needs writing.
pub(super) fn rewrite(text: &str, origin: Option<&Name>) -> Result<Option<String>, Error> {
    let bytes = text.as_bytes();
    let special = next_special(bytes, 0);
    let quote = next_quote(bytes, 0);
    let dollar = next_dollar(bytes, 0);
    if special.min(quote).min(dollar) == text.len() {
        return Ok(None);
    }
    let mut w = Walk {
        text,
        out: String::with_capacity(text.len() + 64),
        origin: origin.map(Name::to_ascii),
        kind: None,
        pending: 0,
        revert: None,
        special,
        quote,
        dollar,
    };
    w.walk()?;
    // Errors are named by line: every line keeps its number (the fuzz
    // target `load` runs with this check).
    debug_assert_eq!(
        memchr::memchr_iter(b'\n', w.out.as_bytes()).count(),
        memchr::memchr_iter(b'\n', bytes).count(),
        "the rewrite moved lines"
    );
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
    /// The origin to write again at the next owner's line, after an
    /// `$INCLUDE`.
    revert: Option<String>,
    /// Offset of the next `@`, `(` or `\` ([`next_special`]).
    special: usize,
    /// Offset of the next `"`.
    quote: usize,
    /// Offset of the next line starting with `$` ([`next_dollar`]).
    dollar: usize,
}

/// Offset of the first `@`, `(` or `\` at or after `from`, or the text's
/// length: lines before it, the next `"` and the next directive are copied
/// as they are.
fn next_special(bytes: &[u8], from: usize) -> usize {
    memchr::memchr3(b'@', b'(', b'\\', &bytes[from..]).map_or(bytes.len(), |n| from + n)
}

/// Offset of the first `"` at or after `from` (a string may run over lines).
fn next_quote(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'"', &bytes[from..]).map_or(bytes.len(), |n| from + n)
}

/// Offset of the first line start at or after `from` holding a `$`, or the
/// text's length.
fn next_dollar(bytes: &[u8], from: usize) -> usize {
    if bytes.get(from) == Some(&b'$') && (from == 0 || bytes[from - 1] == b'\n') {
        return from;
    }
    memchr::memmem::find(&bytes[from..], b"\n$").map_or(bytes.len(), |n| from + n + 1)
}

/// Parentheses being read.
#[derive(Clone, Copy)]
struct List {
    /// Where the `(` is.
    open: usize,
    /// Whether the record is written on its first line: when a `"` or `\`
    /// is inside, which the lexer reads otherwise in parentheses. Others
    /// stay as they are, so an error in them keeps its own line.
    flat: bool,
}

/// Whether the parentheses opening at `at` hold a `"` or a `\` before
/// their `)` (comments skipped).
fn needs_flat(bytes: &[u8], at: usize) -> bool {
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return true,
            // (A lone `\#` is generic data, left for `scan` to name at its line.)
            b'\\' if !generic_marker(bytes, i) => return true,
            b')' => return false,
            b';' => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
            }
            _ => i += 1,
        }
    }
    false
}

/// Whether the `\` at `at` starts a token `\#` alone (RFC 3597 generic data).
fn generic_marker(bytes: &[u8], at: usize) -> bool {
    let ends = |b: Option<&u8>| b.is_none_or(|&b| b.is_ascii_whitespace() || b")(;".contains(&b));
    bytes.get(at + 1) == Some(&b'#')
        && (at == 0 || ends(bytes.get(at - 1)))
        && ends(bytes.get(at + 2))
}

/// The character starting at byte `at` of `text`, if one does.
fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..)?.chars().next()
}

/// Where the lexer ends an unquoted token starting at `at`: white space,
/// `)` or `;` (at least one character on).
fn token_end(text: &str, at: usize) -> usize {
    let end = text[at..]
        .char_indices()
        .find(|&(_, c)| c.is_whitespace() || c == ')' || c == ';')
        .map_or(text.len(), |(n, _)| at + n);
    end.max(at + utf8_len(text.as_bytes()[at]))
}

/// Where the walk is.
#[derive(Clone, Copy)]
enum S {
    /// At the start of a line, outside parentheses.
    Line,
    /// Between tokens; `list` inside parentheses; `first` when the next
    /// token is the line's owner.
    Between { list: Option<List>, first: bool },
}

impl Walk<'_> {
    fn walk(&mut self) -> Result<(), Error> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut at = 0;
        let mut state = S::Line;
        while at < text.len() {
            let c = bytes[at];
            state = match state {
                S::Line if c == b'\n' || c == b'\r' => {
                    self.out.push(c as char);
                    at += 1;
                    S::Line
                }
                S::Line => {
                    self.kind = None;
                    // Each cache is moved on only once passed: the walk stays linear.
                    if at > self.special {
                        self.special = next_special(bytes, at);
                    }
                    if at > self.quote {
                        self.quote = next_quote(bytes, at);
                    }
                    if at > self.dollar {
                        self.dollar = next_dollar(bytes, at);
                    }
                    let quiet = self.revert.is_none() && self.dollar > at;
                    let next = self.special.min(self.quote);
                    if quiet && next == text.len() && self.dollar == text.len() {
                        // Nothing left to write (most of a big file after its head).
                        self.out.push_str(&text[at..]);
                        return Ok(());
                    }
                    let end = memchr::memchr(b'\n', &bytes[at..]).map_or(text.len(), |n| at + n);
                    if quiet && next > end {
                        // Nothing to write on this line.
                        let stop = (end + 1).min(text.len());
                        self.out.push_str(&text[at..stop]);
                        at = stop;
                        continue;
                    }
                    let line = &text[at..end];
                    match c {
                        b'$' => {
                            self.directive(line, at)?;
                            at = end;
                            S::Line
                        }
                        b'(' => return Err((at, SyntaxError::ParenthesisFirst)),
                        // A record continuing the last owner: NSD, like hickory,
                        // takes the included file's last owner after an
                        // `$INCLUDE`; the origin is set again at the next owner.
                        c if c.is_ascii_whitespace() => S::Between {
                            list: None,
                            first: false,
                        },
                        _ => {
                            if let Some(origin) = self.revert.take() {
                                // The origin as it was before the `$INCLUDE`.
                                self.out.push_str("$ORIGIN ");
                                self.out.push_str(&origin);
                                self.out.push(' ');
                                self.origin = Some(origin);
                            }
                            S::Between {
                                list: None,
                                first: true,
                            }
                        }
                    }
                }
                S::Between { list, first } => match c {
                    b'\n' if list.is_some_and(|l| l.flat) => {
                        // Taken out; written after the record's last line.
                        self.out.push(' ');
                        self.pending += 1;
                        at += 1;
                        state
                    }
                    b'\n' if list.is_some() => {
                        self.out.push('\n');
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
                    b'\r' if list.is_some_and(|l| l.flat) => {
                        self.out.push(' ');
                        at += 1;
                        state
                    }
                    c if c.is_ascii_whitespace() => {
                        self.out.push(c as char);
                        at += 1;
                        state
                    }
                    // White space beyond ASCII ends tokens too, as in the lexer.
                    0x80.. if char_at(text, at).is_some_and(char::is_whitespace) => {
                        let n = utf8_len(c);
                        self.out.push_str(&text[at..at + n]);
                        at += n;
                        state
                    }
                    b'(' if list.is_none() => {
                        let flat = needs_flat(bytes, at);
                        self.out.push(if flat { ' ' } else { '(' });
                        at += 1;
                        S::Between {
                            list: Some(List { open: at - 1, flat }),
                            first,
                        }
                    }
                    b')' if let Some(l) = list => {
                        self.out.push(if l.flat { ' ' } else { ')' });
                        at += 1;
                        S::Between { list: None, first }
                    }
                    b';' => {
                        let end =
                            memchr::memchr(b'\n', &bytes[at..]).map_or(text.len(), |n| at + n);
                        // In parentheses written on one line the comment
                        // would end the record: it is dropped.
                        if !list.is_some_and(|l| l.flat) {
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
        if let S::Between {
            list: Some(List { open, flat: true }),
            ..
        } = state
        {
            // Flattened, the record would read as closed.
            return Err((open, SyntaxError::Unclosed));
        }
        for _ in 0..std::mem::take(&mut self.pending) {
            self.out.push('\n');
        }
        Ok(())
    }

    /// Copies a directive line (`line`, at a line start), in upper case,
    /// following the origin through it.
    fn directive(&mut self, line: &str, at: usize) -> Result<(), Error> {
        let word = line[1..]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        let keyword = line[1..1 + word].to_ascii_uppercase();
        let rest = &line[1 + word..];
        let tokens = tokens(rest);
        // The tokens after the directive's own values: hickory goes on
        // after `$TTL 60` or `$ORIGIN x.` as at a line start.
        let after = match keyword.as_str() {
            "ORIGIN" => {
                // hickory reads `$ORIGIN` without an origin: only an
                // absolute name is one we can write. It replaces any
                // origin still to be set again after an include.
                self.origin = tokens.first().copied().and_then(absolute);
                self.revert = None;
                tokens.get(1..)
            }
            "TTL" => tokens.get(1..),
            "INCLUDE" => {
                self.revert = self.origin.clone().or(self.revert.take());
                self.origin = None;
                if let [file, origin, ..] = tokens[..]
                    && let Some(origin) = absolute(origin)
                    && self.revert.is_some()
                {
                    // `$INCLUDE file origin`: the same as `$ORIGIN origin`
                    // just before it, on its line.
                    self.out.push_str("$ORIGIN ");
                    self.out.push_str(&origin);
                    self.out.push_str(" $INCLUDE ");
                    self.out.push_str(file);
                    return Ok(());
                }
                None
            }
            _ => None,
        };
        match after.and_then(<[&str]>::first) {
            // `$TTL 60 $INCLUDE f` includes too.
            Some(&"$INCLUDE") => {
                self.revert = self.origin.clone().or(self.revert.take());
                self.origin = None;
            }
            Some(next) if next.starts_with('$') => {
                return Err((at, SyntaxError::TwoDirectives));
            }
            _ => {}
        }
        match keyword.as_str() {
            "ORIGIN" | "TTL" | "INCLUDE" => {
                self.out.push('$');
                self.out.push_str(&keyword);
                self.out.push_str(rest);
            }
            _ => self.out.push_str(line),
        }
        Ok(())
    }

    /// Copies the quoted string starting at `at` (its `"`), writing `\DDD`
    /// escapes as characters; returns the offset past its closing quote.
    fn quoted(&mut self, at: usize) -> Result<usize, Error> {
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
                b => {
                    let n = utf8_len(b).min(bytes.len() - i);
                    self.out.push_str(&self.text[i..i + n]);
                    i += n;
                }
            }
        }
        // Unclosed: the parser says so.
        Ok(i)
    }

    /// Copies the escape at `at` (its backslash) for a quoted string;
    /// returns the offset past it.
    fn escape(&mut self, at: usize) -> Result<usize, Error> {
        let Some(value) = decimal(self.text.as_bytes(), at) else {
            // `\X`: the parser reads it as X.
            let bytes = self.text.as_bytes();
            let n = bytes.get(at + 1).map_or(0, |&b| utf8_len(b));
            let end = (at + 1 + n).min(bytes.len());
            self.out.push_str(&self.text[at..end]);
            return Ok(end);
        };
        match value {
            34 => self.out.push_str("\\\""),
            92 => self.out.push_str("\\\\"),
            // A line end in the text would move every later line.
            10 => return Err((at, SyntaxError::LineEnd)),
            0..=127 => self.out.push(char::from(value as u8)),
            256.. => return Err((at, SyntaxError::ByteTooBig { value })),
            _ => {
                // A run of bytes above 127: UTF-8 text written out byte by byte.
                let mut run = Vec::new();
                let mut i = at;
                while let Some(b @ 128..=255) = decimal(self.text.as_bytes(), i) {
                    run.push(b as u8);
                    i += 4;
                }
                let text = std::str::from_utf8(&run).map_err(|e| (at, SyntaxError::NotUtf8(e)))?;
                self.out.push_str(text);
                return Ok(i);
            }
        }
        Ok(at + 4)
    }

    /// Copies the unquoted token at `at` (`first` when it is the owner),
    /// rewritten as its record's kind needs; returns the offset past it.
    fn token(&mut self, at: usize, first: bool) -> Result<usize, Error> {
        let end = token_end(self.text, at);
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
            // `\#` starts RFC 3597 generic data, which `scan` rejects. A `$`
            // would start a directive once parentheses are flattened.
            Kind::Text if (token.contains('\\') && token != "\\#") || token.starts_with('$') => {
                return self.text_token(at);
            }
            _ => self.out.push_str(token),
        }
        Ok(end)
    }

    /// Writes the unquoted text token at `at`, which holds escapes, quoted:
    /// read as NSD reads it (a backslash takes the next character into the
    /// token, a `;` or space too, but never a line end).
    fn text_token(&mut self, at: usize) -> Result<usize, Error> {
        let bytes = self.text.as_bytes();
        self.out.push('"');
        let mut i = at;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => match bytes.get(i + 1) {
                    None | Some(b'\n' | b'\r') => {
                        self.out.push_str("\\\\");
                        i += 1;
                    }
                    Some(_) => i = self.escape(i)?,
                },
                b'"' => {
                    self.out.push_str("\\\"");
                    i += 1;
                }
                b')' | b';' => break,
                b => {
                    let n = utf8_len(b).min(bytes.len() - i);
                    let piece = &self.text[i..i + n];
                    if piece.chars().next().is_some_and(char::is_whitespace) {
                        break;
                    }
                    self.out.push_str(piece);
                    i += n;
                }
            }
        }
        self.out.push('"');
        Ok(i)
    }
}

/// The value of a `\DDD` escape at `at` (its backslash).
fn decimal(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at + 1..at + 4)?;
    if bytes[at] != b'\\' || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0')),
    )
}

/// An absolute name as written, else `None`.
fn absolute(token: &str) -> Option<String> {
    (token.ends_with('.') && !token.contains('"')).then(|| token.to_owned())
}

/// The tokens of a directive's line after its keyword, as the lexer cuts
/// them (a quoted one with its quotes), up to a comment.
fn tokens(rest: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < rest.len() {
        let Some(c) = char_at(rest, at) else { break };
        if c.is_whitespace() {
            at += c.len_utf8();
        } else if c == ';' {
            break;
        } else if c == '"' {
            let end = rest[at + 1..].find('"').map_or(rest.len(), |n| at + n + 2);
            out.push(&rest[at..end]);
            at = end;
        } else {
            let end = token_end(rest, at);
            out.push(&rest[at..end]);
            at = end;
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::rewrite;
    use hickory_proto::rr::Name;

    fn run(text: &str) -> Option<String> {
        let origin = Name::from_ascii("example.com.").unwrap();
        rewrite(text, Some(&origin)).unwrap()
    }

    /// Asserts that `text` is rewritten as `expected`.
    fn rewrites(text: &str, expected: &str) {
        assert_eq!(run(text).as_deref(), Some(expected), "rewriting {text:?}");
    }

    /// Asserts that `text` is left as it is.
    fn unchanged(text: &str) {
        assert_eq!(run(text), None, "rewriting {text:?}");
    }

    fn error(text: &str) -> (usize, String) {
        let origin = Name::from_ascii("example.com.").unwrap();
        let (at, e) = rewrite(text, Some(&origin)).unwrap_err();
        (at, e.to_string())
    }

    #[test]
    fn a_lone_at_in_names_data_becomes_the_origin() {
        rewrites("www CNAME @\n", "www CNAME example.com.\n");
        rewrites("@ MX 10 @\n", "@ MX 10 example.com.\n");
        rewrites("\tIN CNAME @", "\tIN CNAME example.com.");
        rewrites(
            "x 60 IN CNAME @\ny IN 60 SRV 0 0 80 @\n",
            "x 60 IN CNAME example.com.\ny IN 60 SRV 0 0 80 example.com.\n",
        );
    }

    #[test]
    fn owners_strings_comments_text_and_longer_tokens_keep_their_at() {
        unchanged("@ A 192.0.2.1\n");
        unchanged("x TXT \"@\" \"a @ b\" ; @\n");
        unchanged("x TXT a@b @x\n");
        unchanged("x CNAME @x\n");
        unchanged("x TXT @\nx 60 IN CAA 0 issue @\n");
    }

    #[test]
    fn a_record_in_parentheses_is_written_on_its_first_line() {
        // Every line keeps its number; comments inside are dropped.
        // Without quotes or escapes inside, parentheses stay as they are.
        rewrites(
            "@ MX ( 10 ; pref\n @ )\nnext A 192.0.2.1\n",
            "@ MX ( 10 ; pref\n example.com. )\nnext A 192.0.2.1\n",
        );
        unchanged("@ SOA ns h (\n 1 ; serial\n 2 3 4 5 )\n");
        rewrites(
            "k TXT ( \"v=DKIM1; k=rsa; \"\n  \"p=AB\" ) ; key\n",
            "k TXT   \"v=DKIM1; k=rsa; \"   \"p=AB\"   ; key\n\n",
        );
    }

    #[test]
    fn a_parenthesis_never_closed_or_opening_a_line_is_an_error() {
        assert_eq!(
            error("m TXT ( \"a\"\nmore A 192.0.2.5\n"),
            (6, "a `(` is never closed by its `)`".into())
        );
        assert_eq!(error("x A 192.0.2.1\n( A 192.0.2.2 )\n").0, 14);
    }

    #[test]
    fn quotes_are_read_where_the_lexer_reads_them() {
        // A quote inside a token is a character, not the start of a string.
        unchanged("x SVCB 1 . alpn=\"h2\\044h3\"\n");
        // A quoted string over two lines: the `@` and `(` in it are text.
        unchanged("x TXT \"first\ny CNAME @ ( rest\"\n");
    }

    #[test]
    fn decimal_escapes_in_text_are_written_as_characters() {
        rewrites(
            "t TXT \"a\\032b\\059c\\034d\\092e\\\"f\"\n",
            "t TXT \"a b;c\\\"d\\\\e\\\"f\"\n",
        );
        // UTF-8 written out byte by byte, as BIND and Knot write it.
        rewrites("t TXT \"caf\\195\\169!\"\n", "t TXT \"café!\"\n");
        assert!(error("t TXT \"\\200\"\n").1.contains("not UTF-8"));
        assert!(error("t TXT \"\\256\"\n").1.contains("at most"));
    }

    #[test]
    fn unquoted_text_with_escapes_is_quoted() {
        rewrites("t TXT a\\032b\\;c plain\n", "t TXT \"a b\\;c\" plain\n");
        // A backslash never takes a line end.
        rewrites(
            "t TXT ab\\\nu A 192.0.2.1\n",
            "t TXT \"ab\\\\\"\nu A 192.0.2.1\n",
        );
        // Not in other types' data.
        unchanged("a\\.b A 192.0.2.1\nx HINFO a\\;b\n");
    }

    #[test]
    fn the_origin_follows_origin_lines_and_reverts_after_an_include() {
        let text = "a CNAME @\n$ORIGIN sub.example.com.\nb CNAME @\n$INCLUDE f\n ; c\nd CNAME @\n$ORIGIN rel\ne CNAME @\n$ORIGIN x.test.\nf CNAME @\n";
        rewrites(
            text,
            "a CNAME example.com.\n$ORIGIN sub.example.com.\nb CNAME sub.example.com.\n$INCLUDE f\n ; c\n$ORIGIN sub.example.com. d CNAME sub.example.com.\n$ORIGIN rel\ne CNAME @\n$ORIGIN x.test.\nf CNAME x.test.\n",
        );
        assert_eq!(rewrite("a CNAME @\n", None).unwrap(), None);
    }

    #[test]
    fn an_include_with_an_origin_sets_it_for_the_file_only() {
        let text = "$INCLUDE sub.inc sub.example.com. ; hosts\nwww CNAME @\n";
        rewrites(
            text,
            "$ORIGIN sub.example.com. $INCLUDE sub.inc\n$ORIGIN example.com. www CNAME example.com.\n",
        );
        rewrites(
            "$INCLUDE \"a b.inc\" x.test.\n",
            "$ORIGIN x.test. $INCLUDE \"a b.inc\"\n",
        );
    }

    #[test]
    fn second_review_findings_hold() {
        // A `(` inside parentheses with an escape after it ends.
        assert!(rewrite("x TXT ( (a\\b )\n", None).is_ok());
        // `\#` inside a token is not generic data: text, read as NSD does.
        rewrites("x TXT ( a\\#b )\n", "x TXT   \"a\\#b\"  \n");
        assert!(error("t TXT \"a\\010b\"\n").1.contains("line end"));
        // As NSD: the included file's last owner goes on; the origin is set
        // again at the next owner.
        rewrites(
            "$INCLUDE f\n  TXT x\nw CNAME @\n",
            "$INCLUDE f\n  TXT x\n$ORIGIN example.com. w CNAME example.com.\n",
        );
        rewrites(
            "$INCLUDE f sub.example.com.;x.\nw A 192.0.2.1\n",
            "$ORIGIN sub.example.com. $INCLUDE f\n$ORIGIN example.com. w A 192.0.2.1\n",
        );
        assert!(error("$ORIGIN a. $ORIGIN b.\n").1.contains("one directive"));
        rewrites(
            "$TTL 60 ; no $INCLUDE\nc CNAME @\n",
            "$TTL 60 ; no $INCLUDE\nc CNAME example.com.\n",
        );
        rewrites("x TXT ( \"a\" $5 )\n", "x TXT   \"a\" \"$5\"  \n");
        // Held-back line ends are written at the end of the text too.
        rewrites("x TXT ( \"a\"\n\"b\" )", "x TXT   \"a\" \"b\"  \n");
    }

    #[test]
    fn directives_are_written_in_upper_case() {
        rewrites(
            "$ttl 60\n$Origin example.com.\n",
            "$TTL 60\n$ORIGIN example.com.\n",
        );
    }
}
