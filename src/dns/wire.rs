//! Owns the wire-format facts every part of answering shares: header bits,
//! payload sizes, Extended DNS Error codes, and cutting a response down to
//! its question (what rate limiting's slip sends).

/// Header flag bits.
pub(super) const QR: u16 = 0x8000;
pub(super) const AA: u16 = 0x0400;
pub(super) const TC: u16 = 0x0200;
pub(super) const RD: u16 = 0x0100;

/// Largest UDP payload we answer with, whatever the client offers.
pub(super) const MAX_UDP_PAYLOAD: u16 = 4096;
/// The UDP payload size we advertise (what we accept), as NSD and Knot do (DNS flag day 2020).
pub(super) const ADVERTISED_UDP_PAYLOAD: u16 = 1232;
/// RFC 8914 info codes: the two sent with REFUSED as NSD does, and
/// "Other Error", whose text explains the all-down policy's SERVFAIL.
pub(super) const EDE_OTHER: u16 = 0;
pub(super) const EDE_NOT_AUTHORITATIVE: u16 = 20;
pub(super) const EDE_NOT_SUPPORTED: u16 = 21;

/// Cuts a response down to its header and question with TC set: what a
/// slipped response carries (RFC 1035 §4.1.1; the client retries over TCP).
pub fn truncate(response: &mut Vec<u8>) {
    if response.len() < 12 {
        return;
    }
    let end = match response[4..6] == [0, 1] {
        true => super::query::skip_name(response, 12).map(|(end, _)| end + 4),
        false => Some(12),
    };
    match end.filter(|&end| end <= response.len()) {
        Some(end) => response.truncate(end),
        None => {
            response.truncate(12);
            response[4..6].copy_from_slice(&[0, 0]);
        }
    }
    response[2] |= (TC >> 8) as u8;
    response[6..12].fill(0);
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncation_keeps_header_and_question() {
        let mut r = vec![0x12, 0x34, 0x84, 0x00, 0, 1, 0, 2, 0, 1, 0, 1];
        r.extend_from_slice(&[3, b'w', b'w', b'w', 0, 0, 1, 0, 1]);
        r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        truncate(&mut r);
        assert_eq!(r.len(), 12 + 9);
        assert_eq!(r[2], 0x86, "TC set, AA kept");
        assert_eq!(&r[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
    }
}
