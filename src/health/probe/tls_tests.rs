//! The TLS side of probes against real rustls servers: trust (built-in
//! roots, a `ca_file`, none), `cert_min_days`, and the reason of each TLS
//! failure as operators read it. Certificates are made here with rcgen,
//! except two fixed self-signed ones.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, date_time_ymd};

use super::test_server::header;
use super::tests::{T, key, prober};
use super::*;
use crate::config::CaFile;

/// A blocking rustls server on a thread, with a self-signed certificate.
const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBvjCCAWSgAwIBAgIURw+A8d+2mYZkAe0Cdz0XQASWiNowCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQd3d3LmV4YW1wbGUudGVzdDAgFw0yNjExMjIxNTMxNDFaGA8y
MTI2MTAyOTE1MzE0MVowGzEZMBcGA1UEAwwQd3d3LmV4YW1wbGUudGVzdDBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABDTg2TaQ7iRk/kj8EgeiHC98tIRUCgnFdXEy
BN6OHGbLxsOMAPGT40NK0cug0axXFGM5G240eNx4gx2vlFD4Xo+jgYMwgYAwHQYD
VR0OBBYEFCoIG/4o0QrATAKBCzpWCDD/OhZnMB8GA1UdIwQYMBaAFCoIG/4o0QrA
TAKBCzpWCDD/OhZnMBsGA1UdEQQUMBKCEHd3dy5leGFtcGxlLnRlc3QwDAYDVR0T
AQH/BAIwADATBgNVHSUEDDAKBggrBgEFBQcDATAKBggqhkjOPQQDAgNIADBFAiA7
CmVoA0CVvqSNqKlpma76f3Ml0HQTd8A7XtLHIegHfQIhAO7MEZVc7AyuEnPG7uQF
/WRuzvHo5l0NbCHGsyvsRIpe
-----END CERTIFICATE-----
";
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgftE1SgfGlsdR7T34
mlzHA6S5DEtPPQXwxIeBHg0hHAGhRANCAAQ04Nk2kO4kZP5I/BIHohwvfLSEVAoJ
xXVxMgTejhxmy8bDjADxk+NDStHLoNGsVxRjORtuNHjceIMdr5RQ+F6P
-----END PRIVATE KEY-----
";

/// What the TLS server saw: (SNI, request head) per connection that completed a handshake.
type Seen = Arc<std::sync::Mutex<Vec<(Option<String>, String)>>>;

/// An expired self-signed certificate for www.example.test (valid 2020-01-01 to 2020-01-02).
const EXPIRED_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBZjCCAQugAwIBAgIUXdw2wXn1PGfb0U/jSL7stn53P9MwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQd3d3LmV4YW1wbGUudGVzdDAeFw0yMDAxMDEwMDAwMDBaFw0y
MDAxMDIwMDAwMDBaMBsxGTAXBgNVBAMMEHd3dy5leGFtcGxlLnRlc3QwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAATJoTKZiw84OJmciYc7uAHeNQaFVsgm2t9d4lP7
dUURPZ1lI+9me2aoRkPO2+xeWoyqkArR8sAZCjRqeC6eJQLeoy0wKzAbBgNVHREE
FDASghB3d3cuZXhhbXBsZS50ZXN0MAwGA1UdEwEB/wQCMAAwCgYIKoZIzj0EAwID
SQAwRgIhAMiiya3/7wsjpr/+dpAzXo7WPUzP7ST6EltnJSryqc6LAiEA/O1KSR6w
Ldkdqg2qiEcIOMMuAWH8xx7QHcLne9iwtMU=
-----END CERTIFICATE-----
";
const EXPIRED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJVcx7Z9fqxLGxE7e
alq3CLz4w/G1ENShCORefz6LfT6hRANCAATJoTKZiw84OJmciYc7uAHeNQaFVsgm
2t9d4lP7dUURPZ1lI+9me2aoRkPO2+xeWoyqkArR8sAZCjRqeC6eJQLe
-----END PRIVATE KEY-----
";

fn tls_server() -> (SocketAddr, Seen) {
    tls_server_with(CERT, KEY)
}

fn tls_server_with(cert: &str, key: &str) -> (SocketAddr, Seen) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::io::{Read, Write};

    let cert = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { continue };
            let (config, seen) = (config.clone(), seen2.clone());
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let sni = tls.conn.server_name().map(str::to_string);
                let head = String::from_utf8_lossy(&buf).into_owned();
                seen.lock().unwrap().push((sni, head));
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn https_without_verification_accepts_self_signed_and_sends_sni() {
    let (addr, seen) = tls_server();
    let mut k = key(addr, "www.example.test");
    k.scheme = Scheme::Https;
    k.tls_verify = false;
    k.expect_body = Some("ok".into());
    let r = prober(&k).probe(T).await;
    assert!(r.ok, "{r:?}");
    let seen = seen.lock().unwrap();
    let (sni, head) = seen.last().unwrap();
    assert_eq!(sni.as_deref(), Some("www.example.test"));
    assert_eq!(header(head, "host").as_deref(), Some("www.example.test"));
}

/// A private CA, written as a PEM file for `ca_file`.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    /// Holds the CA file.
    dir: tempfile::TempDir,
}

impl Pki {
    /// A CA named `name` (CAs are found by name: two of one name would
    /// meet as a bad signature, not an unknown issuer).
    fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Pki { ca, dir }
    }

    fn ca_path(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A leaf for `names`, valid until `not_after` (year, month, day):
    /// (certificate PEM, key PEM).
    fn leaf(&self, names: &[&str], not_after: (i32, u8, u8)) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.not_before = date_time_ymd(2000, 1, 1);
        params.not_after = date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A prober trusting this CA through `ca_file`, as a load installs it.
    fn prober(&self, k: &mut TargetKey) -> Prober {
        let ca = CaFile::read(&self.ca_path()).unwrap();
        let tls = TlsConfigs::new().unwrap();
        tls.install([&ca]).unwrap();
        k.ca_file = Some(self.ca_path());
        Prober::new(k, &tls).unwrap()
    }
}

fn https(addr: SocketAddr) -> TargetKey {
    let mut k = key(addr, "www.example.test");
    k.scheme = Scheme::Https;
    k
}

const UNKNOWN_CA: &str =
    "tls: certificate signed by an unknown authority (set ca_file to trust a private CA)";

#[tokio::test]
async fn ca_file_trusts_a_private_ca_the_builtin_roots_do_not() {
    let pki = Pki::new("hale test CA");
    let (cert, key) = pki.leaf(&["www.example.test"], (2100, 1, 2));
    let (addr, _seen) = tls_server_with(&cert, &key);
    let r = pki.prober(&mut https(addr)).probe(T).await;
    assert!(r.ok, "{r:?}");
    assert_eq!(r.reason, "status 200");

    let r = prober(&https(addr)).probe(T).await;
    assert!(!r.ok);
    assert_eq!(r.reason, UNKNOWN_CA);
}

#[tokio::test]
async fn ca_file_replaces_the_builtin_roots() {
    // A certificate of another private CA is unknown under this ca_file.
    let pki = Pki::new("hale test CA");
    let other = Pki::new("another test CA");
    let (cert, key) = other.leaf(&["www.example.test"], (2100, 1, 2));
    let (addr, _seen) = tls_server_with(&cert, &key);
    let r = pki.prober(&mut https(addr)).probe(T).await;
    assert_eq!(r.reason, UNKNOWN_CA);
}

#[tokio::test]
async fn self_signed_is_an_unknown_authority() {
    let (addr, _seen) = tls_server();
    let r = prober(&https(addr)).probe(T).await;
    assert!(!r.ok);
    assert_eq!(r.reason, UNKNOWN_CA);
}

#[tokio::test]
async fn an_expired_certificate_gives_its_date() {
    let pki = Pki::new("hale test CA");
    let (cert, key) = pki.leaf(&["www.example.test"], (2026, 1, 2));
    let (addr, _seen) = tls_server_with(&cert, &key);
    let r = pki.prober(&mut https(addr)).probe(T).await;
    assert!(!r.ok);
    assert_eq!(r.reason, "tls: certificate expired on 2026-01-02");

    // A self-signed one: its expiry is found before its issuer is looked for.
    let (addr, _seen) = tls_server_with(EXPIRED_CERT, EXPIRED_KEY);
    let mut k = https(addr);
    let r = prober(&k).probe(T).await;
    assert_eq!(r.reason, "tls: certificate expired on 2020-01-02");
    // Without verification (self-signed backends), the handshake itself is sound.
    k.tls_verify = false;
    assert!(prober(&k).probe(T).await.ok);
}

#[tokio::test]
async fn a_certificate_for_another_name_names_both() {
    let pki = Pki::new("hale test CA");
    let names = ["other.example.test", "*.apps.example.test"];
    let (cert, key) = pki.leaf(&names, (2100, 1, 2));
    let (addr, _seen) = tls_server_with(&cert, &key);
    let r = pki.prober(&mut https(addr)).probe(T).await;
    assert_eq!(
        r.reason,
        "tls: certificate is not valid for www.example.test \
         (it names other.example.test, *.apps.example.test)"
    );
}

#[tokio::test]
async fn a_ca_certificate_as_the_server_certificate() {
    let pki = Pki::new("hale test CA");
    let mut params = CertificateParams::new(vec!["www.example.test".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &pki.ca).unwrap();
    let (addr, _seen) = tls_server_with(&cert.pem(), &key.serialize_pem());
    let r = pki.prober(&mut https(addr)).probe(T).await;
    assert_eq!(
        r.reason,
        "tls: the server's certificate is a CA certificate, not one for a server"
    );
}

#[tokio::test]
async fn cert_min_days_fails_a_certificate_expiring_within_them() {
    // Valid until 2100-01-02: fewer than 100,000 days away, more than 30.
    let pki = Pki::new("hale test CA");
    let (cert, key) = pki.leaf(&["www.example.test"], (2100, 1, 2));
    let (addr, _seen) = tls_server_with(&cert, &key);
    let mut k = https(addr);
    k.cert_min_days = Some(100_000);
    let r = pki.prober(&mut k).probe(T).await;
    assert!(!r.ok);
    assert_eq!(
        r.reason,
        "tls: certificate expires on 2100-01-02, within cert_min_days = 100000"
    );
    k.cert_min_days = Some(30);
    let r = pki.prober(&mut k).probe(T).await;
    assert!(r.ok, "{r:?}");

    // Without verification too.
    let mut k = https(addr);
    k.tls_verify = false;
    k.cert_min_days = Some(100_000);
    let r = prober(&k).probe(T).await;
    assert_eq!(
        r.reason,
        "tls: certificate expires on 2100-01-02, within cert_min_days = 100000"
    );
    k.cert_min_days = Some(30);
    assert!(prober(&k).probe(T).await.ok);
}

#[tokio::test]
async fn cert_min_days_without_verification_fails_an_expired_certificate() {
    let (addr, _seen) = tls_server_with(EXPIRED_CERT, EXPIRED_KEY);
    let mut k = https(addr);
    k.tls_verify = false;
    k.cert_min_days = Some(1);
    let r = prober(&k).probe(T).await;
    assert_eq!(r.reason, "tls: certificate expired on 2020-01-02");
}

#[tokio::test]
async fn https_against_plain_http_says_so() {
    // Like a real HTTP server, answer the unparseable ClientHello with a 400.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                .await;
        }
    });
    let r = prober(&https(addr)).probe(T).await;
    assert!(!r.ok);
    assert_eq!(r.reason, "tls: the server answered in plain HTTP, not TLS");
}

#[tokio::test]
async fn https_against_another_protocol_shows_its_first_bytes() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
        }
    });
    let r = prober(&https(addr)).probe(T).await;
    assert_eq!(
        r.reason,
        r#"tls: the server did not answer in TLS (it sent "SSH-2.0-")"#
    );
}

#[tokio::test]
async fn a_server_closing_during_the_handshake() {
    // Reads the whole ClientHello record (so closing sends FIN, not RST), then closes.
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = [0u8; 5];
            if stream.read_exact(&mut head).await.is_err() {
                continue;
            }
            let mut record = vec![0u8; usize::from(u16::from_be_bytes([head[3], head[4]]))];
            let _ = stream.read_exact(&mut record).await;
        }
    });
    let r = prober(&https(addr)).probe(T).await;
    assert_eq!(
        r.reason,
        "tls: the server closed the connection during the handshake"
    );
}

#[tokio::test]
async fn every_https_probe_reports_when_the_certificate_expires() {
    let pki = Pki::new("hale test CA");
    let (cert, key) = pki.leaf(&["www.example.test"], (2100, 1, 2));
    let (addr, _seen) = tls_server_with(&cert, &key);
    let prober = pki.prober(&mut https(addr));
    let r = prober.probe(T).await;
    assert!(r.ok, "{r:?}");
    let expires = humantime::parse_rfc3339("2100-01-02T00:00:00Z").unwrap();
    assert_eq!(r.cert_expires, Some(expires), "without cert_min_days too");
    // On the kept-alive connection as well.
    assert_eq!(prober.probe(T).await.cert_expires, Some(expires));
}
