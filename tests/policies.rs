//! Answer policies (issue #16) over real sockets: priority tiers with
//! `min_healthy`, weights, `max_answers` drawn by weight, the config errors
//! `hale check` gives for them, and secondaries following a tier switch.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use hale::dns::Loaded;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::support::{
    Ask, Backend, EXAMPLE_ZONE_HEAD, Hale, Mode, SERVER, a_addrs, backends, decode, eventually,
    udp_exchange_on, v4_sorted, write_files,
};

/// Fast probing: 100 ms interval, 300 ms timeout, rise 2, fall 2.
const FAST: &str = "[defaults]\ninterval = \"100ms\"\ntimeout = \"300ms\"\nrise = 2\nfall = 2\n";

/// `www` with one A record per backend.
fn zone(backends: &[Backend]) -> String {
    let mut zone = EXAMPLE_ZONE_HEAD.to_string();
    for b in backends {
        zone.push_str(&format!("www IN A {}\n", b.ip()));
    }
    zone
}

/// hale checking `www` on `backends` with these policy keys.
async fn www(backends: &[Backend], policy: &str) -> Hale {
    let config = format!(
        "{SERVER}\n{FAST}\n[[check]]\nnames = [\"www.example.com.\"]\nport = {}\npath = \"/healthz\"\n{policy}\n",
        backends[0].port()
    );
    Hale::start(&config, &[("example.com.zone", &zone(backends))]).await
}

async fn answered(hale: &Hale) -> Vec<Ipv4Addr> {
    hale.a_sorted("www.example.com").await
}

/// Waits until `www` answers exactly `want` (sorted).
async fn until_answers(hale: &Hale, what: &str, want: Vec<Ipv4Addr>) {
    let want = &want;
    eventually(what, || async move { answered(hale).await == *want }).await;
}

fn quoted(b: &Backend) -> String {
    format!("\"{}\"", b.ip())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_tier_at_strength_serves_then_the_next_then_any_then_the_policy() {
    let b = backends(4).await;
    let policy = format!(
        "tiers = [[{}, {}], [{}]]\nmin_healthy = 2\nwhen_all_down = \"none\"",
        quoted(&b[0]),
        quoted(&b[1]),
        quoted(&b[2])
    );
    // b[3] is in no tier: it joins the last one, beside b[2].
    let hale = www(&b, &policy).await;
    let h = &hale;
    until_answers(h, "the primary tier serves", v4_sorted(&[&b[0], &b[1]])).await;

    // One primary down: below min_healthy = 2, the backup tier serves.
    b[0].set_mode(Mode::Status(503)).await;
    until_answers(h, "the backup tier serves", v4_sorted(&[&b[2], &b[3]])).await;

    // Backups below strength too: every healthy address, whatever its tier.
    b[2].set_mode(Mode::Status(503)).await;
    b[3].set_mode(Mode::Status(503)).await;
    until_answers(h, "any healthy address", v4_sorted(&[&b[1]])).await;

    // Nothing healthy: when_all_down.
    b[1].set_mode(Mode::Status(503)).await;
    eventually("NODATA once all are down", || async move {
        let msg = h.udp("www.example.com", RecordType::A).await;
        msg.metadata.response_code == ResponseCode::NoError && msg.answers.is_empty()
    })
    .await;

    // Recovery, through rise: back to the primary tier.
    for backend in &b {
        backend.set_mode(Mode::Healthy).await;
    }
    until_answers(h, "the primary tier again", v4_sorted(&[&b[0], &b[1]])).await;
    let status = h.status().await;
    assert_eq!(status["checks"][0]["types"][0]["serving"], 2, "{status:#}");
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_healthy_as_a_percentage_of_the_tier() {
    let b = backends(4).await;
    // 50% of three primaries: two must be healthy.
    let policy = format!(
        "tiers = [[{}, {}, {}], [{}]]\nmin_healthy = \"50%\"",
        quoted(&b[0]),
        quoted(&b[1]),
        quoted(&b[2]),
        quoted(&b[3])
    );
    let hale = www(&b, &policy).await;
    let h = &hale;
    until_answers(h, "all primaries", v4_sorted(&[&b[0], &b[1], &b[2]])).await;
    b[0].set_mode(Mode::Status(503)).await;
    until_answers(h, "two primaries are enough", v4_sorted(&[&b[1], &b[2]])).await;
    b[1].set_mode(Mode::Status(503)).await;
    until_answers(h, "one is not", v4_sorted(&[&b[3]])).await;
    hale.shutdown().await;
}

/// Each address's probability of being among `k` drawn by weight without
/// replacement, by enumerating the ordered draws (written here again, not
/// taken from hale, so the test checks hale's sums).
fn expected_inclusion(weights: &[f64], k: usize) -> Vec<f64> {
    fn walk(w: &[f64], left: usize, p: f64, taken: &mut Vec<bool>, pi: &mut [f64]) {
        if left == 0 {
            return;
        }
        let total: f64 = (0..w.len()).filter(|&i| !taken[i]).map(|i| w[i]).sum();
        for i in 0..w.len() {
            if !taken[i] {
                let q = p * w[i] / total;
                pi[i] += q;
                taken[i] = true;
                walk(w, left - 1, q, taken, pi);
                taken[i] = false;
            }
        }
    }
    let mut pi = vec![0.0; weights.len()];
    walk(weights, k, 1.0, &mut vec![false; weights.len()], &mut pi);
    pi
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_answers_draws_by_weight_and_shares_follow_the_weights() {
    let b = backends(4).await;
    // b[3] keeps the default weight, 1.
    let weights = [4.0, 2.0, 1.0, 1.0];
    let policy = format!(
        "weights = {{ {} = 4, {} = 2, {} = 1 }}\nmax_answers = 2",
        quoted(&b[0]),
        quoted(&b[1]),
        quoted(&b[2])
    );
    let hale = www(&b, &policy).await;
    let h = &hale;
    eventually("all four healthy", || async move {
        h.status().await["checks"][0]["types"][0]["healthy"] == 4
    })
    .await;
    let socket = h.client_socket_from("127.0.0.1").await;
    let mut seen: HashMap<Ipv4Addr, usize> = HashMap::new();
    let queries = 10_000;
    for _ in 0..queries {
        let ask = Ask::new("www.example.com", RecordType::A);
        let msg = decode(&udp_exchange_on(&socket, &ask.to_bytes()).await);
        let addrs = a_addrs(&msg);
        assert_eq!(addrs.len(), 2, "two addresses per answer: {msg:?}");
        assert_ne!(addrs[0], addrs[1]);
        for a in addrs {
            *seen.entry(a).or_default() += 1;
        }
    }
    let pi = expected_inclusion(&weights, 2);
    let total = (queries * 2) as f64;
    for (backend, p) in b.iter().zip(&pi) {
        let ip: Ipv4Addr = backend.ip().parse().unwrap();
        let share = *seen.get(&ip).unwrap_or(&0) as f64 / total;
        let want = p / 2.0;
        assert!(
            (share - want).abs() <= 0.03,
            "{ip}: {:.1} % of appearances, expected {:.1} % ({seen:?})",
            share * 100.0,
            want * 100.0
        );
    }
    // A transfer-free view of the serving set: all four serve.
    assert_eq!(h.status().await["checks"][0]["types"][0]["serving"], 4);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_max_answers_every_address_answers_heavier_first() {
    let b = backends(3).await;
    let policy = format!("weights = {{ {} = 5 }}", quoted(&b[2]));
    let hale = www(&b, &policy).await;
    let h = &hale;
    until_answers(h, "all up", v4_sorted(&[&b[0], &b[1], &b[2]])).await;
    let heavy: Ipv4Addr = b[2].ip().parse().unwrap();
    let mut second = Vec::new();
    for _ in 0..20 {
        let addrs = a_addrs(&h.udp("www.example.com", RecordType::A).await);
        assert_eq!(addrs.len(), 3);
        assert_eq!(addrs[0], heavy, "the heaviest first: {addrs:?}");
        second.push(addrs[1]);
    }
    second.sort();
    second.dedup();
    assert_eq!(second.len(), 2, "equal weights take turns: {second:?}");
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weight_zero_serves_only_when_nothing_else_of_its_tier_is_healthy() {
    let b = backends(2).await;
    let policy = format!("weights = {{ {} = 0 }}", quoted(&b[1]));
    let hale = www(&b, &policy).await;
    let h = &hale;
    until_answers(h, "only the weighted address", v4_sorted(&[&b[0]])).await;
    b[0].set_mode(Mode::Status(503)).await;
    until_answers(h, "the weight-0 address stands in", v4_sorted(&[&b[1]])).await;
    b[0].set_mode(Mode::Healthy).await;
    until_answers(h, "and steps back", v4_sorted(&[&b[0]])).await;
    hale.shutdown().await;
}

/// The error loading `policy` in a check of `www` (A 192.0.2.1, .2, .3).
fn policy_error(policy: &str) -> String {
    let zone =
        format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\nwww IN A 192.0.2.2\nwww IN A 192.0.2.3\n");
    let config = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"zones\"\n[[check]]\nnames = [\"www.example.com.\"]\n{policy}\n"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_files(dir.path(), &config, &[("example.com.zone", &zone)]);
    match Loaded::load(&path) {
        Ok(_) => panic!("{policy} loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn hale_check_rejects_policies_that_cannot_work() {
    let cases = [
        (
            "tiers = [[\"192.0.2.1\"], [\"192.0.2.9\"]]",
            "hale.toml:6:",
            "192.0.2.9 is not an A or AAAA record of www.example.com.",
        ),
        (
            "weights = { \"192.0.2.7\" = 2 }",
            "hale.toml:6:",
            "192.0.2.7 is not an A or AAAA record",
        ),
        (
            "tiers = [[\"192.0.2.1\", \"192.0.2.2\"],\n [\"192.0.2.2\"]]",
            "hale.toml:7:",
            "192.0.2.2 is in two tiers (first on line 6)",
        ),
        (
            "tiers = [[\"192.0.2.1\"], [\"192.0.2.2\", \"192.0.2.3\"]]\nmin_healthy = 2",
            "hale.toml:6:",
            "min_healthy = 2 is more than the 1 address(es) of www.example.com. in tier 1 [192.0.2.1]",
        ),
        (
            "max_answers = 0",
            "hale.toml:6:",
            "max_answers must be at least 1",
        ),
        (
            "min_healthy = \"150%\"",
            "hale.toml:6:",
            "not between 1% and 100%",
        ),
        ("min_healthy = 0", "hale.toml:6:", "is not at least 1"),
        (
            "tiers = [[\"www\"]]",
            "hale.toml:6:",
            "\"www\" is not an IP address",
        ),
    ];
    for (policy, at, what) in cases {
        let e = policy_error(policy);
        assert!(e.contains(at) && e.contains(what), "{policy}: {e}");
    }
    let e = {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"zones\"\n[defaults]\ntiers = [[\"192.0.2.1\"]]\n";
        let path = write_files(
            dir.path(),
            config,
            &[("example.com.zone", EXAMPLE_ZONE_HEAD)],
        );
        Loaded::load(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(
        e.contains("hale.toml:5:") && e.contains("not [defaults]"),
        "{e}"
    );
}
