//! Steering hale (issue #14): targets without a verdict are probed at once
//! and their first result is their verdict; an address a reload adds waits
//! for its first pass; `hale ctl` drains, forces up and clears addresses
//! (safely, with expiry and reasons) through the admin listener, whose
//! state-changing requests need the token when one is configured.

use std::net::Ipv4Addr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::support::{
    Backend, EXAMPLE_ZONE_HEAD, Hale, Mode, SERVER, a_addrs, backends, eventually, v4_sorted,
};

/// A config checking `www.example.com.` on `port`, with `defaults` keys.
fn config(port: u16, defaults: &str) -> String {
    format!(
        "{SERVER}\n[defaults]\n{defaults}\n[[check]]\nnames = [\"www.example.com.\"]\nport = {port}\npath = \"/healthz\"\n"
    )
}

/// `example.com.` with `www` on `backends`.
fn zone(backends: &[&Backend]) -> String {
    let mut zone = EXAMPLE_ZONE_HEAD.to_string();
    for b in backends {
        zone.push_str(&format!("www IN A {}\n", b.ip()));
    }
    zone
}

async fn answered(hale: &Hale) -> Vec<Ipv4Addr> {
    let msg = hale.udp("www.example.com", RecordType::A).await;
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError, "{msg:?}");
    let mut addrs = a_addrs(&msg);
    addrs.sort();
    addrs
}

/// Waits until `www.example.com` answers exactly `want` (sorted).
async fn until_answered(hale: &Hale, what: &str, want: Vec<Ipv4Addr>) {
    let want = &want;
    eventually(what, || async move { answered(hale).await == *want }).await;
}

async fn verdict(hale: &Hale, b: &Backend) -> String {
    let t = hale.target_status("www.example.com.", &b.ip()).await;
    t["verdict"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_without_a_verdict_is_probed_at_once_and_its_first_result_decides() {
    // An hour between probes and fall = 3: only a probe at start, taken
    // as the verdict at once, can take the dead address out this soon.
    let b = backends(2).await;
    b[1].set_mode(Mode::Closed).await;
    let config = config(b[0].port(), "interval = \"1h\"\nfall = 3\nrise = 3");
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&[&b[0], &b[1]]))]).await;
    let h = &hale;
    let live = v4_sorted(&[&b[0]]);
    let b0 = &b[0];
    eventually("the dead address leaves after one probe", || {
        let live = live.clone();
        // b0 may still be unprobed (and counted healthy) a moment longer.
        async move { answered(h).await == live && verdict(h, b0).await == "up" }
    })
    .await;
    assert_eq!(verdict(&hale, &b[1]).await, "down");
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_result_a_target_counts_as_healthy_and_says_unknown() {
    // The first probe hangs for its whole (hour-long) timeout.
    let b = backends(2).await;
    b[1].set_mode(Mode::Hang).await;
    let config = config(b[0].port(), "interval = \"2h\"\ntimeout = \"1h\"");
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&[&b[0], &b[1]]))]).await;
    let h = &hale;
    let b0 = &b[0];
    eventually("the live one is probed", || async move {
        verdict(h, b0).await == "up"
    })
    .await;
    assert_eq!(answered(&hale).await, v4_sorted(&[&b[0], &b[1]]));
    let t = hale.target_status("www.example.com.", &b[1].ip()).await;
    assert_eq!(t["verdict"], "unknown", "{t:#}");
    assert_eq!(t["healthy"], true, "{t:#}");
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_added_by_a_reload_waits_for_its_first_pass() {
    let b = backends(3).await;
    // Its first probe hangs until the timeout: a window in which a new
    // address that counted as healthy would be served.
    b[1].set_mode(Mode::Hang).await;
    let fast = "interval = \"200ms\"\ntimeout = \"1s\"\nrise = 3\nfall = 3";
    let config = config(b[0].port(), fast);
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&[&b[0]]))]).await;
    let h = &hale;
    let b0 = &b[0];
    eventually("the first address is probed", || async move {
        verdict(h, b0).await == "up"
    })
    .await;
    // A dead address arrives by reload: no answer may carry it, before or
    // after its first probe, however soon the query follows the reload.
    hale.rewrite_zone("example.com.zone", &zone(&[&b[0], &b[1]]));
    hale.reload().await.expect("reload");
    let dead: Ipv4Addr = b[1].ip().parse().expect("ip");
    for _ in 0..200 {
        assert!(
            !answered(&hale).await.contains(&dead),
            "a dead new address was served"
        );
    }
    let b1 = &b[1];
    eventually("its first probe fails", || async move {
        verdict(h, b1).await == "down"
    })
    .await;
    assert_eq!(answered(&hale).await, v4_sorted(&[&b[0]]));
    // A live one enters on its first pass, not after rise = 3.
    hale.rewrite_zone("example.com.zone", &zone(&[&b[0], &b[1], &b[2]]));
    hale.reload().await.expect("reload");
    let want = v4_sorted(&[&b[0], &b[2]]);
    until_answered(h, "the live new address enters", want).await;
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_force_up_and_clear_through_ctl() {
    let b = backends(3).await;
    let fast = "interval = \"100ms\"\ntimeout = \"300ms\"\nrise = 1\nfall = 1\nttl = 1";
    let config = config(b[0].port(), fast);
    let all = [&b[0], &b[1], &b[2]];
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&all))]).await;
    let h = &hale;
    let everyone = v4_sorted(&all);
    until_answered(h, "all three up", everyone).await;

    // Drain one, for every name that has it, with a reason.
    let (code, out, err) = hale
        .ctl(&["drain", &b[0].ip(), "--reason", "kernel upgrade"])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("DRAIN") && out.contains("kernel upgrade"),
        "{out}"
    );
    assert_eq!(answered(&hale).await, v4_sorted(&[&b[1], &b[2]]));
    let t = hale.target_status("www.example.com.", &b[0].ip()).await;
    assert_eq!(t["override"]["kind"], "drain", "{t:#}");
    assert_eq!(t["override"]["reason"], "kernel upgrade", "{t:#}");
    assert_eq!(t["in_answer"], false, "{t:#}");
    assert_eq!(t["verdict"], "up", "probes go on: {t:#}");
    // Served with TTL 1: resolvers have dropped it a second after it left.
    let b0 = &b[0];
    eventually("the drain completes", || async move {
        let t = h.target_status("www.example.com.", &b0.ip()).await;
        t["left_answers"]["complete"] == true
    })
    .await;
    let (code, out, _) = hale.ctl(&["status"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("drain complete"), "{out}");
    assert!(out.contains("kernel upgrade"), "{out}");
    let (code, page) = hale.admin_get("/").await;
    assert_eq!(code, 200);
    assert!(
        page.contains("drain complete") && page.contains("drain (kernel upgrade)"),
        "{page}"
    );

    // Draining a second leaves one: allowed. The last healthy one: refused,
    // naming the name, unless forced.
    let (code, _, err) = hale.ctl(&["drain", &b[1].ip()]).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = hale
        .ctl(&["drain", &b[2].ip(), "--name", "www.example.com"])
        .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("www.example.com. A"), "{err}");
    assert_eq!(answered(&hale).await, v4_sorted(&[&b[2]]));

    // Unknown addresses and names are refused too.
    let (code, _, err) = hale.ctl(&["drain", "192.0.2.99"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("192.0.2.99"), "{err}");
    let (code, _, err) = hale
        .ctl(&["drain", &b[2].ip(), "--name", "mail.example.com"])
        .await;
    assert_eq!(code, 2);
    assert!(err.contains("mail.example.com"), "{err}");

    // Force-up keeps a failing address in; clear (and its alias undrain) end overrides.
    b[2].set_mode(Mode::Status(503)).await;
    let (code, _, err) = hale
        .ctl(&["force-up", &b[2].ip(), "--reason", "known false alarm"])
        .await;
    assert_eq!(code, 0, "{err}");
    let b2 = &b[2];
    eventually("b2's probes fail", || async move {
        verdict(h, b2).await == "down"
    })
    .await;
    assert_eq!(answered(&hale).await, v4_sorted(&[&b[2]]));
    let (code, _, err) = hale.ctl(&["undrain", &b[0].ip()]).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = hale.ctl(&["clear", &b[1].ip()]).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = hale.ctl(&["clear", &b[2].ip()]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(answered(&hale).await, v4_sorted(&[&b[0], &b[1]]));
    let (code, _, err) = hale.ctl(&["clear", &b[2].ip()]).await;
    assert_eq!(code, 2, "nothing left to clear: {err}");
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_for_a_while_ends_by_itself() {
    let b = backends(2).await;
    let config = config(b[0].port(), "interval = \"100ms\"\nrise = 1\nfall = 1");
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&[&b[0], &b[1]]))]).await;
    let h = &hale;
    let (code, _, err) = hale.ctl(&["drain", &b[0].ip(), "--for", "1s"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(answered(&hale).await, v4_sorted(&[&b[1]]));
    let t = hale.target_status("www.example.com.", &b[0].ip()).await;
    assert!(t["override"]["until"].is_string(), "{t:#}");
    let both = v4_sorted(&[&b[0], &b[1]]);
    until_answered(h, "the drain expires", both).await;
    let (code, _, err) = hale.ctl(&["drain", &b[0].ip(), "--for", "soon"]).await;
    assert_eq!(code, 2, "a bad duration is refused");
    assert!(err.contains("30m"), "says what to write: {err}");
    let (code, _, err) = hale.ctl(&["drain", &b[0].ip(), "--for", "30"]).await;
    assert_eq!(code, 2, "a duration without its unit is refused");
    assert!(
        err.contains("write one with its unit, such as 30m") && !err.contains("30sec"),
        "one hint: {err}"
    );
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_changes_need_it() {
    let b = backends(1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("admin.token");
    std::fs::write(&token, "s3cret\n").expect("token");
    let config = config(b[0].port(), "").replace(
        "[admin]\nlisten = \"127.0.0.1:0\"",
        &format!(
            "[admin]\nlisten = \"127.0.0.1:0\"\ntoken_file = \"{}\"",
            token.display()
        ),
    );
    assert!(config.contains("token_file"), "{config}");
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&[&b[0]]))]).await;
    let (code, _) = hale.admin_post("/reload").await;
    assert_eq!(code, 401, "a POST without the token");
    let (code, _) = hale.admin_get("/status").await;
    assert_eq!(code, 200, "reading needs no token");
    // ctl finds the token through the config, or takes --token-file.
    let (code, _, err) = hale.ctl(&["reload"]).await;
    assert_eq!(code, 0, "{err}");
    let wrong = dir.path().join("wrong.token");
    std::fs::write(&wrong, "guess").expect("token");
    let (code, _, err) = hale
        .ctl(&[
            "--token-file",
            &wrong.display().to_string(),
            "drain",
            &b[0].ip(),
            "--force",
        ])
        .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("token"), "{err}");
    // Without a config, --admin and --token-file are enough.
    let nowhere = tempfile::tempdir().expect("tempdir");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hale"))
        .current_dir(nowhere.path())
        .args(["ctl", "--admin", &hale.admin_addr().to_string()])
        .arg("--token-file")
        .arg(&token)
        .arg("reload")
        .output()
        .await
        .expect("run hale ctl");
    assert!(output.status.success(), "{output:?}");
    // The listener bound at start keeps the start's token: a reload that
    // drops token_file does not open it (a restart does).
    let without = config.replace(&format!("\ntoken_file = \"{}\"", token.display()), "");
    assert!(!without.contains("token_file"), "{without}");
    hale.rewrite_config(&without);
    hale.reload().await.expect("reload");
    let (code, _) = hale.admin_post("/reload").await;
    assert_eq!(code, 401, "still guarded after the reload");
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_drains_at_once_never_empty_an_answer() {
    let b = backends(2).await;
    let config = config(b[0].port(), "interval = \"1h\"");
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&[&b[0], &b[1]]))]).await;
    let h = &hale;
    let (b0, b1) = (&b[0], &b[1]);
    eventually("both up", || async move {
        verdict(h, b0).await == "up" && verdict(h, b1).await == "up"
    })
    .await;
    for _ in 0..10 {
        let (ip0, ip1) = (b[0].ip(), b[1].ip());
        let (args0, args1) = (["drain", ip0.as_str()], ["drain", ip1.as_str()]);
        let (first, second) = tokio::join!(hale.ctl(&args0), hale.ctl(&args1));
        let codes = [first.0, second.0];
        assert!(
            codes.contains(&0) && codes.contains(&2),
            "one drain, one refusal: {first:?} {second:?}"
        );
        assert_eq!(answered(&hale).await.len(), 1);
        for ip in [&ip0, &ip1] {
            let _ = hale.ctl(&["clear", ip]).await;
        }
    }
    hale.shutdown().await;
}

/// [`config`] with `[state] file = "state.json"` (beside the config).
fn with_state(port: u16, defaults: &str) -> String {
    format!(
        "{}\n[state]\nfile = \"state.json\"\n",
        config(port, defaults)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_restart_keeps_verdicts_and_overrides() {
    let b = backends(3).await;
    b[0].set_mode(Mode::Status(503)).await;
    // First probes at once, then an hour apart: after the restart only the
    // state file can know b0 is down.
    let config = with_state(b[0].port(), "interval = \"1h\"\ntimeout = \"30m\"");
    let all = [&b[0], &b[1], &b[2]];
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&all))]).await;
    let h = &hale;
    let live = v4_sorted(&[&b[1], &b[2]]);
    until_answered(h, "b0 found down", live).await;
    let (code, _, err) = hale
        .ctl(&["drain", &b[2].ip(), "--reason", "rack move"])
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(answered(&hale).await, v4_sorted(&[&b[1]]));
    let file = hale.dir().join("state.json");
    let file = &file;
    eventually("the drain is in the state file", || async move {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let saved: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        saved["overrides"][0]["reason"] == "rack move"
    })
    .await;

    // Were b0's verdict lost, its first probe would now hang for half an
    // hour while it counted as healthy.
    b[0].set_mode(Mode::Hang).await;
    let hale = hale.restart().await;
    for _ in 0..200 {
        assert_eq!(
            answered(&hale).await,
            v4_sorted(&[&b[1]]),
            "right after the restart"
        );
    }
    let t = hale.target_status("www.example.com.", &b[2].ip()).await;
    assert_eq!(t["override"]["reason"], "rack move", "{t:#}");
    // When it left the answers survives too: the drain's completion shows.
    assert!(t["left_answers"]["at"].is_string(), "{t:#}");
    let t = hale.target_status("www.example.com.", &b[0].ip()).await;
    assert_eq!(t["verdict"], "down", "{t:#}");
    assert!(t["restored_from_state_file"].is_string(), "{t:#}");
    // A reload keeps the override too.
    hale.reload().await.expect("reload");
    assert_eq!(answered(&hale).await, v4_sorted(&[&b[1]]));
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_saved_verdicts_and_a_corrupt_state_file_are_ignored() {
    let b = backends(2).await;
    let config = with_state(b[0].port(), "interval = \"1h\"\ntimeout = \"30m\"").replace(
        "file = \"state.json\"",
        "file = \"state.json\"\nmax_age = \"1ms\"",
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&[&b[0], &b[1]]))]).await;
    let h = &hale;
    let b1 = &b[1];
    eventually("b1 up", || async move { verdict(h, b1).await == "up" }).await;
    // Older than max_age by the restart: b1 starts without a verdict (its
    // probe hangs now), as if there were no file.
    b[1].set_mode(Mode::Hang).await;
    let hale = hale.restart().await;
    let t = hale.target_status("www.example.com.", &b[1].ip()).await;
    assert_eq!(t["verdict"], "unknown", "{t:#}");
    assert!(t.get("restored_from_state_file").is_none(), "{t:#}");

    let file = hale.dir().join("state.json");
    std::fs::write(&file, "{ this is not a state file").expect("corrupt it");
    b[1].set_mode(Mode::Healthy).await;
    // It starts all the same, probes afresh, and writes a good file again.
    let hale = hale.restart().await;
    let h = &hale;
    eventually(
        "b1 up again",
        || async move { verdict(h, b1).await == "up" },
    )
    .await;
    let (code, _, err) = hale.ctl(&["drain", &b[0].ip()]).await;
    assert_eq!(code, 0, "{err}");
    let file = &file;
    eventually("the state file is rewritten whole", || async move {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let saved: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        saved["overrides"].as_array().map(Vec::len) == Some(1)
    })
    .await;
    let leftovers: Vec<_> = std::fs::read_dir(hale.dir())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_says_why_each_address_is_in_or_out_and_when_that_can_change() {
    let b = backends(3).await;
    b[1].set_mode(Mode::Status(503)).await;
    let config = config(b[0].port(), "interval = \"1h\"\nrise = 2\nfall = 3");
    let all = [&b[0], &b[1], &b[2]];
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&all))]).await;
    let h = &hale;
    let b1 = &b[1];
    eventually("b1 down", || async move { verdict(h, b1).await == "down" }).await;
    let (code, _, err) = hale
        .ctl(&["drain", &b[2].ip(), "--reason", "maintenance"])
        .await;
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = hale
        .ctl(&["explain", "www.example.com", "A", "--if-down", &b[0].ip()])
        .await;
    assert_eq!(code, 0, "{err}");
    let line_of = |ip: String| {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("{ip} ")))
            .unwrap_or_else(|| panic!("no line for {ip}:\n{out}"))
            .to_string()
    };
    assert!(
        out.contains(&format!(
            "answer {} (the healthy addresses), TTL 30",
            b[0].ip()
        )),
        "{out}"
    );
    assert!(out.contains("can change at"), "{out}");
    let l0 = line_of(b[0].ip());
    assert!(
        l0.contains(" in ") && l0.contains("3 more failure(s)"),
        "{l0}"
    );
    let l1 = line_of(b[1].ip());
    assert!(
        l1.contains("out") && l1.contains("2 more pass(es)") && l1.contains("status 503"),
        "{l1}"
    );
    let l2 = line_of(b[2].ip());
    assert!(
        l2.contains("out") && l2.contains("drained by the operator (maintenance)"),
        "{l2}"
    );
    // With b0 down too nothing is healthy: when_all_down = "all" serves
    // what is not drained.
    let what_if = out
        .lines()
        .find(|l| l.contains("went down"))
        .unwrap_or_default();
    assert!(
        what_if.contains(&b[0].ip())
            && what_if.contains(&b[1].ip())
            && what_if.contains("when_all_down"),
        "{what_if}\n{out}"
    );
    assert!(!what_if.contains(&b[2].ip()), "{what_if}");

    let (code, _, err) = hale.ctl(&["explain", "mail.example.com"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("not a health-checked name"), "{err}");
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prober_that_gets_no_results_makes_its_verdict_stale() {
    // 256 targets whose probes hang hold every probe permit: the 257th, a
    // healthy one probed every 100 ms, gets no result for long.
    let hang = backends(1).await.remove(0);
    hang.set_mode(Mode::Hang).await;
    let live = backends(1).await.remove(0);
    let mut config = format!(
        "{SERVER}\n[mass_failure]\nenabled = false\n\
         [[check]]\nnames = [\"www.example.com.\"]\nport = {}\npath = \"/healthz\"\n\
         interval = \"100ms\"\ntimeout = \"200ms\"\n",
        live.port()
    );
    let mut zone = format!("{EXAMPLE_ZONE_HEAD}www IN A {}\n", live.ip());
    for i in 0..256 {
        config.push_str(&format!(
            "[[check]]\nnames = [\"h{i}.example.com.\"]\nport = {}\npath = \"/h{i}\"\ninterval = \"1h\"\ntimeout = \"1h\"\n",
            hang.port()
        ));
        zone.push_str(&format!("h{i} IN A {}\n", hang.ip()));
    }
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let h = &hale;
    let ip = live.ip();
    let ip = &ip;
    eventually("the starved target goes stale", || async move {
        h.target_status("www.example.com.", ip).await["stale"] == true
    })
    .await;
    let series = format!(
        "hale_target_stale{{target=\"http://{}:{}/healthz (host www.example.com)\",address=\"{}\"}}",
        live.ip(),
        live.port(),
        live.ip()
    );
    assert_eq!(hale.metric(&series).await, 1.0);
    let (_, out, _) = hale.ctl(&["explain", "www.example.com"]).await;
    assert!(out.contains("stale"), "{out}");
    hale.shutdown().await;
}
