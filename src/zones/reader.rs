//! Owns reading a zone file and the files it includes into records, as NSD
//! reads them: directives (`$ORIGIN`, `$TTL`, `$INCLUDE file [origin]`),
//! owners (blank ones inherit), TTL and class in either order, the type,
//! and its data ([`super::rdata`]). Every record and every error carries
//! where it was written ([`Where`]), so no error is searched for afterwards.
//!
//! `$INCLUDE`s are read relative to the including file and must stay inside
//! the zone file's folder, symbolic links resolved: an operator who can
//! edit a zone must not make hale read any other file on the machine.

use std::path::{Component, Path, PathBuf};

use hickory_proto::rr::rdata::NULL;
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, BinEncodable, Restrict};

use super::data::{Data, Rec, wire_hash};
use super::error::IncludeError;
use super::error::{DataError, ZoneProblem, shown};
use super::lexer::{Entry, Lexer, Token};
use super::rdata::{self, Cursor};
use super::text;

use super::MAX_TTL;

/// TTL of records with none and no `$TTL` before them, as NSD.
const DEFAULT_TTL: u32 = 3600;
/// Most `$INCLUDE`s one zone may follow, counting every time a file is included.
const MAX_INCLUDES: usize = 10_000;
/// Deepest `$INCLUDE` nesting.
const MAX_DEPTH: usize = 32;
/// Records handed on at a time.
pub(super) const BATCH: usize = 16_384;

/// Where something was written: a file of [`Files`], line and column (0: unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Where {
    /// Index in [`Files`].
    pub file: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, 0 when the whole line is meant.
    pub column: u32,
}

/// A problem and where it is.
pub(super) type Located = (Where, ZoneProblem);

/// The files one zone was read from: each with where it was included.
#[derive(Debug, Default)]
pub(super) struct Files {
    /// Path, and the `$INCLUDE` that named it (none for the zone file).
    pub list: Vec<(PathBuf, Option<Where>)>,
}

/// The state the reader carries from record to record.
struct State {
    /// Origin in wire form, when known.
    origin: Option<Vec<u8>>,
    /// The last owner: its name, hash, and the text it was read from.
    owner: Option<(Name, u64)>,
    /// The last owner's text and the origin it was read against.
    owner_text: Vec<u8>,
    /// `$TTL`.
    default_ttl: Option<u32>,
}

/// Reads zone files into records, handed to `sink` in batches in file order.
pub(super) struct Reader<'s, S: FnMut(&mut Vec<Rec>) -> Result<(), Located>> {
    /// The zone file's folder, symbolic links resolved.
    root: PathBuf,
    /// Files read, for errors.
    pub files: Files,
    /// Files being read, outermost first (canonical paths): loops.
    stack: Vec<PathBuf>,
    /// `$INCLUDE`s followed.
    includes: usize,
    hasher: &'s foldhash::fast::RandomState,
    batch: Vec<Rec>,
    sink: S,
    state: State,
    /// Scratch for names and data.
    wire: Vec<u8>,
}

impl<'s, S: FnMut(&mut Vec<Rec>) -> Result<(), Located>> Reader<'s, S> {
    pub(super) fn new(
        path: &Path,
        origin: Option<&Name>,
        hasher: &'s foldhash::fast::RandomState,
        sink: S,
    ) -> Reader<'s, S> {
        let folder = path.parent().unwrap_or(Path::new("."));
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        Reader {
            root: std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf()),
            files: Files::default(),
            stack: Vec::new(),
            includes: 0,
            hasher,
            batch: Vec::with_capacity(BATCH),
            sink,
            state: State {
                origin: origin.and_then(|o| o.to_bytes().ok()),
                owner: None,
                owner_text: Vec::new(),
                default_ttl: None,
            },
            wire: Vec::with_capacity(512),
        }
    }

    /// Reads the zone file whose bytes are `bytes`, then hands on the last batch.
    pub(super) fn read(&mut self, path: &Path, bytes: &[u8]) -> Result<(), Located> {
        self.stack
            .push(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
        self.files.list.push((path.to_path_buf(), None));
        self.file(0, path, bytes)?;
        (self.sink)(&mut self.batch)
    }

    /// Reads one file, the `file`th of [`Files`].
    fn file(&mut self, file: u32, path: &Path, bytes: &[u8]) -> Result<(), Located> {
        let at = |line: u32, column: u32| Where { file, line, column };
        let mut lexer =
            Lexer::new(bytes).map_err(|(l, c, e)| (at(l, c), DataError::from(e).into()))?;
        let mut entry = Entry::default();
        loop {
            // The lexer is hale's own, and fuzzed; should it fail anyway, the
            // error is at the line it had reached, not the end of hale.
            let next =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lexer.next(&mut entry)));
            match next {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => return Ok(()),
                Ok(Err((l, c, e))) => return Err((at(l, c), DataError::from(e).into())),
                Err(_) => return Err((at(lexer.line(), 0), ZoneProblem::Panicked)),
            }
            let first = lexer.text(&entry.tokens[0]);
            if !entry.blank_owner && first.first() == Some(&b'$') && !entry.tokens[0].quoted {
                self.directive(file, path, &lexer, &entry)?;
                continue;
            }
            // hickory's name and data decoders run on each record: a panic
            // in them is an error at the record's line, not the end of hale.
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.record(file, &lexer, &entry)
            }))
            .unwrap_or(Err((None, ZoneProblem::Panicked)));
            read.map_err(|(token, e)| {
                let t = token.unwrap_or(Token {
                    start: 0,
                    end: 0,
                    quoted: false,
                    line: entry.line,
                    column: 0,
                });
                (at(t.line, t.column), e)
            })?;
            if self.batch.len() >= BATCH {
                (self.sink)(&mut self.batch)?;
            }
        }
    }

    /// `$ORIGIN`, `$TTL` or `$INCLUDE`.
    fn directive(
        &mut self,
        file: u32,
        path: &Path,
        lexer: &Lexer<'_>,
        entry: &Entry,
    ) -> Result<(), Located> {
        let tokens = &entry.tokens;
        let err = |t: &Token, e: ZoneProblem| {
            (
                Where {
                    file,
                    line: t.line,
                    column: t.column,
                },
                e,
            )
        };
        let name = lexer.text(&tokens[0]);
        let arg = |i: usize, what: &'static str| {
            tokens
                .get(i)
                .map(|t| (lexer.text(t), t))
                .ok_or_else(|| err(&tokens[0], DataError::Missing { what }.into()))
        };
        let no_more = |n: usize| match tokens.get(n) {
            Some(t) => Err(err(
                t,
                DataError::Extra {
                    text: shown(lexer.text(t)),
                }
                .into(),
            )),
            None => Ok(()),
        };
        if name.eq_ignore_ascii_case(b"$ORIGIN") {
            let (text, t) = arg(1, "a name after $ORIGIN")?;
            no_more(2)?;
            let mut wire = Vec::new();
            text::name(text, self.state.origin.as_deref(), &mut wire)
                .map_err(|e| err(t, e.into()))?;
            self.state.origin = Some(wire);
            self.state.owner_text.clear();
        } else if name.eq_ignore_ascii_case(b"$TTL") {
            let (text, t) = arg(1, "a TTL after $TTL")?;
            no_more(2)?;
            let ttl = text::period(text).map_err(|e| err(t, e.into()))?;
            if ttl > MAX_TTL {
                return Err(err(t, DataError::TtlRange { ttl }.into()));
            }
            self.state.default_ttl = Some(ttl);
        } else if name.eq_ignore_ascii_case(b"$INCLUDE") {
            let (written, t) = arg(1, "a file after $INCLUDE")?;
            no_more(3)?;
            let origin = match tokens.get(2) {
                Some(o) => {
                    let mut wire = Vec::new();
                    text::name(lexer.text(o), self.state.origin.as_deref(), &mut wire)
                        .map_err(|e| err(o, e.into()))?;
                    Some(wire)
                }
                None => self.state.origin.clone(),
            };
            let here = Where {
                file,
                line: t.line,
                column: t.column,
            };
            self.include(path, written, here, origin)?;
        } else {
            return Err(err(
                &tokens[0],
                DataError::Directive { text: shown(name) }.into(),
            ));
        }
        Ok(())
    }

    /// Follows one `$INCLUDE` written `written` in `path` at `here`, its
    /// records read with `origin`; the including file's origin is restored after.
    fn include(
        &mut self,
        path: &Path,
        written: &[u8],
        here: Where,
        origin: Option<Vec<u8>>,
    ) -> Result<(), Located> {
        self.follow(path, written, here, origin)
            .map_err(|e| match e {
                Ok(problem) => (here, problem),
                Err(located) => located,
            })
    }

    /// [`Self::include`]; its own problems are `Ok`, the included file's `Err`.
    fn follow(
        &mut self,
        path: &Path,
        written: &[u8],
        here: Where,
        origin: Option<Vec<u8>>,
    ) -> Result<(), Result<ZoneProblem, Located>> {
        let mut text = Vec::new();
        text::unescape(written, &mut text).map_err(|e| Ok(e.into()))?;
        let written = String::from_utf8_lossy(&text).into_owned();
        let outside = || IncludeError::Outside {
            written: written.clone(),
            root: self.root.clone(),
        };
        let relative = Path::new(&written);
        if relative
            .components()
            .any(|c| matches!(c, Component::RootDir | Component::Prefix(_)))
        {
            return Err(Ok(outside().into()));
        }
        let target = path.parent().unwrap_or(Path::new("")).join(relative);
        // Resolved, symbolic links and `..` included: it must lie in the zone folder.
        let unreadable = |source| {
            Ok(ZoneProblem::IncludeRead {
                written: written.clone(),
                target: target.clone(),
                source,
            })
        };
        let real = std::fs::canonicalize(&target).map_err(unreadable)?;
        if !real.starts_with(&self.root) {
            return Err(Ok(outside().into()));
        }
        self.includes += 1;
        if self.includes > MAX_INCLUDES {
            return Err(Ok(IncludeError::TooMany.into()));
        }
        if self.stack.len() > MAX_DEPTH {
            return Err(Ok(IncludeError::TooDeep.into()));
        }
        if self.stack.contains(&real) {
            return Err(Ok(IncludeError::Loop { written, target }.into()));
        }
        let bytes = std::fs::read(&real).map_err(unreadable)?;
        let index = self.files.list.len() as u32;
        self.files.list.push((target.clone(), Some(here)));
        self.stack.push(real);
        let saved = std::mem::replace(&mut self.state.origin, origin);
        self.state.owner_text.clear();
        let read = self.file(index, &target, &bytes);
        self.state.origin = saved;
        self.state.owner_text.clear();
        self.stack.pop();
        // The included file's error is located in it.
        read.map_err(Err)
    }

    /// One record: owner, TTL and class, type, data.
    fn record(
        &mut self,
        file: u32,
        lexer: &Lexer<'_>,
        entry: &Entry,
    ) -> Result<(), (Option<Token>, ZoneProblem)> {
        let tokens = &entry.tokens;
        let fail = |t: &Token, e: DataError| (Some(*t), ZoneProblem::from(e));
        let mut i = 0;
        if !entry.blank_owner {
            let t = &tokens[0];
            let owner = lexer.text(t);
            // The same owner as the last record's (and the same origin): its name again.
            if self.state.owner_text.is_empty() || owner != self.state.owner_text.as_slice() {
                self.wire.clear();
                text::name(owner, self.state.origin.as_deref(), &mut self.wire)
                    .map_err(|e| fail(t, e))?;
                self.wire.make_ascii_lowercase();
                let name = text::to_name(&self.wire).map_err(|e| fail(t, e))?;
                let hash = wire_hash(self.hasher, &self.wire);
                self.state.owner = Some((name, hash));
                self.state.owner_text.clear();
                self.state.owner_text.extend_from_slice(owner);
            }
            i = 1;
        }
        let Some((name, hash)) = self.state.owner.clone() else {
            return Err(fail(&tokens[0], DataError::NoOwner));
        };
        let (mut ttl, mut class) = (None, None);
        while let Some(t) = tokens.get(i) {
            let word = lexer.text(t);
            if ttl.is_none() && word.first().is_some_and(u8::is_ascii_digit) {
                ttl = Some((text::period(word).map_err(|e| fail(t, e))?, t));
            } else if class.is_none() && is_class(word) {
                class = Some((word, t));
            } else {
                break;
            }
            i += 1;
        }
        let Some(type_token) = tokens.get(i) else {
            return Err(fail(tokens.last().unwrap_or(&tokens[0]), DataError::NoType));
        };
        let type_text = lexer.text(type_token);
        let code = rdata::type_code(type_text).ok_or_else(|| {
            fail(
                type_token,
                DataError::UnknownType {
                    text: shown(type_text),
                },
            )
        })?;
        if let Some((word, t)) = class
            && !word.eq_ignore_ascii_case(b"IN")
            && !word.eq_ignore_ascii_case(b"CLASS1")
        {
            return Err(fail(t, DataError::Class { class: shown(word) }));
        }
        let ttl = match ttl {
            Some((ttl, t)) if ttl > MAX_TTL => return Err(fail(t, DataError::TtlRange { ttl })),
            Some((ttl, _)) => ttl,
            None => self.state.default_ttl.unwrap_or(DEFAULT_TTL),
        };
        self.wire.clear();
        let mut cursor = Cursor {
            bytes: lexer.bytes(),
            tokens: &tokens[i + 1..],
            next: 0,
            origin: self.state.origin.as_deref(),
        };
        let encoded = rdata::encode(code, &mut cursor, &mut self.wire);
        if let Err(e) = encoded {
            let at = cursor.at().copied().unwrap_or(*type_token);
            return Err((Some(at), e.into()));
        }
        let data = to_data(code, &self.wire).map_err(|e| fail(type_token, e))?;
        self.batch.push(Rec {
            name,
            hash,
            at: Where {
                file,
                line: entry.line,
                column: 0,
            },
            rtype: RecordType::from(code),
            ttl,
            data,
        });
        Ok(())
    }
}

/// A class mnemonic or `CLASSnn`.
fn is_class(word: &[u8]) -> bool {
    const CLASSES: [&[u8]; 5] = [b"IN", b"CH", b"HS", b"CS", b"ANY"];
    CLASSES.iter().any(|c| c.eq_ignore_ascii_case(word))
        || word
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"CLASS"))
            && word.len() > 5
            && word[5..].iter().all(u8::is_ascii_digit)
}

/// A record's data as the zone keeps it: addresses bare; the types hale's
/// answers read (NS, CNAME, SOA, MX, SRV, PTR) as hickory's, which checks
/// them; every other type as the wire bytes it is sent as.
fn to_data(code: u16, wire: &[u8]) -> Result<Data, DataError> {
    let rtype = RecordType::from(code);
    let invalid = |why: String| DataError::Invalid {
        rtype: rdata::type_name(code),
        why,
    };
    match rtype {
        RecordType::A => <[u8; 4]>::try_from(wire)
            .map(|b| Data::V4(b.into()))
            .map_err(|_| invalid(format!("{} bytes, an IPv4 address is 4", wire.len()))),
        RecordType::AAAA => <[u8; 16]>::try_from(wire)
            .map(|b| Data::V6(b.into()))
            .map_err(|_| invalid(format!("{} bytes, an IPv6 address is 16", wire.len()))),
        RecordType::NS
        | RecordType::CNAME
        | RecordType::SOA
        | RecordType::MX
        | RecordType::SRV
        | RecordType::PTR => {
            let len = u16::try_from(wire.len())
                .map_err(|_| DataError::LongString { bytes: wire.len() })?;
            let mut decoder = BinDecoder::new(wire);
            let rdata = RData::read(&mut decoder, rtype, Restrict::new(len))
                .map_err(|e| invalid(e.to_string()))?;
            if decoder.index() != wire.len() {
                return Err(invalid(format!(
                    "{} bytes left over",
                    wire.len() - decoder.index()
                )));
            }
            Ok(Data::Other(Box::new(rdata)))
        }
        _ => {
            if wire.len() > usize::from(u16::MAX) {
                return Err(DataError::TooMuchData { bytes: wire.len() });
            }
            // hickory's `NULL::with` asserts its data is not empty.
            let rdata = match wire.is_empty() {
                true => NULL::new(),
                false => NULL::with(wire.to_vec()),
            };
            Ok(Data::Other(Box::new(RData::Unknown { code: rtype, rdata })))
        }
    }
}
