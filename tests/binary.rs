//! The compiled `hale` binary end to end (issue items 9 and 10): `hale check`
//! exit codes and messages, `hale serve` refusing a bad config with exit 2
//! before binding anything, and a good `hale serve` answering over UDP,
//! reloading on SIGHUP and exiting 0 on SIGTERM.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use hickory_proto::rr::RecordType;
use tokio::process::{Child, Command};

use crate::support::{
    Ask, EXAMPLE_ZONE_HEAD, a_addrs, eventually, free_dns_port, udp_ask, write_files,
};

const HALE: &str = env!("CARGO_BIN_EXE_hale");

fn config(port: u16) -> String {
    format!("[server]\nlisten = [\"127.0.0.1:{port}\"]\nzones = \"zones\"\n")
}

fn hale(args: &[&str], config: &Path) -> Command {
    let mut cmd = Command::new(HALE);
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs to completion (bounded); returns exit status, stdout, stderr.
async fn run(mut cmd: Command) -> (ExitStatus, String, String) {
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("hale finished in time")
        .expect("hale ran");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status, text(&out.stdout), text(&out.stderr))
}

fn signal(child: &Child, sig: &str) {
    let pid = child.id().expect("hale is running").to_string();
    let status = std::process::Command::new("kill")
        .args([sig, &pid])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig} {pid}");
}

async fn www(dns: SocketAddr, name: &str) -> Option<Vec<Ipv4Addr>> {
    let msg = udp_ask(
        dns,
        &Ask::new(name, RecordType::A),
        Duration::from_millis(500),
    )
    .await?;
    Some(a_addrs(&msg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_serve_sighup_and_sigterm() {
    let good_zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    let port = free_dns_port();
    let good = tempfile::tempdir().unwrap();
    let good_cfg = write_files(
        good.path(),
        &config(port),
        &[("example.com.zone", &good_zone)],
    );

    // hale check: good → 0 with a summary.
    let (status, stdout, stderr) = run(hale(&["check"], &good_cfg)).await;
    assert_eq!(
        status.code(),
        Some(0),
        "stdout {stdout:?} stderr {stderr:?}"
    );
    assert!(stdout.contains("ok"), "summary on stdout: {stdout:?}");

    // hale check: bad zone (line 11) → 2 with file:line on stderr.
    let bad_zone = tempfile::tempdir().unwrap();
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.999\n");
    let bad_zone_cfg = write_files(
        bad_zone.path(),
        &config(port),
        &[("example.com.zone", &zone)],
    );
    let (status, _, stderr) = run(hale(&["check"], &bad_zone_cfg)).await;
    assert_eq!(status.code(), Some(2), "stderr {stderr:?}");
    assert!(stderr.contains("example.com.zone:11:"), "stderr {stderr:?}");

    // hale serve: bad config → 2 before binding anything.
    let bad_cfg_dir = tempfile::tempdir().unwrap();
    let bad = format!("{}interval = \"5 parsecs\"\n", config(port));
    let bad_cfg = write_files(
        bad_cfg_dir.path(),
        &bad,
        &[("example.com.zone", &good_zone)],
    );
    let (status, _, stderr) = run(hale(&["serve"], &bad_cfg)).await;
    assert_eq!(status.code(), Some(2), "stderr {stderr:?}");
    assert!(stderr.contains("hale.toml:4:"), "stderr {stderr:?}");
    let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
    let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
    assert!(udp.is_ok() && tcp.is_ok(), "port {port} is still free");
    drop((udp, tcp));

    // hale serve: good config → answers over UDP.
    let log = std::fs::File::create(good.path().join("hale.log")).unwrap();
    let mut cmd = hale(&["serve"], &good_cfg);
    cmd.stdout(Stdio::null()).stderr(log);
    let mut child = cmd.spawn().expect("start hale serve");
    let dns = SocketAddr::from(([127, 0, 0, 1], port));
    let want = [Ipv4Addr::new(192, 0, 2, 1)];
    let want = &want;
    eventually("hale serve answers www", || async move {
        www(dns, "www.example.com").await.as_deref() == Some(&want[..])
    })
    .await;

    // SIGHUP: a new record appears.
    let added = format!("{good_zone}new IN A 192.0.2.2\n");
    std::fs::write(good.path().join("zones/example.com.zone"), added).unwrap();
    signal(&child, "-HUP");
    let new = [Ipv4Addr::new(192, 0, 2, 2)];
    let new = &new;
    eventually("SIGHUP reload serves the new record", || async move {
        www(dns, "new.example.com").await.as_deref() == Some(&new[..])
    })
    .await;

    // SIGTERM: exit 0.
    signal(&child, "-TERM");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("hale exited after SIGTERM")
        .expect("wait for hale");
    let log = std::fs::read_to_string(good.path().join("hale.log")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "log:\n{log}");
}

/// The next datagram on the notify socket, as text (panics after 20 s).
async fn next_notification(socket: &tokio::net::UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(20), socket.recv(&mut buf))
        .await
        .expect("a notification in time")
        .expect("receive");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Under systemd (issue #14): READY=1 once every target has a verdict,
/// RELOADING=1 with MONOTONIC_USEC and READY=1 around a SIGHUP reload,
/// STOPPING=1 at SIGTERM; and GET /ready goes 503 → 200 with readiness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sd_notify_ready_reloading_stopping() {
    let backend = crate::support::backends(1).await.remove(0);
    // Its first probe answers only after a while: hale is not ready until then.
    backend
        .set_mode(crate::support::Mode::Slow(Duration::from_millis(800)))
        .await;
    let port = free_dns_port();
    let admin = crate::support::free_tcp_port();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n[defaults]\ninterval = \"1h\"\ntimeout = \"5s\"\n\
         [[check]]\nnames = [\"www.example.com.\"]\nport = {}\npath = \"/healthz\"\n",
        config(port),
        backend.port()
    );
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A {}\n", backend.ip());
    let cfg = write_files(dir.path(), &config, &[("example.com.zone", &zone)]);
    let notify_path = dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&notify_path).expect("bind notify socket");
    let log = std::fs::File::create(dir.path().join("hale.log")).unwrap();
    let mut cmd = hale(&["serve"], &cfg);
    cmd.env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(log);
    let mut child = cmd.spawn().expect("start hale serve");

    let url = format!("http://127.0.0.1:{admin}/ready");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let ready_code = || async {
        match http.get(&url).send().await {
            Ok(r) => Some(r.status().as_u16()),
            Err(_) => None,
        }
    };
    let mut saw_503 = false;
    for _ in 0..200 {
        match ready_code().await {
            Some(503) => {
                saw_503 = true;
                break;
            }
            Some(200) => break,
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    assert!(saw_503, "/ready said 503 while the first probe was out");
    assert_eq!(next_notification(&socket).await, "READY=1\n");
    assert_eq!(ready_code().await, Some(200));

    signal(&child, "-HUP");
    let reloading = next_notification(&socket).await;
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading:?}"
    );
    assert_eq!(next_notification(&socket).await, "READY=1\n");

    signal(&child, "-TERM");
    assert_eq!(next_notification(&socket).await, "STOPPING=1\n");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("hale exited after SIGTERM")
        .expect("wait for hale");
    let log = std::fs::read_to_string(dir.path().join("hale.log")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "log:\n{log}");
}

/// Issue #14: `hale check` says, per check, how long a failing backend can
/// stay in answers and with resolvers, and warns of a timeout not below the
/// interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_each_checks_worst_case() {
    let dir = tempfile::tempdir().unwrap();
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    let cfg = format!(
        "{}[defaults]\ninterval = \"5s\"\ntimeout = \"2s\"\nfall = 3\nttl = 30\n\
         [[check]]\nnames = [\"www.example.com.\"]\nport = 8080\n\
         [[check]]\nnames = [\"ns1.example.com.\"]\nport = 8080\ntimeout = \"5s\"\n",
        config(free_dns_port())
    );
    let cfg = write_files(dir.path(), &cfg, &[("example.com.zone", &zone)]);
    let (status, stdout, stderr) = run(hale(&["check"], &cfg)).await;
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "line 9 (www.example.com.): a failing backend leaves hale's answers within 17s"
        ) && stdout.contains("resolvers within 47s (+ TTL 30s)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("hale.toml:12: timeout 5s is not below interval 5s"),
        "{stderr}"
    );
}

/// Issue #14: without `--config`, hale reads ./config/hale.toml, else
/// /etc/hale/hale.toml, and says which it tried when neither exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_config_it_looks_in_config_then_etc() {
    let dir = tempfile::tempdir().unwrap();
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    let cfg = "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"../zones\"\n";
    write_files(dir.path(), "", &[("example.com.zone", &zone)]);
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(dir.path().join("config/hale.toml"), cfg).unwrap();
    let mut cmd = Command::new(HALE);
    cmd.arg("check").current_dir(dir.path()).kill_on_drop(true);
    let (status, stdout, stderr) = run(cmd).await;
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("config/hale.toml: ok"), "{stdout}");

    if std::path::Path::new("/etc/hale/hale.toml").exists() {
        return; // This machine has a system config: the fallback would find it.
    }
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(HALE);
    cmd.arg("check")
        .current_dir(empty.path())
        .kill_on_drop(true);
    let (status, _, stderr) = run(cmd).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("config/hale.toml") && stderr.contains("/etc/hale/hale.toml"),
        "{stderr}"
    );
}

/// Issue #17 item 5: `check` warns of a key file others can read; the key
/// material never shows in hale's log, /status or /metrics, while refused
/// signed requests are logged (key name and TSIG error only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_material_stays_out_of_logs_status_and_metrics() {
    use std::os::unix::fs::PermissionsExt;

    use crate::support::tsig::{self, KEY_NAME, OTHER_SECRET, SECRET, signer};
    use crate::support::{connect_from, read_framed, send_framed};

    let dir = tempfile::tempdir().unwrap();
    let port = free_dns_port();
    let admin = crate::support::free_tcp_port();
    let text = format!(
        "{}\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n\n\
         [[key]]\nname = \"{KEY_NAME}\"\nsecret_file = \"xfr.key\"\n\n\
         [transfer]\nallow = [{{ from = \"127.0.0.1\", key = \"{KEY_NAME}\" }}]\n",
        config(port)
    );
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    let cfg = write_files(dir.path(), &text, &[("example.com.zone", &zone)]);
    let key_file = dir.path().join("xfr.key");
    std::fs::write(
        &key_file,
        format!("key \"{KEY_NAME}\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{SECRET}\";\n}};\n"),
    )
    .unwrap();

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (status, stdout, stderr) = run(hale(&["check"], &cfg)).await;
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("secret_file") && stderr.contains("can be read by others than its owner"),
        "{stderr}"
    );
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (status, _, stderr) = run(hale(&["check"], &cfg)).await;
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");

    let log_path = dir.path().join("hale.log");
    let mut cmd = hale(&["serve"], &cfg);
    cmd.stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap());
    let mut child = cmd.spawn().expect("start hale serve");
    let dns = SocketAddr::from(([127, 0, 0, 1], port));
    eventually("hale serve answers", || async move {
        www(dns, "www.example.com").await.is_some()
    })
    .await;

    // Refused: an unsigned transfer, then one signed with the wrong secret
    // (one log line a second: a second apart), and a badly signed query.
    let axfr = Ask::new("example.com", RecordType::AXFR).to_bytes();
    let forged = signer(KEY_NAME, OTHER_SECRET, "hmac-sha256");
    for query in [axfr.clone(), tsig::sign(&axfr, &forged, tsig::now()).0] {
        let mut stream = connect_from("127.0.0.1", dns).await;
        send_framed(&mut stream, &query).await;
        let reply = read_framed(&mut stream).await;
        assert_eq!(reply[3] & 0x0F, 9, "NOTAUTH");
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let signed_query = tsig::sign(
        &Ask::new("www.example.com", RecordType::A).to_bytes(),
        &forged,
        tsig::now(),
    )
    .0;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(&signed_query, dns).await.unwrap();
    let mut buf = [0u8; 1500];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    assert_eq!(buf[3] & 0x0F, 9, "NOTAUTH: {:02x?}", &buf[..n]);
    let log = &log_path;
    eventually("the refusals are logged", || async move {
        let log = std::fs::read_to_string(log).unwrap_or_default();
        log.contains("zone transfer refused (NOTAUTH): unsigned")
            && log.contains("zone transfer refused (NOTAUTH): BADSIG")
            && log.contains("signed query refused (NOTAUTH): BADSIG")
    })
    .await;

    let client = reqwest::Client::new();
    let mut seen = std::fs::read_to_string(&log_path).unwrap();
    for path in ["/status", "/metrics", "/"] {
        let body = client
            .get(format!("http://127.0.0.1:{admin}{path}"))
            .send()
            .await
            .expect("admin answers")
            .text()
            .await
            .unwrap();
        seen.push_str(&body);
    }
    let raw = data_encoding::BASE64.decode(SECRET.as_bytes()).unwrap();
    for shown in [
        SECRET.to_string(),
        data_encoding::HEXLOWER.encode(&raw),
        data_encoding::HEXUPPER.encode(&raw),
        format!("{:?}", &raw[..8]),
    ] {
        assert!(
            !seen.contains(&shown),
            "{shown} appears in the log, /status or /metrics"
        );
    }
    assert!(seen.contains(KEY_NAME), "the key's name is logged");
    signal(&child, "-TERM");
    let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
}

/// Issue #17 item 5: `hale check` warns of a cookie secret file that users
/// other than hale's may read, and is quiet once it is 0600; the secret
/// shows neither there nor in the log of a serving hale (debug level)
/// that answers cookies and reloads.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_secret_readable_by_others_is_warned_of_and_never_shown() {
    use std::os::unix::fs::PermissionsExt;
    const SECRET: &str = "445536bcd2513298075a5d379663c962";
    let dir = tempfile::tempdir().unwrap();
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    let port = free_dns_port();
    let cfg = format!("{}cookie_secret_file = \"cookie.secret\"\n", config(port));
    let cfg = write_files(dir.path(), &cfg, &[("example.com.zone", &zone)]);
    let secret = dir.path().join("cookie.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let shown = |text: &str| text.to_lowercase().contains(SECRET);

    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (status, stdout, stderr) = run(hale(&["check"], &cfg)).await;
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("cookie_secret_file") && stderr.contains("readable by other users"),
        "{stderr}"
    );
    assert!(!shown(&stdout) && !shown(&stderr), "{stdout}{stderr}");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (status, stdout, stderr) = run(hale(&["check"], &cfg)).await;
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    assert!(!stderr.contains("readable by other users"), "{stderr}");

    let log_path = dir.path().join("hale.log");
    let mut cmd = hale(&["serve"], &cfg);
    cmd.env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap());
    let mut child = cmd.spawn().expect("start hale serve");
    let dns = SocketAddr::from(([127, 0, 0, 1], port));
    eventually("hale serve answers www", || async move {
        www(dns, "www.example.com").await.is_some()
    })
    .await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(dns).await.unwrap();
    let mut q = Ask::new("www.example.com", RecordType::A)
        .edns(1232)
        .to_bytes();
    q[11] = 1;
    let opt_at = q.len() - 2;
    q.truncate(opt_at);
    q.extend_from_slice(&[0, 12, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
    let answer = crate::support::udp_exchange_on(&socket, &q).await;
    assert!(answer.len() > 28, "answered");
    signal(&child, "-HUP");
    std::fs::write(&secret, "not a secret\n").unwrap();
    signal(&child, "-HUP");
    eventually("the bad secret file is logged", || {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        async move { log.contains("cookie.secret:1") }
    })
    .await;
    signal(&child, "-TERM");
    let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(!shown(&log), "the log shows the secret:\n{log}");
}
