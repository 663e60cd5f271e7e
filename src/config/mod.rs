//! Owns `hale.toml`: reads the file into serde mirror types, then validates them
//! into the [`Config`] the rest of hale uses. Every error names the file and line.
//!
//! Here: the validated types, [`ConfigError`], and [`Config::parse`], which
//! drives the two steps. The file's shape is in `file`; the checks that turn
//! it into a [`Config`], section by section, are in `validate`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_proto::rr::Name;
use serde::Deserialize;

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

mod ca;
mod file;
mod policy;
mod probes;
mod secret;
mod transfer;
mod validate;

pub use ca::{CaFile, CaFileError};
pub use policy::{MinHealthy, Policy};
pub use probes::{ProbeAddress, Require};
pub use secret::{COOKIE_SECRET_LEN, CookieSecrets, SecretError, readable_by_others};
pub use transfer::{NotifyTarget, Secret, TransferAllow, TsigAlgorithm, TsigKey, key_warnings};

use file::RawConfig;

/// The prefix length RRL groups IPv4 clients by unless `[rrl] ipv4_prefix` is set (a typical site).
pub const DEFAULT_IPV4_PREFIX: u8 = 24;
/// The prefix length RRL groups IPv6 clients by unless `[rrl] ipv6_prefix` is set (a typical site).
pub const DEFAULT_IPV6_PREFIX: u8 = 56;

/// How a target is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS, with `host` as SNI.
    Https,
    /// A TCP connect, closed at once: no payload, no HTTP.
    Tcp,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Tcp => "tcp",
        })
    }
}

/// When and how strictly a target is probed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Time between probe starts (jittered by ±10%).
    pub interval: Duration,
    /// Limit for a whole probe: connect, TLS, headers and body.
    pub timeout: Duration,
    /// Consecutive passes to become healthy.
    pub rise: u32,
    /// Consecutive failures to become unhealthy.
    pub fall: u32,
    /// Flap damping's half-life; `None`: off.
    pub flap_half_life: Option<Duration>,
}

/// The mass-failure canary: a URL naming an IP address, probed on the
/// `[defaults]` schedule with any 2xx passing and no certificate check.
#[derive(Clone, Debug)]
pub struct Canary {
    /// The URL's address.
    pub ip: IpAddr,
    /// How it is probed (its host is the address).
    pub probe: Probe,
    /// How often.
    pub schedule: Schedule,
}

/// The admin listener's bearer token, read from `[admin] token_file`. Its
/// `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(…)")
    }
}

/// Why a token file could not be used.
#[derive(thiserror::Error, Debug)]
pub enum TokenError {
    /// Unreadable.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Nothing in it.
    #[error("{} is empty: write a secret in it (for example the output of `openssl rand -hex 32`)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl AdminToken {
    /// The token in `path`: its content without surrounding white space.
    pub fn read(path: &Path) -> Result<AdminToken, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(AdminToken(token.to_string()))
    }

    /// The secret, for the `Authorization` header.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is the secret, compared in time independent of
    /// where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file this came from; relative paths in it are relative to its folder.
    pub path: PathBuf,
    /// UDP and TCP DNS listen addresses.
    pub listen: Vec<SocketAddr>,
    /// UDP worker threads (each with its own socket per address).
    pub workers: usize,
    /// Zone files to load, one zone each.
    pub zone_files: Vec<PathBuf>,
    /// Admin HTTP listener, if enabled.
    pub admin: Option<SocketAddr>,
    /// The secret state-changing admin requests must carry, if configured.
    pub admin_token: Option<AdminToken>,
    /// Health checks, in file order.
    pub checks: Vec<Check>,
    /// Limits on DNS over TCP.
    pub tcp: TcpLimits,
    /// Response rate limiting over UDP; `None` when off.
    pub rrl: Option<Rrl>,
    /// When hale distrusts its own probes.
    pub mass_failure: MassFailure,
    /// TSIG keys (`[[key]]`), for transfers and NOTIFY.
    pub keys: Vec<TsigKey>,
    /// Clients allowed zone transfers (AXFR, IXFR) over TCP; empty: nobody.
    pub transfer_allow: Vec<TransferAllow>,
    /// Secondaries told by NOTIFY (RFC 1996) whenever a zone's serial changes.
    pub notify: Vec<NotifyTarget>,
    /// Where verdicts and overrides are kept across restarts, if anywhere.
    pub state: Option<StateSettings>,
    /// DNS Cookies (RFC 7873, RFC 9018) answered: on unless `[server] cookies = false`.
    pub cookies: bool,
    /// The server secrets of `[server] cookie_secret_file`; `None`: a
    /// random one, made at start and kept across reloads.
    pub cookie_secrets: Option<CookieSecrets>,
}

/// `[state]`: verdicts and overrides kept across restarts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateSettings {
    /// The state file.
    pub file: PathBuf,
    /// Saved verdicts older than this are ignored at start (overrides never
    /// expire by age).
    pub max_age: Duration,
}

impl Config {
    /// Whether zones are handed to secondaries: then a zone whose answers
    /// follow health gets a serial that does too ([`crate::dns::serial`]).
    pub fn transfers(&self) -> bool {
        !self.transfer_allow.is_empty() || !self.notify.is_empty()
    }

    /// `notify` secondaries that `allow` does not cover: told of changes,
    /// then refused when they ask for the zone.
    pub fn notify_not_allowed(&self) -> Vec<SocketAddr> {
        self.notify
            .iter()
            .filter(|n| {
                !self
                    .transfer_allow
                    .iter()
                    .any(|a| a.net.contains(&n.to.ip()))
            })
            .map(|n| n.to)
            .collect()
    }
}

/// The mass-failure guard: when (nearly) every target fails at once, the
/// fault is more likely hale's own network than every backend, so hale keeps
/// the answers it had.
#[derive(Clone, Debug)]
pub struct MassFailure {
    /// Off: every verdict is published as it comes.
    pub enabled: bool,
    /// Share of all targets that must be down (0 < share ≤ 1).
    pub share: f64,
    /// ... spread over at least this many checked names.
    pub min_names: usize,
    /// Targets that went down within this span before the guard engaged are
    /// kept in answers: they fell with the rest.
    pub window: Duration,
    /// A URL that should always pass; while it fails the guard is engaged.
    pub canary: Option<Canary>,
}

/// Limits on DNS over TCP (RFC 7766 §6.2.3): how many connections, and how
/// long one may idle or take to send a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpLimits {
    /// Concurrent connections; at the cap the longest-idle one is closed for a new one.
    pub max_connections: usize,
    /// How long a connection may wait for its next query.
    pub idle_timeout: Duration,
    /// How long one message may take to arrive once begun, or to be taken once written.
    pub message_timeout: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            max_connections: 256,
            idle_timeout: Duration::from_secs(10),
            message_timeout: Duration::from_secs(5),
        }
    }
}

impl Default for MassFailure {
    /// On: every target down across at least two checked names, no canary.
    fn default() -> Self {
        MassFailure {
            enabled: true,
            share: 1.0,
            min_names: 2,
            window: Duration::from_secs(60),
            canary: None,
        }
    }
}

/// Response rate limiting per client prefix, as NSD's and Knot's RRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rrl {
    /// Responses per second each prefix gets in full.
    pub responses_per_second: u32,
    /// Every `slip`-th limited response goes out truncated (TC), the rest are
    /// dropped; 0 drops them all, 1 truncates them all.
    pub slip: u32,
    /// IPv4 clients are grouped by this prefix length.
    pub ipv4_prefix: u8,
    /// IPv6 clients are grouped by this prefix length.
    pub ipv6_prefix: u8,
}

/// What a health-checked name answers when none of its addresses is healthy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WhenAllDown {
    /// Fail open: answer every address.
    All,
    /// NODATA.
    None,
    /// SERVFAIL.
    Servfail,
}

impl WhenAllDown {
    /// As written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            WhenAllDown::All => "all",
            WhenAllDown::None => "none",
            WhenAllDown::Servfail => "servfail",
        }
    }
}

/// One `[[check]]`, with `[defaults]` and built-in defaults applied.
#[derive(Clone, Debug)]
pub struct Check {
    /// Owner names (lower case, fully qualified) whose A and AAAA records are
    /// probed, each with its line in the config.
    pub names: Vec<(Name, usize)>,
    /// Line of the `[[check]]` header, for error messages.
    pub line: usize,
    /// How a probe is made: the check's own probe keys, and its only probe
    /// unless it has `[[check.probe]]` tables.
    pub probe: Probe,
    /// The `[[check.probe]]` tables, each over `probe`; empty: `probe` alone.
    pub probes: Vec<Probe>,
    /// How many of an address's probes must pass for it to be healthy.
    pub require: Require,
    /// `probe_address`: records whose probes go to another address.
    pub probe_address: Vec<ProbeAddress>,
    /// When probes run and how results turn into state.
    pub schedule: Schedule,
    /// TTL cap for answers of these names.
    pub ttl: u32,
    /// Answer policy when no address of the asked type is healthy.
    pub when_all_down: WhenAllDown,
    /// Which healthy addresses answer: tiers, weights, the answer cap.
    pub policy: Policy,
}

impl Check {
    /// Every probe each address of this check gets: the `[[check.probe]]`
    /// tables, or the check's own keys when it has none.
    pub fn all_probes(&self) -> &[Probe] {
        match self.probes.is_empty() {
            true => std::slice::from_ref(&self.probe),
            false => &self.probes,
        }
    }
}

/// The per-check part of a probe; the address comes from each A/AAAA record.
#[derive(Clone, Debug)]
pub struct Probe {
    /// http, https or tcp.
    pub scheme: Scheme,
    /// TCP port.
    pub port: u16,
    /// Request path, starting with '/'.
    pub path: String,
    /// Host header and SNI; `None` means the owner name.
    pub host: Option<String>,
    /// Accepted status codes; `None` means any 2xx.
    pub expect_status: Option<Vec<u16>>,
    /// Substring required in the first 64 KiB of the body.
    pub expect_body: Option<String>,
    /// Verify the TLS certificate against the host.
    pub tls_verify: bool,
    /// https: the CAs trusted instead of the built-in roots.
    pub ca_file: Option<CaFile>,
    /// https: fail while the leaf certificate expires within this many days.
    pub cert_min_days: Option<u32>,
    /// A `[[check.probe]]`'s own `timeout`, instead of the check's.
    pub timeout: Option<Duration>,
}

/// A config that could not be read or is invalid.
#[derive(thiserror::Error, Debug)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read config: {source}", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is malformed or a value is invalid.
    #[error("{}:{line}: {msg}", path.display())]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        msg: String,
    },
}

impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Validates config text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let src = Source { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            let message = e.message().trim();
            let at = offset.min(text.len());
            let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
            let line = text[start..].lines().next().unwrap_or("");
            src.err(offset, with_hint(message, line))
        })?;
        // In this order: a file with several problems reports the first of
        // them, and the same one from release to release.
        let zone_files = validate::zone_files(&src, &raw.server.zones)?;
        let listen = validate::listen(&src, &raw.server.listen)?;
        let (admin, admin_token) = validate::admin(&src, raw.admin.as_ref(), &raw.server.listen)?;
        let mut cas = validate::CaFiles::default();
        validate::defaults(&src, &raw.defaults, &mut cas)?;
        let checks = validate::checks(&src, &raw.defaults, &raw.check, &mut cas)?;
        let workers = validate::workers(&src, raw.server.workers.as_ref())?;
        let tcp = validate::tcp(&src, &raw.server)?;
        let rrl = validate::rrl(&src, raw.rrl.as_ref())?;
        let mass_failure = validate::mass_failure(&src, raw.mass_failure.as_ref(), &raw.defaults)?;
        let transfer = raw.transfer.unwrap_or_default();
        let keys = transfer::keys(&src, &raw.key)?;
        let transfer_allow = transfer::transfer_allow(&src, &transfer.allow, &keys)?;
        let notify = transfer::notify(&src, &transfer.notify, &keys)?;
        let state = validate::state(&src, raw.state.as_ref())?;
        let (cookies, cookie_secrets) = secret::cookies(&src, &raw.server)?;
        Ok(Config {
            path: path.to_path_buf(),
            listen,
            workers,
            zone_files,
            admin,
            admin_token,
            checks,
            tcp,
            rrl,
            mass_failure,
            keys,
            transfer_allow,
            notify,
            state,
            cookies,
            cookie_secrets,
        })
    }

    /// An error at `line` of this config, for problems found after parsing
    /// (for example a checked name that no zone has).
    pub fn error_at(&self, line: usize, msg: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            line,
            msg,
        }
    }
}

/// toml's message for the usual slips, with what to write instead: a
/// `[check]` table where checks are `[[check]]`, a single value where a
/// list is wanted. `line` is the line where the error starts.
fn with_hint(message: &str, line: &str) -> String {
    let line = line.trim();
    let hint = if message.starts_with("invalid type: map, expected a sequence")
        && line.starts_with('[')
        && !line.starts_with("[[")
    {
        format!("; a table that may repeat takes double brackets: write [{line}]")
    } else if message.starts_with("invalid type:") && message.contains("expected a sequence") {
        match line.split_once('=') {
            Some((key, value)) => {
                // Without a trailing comment (not looked for inside quotes).
                let value = match value.trim().starts_with('"') {
                    true => value,
                    false => value.split('#').next().unwrap_or(value),
                };
                format!(
                    "; a list is wanted: write {} = [{}]",
                    key.trim(),
                    value.trim()
                )
            }
            None => "; a list is wanted: put the value in [ ]".to_string(),
        }
    } else {
        String::new()
    };
    format!("{message}{hint}")
}

/// The text being validated and the file it came from, so that an error
/// can name the file and the line.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    /// An error at byte `offset` of the text.
    fn err(&self, offset: usize, msg: String) -> ConfigError {
        self.err_at_line(self.line(offset), msg)
    }

    fn err_at_line(&self, line: usize, msg: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line,
            msg,
        }
    }

    fn line(&self, offset: usize) -> usize {
        line_of(self.text, offset)
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests;
