//! One health probe against one target, by its scheme ([`Prober`]): here
//! HTTP(S), with the target's kept-alive connection, and the mapping from
//! what the network did to a pass or a [`ProbeError`], whose text is the
//! short human-readable failure reason (tcp probes are in `tcp`).
//! The TLS configurations and the wording of TLS failures are in
//! [`super::tls`].
//!
//! Why hyper's connection API and not a `reqwest::Client`: a probe must go to
//! the record's own IP with `host` as Host header and SNI, which reqwest can
//! only do with one client (pool, connector, resolver) per target; probing
//! 10,000 targets that way cost most of a core and 350 MiB. Here a target
//! holds at most one connection (a `SendRequest` and its task), opened with
//! tokio's `TcpStream` to the IP and tokio-rustls for TLS.

use std::error::Error as StdError;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper::header::{CONNECTION, HOST, HeaderValue, USER_AGENT};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde::Serialize;

use super::tls::{self, CertDateError, FirstBytes, TlsConfigs, Trust};
use super::{Scheme, TargetKey};

/// Bodies are searched for `expect_body` in this many leading bytes only, so a
/// backend answering with a huge page costs at most this much memory.
pub const MAX_BODY: usize = 64 * 1024;

/// The outcome of one probe, as shown in logs and on the admin /status page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbeResult {
    /// Whether the probe passed.
    pub ok: bool,
    /// `status 200` for a pass; for a failure a short reason such as
    /// `status 503, expected 200`, `timeout after 2s` or `connection refused`.
    pub reason: String,
    /// Time from sending the request to the verdict, in milliseconds.
    pub latency_ms: f64,
    /// When the verdict was reached.
    #[serde(serialize_with = "serialize_time")]
    pub at: SystemTime,
    /// https: when the backend's certificate expires, as last seen (kept
    /// when a probe fails before the handshake), so an expiry can be
    /// alerted on before `cert_min_days` takes the backend out.
    #[serde(
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub cert_expires: Option<SystemTime>,
}

/// Why a probe failed, or why a target cannot be probed at all. The Display
/// text is the reason logs and /status show, which operators, alerts and
/// tests match on: keep it short and keep it stable.
#[derive(thiserror::Error, Debug)]
pub(crate) enum ProbeError {
    /// The host is not a name rustls can send as SNI.
    #[error("http: invalid host {host:?} for TLS: {source}")]
    InvalidServerName {
        host: String,
        source: rustls::pki_types::InvalidDnsNameError,
    },
    /// The path does not form a request target.
    #[error("http: invalid probe path {path:?}: {source}")]
    InvalidPath {
        path: String,
        source: hyper::http::uri::InvalidUri,
    },
    /// The host cannot be sent as a Host header.
    #[error("http: invalid host {host:?}: {source}")]
    InvalidHost {
        host: String,
        source: hyper::header::InvalidHeaderValue,
    },
    /// The request could not be built.
    #[error("http: {0}")]
    Request(#[source] hyper::http::Error),
    /// The whole exchange did not finish within the probe's timeout.
    #[error("timeout after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// Nothing listens on the target's port.
    #[error("connection refused")]
    Refused(#[source] io::Error),
    /// tcp probes: no route to the host or its network.
    #[error("unreachable")]
    Unreachable(#[source] io::Error),
    /// TCP failed otherwise (unreachable, reset, ...).
    #[error("connect: {}", innermost(.0))]
    Connect(#[source] io::Error),
    /// The https probe's `ca_file` was never loaded (a bug: the load
    /// installs every file its checks name).
    #[error("tls: no TLS client for ca_file {}", .0.display())]
    NoTrust(std::path::PathBuf),
    /// rustls's own verdict (certificate, protocol), during the handshake or after.
    #[error("tls: {}", tls::describe(.0))]
    Tls(#[source] rustls::Error),
    /// The server's first bytes were not a TLS record.
    #[error("tls: {}", not_tls_reason(*.http, .first))]
    NotTls {
        /// They began with `HTTP/`.
        http: bool,
        /// What the server sent first.
        first: Vec<u8>,
        /// rustls's verdict on them.
        source: rustls::Error,
    },
    /// The connection failed under the TLS handshake (closed, reset).
    #[error("tls: {}", tls::describe_io(.0).map_or_else(|| innermost(.0), str::to_string))]
    TlsIo(#[source] io::Error),
    /// `cert_min_days`: the leaf certificate has expired (without `tls_verify`).
    #[error("tls: certificate expired on {}", tls::date(*.0))]
    CertExpired(SystemTime),
    /// `cert_min_days`: the leaf certificate expires too soon.
    #[error("tls: certificate expires on {}, within cert_min_days = {min_days}", tls::date(*.not_after))]
    CertExpiresSoon {
        not_after: SystemTime,
        min_days: u32,
    },
    /// `cert_min_days`: the leaf certificate's expiry cannot be read.
    #[error("tls: cannot read the certificate's expiry: {0}")]
    CertDate(#[source] CertDateError),
    /// HTTP/1.1 failed: a malformed or cut response, or the connection under it.
    #[error("http: {}", innermost(.0))]
    Http(#[source] hyper::Error),
    /// The status is not an accepted one.
    #[error("{}", status_reason(*.code, .location.as_deref(), .expected.as_deref()))]
    Status {
        code: u16,
        /// A redirect's `Location`, as sent.
        location: Option<Vec<u8>>,
        /// `expect_status`, when set.
        expected: Option<Vec<u16>>,
    },
    /// Without `expect_body`, the body went past [`MAX_BODY`].
    #[error("body larger than {} KiB", MAX_BODY / 1024)]
    BodyTooLarge,
    /// `expect_body` is not in the first [`MAX_BODY`] bytes.
    #[error("body mismatch: expected \"{}\", got \"{}\"", escape(.expected.as_bytes(), usize::MAX), escape(.got, SHOWN_BODY))]
    BodyMismatch {
        expected: String,
        /// The body's first bytes (as many as were read, up to [`MAX_BODY`]).
        got: Vec<u8>,
    },
}

/// What a server that did not speak TLS sent, in words.
fn not_tls_reason(http: bool, first: &[u8]) -> String {
    if http {
        "the server answered in plain HTTP, not TLS".to_string()
    } else {
        format!(
            "the server did not answer in TLS (it sent \"{}\")",
            escape(first, usize::MAX)
        )
    }
}

/// How much of a body, or of a `Location`, a reason shows.
const SHOWN_BODY: usize = 80;

/// `status 302 (Location: /login), expected 200`: the code, where a
/// redirect points, and what `expect_status` wanted.
fn status_reason(code: u16, location: Option<&[u8]>, expected: Option<&[u16]>) -> String {
    let mut text = format!("status {code}");
    if let Some(location) = location {
        text.push_str(&format!(" (Location: {})", escape(location, SHOWN_BODY)));
    }
    if let Some(list) = expected {
        let codes: Vec<String> = list.iter().map(u16::to_string).collect();
        let expected = match codes.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => codes.join(""),
        };
        text.push_str(&format!(", expected {expected}"));
    }
    text
}

/// At most `max` bytes of what a backend sent, safe in a one-line log: `"`,
/// `\` and control characters escaped as Rust does, bytes that are not
/// UTF-8 as `\xNN`, and `…` when there was more.
fn escape(bytes: &[u8], max: usize) -> String {
    let mut shown = &bytes[..bytes.len().min(max)];
    if shown.len() < bytes.len()
        && let Err(e) = std::str::from_utf8(shown)
        && e.error_len().is_none()
    {
        // Cut inside a character: show it whole or not at all.
        shown = &shown[..e.valid_up_to()];
    }
    let mut out = String::with_capacity(shown.len() + 8);
    for chunk in shown.utf8_chunks() {
        out.extend(chunk.valid().chars().flat_map(char::escape_debug));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if shown.len() < bytes.len() {
        out.push('…');
    }
    out
}

impl ProbeError {
    /// Sorts an I/O error of the TCP connect or the TLS handshake: a refusal
    /// and what rustls said are told apart from the rest, which `stage`
    /// (`Connect` or `TlsIo`) wraps.
    fn from_io(err: io::Error, stage: fn(io::Error) -> Self) -> Self {
        Self::from_handshake(err, &[], stage)
    }

    /// As [`Self::from_io`], where `first` is what the server sent first: a
    /// rustls complaint that it was not TLS then says what it was.
    fn from_handshake(err: io::Error, first: &[u8], stage: fn(io::Error) -> Self) -> Self {
        if let Some(tls) = rustls_error(&err)
            && tls::not_tls(tls)
        {
            return Self::NotTls {
                http: first.starts_with(b"HTTP/"),
                first: first.to_vec(),
                source: tls.clone(),
            };
        }
        if err.kind() == io::ErrorKind::ConnectionRefused {
            Self::Refused(err)
        } else if let Some(tls) = rustls_error(&err) {
            Self::Tls(tls.clone())
        } else {
            stage(err)
        }
    }
}

impl From<hyper::Error> for ProbeError {
    /// A refusal or a rustls error under hyper's reads and writes is reported
    /// as it would be at connect or handshake; anything else is hyper's.
    fn from(err: hyper::Error) -> Self {
        let (refused, tls) = match io_cause(&err) {
            Some(io) => (
                io.kind() == io::ErrorKind::ConnectionRefused,
                rustls_error(io).cloned(),
            ),
            None => (false, None),
        };
        if refused {
            // hyper cannot give up the `io::Error` it holds; this one keeps
            // the whole chain under it.
            Self::Refused(io::Error::new(io::ErrorKind::ConnectionRefused, err))
        } else if let Some(tls) = tls {
            Self::Tls(tls)
        } else {
            Self::Http(err)
        }
    }
}

/// Formats a wall-clock time as RFC 3339 UTC with milliseconds, readable in /status.
pub(crate) fn serialize_time<S: serde::Serializer>(
    t: &SystemTime,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

/// Everything needed to probe one target again and again, by its scheme.
pub(crate) enum Prober {
    /// http and https: [`HttpProber`].
    Http(Box<HttpProber>),
    /// tcp: a connect, in [`tcp`].
    Tcp(tcp::TcpProber),
}

impl Prober {
    /// Prepares the probe of one target. Fails only on a key that cannot form
    /// a request (config validation should have caught it).
    pub(crate) fn new(key: &TargetKey, tls: &TlsConfigs) -> Result<Self, ProbeError> {
        Ok(match key.scheme {
            Scheme::Tcp => Prober::Tcp(tcp::TcpProber::new(key)),
            Scheme::Http | Scheme::Https => Prober::Http(Box::new(HttpProber::new(key, tls)?)),
        })
    }

    /// Runs one probe, which must finish within `timeout`.
    pub(crate) async fn probe(&self, timeout: Duration) -> ProbeResult {
        match self {
            Prober::Http(http) => http.probe(timeout).await,
            Prober::Tcp(tcp) => tcp.probe(timeout).await,
        }
    }
}

/// The result of a probe that started at `start`: a pass with its reason,
/// or the failure's.
fn finish(start: Instant, verdict: Result<String, ProbeError>) -> ProbeResult {
    let latency = start.elapsed();
    let (ok, reason) = match verdict {
        Ok(reason) => (true, reason),
        Err(err) => (false, err.to_string()),
    };
    ProbeResult {
        ok,
        reason,
        latency_ms: (latency.as_secs_f64() * 1_000_000.0).round() / 1000.0,
        at: SystemTime::now(),
        cert_expires: None,
    }
}

/// Everything needed to probe one HTTP(S) target again and again.
pub(crate) struct HttpProber {
    /// The record's own IP and the check's port.
    addr: SocketAddr,
    /// For https: the trust and the name sent as SNI and verified.
    tls: Option<(Trust, ServerName<'static>)>,
    /// For https: fail while the leaf certificate expires within this many days.
    cert_min_days: Option<u32>,
    /// Path and query, in origin form.
    path: hyper::Uri,
    /// Sent as is, without the port, as the contract says "`host` as Host header".
    host_header: HeaderValue,
    /// Accepted statuses; `None` means any 2xx.
    expect_status: Option<Vec<u16>>,
    /// Substring required in the first [`MAX_BODY`] bytes.
    expect_body: Option<String>,
    /// The connection kept alive between probes, if any.
    idle: Mutex<Option<Connection>>,
    /// Probes sent, to end each connection after [`PROBES_PER_CONNECTION`].
    sent: std::sync::atomic::AtomicU32,
    /// https: when the leaf certificate of the last handshake expires.
    cert_expires: std::sync::Mutex<Option<SystemTime>>,
}

/// One open HTTP/1.1 connection: its request handle and the task driving it,
/// stopped (closing the socket) when this is dropped, whether the probe
/// finished, failed or was cut by its timeout.
struct Connection {
    sender: http1::SendRequest<Empty<Bytes>>,
    task: tokio::task::JoinHandle<()>,
    /// For https with `cert_min_days`: when the leaf certificate expires,
    /// checked on every probe the connection carries.
    not_after: Option<SystemTime>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Probes one kept-alive connection carries before hale asks the backend to
/// close it; the next probe then connects afresh, so a backend that stops
/// accepting connections is noticed within this many intervals even if it
/// keeps serving the connections it already has.
const PROBES_PER_CONNECTION: u32 = 8;

/// The User-Agent header of every probe (WAFs reject empty ones).
const PROBE_USER_AGENT: &str = concat!("hale/", env!("CARGO_PKG_VERSION"));

/// Wraps an IPv6 address in brackets, as Host headers need.
fn ip_authority(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

impl HttpProber {
    /// Prepares the probe of one http(s) target.
    fn new(key: &TargetKey, tls: &TlsConfigs) -> Result<Self, ProbeError> {
        let host = key.host.trim_end_matches('.');
        let host_ip = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .parse::<IpAddr>()
            .ok();
        // An IP-literal host is sent as the Host header as written; TLS then
        // verifies against the target IP, as for any IP URL.
        let (host_header, server_name) = match host_ip {
            Some(literal) => (ip_authority(literal), ServerName::from(key.ip)),
            None => (
                host.to_string(),
                ServerName::try_from(host.to_string()).map_err(|source| {
                    ProbeError::InvalidServerName {
                        host: host.to_string(),
                        source,
                    }
                })?,
            ),
        };
        let path = if key.path.starts_with('/') {
            key.path.clone()
        } else {
            format!("/{}", key.path)
        };
        let path = match path.parse::<hyper::Uri>() {
            Ok(uri) => uri,
            Err(source) => return Err(ProbeError::InvalidPath { path, source }),
        };
        let host_header =
            HeaderValue::from_str(&host_header).map_err(|source| ProbeError::InvalidHost {
                host: host.to_string(),
                source,
            })?;
        let tls = match key.scheme {
            Scheme::Http | Scheme::Tcp => None,
            Scheme::Https => {
                let ca_file = key.ca_file.as_deref();
                let trust = tls
                    .trust(key.tls_verify, ca_file)
                    .ok_or_else(|| ProbeError::NoTrust(ca_file.unwrap_or(Path::new("")).into()))?;
                Some((trust, server_name))
            }
        };
        Ok(Self {
            addr: SocketAddr::new(key.ip, key.port),
            tls,
            cert_min_days: key.cert_min_days.filter(|_| key.scheme == Scheme::Https),
            path,
            host_header,
            expect_status: key.expect_status.clone(),
            expect_body: key.expect_body.clone(),
            idle: Mutex::new(None),
            sent: std::sync::atomic::AtomicU32::new(0),
            cert_expires: std::sync::Mutex::new(None),
        })
    }

    /// Runs one probe; the whole exchange (connect, TLS, headers and the body
    /// read) must finish within `timeout`.
    async fn probe(&self, timeout: Duration) -> ProbeResult {
        let start = Instant::now();
        let verdict = tokio::time::timeout(timeout, self.exchange())
            .await
            .unwrap_or(Err(ProbeError::Timeout(timeout)));
        let mut result = finish(start, verdict.map(|status| format!("status {status}")));
        result.cert_expires = *self.cert_expires.lock().unwrap_or_else(|e| e.into_inner());
        result
    }

    /// Opens a connection to the target: TCP, TLS for https, HTTP/1.1.
    async fn connect(&self) -> Result<Connection, ProbeError> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| ProbeError::from_io(e, ProbeError::Connect))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => handshake(tcp, None).await,
            Some((trust, name)) => {
                let tls = trust
                    .connector()
                    .connect(name.clone(), FirstBytes::new(tcp))
                    .into_fallible()
                    .await
                    .map_err(|(e, io)| {
                        ProbeError::from_handshake(e, io.first(), ProbeError::TlsIo)
                    })?;
                let leaf = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
                // Read for every handshake (the metric of its expiry); only
                // `cert_min_days` makes an unreadable one a failure.
                let expires = leaf.map(tls::not_after);
                if let Some(Ok(at)) = &expires {
                    *self.cert_expires.lock().unwrap_or_else(|e| e.into_inner()) = Some(*at);
                }
                let not_after = match self.cert_min_days {
                    None => None,
                    Some(_) => {
                        let expires = expires
                            .ok_or(ProbeError::Tls(rustls::Error::NoCertificatesPresented))?;
                        Some(expires.map_err(ProbeError::CertDate)?)
                    }
                };
                handshake(tls, not_after).await
            }
        }
    }

    /// `cert_min_days` against the connection's leaf certificate.
    fn check_expiry(&self, conn: &Connection) -> Result<(), ProbeError> {
        let (Some(min_days), Some(not_after)) = (self.cert_min_days, conn.not_after) else {
            return Ok(());
        };
        let now = SystemTime::now();
        if not_after <= now {
            return Err(ProbeError::CertExpired(not_after));
        }
        let margin = Duration::from_secs(u64::from(min_days) * 24 * 3600);
        if not_after.duration_since(now).unwrap_or_default() < margin {
            return Err(ProbeError::CertExpiresSoon {
                not_after,
                min_days,
            });
        }
        Ok(())
    }

    fn request(
        &self,
        last_on_connection: bool,
    ) -> Result<hyper::Request<Empty<Bytes>>, ProbeError> {
        let mut request = hyper::Request::get(self.path.clone())
            .header(HOST, self.host_header.clone())
            .header(USER_AGENT, PROBE_USER_AGENT);
        if last_on_connection {
            request = request.header(CONNECTION, "close");
        }
        request.body(Empty::new()).map_err(ProbeError::Request)
    }

    /// The kept-alive connection, if it is still open and ready for a request.
    async fn reuse(&self) -> Option<Connection> {
        let mut conn = self.idle.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        conn.sender.ready().await.ok()?;
        Some(conn)
    }

    /// `expect_body` was not in `seen`, the body's first bytes.
    fn mismatch(&self, seen: Vec<u8>) -> ProbeError {
        // A few bytes past what the reason shows, so it can tell there was more.
        let mut got = seen;
        got.truncate(SHOWN_BODY + 4);
        ProbeError::BodyMismatch {
            expected: self.expect_body.clone().unwrap_or_default(),
            got,
        }
    }

    /// The request and its checks: the status for a pass, why not for a failure.
    async fn exchange(&self) -> Result<u16, ProbeError> {
        let sent = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let last_on_connection = sent % PROBES_PER_CONNECTION == PROBES_PER_CONNECTION - 1;
        let (mut conn, reused) = match self.reuse().await {
            Some(conn) => (conn, true),
            None => (self.connect().await?, false),
        };
        self.check_expiry(&conn)?;
        let response = match conn
            .sender
            .send_request(self.request(last_on_connection)?)
            .await
        {
            Ok(response) => response,
            // A kept-alive connection the backend closed as we sent on it
            // (its idle timeout met our interval) says nothing about the
            // backend: GET is idempotent, so ask once more on a new one.
            Err(_) if reused => {
                conn = self.connect().await?;
                self.check_expiry(&conn)?;
                conn.sender
                    .send_request(self.request(last_on_connection)?)
                    .await?
            }
            Err(e) => return Err(e.into()),
        };

        let status = response.status().as_u16();
        let status_ok = match &self.expect_status {
            Some(list) => list.contains(&status),
            None => (200..300).contains(&status),
        };
        if !status_ok {
            let location = response
                .status()
                .is_redirection()
                .then(|| response.headers().get(hyper::header::LOCATION))
                .flatten()
                .map(|l| l.as_bytes().to_vec());
            return Err(ProbeError::Status {
                code: status,
                location,
                expected: self.expect_status.clone(),
            });
        }

        // With `expect_body`, the verdict is known as soon as the needle
        // shows up in the first 64 KiB (the rest is never read, and the
        // connection is not kept). Without it, the whole body must arrive
        // within the timeout and fit in 64 KiB: a health endpoint that
        // trickles, streams or stops mid-body is not healthy, whatever its
        // status line said.
        let needle = self.expect_body.as_deref().map(str::as_bytes);
        let mut body = response.into_body();
        let mut seen: Vec<u8> = Vec::new();
        let mut length = 0;
        loop {
            if let Some(needle) = needle
                && contains(&seen, needle)
            {
                return Ok(status);
            }
            match body.frame().await {
                Some(Ok(frame)) => {
                    let Ok(chunk) = frame.into_data() else {
                        continue;
                    };
                    let room = MAX_BODY.saturating_sub(length);
                    length += chunk.len();
                    if let Some(needle) = needle {
                        seen.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        if length >= MAX_BODY && !contains(&seen, needle) {
                            return Err(self.mismatch(seen));
                        }
                    } else if length > MAX_BODY {
                        return Err(ProbeError::BodyTooLarge);
                    }
                }
                Some(Err(e)) => return Err(e.into()),
                None if needle.is_some() => return Err(self.mismatch(seen)),
                None => break,
            }
        }
        if !last_on_connection {
            *self.idle.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn);
        }
        Ok(status)
    }
}

/// HTTP/1.1 over an open stream; the connection's task runs until the
/// [`Connection`] is dropped or the peer closes.
async fn handshake<T>(io: T, not_after: Option<SystemTime>) -> Result<Connection, ProbeError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::Builder::new()
        // Bounds what a backend's headers can make us buffer.
        .max_buf_size(MAX_BODY)
        .handshake(TokioIo::new(io))
        .await?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Connection {
        sender,
        task,
        not_after,
    })
}

/// Substring search over bytes; the bodies are small (≤ 64 KiB).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The next error in a chain. `io::Error::source` skips the error it wraps,
/// so for an `io::Error` the wrapped error (where rustls puts its own) comes next.
fn next_cause<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    if let Some(io) = e.downcast_ref::<io::Error>()
        && let Some(inner) = io.get_ref()
    {
        return Some(inner);
    }
    e.source()
}

/// The deepest error in a chain: usually the one that says what really happened.
fn innermost(e: &(dyn StdError + 'static)) -> String {
    let mut cur = e;
    // Bounded in case some error type reports itself as its own source.
    for _ in 0..32 {
        match next_cause(cur) {
            Some(next) => cur = next,
            None => break,
        }
    }
    cur.to_string()
}

/// The first I/O error in a chain: under a hyper error, what the connection did.
fn io_cause<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a io::Error> {
    let mut cur = Some(err);
    // Bounded like `innermost`.
    for _ in 0..32 {
        let e = cur?;
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cur = next_cause(e);
    }
    None
}

/// The rustls error an I/O error carries: tokio-rustls reports rustls's
/// verdicts (certificate, protocol) as I/O errors wrapping them.
fn rustls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

#[cfg(test)]
pub(crate) mod test_server {
    //! A minimal HTTP/1.1 backend on 127.0.0.1 whose behaviour tests can change
    //! while it runs, and which records what it was sent.

    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// What the server does with each request.
    #[derive(Clone, Debug)]
    pub enum Reply {
        /// A complete response with this status, extra headers and body.
        Full(u16, Vec<(String, String)>, Vec<u8>),
        /// Accept and read the request, then never answer.
        Hang,
        /// Announce a body of `declared` bytes, send `sent`, then stall forever.
        Partial {
            /// The Content-Length announced.
            declared: usize,
            /// The bytes actually sent before stalling.
            sent: Vec<u8>,
        },
    }

    impl Reply {
        pub fn status(code: u16, body: &str) -> Self {
            Reply::Full(code, Vec::new(), body.as_bytes().to_vec())
        }
    }

    /// Shared between the server task and the test.
    pub struct Server {
        /// Where it listens.
        pub addr: SocketAddr,
        /// Requests received (counted once headers are read).
        pub hits: Arc<AtomicUsize>,
        /// Raw request heads, in order.
        pub requests: Arc<Mutex<Vec<String>>>,
        /// The current behaviour.
        pub reply: Arc<Mutex<Reply>>,
    }

    impl Server {
        pub async fn start(reply: Reply) -> Server {
            Self::start_on("127.0.0.1:0", reply)
                .await
                .expect("bind 127.0.0.1")
        }

        pub async fn start_on(bind: &str, reply: Reply) -> std::io::Result<Server> {
            let listener = TcpListener::bind(bind).await?;
            let addr = listener.local_addr()?;
            let hits = Arc::new(AtomicUsize::new(0));
            let requests = Arc::new(Mutex::new(Vec::new()));
            let reply = Arc::new(Mutex::new(reply));
            let (h, r, rep) = (hits.clone(), requests.clone(), reply.clone());
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, h.clone(), r.clone(), rep.clone()));
                }
            });
            Ok(Server {
                addr,
                hits,
                requests,
                reply,
            })
        }

        pub fn set(&self, reply: Reply) {
            *self.reply.lock().unwrap() = reply;
        }

        pub fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }

        /// The value of `name` in the last request.
        pub fn last_header(&self, name: &str) -> Option<String> {
            header(self.requests.lock().unwrap().last()?, name)
        }
    }

    pub fn header(head: &str, name: &str) -> Option<String> {
        head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    async fn serve(
        mut stream: TcpStream,
        hits: Arc<AtomicUsize>,
        requests: Arc<Mutex<Vec<String>>>,
        reply: Arc<Mutex<Reply>>,
    ) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        requests
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&buf).into_owned());
        hits.fetch_add(1, Ordering::SeqCst);
        let reply = reply.lock().unwrap().clone();
        match reply {
            Reply::Full(code, headers, body) => {
                let mut head = format!(
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            }
            Reply::Hang => std::future::pending::<()>().await,
            Reply::Partial { declared, sent } => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\n\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&sent).await;
                std::future::pending::<()>().await
            }
        }
    }
}

// The tcp probe: a connect and nothing else.
mod tcp;

#[cfg(test)]
mod tls_tests;

#[cfg(test)]
mod tests {
    use super::test_server::{Reply, Server};
    use super::*;
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    pub(super) fn key(addr: SocketAddr, host: &str) -> TargetKey {
        TargetKey {
            ip: addr.ip(),
            scheme: Scheme::Http,
            port: addr.port(),
            path: "/healthz".to_string(),
            host: host.to_string(),
            expect_status: None,
            expect_body: None,
            tls_verify: true,
            ca_file: None,
            cert_min_days: None,
        }
    }

    pub(super) fn prober(key: &TargetKey) -> Prober {
        let tls = TlsConfigs::new().expect("tls configs");
        Prober::new(key, &tls).expect("prober")
    }

    pub(super) const T: Duration = Duration::from_secs(5);

    /// A kept-alive connection carries at most PROBES_PER_CONNECTION probes:
    /// the last one asks the backend to close, the next one reconnects.
    #[tokio::test]
    async fn connections_are_reused_then_replaced() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let closes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (a, c) = (accepted.clone(), closes.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let c = c.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    loop {
                        let Ok(n) = stream.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        buf.drain(..end + 4);
                        let close = head.contains("connection: close");
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if stream.write_all(reply).await.is_err() {
                            return;
                        }
                        if close {
                            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            return;
                        }
                    }
                });
            }
        });
        let p = prober(&key(addr, "www.example.test"));
        let probes = 2 * PROBES_PER_CONNECTION as usize;
        for _ in 0..probes {
            assert!(p.probe(T).await.ok);
        }
        assert_eq!(closes.load(std::sync::atomic::Ordering::SeqCst), 2);
        let connections = accepted.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            connections >= 2 && connections < probes,
            "{connections} connections"
        );
    }

    #[tokio::test]
    async fn passes_on_200_ok() {
        let server = Server::start(Reply::status(200, "ok")).await;
        let mut k = key(server.addr, "www.example.test");
        k.expect_body = Some("ok".into());
        let r = prober(&k).probe(T).await;
        assert!(r.ok, "{r:?}");
        assert_eq!(r.reason, "status 200");
        assert!(r.latency_ms >= 0.0);
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn fails_on_503() {
        let server = Server::start(Reply::status(503, "down")).await;
        let r = prober(&key(server.addr, "www.example.test")).probe(T).await;
        assert!(!r.ok);
        assert_eq!(r.reason, "status 503");
    }

    #[tokio::test]
    async fn a_status_outside_expect_status_says_what_was_expected() {
        let server = Server::start(Reply::status(503, "down")).await;
        let mut k = key(server.addr, "www.example.test");
        k.expect_status = Some(vec![200]);
        assert_eq!(prober(&k).probe(T).await.reason, "status 503, expected 200");
        k.expect_status = Some(vec![200, 204, 301]);
        assert_eq!(
            prober(&k).probe(T).await.reason,
            "status 503, expected 200, 204 or 301"
        );
    }

    #[tokio::test]
    async fn expect_status_list_is_exact() {
        let server = Server::start(Reply::status(204, "")).await;
        let mut k = key(server.addr, "www.example.test");
        assert!(prober(&k).probe(T).await.ok);
        k.expect_status = Some(vec![200]);
        assert_eq!(prober(&k).probe(T).await.reason, "status 204, expected 200");
        server.set(Reply::status(418, ""));
        k.expect_status = Some(vec![200, 418]);
        assert!(prober(&k).probe(T).await.ok);
    }

    #[tokio::test]
    async fn times_out_against_a_silent_server() {
        let server = Server::start(Reply::Hang).await;
        let timeout = Duration::from_millis(300);
        let r = prober(&key(server.addr, "www.example.test"))
            .probe(timeout)
            .await;
        assert!(!r.ok);
        assert_eq!(r.reason, "timeout after 300ms");
        assert!(r.latency_ms >= 300.0, "{r:?}");
        assert!(r.latency_ms < 3000.0, "{r:?}");
    }

    #[tokio::test]
    async fn connection_refused_on_a_closed_port() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let r = prober(&key(addr, "www.example.test")).probe(T).await;
        assert!(!r.ok);
        assert_eq!(r.reason, "connection refused");
    }

    #[tokio::test]
    async fn body_mismatch() {
        let server = Server::start(Reply::status(200, "maintenance")).await;
        let mut k = key(server.addr, "www.example.test");
        k.expect_body = Some("ok".into());
        let r = prober(&k).probe(T).await;
        assert!(!r.ok);
        assert_eq!(
            r.reason,
            r#"body mismatch: expected "ok", got "maintenance""#
        );
    }

    #[tokio::test]
    async fn body_mismatch_shows_80_bytes_escaped() {
        // Quotes, a line break, an escape sequence and bytes that are not
        // UTF-8 must not break the log line; past 80 bytes, an ellipsis.
        let mut body = b"Service \"Unavailable\"\r\n\x1b[31m\xff\xfe caf\xc3\xa9 ".to_vec();
        body.resize(200, b'.');
        let server = Server::start(Reply::Full(503, Vec::new(), body)).await;
        let mut k = key(server.addr, "www.example.test");
        k.expect_status = Some(vec![503]);
        k.expect_body = Some("ok \"now\"".into());
        let r = prober(&k).probe(T).await;
        assert!(!r.ok);
        let dots = ".".repeat(80 - 37);
        assert_eq!(
            r.reason,
            format!(
                r#"body mismatch: expected "ok \"now\"", got "Service \"Unavailable\"\r\n\u{{1b}}[31m\xff\xfe café {dots}…""#
            )
        );
    }

    #[tokio::test]
    async fn redirect_is_not_followed() {
        let location = vec![("Location".to_string(), "/elsewhere".to_string())];
        let server = Server::start(Reply::Full(302, location, Vec::new())).await;
        let r = prober(&key(server.addr, "www.example.test")).probe(T).await;
        assert!(!r.ok);
        assert_eq!(r.reason, "status 302 (Location: /elsewhere)");
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn a_redirect_shows_its_target_and_what_was_expected() {
        let location = vec![(
            "Location".to_string(),
            "https://example.com/login".to_string(),
        )];
        let server = Server::start(Reply::Full(301, location, Vec::new())).await;
        let mut k = key(server.addr, "www.example.test");
        assert_eq!(
            prober(&k).probe(T).await.reason,
            "status 301 (Location: https://example.com/login)"
        );
        k.expect_status = Some(vec![200]);
        assert_eq!(
            prober(&k).probe(T).await.reason,
            "status 301 (Location: https://example.com/login), expected 200"
        );
    }

    #[tokio::test]
    async fn sends_host_user_agent_and_path_to_the_ip() {
        let server = Server::start(Reply::status(200, "ok")).await;
        let r = prober(&key(server.addr, "www.example.test."))
            .probe(T)
            .await;
        assert!(r.ok, "{r:?}");
        assert_eq!(
            server.last_header("host").as_deref(),
            Some("www.example.test")
        );
        let ua = server.last_header("user-agent").unwrap();
        assert_eq!(ua, format!("hale/{}", env!("CARGO_PKG_VERSION")));
        let head = server.requests.lock().unwrap().last().cloned().unwrap();
        assert!(head.starts_with("GET /healthz HTTP/1.1\r\n"), "{head}");
    }

    #[tokio::test]
    async fn ip_literal_host_connects_to_the_target() {
        let server = Server::start(Reply::status(200, "ok")).await;
        let r = prober(&key(server.addr, "192.0.2.7")).probe(T).await;
        assert!(r.ok, "{r:?}");
        assert_eq!(server.last_header("host").as_deref(), Some("192.0.2.7"));
    }

    #[tokio::test]
    async fn ipv6_target_is_reached_over_ipv6() {
        // Skipped where the machine has no IPv6 loopback.
        let Ok(server) = Server::start_on("[::1]:0", Reply::status(200, "ok")).await else {
            return;
        };
        let r = prober(&key(server.addr, "www.example.test")).probe(T).await;
        assert!(r.ok, "{r:?}");
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn big_body_is_not_read_to_the_end() {
        // A 1 MB body of which only the first 128 KiB ever arrive: a probe that
        // wanted the whole body would time out.
        let mut sent = b"ok".to_vec();
        sent.resize(128 * 1024, b'x');
        let server = Server::start(Reply::Partial {
            declared: 1024 * 1024,
            sent,
        })
        .await;
        let mut k = key(server.addr, "www.example.test");
        k.expect_body = Some("ok".into());
        let r = prober(&k).probe(T).await;
        assert!(r.ok, "{r:?}");
    }

    #[tokio::test]
    async fn needle_past_64_kib_is_a_mismatch() {
        let mut sent = vec![b'x'; MAX_BODY];
        sent.extend_from_slice(b"ok");
        sent.resize(128 * 1024, b'x');
        let server = Server::start(Reply::Partial {
            declared: 1024 * 1024,
            sent,
        })
        .await;
        let mut k = key(server.addr, "www.example.test");
        k.expect_body = Some("ok".into());
        let r = prober(&k).probe(T).await;
        let shown = "x".repeat(80);
        assert_eq!(
            r.reason,
            format!(r#"body mismatch: expected "ok", got "{shown}…""#)
        );
    }

    #[tokio::test]
    async fn needle_split_across_chunks_is_found() {
        let mut sent = vec![b'x'; 40 * 1024];
        sent.extend_from_slice(b"healthy");
        let declared = sent.len();
        let server = Server::start(Reply::Partial { declared, sent }).await;
        let mut k = key(server.addr, "www.example.test");
        k.expect_body = Some("healthy".into());
        assert!(prober(&k).probe(T).await.ok);
    }

    #[tokio::test]
    async fn no_dns_lookups_ever() {
        // The name resolves nowhere: probes connect to the target IP, never look names up.
        let server = Server::start(Reply::status(200, "ok")).await;
        let k = key(server.addr, "backend.invalid");
        assert!(prober(&k).probe(T).await.ok);
    }

    #[test]
    fn display_of_keys() {
        let mut k = key(
            SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 8080)),
            "www.example.com",
        );
        assert_eq!(
            k.to_string(),
            "http://192.0.2.1:8080/healthz (host www.example.com)"
        );
        k.ip = "2001:db8::1".parse().unwrap();
        k.scheme = Scheme::Https;
        assert_eq!(
            k.to_string(),
            "https://[2001:db8::1]:8080/healthz (host www.example.com)"
        );
    }
}
