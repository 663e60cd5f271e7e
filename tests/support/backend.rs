//! [`Backend`]: a minimal HTTP/1.1 server on one 127.0.x.y address that a
//! test switches between healthy and the ways a real server fails.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::fresh_ip;

/// How a backend answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 200 with body `ok`.
    Healthy,
    /// This status with body `failing`.
    Status(u16),
    /// Accepts and reads the request, never answers.
    Hang,
    /// Waits this long, then 200 `ok`.
    Slow(Duration),
    /// 302 to `/elsewhere` (which itself answers 200 `ok`, so following it would pass).
    Redirect,
    /// 200 with body `nope`.
    WrongBody,
    /// Not listening: connections are refused. Leaving this mode listens
    /// again on the same address.
    Closed,
    /// 200 announcing 100 bytes of body, sent one byte a second.
    Trickle,
    /// 200 with a 100 MB body, sent as fast as the prober takes it.
    Huge,
    /// 302 to the very path asked.
    RedirectLoop,
    /// 200 announcing 100 bytes, then the connection closes after 2.
    CutMidBody,
    /// The connection closes in the middle of the response headers.
    CutMidHeaders,
    /// Bytes that are not HTTP at all.
    Garbage,
    /// 200 `ok` and 503 in turn, one each per request.
    Flapping,
}

/// What the backend remembers about its requests.
struct Seen {
    mode: Mutex<Mode>,
    requests: AtomicUsize,
    last_host: Mutex<Option<String>>,
    last_user_agent: Mutex<Option<String>>,
    last_path: Mutex<Option<String>>,
    /// Ends every connection task when the backend is dropped.
    stop: CancellationToken,
}

/// A fake HTTP server probed by hale.
pub struct Backend {
    addr: SocketAddr,
    seen: Arc<Seen>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

/// The IPv4 addresses of `backends`, sorted: what an answer naming all of
/// them holds.
pub fn v4_sorted(backends: &[&Backend]) -> Vec<Ipv4Addr> {
    let mut ips: Vec<Ipv4Addr> = backends
        .iter()
        .map(|b| match b.addr().ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(ip) => panic!("{ip} is not IPv4"),
        })
        .collect();
    ips.sort();
    ips
}

/// `n` backends on fresh 127.0.x.y addresses sharing one port, as the
/// addresses of one checked name share its check's `port`.
pub async fn backends(n: usize) -> Vec<Backend> {
    let ips: Vec<IpAddr> = (0..n).map(|_| IpAddr::V4(fresh_ip())).collect();
    'port: for _ in 0..50 {
        let first = Backend::start(ips[0]).await;
        let port = first.addr.port();
        let mut all = vec![first];
        for ip in &ips[1..] {
            match Backend::start_on(SocketAddr::new(*ip, port)) {
                Ok(b) => all.push(b),
                Err(_) => continue 'port,
            }
        }
        return all;
    }
    panic!("no port free on all of {ips:?}");
}

/// Binds a listening socket with SO_REUSEADDR so it can be reopened at once.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(256)
}

impl Backend {
    /// A healthy backend on `ip` and an ephemeral port.
    pub async fn start(ip: IpAddr) -> Backend {
        Backend::start_on(SocketAddr::new(ip, 0)).unwrap_or_else(|e| panic!("listen on {ip}: {e}"))
    }

    /// A healthy backend on exactly `addr` (port 0 picks one).
    pub fn start_on(addr: SocketAddr) -> io::Result<Backend> {
        let listener = listen(addr)?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Seen {
            mode: Mutex::new(Mode::Healthy),
            requests: AtomicUsize::new(0),
            last_host: Mutex::new(None),
            last_user_agent: Mutex::new(None),
            last_path: Mutex::new(None),
            stop: CancellationToken::new(),
        });
        let accept = tokio::spawn(accept_loop(listener, seen.clone()));
        Ok(Backend {
            addr,
            seen,
            accept: Mutex::new(Some(accept)),
        })
    }

    /// Where it listens (or listened, while closed).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its IP, as written in the zone.
    pub fn ip(&self) -> String {
        self.addr.ip().to_string()
    }

    /// Its port, as written in the check.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Switches how it answers; `Closed` stops listening and any other mode
    /// after `Closed` listens again on the same address.
    pub async fn set_mode(&self, mode: Mode) {
        if mode == Mode::Closed {
            // Stop listening first: set the mode before and a connection
            // accepted in between would be closed unanswered, which is not
            // "refused" (a target's first result is its verdict at once).
            let handle = self.accept.lock().unwrap().take();
            if let Some(handle) = handle {
                handle.abort();
                // The listener is closed once the task is gone.
                let _ = handle.await;
            }
            *self.seen.mode.lock().unwrap() = mode;
            return;
        }
        *self.seen.mode.lock().unwrap() = mode.clone();
        let mut accept = self.accept.lock().unwrap();
        if accept.is_none() {
            let listener =
                listen(self.addr).unwrap_or_else(|e| panic!("listen again on {}: {e}", self.addr));
            *accept = Some(tokio::spawn(accept_loop(listener, self.seen.clone())));
        }
    }

    /// Requests seen so far (whatever the mode).
    pub fn requests(&self) -> usize {
        self.seen.requests.load(Ordering::SeqCst)
    }

    /// Host header of the latest request.
    pub fn last_host(&self) -> Option<String> {
        self.seen.last_host.lock().unwrap().clone()
    }

    /// User-Agent header of the latest request.
    pub fn last_user_agent(&self) -> Option<String> {
        self.seen.last_user_agent.lock().unwrap().clone()
    }

    /// Path of the latest request.
    pub fn last_path(&self) -> Option<String> {
        self.seen.last_path.lock().unwrap().clone()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.seen.stop.cancel();
        if let Some(handle) = self.accept.lock().unwrap().take() {
            handle.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, seen: Arc<Seen>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let seen = seen.clone();
        tokio::spawn(async move {
            let stop = seen.stop.clone();
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = serve(stream, &seen) => {}
            }
        });
    }
}

/// Reads one request head and answers it according to the current mode.
async fn serve(mut stream: TcpStream, seen: &Seen) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("")
        .to_string();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            let v = Some(v.trim().to_string());
            match k.trim().to_ascii_lowercase().as_str() {
                "host" => *seen.last_host.lock().unwrap() = v,
                "user-agent" => *seen.last_user_agent.lock().unwrap() = v,
                _ => {}
            }
        }
    }
    *seen.last_path.lock().unwrap() = Some(path.clone());
    let nth = seen.requests.fetch_add(1, Ordering::SeqCst);

    let mode = seen.mode.lock().unwrap().clone();
    let (status, extra, body) = match mode {
        Mode::Healthy => (200, "", "ok"),
        Mode::Status(code) => (code, "", "failing"),
        Mode::Hang => {
            // Hold the connection until the prober gives up and closes it.
            while stream.read(&mut buf).await? > 0 {}
            return Ok(());
        }
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            (200, "", "ok")
        }
        Mode::Redirect if path == "/elsewhere" => (200, "", "ok"),
        Mode::Redirect => (302, "Location: /elsewhere\r\n", ""),
        Mode::WrongBody => (200, "", "nope"),
        Mode::Flapping if nth.is_multiple_of(2) => (200, "", "ok"),
        Mode::Flapping => (503, "", "failing"),
        Mode::Closed => return Ok(()),
        Mode::Trickle => {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            for _ in 0..100 {
                stream.write_all(b"o").await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            return Ok(());
        }
        Mode::Huge => {
            let total = 100 * 1024 * 1024;
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n");
            stream.write_all(head.as_bytes()).await?;
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..total / chunk.len() {
                stream.write_all(&chunk).await?;
            }
            return Ok(());
        }
        Mode::RedirectLoop => {
            let response = format!(
                "HTTP/1.1 302 Found\r\nLocation: {path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(response.as_bytes()).await?;
            return stream.shutdown().await;
        }
        Mode::CutMidBody => {
            let response = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nok";
            stream.write_all(response.as_bytes()).await?;
            return stream.shutdown().await;
        }
        Mode::CutMidHeaders => {
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Le").await?;
            return stream.shutdown().await;
        }
        Mode::Garbage => {
            stream
                .write_all(b"\x16\x03\x01\xff\xfe garbage \x00\r\n\r\nok")
                .await?;
            return stream.shutdown().await;
        }
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
