//! A TSIG client for the tests, made of hickory's TSIG code (written apart
//! from hale's own): signs requests, verifies single responses and the
//! chained messages of a transfer.

use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::tsig::{TsigAlgorithm, TsigError};
use hickory_proto::rr::{Name, TSigner};

/// A 32-byte secret, as `tsig-keygen` prints it.
pub const SECRET: &str = "8W2xNuIYP9T5bRMBxLa0Jg9vUdNpL7k1Zr9bPbCTvXw=";
/// Another one.
pub const OTHER_SECRET: &str = "Xk8vQm2cLrT0u5N1aZbC3dE4fG6hJ7kL8mN9oPqRsTU=";
/// The key's name.
pub const KEY_NAME: &str = "xfr.example.com.";

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A signer for `name` with `secret` (base64) and `algorithm`
/// ("hmac-sha256" …), fudge 300.
pub fn signer(name: &str, secret: &str, algorithm: &str) -> TSigner {
    let key = data_encoding::BASE64
        .decode(secret.as_bytes())
        .expect("base64 secret");
    let algorithm = match algorithm {
        "hmac-sha256" => TsigAlgorithm::HmacSha256,
        "hmac-sha384" => TsigAlgorithm::HmacSha384,
        "hmac-sha512" => TsigAlgorithm::HmacSha512,
        other => panic!("algorithm {other}"),
    };
    TSigner::new(
        key,
        algorithm,
        Name::from_ascii(name).expect("key name"),
        300,
    )
    .expect("signer")
}

/// `query` signed by `signer` as at `time`; returns the bytes and the MAC.
pub fn sign(query: &[u8], signer: &TSigner, time: u64) -> (Vec<u8>, Vec<u8>) {
    let mut msg = Message::from_vec(query).expect("query to sign");
    let (tsig, _) = signer.sign_message(&msg, time).expect("sign");
    let mac = tsig.data.mac.clone();
    msg.set_signature(tsig);
    (msg.to_vec().expect("encode signed query"), mac)
}

/// Verifies `response` (the first message after a request whose MAC is
/// `prior`, or a later one of a transfer chained to the previous MAC);
/// returns its MAC.
pub fn verify(
    signer: &TSigner,
    response: &[u8],
    prior: &[u8],
    first: bool,
) -> Result<Vec<u8>, String> {
    let (mac, time, window) = signer
        .verify_message_byte(response, Some(prior), first)
        .map_err(|e| e.to_string())?;
    if !window.contains(&now()) && window.end != now() {
        return Err(format!("time {time} outside {window:?}"));
    }
    Ok(mac)
}

/// The TSIG error of a response's TSIG record and its MAC's length; `None`
/// when the response has no TSIG record.
pub fn tsig_error(response: &[u8]) -> Option<(u16, usize)> {
    let msg = Message::from_vec(response).expect("response");
    let tsig = msg.signature()?;
    Some((tsig.data.error.map_or(0, u16::from), tsig.data.mac.len()))
}

/// TSIG's BADSIG, BADKEY, BADTIME as hickory numbers them.
pub fn code(error: TsigError) -> u16 {
    u16::from(error)
}
