//! Owns the tcp probe (`scheme = "tcp"`): a pass is a TCP connect to the
//! target's address and port completed within the timeout. Nothing is sent
//! and the socket is closed at once, so any service that accepts
//! connections (a database, SMTP, a TLS port) can be checked without
//! speaking its protocol.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{ProbeError, ProbeResult, TargetKey, finish};

/// The reason of a passing tcp probe.
pub(crate) const CONNECTED: &str = "connected";

/// Everything a tcp probe needs: where to connect.
pub(crate) struct TcpProber {
    addr: SocketAddr,
}

impl TcpProber {
    /// The probe of `key` (its address and port; the rest of a tcp key is empty).
    pub(crate) fn new(key: &TargetKey) -> TcpProber {
        TcpProber {
            addr: SocketAddr::new(key.ip, key.port),
        }
    }

    /// Connects within `timeout`, then closes.
    pub(crate) async fn probe(&self, timeout: Duration) -> ProbeResult {
        let start = Instant::now();
        let verdict = match tokio::time::timeout(timeout, TcpStream::connect(self.addr)).await {
            // Dropped here: a plain close, as any client that changed its mind.
            Ok(Ok(_stream)) => Ok(CONNECTED.to_string()),
            Ok(Err(e)) => Err(connect_error(e)),
            Err(_) => Err(ProbeError::Timeout(timeout)),
        };
        finish(start, verdict)
    }
}

/// A failed connect, in the words every probe uses for it.
fn connect_error(err: io::Error) -> ProbeError {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => ProbeError::Refused(err),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            ProbeError::Unreachable(err)
        }
        _ => ProbeError::Connect(err),
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn key(addr: SocketAddr) -> TargetKey {
        TargetKey::tcp(addr.ip(), addr.port())
    }

    const T: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_completed_connect_passes_and_sends_nothing() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let prober = TcpProber::new(&key(listener.local_addr().unwrap()));
        let result = prober.probe(T).await;
        assert!(result.ok, "{result:?}");
        assert_eq!(result.reason, "connected");
        // The probe's connection arrives, carries no byte and is closed.
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let n = tokio::io::AsyncReadExt::read_to_end(&mut conn, &mut buf)
            .await
            .unwrap();
        assert_eq!(n, 0, "a tcp probe sends nothing");
    }

    #[tokio::test]
    async fn a_closed_port_is_refused() {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let result = TcpProber::new(&key(addr)).probe(T).await;
        assert!(!result.ok);
        assert_eq!(result.reason, "connection refused");
    }

    #[tokio::test]
    async fn ipv6_is_probed_over_ipv6() {
        let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
            return; // No IPv6 loopback here.
        };
        let addr = listener.local_addr().unwrap();
        assert!(matches!(addr.ip(), IpAddr::V6(_)));
        let result = TcpProber::new(&key(addr)).probe(T).await;
        assert_eq!((result.ok, result.reason.as_str()), (true, "connected"));
        drop(listener);
        let result = TcpProber::new(&key(addr)).probe(T).await;
        assert_eq!(result.reason, "connection refused");
    }

    #[test]
    fn reasons_of_failed_connects() {
        let reason = |kind| connect_error(io::Error::from(kind)).to_string();
        assert_eq!(reason(io::ErrorKind::HostUnreachable), "unreachable");
        assert_eq!(reason(io::ErrorKind::NetworkUnreachable), "unreachable");
        assert_eq!(
            reason(io::ErrorKind::ConnectionRefused),
            "connection refused"
        );
        assert_eq!(
            ProbeError::Timeout(Duration::from_millis(300)).to_string(),
            "timeout after 300ms"
        );
    }
}
