//! The shape of `hale.toml`: serde mirror types that take the file exactly as
//! written, unknown keys rejected, values kept `Spanned` where an error about
//! them must name their line. Nothing here judges a value; [`super::validate`]
//! does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX, Scheme, WhenAllDown};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) server: RawServer,
    pub(super) admin: Option<RawAdmin>,
    pub(super) rrl: Option<Spanned<RawRrl>>,
    pub(super) mass_failure: Option<Spanned<RawMassFailure>>,
    pub(super) transfer: Option<RawTransfer>,
    #[serde(default)]
    pub(super) key: Vec<Spanned<RawKey>>,
    pub(super) state: Option<RawState>,
    #[serde(default)]
    pub(super) defaults: RawSettings,
    #[serde(default)]
    pub(super) check: Vec<Spanned<RawSettings>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    #[serde(default = "default_listen")]
    pub(super) listen: Spanned<Vec<Addr>>,
    pub(super) zones: Spanned<RawZones>,
    pub(super) workers: Option<Spanned<usize>>,
    pub(super) tcp_max_connections: Option<Spanned<usize>>,
    pub(super) tcp_idle_timeout: Option<Dur>,
    pub(super) tcp_message_timeout: Option<Dur>,
    pub(super) cookies: Option<bool>,
    pub(super) cookie_secret_file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRrl {
    pub(super) responses_per_second: u32,
    #[serde(default = "default_slip")]
    pub(super) slip: u32,
    #[serde(default = "default_ipv4_prefix")]
    pub(super) ipv4_prefix: u8,
    #[serde(default = "default_ipv6_prefix")]
    pub(super) ipv6_prefix: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMassFailure {
    #[serde(default = "default_true")]
    pub(super) enabled: bool,
    pub(super) share: Option<f64>,
    pub(super) min_names: Option<usize>,
    pub(super) window: Option<Dur>,
    pub(super) canary: Option<String>,
}

/// `Default` is the section left out: nobody may transfer, nobody is notified.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTransfer {
    /// Addresses, or `{ from, key }` tables (judged in `transfer`).
    #[serde(default)]
    pub(super) allow: Vec<Spanned<toml::Value>>,
    /// Addresses, or `{ to, key }` tables.
    #[serde(default)]
    pub(super) notify: Vec<Spanned<toml::Value>>,
}

/// A `[[key]]`: a TSIG key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKey {
    pub(super) name: Spanned<String>,
    pub(super) algorithm: Option<Spanned<String>>,
    /// A `Value`, so that a secret written without quotes is refused
    /// without toml's message quoting it.
    pub(super) secret: Option<Spanned<toml::Value>>,
    pub(super) secret_file: Option<Spanned<String>>,
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
pub(super) enum RawZones {
    Folder(String),
    Files(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    pub(super) file: Spanned<String>,
    #[serde(default)]
    pub(super) max_age: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    #[serde(default = "default_admin_listen")]
    pub(super) listen: Spanned<Addr>,
    #[serde(default)]
    pub(super) token_file: Option<Spanned<String>>,
}

/// A humantime duration (`"5s"`, `"1m 30s"`) in a form `Spanned` can hold,
/// so errors about its value name its line.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dur(pub(super) Duration);

/// What every bad duration is told: `interval = 5` or `"5"` is the usual
/// mistake, and an example shows the fix faster than humantime's grammar.
pub(super) const DURATION_EXAMPLE: &str =
    "expected a duration with a unit, such as \"5s\", \"500ms\" or \"1m\"";

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Dur;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                // serde's "invalid type: integer `5`, expected ..." reads on from here.
                f.write_str(&DURATION_EXAMPLE["expected ".len()..])
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Dur, E> {
                humantime::parse_duration(s)
                    .map(Dur)
                    .map_err(|_| E::custom(format!("bad duration {s:?}: {DURATION_EXAMPLE}")))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// A socket address (`"127.0.0.1:53"`, `"[::1]:53"`) whose error, for the
/// easy slip of an IPv6 address without brackets, says how to write it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Addr(pub(super) SocketAddr);

impl<'de> Deserialize<'de> for Addr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Addr, D::Error> {
        let text = String::deserialize(d)?;
        text.trim()
            .parse()
            .map(Addr)
            .map_err(|_| serde::de::Error::custom(bad_socket_addr(&text)))
    }
}

/// Why `text` is not a socket address, with the way to write it when it is
/// recognisably an IPv6 address and port without brackets (`::1:5301`).
pub(super) fn bad_socket_addr(text: &str) -> String {
    if let Some(fix) = bracketed(text) {
        return format!(
            "{text:?} is not an address and port: an IPv6 address takes brackets before a port, write {fix:?}"
        );
    }
    if let Ok(ip) = text.trim().parse::<std::net::IpAddr>() {
        return format!(
            "{text:?} has no port: write {:?}",
            SocketAddr::new(ip, 53).to_string()
        );
    }
    format!("{text:?} is not an address and port, such as \"127.0.0.1:53\" or \"[::1]:53\"")
}

/// `[ADDRESS]:PORT` for text that reads as an IPv6 address followed by
/// `:PORT` without brackets; `None` otherwise. A last group of one digit is
/// taken for part of the address (`::1`), not a port.
pub(super) fn bracketed(text: &str) -> Option<String> {
    let (ip, port) = text.trim().rsplit_once(':')?;
    if port.len() < 2 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ip = ip.parse::<std::net::Ipv6Addr>().ok()?;
    let port = port.parse::<u16>().ok()?;
    Some(SocketAddr::new(ip.into(), port).to_string())
}

/// The keys of `[defaults]` and of each `[[check]]` (where `names` is
/// required, and any other key overrides `[defaults]` for that check).
/// One type for both, so both are read and validated alike.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    pub(super) names: Option<Vec<Spanned<String>>>,
    pub(super) interval: Option<Spanned<Dur>>,
    pub(super) timeout: Option<Spanned<Dur>>,
    pub(super) rise: Option<Spanned<u32>>,
    pub(super) fall: Option<Spanned<u32>>,
    pub(super) ttl: Option<Spanned<u32>>,
    pub(super) when_all_down: Option<WhenAllDown>,
    pub(super) port: Option<Spanned<u16>>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) scheme: Option<Spanned<Scheme>>,
    pub(super) host: Option<Spanned<String>>,
    pub(super) expect_status: Option<Spanned<Vec<u16>>>,
    pub(super) expect_body: Option<Spanned<String>>,
    pub(super) tls_verify: Option<Spanned<bool>>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) cert_min_days: Option<Spanned<u32>>,
    // A [[check]]'s probes and how they combine: see `super::probes`.
    pub(super) probe: Option<Vec<Spanned<RawProbe>>>,
    pub(super) require: Option<Spanned<RawRequire>>,
    pub(super) probe_address: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    pub(super) flap_damping: Option<bool>,
    pub(super) flap_half_life: Option<Spanned<Dur>>,
    pub(super) tiers: Option<Spanned<Vec<Vec<Spanned<String>>>>>,
    pub(super) min_healthy: Option<Spanned<super::policy::RawMinHealthy>>,
    pub(super) weights: Option<Spanned<std::collections::BTreeMap<String, u32>>>,
    pub(super) max_answers: Option<Spanned<u32>>,
}

/// One `[[check.probe]]`: the probe keys, each overriding its check's for
/// this probe.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProbe {
    pub(super) scheme: Option<Spanned<Scheme>>,
    pub(super) port: Option<Spanned<u16>>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) host: Option<Spanned<String>>,
    pub(super) expect_status: Option<Spanned<Vec<u16>>>,
    pub(super) expect_body: Option<Spanned<String>>,
    pub(super) tls_verify: Option<Spanned<bool>>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) cert_min_days: Option<Spanned<u32>>,
    pub(super) timeout: Option<Spanned<Dur>>,
}

/// `require`: `"all"`, `"any"` or a number, judged in `super::probes`.
#[derive(Deserialize)]
#[serde(untagged, expecting = "\"all\", \"any\" or a number of probes")]
pub(super) enum RawRequire {
    Count(i64),
    Word(String),
}

// Spanned at 0..0: a default has no line of its own in the file.

fn default_listen() -> Spanned<Vec<Addr>> {
    Spanned::new(0..0, vec![Addr(SocketAddr::from(([127, 0, 0, 1], 5353)))])
}

fn default_admin_listen() -> Spanned<Addr> {
    Spanned::new(0..0, Addr(SocketAddr::from(([127, 0, 0, 1], 8053))))
}
