//! Turns the mirror types of [`super::file`] into the parts of a [`Config`],
//! one function per section. Each reports the first bad value it finds at
//! that value's line; [`Config::parse`] calls them in a fixed order, so a
//! file with several problems always reports the same one.
//!
//! [`Config`]: super::Config
//! [`Config::parse`]: super::Config::parse

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_proto::rr::Name;
use toml::Spanned;

pub(super) use super::ca::CaFiles;
use super::file::{
    Addr, RawAdmin, RawMassFailure, RawRrl, RawServer, RawSettings, RawState, RawZones,
};
use super::probes;
use super::{
    AdminToken, Canary, Check, ConfigError, MassFailure, Probe, Rrl, Schedule, Scheme, Source,
    StateSettings, TcpLimits, WhenAllDown,
};

/// Probe schedule defaults, for checks and the canary alike.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_RISE: u32 = 2;
const DEFAULT_FALL: u32 = 3;

/// Largest TTL RFC 2181 §8 allows.
const MAX_TTL: u32 = (1 << 31) - 1;

/// `[server] zones`: a zone file, a folder of them, or a list, relative to
/// the config's folder.
pub(super) fn zone_files(
    src: &Source,
    zones: &Spanned<RawZones>,
) -> Result<Vec<PathBuf>, ConfigError> {
    let at = zones.span().start;
    let base = src.path.parent().unwrap_or(Path::new("."));
    let files = match zones.get_ref() {
        RawZones::Folder(folder) => {
            let path = base.join(folder);
            if path.is_file() {
                vec![path]
            } else {
                list_zone_folder(&path).map_err(|e| src.err(at, e.to_string()))?
            }
        }
        RawZones::Files(files) => files.iter().map(|f| base.join(f)).collect(),
    };
    if files.is_empty() {
        return Err(src.err(at, "no zone files configured".into()));
    }
    Ok(files)
}

/// `[server] listen`: at least one address, no two taking one port.
pub(super) fn listen(
    src: &Source,
    listen: &Spanned<Vec<Addr>>,
) -> Result<Vec<SocketAddr>, ConfigError> {
    let at = listen.span().start;
    let listen: Vec<SocketAddr> = listen.get_ref().iter().map(|a| a.0).collect();
    if listen.is_empty() {
        return Err(src.err(at, "[server] listen must name at least one address".into()));
    }
    // Caught here, not at bind time: `check` must say so, and `serve`
    // must fail before it opens any socket.
    for (i, a) in listen.iter().enumerate() {
        if let Some(b) = listen[..i].iter().find(|b| overlap(a, b)) {
            return Err(src.err(
                at,
                format!("[server] listen: {a} and {b} take the same port on the same address"),
            ));
        }
    }
    Ok(listen)
}

/// `[admin] listen`, which must not take the TCP port of a DNS listener.
pub(super) fn admin(
    src: &Source,
    admin: Option<&RawAdmin>,
    listen: &Spanned<Vec<Addr>>,
) -> Result<(Option<SocketAddr>, Option<AdminToken>), ConfigError> {
    let Some(admin) = admin else {
        return Ok((None, None));
    };
    let addr = &admin.listen.get_ref().0;
    if let Some(dns) = listen.get_ref().iter().find(|d| overlap(&d.0, addr)) {
        // Its own line; the default address has none: the section's.
        let at = match admin.listen.span().start {
            0 => listen.span().start,
            at => at,
        };
        return Err(src.err(
            at,
            format!(
                "[admin] listen {addr} takes the TCP port of DNS on {}",
                dns.0
            ),
        ));
    }
    let token = match &admin.token_file {
        Some(file) => {
            let path = src
                .path
                .parent()
                .unwrap_or(Path::new("."))
                .join(file.get_ref());
            let token = AdminToken::read(&path)
                .map_err(|e| src.err(file.span().start, format!("[admin] token_file: {e}")))?;
            Some(token)
        }
        // Anyone who reaches it could drain every address: off loopback,
        // a token is required.
        None if !addr.ip().is_loopback() => {
            return Err(src.err(
                admin.listen.span().start,
                format!(
                    "[admin] listen {addr} is not a loopback address: set token_file = \"/etc/hale/admin.token\" \
                     (a file holding a secret that requests changing anything send as \"Authorization: Bearer SECRET\")"
                ),
            ));
        }
        None => None,
    };
    Ok((Some(*addr), token))
}

/// `[defaults]`, every value checked at its own line whether or not a check
/// inherits it: the canary always does.
pub(super) fn defaults(
    src: &Source,
    d: &RawSettings,
    cas: &mut CaFiles,
) -> Result<(), ConfigError> {
    if let Some(names) = &d.names {
        let at = names.first().map_or(0, |n| n.span().start);
        return Err(src.err(
            at,
            "`names` belongs in a [[check]], not in [defaults]".into(),
        ));
    }
    probes::not_in_defaults(src, d)?;
    settings(src, d)?;
    super::policy::not_in_defaults(src, d)?;
    cas.load(src, d.ca_file.as_ref()).map(drop)
}

/// Every `[[check]]`, over `[defaults]` (already validated by [`defaults`]).
pub(super) fn checks(
    src: &Source,
    d: &RawSettings,
    list: &[Spanned<RawSettings>],
    cas: &mut CaFiles,
) -> Result<Vec<Check>, ConfigError> {
    let checks = list
        .iter()
        .map(|c| check(src, c, d, cas))
        .collect::<Result<Vec<_>, _>>()?;
    no_name_twice(src, &checks)?;
    Ok(checks)
}

/// One `[[check]]`: its own values, else `[defaults]`'s, else built-in ones.
fn check(
    src: &Source,
    spanned: &Spanned<RawSettings>,
    d: &RawSettings,
    cas: &mut CaFiles,
) -> Result<Check, ConfigError> {
    let at = spanned.span().start;
    let c = spanned.get_ref();
    settings(src, c)?;
    let names = names(src, c, at)?;
    let probes = probes::check(src, c, d, cas)?;
    // HTTP probes send the host as Host header and SNI, where a wildcard
    // means nothing: a backend would answer for one real name under it.
    let all = match probes.tables.is_empty() {
        true => std::slice::from_ref(&probes.own),
        false => &probes.tables[..],
    };
    if all
        .iter()
        .any(|p| p.host.is_none() && p.scheme != Scheme::Tcp)
        && let Some((wild, line)) = names.iter().find(|(n, _)| n.is_wildcard())
    {
        return Err(src.err_at_line(
            *line,
            format!(
                "check on wildcard name \"{wild}\": probes cannot send a wildcard as Host or SNI; \
                 set host = \"...\" to the name the backends answer to"
            ),
        ));
    }
    Ok(Check {
        names,
        line: src.line(at),
        probe: probes.own,
        probes: probes.tables,
        require: probes.require,
        probe_address: probes.probe_address,
        schedule: schedule(c, d),
        ttl: pick(&c.ttl, &d.ttl).copied().unwrap_or(30),
        when_all_down: c
            .when_all_down
            .or(d.when_all_down)
            .unwrap_or(WhenAllDown::All),
        policy: super::policy::policy(src, c, d)?,
    })
}

/// A check's `names`, lower case and fully qualified, each with its line.
fn names(src: &Source, c: &RawSettings, at: usize) -> Result<Vec<(Name, usize)>, ConfigError> {
    let list = match &c.names {
        Some(names) if !names.is_empty() => names,
        Some(_) => return Err(src.err(at, "check has an empty `names` list".into())),
        None => return Err(src.err(at, "check has no `names`".into())),
    };
    list.iter()
        .map(|n| {
            let name = Name::from_ascii(n.get_ref())
                .map_err(|e| src.err(n.span().start, format!("bad name {:?}: {e}", n.get_ref())))?;
            let mut name = name.to_lowercase();
            name.set_fqdn(true);
            Ok((name, src.line(n.span().start)))
        })
        .collect()
}

fn schedule(c: &RawSettings, d: &RawSettings) -> Schedule {
    let half_life = pick(&c.flap_half_life, &d.flap_half_life).map(|h| h.0);
    Schedule {
        interval: pick(&c.interval, &d.interval).map_or(DEFAULT_INTERVAL, |i| i.0),
        timeout: pick(&c.timeout, &d.timeout).map_or(DEFAULT_TIMEOUT, |t| t.0),
        rise: pick(&c.rise, &d.rise).copied().unwrap_or(DEFAULT_RISE),
        fall: pick(&c.fall, &d.fall).copied().unwrap_or(DEFAULT_FALL),
        flap_half_life: c
            .flap_damping
            .or(d.flap_damping)
            .unwrap_or(false)
            .then(|| half_life.unwrap_or(Duration::from_secs(60))),
    }
}

/// A name in two checks would have two TTLs and two all-down policies.
fn no_name_twice(src: &Source, checks: &[Check]) -> Result<(), ConfigError> {
    let mut seen = HashMap::new();
    for check in checks {
        for (name, line) in &check.names {
            if let Some(first) = seen.insert(name.clone(), check.line) {
                return Err(src.err_at_line(
                    *line,
                    format!("{name} is already checked by the check at line {first}"),
                ));
            }
        }
    }
    Ok(())
}

/// The values of `[defaults]` or of one `[[check]]`, each on its own.
fn settings(src: &Source, s: &RawSettings) -> Result<(), ConfigError> {
    for (value, key) in [
        (&s.interval, "interval"),
        (&s.timeout, "timeout"),
        (&s.flap_half_life, "flap_half_life"),
    ] {
        if let Some(v) = value
            && v.get_ref().0.is_zero()
        {
            return Err(src.err(v.span().start, format!("{key} must be greater than zero")));
        }
    }
    for (value, key) in [(&s.rise, "rise"), (&s.fall, "fall")] {
        if let Some(v) = value
            && *v.get_ref() == 0
        {
            return Err(src.err(v.span().start, format!("{key} must be at least 1")));
        }
    }
    if let Some(t) = &s.ttl
        && *t.get_ref() > MAX_TTL
    {
        return Err(src.err(t.span().start, format!("ttl must be at most {MAX_TTL}")));
    }
    probes::settings(src, s)
}

/// `[state]`: the state file (relative to the config's folder) and how
/// old its verdicts may be to count at start.
pub(super) fn state(
    src: &Source,
    state: Option<&RawState>,
) -> Result<Option<StateSettings>, ConfigError> {
    let Some(state) = state else {
        return Ok(None);
    };
    if state.file.get_ref().is_empty() {
        return Err(src.err(
            state.file.span().start,
            "[state] file is empty: write a path such as \"/var/lib/hale/state.json\"".into(),
        ));
    }
    let base = src.path.parent().unwrap_or(Path::new("."));
    Ok(Some(StateSettings {
        file: base.join(state.file.get_ref()),
        max_age: state
            .max_age
            .as_ref()
            .map_or(DEFAULT_MAX_AGE, |d| d.get_ref().0),
    }))
}

/// How old saved verdicts may be to count at start, unless set.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

/// `[server] workers`: UDP worker threads, one per core unless set.
pub(super) fn workers(
    src: &Source,
    workers: Option<&Spanned<usize>>,
) -> Result<usize, ConfigError> {
    match workers {
        Some(w) if *w.get_ref() == 0 || *w.get_ref() > 256 => {
            Err(src.err(w.span().start, "workers must be between 1 and 256".into()))
        }
        Some(w) => Ok(*w.get_ref()),
        None => Ok(crate::parallel::cores()),
    }
}

/// The `tcp_*` keys of `[server]`.
pub(super) fn tcp(src: &Source, server: &RawServer) -> Result<TcpLimits, ConfigError> {
    let defaults = TcpLimits::default();
    let max_connections = match &server.tcp_max_connections {
        Some(m) if *m.get_ref() == 0 || *m.get_ref() > 65536 => {
            return Err(src.err(
                m.span().start,
                "tcp_max_connections must be between 1 and 65536".into(),
            ));
        }
        Some(m) => *m.get_ref(),
        None => defaults.max_connections,
    };
    let tcp = TcpLimits {
        max_connections,
        idle_timeout: server
            .tcp_idle_timeout
            .map_or(defaults.idle_timeout, |d| d.0),
        message_timeout: server
            .tcp_message_timeout
            .map_or(defaults.message_timeout, |d| d.0),
    };
    if tcp.idle_timeout.is_zero() || tcp.message_timeout.is_zero() {
        return Err(src.err(
            0,
            "[server] tcp_idle_timeout and tcp_message_timeout must be greater than zero".into(),
        ));
    }
    Ok(tcp)
}

/// `[rrl]`; absent, or 0 responses per second, is off.
pub(super) fn rrl(src: &Source, rrl: Option<&Spanned<RawRrl>>) -> Result<Option<Rrl>, ConfigError> {
    let Some(spanned) = rrl else {
        return Ok(None);
    };
    let at = spanned.span().start;
    let r = spanned.get_ref();
    if r.ipv4_prefix == 0 || r.ipv4_prefix > 32 {
        return Err(src.err(at, "[rrl] ipv4_prefix must be between 1 and 32".into()));
    }
    if r.ipv6_prefix == 0 || r.ipv6_prefix > 128 {
        return Err(src.err(at, "[rrl] ipv6_prefix must be between 1 and 128".into()));
    }
    Ok((r.responses_per_second > 0).then_some(Rrl {
        responses_per_second: r.responses_per_second,
        slip: r.slip,
        ipv4_prefix: r.ipv4_prefix,
        ipv6_prefix: r.ipv6_prefix,
    }))
}

/// `[mass_failure]`; its canary is probed on the `[defaults]` schedule
/// (already validated by [`defaults`]).
pub(super) fn mass_failure(
    src: &Source,
    mass_failure: Option<&Spanned<RawMassFailure>>,
    d: &RawSettings,
) -> Result<MassFailure, ConfigError> {
    let unset = MassFailure::default();
    let Some(spanned) = mass_failure else {
        return Ok(unset);
    };
    let at = spanned.span().start;
    let m = spanned.get_ref();
    let share = m.share.unwrap_or(unset.share);
    if !(share > 0.0 && share <= 1.0) {
        return Err(src.err(
            at,
            "[mass_failure] share must be above 0 and at most 1".into(),
        ));
    }
    let canary = m
        .canary
        .as_deref()
        .map(|url| canary_spec(url, canary_schedule(d)))
        .transpose()
        .map_err(|e| src.err(at, format!("[mass_failure] canary: {e}")))?;
    Ok(MassFailure {
        enabled: m.enabled,
        share,
        min_names: m.min_names.unwrap_or(unset.min_names),
        window: m.window.map_or(unset.window, |d| d.0),
        canary,
    })
}

/// The timing a check with no values of its own would get, never damped:
/// the canary answers for no name, so its flapping moves no answer.
fn canary_schedule(d: &RawSettings) -> Schedule {
    Schedule {
        flap_half_life: None,
        ..schedule(&RawSettings::default(), d)
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

/// Why a canary URL cannot be probed.
#[derive(thiserror::Error, Debug)]
enum CanaryError {
    #[error("bad URL {url:?}: {source}")]
    Url {
        url: String,
        source: url::ParseError,
    },
    #[error("scheme {0:?} is not http or https")]
    Scheme(String),
    /// A canary that needs DNS to be found would fail with the resolver.
    #[error("{0:?} must name an IP address, not a host name")]
    HostName(String),
}

/// The probe target behind a canary URL, which must name an IP address.
fn canary_spec(url: &str, schedule: Schedule) -> Result<Canary, CanaryError> {
    let parsed = url::Url::parse(url).map_err(|source| CanaryError::Url {
        url: url.to_string(),
        source,
    })?;
    let scheme = match parsed.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(CanaryError::Scheme(other.to_string())),
    };
    let host = parsed.host_str().unwrap_or("");
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| CanaryError::HostName(url.to_string()))?;
    let mut path = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        path = format!("{path}?{query}");
    }
    Ok(Canary {
        ip,
        probe: Probe {
            scheme,
            port: parsed.port_or_known_default().unwrap_or(80),
            path,
            host: Some(ip.to_string()),
            expect_status: None,
            expect_body: None,
            tls_verify: false,
            ca_file: None,
            cert_min_days: None,
            timeout: None,
        },
        schedule,
    })
}

/// A value usable as Host header and TLS server name.
pub(super) fn valid_host(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok() {
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

/// Why a zone folder gave no zone files.
#[derive(thiserror::Error, Debug)]
enum ZoneFolderError {
    #[error("cannot read zone folder {}: {source}", dir.display())]
    Read {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("no *.zone files in {}", .0.display())]
    Empty(PathBuf),
}

/// Every `*.zone` file in `dir`, sorted so load order (and errors) are stable.
fn list_zone_folder(dir: &Path) -> Result<Vec<PathBuf>, ZoneFolderError> {
    let unreadable = |source| ZoneFolderError::Read {
        dir: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let p = entry.map_err(unreadable)?.path();
        if p.extension().is_some_and(|x| x == "zone") && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(ZoneFolderError::Empty(dir.to_path_buf()));
    }
    Ok(files)
}
