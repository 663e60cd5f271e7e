//! Owns cutting a master file's bytes into entries (RFC 1035 §5.1): one
//! logical line each, with parentheses joining physical lines, `;` comments
//! dropped, quoted strings kept whole, and each token's line and column
//! known, so every error can name where it is.
//!
//! Tokens borrow the file's bytes raw (escapes still written); the reader
//! decodes them where it knows what a token is. Bytes need not be UTF-8:
//! NSD takes any octet inside quotes, and so does this.

/// One token of an entry: a run of bytes in the file.
#[derive(Clone, Copy, Debug)]
pub(super) struct Token {
    /// Offset of its first byte (after the opening quote of a quoted one).
    pub start: u32,
    /// Offset just past its last byte (before the closing quote).
    pub end: u32,
    /// Written in double quotes.
    pub quoted: bool,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (bytes) of its first character.
    pub column: u32,
}

/// One logical line: its tokens and whether it starts blank (the owner is
/// the previous record's).
#[derive(Debug, Default)]
pub(super) struct Entry {
    /// Tokens, in order.
    pub tokens: Vec<Token>,
    /// The line starts with a space or tab.
    pub blank_owner: bool,
    /// 1-based line of its first token.
    pub line: u32,
}

/// What the lexer cannot read.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    /// `(` without `)` before the end of the file.
    #[error("parenthesis opened here is never closed (add the closing \")\")")]
    UnclosedParen,
    /// `(` inside parentheses.
    #[error("nested parentheses: close the first \"(\" before opening another")]
    NestedParen,
    /// `)` without `(`.
    #[error("\")\" without an opening \"(\"")]
    StrayParen,
    /// A quote without its end.
    #[error("quoted string opened here is never closed (add the closing '\"')")]
    UnclosedQuote,
    /// A backslash at the end of the file.
    #[error("backslash at the end of the file")]
    TrailingBackslash,
    /// A file too large to number its bytes in 32 bits.
    #[error("zone file over 4 GiB")]
    TooLarge,
}

/// Where a lexer error is: line and column.
pub(super) type LexError = (u32, u32, SyntaxError);

/// The entries of one file, one at a time.
pub(super) struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u32,
    /// Offset of the current line's first byte.
    line_start: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Result<Lexer<'a>, LexError> {
        if bytes.len() >= u32::MAX as usize {
            return Err((1, 1, SyntaxError::TooLarge));
        }
        // A UTF-8 byte order mark is not part of the first owner.
        let pos = if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        Ok(Lexer {
            bytes,
            pos,
            line: 1,
            line_start: pos,
        })
    }

    /// The line reached.
    pub(super) fn line(&self) -> u32 {
        self.line
    }

    /// The file's bytes.
    pub(super) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The bytes of a token, escapes still written.
    pub(super) fn text(&self, token: &Token) -> &'a [u8] {
        &self.bytes[token.start as usize..token.end as usize]
    }

    fn column(&self, at: usize) -> u32 {
        (at - self.line_start + 1) as u32
    }

    fn newline(&mut self) {
        self.line += 1;
        self.line_start = self.pos;
    }

    /// Fills `entry` with the next logical line that holds a token; false at
    /// the end of the file.
    pub(super) fn next(&mut self, entry: &mut Entry) -> Result<bool, LexError> {
        entry.tokens.clear();
        let bytes = self.bytes;
        loop {
            if self.pos >= bytes.len() {
                return Ok(false);
            }
            entry.blank_owner = matches!(bytes[self.pos], b' ' | b'\t');
            entry.line = self.line;
            self.line_tokens(entry)?;
            if !entry.tokens.is_empty() {
                return Ok(true);
            }
        }
    }

    /// Reads tokens up to the end of a line outside parentheses (or of the file).
    fn line_tokens(&mut self, entry: &mut Entry) -> Result<(), LexError> {
        let bytes = self.bytes;
        // Where the innermost open parenthesis is, for the error.
        let mut open: Option<(u32, u32)> = None;
        let mut depth = 0u32;
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return match open {
                    Some((line, column)) if depth > 0 => {
                        Err((line, column, SyntaxError::UnclosedParen))
                    }
                    _ => Ok(()),
                };
            };
            match b {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.newline();
                    if depth == 0 {
                        return Ok(());
                    }
                }
                b';' => {
                    self.pos = memchr::memchr(b'\n', &bytes[self.pos..])
                        .map_or(bytes.len(), |n| self.pos + n);
                }
                b'(' => {
                    // NSD refuses them, and no record needs them.
                    if depth > 0 {
                        return Err((self.line, self.column(self.pos), SyntaxError::NestedParen));
                    }
                    open = Some((self.line, self.column(self.pos)));
                    depth += 1;
                    self.pos += 1;
                }
                b')' => {
                    if depth == 0 {
                        return Err((self.line, self.column(self.pos), SyntaxError::StrayParen));
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                b'"' => entry.tokens.push(self.quoted()?),
                _ => entry.tokens.push(self.plain()?),
            }
        }
    }

    /// A quoted string: from after the opening quote to its closing one.
    /// It may span lines; `\"` and `\\` do not end it.
    fn quoted(&mut self) -> Result<Token, LexError> {
        let bytes = self.bytes;
        let (line, column) = (self.line, self.column(self.pos));
        self.pos += 1;
        let start = self.pos;
        loop {
            // `get`: a backslash ending the file left `pos` past its end (found by fuzzing).
            let rest = bytes.get(self.pos..).unwrap_or_default();
            match memchr::memchr3(b'"', b'\\', b'\n', rest) {
                None => return Err((line, column, SyntaxError::UnclosedQuote)),
                Some(n) => {
                    self.pos += n;
                    match bytes[self.pos] {
                        b'"' => break,
                        b'\\' => {
                            if bytes.get(self.pos + 1) == Some(&b'\n') {
                                self.pos += 2;
                                self.newline();
                            } else {
                                self.pos += 2;
                            }
                        }
                        _ => {
                            self.pos += 1;
                            self.newline();
                        }
                    }
                }
            }
        }
        let end = self.pos;
        self.pos += 1;
        Ok(Token {
            start: start as u32,
            end: end as u32,
            quoted: true,
            line,
            column,
        })
    }

    /// A run of bytes up to a space, line end, parenthesis, quote or
    /// comment not escaped by a backslash.
    fn plain(&mut self) -> Result<Token, LexError> {
        let bytes = self.bytes;
        let (line, column) = (self.line, self.column(self.pos));
        let start = self.pos;
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' | b';' | b'"' => break,
                b'\\' => {
                    match bytes.get(self.pos + 1) {
                        None => {
                            return Err((
                                self.line,
                                self.column(self.pos),
                                SyntaxError::TrailingBackslash,
                            ));
                        }
                        // An escaped line end continues the token on the next line.
                        Some(b'\n') => {
                            self.pos += 2;
                            self.newline();
                            continue;
                        }
                        Some(_) => self.pos += 2,
                    }
                }
                _ => self.pos += 1,
            }
        }
        Ok(Token {
            start: start as u32,
            end: self.pos as u32,
            quoted: false,
            line,
            column,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Result<Vec<(bool, u32, Vec<String>)>, LexError> {
        let mut lexer = Lexer::new(text.as_bytes())?;
        let mut entry = Entry::default();
        let mut out = Vec::new();
        while lexer.next(&mut entry)? {
            let tokens = entry
                .tokens
                .iter()
                .map(|t| {
                    let s = String::from_utf8_lossy(lexer.text(t)).into_owned();
                    if t.quoted { format!("\"{s}\"") } else { s }
                })
                .collect();
            out.push((entry.blank_owner, entry.line, tokens));
        }
        Ok(out)
    }

    #[test]
    fn parentheses_join_lines_and_comments_go() {
        let got =
            entries("a 1 IN SOA ns h ( 1 ; serial\r\n 2 3\n 4 5 )\n\tTXT \"x;(y\" ; c\n").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].2,
            ["a", "1", "IN", "SOA", "ns", "h", "1", "2", "3", "4", "5"]
        );
        assert_eq!(got[1], (true, 4, vec!["TXT".into(), "\"x;(y\"".into()]));
    }

    #[test]
    fn escapes_stay_in_the_token() {
        let got = entries("a\\ b\\;c\\(d TXT \"q\\\"r\"").unwrap();
        assert_eq!(got[0].2, ["a\\ b\\;c\\(d", "TXT", "\"q\\\"r\""]);
    }

    #[test]
    fn errors_name_line_and_column() {
        // A backslash ending the file inside a quote (found by fuzzing).
        assert_eq!(
            entries("a TXT \"x\\").unwrap_err(),
            (1, 7, SyntaxError::UnclosedQuote)
        );
        assert_eq!(
            entries("a A 1.2.3.4\nb TXT ( x\n\n").unwrap_err(),
            (2, 7, SyntaxError::UnclosedParen)
        );
        assert_eq!(
            entries("a TXT \"x\n").unwrap_err(),
            (1, 7, SyntaxError::UnclosedQuote)
        );
        assert_eq!(
            entries("a TXT x )\n").unwrap_err(),
            (1, 9, SyntaxError::StrayParen)
        );
    }
}
