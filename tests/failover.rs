//! Health-filtered answers (issue items 5–7) with real HTTP backends on
//! 127.0.x.y: addresses leave the answer when their backend fails in any of
//! the ways a server fails and come back when it recovers; A and AAAA are
//! judged separately; the three `when_all_down` policies; TTL capping;
//! rotation; the Host and User-Agent a backend sees; one probe per distinct
//! target; the reasons shown in /status; healthy until the first result.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::support::{
    Ask, Backend, EXAMPLE_ZONE_HEAD, Hale, Mode, SERVER, a_addrs, aaaa_addrs, backends, eventually,
    fresh_ip, ipv6_loopback_works, v4_sorted,
};

/// Fast probing so failures show within a second: 100 ms interval, 300 ms timeout, rise 2, fall 2.
const FAST: &str = "[defaults]\ninterval = \"100ms\"\ntimeout = \"300ms\"\nrise = 2\nfall = 2\n";

/// A config with [`FAST`] defaults and one `[[check]]` of `names` on `port`, plus `extra` keys.
fn config(names: &[&str], port: u16, extra: &str) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "{SERVER}\n{FAST}\n[[check]]\nnames = [{}]\nport = {port}\npath = \"/healthz\"\n{extra}\n",
        names.join(", ")
    )
}

/// `example.com.` with one `<owner> A <ip>` line per backend.
fn zone(owner: &str, backends: &[Backend]) -> String {
    let mut zone = EXAMPLE_ZONE_HEAD.to_string();
    for b in backends {
        let rtype = if b.addr().is_ipv4() { "A" } else { "AAAA" };
        zone.push_str(&format!("{owner} IN {rtype} {}\n", b.ip()));
    }
    zone
}

/// Starts `n` healthy backends and hale checking `www.example.com.` on them.
async fn www_on(n: usize, extra: &str) -> (Hale, Vec<Backend>) {
    let backends = backends(n).await;
    let config = config(&["www.example.com."], backends[0].port(), extra);
    let hale = Hale::start(&config, &[("example.com.zone", &zone("www", &backends))]).await;
    (hale, backends)
}

/// The A addresses answered for `name`, sorted.
async fn answered(hale: &Hale, name: &str) -> Vec<Ipv4Addr> {
    let msg = hale.udp(name, RecordType::A).await;
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError, "{msg:?}");
    let mut addrs = a_addrs(&msg);
    addrs.sort();
    addrs
}

/// Backend 2 of 3 fails with `mode`: its address leaves, the others stay,
/// /status says why (`reason` is part of its last result); then it recovers.
async fn leaves_and_returns(mode: Mode, extra: &str, reason: &str) {
    let (hale, b) = www_on(3, extra).await;
    let h = &hale;
    let everyone = v4_sorted(&[&b[0], &b[1], &b[2]]);
    let survivors = v4_sorted(&[&b[0], &b[2]]);
    assert_eq!(answered(h, "www.example.com").await, everyone);

    b[1].set_mode(mode.clone()).await;
    let want = &survivors;
    eventually(
        &format!("{mode:?} backend leaves the answer"),
        || async move { answered(h, "www.example.com").await == *want },
    )
    .await;
    let target = hale.target_status("www.example.com.", &b[1].ip()).await;
    assert_eq!(target["healthy"], false, "{target:#}");
    // The probe in flight when the mode changed may fail otherwise (a
    // connection closed mid-answer): the next one says the mode's reason.
    let ip = b[1].ip();
    let ip = &ip;
    eventually(&format!("the last result says {reason:?}"), || async move {
        let target = h.target_status("www.example.com.", ip).await;
        let why = target["last"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        target["healthy"] == false && why.contains(reason)
    })
    .await;
    let healthy = hale.target_status("www.example.com.", &b[0].ip()).await;
    assert_eq!(healthy["healthy"], true, "{healthy:#}");
    assert_eq!(
        answered(h, "www.example.com").await,
        survivors,
        "the others stay"
    );

    b[1].set_mode(Mode::Healthy).await;
    let want = &everyone;
    eventually(&format!("backend returns after {mode:?}"), || async move {
        answered(h, "www.example.com").await == *want
    })
    .await;
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_503_leaves_and_returns() {
    leaves_and_returns(Mode::Status(503), "", "status 503").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_backend_leaves_and_returns() {
    leaves_and_returns(Mode::Hang, "", "timeout").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_leaves_and_returns() {
    leaves_and_returns(Mode::Closed, "", "connection refused").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_is_not_followed_and_fails() {
    leaves_and_returns(Mode::Redirect, "", "status 302 (Location: /elsewhere)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_body_fails_expect_body() {
    leaves_and_returns(
        Mode::WrongBody,
        "expect_body = \"ok\"",
        r#"body mismatch: expected "ok", got "nope""#,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slower_than_timeout_leaves_and_returns() {
    leaves_and_returns(Mode::Slow(Duration::from_secs(2)), "", "timeout").await;
}

/// Both backends fail; returns once /status shows both down.
async fn all_down(policy: &str) -> (Hale, Vec<Backend>) {
    let (hale, b) = www_on(2, &format!("when_all_down = \"{policy}\"")).await;
    for backend in &b {
        backend.set_mode(Mode::Status(503)).await;
    }
    let (h, ips) = (&hale, [b[0].ip(), b[1].ip()]);
    let ips = &ips;
    eventually("both targets are down in /status", || async move {
        let status = h.status().await;
        ips.iter().all(|ip| {
            crate::support::find_target(&status, "www.example.com.", ip)
                .is_some_and(|t| t["healthy"] == false)
        })
    })
    .await;
    (hale, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_all_down_all_answers_every_address() {
    let (hale, b) = all_down("all").await;
    assert_eq!(
        answered(&hale, "www.example.com").await,
        v4_sorted(&[&b[0], &b[1]])
    );
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_all_down_none_answers_nodata() {
    let (hale, _b) = all_down("none").await;
    let h = &hale;
    // The zone's negative TTL is 60 s and the check's `ttl` 30 s (the
    // default): an empty answer is kept no longer than a full one would be.
    eventually("NODATA once all are down", || async move {
        let msg = h.udp("www.example.com", RecordType::A).await;
        msg.metadata.response_code == ResponseCode::NoError
            && msg.answers.is_empty()
            && msg.metadata.authoritative
            && msg.authorities.len() == 1
            && msg.authorities[0].record_type() == RecordType::SOA
            && msg.authorities[0].ttl == 30
    })
    .await;
    let msg = hale.tcp("www.example.com", RecordType::A).await;
    assert_eq!(msg.authorities[0].ttl, 30, "over TCP too: {msg:?}");
    // Other types at the name do not follow health: the zone's negative TTL.
    let msg = hale.udp("www.example.com", RecordType::TXT).await;
    assert_eq!(msg.authorities[0].ttl, 60, "{msg:?}");
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_all_down_servfail_answers_servfail_with_its_reason() {
    let (hale, _b) = all_down("servfail").await;
    let h = &hale;
    eventually("SERVFAIL once all are down", || async move {
        let msg = h.udp("www.example.com", RecordType::A).await;
        msg.metadata.response_code == ResponseCode::ServFail && msg.answers.is_empty()
    })
    .await;
    // With EDNS, an Extended DNS Error (RFC 8914, code 0 "Other") says why,
    // over both transports.
    let ask = Ask::new("www.example.com", RecordType::A).edns(1232);
    for raw in [
        hale.udp_exchange(&ask.to_bytes()).await,
        hale.tcp_exchange(&ask.to_bytes()).await,
    ] {
        let text = "www.example.com. A: no healthy address (all 2 down); when_all_down = servfail";
        let mut option = vec![0, 15];
        option.extend_from_slice(&(2 + text.len() as u16).to_be_bytes());
        option.extend_from_slice(&[0, 0]);
        option.extend_from_slice(text.as_bytes());
        assert!(
            raw.windows(option.len()).any(|w| w == option),
            "no EDE {text:?} in {}",
            String::from_utf8_lossy(&raw)
        );
    }
    hale.shutdown().await;
}

/// A v4 backend and a [::1] backend on the same port.
async fn dual_stack() -> Option<(Backend, Backend)> {
    for _ in 0..50 {
        let v4 = Backend::start(IpAddr::V4(fresh_ip())).await;
        if let Ok(v6) =
            Backend::start_on(SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], v4.port())))
        {
            return Some((v4, v6));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_and_aaaa_are_judged_separately() {
    if !ipv6_loopback_works() {
        eprintln!("note: [::1] cannot be bound here; skipping the AAAA part");
        return;
    }
    let (v4b, v6b) = dual_stack()
        .await
        .expect("a port free on both 127.0.x.y and [::1]");
    let backends = [v4b, v6b];
    let config = config(
        &["www.example.com."],
        backends[0].port(),
        "when_all_down = \"none\"",
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone("www", &backends))]).await;
    let h = &hale;
    let v6 = &backends[1];
    eventually("the AAAA target is probed over IPv6", || async move {
        v6.requests() > 0
    })
    .await;

    backends[0].set_mode(Mode::Status(503)).await;
    eventually("A is NODATA while AAAA still answers", || async move {
        h.udp("www.example.com", RecordType::A)
            .await
            .answers
            .is_empty()
    })
    .await;
    let aaaa = hale.udp("www.example.com", RecordType::AAAA).await;
    assert_eq!(aaaa_addrs(&aaaa), [std::net::Ipv6Addr::LOCALHOST]);

    backends[0].set_mode(Mode::Healthy).await;
    backends[1].set_mode(Mode::Status(503)).await;
    eventually("AAAA is NODATA while A answers", || async move {
        h.udp("www.example.com", RecordType::AAAA)
            .await
            .answers
            .is_empty()
            && h.udp("www.example.com", RecordType::A).await.answers.len() == 1
    })
    .await;
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_is_the_smaller_of_check_ttl_and_zone_ttl() {
    let b = backends(2).await;
    let port = b[0].port();
    // Zone TTL is 300 ($TTL). `low` caps at 30; `high` asks 600 and gets 300.
    let config = format!(
        "{SERVER}\n{FAST}\n[[check]]\nnames = [\"low.example.com.\"]\nport = {port}\nttl = 30\n\
         [[check]]\nnames = [\"high.example.com.\"]\nport = {port}\nttl = 600\n"
    );
    let zone = format!(
        "{EXAMPLE_ZONE_HEAD}low IN A {}\nhigh IN A {}\nplain IN A 192.0.2.1\n",
        b[0].ip(),
        b[1].ip()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    assert_eq!(
        hale.udp("low.example.com", RecordType::A).await.answers[0].ttl,
        30
    );
    assert_eq!(
        hale.udp("high.example.com", RecordType::A).await.answers[0].ttl,
        300
    );
    assert_eq!(
        hale.udp("plain.example.com", RecordType::A).await.answers[0].ttl,
        300
    );
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_order_rotates() {
    let (hale, b) = www_on(3, "").await;
    let mut firsts = std::collections::HashSet::new();
    for _ in 0..12 {
        let msg = hale.udp("www.example.com", RecordType::A).await;
        let addrs = a_addrs(&msg);
        assert_eq!(addrs.len(), 3, "every healthy address: {msg:?}");
        firsts.insert(addrs[0]);
    }
    assert!(
        firsts.len() > 1,
        "the first address never changed: {firsts:?}"
    );
    drop(b);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_send_host_and_user_agent() {
    let b = backends(2).await;
    let port = b[0].port();
    let config = format!(
        "{SERVER}\n{FAST}\n[[check]]\nnames = [\"www.example.com.\"]\nport = {port}\npath = \"/healthz\"\n\
         [[check]]\nnames = [\"api.example.com.\"]\nport = {port}\nhost = \"svc.example.test\"\n"
    );
    let zone = format!(
        "{EXAMPLE_ZONE_HEAD}www IN A {}\napi IN A {}\n",
        b[0].ip(),
        b[1].ip()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let (default_host, set_host) = (&b[0], &b[1]);
    eventually("both backends probed", || async move {
        default_host.requests() > 0 && set_host.requests() > 0
    })
    .await;
    let host_only = |h: Option<String>| h.map(|h| h.split(':').next().unwrap_or("").to_string());
    assert_eq!(
        host_only(b[0].last_host()).as_deref(),
        Some("www.example.com")
    );
    assert_eq!(
        host_only(b[1].last_host()).as_deref(),
        Some("svc.example.test")
    );
    assert_eq!(b[0].last_path().as_deref(), Some("/healthz"));
    assert_eq!(b[1].last_path().as_deref(), Some("/"), "default path");
    for backend in &b {
        let ua = backend.last_user_agent().unwrap_or_default();
        assert!(ua.starts_with("hale/"), "User-Agent {ua:?}");
    }
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_probe_per_distinct_target() {
    // `shared` is behind two names with the same settings; `alone` behind one.
    let b = backends(2).await;
    let (shared, alone) = (&b[0], &b[1]);
    let config = config(
        &["www.example.com.", "www2.example.com.", "solo.example.com."],
        shared.port(),
        "host = \"svc.example.test\"",
    );
    let zone = format!(
        "{EXAMPLE_ZONE_HEAD}www IN A {ip}\nwww2 IN A {ip}\nsolo IN A {}\n",
        alone.ip(),
        ip = shared.ip()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let status = hale.status().await;
    let one = crate::support::find_target(&status, "www.example.com.", &shared.ip()).unwrap();
    let two = crate::support::find_target(&status, "www2.example.com.", &shared.ip()).unwrap();
    assert_eq!(
        one["target"], two["target"],
        "both names point at one target"
    );
    let names = one["names"].as_array().expect("names in /status");
    assert_eq!(names.len(), 2, "{one:#}");

    eventually("30 probes of the single-name target", || async move {
        alone.requests() >= 30
    })
    .await;
    let (s, a) = (shared.requests(), alone.requests());
    // Probed twice per interval would be ~2×; once is ~1×.
    assert!(
        s * 2 < a * 3 + 10,
        "shared target saw {s} requests, single one {a}"
    );
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_count_as_healthy_until_their_first_result() {
    // Both first probes hang for their hour-long timeout: a start must
    // still answer every address, even with when_all_down = "none".
    let b = backends(2).await;
    for backend in &b {
        backend.set_mode(Mode::Hang).await;
    }
    let config = config(
        &["www.example.com."],
        b[0].port(),
        "interval = \"2h\"\ntimeout = \"1h\"\nwhen_all_down = \"none\"",
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone("www", &b))]).await;
    assert_eq!(
        answered(&hale, "www.example.com").await,
        v4_sorted(&[&b[0], &b[1]])
    );
    let target = hale.target_status("www.example.com.", &b[0].ip()).await;
    assert_eq!(target["healthy"], true, "{target:#}");
    hale.shutdown().await;
}

/// A wildcard owner can be health-checked: every name it synthesises is filtered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_owner_is_filtered() {
    let b = backends(2).await;
    let config = config(
        &["*.pool.example.com."],
        b[0].port(),
        "host = \"pool.example.com\"",
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone("*.pool", &b))]).await;
    let h = &hale;
    assert_eq!(
        answered(h, "a.pool.example.com").await,
        v4_sorted(&[&b[0], &b[1]])
    );
    b[0].set_mode(Mode::Status(503)).await;
    let want = v4_sorted(&[&b[1]]);
    let want = &want;
    eventually(
        "the failing address leaves every synthesised answer",
        || async move {
            answered(h, "a.pool.example.com").await == *want
                && answered(h, "b.c.pool.example.com").await == *want
        },
    )
    .await;
    hale.shutdown().await;
}
