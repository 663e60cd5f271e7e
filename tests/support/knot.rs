//! [`Knot`]: a real Knot DNS (`knotd`, as `apt-get install knot` ships it;
//! `$KNOTD` overrides the binary) on a free loopback port, as a secondary
//! of a hale primary, for `knot_secondary`.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use tempfile::TempDir;
use tokio::time::Instant;

use super::{Ask, DEADLINE, free_dns_port, udp_once};

/// The Knot binary: `$KNOTD` when set, else the Debian path, else `knotd` on PATH.
pub fn knot_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KNOTD") {
        return PathBuf::from(path);
    }
    let debian = Path::new("/usr/sbin/knotd");
    if debian.exists() {
        return debian.to_path_buf();
    }
    PathBuf::from("knotd")
}

/// Whether Knot can run; else says why `what` is skipped (or fails, when
/// `HALE_REQUIRE_KNOT` is set, as `.ci/run` sets it).
pub fn knot_or_skip(what: &str) -> bool {
    super::tools::runs(knot_binary(), "--version")
        || super::tools::skip(
            "Knot not found: install it (`apt-get install knot`) or point $KNOTD at knotd",
            "HALE_REQUIRE_KNOT",
            what,
        )
}

/// A running Knot in its own folder, a secondary of `example.com`; stopped on drop.
pub struct Knot {
    child: Child,
    /// Where it listens (UDP and TCP).
    pub addr: SocketAddr,
    log: PathBuf,
    _dir: TempDir,
}

impl Knot {
    /// Starts Knot on `port` as a secondary of `example.com` from `primary`
    /// (which may NOTIFY it from 127.0.0.1), and waits until it answers
    /// the zone's SOA, transferred.
    pub async fn secondary_of(primary: SocketAddr, port: Option<u16>) -> Knot {
        Knot::start(primary, port, "", None, true).await
    }

    /// [`Knot::secondary_of`] with the TSIG key `(name, base64 secret)`
    /// (hmac-sha256) for its transfers and hale's NOTIFYs; or, when
    /// `key` is `None`, without one. Waits for the zone only when `ready`
    /// (a secondary hale refuses never gets it).
    pub async fn secondary_keyed(
        primary: SocketAddr,
        port: Option<u16>,
        key: Option<(&str, &str)>,
        ready: bool,
    ) -> Knot {
        Knot::start(primary, port, "", key, ready).await
    }

    /// [`Knot::secondary_of`], signing what it receives (DNSSEC with one
    /// ECDSA P-256 key, a CSK): the topology README's "Signed answers"
    /// describes.
    pub async fn signing_secondary_of(primary: SocketAddr, port: Option<u16>) -> Knot {
        let signing =
            "    dnssec-signing: on\n    dnssec-policy: csk\n    serial-policy: increment\n";
        Knot::start(primary, port, signing, None, true).await
    }

    /// Starts Knot with `zone_extra` lines in its zone section, and the
    /// TSIG key `key` on the remote and the NOTIFY ACL.
    async fn start(
        primary: SocketAddr,
        port: Option<u16>,
        zone_extra: &str,
        key: Option<(&str, &str)>,
        ready: bool,
    ) -> Knot {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = port.unwrap_or_else(free_dns_port);
        let d = dir.path().display();
        let (keys, use_key) = match key {
            Some((name, secret)) => (
                format!("key:\n  - id: {name}\n    algorithm: hmac-sha256\n    secret: {secret}\n"),
                format!("\n    key: {name}"),
            ),
            None => (String::new(), String::new()),
        };
        let conf = dir.path().join("knot.conf");
        let text = format!(
            r#"server:
    rundir: "{d}"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "{d}"
{keys}remote:
  - id: hale
    address: {ip}@{primary_port}{use_key}
acl:
  - id: notify_from_hale
    address: 127.0.0.1{use_key}
    action: notify
policy:
  - id: csk
    algorithm: ecdsap256sha256
    single-type-signing: on
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    journal-content: all
zone:
  - domain: example.com
    master: hale
    acl: notify_from_hale
{zone_extra}"#,
            ip = primary.ip(),
            primary_port = primary.port(),
        );
        std::fs::write(&conf, text).expect("write knot.conf");
        let log = dir.path().join("knot.log");
        let log_file = File::create(&log).expect("create knot.log");
        let binary = knot_binary();
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone log"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run Knot ({}: {e})", binary.display()));
        let mut knot = Knot {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
            _dir: dir,
        };
        if ready {
            knot.wait_ready().await;
        }
        knot
    }

    /// Polls an SOA query for example.com until Knot answers it (the zone
    /// transferred from hale).
    async fn wait_ready(&mut self) {
        let ask = Ask::new("example.com", RecordType::SOA).to_bytes();
        let start = Instant::now();
        while start.elapsed() < DEADLINE * 2 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("Knot exited with {status}:\n{}", self.log_text());
            }
            if let Some(reply) = udp_once(self.addr, &ask, Duration::from_millis(200)).await
                && Message::from_vec(&reply).is_ok_and(|m| !m.answers.is_empty())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "Knot did not serve the transferred zone within {:?}; its log:\n{}",
            DEADLINE * 2,
            self.log_text()
        );
    }

    /// What Knot logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
