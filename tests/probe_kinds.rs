//! Probe kinds (issue #16): tcp probes (a connect, nothing sent), several
//! probes per address with `require`, and `probe_address` (probing another
//! address than the one served), against real listeners and HTTP backends
//! on 127.0.x.y, with answers read over UDP and the verdicts in /status and
//! /api/explain.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use hale::dns::Loaded;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::support::{
    Backend, EXAMPLE_ZONE_HEAD, Hale, Mode, SERVER, a_addrs, aaaa_addrs, backends, eventually,
    fresh_ip, ipv6_loopback_works, v4_sorted, write_files,
};

/// Fast probing: 100 ms interval, 300 ms timeout, rise 2, fall 2.
const FAST: &str = "[defaults]\ninterval = \"100ms\"\ntimeout = \"300ms\"\nrise = 2\nfall = 2\n";

/// `example.com.` with `www` holding `records` (A or AAAA by family).
fn zone(records: &[IpAddr]) -> String {
    let mut zone = EXAMPLE_ZONE_HEAD.to_string();
    for ip in records {
        let rtype = if ip.is_ipv4() { "A" } else { "AAAA" };
        zone.push_str(&format!("www IN {rtype} {ip}\n"));
    }
    zone
}

fn ips(backends: &[&Backend]) -> Vec<IpAddr> {
    backends.iter().map(|b| b.addr().ip()).collect()
}

/// The A addresses answered for www.example.com, sorted.
async fn answered(hale: &Hale) -> Vec<std::net::Ipv4Addr> {
    let msg = hale.udp("www.example.com", RecordType::A).await;
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError, "{msg:?}");
    let mut addrs = a_addrs(&msg);
    addrs.sort();
    addrs
}

/// The last result's reason of an address's (first) probe in /status.
async fn last_reason(hale: &Hale, address: &str) -> String {
    let t = hale.target_status("www.example.com.", address).await;
    t["last"]["reason"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_check_follows_the_listener_and_sends_nothing() {
    let b = backends(2).await;
    let config = format!(
        "{SERVER}\n{FAST}\n[[check]]\nnames = [\"www.example.com.\"]\nscheme = \"tcp\"\nport = {}\n",
        b[0].port()
    );
    let hale = Hale::start(
        &config,
        &[("example.com.zone", &zone(&ips(&[&b[0], &b[1]])))],
    )
    .await;
    let h = &hale;
    let (up, down) = (b[0].ip(), b[1].ip());
    let (up, down) = (&up, &down);
    eventually("both connect", || async move {
        last_reason(h, up).await == "connected" && last_reason(h, down).await == "connected"
    })
    .await;
    assert_eq!(answered(h).await, v4_sorted(&[&b[0], &b[1]]));
    let target = hale.target_status("www.example.com.", up).await;
    assert_eq!(
        target["target"],
        format!("tcp://{}", b[0].addr()),
        "{target:#}"
    );

    b[1].set_mode(Mode::Closed).await;
    let want = v4_sorted(&[&b[0]]);
    let want = &want;
    eventually("the closed one leaves", || async move {
        answered(h).await == *want
    })
    .await;
    assert_eq!(last_reason(h, down).await, "connection refused");

    b[1].set_mode(Mode::Healthy).await;
    let want = v4_sorted(&[&b[0], &b[1]]);
    let want = &want;
    eventually("it returns", || async move { answered(h).await == *want }).await;
    assert_eq!(
        (b[0].requests(), b[1].requests()),
        (0, 0),
        "a tcp probe sends no request"
    );
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_check_probes_ipv6_over_ipv6() {
    if !ipv6_loopback_works() {
        eprintln!("skipped: [::1] cannot be bound here");
        return;
    }
    let b = Backend::start(IpAddr::V6(Ipv6Addr::LOCALHOST)).await;
    let config = format!(
        "{SERVER}\n{FAST}\n[[check]]\nnames = [\"www.example.com.\"]\nscheme = \"tcp\"\nport = {}\nwhen_all_down = \"none\"\n",
        b.port()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&[b.addr().ip()]))]).await;
    let h = &hale;
    eventually("::1 connects", || async move {
        last_reason(h, "::1").await == "connected"
    })
    .await;
    let msg = hale.udp("www.example.com", RecordType::AAAA).await;
    assert_eq!(aaaa_addrs(&msg), vec![Ipv6Addr::LOCALHOST]);
    b.set_mode(Mode::Closed).await;
    eventually("::1 leaves the AAAA answer", || async move {
        aaaa_addrs(&h.udp("www.example.com", RecordType::AAAA).await).is_empty()
    })
    .await;
    assert_eq!(last_reason(h, "::1").await, "connection refused");
    hale.shutdown().await;
}

/// Two backends with HTTP on one port; a tcp port open on the second only.
/// Each address gets an HTTP and a tcp probe.
fn two_probes(http_port: u16, tcp_port: u16, require: &str) -> String {
    format!(
        "{SERVER}\n{FAST}\n[[check]]\nnames = [\"www.example.com.\"]\npath = \"/healthz\"\n\
         require = {require}\n\n\
         [[check.probe]]\nport = {http_port}\n\n\
         [[check.probe]]\nscheme = \"tcp\"\nport = {tcp_port}\n"
    )
}

/// The /status entry's probes of `address`, as (target, last reason).
fn probe_results(entry: &Value) -> Vec<(String, String)> {
    entry["probes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["target"].as_str().unwrap_or_default().to_string(),
                p["last"]["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_with_a_failing_probe_is_out_with_all_and_in_with_any() {
    let b = backends(2).await;
    // A tcp listener on the second backend's address only: the first
    // one's tcp probe is refused while its HTTP probe passes.
    let tcp = tokio::net::TcpListener::bind(SocketAddr::new(b[1].addr().ip(), 0))
        .await
        .expect("tcp listener");
    let tcp_port = tcp.local_addr().expect("its port").port();
    let accept = tokio::spawn(async move {
        while let Ok((conn, _)) = tcp.accept().await {
            drop(conn);
        }
    });
    let hale = Hale::start(
        &two_probes(b[0].port(), tcp_port, "\"all\""),
        &[("example.com.zone", &zone(&ips(&[&b[0], &b[1]])))],
    )
    .await;
    let h = &hale;
    let (half, whole) = (b[0].ip(), b[1].ip());
    let (half, whole) = (&half, &whole);
    let http = format!("http://{}/healthz (host www.example.com)", b[0].addr());
    let refused = format!("tcp://{}:{tcp_port}", b[0].ip());
    let want = vec![
        (http.clone(), "status 200".to_string()),
        (refused.clone(), "connection refused".to_string()),
    ];
    let want = &want;
    eventually(
        "/status shows both probes of the first address",
        || async move { probe_results(&h.target_status("www.example.com.", half).await) == *want },
    )
    .await;
    let only = v4_sorted(&[&b[1]]);
    let only = &only;
    eventually(
        "require = all: one failing probe takes it out",
        || async move { answered(h).await == *only },
    )
    .await;
    let entry = hale.target_status("www.example.com.", half).await;
    assert_eq!(entry["require"], 2, "{entry:#}");
    assert_eq!(entry["probes_passing"], 1, "{entry:#}");
    assert_eq!(entry["in_answer"], false, "{entry:#}");
    let other = hale.target_status("www.example.com.", whole).await;
    assert_eq!(other["probes_passing"], 2, "{other:#}");

    // /api/explain, as `hale ctl explain` prints it: each probe's result.
    let (code, body) = hale
        .admin_get("/api/explain?name=www.example.com&type=A")
        .await;
    assert_eq!(code, 200, "{body}");
    let explained: Value = serde_json::from_str(&body).expect("JSON");
    let addresses = explained["sets"][0]["addresses"]
        .as_array()
        .expect("addresses");
    let first = addresses
        .iter()
        .find(|a| a["address"] == half.as_str())
        .expect("the first address");
    assert_eq!(first["standing"], "down", "{first:#}");
    assert_eq!(first["why"], "1 of 2 probes pass, 2 required", "{first:#}");
    let probes = first["probes"].as_array().expect("probes");
    assert_eq!(probes.len(), 2, "{first:#}");
    assert_eq!(probes[0]["target"], http.as_str());
    assert_eq!(probes[0]["up"], true);
    assert_eq!(probes[1]["target"], refused.as_str());
    assert_eq!(probes[1]["up"], false);
    assert!(
        probes[1]["why"]
            .as_str()
            .is_some_and(|w| w.contains("connection refused")),
        "{first:#}"
    );
    let (code, out, err) = hale.ctl(&["explain", "www.example.com", "A"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1 of 2 probes pass, 2 required") && out.contains(&refused),
        "{out}"
    );
    // And the page: the address's probes, each with its verdict.
    let (code, page) = hale.admin_get("/").await;
    assert_eq!(code, 200);
    assert!(
        page.contains("1 of 2 probes pass, 2 required")
            && page.contains(&format!(
                "<code>{refused}</code> <span class=down>down</span>"
            )),
        "{page}"
    );

    // require = "any": the passing HTTP probe is enough.
    hale.rewrite_config(&two_probes(b[0].port(), tcp_port, "\"any\""));
    hale.reload().await.expect("reload");
    let both = v4_sorted(&[&b[0], &b[1]]);
    let both = &both;
    eventually("require = any: it is back", || async move {
        answered(h).await == *both
    })
    .await;
    let entry = hale.target_status("www.example.com.", half).await;
    assert_eq!(entry["require"], 1, "{entry:#}");
    assert_eq!(probe_results(&entry), *want, "{entry:#}");
    accept.abort();
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_address_probes_elsewhere_and_answers_the_zone_address() {
    let backend = Backend::start(IpAddr::V4(fresh_ip())).await;
    // Nothing listens on either zone address; the first is probed at the backend.
    let (served, unmapped) = (IpAddr::V4(fresh_ip()), IpAddr::V4(fresh_ip()));
    let config = format!(
        "{SERVER}\n{FAST}\n[[check]]\nnames = [\"www.example.com.\"]\nport = {}\npath = \"/healthz\"\n\
         when_all_down = \"none\"\nprobe_address = {{ \"{served}\" = \"{}\" }}\n",
        backend.port(),
        backend.ip()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&[served, unmapped]))]).await;
    let h = &hale;
    let want = vec![match served {
        IpAddr::V4(ip) => ip,
        IpAddr::V6(_) => unreachable!(),
    }];
    let want = &want;
    eventually(
        "the mapped address is answered, the other is not",
        || async move { answered(h).await == *want },
    )
    .await;
    let entry = hale
        .target_status("www.example.com.", &served.to_string())
        .await;
    assert_eq!(entry["address"], served.to_string(), "{entry:#}");
    assert_eq!(entry["probed_address"], backend.ip(), "{entry:#}");
    assert_eq!(entry["last"]["reason"], "status 200", "{entry:#}");
    assert_eq!(
        backend.last_host().as_deref(),
        Some("www.example.com"),
        "the Host header is still the owner name"
    );
    let other = hale
        .target_status("www.example.com.", &unmapped.to_string())
        .await;
    assert_eq!(other["probed_address"], unmapped.to_string(), "{other:#}");
    let (_, page) = hale.admin_get("/").await;
    assert!(
        page.contains(&format!("probed at {}", backend.ip())),
        "{page}"
    );

    backend.set_mode(Mode::Status(503)).await;
    eventually(
        "the mapped address leaves with its probed one",
        || async move { answered(h).await.is_empty() },
    )
    .await;
    hale.shutdown().await;
}

#[test]
fn a_probe_address_no_name_holds_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"zones\"\n\n\
                  [[check]]\nnames = [\"www.example.com.\"]\n\
                  probe_address = { \"192.0.2.1\" = \"10.0.0.1\", \"192.0.2.9\" = \"10.0.0.9\" }\n";
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\nother IN A 192.0.2.9\n");
    let path = write_files(dir.path(), config, &[("example.com.zone", &zone)]);
    let e = match Loaded::load(&path) {
        Ok(_) => panic!("192.0.2.9 is not an address of www.example.com."),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains(
            "hale.toml:7: probe_address \"192.0.2.9\": no name of this check has it as an A or AAAA record"
        ),
        "{e}"
    );
}
