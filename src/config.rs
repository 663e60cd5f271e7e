//! Owns `hale.toml`: reads the file into serde mirror types, then validates them
//! into the [`Config`] the rest of hale uses. Every error names the file and line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_proto::rr::Name;
use serde::Deserialize;
use toml::Spanned;

use crate::health::{Schedule, Scheme, TargetKey, TargetSpec};

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
    /// Health checks, in file order.
    pub checks: Vec<Check>,
    /// Limits on DNS over TCP.
    pub tcp: TcpLimits,
    /// Response rate limiting over UDP; `None` when off.
    pub rrl: Option<Rrl>,
    /// When hale distrusts its own probes.
    pub mass_failure: MassFailure,
    /// Clients allowed zone transfers (AXFR, IXFR) over TCP; empty: nobody.
    pub transfer_allow: Vec<ipnet::IpNet>,
    /// Secondaries told by NOTIFY (RFC 1996) whenever a zone's serial changes.
    pub notify: Vec<SocketAddr>,
}

impl Config {
    /// Whether zones are handed to secondaries: then a zone whose answers
    /// follow health gets a serial that does too ([`crate::serial`]).
    pub fn transfers(&self) -> bool {
        !self.transfer_allow.is_empty() || !self.notify.is_empty()
    }

    /// `notify` secondaries that `allow` does not cover: told of changes,
    /// then refused when they ask for the zone.
    pub fn notify_not_allowed(&self) -> Vec<SocketAddr> {
        self.notify
            .iter()
            .filter(|to| !self.transfer_allow.iter().any(|net| net.contains(&to.ip())))
            .copied()
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
    pub canary: Option<TargetSpec>,
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

/// The client networks RRL groups by unless configured, and the TCP
/// connection cap always: an IPv4 /24 (a typical site).
pub const DEFAULT_IPV4_PREFIX: u8 = 24;
/// ... and an IPv6 /56.
pub const DEFAULT_IPV6_PREFIX: u8 = 56;

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

/// One `[[check]]`, with `[defaults]` and built-in defaults applied.
#[derive(Clone, Debug)]
pub struct Check {
    /// Owner names (lower case, fully qualified) whose A and AAAA records are
    /// probed, each with its line in the config.
    pub names: Vec<(Name, usize)>,
    /// Line of the `[[check]]` header, for error messages.
    pub line: usize,
    /// How a probe is made.
    pub probe: Probe,
    /// When probes run and how results turn into state.
    pub schedule: Schedule,
    /// TTL cap for answers of these names.
    pub ttl: u32,
    /// Answer policy when no address of the asked type is healthy.
    pub when_all_down: WhenAllDown,
}

/// The per-check part of a probe; the address comes from each A/AAAA record.
#[derive(Clone, Debug)]
pub struct Probe {
    /// http or https.
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

// The mirror types: exactly the TOML file's shape, unknown keys rejected.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: RawServer,
    admin: Option<RawAdmin>,
    rrl: Option<Spanned<RawRrl>>,
    mass_failure: Option<Spanned<RawMassFailure>>,
    transfer: Option<RawTransfer>,
    #[serde(default)]
    defaults: RawSettings,
    #[serde(default)]
    check: Vec<Spanned<RawSettings>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default = "default_listen")]
    listen: Spanned<Vec<SocketAddr>>,
    zones: Spanned<RawZones>,
    workers: Option<Spanned<usize>>,
    tcp_max_connections: Option<Spanned<usize>>,
    #[serde(default, with = "humantime_serde")]
    tcp_idle_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    tcp_message_timeout: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRrl {
    responses_per_second: u32,
    #[serde(default = "default_slip")]
    slip: u32,
    #[serde(default = "default_ipv4_prefix")]
    ipv4_prefix: u8,
    #[serde(default = "default_ipv6_prefix")]
    ipv6_prefix: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMassFailure {
    #[serde(default = "default_true")]
    enabled: bool,
    share: Option<f64>,
    min_names: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    window: Option<Duration>,
    canary: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransfer {
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    notify: Vec<Spanned<String>>,
}

fn default_true() -> bool {
    true
}

fn default_slip() -> u32 {
    2
}

fn default_ipv4_prefix() -> u8 {
    DEFAULT_IPV4_PREFIX
}

fn default_ipv6_prefix() -> u8 {
    DEFAULT_IPV6_PREFIX
}

#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a zone folder, a zone file, or a list of zone files"
)]
enum RawZones {
    Folder(String),
    Files(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    #[serde(default = "default_admin_listen")]
    listen: Spanned<SocketAddr>,
}

/// A humantime duration (`"5s"`, `"1m 30s"`) in a form `Spanned` can hold,
/// so errors about its value name its line.
#[derive(Clone, Copy, Debug)]
struct Dur(Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        humantime_serde::deserialize(d).map(Dur)
    }
}

/// The keys of `[defaults]` and of each `[[check]]` (where `names` is
/// required, and any other key overrides `[defaults]` for that check).
/// One type for both, so both are read and validated alike.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    names: Option<Vec<Spanned<String>>>,
    interval: Option<Spanned<Dur>>,
    timeout: Option<Spanned<Dur>>,
    rise: Option<Spanned<u32>>,
    fall: Option<Spanned<u32>>,
    ttl: Option<Spanned<u32>>,
    when_all_down: Option<WhenAllDown>,
    port: Option<Spanned<u16>>,
    path: Option<Spanned<String>>,
    scheme: Option<Scheme>,
    host: Option<Spanned<String>>,
    expect_status: Option<Spanned<Vec<u16>>>,
    expect_body: Option<String>,
    tls_verify: Option<bool>,
    flap_damping: Option<bool>,
    flap_half_life: Option<Spanned<Dur>>,
}

impl RawSettings {
    /// Every value set here, checked on its own at its line: `[defaults]`
    /// too, whether or not a check inherits it (the canary always does).
    fn validate(&self, err: &impl Fn(usize, String) -> ConfigError) -> Result<(), ConfigError> {
        for (value, key) in [
            (&self.interval, "interval"),
            (&self.timeout, "timeout"),
            (&self.flap_half_life, "flap_half_life"),
        ] {
            if let Some(v) = value
                && v.get_ref().0.is_zero()
            {
                return Err(err(
                    v.span().start,
                    format!("{key} must be greater than zero"),
                ));
            }
        }
        for (value, key) in [(&self.rise, "rise"), (&self.fall, "fall")] {
            if let Some(v) = value
                && *v.get_ref() == 0
            {
                return Err(err(v.span().start, format!("{key} must be at least 1")));
            }
        }
        if let Some(t) = &self.ttl
            && *t.get_ref() > MAX_TTL
        {
            return Err(err(
                t.span().start,
                format!("ttl must be at most {MAX_TTL}"),
            ));
        }
        if let Some(p) = &self.port
            && *p.get_ref() == 0
        {
            return Err(err(p.span().start, "port must not be 0".into()));
        }
        if let Some(p) = &self.path
            && !p.get_ref().starts_with('/')
        {
            return Err(err(p.span().start, "path must start with '/'".into()));
        }
        if let Some(s) = &self.expect_status {
            if s.get_ref().is_empty() {
                return Err(err(s.span().start, "expect_status is empty".into()));
            }
            if let Some(bad) = s.get_ref().iter().find(|v| !(100..=599).contains(*v)) {
                return Err(err(s.span().start, format!("bad HTTP status {bad}")));
            }
        }
        if let Some(h) = &self.host
            && !valid_host(h.get_ref())
        {
            return Err(err(
                h.span().start,
                format!(
                    "bad host {:?}: a host name or IP address, without port or path",
                    h.get_ref()
                ),
            ));
        }
        Ok(())
    }
}

fn default_listen() -> Spanned<Vec<SocketAddr>> {
    Spanned::new(0..0, vec![SocketAddr::from(([127, 0, 0, 1], 5353))])
}

fn default_admin_listen() -> Spanned<SocketAddr> {
    Spanned::new(0..0, SocketAddr::from(([127, 0, 0, 1], 8053)))
}

/// Probe schedule defaults, for checks and the canary alike.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_RISE: u32 = 2;
const DEFAULT_FALL: u32 = 3;

/// Largest TTL RFC 2181 §8 allows.
const MAX_TTL: u32 = (1 << 31) - 1;

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
        let err = |offset: usize, msg: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: line_of(text, offset),
            msg,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            err(offset, e.message().trim().to_string())
        })?;

        let base = path.parent().unwrap_or(Path::new("."));
        let zones_span = raw.server.zones.span().start;
        let zone_files = match raw.server.zones.into_inner() {
            RawZones::Folder(folder) => {
                let path = base.join(&folder);
                if path.is_file() {
                    vec![path]
                } else {
                    list_zone_folder(&path).map_err(|msg| err(zones_span, msg))?
                }
            }
            RawZones::Files(files) => files.iter().map(|f| base.join(f)).collect(),
        };
        if zone_files.is_empty() {
            return Err(err(zones_span, "no zone files configured".into()));
        }
        let listen_at = raw.server.listen.span().start;
        let listen = raw.server.listen.into_inner();
        if listen.is_empty() {
            return Err(err(
                listen_at,
                "[server] listen must name at least one address".into(),
            ));
        }
        // Caught here, not at bind time: `check` must say so, and `serve`
        // must fail before it opens any socket.
        for (i, a) in listen.iter().enumerate() {
            if let Some(b) = listen[..i].iter().find(|b| overlap(a, b)) {
                return Err(err(
                    listen_at,
                    format!("[server] listen: {a} and {b} take the same port on the same address"),
                ));
            }
        }
        if let Some(admin) = &raw.admin
            && let Some(dns) = listen.iter().find(|d| overlap(d, admin.listen.get_ref()))
        {
            // Its own line; the default address has none: the section's.
            let at = match admin.listen.span().start {
                0 => listen_at,
                at => at,
            };
            return Err(err(
                at,
                format!(
                    "[admin] listen {} takes the TCP port of DNS on {dns}",
                    admin.listen.get_ref()
                ),
            ));
        }

        let d = &raw.defaults;
        if let Some(names) = &d.names {
            let at = names.first().map_or(0, |n| n.span().start);
            return Err(err(
                at,
                "`names` belongs in a [[check]], not in [defaults]".into(),
            ));
        }
        d.validate(&err)?;
        let mut checks = Vec::with_capacity(raw.check.len());
        for spanned in &raw.check {
            let check_offset = spanned.span().start;
            let c = spanned.get_ref();
            c.validate(&err)?;
            let names_in = match &c.names {
                Some(names) if !names.is_empty() => names,
                Some(_) => {
                    return Err(err(check_offset, "check has an empty `names` list".into()));
                }
                None => return Err(err(check_offset, "check has no `names`".into())),
            };
            let mut names = Vec::with_capacity(names_in.len());
            for n in names_in {
                let name = Name::from_ascii(n.get_ref())
                    .map_err(|e| err(n.span().start, format!("bad name {:?}: {e}", n.get_ref())))?;
                let mut name = name.to_lowercase();
                name.set_fqdn(true);
                names.push((name, line_of(text, n.span().start)));
            }

            // The check's own value, else `[defaults]`'s (both validated above).
            let half_life = pick(&c.flap_half_life, &d.flap_half_life).map(|h| h.0);
            let flap_half_life = c
                .flap_damping
                .or(d.flap_damping)
                .unwrap_or(false)
                .then(|| half_life.unwrap_or(Duration::from_secs(60)));
            let scheme = c.scheme.or(d.scheme).unwrap_or(Scheme::Http);
            let port = pick(&c.port, &d.port).copied().unwrap_or(match scheme {
                Scheme::Http => 80,
                Scheme::Https => 443,
            });
            let path_value = pick(&c.path, &d.path).map_or_else(|| "/".to_string(), Clone::clone);
            let expect_status = pick(&c.expect_status, &d.expect_status).cloned();
            let host = pick(&c.host, &d.host).cloned();
            checks.push(Check {
                names,
                line: line_of(text, check_offset),
                probe: Probe {
                    scheme,
                    port,
                    path: path_value,
                    host,
                    expect_status,
                    expect_body: c.expect_body.clone().or_else(|| d.expect_body.clone()),
                    tls_verify: c.tls_verify.or(d.tls_verify).unwrap_or(true),
                },
                schedule: Schedule {
                    interval: pick(&c.interval, &d.interval).map_or(DEFAULT_INTERVAL, |i| i.0),
                    timeout: pick(&c.timeout, &d.timeout).map_or(DEFAULT_TIMEOUT, |t| t.0),
                    rise: pick(&c.rise, &d.rise).copied().unwrap_or(DEFAULT_RISE),
                    fall: pick(&c.fall, &d.fall).copied().unwrap_or(DEFAULT_FALL),
                    flap_half_life,
                },
                ttl: pick(&c.ttl, &d.ttl).copied().unwrap_or(30),
                when_all_down: c
                    .when_all_down
                    .or(d.when_all_down)
                    .unwrap_or(WhenAllDown::All),
            });
        }

        // A name in two checks would have two TTLs and two all-down policies.
        let mut seen = std::collections::HashMap::new();
        for check in &checks {
            for (name, line) in &check.names {
                if let Some(first) = seen.insert(name.clone(), check.line) {
                    return Err(ConfigError::Invalid {
                        path: path.to_path_buf(),
                        line: *line,
                        msg: format!("{name} is already checked by the check at line {first}"),
                    });
                }
            }
        }

        let workers = match raw.server.workers {
            Some(w) if *w.get_ref() == 0 || *w.get_ref() > 256 => {
                return Err(err(
                    w.span().start,
                    "workers must be between 1 and 256".into(),
                ));
            }
            Some(w) => *w.get_ref(),
            None => crate::parallel::cores(),
        };
        let defaults = TcpLimits::default();
        let tcp = TcpLimits {
            max_connections: match raw.server.tcp_max_connections {
                Some(m) if *m.get_ref() == 0 || *m.get_ref() > 65536 => {
                    return Err(err(
                        m.span().start,
                        "tcp_max_connections must be between 1 and 65536".into(),
                    ));
                }
                Some(m) => *m.get_ref(),
                None => defaults.max_connections,
            },
            idle_timeout: raw.server.tcp_idle_timeout.unwrap_or(defaults.idle_timeout),
            message_timeout: raw
                .server
                .tcp_message_timeout
                .unwrap_or(defaults.message_timeout),
        };
        if tcp.idle_timeout.is_zero() || tcp.message_timeout.is_zero() {
            return Err(err(
                0,
                "[server] tcp_idle_timeout and tcp_message_timeout must be greater than zero"
                    .into(),
            ));
        }
        let rrl = match raw.rrl {
            Some(r) => {
                let at = r.span().start;
                let r = r.into_inner();
                if r.ipv4_prefix == 0 || r.ipv4_prefix > 32 {
                    return Err(err(at, "[rrl] ipv4_prefix must be between 1 and 32".into()));
                }
                if r.ipv6_prefix == 0 || r.ipv6_prefix > 128 {
                    return Err(err(
                        at,
                        "[rrl] ipv6_prefix must be between 1 and 128".into(),
                    ));
                }
                // 0 responses per second is how a config turns RRL off.
                (r.responses_per_second > 0).then_some(Rrl {
                    responses_per_second: r.responses_per_second,
                    slip: r.slip,
                    ipv4_prefix: r.ipv4_prefix,
                    ipv6_prefix: r.ipv6_prefix,
                })
            }
            None => None,
        };
        // The canary's schedule: `[defaults]`, validated above.
        let d = &raw.defaults;
        let default_schedule = Schedule {
            interval: pick(&d.interval, &None).map_or(DEFAULT_INTERVAL, |i| i.0),
            timeout: pick(&d.timeout, &None).map_or(DEFAULT_TIMEOUT, |t| t.0),
            rise: pick(&d.rise, &None).copied().unwrap_or(DEFAULT_RISE),
            fall: pick(&d.fall, &None).copied().unwrap_or(DEFAULT_FALL),
            flap_half_life: None,
        };
        let unset = MassFailure::default();
        let mass_failure = match raw.mass_failure {
            Some(m) => {
                let at = m.span().start;
                let m = m.into_inner();
                let share = m.share.unwrap_or(unset.share);
                if !(share > 0.0 && share <= 1.0) {
                    return Err(err(
                        at,
                        "[mass_failure] share must be above 0 and at most 1".into(),
                    ));
                }
                let canary = match m.canary {
                    Some(url) => Some(
                        canary_spec(&url, default_schedule.clone())
                            .map_err(|msg| err(at, format!("[mass_failure] canary: {msg}")))?,
                    ),
                    None => None,
                };
                MassFailure {
                    enabled: m.enabled,
                    share,
                    min_names: m.min_names.unwrap_or(unset.min_names),
                    window: m.window.unwrap_or(unset.window),
                    canary,
                }
            }
            None => unset,
        };
        let (allow, notify_in) = raw
            .transfer
            .map(|t| (t.allow, t.notify))
            .unwrap_or_default();
        let mut transfer_allow = Vec::new();
        for entry in allow {
            let text = entry.get_ref().trim();
            let net = match text.parse::<ipnet::IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match text.parse::<std::net::IpAddr>() {
                    Ok(ip) => ipnet::IpNet::from(ip),
                    Err(_) => {
                        return Err(err(
                            entry.span().start,
                            format!(
                                "[transfer] allow: {text:?} is not an address or prefix (192.0.2.1, 2001:db8::/32)"
                            ),
                        ));
                    }
                },
            };
            transfer_allow.push(net);
        }
        let mut notify = Vec::new();
        for entry in notify_in {
            let text = entry.get_ref().trim();
            // An address alone means port 53.
            let addr = text
                .parse::<SocketAddr>()
                .ok()
                .or_else(|| {
                    let ip = text.trim_start_matches('[').trim_end_matches(']');
                    ip.parse::<std::net::IpAddr>()
                        .ok()
                        .map(|ip| SocketAddr::new(ip, 53))
                })
                .filter(|a| a.port() != 0 && !a.ip().is_unspecified());
            match addr {
                Some(addr) if !notify.contains(&addr) => notify.push(addr),
                Some(_) => {}
                None => {
                    return Err(err(
                        entry.span().start,
                        format!(
                            "[transfer] notify: {text:?} is not an address with an optional port (192.0.2.53, 192.0.2.53:5300, [2001:db8::53]:53)"
                        ),
                    ));
                }
            }
        }
        Ok(Config {
            path: path.to_path_buf(),
            transfer_allow,
            notify,
            tcp,
            rrl,
            mass_failure,
            workers,
            listen,
            zone_files,
            admin: raw.admin.map(|a| *a.listen.get_ref()),
            checks,
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

/// A check's own value of a key, else `[defaults]`'s.
fn pick<'a, T>(own: &'a Option<Spanned<T>>, dflt: &'a Option<Spanned<T>>) -> Option<&'a T> {
    own.as_ref().or(dflt.as_ref()).map(Spanned::get_ref)
}

/// Whether two listen addresses would take the same port: the same
/// address, or a wildcard and any address of its family (IPv6 sockets are
/// IPv6-only, so `0.0.0.0:53` and `[::]:53` do not). Port 0 picks a free port.
fn overlap(a: &SocketAddr, b: &SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && a.is_ipv4() == b.is_ipv4()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// The probe target behind a canary URL, which must name an IP address (a
/// canary that needs DNS to be found would fail with the resolver).
fn canary_spec(url: &str, schedule: Schedule) -> Result<TargetSpec, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("bad URL {url:?}: {e}"))?;
    let scheme = match parsed.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(format!("scheme {other:?} is not http or https")),
    };
    let host = parsed.host_str().unwrap_or("");
    let ip: std::net::IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| format!("{url:?} must name an IP address, not a host name"))?;
    let mut path = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        path = format!("{path}?{query}");
    }
    Ok(TargetSpec {
        key: TargetKey {
            ip,
            scheme,
            port: parsed.port_or_known_default().unwrap_or(80),
            path,
            host: ip.to_string(),
            expect_status: None,
            expect_body: None,
            tls_verify: false,
        },
        schedule,
        names: vec!["(mass-failure canary)".into()],
    })
}

/// A value usable as Host header and TLS server name.
fn valid_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let Ok(url) = url::Url::parse(&format!("http://{host}/")) else {
        return false;
    };
    url.port().is_none()
        && url.path() == "/"
        && url.username().is_empty()
        && url.password().is_none()
        && url
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(host.trim_end_matches('.')) || h == host)
}

/// Every `*.zone` file in `dir`, sorted so load order (and errors) are stable.
fn list_zone_folder(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read zone folder {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read zone folder {}: {e}", dir.display()))?;
        let p = entry.path();
        if p.extension().is_some_and(|x| x == "zone") && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.zone files in {}", dir.display()));
    }
    Ok(files)
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
