//! Owns `@` in record data. RFC 1035 §5.1 makes a lone `@` stand for the
//! current origin wherever a name goes, and NSD, Knot and BIND read
//! `www CNAME @` and `@ MX 10 @` that way; hickory's parser takes it only
//! as an owner name and rejects it elsewhere. Before a text reaches the
//! parser, each such `@` is written as the origin it stands for, in the
//! data of the types whose data is names and numbers only (an `@` there
//! can only be a name); in a TXT or CAA it is text and stays.
//!
//! The text is walked the way hickory's lexer reads it (as `scan` does):
//! quoted strings, comments and parenthesised lists, so an `@` inside a
//! string or a comment, or inside a longer token, is left alone. The
//! origin follows `$ORIGIN` lines. hickory reads `$INCLUDE`d files itself,
//! so an `@` in one is left for the parser to reject; and after an
//! included file that has an `$ORIGIN` (which hickory keeps past the
//! include) the origin is unknown here until the next absolute `$ORIGIN`.
//! Replacements stay on their line, so errors keep their line numbers.

use std::path::Path;

use hickory_proto::rr::Name;

/// `text` with every `@` that stands for a name in record data written as
/// the origin in force there (`origin` until an `$ORIGIN`); `None` when
/// there is none to write. `path` is the file's, for its `$INCLUDE`s.
pub(super) fn expand(text: &str, path: Option<&Path>, origin: Option<&Name>) -> Option<String> {
    memchr::memchr(b'@', text.as_bytes())?;
    #[derive(Clone, Copy)]
    enum S {
        /// Start of a line, outside parentheses.
        Line,
        /// Between tokens; `first` when the next token is an owner name.
        Rest {
            first: bool,
        },
        /// Inside a token starting at `start`; `owner` for a line's first.
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
    }
    let mut origin: Option<String> = origin.map(Name::to_ascii);
    let mut out = String::new();
    // Bytes of `text` already copied to `out`.
    let mut copied = 0;
    let bytes = text.as_bytes();
    // A lone `@`: the next character ends the token.
    let alone = |at: usize| {
        text[at + 1..]
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || c == ')' || c == ';')
    };
    let mut chars = text.char_indices().peekable();
    let mut state = S::Line;
    // The record's type, once read: whether its data is names and numbers.
    let mut names: Option<bool> = None;
    while let Some(&(at, ch)) = chars.peek() {
        state = match state {
            S::Line => {
                // Nothing left to write (most of a big file after its head).
                if memchr::memchr(b'@', &bytes[at..]).is_none() {
                    break;
                }
                names = None;
                match ch {
                    '\r' | '\n' => {
                        chars.next();
                        S::Line
                    }
                    c if c.is_whitespace() => S::Rest { first: false },
                    '$' => {
                        let end =
                            memchr::memchr(b'\n', &bytes[at..]).map_or(text.len(), |n| at + n);
                        let line = &text[at..end];
                        if let Some(rest) = line.strip_prefix("$ORIGIN") {
                            // hickory reads `$ORIGIN` without an origin: only
                            // an absolute name is one we can write.
                            origin = rest
                                .split_whitespace()
                                .next()
                                .filter(|o| o.ends_with('.') && !o.contains('"'))
                                .map(str::to_owned);
                        } else if let Some(rest) = line.strip_prefix("$INCLUDE")
                            && sets_origin(path, rest)
                        {
                            origin = None;
                        }
                        // A directive's line holds no record data worth
                        // writing (a record after `$TTL 60` on its line is
                        // left to the parser as it is).
                        while chars.next_if(|&(_, c)| c != '\n').is_some() {}
                        S::Line
                    }
                    _ => S::Rest { first: true },
                }
            }
            S::Rest { first } => match ch {
                '\r' | '\n' => {
                    chars.next();
                    S::Line
                }
                c if c.is_whitespace() => {
                    chars.next();
                    S::Rest { first }
                }
                '(' => {
                    chars.next();
                    S::List
                }
                '"' => {
                    chars.next();
                    S::Quote
                }
                ';' => S::Comment { list: false },
                '@' if names == Some(true) && alone(at) => {
                    replace(text, at, origin.as_deref(), &mut out, &mut copied);
                    chars.next();
                    S::Rest { first: false }
                }
                _ => {
                    chars.next();
                    S::Chars {
                        list: false,
                        start: at,
                        owner: first,
                    }
                }
            },
            S::Chars { list, start, owner } => match ch {
                c if c.is_whitespace() || c == ')' || c == ';' => {
                    if !owner && names.is_none() {
                        names = kind(&text[start..at]);
                    }
                    if list {
                        S::List
                    } else {
                        S::Rest { first: false }
                    }
                }
                _ => {
                    chars.next();
                    state
                }
            },
            S::Quote => {
                chars.next();
                match ch {
                    '"' => S::Rest { first: false },
                    '\\' => {
                        chars.next();
                        S::Quote
                    }
                    _ => S::Quote,
                }
            }
            S::List => match ch {
                ';' => S::Comment { list: true },
                ')' => {
                    chars.next();
                    S::Rest { first: false }
                }
                c if c.is_whitespace() => {
                    chars.next();
                    S::List
                }
                '@' if names == Some(true) && alone(at) => {
                    replace(text, at, origin.as_deref(), &mut out, &mut copied);
                    chars.next();
                    S::List
                }
                _ => {
                    chars.next();
                    S::Chars {
                        list: true,
                        start: at,
                        owner: false,
                    }
                }
            },
            S::Comment { list } => match ch {
                '\n' if list => S::List,
                '\n' => S::Line,
                _ => {
                    chars.next();
                    state
                }
            },
        };
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
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

/// What a token before a record's data says of it: `None` for a TTL or a
/// class, else it is the type, and whether its data is names and numbers
/// only.
fn kind(token: &str) -> Option<bool> {
    const CLASSES: [&str; 5] = ["IN", "CH", "HS", "NONE", "ANY"];
    // Types hickory reads whose data holds names and nothing an `@` could be.
    const NAMES: [&str; 9] = [
        "CNAME", "NS", "PTR", "MX", "SOA", "SRV", "SVCB", "HTTPS", "ANAME",
    ];
    if token.starts_with(|c: char| c.is_ascii_digit())
        || CLASSES.iter().any(|c| token.eq_ignore_ascii_case(c))
    {
        return None;
    }
    Some(NAMES.iter().any(|t| token.eq_ignore_ascii_case(t)))
}

/// Writes the text before the `@` at `at`, then the origin in its place;
/// with no origin known, the `@` stays.
fn replace(text: &str, at: usize, origin: Option<&str>, out: &mut String, copied: &mut usize) {
    if let Some(origin) = origin {
        if out.is_empty() {
            out.reserve(text.len() + 64);
        }
        out.push_str(&text[*copied..at]);
        out.push_str(origin);
        *copied = at + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::expand;
    use hickory_proto::rr::Name;

    fn run(text: &str) -> Option<String> {
        expand(text, None, Some(&Name::from_ascii("example.com.").unwrap()))
    }

    #[test]
    fn a_lone_at_in_data_becomes_the_origin() {
        assert_eq!(
            run("www CNAME @\n").as_deref(),
            Some("www CNAME example.com.\n")
        );
        assert_eq!(
            run("@ MX 10 @\n").as_deref(),
            Some("@ MX 10 example.com.\n")
        );
        assert_eq!(
            run("@ MX ( 10\n @ ) ; @\n").as_deref(),
            Some("@ MX ( 10\n example.com. ) ; @\n")
        );
        assert_eq!(
            run("\tIN CNAME @").as_deref(),
            Some("\tIN CNAME example.com.")
        );
    }

    #[test]
    fn owners_strings_comments_and_longer_tokens_are_left_alone() {
        assert_eq!(run("@ A 192.0.2.1\n"), None);
        assert_eq!(run("x TXT \"@\" \"a @ b\" ; @\n"), None);
        assert_eq!(run("x TXT a@b @x\n"), None);
        assert_eq!(run("x CNAME @x\n"), None);
        // hickory reads no quotes inside a list: `"@` is one token.
        assert_eq!(run("x MX ( 10 \"@\n )"), None);
        // In text, `@` is text.
        assert_eq!(run("x TXT @\nx 60 IN CAA 0 issue @\n"), None);
        assert_eq!(
            run("x 60 IN CNAME @\ny IN 60 SRV 0 0 80 @\n"),
            Some("x 60 IN CNAME example.com.\ny IN 60 SRV 0 0 80 example.com.\n".into())
        );
    }

    #[test]
    fn the_origin_follows_origin_lines_and_is_unknown_after_an_include() {
        let text = "a CNAME @\n$ORIGIN sub.example.com.\nb CNAME @\n$INCLUDE f\nc CNAME @\n$ORIGIN rel\nd CNAME @\n$ORIGIN x.test.\ne CNAME @\n";
        assert_eq!(
            run(text).as_deref(),
            Some(
                "a CNAME example.com.\n$ORIGIN sub.example.com.\nb CNAME sub.example.com.\n$INCLUDE f\nc CNAME @\n$ORIGIN rel\nd CNAME @\n$ORIGIN x.test.\ne CNAME x.test.\n"
            )
        );
        assert_eq!(expand("a CNAME @\n", None, None), None);
    }

    #[test]
    fn an_included_file_without_origin_keeps_it_known() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plain.inc"), "k A 192.0.2.1\n").unwrap();
        std::fs::write(dir.path().join("moves.inc"), "$ORIGIN other.test.\n").unwrap();
        let zone = dir.path().join("example.com.zone");
        let origin = Name::from_ascii("example.com.").unwrap();
        let text = "$INCLUDE plain.inc\na CNAME @\n$INCLUDE \"moves.inc\"\nb CNAME @\n";
        assert_eq!(
            expand(text, Some(&zone), Some(&origin)).as_deref(),
            Some("$INCLUDE plain.inc\na CNAME example.com.\n$INCLUDE \"moves.inc\"\nb CNAME @\n")
        );
    }
}
