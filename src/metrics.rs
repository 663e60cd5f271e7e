//! Owns hale's Prometheus metrics. The query path only bumps counters whose
//! handles were resolved once at start-up (one relaxed atomic add per query);
//! health gauges are built from the current state at each scrape.
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | `hale_build_info` | info | `version` |
//! | `hale_queries_total` | counter | `transport` (udp, tcp), `rcode` |
//! | `hale_queries_dropped_total` | counter | `transport`: messages that got no response (runts, responses) |
//! | `hale_responses_truncated_total` | counter | UDP answers sent with TC |
//! | `hale_reloads_total` | counter | `result` (ok, error) |
//! | `hale_rrl_limited_total` | counter | `action` (slipped, dropped): UDP responses RRL truncated or dropped |
//! | `hale_transfers_total` | counter | zone transfers sent |
//! | `hale_tcp_connections` | gauge | TCP connections open |
//! | `hale_tcp_closed_total` | counter | `reason`: connections hale closed (idle_timeout, message_timeout, evicted, refused) |
//! | `hale_zones` | gauge | zones loaded |
//! | `hale_target_up` | gauge | `target`, `address`: 1 healthy, 0 not |
//! | `hale_target_probe_latency_seconds` | gauge | `target`, `address`: last probe's latency |
//! | `hale_target_stale` | gauge | `target`, `address`: 1 when its prober gave no result for 3 intervals |
//! | `hale_target_verdict_age_seconds` | gauge | `target`, `address`: time since its last result |

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::dns::{Rcode, Transport};

fn rcode_index(rcode: Rcode) -> usize {
    match rcode {
        Rcode::NoError => 0,
        Rcode::FormErr => 1,
        Rcode::ServFail => 2,
        Rcode::NxDomain => 3,
        Rcode::NotImp => 4,
        Rcode::Refused => 5,
        Rcode::BadVers => 6,
    }
}

/// Response codes hale sends, in [`Rcode`] order.
const RCODES: [&str; 7] = [
    "noerror", "formerr", "servfail", "nxdomain", "notimp", "refused", "badvers",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueryLabels {
    transport: &'static str,
    rcode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Why hale closed a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpClose {
    /// No query within the idle timeout.
    IdleTimeout,
    /// A message took longer than the message timeout to arrive or be taken.
    MessageTimeout,
    /// Closed, while idle, to make room for a new connection at the cap.
    Evicted,
    /// A new connection closed at once: the cap was reached and every connection was busy.
    Refused,
}

impl TcpClose {
    fn label(self) -> &'static str {
        match self {
            TcpClose::IdleTimeout => "idle_timeout",
            TcpClose::MessageTimeout => "message_timeout",
            TcpClose::Evicted => "evicted",
            TcpClose::Refused => "refused",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
    address: String,
}

/// One target's gauges at a scrape.
pub struct TargetSample {
    /// What is probed.
    pub target: String,
    /// The record's address.
    pub address: String,
    /// Counted as healthy.
    pub healthy: bool,
    /// The last probe's latency.
    pub latency_seconds: Option<f64>,
    /// Its prober has been silent too long.
    pub stale: bool,
    /// Time since its last result.
    pub age_seconds: f64,
}

/// The registry and the handles the hot path bumps.
pub struct Metrics {
    /// Everything registered at start-up.
    registry: Registry,
    /// `hale_queries_total`, indexed by transport then rcode.
    queries: [[Counter; RCODES.len()]; 2],
    /// `hale_queries_dropped_total`, indexed by transport.
    dropped: [Counter; 2],
    /// `hale_responses_truncated_total`.
    truncated: Counter,
    /// `hale_reloads_total`.
    reloads: Family<ResultLabels, Counter>,
    /// `hale_zones`.
    zones: Gauge,
    /// `hale_tcp_closed_total`.
    tcp_closed: Family<ReasonLabels, Counter>,
    /// `hale_rrl_limited_total`: slipped, dropped.
    rrl: [Counter; 2],
    /// `hale_transfers_total`.
    transfers: Counter,
    /// `hale_notifies_total`.
    notifies: Notifies,
}

/// `hale_notifies_total`: NOTIFYs to secondaries by outcome. A handle the
/// NOTIFY task keeps (clones share the counts).
#[derive(Clone, Debug, Default)]
pub struct Notifies(Family<ResultLabels, Counter>);

impl Notifies {
    /// Counts one NOTIFY: `acknowledged`, `refused` or `unanswered`.
    pub fn count(&self, result: &'static str) {
        self.0.get_or_create(&ResultLabels { result }).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("hale");
        registry.register(
            "build",
            "hale's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        let queries_family = Family::<QueryLabels, Counter>::default();
        registry.register(
            "queries",
            "Responses sent, by transport and response code",
            queries_family.clone(),
        );
        let dropped_family = Family::<TransportLabels, Counter>::default();
        registry.register(
            "queries_dropped",
            "Messages that got no response (shorter than a header, or a response)",
            dropped_family.clone(),
        );
        let truncated = Counter::default();
        registry.register(
            "responses_truncated",
            "UDP responses sent with TC set",
            truncated.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register("reloads", "Reloads by result", reloads.clone());
        let zones = Gauge::default();
        registry.register("zones", "Zones loaded", zones.clone());

        let tcp_closed = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "tcp_closed",
            "TCP connections hale closed, by reason",
            tcp_closed.clone(),
        );

        let rrl_family = Family::<ActionLabels, Counter>::default();
        registry.register(
            "rrl_limited",
            "UDP responses over the rate limit, by what was done with them",
            rrl_family.clone(),
        );
        let rrl = ["slipped", "dropped"]
            .map(|action| rrl_family.get_or_create(&ActionLabels { action }).clone());

        let transfers = Counter::default();
        registry.register("transfers", "Zone transfers sent", transfers.clone());
        let notifies = Notifies::default();
        registry.register(
            "notifies",
            "NOTIFYs to secondaries, by outcome",
            notifies.0.clone(),
        );
        // At 0 from the start, so a rate sees the first one.
        for result in ["acknowledged", "refused", "unanswered"] {
            let _ = notifies.0.get_or_create(&ResultLabels { result });
        }

        let transports = ["udp", "tcp"];
        let queries = transports.map(|transport| {
            RCODES.map(|rcode| {
                queries_family
                    .get_or_create(&QueryLabels { transport, rcode })
                    .clone()
            })
        });
        let dropped = transports.map(|transport| {
            dropped_family
                .get_or_create(&TransportLabels { transport })
                .clone()
        });
        Metrics {
            registry,
            queries,
            dropped,
            truncated,
            reloads,
            zones,
            tcp_closed,
            rrl,
            transfers,
            notifies,
        }
    }

    /// The NOTIFY counter, for the task that sends them.
    pub fn notifies(&self) -> Notifies {
        self.notifies.clone()
    }

    /// Counts one response: its rcode, and TC from its header.
    pub fn answered(&self, transport: Transport, rcode: Rcode, response: &[u8]) {
        self.queries[transport as usize][rcode_index(rcode)].inc();
        if response.get(2).is_some_and(|b| b & 0x02 != 0) {
            self.truncated.inc();
        }
    }

    /// Counts a batch of responses (rcode, truncated) and dropped messages at
    /// once, so busy workers touch the shared counters once per batch.
    pub fn tally(&self, transport: Transport, answered: &[(Rcode, bool)], dropped: u64) {
        let mut counts = [0u64; RCODES.len()];
        let mut truncated = 0;
        for &(rcode, tc) in answered {
            counts[rcode_index(rcode)] += 1;
            truncated += u64::from(tc);
        }
        for (counter, n) in self.queries[transport as usize].iter().zip(counts) {
            if n > 0 {
                counter.inc_by(n);
            }
        }
        if truncated > 0 {
            self.truncated.inc_by(truncated);
        }
        if dropped > 0 {
            self.dropped[transport as usize].inc_by(dropped);
        }
    }

    /// Counts one message that got no response.
    pub fn dropped(&self, transport: Transport) {
        self.dropped[transport as usize].inc();
    }

    /// Counts a reload attempt.
    pub fn reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
    }

    /// Counts responses rate limiting truncated (slipped) or dropped.
    pub fn rrl_limited(&self, slipped: u64, dropped: u64) {
        self.rrl[0].inc_by(slipped);
        self.rrl[1].inc_by(dropped);
    }

    /// Counts a zone transfer sent.
    pub fn transfer(&self) {
        self.transfers.inc();
    }

    /// Counts a TCP connection hale closed.
    pub fn tcp_closed(&self, why: TcpClose) {
        self.tcp_closed
            .get_or_create(&ReasonLabels {
                reason: why.label(),
            })
            .inc();
    }

    /// Sets the number of loaded zones.
    pub fn set_zones(&self, n: usize) {
        self.zones.set(n as i64);
    }

    /// Renders the OpenMetrics text, with target gauges from `targets` and
    /// `gauges` (name, help, value) read at scrape time.
    pub fn render(
        &self,
        targets: impl Iterator<Item = TargetSample>,
        gauges: &[(&'static str, &'static str, i64)],
    ) -> String {
        let mut scrape = Registry::with_prefix("hale");
        for &(name, help, value) in gauges {
            let gauge = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
            gauge.set(value);
            scrape.register(name, help, gauge);
        }
        let up = Family::<TargetLabels, Gauge>::default();
        let latency = Family::<TargetLabels, Gauge<f64, AtomicU64>>::default();
        let stale = Family::<TargetLabels, Gauge>::default();
        let age = Family::<TargetLabels, Gauge<f64, AtomicU64>>::default();
        for t in targets {
            let labels = TargetLabels {
                target: t.target,
                address: t.address,
            };
            up.get_or_create(&labels).set(i64::from(t.healthy));
            if let Some(seconds) = t.latency_seconds {
                latency.get_or_create(&labels).set(seconds);
            }
            stale.get_or_create(&labels).set(i64::from(t.stale));
            age.get_or_create(&labels).set(t.age_seconds);
        }
        scrape.register(
            "target_stale",
            "1 when the target's prober gave no result for 3 intervals",
            stale,
        );
        scrape.register(
            "target_verdict_age_seconds",
            "Time since the target's last probe result",
            age,
        );
        scrape.register("target_up", "1 if the target is healthy", up);
        scrape.register(
            "target_probe_latency_seconds",
            "Latency of the target's last probe",
            latency,
        );
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &scrape);
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }
}
