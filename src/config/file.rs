//! The shape of `hale.toml`: serde mirror types that take the file exactly as
//! written, unknown keys rejected, values kept `Spanned` where an error about
//! them must name their line. Nothing here judges a value; [`super::validate`]
//! does.

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
    pub(super) listen: Spanned<Vec<SocketAddr>>,
    pub(super) zones: Spanned<RawZones>,
    pub(super) workers: Option<Spanned<usize>>,
    pub(super) tcp_max_connections: Option<Spanned<usize>>,
    #[serde(default, with = "humantime_serde")]
    pub(super) tcp_idle_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(super) tcp_message_timeout: Option<Duration>,
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
    #[serde(default, with = "humantime_serde")]
    pub(super) window: Option<Duration>,
    pub(super) canary: Option<String>,
}

/// `Default` is the section left out: nobody may transfer, nobody is notified.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTransfer {
    #[serde(default)]
    pub(super) allow: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) notify: Vec<Spanned<String>>,
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
    pub(super) listen: Spanned<SocketAddr>,
    #[serde(default)]
    pub(super) token_file: Option<Spanned<String>>,
}

/// A humantime duration (`"5s"`, `"1m 30s"`) in a form `Spanned` can hold,
/// so errors about its value name its line.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dur(pub(super) Duration);

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
    pub(super) scheme: Option<Scheme>,
    pub(super) host: Option<Spanned<String>>,
    pub(super) expect_status: Option<Spanned<Vec<u16>>>,
    pub(super) expect_body: Option<String>,
    pub(super) tls_verify: Option<bool>,
    pub(super) flap_damping: Option<bool>,
    pub(super) flap_half_life: Option<Spanned<Dur>>,
}

// Spanned at 0..0: a default has no line of its own in the file.

fn default_listen() -> Spanned<Vec<SocketAddr>> {
    Spanned::new(0..0, vec![SocketAddr::from(([127, 0, 0, 1], 5353))])
}

fn default_admin_listen() -> Spanned<SocketAddr> {
    Spanned::new(0..0, SocketAddr::from(([127, 0, 0, 1], 8053)))
}
