//! Owns the record types whose text is more than a list of fields: LOC
//! (RFC 1876), SVCB/HTTPS (RFC 9460, keys sorted as NSD sorts them), APL
//! (RFC 3123), WKS, IPSECKEY, AMTRELAY, HIP, NSAP, EUI48/64 and ILNP
//! locators.

use super::error::{DataError, shown};
use super::rdata::{Cursor, decode_base64, decode_hex, ipv4, ipv6};
use super::text;

fn bad(what: &'static str, text: &[u8], expected: &'static str) -> DataError {
    DataError::Field {
        what,
        text: shown(text),
        expected,
    }
}

/// WKS: address, protocol (`tcp`, `udp` or a number), services (names or numbers).
pub(super) fn wks(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    out.extend(ipv4(c.take("an IPv4 address")?.0)?.octets());
    let p = c.take("a protocol")?.0;
    let protocol = match p.to_ascii_lowercase().as_slice() {
        b"tcp" => 6,
        b"udp" => 17,
        _ => text::number(p, "protocol", 255)? as u8,
    };
    out.push(protocol);
    let mut bits = Vec::new();
    while let Some(s) = c.peek() {
        c.next += 1;
        let port = match SERVICES
            .iter()
            .find(|x| x.0.as_bytes().eq_ignore_ascii_case(s))
        {
            Some(x) => x.1,
            None => text::number(s, "port", 65_535)? as usize,
        };
        if bits.len() <= port / 8 {
            bits.resize(port / 8 + 1, 0);
        }
        bits[port / 8] |= 0x80 >> (port % 8);
    }
    out.extend(bits);
    Ok(())
}

/// Service names WKS records use most.
const SERVICES: &[(&str, usize)] = &[
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("http", 80),
    ("pop3", 110),
    ("ntp", 123),
    ("imap", 143),
    ("snmp", 161),
    ("https", 443),
];

/// NSAP: `0x` and hex, dots allowed anywhere.
pub(super) fn nsap(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    let t = c.take("an NSAP address")?.0;
    let hex: Vec<u8> = match t.get(..2) {
        Some(b"0x" | b"0X") => t[2..].iter().copied().filter(|&b| b != b'.').collect(),
        _ => return Err(bad("NSAP", t, "0x and hex digits")),
    };
    out.extend(decode_hex(&hex)?);
    Ok(())
}

/// EUI48: six hex pairs joined by `-`.
pub(super) fn eui48(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    eui(c.take("an EUI-48 address")?.0, 6, out)
}

/// EUI64: eight hex pairs joined by `-`.
pub(super) fn eui64(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    eui(c.take("an EUI-64 address")?.0, 8, out)
}

fn eui(t: &[u8], n: usize, out: &mut Vec<u8>) -> Result<(), DataError> {
    let parts: Vec<&[u8]> = t.split(|&b| b == b'-').collect();
    if parts.len() != n || parts.iter().any(|p| p.len() != 2) {
        return Err(bad(
            "EUI",
            t,
            "hex pairs joined by -, such as 00-00-5e-00-53-2a",
        ));
    }
    for p in parts {
        out.extend(decode_hex(p)?);
    }
    Ok(())
}

/// Four groups of one to four hex digits joined by `:` (RFC 6742).
pub(super) fn ilnp64(t: &[u8]) -> Result<[u8; 8], DataError> {
    let parts: Vec<&[u8]> = t.split(|&b| b == b':').collect();
    let wrong = || {
        bad(
            "locator",
            t,
            "four groups of hex joined by :, such as 2001:0db8:1140:1000",
        )
    };
    if parts.len() != 4 {
        return Err(wrong());
    }
    let mut out = [0u8; 8];
    for (i, p) in parts.iter().enumerate() {
        let s = std::str::from_utf8(p).map_err(|_| wrong())?;
        if p.is_empty() || p.len() > 4 {
            return Err(wrong());
        }
        let v = u16::from_str_radix(s, 16).map_err(|_| wrong())?;
        out[2 * i..2 * i + 2].copy_from_slice(&v.to_be_bytes());
    }
    Ok(out)
}

/// IPSECKEY: precedence, gateway type, algorithm, gateway, optional key.
pub(super) fn ipseckey(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    out.push(text::number(c.take("a precedence")?.0, "precedence", 255)? as u8);
    let kind = text::number(c.take("a gateway type")?.0, "gateway type", 3)? as u8;
    out.push(kind);
    out.push(text::number(c.take("an algorithm")?.0, "algorithm", 255)? as u8);
    gateway(kind, c, out)?;
    let mut key = Vec::new();
    while let Some(t) = c.peek() {
        c.next += 1;
        key.extend_from_slice(t);
    }
    if !key.is_empty() {
        out.extend(decode_base64(&key)?);
    }
    Ok(())
}

/// A gateway or relay of type 0 (`.`), 1 (IPv4), 2 (IPv6) or 3 (a name).
fn gateway(kind: u8, c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    let t = c.take("a gateway")?.0;
    match kind {
        0 if t == b"." => {}
        0 => return Err(bad("gateway", t, ". for gateway type 0")),
        1 => out.extend(ipv4(t)?.octets()),
        2 => out.extend(ipv6(t)?.octets()),
        _ => text::name(t, c.origin, out)?,
    }
    Ok(())
}

/// AMTRELAY (RFC 8777): precedence, discovery bit, type, relay.
pub(super) fn amtrelay(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    out.push(text::number(c.take("a precedence")?.0, "precedence", 255)? as u8);
    let d = text::number(c.take("a discovery bit")?.0, "discovery bit", 1)? as u8;
    let kind = text::number(c.take("a relay type")?.0, "relay type", 3)? as u8;
    out.push(d << 7 | kind);
    gateway(kind, c, out)
}

/// HIP (RFC 8005): algorithm, HIT (hex), public key (base64), rendezvous servers.
pub(super) fn hip(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    let algorithm = text::number(c.take("an algorithm")?.0, "algorithm", 255)? as u8;
    let hit = decode_hex(c.take("a HIT")?.0)?;
    let key = decode_base64(c.take("a public key")?.0)?;
    let hit_len =
        u8::try_from(hit.len()).map_err(|_| DataError::LongString { bytes: hit.len() })?;
    let key_len =
        u16::try_from(key.len()).map_err(|_| DataError::LongString { bytes: key.len() })?;
    out.push(hit_len);
    out.push(algorithm);
    out.extend(key_len.to_be_bytes());
    out.extend(hit);
    out.extend(key);
    while let Some(t) = c.peek() {
        c.next += 1;
        text::name(t, c.origin, out)?;
    }
    Ok(())
}

/// APL (RFC 3123): items `[!]family:address/prefix`.
pub(super) fn apl(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    while let Some(t) = c.peek() {
        c.next += 1;
        let wrong = || bad("APL item", t, "[!]1:192.0.2.0/24 or [!]2:2001:db8::/32");
        let (negate, item) = match t.strip_prefix(b"!") {
            Some(rest) => (0x80u8, rest),
            None => (0, t),
        };
        let colon = item.iter().position(|&b| b == b':').ok_or_else(wrong)?;
        let slash = item.iter().rposition(|&b| b == b'/').ok_or_else(wrong)?;
        let family = text::number(&item[..colon], "address family", 2).map_err(|_| wrong())?;
        let address = item.get(colon + 1..slash).ok_or_else(wrong)?;
        let (bytes, max): (Vec<u8>, u64) = match family {
            1 => (ipv4(address)?.octets().to_vec(), 32),
            2 => (ipv6(address)?.octets().to_vec(), 128),
            _ => return Err(wrong()),
        };
        let prefix = text::number(&item[slash + 1..], "prefix", max).map_err(|_| wrong())? as u8;
        let used = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        out.extend((family as u16).to_be_bytes());
        out.push(prefix);
        out.push(negate | used as u8);
        out.extend(&bytes[..used]);
    }
    Ok(())
}

/// LOC (RFC 1876 §3): `d [m [s]] N|S d [m [s]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]`.
pub(super) fn loc(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    let latitude = angle(c, b"NS", 90)?;
    let longitude = angle(c, b"EW", 180)?;
    let altitude = meters(c.take("an altitude")?.0, true)?;
    let mut sizes = [100u64, 1_000_000, 1_000];
    for size in &mut sizes {
        match c.peek() {
            Some(t) => {
                c.next += 1;
                *size = meters(t, false)? as u64;
            }
            None => break,
        }
    }
    out.push(0);
    for size in sizes {
        out.push(precision(size).ok_or_else(|| bad("LOC size", b"", "at most 90000000m"))?);
    }
    out.extend(latitude.to_be_bytes());
    out.extend(longitude.to_be_bytes());
    let altitude = u32::try_from(altitude + 10_000_000)
        .map_err(|_| bad("altitude", b"", "-100000.00m to 42849672.95m"))?;
    out.extend(altitude.to_be_bytes());
    Ok(())
}

/// Degrees, optional minutes and seconds, then a hemisphere letter from
/// `hemispheres` (positive first): thousandths of an arc second from 2^31.
fn angle(c: &mut Cursor<'_>, hemispheres: &[u8; 2], max: u64) -> Result<u32, DataError> {
    let wrong = |t: &[u8]| bad("LOC", t, "degrees [minutes [seconds]] and N, S, E or W");
    let degrees = text::number(c.take("degrees")?.0, "degrees", max)?;
    let mut parts = [0u64; 2];
    let mut hemisphere = None;
    for (i, part) in parts.iter_mut().enumerate() {
        let t = c.take("a hemisphere (N, S, E or W)")?.0;
        if let [h] = t
            && hemispheres.contains(&h.to_ascii_uppercase())
        {
            hemisphere = Some(h.to_ascii_uppercase());
            break;
        }
        *part = if i == 0 {
            text::number(t, "minutes", 59)?
        } else {
            thousandths(t)
                .filter(|&v| v < 60_000)
                .ok_or_else(|| wrong(t))?
        };
    }
    let h = match hemisphere {
        Some(h) => h,
        None => {
            let t = c.take("a hemisphere (N, S, E or W)")?.0;
            match t {
                [h] if hemispheres.contains(&h.to_ascii_uppercase()) => h.to_ascii_uppercase(),
                _ => return Err(wrong(t)),
            }
        }
    };
    let value = (degrees * 3600 + parts[0] * 60) * 1000 + parts[1];
    if value > max * 3_600_000 {
        return Err(wrong(b""));
    }
    let base = 1u64 << 31;
    Ok(if h == hemispheres[0] {
        base + value
    } else {
        base - value
    } as u32)
}

/// A decimal with up to three decimals, in thousandths.
fn thousandths(t: &[u8]) -> Option<u64> {
    let (whole, frac) = match t.iter().position(|&b| b == b'.') {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let w = text::number(whole, "number", 1 << 40).ok()?;
    let f = frac.iter().fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'))
        * 10u64.pow(3 - frac.len() as u32);
    Some(w * 1000 + f)
}

/// Meters with an optional `m` and up to two decimals, in centimeters.
fn meters(t: &[u8], signed: bool) -> Result<i64, DataError> {
    let wrong = || bad("LOC", t, "meters such as 10m or -3.5m");
    let s = t
        .strip_suffix(b"m")
        .or_else(|| t.strip_suffix(b"M"))
        .unwrap_or(t);
    let (negative, s) = match s.strip_prefix(b"-") {
        Some(rest) if signed => (true, rest),
        _ => (false, s),
    };
    let (whole, frac) = match s.iter().position(|&b| b == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &b""[..]),
    };
    if frac.len() > 2 || !frac.iter().all(u8::is_ascii_digit) {
        return Err(wrong());
    }
    let w = text::number(whole, "meters", 100_000_000).map_err(|_| wrong())? as i64;
    let f = frac.iter().fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'))
        * 10i64.pow(2 - frac.len() as u32);
    let cm = w * 100 + f;
    Ok(if negative { -cm } else { cm })
}

/// RFC 1876's size form: mantissa in the high nibble, power of ten in the low.
fn precision(cm: u64) -> Option<u8> {
    let mut exponent = 0u8;
    let mut value = cm;
    while value >= 10 {
        if exponent == 9 {
            return None;
        }
        value /= 10;
        exponent += 1;
    }
    Some((value as u8) << 4 | exponent)
}

/// SVCB and HTTPS (RFC 9460): priority, target, parameters in any order,
/// written sorted by key.
pub(super) fn svcb(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), DataError> {
    out.extend((text::number(c.take("a priority")?.0, "priority", 65_535)? as u16).to_be_bytes());
    text::name(c.take("a target name")?.0, c.origin, out)?;
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    while !c.done() {
        let (t, token) = c.take("a parameter")?;
        let (key, mut value) = match t.iter().position(|&b| b == b'=') {
            Some(i) => (&t[..i], Some(&t[i + 1..])),
            None => (t, None),
        };
        // `alpn="h2,h3"`: the quoted value is a token of its own, right after `=`.
        if value == Some(b"")
            && let Some(next) = c.tokens.get(c.next)
            && next.quoted
            && next.start == token.end + 1
        {
            c.next += 1;
            value = Some(&c.bytes[next.start as usize..next.end as usize]);
        }
        let code = svc_key(key).ok_or_else(|| bad("SvcParam key", key, "mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint, dohpath, ohttp or keyNNNNN"))?;
        if params.iter().any(|p| p.0 == code) {
            return Err(bad("SvcParam", key, "each key once"));
        }
        let mut raw = Vec::new();
        if let Some(v) = value {
            text::unescape(v, &mut raw)?;
        }
        params.push((code, svc_value(code, key, value.map(|_| raw))?));
    }
    params.sort_by_key(|p| p.0);
    for (code, value) in params {
        let len =
            u16::try_from(value.len()).map_err(|_| DataError::LongString { bytes: value.len() })?;
        out.extend(code.to_be_bytes());
        out.extend(len.to_be_bytes());
        out.extend(value);
    }
    Ok(())
}

const SVC_KEYS: &[&str] = &[
    "mandatory",
    "alpn",
    "no-default-alpn",
    "port",
    "ipv4hint",
    "ech",
    "ipv6hint",
    "dohpath",
    "ohttp",
];

fn svc_key(key: &[u8]) -> Option<u16> {
    if let Some(i) = SVC_KEYS
        .iter()
        .position(|k| k.as_bytes().eq_ignore_ascii_case(key))
    {
        return Some(i as u16);
    }
    let digits = key.strip_prefix(b"key")?;
    text::number(digits, "key", 65_535).ok().map(|v| v as u16)
}

/// The wire form of one parameter's value (`None`: written without `=`).
fn svc_value(code: u16, key: &[u8], value: Option<Vec<u8>>) -> Result<Vec<u8>, DataError> {
    let need = |v: Option<Vec<u8>>| {
        v.filter(|v| !v.is_empty())
            .ok_or_else(|| bad("SvcParam", key, "a value after ="))
    };
    let list = |v: &[u8]| -> Vec<Vec<u8>> { v.split(|&b| b == b',').map(<[u8]>::to_vec).collect() };
    let mut out = Vec::new();
    match code {
        0 => {
            let mut keys = Vec::new();
            for k in list(&need(value)?) {
                keys.push(svc_key(&k).ok_or_else(|| bad("mandatory key", &k, "a SvcParam key"))?);
            }
            keys.sort_unstable();
            for k in keys {
                out.extend(k.to_be_bytes());
            }
        }
        1 => {
            // `\,` inside an ALPN id is a comma of the id (RFC 9460 §7.1.1):
            // the value was unescaped once, so split on commas not escaped.
            for id in list(&need(value)?) {
                let len = u8::try_from(id.len())
                    .ok()
                    .filter(|&l| l > 0)
                    .ok_or_else(|| bad("alpn", &id, "ids of 1 to 255 bytes"))?;
                out.push(len);
                out.extend(id);
            }
        }
        2 | 8 => {
            if value.is_some_and(|v| !v.is_empty()) {
                return Err(bad("SvcParam", key, "no value"));
            }
        }
        3 => out.extend((text::number(&need(value)?, "port", 65_535)? as u16).to_be_bytes()),
        4 => {
            for a in list(&need(value)?) {
                out.extend(ipv4(&a)?.octets());
            }
        }
        5 => out.extend(decode_base64(&need(value)?)?),
        6 => {
            for a in list(&need(value)?) {
                out.extend(ipv6(&a)?.octets());
            }
        }
        _ => out.extend(value.unwrap_or_default()),
    }
    Ok(out)
}
