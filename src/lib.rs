//! hale: an authoritative DNS server that answers only with healthy servers.
//!
//! Data flows one way; each module owns one stage:
//!
//! ```text
//! config.toml ─► config (validated Config) ──┐
//! zone files  ─► zones (immutable ZoneSet) ──┼─► view (answer view, ArcSwap) ─► dns (answer bytes) ─► server (UDP/TCP)
//!                health (probers, rise/fall) ─┘          ▲
//!                admin (HTTP: /healthz, /status) ─────────┘ reads the same view and health targets
//! ```
//!
//! - [`config`]: reads `hale.toml` into a validated [`config::Config`].
//! - [`zones`]: loads RFC 1035 zone files into an immutable [`zones::ZoneSet`].
//! - [`health`]: probes every target over HTTP(S) and keeps its up/down state.
//! - [`view`]: joins zones and health into the immutable [`view::View`] the query path reads.
//! - [`dns`]: turns one query message into one response message (bytes in, bytes out).
//! - [`load`]: reads config and zones into one validated bundle.
//! - [`server`]: wiring: sockets, signals, reload, shutdown.
//! - [`admin`]: the HTTP admin listener.
//! - [`metrics`]: Prometheus counters and gauges served by admin.
//! - [`guard`]: the mass-failure guard that keeps answers when every probe fails at once.
//! - [`rrl`]: response rate limiting per client prefix for UDP.
//! - [`serial`]: the SOA serials of zones handed to secondaries, rising with health.
//! - [`notify`]: NOTIFY to secondaries when a zone's serial changes.
//! - `parallel`: the parts of one load run on every core.

pub mod admin;
pub mod config;
pub mod dns;
pub mod guard;
pub mod health;
pub mod load;
pub mod metrics;
pub mod notify;
mod parallel;
pub mod rrl;
pub mod serial;
pub mod server;
pub mod view;
pub mod zones;
