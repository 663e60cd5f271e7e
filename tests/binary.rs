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
