//! Owns a check's probes as the config states them: the probe keys of
//! `[defaults]`, of a `[[check]]` and of each `[[check.probe]]` layered into
//! [`Probe`]s, which keys make sense with which scheme, `require` (how many
//! of an address's probes must pass) and `probe_address` (records probed at
//! another address). Whether a `probe_address` names a record of the check
//! is known only against the zones, in `health::Checks`.

use std::net::IpAddr;

use toml::Spanned;

use super::ca::CaFiles;
use super::file::{Dur, RawProbe, RawRequire, RawSettings};
use super::{ConfigError, Probe, Scheme, Source};

/// How many of an address's probes must pass for it to count as healthy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Require {
    /// Every one (the default).
    All,
    /// At least one.
    Any,
    /// At least this many (between 1 and the number of probes).
    AtLeast(usize),
}

impl Require {
    /// Passing probes needed out of `probes`.
    pub fn needed(self, probes: usize) -> usize {
        match self {
            Require::All => probes,
            Require::Any => probes.min(1),
            Require::AtLeast(n) => n.min(probes),
        }
    }
}

/// One `probe_address` entry: probes of the record `record` go to `probed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeAddress {
    /// The A/AAAA record's address, as answers carry it.
    pub record: IpAddr,
    /// Where its probes connect instead.
    pub probed: IpAddr,
    /// The line of the entry, for errors found against the zones.
    pub line: usize,
}

/// A check's probes, `require` and `probe_address`, resolved.
pub(super) struct CheckProbes {
    pub(super) own: Probe,
    pub(super) tables: Vec<Probe>,
    pub(super) require: Require,
    pub(super) probe_address: Vec<ProbeAddress>,
}

/// The probe keys of one table (`[defaults]`, a `[[check]]` or a
/// `[[check.probe]]`), so the three are layered and judged alike.
#[derive(Clone, Copy, Default)]
struct Keys<'a> {
    scheme: Option<&'a Spanned<Scheme>>,
    port: Option<&'a Spanned<u16>>,
    path: Option<&'a Spanned<String>>,
    host: Option<&'a Spanned<String>>,
    expect_status: Option<&'a Spanned<Vec<u16>>>,
    expect_body: Option<&'a Spanned<String>>,
    tls_verify: Option<&'a Spanned<bool>>,
    ca_file: Option<&'a Spanned<String>>,
    cert_min_days: Option<&'a Spanned<u32>>,
    timeout: Option<&'a Spanned<Dur>>,
}

impl<'a> Keys<'a> {
    fn of_settings(s: &'a RawSettings) -> Keys<'a> {
        Keys {
            scheme: s.scheme.as_ref(),
            port: s.port.as_ref(),
            path: s.path.as_ref(),
            host: s.host.as_ref(),
            expect_status: s.expect_status.as_ref(),
            expect_body: s.expect_body.as_ref(),
            tls_verify: s.tls_verify.as_ref(),
            ca_file: s.ca_file.as_ref(),
            cert_min_days: s.cert_min_days.as_ref(),
            // A check's timeout is its schedule's, not a probe's own.
            timeout: None,
        }
    }

    fn of_probe(p: &'a RawProbe) -> Keys<'a> {
        Keys {
            scheme: p.scheme.as_ref(),
            port: p.port.as_ref(),
            path: p.path.as_ref(),
            host: p.host.as_ref(),
            expect_status: p.expect_status.as_ref(),
            expect_body: p.expect_body.as_ref(),
            tls_verify: p.tls_verify.as_ref(),
            ca_file: p.ca_file.as_ref(),
            cert_min_days: p.cert_min_days.as_ref(),
            timeout: p.timeout.as_ref(),
        }
    }

    /// Each of `self` over `under`.
    fn over(self, under: Keys<'a>) -> Keys<'a> {
        Keys {
            scheme: self.scheme.or(under.scheme),
            port: self.port.or(under.port),
            path: self.path.or(under.path),
            host: self.host.or(under.host),
            expect_status: self.expect_status.or(under.expect_status),
            expect_body: self.expect_body.or(under.expect_body),
            tls_verify: self.tls_verify.or(under.tls_verify),
            ca_file: self.ca_file.or(under.ca_file),
            cert_min_days: self.cert_min_days.or(under.cert_min_days),
            timeout: self.timeout.or(under.timeout),
        }
    }

    fn scheme(&self) -> Scheme {
        self.scheme.map_or(Scheme::Http, |s| *s.get_ref())
    }

    /// The HTTP keys set here, with their offsets: a tcp probe sends no
    /// request, so none of them can mean anything to it.
    fn http_only(&self) -> Vec<(&'static str, usize)> {
        let at = |v: Option<usize>, key| v.map(|at| (key, at));
        [
            at(self.path.map(|v| v.span().start), "path"),
            at(self.host.map(|v| v.span().start), "host"),
            at(self.expect_status.map(|v| v.span().start), "expect_status"),
            at(self.expect_body.map(|v| v.span().start), "expect_body"),
            at(self.tls_verify.map(|v| v.span().start), "tls_verify"),
            at(self.ca_file.map(|v| v.span().start), "ca_file"),
            at(self.cert_min_days.map(|v| v.span().start), "cert_min_days"),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The https keys set here, with their offsets.
    fn https_only(&self) -> Vec<(&'static str, usize)> {
        let mut keys = self.http_only();
        keys.retain(|(key, _)| matches!(*key, "ca_file" | "cert_min_days"));
        keys
    }
}

/// `[[check.probe]]`, `require` and `probe_address` belong to one check.
pub(super) fn not_in_defaults(src: &Source, d: &RawSettings) -> Result<(), ConfigError> {
    let found = [
        (
            "[[check.probe]]",
            d.probe
                .as_ref()
                .and_then(|p| p.first())
                .map(|p| p.span().start),
        ),
        ("require", d.require.as_ref().map(|r| r.span().start)),
        (
            "probe_address",
            d.probe_address.as_ref().map(|p| p.span().start),
        ),
    ];
    match found.into_iter().find_map(|(key, at)| Some((key, at?))) {
        Some((key, at)) => Err(src.err(
            at,
            format!("{key} belongs in a [[check]], not in [defaults]"),
        )),
        None => Ok(()),
    }
}

/// The probe keys of `[defaults]` or of one `[[check]]`, each on its own.
pub(super) fn settings(src: &Source, s: &RawSettings) -> Result<(), ConfigError> {
    values(src, Keys::of_settings(s))
}

/// Values that are wrong whatever the scheme and whichever table they are in.
fn values(src: &Source, k: Keys) -> Result<(), ConfigError> {
    if let Some(p) = k.port
        && *p.get_ref() == 0
    {
        return Err(src.err(p.span().start, "port must not be 0".into()));
    }
    if let Some(p) = k.path
        && !p.get_ref().starts_with('/')
    {
        return Err(src.err(p.span().start, "path must start with '/'".into()));
    }
    if let Some(st) = k.expect_status {
        if st.get_ref().is_empty() {
            return Err(src.err(st.span().start, "expect_status is empty".into()));
        }
        if let Some(bad) = st.get_ref().iter().find(|v| !(100..=599).contains(*v)) {
            return Err(src.err(st.span().start, format!("bad HTTP status {bad}")));
        }
    }
    if let Some(h) = k.host
        && !super::validate::valid_host(h.get_ref())
    {
        return Err(src.err(
            h.span().start,
            format!(
                "bad host {:?}: a host name or IP address, without port or path",
                h.get_ref()
            ),
        ));
    }
    if let Some(t) = k.timeout
        && t.get_ref().0.is_zero()
    {
        return Err(src.err(t.span().start, "timeout must be greater than zero".into()));
    }
    Ok(())
}

/// The probes of the check `c` over `[defaults]` `d`, with `require` and
/// `probe_address`.
pub(super) fn check(
    src: &Source,
    c: &RawSettings,
    d: &RawSettings,
    cas: &mut CaFiles,
) -> Result<CheckProbes, ConfigError> {
    let (defaults, own) = (Keys::of_settings(d), Keys::of_settings(c));
    let check_keys = own.over(defaults);
    let tables: Vec<(&Spanned<RawProbe>, Keys)> = c
        .probe
        .iter()
        .flatten()
        .map(|t| (t, Keys::of_probe(t.get_ref()).over(check_keys)))
        .collect();
    for (table, keys) in &tables {
        let written = Keys::of_probe(table.get_ref());
        values(src, written)?;
        misplaced(src, written, keys.scheme(), "this probe")?;
    }
    // The check's own keys are used by its one probe, or inherited by its
    // tables: they are misplaced only when no probe could use them.
    let schemes: Vec<Scheme> = match tables.is_empty() {
        true => vec![check_keys.scheme()],
        false => tables.iter().map(|(_, k)| k.scheme()).collect(),
    };
    let widest = match () {
        _ if schemes.contains(&Scheme::Https) => Scheme::Https,
        _ if schemes.contains(&Scheme::Http) => Scheme::Http,
        _ => Scheme::Tcp,
    };
    misplaced(src, own, widest, "this check")?;
    if tables.is_empty() && widest == Scheme::Tcp {
        let inherited: Vec<&str> = defaults
            .http_only()
            .into_iter()
            .map(|(key, _)| key)
            .filter(|key| !matches!(*key, "ca_file" | "cert_min_days"))
            .collect();
        if !inherited.is_empty() {
            tracing::warn!(
                line = src.line(c.names.as_ref().and_then(|n| n.first()).map_or(0, |n| n.span().start)),
                keys = ?inherited,
                "a tcp check: these [defaults] keys do not apply to it"
            );
        }
    }
    let mut own_probe = probe(check_keys);
    own_probe.ca_file = cas.load(src, check_keys.ca_file)?;
    let mut resolved = Vec::with_capacity(tables.len());
    for (_, keys) in &tables {
        let mut p = probe(*keys);
        p.ca_file = cas.load(src, keys.ca_file)?;
        resolved.push(p);
    }
    let count = resolved.len().max(1);
    Ok(CheckProbes {
        own: own_probe,
        tables: resolved,
        require: require(src, c.require.as_ref(), count)?,
        probe_address: probe_address(src, c)?,
    })
}

/// Keys written in a table whose probes are of `scheme` that cannot apply:
/// HTTP keys with tcp, certificate keys with http. More likely a slip (a
/// forgotten `scheme`) than a wish, so an error at the key.
fn misplaced(src: &Source, written: Keys, scheme: Scheme, table: &str) -> Result<(), ConfigError> {
    match scheme {
        Scheme::Https => Ok(()),
        Scheme::Tcp => match written.http_only().first() {
            Some((key, at)) => Err(src.err(
                *at,
                format!(
                    "{key} makes no sense with scheme = \"tcp\" (a tcp probe only connects): remove it from {table}"
                ),
            )),
            None => Ok(()),
        },
        Scheme::Http => match written.https_only().first() {
            Some((key, at)) => Err(src.err(
                *at,
                format!("{key} applies to https probes only: set scheme = \"https\" in {table}"),
            )),
            None => Ok(()),
        },
    }
}

/// The value of a key, if set.
fn get<T>(v: Option<&Spanned<T>>) -> Option<&T> {
    v.map(Spanned::get_ref)
}

/// The probe `k` describes (its `ca_file` is loaded by the caller).
fn probe(k: Keys) -> Probe {
    let scheme = k.scheme();
    Probe {
        scheme,
        port: get(k.port).copied().unwrap_or(match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
            // Unset, a tcp probe is to the port HTTP would use.
            Scheme::Tcp => 80,
        }),
        path: get(k.path).cloned().unwrap_or_else(|| "/".to_string()),
        host: get(k.host).cloned(),
        expect_status: get(k.expect_status).cloned(),
        expect_body: get(k.expect_body).cloned(),
        tls_verify: get(k.tls_verify).copied().unwrap_or(true),
        ca_file: None,
        cert_min_days: get(k.cert_min_days).copied(),
        timeout: k.timeout.map(|t| t.get_ref().0),
    }
}

/// `require` against a check of `probes` probes.
fn require(
    src: &Source,
    require: Option<&Spanned<RawRequire>>,
    probes: usize,
) -> Result<Require, ConfigError> {
    let Some(r) = require else {
        return Ok(Require::All);
    };
    let at = r.span().start;
    match r.get_ref() {
        RawRequire::Word(w) if w == "all" => Ok(Require::All),
        RawRequire::Word(w) if w == "any" => Ok(Require::Any),
        RawRequire::Word(w) => Err(src.err(
            at,
            format!("require = {w:?}: write \"all\", \"any\" or a number of probes"),
        )),
        RawRequire::Count(n) if *n < 1 => {
            Err(src.err(at, format!("require = {n}: at least 1 probe must pass")))
        }
        RawRequire::Count(n) => match usize::try_from(*n) {
            Ok(n) if n <= probes => Ok(Require::AtLeast(n)),
            _ => Err(src.err(
                at,
                format!("require = {n}, but this check has {probes} probe(s)"),
            )),
        },
    }
}

/// `probe_address`: every key and value an IP address.
fn probe_address(src: &Source, c: &RawSettings) -> Result<Vec<ProbeAddress>, ConfigError> {
    let Some(map) = &c.probe_address else {
        return Ok(Vec::new());
    };
    let ip = |s: &Spanned<String>, what: &str| {
        s.get_ref().trim().parse::<IpAddr>().map_err(|_| {
            src.err(
                s.span().start,
                format!(
                    "probe_address: {:?} is not an IP address ({what})",
                    s.get_ref()
                ),
            )
        })
    };
    map.get_ref()
        .iter()
        .map(|(record, probed)| {
            Ok(ProbeAddress {
                record: ip(record, "the key is a record's address")?,
                probed: ip(probed, "the value is the address probed instead")?,
                line: src.line(record.span().start),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
