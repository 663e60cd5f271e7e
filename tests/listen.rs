//! Listen addresses: a wildcard listener answers from the address each query
//! was sent to, and IPv4 and IPv6 wildcards can share one port.

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::support::{Ask, EXAMPLE_ZONE_HEAD, Hale, a_addrs, decode, tcp_exchange, udp_ask};

/// How long one UDP question may wait for its answer.
const WAIT: Duration = Duration::from_secs(5);

fn zone() -> String {
    format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n")
}

fn config(listen: &str) -> String {
    format!("[server]\nlisten = {listen}\nzones = \"zones\"\n")
}

/// A port free for UDP and TCP on both IPv4 and IPv6 wildcards just now.
fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(udp) = UdpSocket::bind("0.0.0.0:0") else {
            continue;
        };
        let Ok(port) = udp.local_addr().map(|a| a.port()) else {
            continue;
        };
        drop(udp);
        // One at a time: std's IPv6 sockets are dual-stack and would clash
        // with an IPv4 one held at the same time.
        let free = binds(UdpSocket::bind(("::", port)))
            && binds(TcpListener::bind(("0.0.0.0", port)))
            && binds(TcpListener::bind(("::", port)));
        if free {
            return port;
        }
    }
    panic!("no free port for both address families");
}

/// Whether a bind succeeded; the socket is closed on return.
fn binds<T>(bound: std::io::Result<T>) -> bool {
    bound.is_ok()
}

async fn www_over_udp(server: SocketAddr) -> Vec<std::net::Ipv4Addr> {
    let answer = udp_ask(server, &Ask::new("www.example.com", RecordType::A), WAIT)
        .await
        .unwrap_or_else(|| panic!("no UDP answer from {server} (from the address asked)"));
    a_addrs(&answer)
}

async fn www_over_tcp(server: SocketAddr) -> Vec<std::net::Ipv4Addr> {
    let query = Ask::new("www.example.com", RecordType::A).to_bytes();
    a_addrs(&decode(&tcp_exchange(server, &query).await))
}

/// Queries to 127.0.0.2 and 127.0.0.53 on a `0.0.0.0` listener are answered
/// from those addresses, not from 127.0.0.1 (the kernel's choice by route):
/// the client's socket is connected to the address it asked, so an answer
/// from any other address never reaches it.
#[tokio::test]
async fn a_wildcard_listener_answers_from_the_address_that_was_asked() {
    let hale = Hale::start(
        &config(r#"["0.0.0.0:0"]"#),
        &[("example.com.zone", &zone())],
    )
    .await;
    let port = hale.dns_addr().port();
    let www = vec!["192.0.2.1".parse::<std::net::Ipv4Addr>().unwrap()];
    for ip in ["127.0.0.1", "127.0.0.2", "127.0.0.53"] {
        let server = SocketAddr::new(ip.parse::<IpAddr>().unwrap(), port);
        assert_eq!(www_over_udp(server).await, www, "UDP to {server}");
        assert_eq!(www_over_tcp(server).await, www, "TCP to {server}");
    }
    hale.shutdown().await;
}

/// `0.0.0.0:P` and `[::]:P` in one list, as operators write it for a
/// dual-stack host: both bind (IPv6 sockets are IPv6-only), and both answer
/// over UDP and TCP.
#[tokio::test]
async fn ipv4_and_ipv6_wildcards_share_a_port() {
    let port = free_port();
    let listen = format!(r#"["0.0.0.0:{port}", "[::]:{port}"]"#);
    let hale = Hale::start(&config(&listen), &[("example.com.zone", &zone())]).await;
    let www = vec!["192.0.2.1".parse::<std::net::Ipv4Addr>().unwrap()];
    for ip in ["127.0.0.1", "::1"] {
        let server = SocketAddr::new(ip.parse::<IpAddr>().unwrap(), port);
        assert_eq!(www_over_udp(server).await, www, "UDP to {server}");
        assert_eq!(www_over_tcp(server).await, www, "TCP to {server}");
    }
    hale.shutdown().await;
}
