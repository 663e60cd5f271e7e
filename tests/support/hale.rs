//! [`Hale`]: hale started in-process on the test's tokio runtime, with its
//! config and zone files in a temporary folder, queried over real sockets.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hale::dns::Loaded;
use hale::server::ReloadError;
use hale::server::{Running, start};
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::dns::{Ask, a_addrs, decode};

/// How long one UDP attempt waits for its answer before sending again.
const UDP_ATTEMPT: Duration = Duration::from_secs(3);
/// UDP attempts before giving up.
const UDP_ATTEMPTS: usize = 4;
/// How long a whole TCP exchange may take.
const TCP_EXCHANGE: Duration = Duration::from_secs(10);
/// How long [`Hale::query_raw_udp`] waits before deciding there is no reply.
const NO_REPLY_WAIT: Duration = Duration::from_secs(2);

/// A running in-process hale and the folder holding its files.
pub struct Hale {
    dir: TempDir,
    config_path: PathBuf,
    running: Option<Running>,
    dns: SocketAddr,
    admin: Option<SocketAddr>,
    http: reqwest::Client,
}

/// Writes `hale.toml` and every `zones/<file>` (subfolders allowed) into `dir`;
/// returns the config's path.
pub fn write_files(dir: &Path, config: &str, zones: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir.join("zones")).expect("create zones folder");
    for (file, text) in zones {
        write(&dir.join("zones").join(file), text);
    }
    let config_path = dir.join("hale.toml");
    write(&config_path, config);
    config_path
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folder");
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

impl Hale {
    /// Writes the files, loads them (panicking with hale's message on error)
    /// and starts serving on the current runtime.
    pub async fn start(config: &str, zones: &[(&str, &str)]) -> Hale {
        Hale::try_start(config, zones)
            .await
            .unwrap_or_else(|e| panic!("load failed: {e}"))
    }

    /// [`Hale::start`], but a config or zone that does not load is handed
    /// back as hale's error message instead of a panic.
    pub async fn try_start(config: &str, zones: &[(&str, &str)]) -> Result<Hale, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_path = write_files(dir.path(), config, zones);
        let loaded = Loaded::load(&config_path).map_err(|e| e.to_string())?;
        let running = start(loaded, config_path.clone())
            .await
            .unwrap_or_else(|e| panic!("start failed: {e}"));
        let dns = *running.dns_addrs().first().expect("a DNS address");
        let admin = running.admin_addr();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        Ok(Hale {
            dir,
            config_path,
            running: Some(running),
            dns,
            admin,
            http,
        })
    }

    /// The folder with `hale.toml` and `zones/`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The admin listener's address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.expect("config has an [admin] listener")
    }

    /// The DNS address (UDP and TCP).
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("hale is running")
    }

    /// Replaces `hale.toml` (takes effect on [`Hale::reload`]).
    pub fn rewrite_config(&self, text: &str) {
        write(&self.config_path, text);
    }

    /// Replaces (or adds) `zones/<file>` (takes effect on [`Hale::reload`]).
    pub fn rewrite_zone(&self, file: &str, text: &str) {
        write(&self.dir().join("zones").join(file), text);
    }

    /// Reloads config and zones, as SIGHUP does.
    pub async fn reload(&self) -> Result<(), ReloadError> {
        self.running().reload().await
    }

    /// Stops hale and starts it again from the same files (new ports).
    pub async fn restart(mut self) -> Hale {
        if let Some(running) = self.running.take() {
            tokio::time::timeout(Duration::from_secs(30), running.shutdown())
                .await
                .expect("shutdown finished in time");
        }
        let loaded = Loaded::load(&self.config_path).unwrap_or_else(|e| panic!("load failed: {e}"));
        let running = start(loaded, self.config_path.clone())
            .await
            .unwrap_or_else(|e| panic!("start failed: {e}"));
        self.dns = *running.dns_addrs().first().expect("a DNS address");
        self.admin = running.admin_addr();
        self.running = Some(running);
        self
    }

    /// Stops the server and waits for it to drain.
    pub async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            tokio::time::timeout(Duration::from_secs(30), running.shutdown())
                .await
                .expect("shutdown finished in time");
        }
    }

    /// `name`/`qtype` over UDP, no EDNS.
    pub async fn udp(&self, name: &str, qtype: RecordType) -> Message {
        self.ask_udp(&Ask::new(name, qtype)).await
    }

    /// `name`/`qtype` over TCP, no EDNS.
    pub async fn tcp(&self, name: &str, qtype: RecordType) -> Message {
        self.ask_tcp(&Ask::new(name, qtype)).await
    }

    /// Sends `ask` over UDP and parses the answer; checks id and QR.
    pub async fn ask_udp(&self, ask: &Ask) -> Message {
        let bytes = self.udp_exchange(&ask.to_bytes()).await;
        checked(ask, decode(&bytes))
    }

    /// Sends `ask` over TCP and parses the answer; checks id and QR.
    pub async fn ask_tcp(&self, ask: &Ask) -> Message {
        let bytes = self.tcp_exchange(&ask.to_bytes()).await;
        checked(ask, decode(&bytes))
    }

    /// Sends raw bytes over UDP and returns the raw answer, resending on
    /// loss; panics when hale never answers.
    pub async fn udp_exchange(&self, query: &[u8]) -> Vec<u8> {
        udp_exchange_on(&self.client_socket().await, query).await
    }

    /// The A addresses `name` answers with over UDP, sorted.
    pub async fn a_sorted(&self, name: &str) -> Vec<Ipv4Addr> {
        let mut addrs = a_addrs(&self.udp(name, RecordType::A).await);
        addrs.sort();
        addrs
    }

    /// Sends raw bytes over UDP once; `None` when nothing comes back within 2 s.
    pub async fn query_raw_udp(&self, query: &[u8]) -> Option<Vec<u8>> {
        let socket = self.client_socket().await;
        socket.send(query).await.expect("udp send");
        let mut buf = vec![0u8; 65535];
        match tokio::time::timeout(NO_REPLY_WAIT, socket.recv(&mut buf)).await {
            Ok(Ok(n)) => Some(buf[..n].to_vec()),
            Ok(Err(e)) => panic!("udp receive: {e}"),
            Err(_) => None,
        }
    }

    /// Sends raw bytes over TCP with the 2-byte length prefix; returns the raw answer.
    pub async fn tcp_exchange(&self, query: &[u8]) -> Vec<u8> {
        tcp_exchange(self.dns, query).await
    }

    async fn client_socket(&self) -> UdpSocket {
        self.client_socket_from("127.0.0.1").await
    }

    /// A UDP socket bound to `ip` (any port) and connected to hale: a client
    /// with its own source address.
    pub async fn client_socket_from(&self, ip: &str) -> UdpSocket {
        let socket = UdpSocket::bind((ip, 0)).await.expect("bind udp client");
        socket.connect(self.dns).await.expect("connect udp client");
        socket
    }

    /// Runs `hale ctl ARGS` (the compiled binary) against this hale, with
    /// its config: exit code, stdout and stderr.
    pub async fn ctl(&self, args: &[&str]) -> (i32, String, String) {
        let admin = self.admin.expect("config has an [admin] listener");
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hale"))
            .arg("--config")
            .arg(&self.config_path)
            .arg("ctl")
            .arg("--admin")
            .arg(admin.to_string())
            .args(args)
            .output()
            .await
            .expect("run hale ctl");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// GET `path` on the admin listener; returns status and body.
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        self.admin_request(reqwest::Method::GET, path).await
    }

    /// POSTs to `path` on the admin listener: status and body.
    pub async fn admin_post(&self, path: &str) -> (u16, String) {
        self.admin_request(reqwest::Method::POST, path).await
    }

    async fn admin_request(&self, method: reqwest::Method, path: &str) -> (u16, String) {
        let admin = self.admin.expect("config has an [admin] listener");
        let response = self
            .http
            .request(method.clone(), format!("http://{admin}{path}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        (status, response.text().await.expect("admin body"))
    }

    /// The value of the metric sample `series` (name with its labels exactly
    /// as rendered, e.g. `hale_tcp_connections`); panics when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let body = self.metrics_text().await;
        sample(&body, series).unwrap_or_else(|| panic!("no {series} in /metrics:\n{body}"))
    }

    /// A counter sample such as `hale_tcp_closed_total{reason="evicted"}`:
    /// labelled counters appear once first counted, so absent means 0.
    pub async fn counter(&self, series: &str) -> f64 {
        sample(&self.metrics_text().await, series).unwrap_or(0.0)
    }

    async fn metrics_text(&self) -> String {
        let (code, body) = self.admin_get("/metrics").await;
        assert_eq!(code, 200, "/metrics answered {code}: {body}");
        body
    }

    /// The `/status` document.
    pub async fn status(&self) -> serde_json::Value {
        let (code, body) = self.admin_get("/status").await;
        assert_eq!(code, 200, "/status answered {code}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("/status is not JSON ({e}): {body}"))
    }

    /// The `/status` entry of the target behind `address` of checked `name`.
    pub async fn target_status(&self, name: &str, address: &str) -> serde_json::Value {
        let status = self.status().await;
        find_target(&status, name, address)
            .unwrap_or_else(|| panic!("no target {address} of {name} in /status: {status:#}"))
    }
}

fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse::<f64>().ok())?
    })
}

/// The `/status` entry of the target behind `address` of checked `name`.
pub fn find_target(
    status: &serde_json::Value,
    name: &str,
    address: &str,
) -> Option<serde_json::Value> {
    let checks = status["checks"].as_array()?;
    let entry = checks.iter().find(|c| c["name"] == name)?;
    entry["targets"]
        .as_array()?
        .iter()
        .find(|t| t["address"] == address)
        .cloned()
}

/// Sends raw bytes on `socket` (connected to a server) and returns the
/// answer with the same ID, resending on loss; panics when none comes.
pub async fn udp_exchange_on(socket: &UdpSocket, query: &[u8]) -> Vec<u8> {
    for _ in 0..UDP_ATTEMPTS {
        socket.send(query).await.expect("udp send");
        if let Some(answer) = receive_matching(socket, query, UDP_ATTEMPT).await {
            return answer;
        }
    }
    panic!(
        "no UDP answer from {:?} to {query:02x?}",
        socket.peer_addr()
    );
}

/// Waits for a datagram answering `query` (same id); `None` on timeout.
async fn receive_matching(socket: &UdpSocket, query: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65535];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let n = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => panic!("udp receive: {e}"),
            Err(_) => return None,
        };
        if n >= 2 && query.len() >= 2 && buf[..2] == query[..2] {
            return Some(buf[..n].to_vec());
        }
    }
}

/// Checks what every response must satisfy: same id, QR set, RA clear
/// (hale never recurses), and hands the message back.
fn checked(ask: &Ask, msg: Message) -> Message {
    assert_eq!(msg.metadata.id, ask.id, "response id");
    assert_eq!(
        msg.metadata.message_type,
        hickory_proto::op::MessageType::Response,
        "QR must be set"
    );
    assert!(
        !msg.metadata.recursion_available,
        "RA must be clear: {msg:?}"
    );
    msg
}

/// Sends raw bytes to `addr` over TCP with the 2-byte length prefix and
/// returns the raw answer; panics on failure or after [`TCP_EXCHANGE`].
pub async fn tcp_exchange(addr: SocketAddr, query: &[u8]) -> Vec<u8> {
    let mut stream = match tokio::time::timeout(TCP_EXCHANGE, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => panic!("TCP exchange with {addr} failed: {e}"),
        Err(_) => panic!("no TCP connection to {addr} within {TCP_EXCHANGE:?}"),
    };
    send_framed(&mut stream, query).await;
    read_framed(&mut stream).await
}

/// A TCP connection to `addr` from source address `source` (any port): a
/// client of its own, as hale's per-prefix rules see it.
pub async fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(source.parse().expect("source address"), 0))
        .expect("bind the source address");
    socket.connect(addr).await.expect("connect")
}

/// Writes `message` on `stream` with its 2-byte length prefix (RFC 1035 §4.2.2).
pub async fn send_framed(stream: &mut TcpStream, message: &[u8]) {
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(message);
    stream.write_all(&framed).await.expect("TCP write");
}

/// Reads one length-prefixed message from `stream`; panics on failure or
/// after [`TCP_EXCHANGE`].
pub async fn read_framed(stream: &mut TcpStream) -> Vec<u8> {
    try_read_framed(stream)
        .await
        .unwrap_or_else(|e| panic!("TCP read: {e}"))
}

/// [`read_framed`], its failure said rather than panicked.
pub async fn try_read_framed(stream: &mut TcpStream) -> Result<Vec<u8>, String> {
    let read = async {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut message = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut message).await?;
        Ok::<_, std::io::Error>(message)
    };
    match tokio::time::timeout(TCP_EXCHANGE, read).await {
        Ok(Ok(message)) => Ok(message),
        Ok(Err(e)) => Err(format!("no answer: {e}")),
        Err(_) => Err(format!("no answer within {TCP_EXCHANGE:?}")),
    }
}
