//! Owns DNS Cookies (RFC 7873) with the interoperable server cookie of
//! RFC 9018: the server secrets (the first signs, every one verifies; from
//! `[server] cookie_secret_file`, or random at start and kept across
//! reloads), reading the COOKIE option of a query, judging the server
//! cookie it carries, and the COOKIE option of the response, made by
//! [`reply`] and written by [`Reply::write`] for both answer paths, so they
//! send the same bytes.
//!
//! A server cookie is Version 1, Reserved 0, a Timestamp (Unix seconds)
//! and SipHash-2-4(secret, client cookie | version | reserved | timestamp |
//! client IP). It is valid from 5 minutes ahead to 1 hour old; one that is
//! valid and younger than half an hour is sent back unchanged (RFC 9018
//! §4.3 allows it), older ones and invalid ones are replaced by a new one:
//! an invalid server cookie counts as a client cookie alone (RFC 7873
//! §5.2.3). The clock is the caller's ([`Client::now`]), so answers are
//! reproducible.

use std::fmt;
use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::Arc;

use siphasher::sip::SipHasher24;

use super::Client;
use crate::config::{COOKIE_SECRET_LEN, Config};

/// The COOKIE option's code.
const CODE: u16 = 10;
const CLIENT_LEN: usize = 8;
/// RFC 9018's server cookie: version, reserved, timestamp, hash.
const SERVER_LEN: usize = 16;
/// The option a response carries: code, length, client and server cookie.
pub(super) const OPTION_LEN: usize = 4 + CLIENT_LEN + SERVER_LEN;
const VERSION: u8 = 1;
/// How old a server cookie may be, and how far ahead (RFC 9018 §4.3).
const MAX_AGE: i64 = 3600;
const MAX_AHEAD: i64 = 300;
/// A valid server cookie older than this is replaced by a new one.
const RENEW_AFTER: i64 = 1800;

/// The server secrets. Their `Debug` never shows them.
pub struct Secrets {
    /// The first signs, every one verifies.
    keys: Vec<[u8; COOKIE_SECRET_LEN]>,
    /// Made at start: a reload keeps it.
    random: bool,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = if self.random { "random" } else { "file" };
        write!(f, "Secrets({} secret(s), {from})", self.keys.len())
    }
}

impl Secrets {
    /// The secrets `config` answers cookies with, or `None` when cookies
    /// are off: the file's, else `previous`'s random one (a reload must not
    /// invalidate every resolver's cookie), else a new random one.
    pub(super) fn for_config(
        config: &Config,
        previous: Option<&Arc<Secrets>>,
    ) -> Option<Arc<Secrets>> {
        if !config.cookies {
            return None;
        }
        Some(match &config.cookie_secrets {
            Some(file) => Arc::new(Secrets {
                keys: file.keys().to_vec(),
                random: false,
            }),
            None => match previous {
                Some(p) if p.random => p.clone(),
                _ => Arc::new(Secrets {
                    keys: vec![rand::random()],
                    random: true,
                }),
            },
        })
    }
}

/// A query's COOKIE option: the client cookie, and the server cookie when
/// it has one of RFC 9018's size (any other size is not one of ours).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Received {
    client: [u8; CLIENT_LEN],
    server: Option<[u8; SERVER_LEN]>,
}

/// The first COOKIE option among an OPT record's `options`, if it has a
/// readable one (8 bytes, or 16 to 40).
pub(super) fn find(mut options: &[u8]) -> Option<Received> {
    while let [c0, c1, l0, l1, rest @ ..] = options {
        let len = u16::from_be_bytes([*l0, *l1]) as usize;
        let value = rest.get(..len)?;
        if u16::from_be_bytes([*c0, *c1]) == CODE {
            let client = value.get(..CLIENT_LEN)?.try_into().ok()?;
            return match len {
                CLIENT_LEN => Some(Received {
                    client,
                    server: None,
                }),
                16..=40 => Some(Received {
                    client,
                    server: value[CLIENT_LEN..].try_into().ok(),
                }),
                _ => None,
            };
        }
        options = &rest[len..];
    }
    None
}

/// The COOKIE option of a response, and whether the query's server cookie
/// was valid (such a query is exempt from rate limiting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Reply {
    option: [u8; OPTION_LEN],
    /// The query carried a valid server cookie.
    pub(super) valid: bool,
}

impl Reply {
    /// Appends the option to an OPT record's data being written.
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.option);
    }
}

/// RFC 7873 §5.4: a query with no question and a client cookie (how a
/// resolver learns a server cookie; `dig +header-only +cookie`) gets
/// NOERROR, no sections but the OPT with the cookies, as BIND answers it.
/// Writes it into `out` and returns whether its server cookie was valid;
/// `None` for any other message (the query reader judges it).
pub(super) fn question_less(
    msg: &[u8],
    secrets: &Secrets,
    client: Client,
    out: &mut Vec<u8>,
) -> Option<bool> {
    let header = msg.get(..12)?;
    // QR clear, opcode QUERY; no question, answer or authority; one OPT of
    // version 0, owned by the root, and nothing after it.
    if header[2] & 0xF8 != 0 || header[4..11] != [0; 7] || header[11] != 1 {
        return None;
    }
    let opt = msg.get(12..23)?;
    if opt[..3] != [0, 0, 41] || opt[6] != 0 {
        return None;
    }
    let options = msg.get(23..)?;
    if options.len() != u16::from_be_bytes([opt[9], opt[10]]) as usize
        || !super::edns::options_sound(options)
    {
        return None;
    }
    let reply = reply(secrets, &find(options)?, client);
    let flags = super::wire::QR | (u16::from_be_bytes([header[2], header[3]]) & super::wire::RD);
    out.clear();
    out.extend_from_slice(&header[..2]);
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    out.extend_from_slice(&[0, 0, 41]);
    out.extend_from_slice(&super::wire::ADVERTISED_UDP_PAYLOAD.to_be_bytes());
    out.extend_from_slice(&[0, 0, opt[7] & 0x80, 0]);
    out.extend_from_slice(&(OPTION_LEN as u16).to_be_bytes());
    reply.write(out);
    Some(reply.valid)
}

/// The reply to the cookie `got` from `client`.
pub(super) fn reply(secrets: &Secrets, got: &Received, client: Client) -> Reply {
    let mut option = [0u8; OPTION_LEN];
    option[..4].copy_from_slice(&[0, CODE as u8, 0, (CLIENT_LEN + SERVER_LEN) as u8]);
    option[4..4 + CLIENT_LEN].copy_from_slice(&got.client);
    let ip = client.ip.to_canonical();
    let age = got
        .server
        .and_then(|s| valid_age(secrets, &got.client, &s, ip, client.now));
    let server = &mut option[4 + CLIENT_LEN..];
    match (got.server, age) {
        (Some(fresh), Some(age)) if age < RENEW_AFTER => server.copy_from_slice(&fresh),
        _ => {
            let mut head = [VERSION, 0, 0, 0, 0, 0, 0, 0];
            head[4..].copy_from_slice(&client.now.to_be_bytes());
            let key = secrets.keys.first().unwrap_or(&[0; COOKIE_SECRET_LEN]);
            server[..8].copy_from_slice(&head);
            server[8..].copy_from_slice(&hash(key, &got.client, &head, ip));
        }
    }
    Reply {
        option,
        valid: age.is_some(),
    }
}

/// How old `server` is when it is a valid server cookie for `cookie` from
/// `ip` at `now` under one of the secrets; `None` when it is not.
fn valid_age(
    secrets: &Secrets,
    cookie: &[u8; CLIENT_LEN],
    server: &[u8; SERVER_LEN],
    ip: IpAddr,
    now: u32,
) -> Option<i64> {
    if server[0] != VERSION {
        return None;
    }
    let stamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
    // Serial number arithmetic (RFC 1982), as RFC 9018 §4.3 asks.
    let age = i64::from(now.wrapping_sub(stamp) as i32);
    if !(-MAX_AHEAD..=MAX_AGE).contains(&age) {
        return None;
    }
    let mut head = [0u8; 8];
    head.copy_from_slice(&server[..8]);
    let sent = &server[8..];
    secrets
        .keys
        .iter()
        .any(|key| {
            let made = hash(key, cookie, &head, ip);
            // In time independent of where they differ.
            made.iter().zip(sent).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        })
        .then_some(age.max(0))
}

/// SipHash-2-4 over client cookie, version, reserved, timestamp and
/// client address (RFC 9018 §4.4), as the reference code writes it.
fn hash(
    key: &[u8; COOKIE_SECRET_LEN],
    cookie: &[u8; CLIENT_LEN],
    head: &[u8; 8],
    ip: IpAddr,
) -> [u8; 8] {
    let mut h = SipHasher24::new_with_key(key);
    h.write(cookie);
    h.write(head);
    match ip {
        IpAddr::V4(v4) => h.write(&v4.octets()),
        IpAddr::V6(v6) => h.write(&v6.octets()),
    }
    h.finish().to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn secrets(keys: &[&str]) -> Secrets {
        Secrets {
            keys: keys
                .iter()
                .map(|k| hex(k).try_into().expect("16"))
                .collect(),
            random: false,
        }
    }

    fn option(cookie: &str) -> Vec<u8> {
        let value = hex(cookie);
        let mut out = vec![0, 10, 0, value.len() as u8];
        out.extend(value);
        out
    }

    fn client(ip: &str, now: u32) -> Client {
        Client {
            ip: ip.parse().expect("ip"),
            now,
        }
    }

    const SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

    /// RFC 9018 Appendix A.1 to A.3, byte for byte.
    #[test]
    fn rfc_9018_test_vectors() {
        let s = secrets(&[SECRET]);
        // A.1: a client cookie alone gets a new server cookie.
        let got = find(&option("2464c4abcf10c957")).expect("cookie");
        let a1 = reply(&s, &got, client("198.51.100.100", 1559731985));
        assert_eq!(
            a1.option[4..],
            hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480")[..]
        );
        assert!(!a1.valid);
        // A.2: 40 minutes later the same client's cookie is valid, and renewed.
        let got =
            find(&option("2464c4abcf10c957010000005cf79f111f8130c3eee29480")).expect("cookie");
        let a2 = reply(&s, &got, client("198.51.100.100", 1559734385));
        assert_eq!(
            a2.option[4..],
            hex("2464c4abcf10c957010000005cf7a871d4a564a1442aca77")[..]
        );
        assert!(a2.valid);
        // A.3: another client's cookie, made from IPv6 elsewhere; here a new one.
        let got = find(&option("fc93fc62807ddb8601000000")).is_none();
        assert!(got, "a cookie of 12 bytes is not readable");
        let got = find(&option("fc93fc62807ddb86")).expect("cookie");
        let a3 = reply(&s, &got, client("203.0.113.203", 1559734700));
        assert_eq!(
            a3.option[4..],
            hex("fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e")[..]
        );
    }

    /// A fresh valid cookie comes back unchanged; a wrong address, secret,
    /// version or age makes it invalid, and then a new one is made.
    #[test]
    fn validity() {
        let s = secrets(&[SECRET]);
        let issued = reply(
            &s,
            &find(&option("0102030405060708")).expect("c"),
            client("192.0.2.1", 1000),
        );
        let back = find(&issued.option).expect("echo");
        let at = |ip: &str, now: u32, s: &Secrets| reply(s, &back, client(ip, now));
        let fresh = at("192.0.2.1", 1000 + 600, &s);
        assert!(fresh.valid);
        assert_eq!(fresh.option, issued.option, "echoed unchanged");
        let mapped = at("::ffff:192.0.2.1", 1000 + 600, &s);
        assert!(mapped.valid, "an IPv4-mapped address is the IPv4 one");
        assert!(!at("192.0.2.2", 1600, &s).valid, "another address");
        assert!(!at("192.0.2.1", 1000 + 3601, &s).valid, "over an hour old");
        assert!(at("192.0.2.1", 1000 + 3600, &s).valid, "an hour old");
        assert!(!at("192.0.2.1", 1000 - 301, &s).valid, "too far ahead");
        assert!(at("192.0.2.1", 1000 - 300, &s).valid, "5 minutes ahead");
        let renewed = at("192.0.2.1", 1000 + 1800, &s);
        assert!(renewed.valid);
        assert_ne!(renewed.option, issued.option, "renewed after half an hour");
        // Rotation: a new secret first, the old one still verifies.
        let rotated = secrets(&["00112233445566778899aabbccddeeff", SECRET]);
        assert!(at("192.0.2.1", 1600, &rotated).valid);
        assert!(
            !at(
                "192.0.2.1",
                1600,
                &secrets(&["00112233445566778899aabbccddeeff"])
            )
            .valid
        );
        let invalid = at("192.0.2.2", 1600, &s);
        assert_eq!(
            invalid.option[..12],
            issued.option[..12],
            "same client cookie"
        );
        assert_eq!(invalid.option[12..16], [1, 0, 0, 0]);
        let mut other_version = back;
        if let Some(server) = other_version.server.as_mut() {
            server[0] = 2;
        }
        assert!(!reply(&s, &other_version, client("192.0.2.1", 1600)).valid);
    }

    #[test]
    fn finding_the_option() {
        let mut opts = vec![0xfd, 0xe9, 0, 2, 7, 7];
        opts.extend(option("0102030405060708"));
        assert!(find(&opts).is_some_and(|r| r.server.is_none()));
        assert!(
            find(&option("0102030405060708090a0b0c0d0e0f1011121314"))
                .is_some_and(|r| r.server.is_none()),
            "not RFC 9018's size"
        );
        assert!(find(&[0, 10, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]).is_none());
        assert!(find(&[0, 10, 0, 8, 1, 2, 3]).is_none());
        assert!(find(&[]).is_none());
    }
}
