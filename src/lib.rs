//! hale: an authoritative DNS server that answers only with healthy servers.
//!
//! Data flows one way; each module owns one stage and imports only the
//! ones before it:
//!
//! ```text
//! hale.toml ─► config ─┬─► zones ─┐
//!                      └──────────┴─► health ─► dns ─► server (UDP, TCP, admin HTTP, NOTIFY)
//!                                  (checks, probes, verdicts)  (Loaded, Snapshot, answers)
//! ```
//!
//! - [`config`]: reads `hale.toml` into a validated [`config::Config`].
//! - [`zones`]: loads RFC 1035 zone files into an immutable [`zones::ZoneSet`].
//! - [`health`]: resolves the checks against the zones ([`health::Checks`]),
//!   probes every target, keeps its up/down state, and says which verdicts
//!   answers follow ([`health::Verdicts`], held by the mass-failure guard when
//!   every probe fails at once).
//! - [`dns`]: loads a config into [`dns::Loaded`] (zones, checks, answer
//!   table), builds the immutable [`dns::Snapshot`] from it and the verdicts,
//!   and answers queries and transfers from a snapshot, bytes in, bytes out.
//! - [`metrics`]: Prometheus counters and gauges.
//! - [`server`]: sockets, signals, reloads and shutdown; publishes a new
//!   snapshot on every health change and reload; the admin listener, rate
//!   limiting and NOTIFY.
//! - [`ctl`]: `hale ctl`, the operator's client of the admin listener.
//! - `parallel`: the parts of one load run on every core.
//! - [`logging`]: the log's text and JSON lines (a leaf, used by `main`).
//!
//! A query: `server::udp`/`tcp` ─► [`dns::respond`] ─► the snapshot's answer
//! table (`dns::fast`), else the zone walk (`dns::slow`). A probe:
//! `health` prober ─► `Target` verdict ─► `changes` watch ─►
//! `server::State::rebuild` ─► [`dns::Snapshot::build`] ─► swapped in.

pub mod config;
pub mod ctl;
pub mod dns;
pub mod health;
pub mod logging;
pub mod metrics;
mod parallel;
pub mod server;
pub mod zones;
