//! Owns grouping clients by network: rate limiting and the TCP connection
//! cap both count per prefix, so one site's many addresses share one budget.

use std::net::IpAddr;

/// The client's network: its address cut to `v4_len` or `v6_len` bits,
/// tagged with the family so an IPv4 prefix never equals an IPv6 one. RRL
/// and the TCP connection cap group clients by it.
pub fn client_prefix(client: IpAddr, v4_len: u8, v6_len: u8) -> (u8, u128) {
    match client.to_canonical() {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(v4_len)).unwrap_or(0);
            (4, u128::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(v6_len)).unwrap_or(0);
            (6, u128::from(v6) & mask)
        }
    }
}
