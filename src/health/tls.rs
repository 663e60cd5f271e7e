//! Owns the TLS side of probes: the client configurations every probe
//! shares (the built-in roots, each `ca_file`'s roots, or no verification),
//! the leaf certificate's expiry for `cert_min_days`, and the wording of TLS
//! failures as reasons an operator can act on without knowing rustls.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::HealthError;
use crate::config::CaFile;

/// The TLS client configurations probes share: what is expensive to build
/// (the parsed root store, the certificate verifier, the crypto provider)
/// exists once per kind of trust, not per probe or per target.
pub(crate) struct TlsConfigs {
    /// What every configuration is built with.
    provider: Arc<CryptoProvider>,
    /// Verifies the certificate against `host` with the webpki roots.
    verified: Arc<ClientConfig>,
    /// Accepts any certificate, for `tls_verify = false` (self-signed backends).
    insecure: Arc<ClientConfig>,
    /// Verifies against the roots of one `ca_file`, by its path. Each load
    /// puts the file as it read it into the slot, which probers of targets
    /// that outlive the reload hold too: a renewed CA counts at once.
    private: Mutex<HashMap<PathBuf, Arc<ArcSwap<ClientConfig>>>>,
}

/// The trust one prober uses, taken at each new connection.
#[derive(Clone)]
pub(crate) enum Trust {
    /// The built-in roots, or no verification.
    Fixed(Arc<ClientConfig>),
    /// A `ca_file`'s roots, as the last load read them.
    Private(Arc<ArcSwap<ClientConfig>>),
}

impl Trust {
    /// A connector with the configuration in force now.
    pub(crate) fn connector(&self) -> tokio_rustls::TlsConnector {
        match self {
            Trust::Fixed(config) => config.clone().into(),
            Trust::Private(slot) => slot.load_full().into(),
        }
    }
}

impl TlsConfigs {
    pub(crate) fn new() -> Result<Self, HealthError> {
        // ring, like the provider reqwest's `rustls-tls` feature compiles in;
        // passing it explicitly avoids depending on a process-wide default.
        let provider = Arc::new(rustls::crypto::ring::default_provider());

        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let verified = verifying(&provider, roots)?;

        let any_cert = AcceptAnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        };
        let insecure = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(any_cert))
            .with_no_client_auth();

        Ok(Self {
            provider,
            verified: Arc::new(verified),
            insecure: Arc::new(probe_tls(insecure)),
            private: Mutex::new(HashMap::new()),
        })
    }

    /// Builds one configuration per distinct `ca_file` of a load (the
    /// config shares one [`CaFile`] between the checks naming the file) and
    /// puts it in that file's slot.
    pub(crate) fn install<'a>(
        &self,
        cas: impl IntoIterator<Item = &'a CaFile>,
    ) -> Result<(), HealthError> {
        let mut done = HashSet::new();
        let mut private = self.private.lock().unwrap_or_else(|e| e.into_inner());
        for ca in cas {
            if !done.insert(ca.path.clone()) {
                continue;
            }
            let config = Arc::new(verifying(&self.provider, (*ca.roots).clone())?);
            match private.get(&ca.path) {
                Some(slot) => slot.store(config),
                None => {
                    private.insert(ca.path.clone(), Arc::new(ArcSwap::new(config)));
                }
            }
        }
        Ok(())
    }

    /// The trust of an https probe: no verification, a `ca_file`'s roots
    /// (`None` if no load installed that file), or the built-in roots.
    pub(crate) fn trust(&self, verify: bool, ca_file: Option<&Path>) -> Option<Trust> {
        match (verify, ca_file) {
            (false, _) => Some(Trust::Fixed(self.insecure.clone())),
            (true, None) => Some(Trust::Fixed(self.verified.clone())),
            (true, Some(path)) => self
                .private
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(path)
                .map(|slot| Trust::Private(slot.clone())),
        }
    }
}

/// A configuration verifying certificates against `roots`.
fn verifying(
    provider: &Arc<CryptoProvider>,
    roots: rustls::RootCertStore,
) -> Result<ClientConfig, rustls::Error> {
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(probe_tls(config))
}

/// Settings every configuration shares.
fn probe_tls(mut config: ClientConfig) -> ClientConfig {
    // Probes speak HTTP/1.1 only: offering h2 would only invite a protocol
    // they do not speak.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // A full handshake on every probe notices a replaced or expired
    // certificate at once, and targets sharing a host name (several backends
    // behind one name) never try each other's session tickets.
    config.resumption = rustls::client::Resumption::disabled();
    config
}

/// Certificate "verifier" for `tls_verify = false`: trusts any certificate
/// but still checks the handshake signatures, so the TLS session itself is sound.
#[derive(Debug)]
struct AcceptAnyCertificate {
    /// The provider's signature algorithms, to check handshake signatures.
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A stream that keeps the first bytes the server sent, so that a failed
/// handshake can tell a plain-HTTP answer (`HTTP/1.1 400 ...`) from other
/// garbage: rustls only says the record was not TLS.
pub(crate) struct FirstBytes<S> {
    inner: S,
    first: Vec<u8>,
}

/// How many leading bytes [`FirstBytes`] keeps: enough for `HTTP/`.
const FIRST_BYTES: usize = 8;

impl<S> FirstBytes<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            first: Vec::with_capacity(FIRST_BYTES),
        }
    }

    /// What the server sent first (at most [`FIRST_BYTES`] bytes).
    pub(crate) fn first(&self) -> &[u8] {
        &self.first
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FirstBytes<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        let room = FIRST_BYTES - this.first.len();
        if room > 0 {
            let new = &buf.filled()[before..];
            this.first.extend_from_slice(&new[..new.len().min(room)]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FirstBytes<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Whether rustls's error means the first record was not TLS at all.
pub(crate) fn not_tls(err: &rustls::Error) -> bool {
    matches!(
        err,
        rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType
                | rustls::InvalidMessage::UnknownProtocolVersion
        )
    )
}

/// rustls's verdict in words (after `tls: `), for the failures an operator
/// meets; the rest in rustls's own words.
pub(crate) fn describe(err: &rustls::Error) -> String {
    use rustls::Error as E;
    match err {
        E::InvalidCertificate(cert) => describe_certificate(cert),
        E::AlertReceived(alert) => {
            format!("the server refused the handshake ({})", words(alert))
        }
        E::PeerIncompatible(why) => format!("the server is incompatible: {}", words(why)),
        E::PeerMisbehaved(why) => format!("the server misbehaved: {}", words(why)),
        E::NoCertificatesPresented => "the server sent no certificate".into(),
        E::InvalidMessage(why) => format!("malformed TLS message ({})", words(why)),
        other => other.to_string(),
    }
}

fn describe_certificate(err: &CertificateError) -> String {
    use CertificateError as C;
    match err {
        C::UnknownIssuer => {
            "certificate signed by an unknown authority (set ca_file to trust a private CA)".into()
        }
        C::ExpiredContext { not_after, .. } => {
            format!("certificate expired on {}", date(unix(*not_after)))
        }
        C::Expired => "certificate expired".into(),
        C::NotValidYetContext { not_before, .. } => {
            format!("certificate not valid before {}", date(unix(*not_before)))
        }
        C::NotValidYet => "certificate not valid yet".into(),
        C::NotValidForNameContext {
            expected,
            presented,
        } => {
            let names = if presented.is_empty() {
                "no name".to_string()
            } else {
                let names: Vec<&str> = presented.iter().map(|n| presented_name(n)).collect();
                names.join(", ")
            };
            format!(
                "certificate is not valid for {} (it names {names})",
                expected.to_str()
            )
        }
        C::NotValidForName => "certificate is not valid for the host".into(),
        C::BadSignature => "certificate has a bad signature".into(),
        C::BadEncoding => "certificate is malformed".into(),
        C::Revoked => "certificate revoked".into(),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "certificate is not for TLS servers (extended key usage)".into()
        }
        C::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
            Some(webpki::Error::CaUsedAsEndEntity) => {
                "the server's certificate is a CA certificate, not one for a server".into()
            }
            Some(
                webpki::Error::PathLenConstraintViolated | webpki::Error::MaximumPathDepthExceeded,
            ) => "certificate chain too long".into(),
            Some(why) => format!("certificate: {}", words(why)),
            None => format!("certificate: {other}"),
        },
        other => format!("certificate: {}", words(other)),
    }
}

/// A name of a certificate as webpki presents it (`DnsName("a.example")`,
/// `IpAddress(192.0.2.1)`), without the wrapping.
fn presented_name(name: &str) -> &str {
    let inner = name
        .split_once('(')
        .filter(|(kind, _)| kind.bytes().all(|b| b.is_ascii_alphabetic()))
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(name);
    inner
        .strip_prefix('"')
        .and_then(|i| i.strip_suffix('"'))
        .unwrap_or(inner)
}

/// An I/O error under the handshake in words, for the common ones.
pub(crate) fn describe_io(err: &io::Error) -> Option<&'static str> {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => {
            Some("the server closed the connection during the handshake")
        }
        io::ErrorKind::ConnectionReset => {
            Some("the server reset the connection during the handshake")
        }
        _ => None,
    }
}

/// When the leaf certificate `der` stops being valid.
pub(crate) fn not_after(der: &CertificateDer<'_>) -> Result<SystemTime, CertDateError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())?;
    let secs = cert.validity().not_after.timestamp();
    let secs = u64::try_from(secs).map_err(|_| CertDateError::BeforeEpoch)?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Why the leaf certificate's expiry could not be read.
#[derive(thiserror::Error, Debug)]
pub(crate) enum CertDateError {
    /// Not a certificate x509-parser can read.
    #[error("{0}")]
    Parse(#[from] x509_parser::nom::Err<x509_parser::error::X509Error>),
    /// A notAfter no real certificate has.
    #[error("its notAfter is before 1970")]
    BeforeEpoch,
}

fn unix(t: UnixTime) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(t.as_secs())
}

/// The UTC date of `t`, as `2026-01-02`.
pub(crate) fn date(t: SystemTime) -> String {
    let mut text = humantime::format_rfc3339_seconds(t).to_string();
    text.truncate("2026-01-02".len());
    text
}

/// A Debug name such as `HandshakeFailure` or `CaUsedAsEndEntity` as words:
/// `handshake failure`, `ca used as end entity`. Fields, if any, are dropped.
fn words(value: &impl std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("");
    let mut out = String::with_capacity(name.len() + 8);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    if out.is_empty() { debug } else { out }
}
