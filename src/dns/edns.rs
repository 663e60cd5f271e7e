//! Owns judging the parts of a query that a well-formed header and question
//! do not vouch for: an OPT record's options (RFC 6891 §6.1.2: each one
//! whole; a COOKIE of 8 or 16 to 40 bytes, RFC 7873 §5.2.2; a Client
//! Subnet of a known family and a prefix its address fits, RFC 7871 §7.1.2)
//! and a TSIG record's layout (RFC 8945 §4.2). What fails gets FORMERR, as
//! NSD and BIND answer, never data.

/// EDNS option codes checked here.
const ECS: u16 = 8;
const COOKIE: u16 = 10;

/// Whether the options in an OPT record's data are sound.
pub(super) fn options_sound(mut data: &[u8]) -> bool {
    while !data.is_empty() {
        let Some(head) = data.get(..4) else {
            return false;
        };
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = u16::from_be_bytes([head[2], head[3]]) as usize;
        let Some(value) = data.get(4..4 + len) else {
            return false;
        };
        let sound = match code {
            COOKIE => len == 8 || (16..=40).contains(&len),
            ECS => client_subnet_sound(value),
            _ => true,
        };
        if !sound {
            return false;
        }
        data = &data[4 + len..];
    }
    true
}

/// RFC 7871 §6, §7.1.2: family 1 or 2, a source prefix within it, a scope
/// of 0 in a query, and exactly the address bytes the prefix needs.
fn client_subnet_sound(value: &[u8]) -> bool {
    let [f0, f1, source, scope, address @ ..] = value else {
        return false;
    };
    let bits = match u16::from_be_bytes([*f0, *f1]) {
        1 => 32,
        2 => 128,
        _ => return false,
    };
    *source <= bits && *scope == 0 && address.len() == (*source as usize).div_ceil(8)
}

/// Whether a TSIG record's data (RFC 8945 §4.2) is laid out whole: an
/// uncompressed algorithm name, time, fudge, MAC, original ID, error and
/// other data, ending where the data ends.
pub(super) fn tsig_sound(data: &[u8]) -> bool {
    // The algorithm name: labels up to the root, no compression.
    let mut at = 0;
    loop {
        match data.get(at) {
            Some(0) => {
                at += 1;
                break;
            }
            Some(&len) if len <= 63 => at += 1 + len as usize,
            _ => return false,
        }
    }
    if at > 255 {
        return false;
    }
    let u16_at = |i: usize| {
        data.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
    };
    // Time signed (6) and fudge (2), then the MAC's size and the MAC.
    let Some(mac) = u16_at(at + 8) else {
        return false;
    };
    let at = at + 10 + mac;
    // Original ID and error (2 each), then the other data's size and it.
    let Some(other) = u16_at(at + 4) else {
        return false;
    };
    at + 6 + other == data.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(code: u16, value: &[u8]) -> Vec<u8> {
        let mut out = code.to_be_bytes().to_vec();
        out.extend((value.len() as u16).to_be_bytes());
        out.extend(value);
        out
    }

    #[test]
    fn options_are_judged_whole() {
        assert!(options_sound(&[]));
        assert!(options_sound(&option(65001, &[1, 2, 3])));
        assert!(options_sound(&option(COOKIE, &[7; 8])));
        assert!(options_sound(&option(COOKIE, &[7; 24])));
        assert!(!options_sound(&option(COOKIE, &[7; 9])), "cookie of 9");
        assert!(!options_sound(&option(COOKIE, &[7; 41])), "cookie of 41");
        let mut cut = option(65001, &[1, 2, 3]);
        cut.pop();
        assert!(!options_sound(&cut), "length past the data");
        assert!(!options_sound(&[0, 1, 0]), "half a header");
        assert!(options_sound(&option(ECS, &[0, 1, 24, 0, 192, 0, 2])));
        assert!(options_sound(&option(ECS, &[0, 2, 0, 0])));
        assert!(
            !options_sound(&option(ECS, &[0, 3, 24, 0, 192, 0, 2])),
            "family 3"
        );
        assert!(
            !options_sound(&option(ECS, &[0, 1, 33, 0, 1, 2, 3, 4, 5])),
            "prefix 33"
        );
        assert!(
            !options_sound(&option(ECS, &[0, 1, 24, 0, 192, 0])),
            "address short"
        );
        assert!(
            !options_sound(&option(ECS, &[0, 1, 24, 8, 192, 0, 2])),
            "scope in a query"
        );
    }

    #[test]
    fn tsig_layout() {
        let mut tsig = b"\x0bhmac-sha256\x00".to_vec();
        tsig.extend([0, 0, 0x65, 0x5f, 0, 0, 1, 44]); // time, fudge 300
        tsig.extend([0, 32]);
        tsig.extend([9; 32]);
        tsig.extend([0x12, 0x34, 0, 0, 0, 0]); // id, error, no other data
        assert!(tsig_sound(&tsig));
        assert!(!tsig_sound(&tsig[..tsig.len() - 1]));
        let mut longer = tsig.clone();
        longer.push(0);
        assert!(!tsig_sound(&longer));
        let mut compressed = vec![0xc0, 12];
        compressed.extend(&tsig[13..]);
        assert!(!tsig_sound(&compressed));
    }
}
