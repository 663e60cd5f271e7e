//! Test harness shared by every integration test: an in-process hale on
//! ephemeral loopback ports ([`Hale`]), a DNS client over real UDP and TCP
//! sockets ([`Ask`]), fake HTTP backends on 127.0.x.y ([`Backend`]),
//! polling helpers ([`eventually`]) that replace sleeps, and a real NSD
//! ([`Nsd`]) to compare hale with.

#![allow(dead_code)]

mod backend;
mod dns;
mod hale;
mod knot;
mod nsd;
mod tools;
pub mod tsig;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::time::Instant;

pub use backend::{Backend, Mode, backends, v4_sorted};
pub use dns::{Ask, a_addrs, aaaa_addrs, answer_types, decode, rcode, txt_strings, udp_ask};
pub use hale::{
    Hale, connect_from, find_target, read_framed, send_framed, tcp_exchange, try_read_framed,
    udp_exchange_on, write_files,
};
pub use knot::{Knot, knot_or_skip};
pub use nsd::{Nsd, nsd_binary, nsd_or_skip, udp_once, www_at};
pub use tools::tool_or_skip;

/// How long any condition may take to become true on a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(15);
/// Time between two checks of a polled condition.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// The `[server]` and `[admin]` part every in-process test uses: DNS and
/// admin on ephemeral loopback ports, zones from the `zones` folder.
pub const SERVER: &str = r#"
[server]
listen = ["127.0.0.1:0"]
zones = "zones"

[admin]
listen = "127.0.0.1:0"
"#;

/// A plain zone `example.com.` used by most tests, with `$TTL 300` and an SOA
/// whose own TTL is 3600 and MINIMUM 60 (so negative TTL = 60).
pub const EXAMPLE_ZONE_HEAD: &str = "\
$ORIGIN example.com.
$TTL 300
@ 3600 IN SOA ns1 hostmaster (
        2024010101 ; serial
        7200       ; refresh
        900        ; retry
        1209600    ; expire
        60 )       ; minimum
@   IN NS ns1
ns1 IN A 192.0.2.53
";

/// Polls `condition` every 20 ms until it holds; panics with `what` after [`DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_within(DEADLINE, what, condition).await
}

/// [`eventually`] with an explicit deadline.
pub async fn eventually_within<F, Fut>(deadline: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if condition().await {
            return;
        }
        if start.elapsed() > deadline {
            panic!("condition not met within {deadline:?}: {what}");
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Polls `value` until it has not changed for `quiet`, then returns it;
/// panics if it keeps changing past [`DEADLINE`]. For "X stopped happening".
pub async fn settles<F, Fut, T>(what: &str, quiet: Duration, mut value: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
    T: PartialEq + std::fmt::Debug,
{
    let start = Instant::now();
    let mut last = value().await;
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(POLL_EVERY).await;
        let now = value().await;
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return last;
        }
        if start.elapsed() > DEADLINE + quiet {
            panic!("{what}: still changing after {DEADLINE:?} (last {last:?})");
        }
    }
}

/// A fresh loopback IPv4 address from 127.0.1.1 upwards, never handed out
/// twice in this process, so parallel tests never share a backend address.
pub fn fresh_ip() -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // 127.0.1.1 ..= 127.0.255.254: skip .0 and .255 in the last octet.
    let third = 1 + n / 254;
    let fourth = 1 + n % 254;
    assert!(third <= 255, "ran out of test addresses");
    Ipv4Addr::new(127, 0, third as u8, fourth as u8)
}

/// A TCP port that was free a moment ago on 127.0.0.1 (bound to 0, then released).
pub fn free_tcp_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A port free for both UDP and TCP on 127.0.0.1 right now (then released).
pub fn free_dns_port() -> u16 {
    for _ in 0..100 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("udp addr").port();
        if StdTcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP");
}

/// True when this machine can bind IPv6 loopback (`[::1]`).
pub fn ipv6_loopback_works() -> bool {
    StdTcpListener::bind("[::1]:0").is_ok()
}
