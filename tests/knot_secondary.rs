//! Knot DNS as a secondary of hale (issue #17 item 2, without TSIG so far):
//! a real `knotd` transfers hale's health-filtered zone, and follows a
//! backend's failure and return through NOTIFY and IXFR, as NSD does in
//! `nsd_interop`.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::support::{
    Ask, Backend, EXAMPLE_ZONE_HEAD, Hale, Knot, Mode, SERVER, backends, decode, eventually,
    free_dns_port, knot_or_skip, udp_once,
};

/// The A addresses `www.example.com` has at `addr`, sorted.
async fn www_at(addr: SocketAddr) -> Vec<String> {
    let www = Ask::new("www.example.com", RecordType::A).to_bytes();
    let Some(reply) = udp_once(addr, &www, Duration::from_secs(2)).await else {
        return Vec::new();
    };
    let mut ips: Vec<String> = decode(&reply)
        .answers
        .iter()
        .map(|r| r.data.to_string())
        .collect();
    ips.sort();
    ips
}

/// hale checking `www` on backends `b` (rise 1, fall 1), sending NOTIFY to
/// a Knot secondary that transfers from it.
async fn hale_and_knot(b: &[Backend]) -> (Hale, Knot) {
    let knot_port = free_dns_port();
    let mut zone = EXAMPLE_ZONE_HEAD.to_string();
    for backend in b {
        zone.push_str(&format!("www IN A {}\n", backend.ip()));
    }
    let config = format!(
        "{SERVER}\n[transfer]\nallow = [\"127.0.0.1\"]\nnotify = [\"127.0.0.1:{knot_port}\"]\n\n\
         [[check]]\nnames = [\"www.example.com.\"]\nport = {}\npath = \"/healthz\"\n\
         interval = \"100ms\"\ntimeout = \"1s\"\nrise = 1\nfall = 1\n",
        b[0].port()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let knot = Knot::secondary_of(hale.dns_addr(), Some(knot_port)).await;
    (hale, knot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_as_secondary_follows_health_through_notify() {
    if !knot_or_skip("the Knot secondary test") {
        return;
    }
    let b = backends(2).await;
    let (hale, knot) = hale_and_knot(&b).await;
    let addr = knot.addr;
    let both = &{
        let mut both = vec![b[0].ip(), b[1].ip()];
        both.sort();
        both
    };
    eventually("Knot serves the transferred zone", || async move {
        www_at(addr).await == *both
    })
    .await;

    b[1].set_mode(Mode::Status(503)).await;
    let one = &vec![b[0].ip()];
    eventually("Knot drops the failing address", || async move {
        www_at(addr).await == *one
    })
    .await;

    b[1].set_mode(Mode::Healthy).await;
    eventually("Knot takes the address back", || async move {
        www_at(addr).await == *both
    })
    .await;
    assert!(
        knot.log_text().contains("IXFR"),
        "Knot followed by IXFR; its log:\n{}",
        knot.log_text()
    );
    drop(knot);
    hale.shutdown().await;
}
