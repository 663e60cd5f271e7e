//! Owns writing a record's data from its text into wire form: one table of
//! every type NSD knows, each a list of fields (names, numbers, strings,
//! base64, hex, type bitmaps …), the types that need more (LOC, SVCB, APL …)
//! in [`super::special`], and RFC 3597's `\# length hex` for any type.

use std::net::{Ipv4Addr, Ipv6Addr};

use data_encoding::{BASE32HEX_NOPAD, BASE64, HEXUPPER_PERMISSIVE};

use super::error::{DataError, shown};
use super::lexer::Token;
use super::special;
use super::text;

/// One field of a type's data.
#[derive(Clone, Copy, Debug)]
pub(super) enum Field {
    /// A domain name.
    Name,
    /// Decimal 8-, 16-, 32-bit numbers.
    U8,
    U16,
    U32,
    /// A TTL-like period, units allowed (SOA timers).
    Period,
    /// An RRSIG time.
    Time,
    /// Addresses.
    V4,
    V6,
    /// One character string.
    Str,
    /// One or more character strings, to the end.
    Strs,
    /// Base64 to the end (split by spaces as it may be).
    Base64,
    /// Hex to the end, spaces allowed.
    Hex,
    /// Hex with a length byte before it, `-` for none (NSEC3 salt).
    Salt,
    /// Base32hex with a length byte (NSEC3 next hashed owner).
    Base32,
    /// A type bitmap to the end (RFC 4034 §4.1.2).
    Bitmap,
    /// A type mnemonic or `TYPEnnn` as 16 bits.
    Type,
    /// A DNSSEC algorithm: number or mnemonic.
    Algorithm,
    /// A CERT type: number or mnemonic.
    CertType,
    /// A string without its length byte, the last field (CAA value, URI target).
    Rest,
    /// A CAA tag: letters and digits, with a length byte.
    Tag,
    /// 64 bits as four groups of hex (ILNP, RFC 6742).
    Ilnp64,
    /// An optional character string (ISDN subaddress).
    OptStr,
}

use Field::*;

/// How a type's data is read: a list of fields, or code of its own.
#[derive(Clone, Copy)]
pub(super) enum Form {
    /// These fields in order.
    Fields(&'static [Field]),
    /// Read by [`super::special`].
    Special(fn(&mut Cursor<'_>, &mut Vec<u8>) -> Result<(), DataError>),
    /// Only `\#` (NULL).
    Generic,
}

/// Every type NSD 4 reads, by code, name and form.
pub(super) const TYPES: &[(u16, &str, Form)] = &[
    (1, "A", Form::Fields(&[V4])),
    (2, "NS", Form::Fields(&[Name])),
    (3, "MD", Form::Fields(&[Name])),
    (4, "MF", Form::Fields(&[Name])),
    (5, "CNAME", Form::Fields(&[Name])),
    (
        6,
        "SOA",
        Form::Fields(&[Name, Name, U32, Period, Period, Period, Period]),
    ),
    (7, "MB", Form::Fields(&[Name])),
    (8, "MG", Form::Fields(&[Name])),
    (9, "MR", Form::Fields(&[Name])),
    (10, "NULL", Form::Generic),
    (11, "WKS", Form::Special(special::wks)),
    (12, "PTR", Form::Fields(&[Name])),
    (13, "HINFO", Form::Fields(&[Str, Str])),
    (14, "MINFO", Form::Fields(&[Name, Name])),
    (15, "MX", Form::Fields(&[U16, Name])),
    (16, "TXT", Form::Fields(&[Strs])),
    (17, "RP", Form::Fields(&[Name, Name])),
    (18, "AFSDB", Form::Fields(&[U16, Name])),
    (19, "X25", Form::Fields(&[Str])),
    (20, "ISDN", Form::Fields(&[Str, OptStr])),
    (21, "RT", Form::Fields(&[U16, Name])),
    (22, "NSAP", Form::Special(special::nsap)),
    (23, "NSAP-PTR", Form::Fields(&[Name])),
    (
        24,
        "SIG",
        Form::Fields(&[Type, Algorithm, U8, Period, Time, Time, U16, Name, Base64]),
    ),
    (25, "KEY", Form::Fields(&[U16, U8, Algorithm, Base64])),
    (26, "PX", Form::Fields(&[U16, Name, Name])),
    (27, "GPOS", Form::Fields(&[Str, Str, Str])),
    (28, "AAAA", Form::Fields(&[V6])),
    (29, "LOC", Form::Special(special::loc)),
    (33, "SRV", Form::Fields(&[U16, U16, U16, Name])),
    (35, "NAPTR", Form::Fields(&[U16, U16, Str, Str, Str, Name])),
    (36, "KX", Form::Fields(&[U16, Name])),
    (
        37,
        "CERT",
        Form::Fields(&[CertType, U16, Algorithm, Base64]),
    ),
    (39, "DNAME", Form::Fields(&[Name])),
    (42, "APL", Form::Special(special::apl)),
    (43, "DS", Form::Fields(&[U16, Algorithm, U8, Hex])),
    (44, "SSHFP", Form::Fields(&[U8, U8, Hex])),
    (45, "IPSECKEY", Form::Special(special::ipseckey)),
    (
        46,
        "RRSIG",
        Form::Fields(&[Type, Algorithm, U8, Period, Time, Time, U16, Name, Base64]),
    ),
    (47, "NSEC", Form::Fields(&[Name, Bitmap])),
    (48, "DNSKEY", Form::Fields(&[U16, U8, Algorithm, Base64])),
    (49, "DHCID", Form::Fields(&[Base64])),
    (
        50,
        "NSEC3",
        Form::Fields(&[U8, U8, U16, Salt, Base32, Bitmap]),
    ),
    (51, "NSEC3PARAM", Form::Fields(&[U8, U8, U16, Salt])),
    (52, "TLSA", Form::Fields(&[U8, U8, U8, Hex])),
    (53, "SMIMEA", Form::Fields(&[U8, U8, U8, Hex])),
    (55, "HIP", Form::Special(special::hip)),
    (59, "CDS", Form::Fields(&[U16, Algorithm, U8, Hex])),
    (60, "CDNSKEY", Form::Fields(&[U16, U8, Algorithm, Base64])),
    (61, "OPENPGPKEY", Form::Fields(&[Base64])),
    (62, "CSYNC", Form::Fields(&[U32, U16, Bitmap])),
    (63, "ZONEMD", Form::Fields(&[U32, U8, U8, Hex])),
    (64, "SVCB", Form::Special(special::svcb)),
    (65, "HTTPS", Form::Special(special::svcb)),
    (99, "SPF", Form::Fields(&[Strs])),
    (104, "NID", Form::Fields(&[U16, Ilnp64])),
    (105, "L32", Form::Fields(&[U16, V4])),
    (106, "L64", Form::Fields(&[U16, Ilnp64])),
    (107, "LP", Form::Fields(&[U16, Name])),
    (108, "EUI48", Form::Special(special::eui48)),
    (109, "EUI64", Form::Special(special::eui64)),
    (256, "URI", Form::Fields(&[U16, U16, Rest])),
    (257, "CAA", Form::Fields(&[U8, Tag, Rest])),
    (258, "AVC", Form::Fields(&[Strs])),
    (260, "AMTRELAY", Form::Special(special::amtrelay)),
    (32768, "TA", Form::Fields(&[U16, Algorithm, U8, Hex])),
    (32769, "DLV", Form::Fields(&[U16, Algorithm, U8, Hex])),
];

/// A type's code from its mnemonic (any case) or `TYPEnnn`.
pub(super) fn type_code(text: &[u8]) -> Option<u16> {
    if let Some(t) = TYPES
        .iter()
        .find(|t| t.1.as_bytes().eq_ignore_ascii_case(text))
    {
        return Some(t.0);
    }
    let digits = text
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case(b"TYPE"))
        .map(|_| &text[4..])?;
    text::number(digits, "type", 65_535).ok().map(|v| v as u16)
}

/// A type's mnemonic, or `TYPEnnn`.
pub fn type_name(code: u16) -> String {
    match TYPES.iter().find(|t| t.0 == code) {
        Some(t) => t.1.to_string(),
        None => format!("TYPE{code}"),
    }
}

/// The tokens of one record's data, read in order.
pub(super) struct Cursor<'a> {
    /// The file's bytes.
    pub bytes: &'a [u8],
    /// The data's tokens.
    pub tokens: &'a [Token],
    /// The next token to read.
    pub next: usize,
    /// The origin in wire form, for relative names.
    pub origin: Option<&'a [u8]>,
}

impl<'a> Cursor<'a> {
    /// The next token, or an error naming the missing `what`.
    pub(super) fn take(&mut self, what: &'static str) -> Result<(&'a [u8], Token), DataError> {
        let token = *self
            .tokens
            .get(self.next)
            .ok_or(DataError::Missing { what })?;
        self.next += 1;
        Ok((&self.bytes[token.start as usize..token.end as usize], token))
    }

    /// The next token's text, unless the data ends here.
    pub(super) fn peek(&self) -> Option<&'a [u8]> {
        let t = self.tokens.get(self.next)?;
        Some(&self.bytes[t.start as usize..t.end as usize])
    }

    /// True when every token is read.
    pub(super) fn done(&self) -> bool {
        self.next >= self.tokens.len()
    }

    /// The token being read when an error came (the last taken, or the first).
    pub(super) fn at(&self) -> Option<&Token> {
        self.tokens
            .get(self.next.saturating_sub(1))
            .or(self.tokens.first())
    }

    /// The rest of the tokens joined (base64, hex split by spaces).
    fn joined(&mut self, what: &'static str) -> Result<Vec<u8>, DataError> {
        let mut out = Vec::new();
        while !self.done() {
            out.extend_from_slice(self.take(what)?.0);
        }
        Ok(out)
    }
}

/// Writes the wire form of data of type `code` from `cursor` into `out`.
pub(super) fn encode(
    code: u16,
    cursor: &mut Cursor<'_>,
    out: &mut Vec<u8>,
) -> Result<(), DataError> {
    if let Some(b"\\#") = cursor.peek()
        && !cursor.tokens[cursor.next].quoted
    {
        cursor.next += 1;
        return generic(cursor, out);
    }
    let form = TYPES.iter().find(|t| t.0 == code).map(|t| t.2);
    match form {
        Some(Form::Fields(fields)) => {
            for field in fields {
                self::field(*field, cursor, out)?;
            }
        }
        Some(Form::Special(read)) => read(cursor, out)?,
        Some(Form::Generic) | None => {
            return Err(DataError::GenericOnly {
                rtype: type_name(code),
            });
        }
    }
    match cursor.peek() {
        None => Ok(()),
        Some(extra) => {
            cursor.next += 1;
            Err(DataError::Extra { text: shown(extra) })
        }
    }
}

/// RFC 3597 §5: `\# length hex…`.
fn generic(cursor: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    let length = text::number(
        cursor.take("data length after \\#")?.0,
        "data length",
        65_535,
    )? as usize;
    let hex = cursor.joined("hex data")?;
    let data = if hex.is_empty() {
        Vec::new()
    } else {
        decode_hex(&hex)?
    };
    if data.len() != length {
        return Err(DataError::GenericLength {
            said: length,
            got: data.len(),
        });
    }
    out.extend_from_slice(&data);
    Ok(())
}

pub(super) fn decode_hex(text: &[u8]) -> Result<Vec<u8>, DataError> {
    HEXUPPER_PERMISSIVE
        .decode(text)
        .map_err(|_| DataError::Encoding {
            what: "hex",
            text: shown(text),
        })
}

pub(super) fn decode_base64(text: &[u8]) -> Result<Vec<u8>, DataError> {
    BASE64.decode(text).map_err(|_| DataError::Encoding {
        what: "base64",
        text: shown(text),
    })
}

/// Writes one field.
pub(super) fn field(field: Field, c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    match field {
        Name => text::name(c.take("a domain name")?.0, c.origin, out)?,
        U8 => out.push(text::number(c.take("a number")?.0, "number", 255)? as u8),
        U16 => out
            .extend((text::number(c.take("a number")?.0, "number", 65_535)? as u16).to_be_bytes()),
        U32 => out.extend(
            (text::number(c.take("a number")?.0, "number", u32::MAX.into())? as u32).to_be_bytes(),
        ),
        Period => out.extend(text::period(c.take("a time value")?.0)?.to_be_bytes()),
        Time => out.extend(text::time(c.take("a time")?.0)?.to_be_bytes()),
        V4 => out.extend(ipv4(c.take("an IPv4 address")?.0)?.octets()),
        V6 => out.extend(ipv6(c.take("an IPv6 address")?.0)?.octets()),
        Str => text::char_string(c.take("a character string")?.0, out)?,
        OptStr => {
            if let Some(s) = c.peek() {
                c.next += 1;
                text::char_string(s, out)?;
            }
        }
        Strs => {
            text::char_string(c.take("a character string")?.0, out)?;
            while let Some(s) = c.peek() {
                c.next += 1;
                text::char_string(s, out)?;
            }
        }
        Base64 => {
            let joined = c.joined("base64 data")?;
            if joined.is_empty() {
                return Err(DataError::Missing {
                    what: "base64 data",
                });
            }
            out.extend(decode_base64(&joined)?);
        }
        Hex => {
            let joined = c.joined("hex data")?;
            if joined.is_empty() {
                return Err(DataError::Missing { what: "hex data" });
            }
            out.extend(decode_hex(&joined)?);
        }
        Salt => {
            let t = c.take("a salt (hex, or - for none)")?.0;
            let salt = if t == b"-" {
                Vec::new()
            } else {
                decode_hex(t)?
            };
            out.push(
                u8::try_from(salt.len())
                    .map_err(|_| DataError::LongString { bytes: salt.len() })?,
            );
            out.extend(salt);
        }
        Base32 => {
            let t = c
                .take("the next hashed owner (base32hex)")?
                .0
                .to_ascii_uppercase();
            let hash = BASE32HEX_NOPAD
                .decode(&t)
                .map_err(|_| DataError::Encoding {
                    what: "base32hex",
                    text: shown(&t),
                })?;
            out.push(
                u8::try_from(hash.len())
                    .map_err(|_| DataError::LongString { bytes: hash.len() })?,
            );
            out.extend(hash);
        }
        Bitmap => {
            let mut types = Vec::new();
            while let Some(t) = c.peek() {
                c.next += 1;
                types.push(type_code(t).ok_or_else(|| DataError::UnknownType { text: shown(t) })?);
            }
            bitmap(&mut types, out);
        }
        Type => {
            let t = c.take("a type")?.0;
            let code = type_code(t).ok_or_else(|| DataError::UnknownType { text: shown(t) })?;
            out.extend(code.to_be_bytes());
        }
        Algorithm => out.push(mnemonic(c.take("an algorithm")?.0, ALGORITHMS, 255)? as u8),
        CertType => out.extend(
            (mnemonic(c.take("a certificate type")?.0, CERT_TYPES, 65_535)? as u16).to_be_bytes(),
        ),
        Rest => {
            let mut bytes = Vec::new();
            text::unescape(c.take("a string")?.0, &mut bytes)?;
            out.extend(bytes);
        }
        Tag => {
            let t = c.take("a tag")?.0;
            // Lower case, as NSD requires (RFC 8659 §4.1 writes them so).
            let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            if t.is_empty() || t.len() > 255 || !t.iter().all(allowed) {
                return Err(DataError::Field {
                    what: "CAA tag",
                    text: shown(t),
                    expected: "lower-case letters and digits, such as issue, issuewild or iodef",
                });
            }
            out.push(t.len() as u8);
            out.extend_from_slice(t);
        }
        Ilnp64 => out.extend(special::ilnp64(c.take("a 64-bit locator")?.0)?),
    }
    Ok(())
}

/// DNSSEC algorithm mnemonics (RFC 8624 and the IANA registry).
const ALGORITHMS: &[(&str, u64)] = &[
    ("RSAMD5", 1),
    ("DH", 2),
    ("DSA", 3),
    ("RSASHA1", 5),
    ("DSA-NSEC3-SHA1", 6),
    ("RSASHA1-NSEC3-SHA1", 7),
    ("RSASHA256", 8),
    ("RSASHA512", 10),
    ("ECC-GOST", 12),
    ("ECDSAP256SHA256", 13),
    ("ECDSAP384SHA384", 14),
    ("ED25519", 15),
    ("ED448", 16),
    ("INDIRECT", 252),
    ("PRIVATEDNS", 253),
    ("PRIVATEOID", 254),
];

/// CERT type mnemonics (RFC 4398 §2.1).
const CERT_TYPES: &[(&str, u64)] = &[
    ("PKIX", 1),
    ("SPKI", 2),
    ("PGP", 3),
    ("IPKIX", 4),
    ("ISPKI", 5),
    ("IPGP", 6),
    ("ACPKIX", 7),
    ("IACPKIX", 8),
    ("URI", 253),
    ("OID", 254),
];

fn mnemonic(text: &[u8], table: &[(&str, u64)], max: u64) -> Result<u64, DataError> {
    match table
        .iter()
        .find(|m| m.0.as_bytes().eq_ignore_ascii_case(text))
    {
        Some(m) => Ok(m.1),
        None => text::number(text, "number or mnemonic", max),
    }
}

/// Writes the RFC 4034 §4.1.2 bitmap of `types` (sorted here).
pub(super) fn bitmap(types: &mut [u16], out: &mut Vec<u8>) {
    types.sort_unstable();
    let mut i = 0;
    while i < types.len() {
        let window = (types[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < types.len() && (types[i] >> 8) as u8 == window {
            let low = (types[i] & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = len.max(low / 8 + 1);
            i += 1;
        }
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
}

pub(super) fn ipv4(text: &[u8]) -> Result<Ipv4Addr, DataError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DataError::Address {
            family: "IPv4",
            text: shown(text),
        })
}

pub(super) fn ipv6(text: &[u8]) -> Result<Ipv6Addr, DataError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DataError::Address {
            family: "IPv6",
            text: shown(text),
        })
}
