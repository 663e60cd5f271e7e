//! Owns reading the scalar forms of master files as NSD reads them: domain
//! names (with `@`, `\DDD` decimal and `\X` escapes, relative to the
//! origin), character strings, numbers, TTLs with units, and RRSIG times.
//! Names are written in wire form; the reader makes hickory `Name`s from it.

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::error::{DataError, shown};

/// Longest name in wire form (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;
/// Longest label.
const MAX_LABEL: usize = 63;

/// Reads one escape at `text[i]` (just past a backslash): `\DDD` (decimal,
/// at most 255) or `\X` (X itself). Returns the byte and the bytes read.
fn escape(text: &[u8], i: usize) -> Result<(u8, usize), DataError> {
    let digits = text
        .get(i..i + 3)
        .filter(|d| d.iter().all(u8::is_ascii_digit));
    match (digits, text.get(i)) {
        (Some(d), _) => {
            let value = d.iter().fold(0u32, |v, &b| v * 10 + u32::from(b - b'0'));
            let byte = u8::try_from(value).map_err(|_| DataError::Escape {
                text: shown(&text[i - 1..i + 3]),
            })?;
            Ok((byte, 3))
        }
        (None, Some(b)) if b.is_ascii_digit() => Err(DataError::Escape {
            text: shown(&text[i - 1..(i + 3).min(text.len())]),
        }),
        (None, Some(&b)) => Ok((b, 1)),
        (None, None) => Err(DataError::Escape { text: "\\".into() }),
    }
}

/// Appends the wire form of the name written `text` to `out`: `@` is the
/// origin, a name without a final dot is relative to it. `origin` is in
/// wire form; `None` before any is known.
pub(super) fn name(text: &[u8], origin: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), DataError> {
    let relative = |out: &mut Vec<u8>| match origin {
        Some(o) => {
            out.extend_from_slice(o);
            Ok(())
        }
        None => Err(DataError::NoOrigin { name: shown(text) }),
    };
    let start = out.len();
    match text {
        b"@" => relative(out)?,
        b"." => out.push(0),
        b"" => return Err(DataError::EmptyName),
        _ => {
            let mut label = out.len();
            out.push(0);
            let mut i = 0;
            let mut absolute = false;
            while i < text.len() {
                let b = text[i];
                i += 1;
                let byte = match b {
                    b'.' => {
                        let len = out.len() - label - 1;
                        if len == 0 {
                            return Err(DataError::EmptyLabel { name: shown(text) });
                        }
                        if i == text.len() {
                            absolute = true;
                            break;
                        }
                        label = out.len();
                        out.push(0);
                        continue;
                    }
                    b'\\' => {
                        let (byte, n) = escape(text, i)?;
                        i += n;
                        byte
                    }
                    _ => b,
                };
                out.push(byte);
                let len = out.len() - label - 1;
                if len > MAX_LABEL {
                    return Err(DataError::LongLabel { name: shown(text) });
                }
                out[label] = len as u8;
            }
            if absolute {
                out.push(0);
            } else {
                relative(out)?;
            }
        }
    }
    if out.len() - start > MAX_NAME {
        return Err(DataError::LongName { name: shown(text) });
    }
    Ok(())
}

/// The hickory name of a wire-form name [`name`] wrote.
pub(super) fn to_name(wire: &[u8]) -> Result<Name, DataError> {
    Name::read(&mut BinDecoder::new(wire)).map_err(|e| DataError::Name { why: e.to_string() })
}

/// Appends the bytes a character string `text` stands for (escapes read) to `out`.
pub(super) fn unescape(text: &[u8], out: &mut Vec<u8>) -> Result<(), DataError> {
    let mut i = 0;
    while let Some(n) = memchr::memchr(b'\\', &text[i..]) {
        out.extend_from_slice(&text[i..i + n]);
        let (byte, used) = escape(text, i + n + 1)?;
        out.push(byte);
        i += n + 1 + used;
    }
    out.extend_from_slice(&text[i..]);
    Ok(())
}

/// Appends a length-prefixed character string (at most 255 bytes).
pub(super) fn char_string(text: &[u8], out: &mut Vec<u8>) -> Result<(), DataError> {
    let at = out.len();
    out.push(0);
    unescape(text, out)?;
    let len = out.len() - at - 1;
    if len > 255 {
        return Err(DataError::LongString { bytes: len });
    }
    out[at] = len as u8;
    Ok(())
}

/// A decimal number of at most `max`.
pub(super) fn number(text: &[u8], what: &'static str, max: u64) -> Result<u64, DataError> {
    let bad = || DataError::Number {
        what,
        text: shown(text),
        max,
    };
    if text.is_empty() || text.len() > 20 || !text.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let value = text.iter().try_fold(0u64, |v, &b| {
        v.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    });
    value.filter(|&v| v <= max).ok_or_else(bad)
}

/// A TTL or period: seconds, or a sum of numbers with units `s`, `m`, `h`,
/// `d`, `w` in either case (`1h30m`), at most 2^32 - 1.
pub(super) fn period(text: &[u8]) -> Result<u32, DataError> {
    let bad = || DataError::Ttl { text: shown(text) };
    if text.is_empty() || !text[0].is_ascii_digit() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut value: u64 = 0;
    let mut digits = false;
    for &b in text {
        if b.is_ascii_digit() {
            value = value * 10 + u64::from(b - b'0');
            digits = true;
            if value > u64::from(u32::MAX) {
                return Err(bad());
            }
            continue;
        }
        let unit = match b.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86_400,
            b'w' => 604_800,
            _ => return Err(bad()),
        };
        if !digits {
            return Err(bad());
        }
        total += value * unit;
        (value, digits) = (0, false);
    }
    total += value;
    u32::try_from(total).map_err(|_| bad())
}

/// An RRSIG time: `YYYYMMDDHHmmSS` (UTC, serial-number arithmetic wraps it
/// into 32 bits) or seconds since 1970.
pub(super) fn time(text: &[u8]) -> Result<u32, DataError> {
    if text.len() != 14 {
        return number(text, "time", u64::from(u32::MAX)).map(|v| v as u32);
    }
    let bad = || DataError::Time { text: shown(text) };
    let field = |a: usize, b: usize| -> Result<i64, DataError> {
        let t = &text[a..b];
        if !t.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(t.iter().fold(0i64, |v, &d| v * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let (h, mi, s) = (field(8, 10)?, field(10, 12)?, field(12, 14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    // Days since 1970-01-01 of a civil date (proleptic Gregorian).
    let (y, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    Ok(secs as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(text: &str, origin: &str) -> Result<Name, DataError> {
        let mut o = Vec::new();
        name(origin.as_bytes(), None, &mut o)?;
        let mut out = Vec::new();
        name(text.as_bytes(), Some(&o), &mut out)?;
        to_name(&out)
    }

    #[test]
    fn names_read_decimal_escapes_and_origins() {
        assert_eq!(
            wire("\\065bc", "example.").unwrap().to_ascii(),
            "Abc.example."
        );
        assert_eq!(
            wire("a\\.b", "example.").unwrap().iter().next().unwrap(),
            b"a.b"
        );
        assert_eq!(wire("@", "example.").unwrap().to_ascii(), "example.");
        assert_eq!(
            wire("_sip._tcp", "example.").unwrap().to_ascii(),
            "_sip._tcp.example."
        );
        assert_eq!(
            wire("0/26.2.0.192.in-addr.arpa.", "x.")
                .unwrap()
                .iter()
                .count(),
            6
        );
        assert!(wire("a..b", "example.").is_err());
        assert!(wire("\\256", "example.").is_err());
        assert!(wire(&"a".repeat(64), "example.").is_err());
    }

    #[test]
    fn periods_take_units() {
        assert_eq!(period(b"3600").unwrap(), 3600);
        assert_eq!(period(b"1h30M").unwrap(), 5400);
        assert_eq!(period(b"1w").unwrap(), 604_800);
        assert!(period(b"h").is_err());
        assert!(period(b"4294967296").is_err());
        assert!(period(b"1x").is_err());
    }

    #[test]
    fn rrsig_times() {
        assert_eq!(time(b"20260101000000").unwrap(), 1_767_225_600);
        assert_eq!(time(b"1767225600").unwrap(), 1_767_225_600);
        assert!(time(b"20261301000000").is_err());
    }
}
