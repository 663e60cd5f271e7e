//! Backends that misbehave on purpose: each fails its probe (within the
//! timeout, with a reason in /status), while probes of other targets and DNS
//! answers carry on; a target never has two probes in flight, and one that
//! recovers is not probed in a burst. Also flapping faster than rise/fall.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use tokio::time::Instant;

use crate::support::{
    Backend, EXAMPLE_ZONE_HEAD, Hale, Mode, SERVER, backends, eventually, fresh_ip,
};

/// Each hostile mode on its own name (`h0`, `h1`, ...) with two addresses:
/// the hostile backend and a healthy one; plus `good` whose backend we flip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_backends_fail_and_disturb_nothing_else() {
    let modes = [
        (Mode::Hang, "timeout after 1s"),
        (Mode::Trickle, "timeout after 1s"),
        (Mode::Huge, "body larger than 64 KiB"),
        (Mode::RedirectLoop, "status 302"),
        (Mode::CutMidBody, "http: "),
        (Mode::CutMidHeaders, "http: "),
        (Mode::Garbage, "http: "),
    ];
    let b = backends(modes.len() + 2).await;
    let (good, spare) = (&b[modes.len()], &b[modes.len() + 1]);
    let mut zone = EXAMPLE_ZONE_HEAD.to_string();
    let mut names = Vec::new();
    for (i, backend) in b[..modes.len()].iter().enumerate() {
        zone.push_str(&format!(
            "h{i} IN A {}\nh{i} IN A {}\n",
            backend.ip(),
            spare.ip()
        ));
        names.push(format!("\"h{i}.example.com.\""));
    }
    zone.push_str(&format!(
        "good IN A {}\ngood IN A {}\n",
        good.ip(),
        spare.ip()
    ));
    names.push("\"good.example.com.\"".into());
    let config = format!(
        "{SERVER}\n[defaults]\ninterval = \"200ms\"\ntimeout = \"1s\"\nrise = 1\nfall = 1\n\n\
         [[check]]\nnames = [{}]\nport = {}\npath = \"/healthz\"\n",
        names.join(", "),
        b[0].port()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let h = &hale;
    for (i, (mode, _)) in modes.iter().enumerate() {
        b[i].set_mode(mode.clone()).await;
    }
    let spare_ip: Ipv4Addr = spare.ip().parse().expect("ipv4");
    for (i, (mode, reason)) in modes.iter().enumerate() {
        let name = format!("h{i}.example.com");
        let want = vec![spare_ip];
        let (name, want) = (&name, &want);
        eventually(
            &format!("{mode:?} backend leaves the answer"),
            || async move { h.a_sorted(name).await == *want },
        )
        .await;
        let target = hale.target_status(&format!("{name}."), &b[i].ip()).await;
        let why = target["last"]["reason"].as_str().unwrap_or_default();
        eprintln!("{mode:?}: {why}");
        assert!(
            why.contains(reason),
            "{mode:?}: reason {why:?}, want {reason:?}"
        );
    }
    // Meanwhile a plain failure elsewhere is noticed and DNS is answered.
    good.set_mode(Mode::Status(503)).await;
    let want = vec![spare_ip];
    let want = &want;
    eventually("the good backend's failure shows", || async move {
        h.a_sorted("good.example.com").await == *want
    })
    .await;
    good.set_mode(Mode::Healthy).await;
    eventually("and its recovery", || async move {
        h.a_sorted("good.example.com").await.len() == 2
    })
    .await;
    hale.shutdown().await;
}

/// A hanging target with a timeout far longer than its interval is probed
/// one request at a time; when it recovers, probes go at the interval's pace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_probe_in_flight_and_no_burst_on_recovery() {
    let backend = Backend::start(IpAddr::V4(fresh_ip())).await;
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A {}\n", backend.ip());
    let config = format!(
        "{SERVER}\n[[check]]\nnames = [\"www.example.com.\"]\nport = {}\n\
         interval = \"100ms\"\ntimeout = \"700ms\"\nrise = 1\nfall = 1\n",
        backend.port()
    );
    backend.set_mode(Mode::Hang).await;
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    eventually("probing starts", || async { backend.requests() >= 1 }).await;
    let (start, first) = (Instant::now(), backend.requests());
    eventually("a few probes time out", || async {
        backend.requests() >= first + 3
    })
    .await;
    let (elapsed, probes) = (start.elapsed(), backend.requests() - first);
    // Probes in parallel would come every 100 ms; one at a time, at most one per 700 ms.
    let bound = elapsed.as_millis() as usize / 700 + 2;
    assert!(
        probes <= bound,
        "{probes} probes in {elapsed:?} (bound {bound})"
    );

    backend.set_mode(Mode::Healthy).await;
    let h = &hale;
    eventually("recovered", || async move {
        h.a_sorted("www.example.com").await.len() == 1
    })
    .await;
    let (start, first) = (Instant::now(), backend.requests());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (elapsed, probes) = (start.elapsed(), backend.requests() - first);
    // Interval 100 ms with ±10 % jitter: no more than one per 90 ms.
    let bound = elapsed.as_millis() as usize / 90 + 2;
    assert!(
        probes <= bound,
        "{probes} probes in {elapsed:?} after recovery (bound {bound})"
    );
    hale.shutdown().await;
}

/// hale checking `www.example.com.` on two healthy backends, with `check`
/// keys added to its `[[check]]`.
async fn www_on_two(check: &str) -> (Hale, Vec<Backend>) {
    let b = backends(2).await;
    let zone = format!(
        "{EXAMPLE_ZONE_HEAD}www IN A {}\nwww IN A {}\n",
        b[0].ip(),
        b[1].ip()
    );
    let config = format!(
        "{SERVER}\n[[check]]\nnames = [\"www.example.com.\"]\nport = {}\n{check}\n",
        b[0].port()
    );
    (
        Hale::start(&config, &[("example.com.zone", &zone)]).await,
        b,
    )
}

/// A backend alternating pass/fail never reaches rise = fall = 2 in a row:
/// its address never leaves the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_faster_than_rise_and_fall_never_changes_the_answer() {
    let (hale, b) = www_on_two("interval = \"50ms\"\ntimeout = \"1s\"\nrise = 2\nfall = 2").await;
    let flapper = &b[0];
    flapper.set_mode(Mode::Flapping).await;
    let first = flapper.requests();
    let h = &hale;
    let start = Instant::now();
    while flapper.requests() < first + 30 {
        assert!(
            start.elapsed() < crate::support::DEADLINE,
            "probing stalled"
        );
        assert_eq!(
            h.a_sorted("www.example.com").await.len(),
            2,
            "after {} probes",
            flapper.requests() - first
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let target = hale.target_status("www.example.com.", &flapper.ip()).await;
    assert_eq!(target["healthy"], true, "{target:#}");
    hale.shutdown().await;
}

/// With `flap_damping`, a target whose verdict keeps flipping (rise = fall =
/// 1 here, so every probe flips it) is held out of answers even while its
/// probes pass, and comes back once it has settled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flap_damping_holds_a_flapping_target_until_it_settles() {
    let (hale, b) = www_on_two(
        "interval = \"100ms\"\ntimeout = \"1s\"\nrise = 1\nfall = 1\n\
         flap_damping = true\nflap_half_life = \"500ms\"",
    )
    .await;
    let h = &hale;
    let flapper = &b[0];
    let steady: Ipv4Addr = b[1].ip().parse().expect("ipv4");
    flapper.set_mode(Mode::Flapping).await;
    eventually(
        "the flapping target is held and out of the answer",
        || async {
            hale.target_status("www.example.com.", &flapper.ip()).await["flap_held"] == true
                && h.a_sorted("www.example.com").await == [steady]
        },
    )
    .await;
    // Held: out of the answer whatever its latest probe said.
    let first = flapper.requests();
    let start = Instant::now();
    while flapper.requests() < first + 6 {
        assert!(
            start.elapsed() < crate::support::DEADLINE,
            "probing stalled"
        );
        assert_eq!(h.a_sorted("www.example.com").await, [steady]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    flapper.set_mode(Mode::Healthy).await;
    eventually("released once settled", || async move {
        h.a_sorted("www.example.com").await.len() == 2
    })
    .await;
    let target = hale.target_status("www.example.com.", &flapper.ip()).await;
    assert_eq!(target["flap_held"], false, "{target:#}");
    hale.shutdown().await;
}
