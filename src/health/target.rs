//! Owns the identity of a target: everything that decides a probe's
//! outcome ([`TargetKey`]), so that names sharing one are probed once, and
//! what the config asks of it ([`TargetSpec`]).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::config::{CaFile, Canary, Probe, Schedule, Scheme};

/// Everything that decides a probe's outcome; two checks sharing a key share one prober.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TargetKey {
    /// Where probes connect: the zone's A/AAAA record's address, or the
    /// one `probe_address` maps it to.
    pub ip: IpAddr,
    /// HTTP, HTTPS or TCP (whose key has no path, host or expectations).
    pub scheme: Scheme,
    /// TCP port.
    pub port: u16,
    /// Request path, starting with '/'.
    pub path: String,
    /// Host header and TLS SNI, no trailing dot.
    pub host: String,
    /// Accepted statuses; `None` means any 2xx.
    pub expect_status: Option<Vec<u16>>,
    /// Substring required in the first 64 KiB of the body.
    pub expect_body: Option<String>,
    /// For https: verify the certificate against `host`.
    pub tls_verify: bool,
    /// For https: the `ca_file` whose CAs are trusted instead of the
    /// built-in roots. (Absent from state files written before it existed,
    /// and from those of targets without one, so their keys still match.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// For https: fail while the leaf certificate expires within this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_min_days: Option<u32>,
}

impl fmt::Display for TargetKey {
    /// The URL and host, then whatever else sets it apart from another
    /// target on the same URL (two checks expecting different things probe
    /// twice): logs, `/status` and metric labels must tell them apart.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scheme == Scheme::Tcp {
            return write!(f, "tcp://{}", SocketAddr::new(self.ip, self.port));
        }
        write!(
            f,
            "{}://{}{} (host {}",
            self.scheme,
            SocketAddr::new(self.ip, self.port),
            self.path,
            self.host
        )?;
        if let Some(codes) = &self.expect_status {
            let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
            write!(f, ", status {}", codes.join("|"))?;
        }
        if let Some(body) = &self.expect_body {
            write!(f, ", body {body:?}")?;
        }
        if self.scheme == Scheme::Https && !self.tls_verify {
            f.write_str(", no verify")?;
        }
        if let Some(ca) = &self.ca_file {
            write!(f, ", ca_file {}", ca.display())?;
        }
        if let Some(days) = self.cert_min_days {
            write!(f, ", cert_min_days {days}")?;
        }
        f.write_str(")")
    }
}

/// One target as the configuration wants it.
#[derive(Clone, Debug)]
pub struct TargetSpec {
    /// What to probe.
    pub key: TargetKey,
    /// How often and how strictly.
    pub schedule: Schedule,
    /// Owner names whose records point at this target, for logs and /status.
    pub names: Vec<String>,
    /// The roots of `key.ca_file`, as this load read them.
    pub ca: Option<CaFile>,
}

impl TargetKey {
    /// The target probing `ip` as `probe` says; `owner` (the checked name)
    /// is the Host header and SNI unless the probe names one.
    pub fn new(ip: IpAddr, probe: &Probe, owner: &str) -> TargetKey {
        if probe.scheme == Scheme::Tcp {
            return TargetKey::tcp(ip, probe.port);
        }
        let mut host = probe.host.clone().unwrap_or_else(|| owner.to_string());
        if host.len() > 1 && host.ends_with('.') {
            host.pop();
        }
        // From [defaults], these reach http checks too, where they mean nothing.
        let https = probe.scheme == Scheme::Https;
        TargetKey {
            ip,
            scheme: probe.scheme,
            port: probe.port,
            path: probe.path.clone(),
            host,
            expect_status: probe.expect_status.clone(),
            expect_body: probe.expect_body.clone(),
            tls_verify: probe.tls_verify,
            ca_file: probe
                .ca_file
                .as_ref()
                .filter(|_| https)
                .map(|ca| ca.path.clone()),
            cert_min_days: probe.cert_min_days.filter(|_| https),
        }
    }
}

impl TargetKey {
    /// A TCP connect to `ip`:`port`. Only those decide its outcome, so
    /// every name and check connecting there shares one prober.
    pub(crate) fn tcp(ip: IpAddr, port: u16) -> TargetKey {
        TargetKey {
            ip,
            scheme: Scheme::Tcp,
            port,
            path: String::new(),
            host: String::new(),
            expect_status: None,
            expect_body: None,
            tls_verify: false,
            ca_file: None,
            cert_min_days: None,
        }
    }
}

impl TargetSpec {
    /// The mass-failure canary's target.
    pub fn canary(canary: &Canary) -> TargetSpec {
        TargetSpec {
            key: TargetKey::new(canary.ip, &canary.probe, ""),
            schedule: canary.schedule.clone(),
            names: vec!["(mass-failure canary)".into()],
            ca: None,
        }
    }
}
