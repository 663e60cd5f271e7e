//! Owns TSIG (RFC 8945) on the wire: reading a message's TSIG record,
//! verifying a request against the configured keys (key, MAC, then time:
//! BADKEY, BADSIG, BADTIME), and signing: a response to a signed request,
//! each later message of a transfer (§5.3.1: the prior MAC and the TSIG
//! timers), a NOTIFY, and checking a NOTIFY's answer. The MACs are ring's
//! HMACs. Nothing here runs for an unsigned message: the fast path never
//! sees a signed one (its additional record is not an OPT).

use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use ring::hmac;

use super::query::skip_name;
use crate::config::{TsigAlgorithm, TsigKey};

/// TSIG's type code, and the errors of RFC 8945 §3.
const TSIG: u16 = 250;
/// The MAC did not verify.
pub const BADSIG: u16 = 16;
/// The key (name and algorithm) is not known.
pub const BADKEY: u16 = 17;
/// The time signed is outside the fudge.
pub const BADTIME: u16 = 18;
/// The fudge hale signs with (RFC 8945 §10 recommends 300 s).
const FUDGE: u16 = 300;

/// One key, ready to sign.
struct Signer {
    /// The key's name in canonical wire form (lowercase, uncompressed).
    name: Vec<u8>,
    /// Its name, for logs.
    label: Name,
    /// The algorithm's name in wire form.
    algorithm: Vec<u8>,
    /// The full MAC's length.
    mac_len: usize,
    key: hmac::Key,
}

/// The configured keys. Their `Debug` shows names only.
#[derive(Default)]
pub struct Keys {
    keys: Vec<Signer>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| k.label.to_ascii()))
            .finish()
    }
}

impl Keys {
    /// The keys of `[[key]]`.
    pub fn new(config: &[TsigKey]) -> Keys {
        let keys = config
            .iter()
            .map(|k| {
                let (alg, mac_len) = match k.algorithm {
                    TsigAlgorithm::HmacSha256 => (hmac::HMAC_SHA256, 32),
                    TsigAlgorithm::HmacSha384 => (hmac::HMAC_SHA384, 48),
                    TsigAlgorithm::HmacSha512 => (hmac::HMAC_SHA512, 64),
                };
                Signer {
                    name: wire(&k.name),
                    label: k.name.clone(),
                    algorithm: wire(
                        &Name::from_labels(k.algorithm.name().split('.')).unwrap_or_default(),
                    ),
                    mac_len,
                    key: hmac::Key::new(alg, k.secret.bytes()),
                }
            })
            .collect();
        Keys { keys }
    }

    fn find(&self, name: &[u8], algorithm: &[u8]) -> Option<&Signer> {
        self.keys
            .iter()
            .find(|k| k.name == name && k.algorithm == algorithm)
    }

    /// The key called `name`.
    pub fn get(&self, name: &Name) -> Option<Key<'_>> {
        let name = wire(name);
        self.keys
            .iter()
            .find(|k| k.name == name)
            .map(|signer| Key { signer })
    }
}

/// A configured key, to sign a NOTIFY with.
#[derive(Clone, Copy)]
pub struct Key<'k> {
    signer: &'k Signer,
}

/// `name` in canonical wire form.
fn wire(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1);
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
    out
}

/// Seconds since the epoch, as TSIG counts time.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A message's TSIG record, read.
struct Record<'m> {
    /// Where the record starts: what is signed ends here.
    start: usize,
    /// Key name, canonical wire form.
    name: Vec<u8>,
    /// Algorithm name, lowercase wire form.
    algorithm: Vec<u8>,
    time: u64,
    fudge: u16,
    mac: &'m [u8],
    original_id: u16,
    error: u16,
    other: &'m [u8],
}

/// The TSIG record starting at `start`, the message's last (the query
/// reader has checked its layout: RFC 8945 §5.2).
fn read(msg: &[u8], start: usize) -> Option<Record<'_>> {
    let mut d = BinDecoder::new(msg);
    d.read_slice(start).ok()?;
    let name = wire(&Name::read(&mut d).ok()?);
    let at = d.index();
    let fixed = msg.get(at..at + 10)?;
    if u16::from_be_bytes([fixed[0], fixed[1]]) != TSIG {
        return None;
    }
    let len = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
    let data = msg.get(at + 10..at + 10 + len)?;
    let mut i = 0;
    while *data.get(i)? != 0 {
        i += 1 + *data.get(i)? as usize;
    }
    let algorithm = data.get(..=i)?.to_ascii_lowercase();
    let rest = data.get(i + 1..)?;
    let u16_at = |j: usize| rest.get(j..j + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let time = rest
        .get(..6)?
        .iter()
        .fold(0u64, |t, &b| t << 8 | u64::from(b));
    let fudge = u16_at(6)?;
    let mac_len = u16_at(8)? as usize;
    let mac = rest.get(10..10 + mac_len)?;
    let j = 10 + mac_len;
    let other_len = u16_at(j + 4)? as usize;
    Some(Record {
        start,
        name,
        algorithm,
        time,
        fudge,
        mac,
        original_id: u16_at(j)?,
        error: u16_at(j + 2)?,
        other: rest.get(j + 6..j + 6 + other_len)?,
    })
}

impl Record<'_> {
    /// Whether its MAC's length is one RFC 8945 §5.2.2.1 takes for
    /// `signer`: not longer than the hash, not shorter than half of it (and
    /// 10 octets). One in between is compared as far as it goes.
    fn mac_len_fits(&self, signer: &Signer) -> bool {
        let len = self.mac.len();
        len <= signer.mac_len && len >= (signer.mac_len / 2).max(10)
    }

    /// Whether its MAC is `signer`'s over `msg` and its own variables,
    /// after `prior` (the request's MAC, for a response). Call only when
    /// [`Record::mac_len_fits`].
    fn verifies(&self, signer: &Signer, msg: &[u8], prior: Option<&[u8]>) -> bool {
        let mut ctx = mac_of(signer, prior, msg, self.start, self.original_id);
        ctx.update(&self.name);
        ctx.update(&[0, 255, 0, 0, 0, 0]);
        ctx.update(&self.algorithm);
        ctx.update(&self.time.to_be_bytes()[2..]);
        ctx.update(&self.fudge.to_be_bytes());
        ctx.update(&self.error.to_be_bytes());
        ctx.update(&(self.other.len() as u16).to_be_bytes());
        ctx.update(self.other);
        let tag = ctx.sign();
        tag.as_ref()
            .get(..self.mac.len())
            .is_some_and(|t| same(t, self.mac))
    }
}

/// Where the TSIG record of `msg` starts, when its last record is one:
/// for responses (requests are read by the query reader).
fn find(msg: &[u8]) -> Option<usize> {
    let count = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]) as usize;
    if msg.len() < 12 || count(10) == 0 {
        return None;
    }
    let mut at = 12;
    for _ in 0..count(4) {
        at = skip_name(msg, at)?.0 + 4;
    }
    let records = count(6) + count(8) + count(10);
    let mut last = at;
    for _ in 0..records {
        last = at;
        let end = skip_name(msg, at)?.0;
        let len = msg.get(end + 8..end + 10)?;
        at = end + 10 + u16::from_be_bytes([len[0], len[1]]) as usize;
    }
    let end = skip_name(msg, last)?.0;
    (at == msg.len() && msg.get(end..end + 2)? == TSIG.to_be_bytes()).then_some(last)
}

/// The TSIG variables after the key name (RFC 8945 §4.3.3), or the
/// timers alone (§4.3.1) for a later message of a transfer.
fn variables(
    ctx: &mut hmac::Context,
    signer: &Signer,
    time: u64,
    error: u16,
    other: &[u8],
    timers_only: bool,
) {
    let timers = {
        let mut t = [0u8; 8];
        t[..6].copy_from_slice(&time.to_be_bytes()[2..]);
        t[6..].copy_from_slice(&FUDGE.to_be_bytes());
        t
    };
    if timers_only {
        ctx.update(&timers);
        return;
    }
    ctx.update(&signer.name);
    ctx.update(&[0, 255, 0, 0, 0, 0]);
    ctx.update(&signer.algorithm);
    ctx.update(&timers);
    ctx.update(&error.to_be_bytes());
    ctx.update(&(other.len() as u16).to_be_bytes());
    ctx.update(other);
}

/// Appends a TSIG record to the message in `out` and counts it.
#[allow(clippy::too_many_arguments)]
fn append(
    out: &mut Vec<u8>,
    name: &[u8],
    algorithm: &[u8],
    time: u64,
    mac: &[u8],
    original_id: u16,
    error: u16,
    other: &[u8],
) {
    let len = algorithm.len() + 16 + mac.len() + other.len();
    out.extend_from_slice(name);
    out.extend_from_slice(&TSIG.to_be_bytes());
    out.extend_from_slice(&[0, 255, 0, 0, 0, 0]);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(algorithm);
    out.extend_from_slice(&time.to_be_bytes()[2..]);
    out.extend_from_slice(&FUDGE.to_be_bytes());
    out.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    out.extend_from_slice(mac);
    out.extend_from_slice(&original_id.to_be_bytes());
    out.extend_from_slice(&error.to_be_bytes());
    out.extend_from_slice(&(other.len() as u16).to_be_bytes());
    out.extend_from_slice(other);
    if out.len() >= 12 {
        let ar = u16::from_be_bytes([out[10], out[11]]).wrapping_add(1);
        out[10..12].copy_from_slice(&ar.to_be_bytes());
    }
}

/// Whether `a` and `b` are equal, in time that does not depend on where
/// they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The MAC of a signed message over `msg[..start]` with its ID set to
/// `id` and the TSIG record not counted, after `prior` (a request's MAC
/// for a response, with its length).
fn mac_of(
    signer: &Signer,
    prior: Option<&[u8]>,
    msg: &[u8],
    start: usize,
    id: u16,
) -> hmac::Context {
    let mut ctx = hmac::Context::with_key(&signer.key);
    if let Some(prior) = prior {
        ctx.update(&(prior.len() as u16).to_be_bytes());
        ctx.update(prior);
    }
    let mut header = [0u8; 12];
    header.copy_from_slice(&msg[..12]);
    header[..2].copy_from_slice(&id.to_be_bytes());
    let ar = u16::from_be_bytes([header[10], header[11]]).wrapping_sub(1);
    header[10..12].copy_from_slice(&ar.to_be_bytes());
    ctx.update(&header);
    ctx.update(&msg[12..start]);
    ctx
}

/// A request whose signature verified: what its response is signed with.
pub struct Signed<'k> {
    signer: &'k Signer,
    mac: Vec<u8>,
    time: u64,
    original_id: u16,
}

/// Why a signed request is refused: NOTAUTH, with this TSIG record.
pub(super) struct Refusal<'k> {
    /// BADKEY, BADSIG or BADTIME.
    pub(super) error: u16,
    name: Vec<u8>,
    algorithm: Vec<u8>,
    time: u64,
    original_id: u16,
    /// For BADTIME: the key, and the request's MAC (the answer is signed).
    signed: Option<(&'k Signer, Vec<u8>)>,
    /// The key's name as the request gave it, for the log.
    pub(super) key: String,
}

/// What a request's TSIG record says: signed by a known key, refused, or
/// malformed (FORMERR).
pub(super) enum Verdict<'k> {
    Signed(Signed<'k>),
    Refused(Refusal<'k>),
    Malformed,
}

/// Verifies the TSIG record at `start` of the request `msg` (RFC 8945
/// §5.2), at `now`.
pub(super) fn verify<'k>(keys: &'k Keys, msg: &[u8], start: usize, now: u64) -> Verdict<'k> {
    let Some(record) = read(msg, start) else {
        return Verdict::Malformed;
    };
    let key = String::from_utf8_lossy(&record.name).into_owned();
    let refuse = |error, signed| {
        Verdict::Refused(Refusal {
            error,
            name: record.name.clone(),
            algorithm: record.algorithm.clone(),
            time: record.time,
            original_id: record.original_id,
            signed,
            key: readable(&record.name).unwrap_or(key.clone()),
        })
    };
    let Some(signer) = keys.find(&record.name, &record.algorithm) else {
        return refuse(BADKEY, None);
    };
    // §5.2.2.1: a MAC longer than the hash, or shorter than half of it
    // (and 10 octets), is malformed; one between is compared as far as it goes.
    if !record.mac_len_fits(signer) {
        return Verdict::Malformed;
    }
    if !record.verifies(signer, msg, None) {
        return refuse(BADSIG, None);
    }
    if now.abs_diff(record.time) > u64::from(record.fudge) {
        return refuse(BADTIME, Some((signer, record.mac.to_vec())));
    }
    Verdict::Signed(Signed {
        signer,
        mac: record.mac.to_vec(),
        time: record.time,
        original_id: record.original_id,
    })
}

/// A key's wire name as text (`xfr.example.com.`).
fn readable(name: &[u8]) -> Option<String> {
    let mut d = BinDecoder::new(name);
    Name::read(&mut d).ok().map(|n| n.to_ascii())
}

impl Signed<'_> {
    /// Bytes the TSIG record of a response takes: reserved out of a UDP
    /// answer's room before it is written.
    pub(super) fn size(&self) -> usize {
        self.signer.name.len() + 10 + self.signer.algorithm.len() + 16 + self.signer.mac_len
    }

    /// Signs the response in `out` (the first, or only, message); returns
    /// its MAC, which the next message of a transfer is chained to.
    pub(super) fn sign(&self, out: &mut Vec<u8>, now: u64) -> Vec<u8> {
        self.sign_as(out, now, Some(&self.mac), false)
    }

    /// Signs a later message of a transfer in `out`, chained to `prior`
    /// (RFC 8945 §5.3.1: the prior MAC, the message, the timers).
    pub(super) fn sign_next(&self, out: &mut Vec<u8>, now: u64, prior: &[u8]) -> Vec<u8> {
        self.sign_as(out, now, Some(prior), true)
    }

    fn sign_as(
        &self,
        out: &mut Vec<u8>,
        now: u64,
        prior: Option<&[u8]>,
        timers_only: bool,
    ) -> Vec<u8> {
        let signer = self.signer;
        let mut ctx = hmac::Context::with_key(&signer.key);
        if let Some(prior) = prior {
            ctx.update(&(prior.len() as u16).to_be_bytes());
            ctx.update(prior);
        }
        ctx.update(out);
        variables(&mut ctx, signer, now, 0, &[], timers_only);
        let mac = ctx.sign().as_ref().to_vec();
        append(
            out,
            &signer.name,
            &signer.algorithm,
            now,
            &mac,
            self.original_id,
            0,
            &[],
        );
        mac
    }

    /// The key's name, for the log.
    pub fn key(&self) -> String {
        self.signer.label.to_ascii()
    }

    /// Whether it was signed with the key called `name`.
    pub(super) fn is_key(&self, name: &hickory_proto::rr::Name) -> bool {
        self.signer.label == *name
    }

    /// The refusal of a request signed with a valid key that is not the one
    /// required: BADKEY (RFC 8945 §5.2.1), unsigned.
    pub(super) fn wrong_key(&self) -> Refusal<'static> {
        Refusal {
            error: BADKEY,
            name: self.signer.name.clone(),
            algorithm: self.signer.algorithm.clone(),
            time: self.time,
            original_id: self.original_id,
            signed: None,
            key: self.key(),
        }
    }
}

impl Refusal<'_> {
    /// Appends the TSIG record of the NOTAUTH answer in `out` (RFC 8945
    /// §5.3.2): unsigned for BADKEY and BADSIG; for BADTIME signed, with
    /// the request's time and hale's own in the other data, so the client
    /// can see the skew.
    pub(super) fn write(&self, out: &mut Vec<u8>, now: u64) {
        match &self.signed {
            Some((signer, request_mac)) => {
                let other = now.to_be_bytes();
                let other = &other[2..];
                let mut ctx = hmac::Context::with_key(&signer.key);
                ctx.update(&(request_mac.len() as u16).to_be_bytes());
                ctx.update(request_mac);
                ctx.update(out);
                variables(&mut ctx, signer, self.time, self.error, other, false);
                let mac = ctx.sign();
                append(
                    out,
                    &signer.name,
                    &signer.algorithm,
                    self.time,
                    mac.as_ref(),
                    self.original_id,
                    self.error,
                    other,
                );
            }
            None => append(
                out,
                &self.name,
                &self.algorithm,
                self.time,
                &[],
                self.original_id,
                self.error,
                &[],
            ),
        }
    }

    /// [`Refusal::write`], unless the record would take the answer past
    /// `limit` (a key or algorithm name too long for the client's UDP
    /// size): then it goes without, TC set (the answer holds no data).
    pub(super) fn write_within(&self, out: &mut Vec<u8>, now: u64, limit: usize) {
        let unsigned = out.len();
        self.write(out, now);
        if out.len() > limit && unsigned >= 12 {
            out.truncate(unsigned);
            let ar = u16::from_be_bytes([out[10], out[11]]).wrapping_sub(1);
            out[10..12].copy_from_slice(&ar.to_be_bytes());
            out[2] |= 0x02;
        }
    }

    /// The error's name, for the log.
    pub(super) fn error_name(&self) -> &'static str {
        error_name(self.error)
    }
}

/// What the TSIG record of a NOTAUTH `response` says, for the log:
/// the error and the key's name.
pub fn describe(response: &[u8]) -> Option<(&'static str, String)> {
    let record = read(response, find(response)?)?;
    Some((error_name(record.error), readable(&record.name)?))
}

/// BADSIG, BADKEY, BADTIME by code.
pub fn error_name(error: u16) -> &'static str {
    match error {
        BADSIG => "BADSIG",
        BADKEY => "BADKEY",
        BADTIME => "BADTIME",
        0 => "NOERROR",
        _ => "malformed",
    }
}

impl Key<'_> {
    /// Signs the request in `out` (a NOTIFY) at `now`; returns its MAC, to
    /// verify the answer with [`Key::verify_answer`].
    pub fn sign_request(&self, out: &mut Vec<u8>, now: u64) -> Vec<u8> {
        let signer = self.signer;
        let mut ctx = hmac::Context::with_key(&signer.key);
        ctx.update(out);
        variables(&mut ctx, signer, now, 0, &[], false);
        let mac = ctx.sign().as_ref().to_vec();
        let id = u16::from_be_bytes([out[0], out[1]]);
        append(out, &signer.name, &signer.algorithm, now, &mac, id, 0, &[]);
        mac
    }

    /// Whether `answer` is signed with this key over the request whose
    /// MAC was `request_mac`, within the fudge of `now`. An error in it
    /// (BADKEY, BADSIG, BADTIME from the secondary) is returned as `Err`.
    pub fn verify_answer(&self, answer: &[u8], request_mac: &[u8], now: u64) -> Result<(), String> {
        let signer = self.signer;
        let start = find(answer).ok_or("the answer is not signed")?;
        let record = read(answer, start).ok_or("the answer's TSIG record is malformed")?;
        if record.error != 0 {
            return Err(format!(
                "the secondary answered {}",
                error_name(record.error)
            ));
        }
        if record.name != signer.name || record.algorithm != signer.algorithm {
            return Err("the answer is signed with another key".into());
        }
        if !record.mac_len_fits(signer) || !record.verifies(signer, answer, Some(request_mac)) {
            return Err("the answer's signature does not verify".into());
        }
        if now.abs_diff(record.time) > u64::from(record.fudge) {
            return Err("the answer's time is outside its fudge".into());
        }
        Ok(())
    }

    /// The key's name, for the log.
    pub fn name(&self) -> String {
        self.signer.label.to_ascii()
    }
}
