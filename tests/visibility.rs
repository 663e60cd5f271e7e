//! Seeing hale at a glance (issue #15): the metrics an operator alerts on
//! move as queries, probes, failures, fail-open, overrides and reloads
//! happen; `/status` says when a name fails open and how the last reload
//! went; the JSON log parses, with lists as arrays and no clashing fields.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::rr::RecordType;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::{
    EXAMPLE_ZONE_HEAD, Hale, Mode, SERVER, backends, eventually, free_dns_port, write_files,
};

/// Fast probing: 100 ms interval, 300 ms timeout, rise 2, fall 2.
const FAST: &str = "[defaults]\ninterval = \"100ms\"\ntimeout = \"300ms\"\nrise = 2\nfall = 2\n";

/// The value of the first sample of `metric` whose labels contain every
/// one of `with` (e.g. `address="127.0.1.3"`); `None` when there is none.
fn sample(body: &str, metric: &str, with: &[&str]) -> Option<f64> {
    body.lines().find_map(|line| {
        let rest = line.strip_prefix(metric)?;
        let (labels, value) = rest.rsplit_once(' ')?;
        let labelled = labels.starts_with('{') || labels.is_empty();
        (labelled && with.iter().all(|w| labels.contains(w))).then(|| value.parse().ok())?
    })
}

async fn scrape(hale: &Hale) -> String {
    let (code, body) = hale.admin_get("/metrics").await;
    assert_eq!(code, 200, "{body}");
    body
}

/// Reads `metric` (with labels containing `with`) now; panics when absent.
async fn value(hale: &Hale, metric: &str, with: &[&str]) -> f64 {
    let body = scrape(hale).await;
    sample(&body, metric, with).unwrap_or_else(|| panic!("no {metric} {with:?} in\n{body}"))
}

/// Waits until `metric` (labels containing `with`) satisfies `ok`.
async fn until(hale: &Hale, metric: &str, with: &[&str], ok: impl Fn(f64) -> bool) {
    let ok = &ok;
    eventually(&format!("{metric} {with:?}"), || async move {
        sample(&scrape(hale).await, metric, with).is_some_and(ok)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_queries_probes_failures_fail_open_overrides_and_reloads() {
    let b = backends(2).await;
    let config = format!(
        "{SERVER}\n{FAST}\n[[check]]\nnames = [\"www.example.com.\"]\nport = {}\npath = \"/healthz\"\nwhen_all_down = \"all\"\n",
        b[0].port()
    );
    let zone = format!(
        "{EXAMPLE_ZONE_HEAD}www IN A {}\nwww IN A {}\n",
        b[0].ip(),
        b[1].ip()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let h = &hale;
    let www = ["name=\"www.example.com.\"", "type=\"A\""];
    let (ip0, ip1) = (
        format!("address=\"{}\"", b[0].ip()),
        format!("address=\"{}\"", b[1].ip()),
    );
    let (ip0, ip1) = (ip0.as_str(), ip1.as_str());

    // Both up: every per-name gauge, counted probes and transitions to up.
    until(h, "hale_name_healthy", &www, |v| v == 2.0).await;
    assert_eq!(value(h, "hale_name_addresses", &www).await, 2.0);
    assert_eq!(value(h, "hale_name_serving", &www).await, 2.0);
    assert_eq!(value(h, "hale_name_fail_open", &www).await, 0.0);
    until(h, "hale_probes_total", &[ip0, "result=\"ok\""], |v| {
        v >= 2.0
    })
    .await;
    assert_eq!(
        value(h, "hale_target_transitions_total", &[ip0, "to=\"up\""]).await,
        1.0
    );
    assert!(value(h, "hale_probe_duration_seconds_count", &[ip0]).await >= 2.0);
    assert!(
        value(
            h,
            "hale_probe_duration_seconds_bucket",
            &[ip0, "le=\"+Inf\""]
        )
        .await
            >= 2.0
    );
    assert_eq!(value(h, "hale_last_reload_successful", &[]).await, 1.0);
    if cfg!(target_os = "linux") {
        assert!(value(h, "process_resident_memory_bytes", &[]).await > 0.0);
        assert!(value(h, "process_open_fds", &[]).await > 0.0);
    }
    assert_eq!(
        value(h, "hale_reloads_total", &["result=\"error\""]).await,
        0.0
    );

    // Queries: answers by type and rcode.
    let before = sample(
        &scrape(h).await,
        "hale_answers_total",
        &["qtype=\"A\"", "rcode=\"noerror\""],
    )
    .unwrap_or(0.0);
    for _ in 0..3 {
        h.udp("www.example.com", RecordType::A).await;
    }
    h.tcp("www.example.com", RecordType::A).await;
    h.udp("nope.example.com", RecordType::MX).await;
    until(
        h,
        "hale_answers_total",
        &["qtype=\"A\"", "rcode=\"noerror\""],
        |v| v == before + 4.0,
    )
    .await;
    assert!(
        value(
            h,
            "hale_answers_total",
            &["qtype=\"MX\"", "rcode=\"nxdomain\""]
        )
        .await
            >= 1.0
    );

    // One backend fails: failed probes, a transition down, one healthy.
    b[0].set_mode(Mode::Status(503)).await;
    until(
        h,
        "hale_target_transitions_total",
        &[ip0, "to=\"down\""],
        |v| v == 1.0,
    )
    .await;
    assert!(value(h, "hale_probes_total", &[ip0, "result=\"fail\""]).await >= 2.0);
    until(h, "hale_name_healthy", &www, |v| v == 1.0).await;
    assert_eq!(value(h, "hale_target_up", &[ip0]).await, 0.0);

    // Both fail: fail-open, in the metrics and in /status.
    b[1].set_mode(Mode::Status(503)).await;
    until(h, "hale_name_fail_open", &www, |v| v == 1.0).await;
    assert_eq!(value(h, "hale_name_healthy", &www).await, 0.0);
    assert_eq!(value(h, "hale_name_serving", &www).await, 2.0);
    let status = h.status().await;
    assert_eq!(
        status["fail_open"],
        serde_json::json!(["www.example.com. A"]),
        "{status:#}"
    );
    let name = &status["checks"][0];
    assert_eq!(name["fail_open"], true, "{name:#}");
    assert_eq!(name["types"][0]["serving"], 2, "{name:#}");

    // Recovery leaves fail-open.
    b[0].set_mode(Mode::Healthy).await;
    b[1].set_mode(Mode::Healthy).await;
    until(h, "hale_name_fail_open", &www, |v| v == 0.0).await;
    until(
        h,
        "hale_target_transitions_total",
        &[ip0, "to=\"up\""],
        |v| v == 2.0,
    )
    .await;

    // An override shows while it applies.
    let drain = ["kind=\"drain\"", ip1];
    assert_eq!(value(h, "hale_target_override", &drain).await, 0.0);
    let (code, out, err) = h
        .ctl(&["drain", &b[1].ip(), "--reason", "metrics test"])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(value(h, "hale_target_override", &drain).await, 1.0);
    assert_eq!(
        value(h, "hale_target_override", &["kind=\"drain\"", ip0]).await,
        0.0
    );
    assert_eq!(value(h, "hale_name_serving", &www).await, 1.0);
    let (code, out, err) = h.ctl(&["clear", &b[1].ip()]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(value(h, "hale_target_override", &drain).await, 0.0);

    // Reloads, good and bad: counted, and the bad one shows in a gauge and
    // in /status while the old config serves.
    let at = value(h, "hale_last_reload_success_timestamp_seconds", &[]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    h.reload().await.expect("a good reload");
    assert_eq!(
        value(h, "hale_reloads_total", &["result=\"ok\""]).await,
        1.0
    );
    assert!(value(h, "hale_last_reload_success_timestamp_seconds", &[]).await > at);
    assert_eq!(h.status().await["last_load"]["result"], "ok");
    h.rewrite_config(&format!("{config}\n[[check]]\nnames = 7\n"));
    assert!(h.reload().await.is_err(), "a bad config is rejected");
    assert_eq!(
        value(h, "hale_reloads_total", &["result=\"error\""]).await,
        1.0
    );
    assert_eq!(value(h, "hale_last_reload_successful", &[]).await, 0.0);
    let last = h.status().await["last_load"].clone();
    assert_eq!(last["result"], "error", "{last:#}");
    assert!(
        last["error"]
            .as_str()
            .is_some_and(|e| e.contains("hale.toml")),
        "{last:#}"
    );
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_log_parses_with_arrays_and_no_clashing_fields() {
    let b = backends(1).await;
    let port = free_dns_port();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[server]\nlisten = [\"127.0.0.1:{port}\"]\nzones = \"zones\"\n{FAST}\n[[check]]\nnames = [\"www.example.com.\", \"api.example.com.\"]\nhost = \"example.com\"\nport = {backend}\nwhen_all_down = \"all\"\n[[check]]\nnames = [\"db.example.com.\"]\nport = {backend}\nwhen_all_down = \"none\"\n[mass_failure]\nenabled = false\n",
        backend = b[0].port()
    );
    let zone = format!(
        "{EXAMPLE_ZONE_HEAD}www IN A {ip}\napi IN A {ip}\ndb IN A {ip}\n",
        ip = b[0].ip()
    );
    let path = write_files(dir.path(), &config, &[("example.com.zone", &zone)]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hale"))
        .args(["--log-format", "json", "serve", "--config"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start hale");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut reader = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let sink = lines.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    let logged = |message: &'static str, level: &'static str| {
        let lines = lines.clone();
        move || {
            let lines = lines.clone();
            async move {
                lines.lock().unwrap().iter().any(|l| {
                    serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| {
                        v["message"]
                            .as_str()
                            .is_some_and(|m| m.starts_with(message))
                            && v["level"] == level
                    })
                })
            }
        }
    };
    eventually("hale logs the target up", logged("health changed", "INFO")).await;
    b[0].set_mode(Mode::Status(503)).await;
    eventually(
        "hale logs the target down",
        logged("health changed", "WARN"),
    )
    .await;
    // Its only address down: both names fail open, and say so at WARN,
    // entering and leaving.
    eventually("fail-open is logged", logged("fail-open: ", "WARN")).await;
    // db answers NODATA instead: announced too, with its end.
    eventually(
        "an empty answer is logged",
        logged("no address to serve", "WARN"),
    )
    .await;
    b[0].set_mode(Mode::Healthy).await;
    eventually(
        "the end of fail-open is logged",
        logged("fail-open over", "WARN"),
    )
    .await;
    eventually("the end of NODATA is logged", logged("NODATA over", "WARN")).await;
    let _ = child.start_kill();
    let _ = child.wait().await;

    let lines = lines.lock().unwrap().clone();
    assert!(!lines.is_empty());
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let object = v
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {line}"));
        for key in ["timestamp", "level", "target", "message"] {
            assert!(object[key].is_string(), "{key} in {line}");
        }
        assert!(
            object["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("hale")),
            "`target` is the module that logged: {line}"
        );
        assert!(
            !object.contains_key("fields"),
            "fields sit at the top level: {line}"
        );
        assert!(
            !object.keys().any(|k| k.starts_with("field_")),
            "no clash: {line}"
        );
    }
    let down = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| {
            v["message"] == "health changed"
                && v["level"] == "WARN"
                && v["probe"]
                    .as_str()
                    .is_some_and(|p| p.contains("host example.com"))
        })
        .expect("a WARN line for the shared target going down");
    let mut names: Vec<&str> = down["names"]
        .as_array()
        .unwrap_or_else(|| panic!("names is an array: {down:#}"))
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["api.example.com.", "www.example.com."], "{down:#}");
    assert_eq!(down["address"], b[0].ip(), "{down:#}");
    assert!(
        down["probe"]
            .as_str()
            .is_some_and(|p| p.contains(&b[0].ip())),
        "{down:#}"
    );
    assert!(
        down["reason"].as_str().is_some_and(|r| r.contains("503")),
        "{down:#}"
    );
    assert_eq!(down["new"], "down", "{down:#}");
    let mut open: Vec<String> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("fail-open: "))
        })
        .map(|v| format!("{} {}", v["name"].as_str().unwrap_or("?"), v["rtype"]))
        .collect();
    open.sort();
    assert_eq!(
        open,
        ["api.example.com. \"A\"", "www.example.com. \"A\""],
        "one WARN per name and type entering fail-open"
    );
}

/// Runs headless Chromium on `url` with `args`; `None` when Chromium is
/// not installed (allowed only outside CI: `.ci/run` installs it and sets
/// `HALE_REQUIRE_CHROMIUM`).
async fn chromium(args: &[&str], url: &str) -> Option<String> {
    let binary = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    let Some(binary) = binary else {
        let why = "Chromium is not installed: the status page test is skipped";
        assert!(std::env::var_os("HALE_REQUIRE_CHROMIUM").is_none(), "{why}");
        eprintln!("note: {why}");
        return None;
    };
    let profile = tempfile::tempdir().expect("temp dir");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("Chromium finished in time")
    .expect("Chromium ran");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The rows of the page's tables, as the text of their cells.
fn rows(dom: &str) -> Vec<String> {
    let mut rows = Vec::new();
    for row in dom.split("<tr>").skip(1) {
        let row = row.split("</tr>").next().unwrap_or_default();
        let mut text = String::new();
        let mut in_tag = false;
        for c in row.chars() {
            match c {
                '<' => {
                    in_tag = true;
                    text.push(' ');
                }
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        rows.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    rows
}

/// The page a person opens: loaded in headless Chromium, with what it
/// shows checked in the DOM Chromium built. With `HALE_SCREENSHOT=PATH`
/// (relative to the repository) it also writes the screenshot the README
/// shows: `HALE_SCREENSHOT=docs/status-page.png cargo test --test
/// integration status_page`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_a_browser_shows_what_needs_attention_first() {
    let b = backends(5).await;
    // www: three addresses, one failing. api: both down, failing open.
    // db: its backend hangs and the timeout is long: never probed yet.
    let config = format!(
        "{SERVER}\n{FAST}\n\
         [[check]]\nnames = [\"www.example.com.\"]\nport = {port}\npath = \"/healthz\"\nexpect_body = \"ok\"\n\
         [[check]]\nnames = [\"api.example.com.\"]\nport = {port}\nwhen_all_down = \"all\"\n\
         [[check]]\nnames = [\"db.example.com.\"]\nport = {port}\ntimeout = \"60s\"\ninterval = \"90s\"\n",
        port = b[0].port()
    );
    let zone = format!(
        "{EXAMPLE_ZONE_HEAD}www IN A {}\nwww IN A {}\nwww IN A {}\napi IN A {}\napi IN A {}\ndb IN A {}\n",
        b[0].ip(),
        b[1].ip(),
        b[2].ip(),
        b[3].ip(),
        b[4].ip(),
        b[4].ip(),
    );
    b[1].set_mode(Mode::WrongBody).await;
    b[3].set_mode(Mode::Status(503)).await;
    b[4].set_mode(Mode::Hang).await;
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let h = &hale;
    eventually("www has 2 of 3 up and api fails open", || async move {
        let s = h.status().await;
        s["fail_open"] == serde_json::json!(["api.example.com. A"])
            && s["checks"].as_array().is_some_and(|names| {
                names
                    .iter()
                    .any(|n| n["name"] == "www.example.com." && n["types"][0]["healthy"] == 2)
            })
    })
    .await;
    // Enough results for a strip of several marks.
    let third = format!("address=\"{}\"", b[2].ip());
    until(
        h,
        "hale_probes_total",
        &[third.as_str(), "result=\"ok\""],
        |v| v >= 4.0,
    )
    .await;
    let (code, out, err) = h
        .ctl(&["drain", &b[2].ip(), "--reason", "kernel upgrade"])
        .await;
    assert_eq!(code, 0, "{out}{err}");

    let url = format!("http://{}/", h.admin_addr());
    let Some(dom) = chromium(&["--dump-dom"], &url).await else {
        hale.shutdown().await;
        return;
    };
    // It refreshes itself and loads nothing from elsewhere.
    assert!(dom.contains("http-equiv=\"refresh\""), "{dom}");
    for external in ["<script src", "<link", "<img", "url("] {
        assert!(!dom.contains(external), "{external} in {dom}");
    }
    // Banners: fail-open, and how config and zones were loaded.
    assert!(
        dom.contains("Failing open:</b> api.example.com. A"),
        "{dom}"
    );
    assert!(dom.contains("Config and zones: started at"), "{dom}");
    // A summary per name; names needing attention come first (db, whose
    // only address is not probed yet, counts as healthy and comes last).
    let at = |text: &str| {
        dom.find(text)
            .unwrap_or_else(|| panic!("no {text:?} in {dom}"))
    };
    assert!(dom.contains("<b>A</b>: 0/2 up, serving 2"), "{dom}");
    assert!(
        dom.contains("<b>A</b>: 1/3 up, serving 1"),
        "www after the drain: {dom}"
    );
    assert!(dom.contains("1 override"), "{dom}");
    assert!(
        at("id=\"api.example.com.\"") < at("id=\"db.example.com.\""),
        "{dom}"
    );
    assert!(
        at("id=\"www.example.com.\"") < at("id=\"db.example.com.\""),
        "{dom}"
    );
    // Per address: failures first, the probe URL, verdict, since, in the
    // answer now, the override, readable reasons, and the strip of results.
    let rows = rows(&dom);
    let row = |ip: &str| {
        rows.iter()
            .position(|r| r.starts_with(&format!("{ip} ")))
            .unwrap_or_else(|| panic!("no row for {ip} in {rows:#?}"))
    };
    assert!(
        row(&b[1].ip()) < row(&b[0].ip()),
        "the failing address first: {rows:#?}"
    );
    assert!(
        row(&b[2].ip()) < row(&b[0].ip()),
        "the drained address first: {rows:#?}"
    );
    let text = |ip: &str| rows[row(ip)].clone();
    let failing = text(&b[1].ip());
    assert!(
        failing.contains(" down ") && failing.contains("body mismatch"),
        "{failing}"
    );
    assert!(
        failing.contains(&format!("http://{}:{}/healthz", b[1].ip(), b[0].port())),
        "{failing}"
    );
    let drained = text(&b[2].ip());
    assert!(drained.contains("drain (kernel upgrade)"), "{drained}");
    assert!(drained.contains(" up "), "probes go on: {drained}");
    let healthy = text(&b[0].ip());
    assert!(
        healthy.contains(" up ") && healthy.contains(" yes "),
        "{healthy}"
    );
    assert!(
        text(&b[3].ip()).contains("fail-open"),
        "{}",
        text(&b[3].ip())
    );
    let db = rows.iter().find(|r| r.contains("db.example.com")).cloned();
    let waiting = db.unwrap_or_else(|| text(&b[4].ip()));
    assert!(
        waiting.contains("not probed yet") && waiting.contains("never probed"),
        "{waiting}"
    );
    let marks = dom.matches("<i class=\"ok\" title=\"20").count();
    assert!(
        marks >= 4,
        "a mark per result, with its time on hover: {dom}"
    );
    assert!(dom.contains("<i class=\"fail\" title=\"20"), "{dom}");

    // A rejected reload shows as a banner.
    h.rewrite_config(&format!("{config}\n[[check]]\nnames = 7\n"));
    assert!(h.reload().await.is_err());
    let dom = chromium(&["--dump-dom"], &url).await.unwrap_or_default();
    assert!(dom.contains("Last reload rejected"), "{dom}");
    assert!(dom.contains("hale.toml"), "the error names the file: {dom}");

    if let Some(path) = std::env::var_os("HALE_SCREENSHOT") {
        // The first state, without the rejected reload, is what the README shows.
        h.rewrite_config(&config);
        h.reload().await.expect("the good config again");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let arg = format!("--screenshot={}", path.display());
        chromium(&[&arg, "--window-size=1300,860", "--hide-scrollbars"], &url).await;
        assert!(path.exists(), "screenshot written to {}", path.display());
    }
    hale.shutdown().await;
}

/// A config on disk that no longer validates is when an operator most
/// needs `ctl`: it still finds the admin listener in it, and `ctl reload`
/// reaches hale, which records the rejection (metric, /status) instead of
/// `ctl` refusing on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_works_and_reloads_are_recorded_when_the_file_no_longer_validates() {
    let b = backends(1).await;
    let admin = crate::support::free_tcp_port();
    let config = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"zones\"\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n\
         {FAST}\n[[check]]\nnames = [\"www.example.com.\"]\nport = {}\n",
        b[0].port()
    );
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A {}\n", b[0].ip());
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let path = hale.dir().join("hale.toml");
    hale.rewrite_config(&config.replace("interval = \"100ms\"", "interval = \"2\""));
    let ctl = |args: &'static [&'static str]| {
        let path = path.clone();
        async move {
            let out = Command::new(env!("CARGO_BIN_EXE_hale"))
                .arg("--config")
                .arg(&path)
                .arg("ctl")
                .args(args)
                .output()
                .await
                .expect("run hale ctl");
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (out.status.code(), text(&out.stdout), text(&out.stderr))
        }
    };
    let (code, out, err) = ctl(&["status"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("www.example.com."), "{out}");
    let (code, out, err) = ctl(&["reload"]).await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("hale.toml:") && err.contains("bad duration"),
        "{err}"
    );
    assert_eq!(value(&hale, "hale_last_reload_successful", &[]).await, 0.0);
    assert_eq!(hale.status().await["last_load"]["result"], "error");
    hale.shutdown().await;
}
