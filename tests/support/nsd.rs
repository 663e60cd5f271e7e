//! [`Nsd`]: a real NSD (4.x, as `apt-get install nsd` ships it; `$NSD`
//! overrides the binary) on a free loopback port, serving zone files the
//! tests also give hale, for the comparisons in `nsd_interop` and
//! `nsd_corpus`.

use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use tempfile::TempDir;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::{Ask, DEADLINE, free_dns_port};

/// The NSD binary: `$NSD` when set, else the Debian path, else `nsd` on PATH.
pub fn nsd_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NSD") {
        return PathBuf::from(path);
    }
    let debian = Path::new("/usr/sbin/nsd");
    if debian.exists() {
        return debian.to_path_buf();
    }
    PathBuf::from("nsd")
}

/// Whether the NSD binary can be run at all.
pub fn nsd_available() -> bool {
    super::tools::runs(nsd_binary(), "-v")
}

/// Whether NSD can run; else says why `what` is skipped (or fails, when
/// `HALE_REQUIRE_NSD` is set, as `.ci/run` sets it).
pub fn nsd_or_skip(what: &str) -> bool {
    nsd_available()
        || super::tools::skip(
            "NSD not found: install it (`apt-get install nsd`) or point $NSD at the binary",
            "HALE_REQUIRE_NSD",
            what,
        )
}

/// A running NSD in its own folder; stopped (with its children) on drop.
pub struct Nsd {
    child: Child,
    /// Where it listens (UDP and TCP).
    pub addr: SocketAddr,
    log: PathBuf,
    _dir: TempDir,
}

impl Nsd {
    /// Starts NSD on a free loopback port serving `zone_file` (relative to
    /// `zones_dir`) as `example.com`, and waits until it answers.
    pub async fn start(zones_dir: &Path, zone_file: &str) -> Nsd {
        let zone = format!("    zonefile: \"{zone_file}\"\n");
        Nsd::start_with(zones_dir, &zone, None).await
    }

    /// Starts NSD with `zone` as the lines of its `example.com` zone (on
    /// `port`, or a free one), and waits until it answers for the zone.
    pub async fn start_with(zones_dir: &Path, zone: &str, port: Option<u16>) -> Nsd {
        let zones = format!("zone:\n    name: \"example.com\"\n{zone}");
        Nsd::start_zones(zones_dir, &zones, "example.com", port).await
    }

    /// Starts NSD with `zones` (`zone:` clauses, file names relative to
    /// `zones_dir`) on `port` or a free one, and waits until it answers the
    /// SOA query of the zone `ready`. NSD loads every zone before it answers
    /// any, and one that it cannot load is logged and left out.
    pub async fn start_zones(zones_dir: &Path, zones: &str, ready: &str, port: Option<u16>) -> Nsd {
        let mut last_log = String::new();
        // A port found free can be taken by someone else before NSD binds it: retry.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = port.unwrap_or_else(free_dns_port);
            let conf = dir.path().join("nsd.conf");
            let d = dir.path().display();
            let text = format!(
                r#"server:
    port: {port}
    ip-address: 127.0.0.1
    zonesdir: "{zones_dir}"
    username: ""
    chroot: ""
    pidfile: "{d}/nsd.pid"
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    verbosity: 1
remote-control:
    control-enable: no
{zones}"#,
                zones_dir = zones_dir.display(),
            );
            std::fs::write(&conf, text).expect("write nsd.conf");
            let log = dir.path().join("nsd.log");
            let log_file = File::create(&log).expect("create nsd.log");
            let binary = nsd_binary();
            let child = Command::new(&binary)
                .arg("-d")
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("clone log"))
                .stderr(log_file)
                // Its own process group, so that drop stops NSD's forked children too.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot run NSD ({}: {e}). This test compares hale with NSD 4: \
                         install it (`apt-get install nsd`) or point $NSD at the binary",
                        binary.display()
                    )
                });
            let mut nsd = Nsd {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                log,
                _dir: dir,
            };
            if nsd.wait_ready(ready).await {
                return nsd;
            }
            last_log = nsd.log_text();
        }
        panic!("NSD did not start; its last log:\n{last_log}");
    }

    /// Polls an SOA query for `zone` until NSD answers it; false if NSD exited.
    async fn wait_ready(&mut self, zone: &str) -> bool {
        let ask = Ask::new(zone, RecordType::SOA);
        let start = Instant::now();
        while start.elapsed() < DEADLINE * 2 {
            if let Ok(Some(status)) = self.child.try_wait() {
                eprintln!(
                    "NSD exited with {status} during start-up:\n{}",
                    self.log_text()
                );
                return false;
            }
            if let Some(reply) =
                udp_once(self.addr, &ask.to_bytes(), Duration::from_millis(200)).await
                && Message::from_vec(&reply).is_ok_and(|m| !m.answers.is_empty())
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "NSD did not answer an SOA query within {:?}; its log:\n{}",
            DEADLINE * 2,
            self.log_text()
        );
    }

    /// What NSD logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` to NSD's main process, or to its whole process group.
    fn signal(&self, signal: &str, group: bool) {
        let pid = self.child.id();
        let target = if group {
            format!("-{pid}")
        } else {
            pid.to_string()
        };
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg("--")
            .arg(target)
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Nsd {
    fn drop(&mut self) {
        // SIGTERM to the main process: it stops and reaps its server and xfrd
        // children. Whatever is left after it exits (or after 5 s) is killed.
        self.signal("TERM", false);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal("KILL", true);
        let _ = self.child.wait();
    }
}

/// One UDP datagram out, the matching answer back, or `None` after `wait`.
pub async fn udp_once(addr: SocketAddr, query: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind udp client");
    socket.connect(addr).await.expect("connect udp client");
    socket.send(query).await.expect("udp send");
    let mut buf = vec![0u8; 65535];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Ok(Ok(n)) if n >= 2 && buf[..2] == query[..2] => return Some(buf[..n].to_vec()),
            Ok(Ok(_)) => continue,
            // ICMP port unreachable while a server is starting.
            Ok(Err(_)) | Err(_) => return None,
        }
    }
}

/// The A addresses `www.example.com` has at the server `addr` (a secondary
/// in the NSD and Knot tests), sorted; none when it does not answer.
pub async fn www_at(addr: SocketAddr) -> Vec<String> {
    let www = Ask::new("www.example.com", RecordType::A).to_bytes();
    let Some(reply) = udp_once(addr, &www, Duration::from_secs(2)).await else {
        return Vec::new();
    };
    let mut ips: Vec<String> = super::decode(&reply)
        .answers
        .iter()
        .map(|r| r.data.to_string())
        .collect();
    ips.sort();
    ips
}
