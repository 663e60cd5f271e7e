//! Owns hale's Prometheus metrics. The query path only bumps counters whose
//! handles were resolved once at start-up, once per batch of queries;
//! health metrics are read from the current state at each scrape
//! ([`scrape`]).
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | `hale_build_info` | info | `version` |
//! | `hale_queries_total` | counter | `transport` (udp, tcp), `rcode` |
//! | `hale_queries_dropped_total` | counter | `transport`: messages that got no response (runts, responses) |
//! | `hale_responses_truncated_total` | counter | UDP answers sent with TC |
//! | `hale_answers_total` | counter | `qtype` (A, AAAA, …, other), `rcode` |
//! | `hale_reloads_total` | counter | `result` (ok, error) |
//! | `hale_last_reload_successful` | gauge | 1 if the last reload (or the start) loaded |
//! | `hale_last_reload_success_timestamp_seconds` | gauge | when config and zones last loaded (start or reload) |
//! | `hale_rrl_limited_total` | counter | `action` (slipped, dropped): UDP responses RRL truncated or dropped |
//! | `hale_transfers_total` | counter | zone transfers sent |
//! | `hale_tsig_refusals_total{error}` | counter | requests refused for their signature (`unsigned`, `BADKEY`, `BADSIG`, `BADTIME`, `malformed`) |
//! | `hale_tcp_connections` | gauge | TCP connections open |
//! | `hale_tcp_closed_total` | counter | `reason`: connections hale closed (idle_timeout, message_timeout, evicted, refused) |
//! | `hale_zones` | gauge | zones loaded |
//! | `hale_target_up` | gauge | `target`, `address`: 1 healthy, 0 not |
//! | `hale_target_probe_latency_seconds` | gauge | `target`, `address`: last probe's latency |
//! | `hale_target_stale` | gauge | `target`, `address`: 1 when its prober gave no result for 3 intervals |
//! | `hale_target_verdict_age_seconds` | gauge | `target`, `address`: time since its last result |
//! | `hale_target_certificate_expiry_timestamp_seconds` | gauge | `target`, `address`: https, when the certificate expires |
//! | `hale_probes_total` | counter | `target`, `address`, `result` (ok, fail) |
//! | `hale_target_transitions_total` | counter | `target`, `address`, `to` (up, down) |
//! | `hale_probe_duration_seconds` | histogram | `target`, `address` |
//! | `hale_target_override` | gauge | `name`, `target`, `address`, `kind` (drain, force-up): 1 while it applies |
//! | `hale_name_addresses` | gauge | `name`, `type`: addresses in the zone |
//! | `hale_name_healthy` | gauge | `name`, `type`: healthy or forced up, not drained |
//! | `hale_name_serving` | gauge | `name`, `type`: in the answer now |
//! | `hale_name_fail_open` | gauge | `name`, `type`: 1 while `when_all_down = "all"` answers |
//! | `hale_tcp_connections`, `hale_mass_failure` | gauge | read at scrape |
//! | `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`, `process_start_time_seconds` | | as every exporter has them (Linux) |

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

use crate::dns::{Answered, Rcode, Transport};

mod process;
mod scrape;
pub use scrape::{NameSample, OverrideSample, Scrape, TargetSample};

/// Query types counted by name in `hale_answers_total`; the rest are `other`.
const QTYPES: [(u16, &str); 18] = [
    (1, "A"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (12, "PTR"),
    (15, "MX"),
    (16, "TXT"),
    (28, "AAAA"),
    (33, "SRV"),
    (35, "NAPTR"),
    (43, "DS"),
    (48, "DNSKEY"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (251, "IXFR"),
    (252, "AXFR"),
    (255, "ANY"),
    (257, "CAA"),
];

/// Where `qtype` is counted: its place in [`QTYPES`], or the last (`other`).
/// A match, which compiles to a jump table: it runs once per response.
fn qtype_index(qtype: u16) -> usize {
    match qtype {
        1 => 0,
        2 => 1,
        5 => 2,
        6 => 3,
        12 => 4,
        15 => 5,
        16 => 6,
        28 => 7,
        33 => 8,
        35 => 9,
        43 => 10,
        48 => 11,
        64 => 12,
        65 => 13,
        251 => 14,
        252 => 15,
        255 => 16,
        257 => 17,
        _ => QTYPES.len(),
    }
}

/// Counters of `hale_answers_total`, by query type then rcode, created at
/// their first use so a scrape lists only what was answered.
type AnswerCounters = [[OnceLock<Counter>; RCODES.len()]; QTYPES.len() + 1];

fn rcode_index(rcode: Rcode) -> usize {
    match rcode {
        Rcode::NoError => 0,
        Rcode::FormErr => 1,
        Rcode::ServFail => 2,
        Rcode::NxDomain => 3,
        Rcode::NotImp => 4,
        Rcode::Refused => 5,
        Rcode::BadVers => 6,
        Rcode::YxDomain => 7,
        Rcode::NotAuth => 8,
    }
}

/// Response codes hale sends, in [`rcode_index`] order.
const RCODES: [&str; 9] = [
    "noerror", "formerr", "servfail", "nxdomain", "notimp", "refused", "badvers", "yxdomain",
    "notauth",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueryLabels {
    transport: &'static str,
    rcode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnswerLabels {
    qtype: &'static str,
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
    /// `hale_answers_total`.
    answers_family: Family<AnswerLabels, Counter>,
    /// Its counters, resolved once each.
    answers: Box<AnswerCounters>,
    /// `hale_reloads_total`.
    reloads: Family<ResultLabels, Counter>,
    /// `hale_last_reload_successful`.
    reload_ok: Gauge,
    /// `hale_last_reload_success_timestamp_seconds`.
    reload_ok_at: Gauge<f64, AtomicU64>,
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
    /// `hale_tsig_refusals_total`.
    tsig_refusals: Family<ErrorLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    error: &'static str,
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
        let answers_family = Family::<AnswerLabels, Counter>::default();
        registry.register(
            "answers",
            "Responses sent, by query type and response code",
            answers_family.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reloads",
            "Reloads (SIGHUP, POST /reload, hale ctl reload) by result",
            reloads.clone(),
        );
        // At 0 from the start, so an alert on increase() sees the first error.
        for result in ["ok", "error"] {
            let _ = reloads.get_or_create(&ResultLabels { result });
        }
        let reload_ok = Gauge::default();
        registry.register(
            "last_reload_successful",
            "1 if the last reload loaded (or none was tried since the start); 0 if it was rejected and the files on disk would fail a restart",
            reload_ok.clone(),
        );
        reload_ok.set(1);
        let reload_ok_at = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "last_reload_success_timestamp_seconds",
            "When config and zones last loaded (the start, or a reload), in seconds since the epoch",
            reload_ok_at.clone(),
        );
        reload_ok_at.set(unix_now());
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

        let tsig_refusals = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "tsig_refusals",
            "Signed or transfer requests refused for their signature, by TSIG error (unsigned: a key was required)",
            tsig_refusals.clone(),
        );

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
            answers_family,
            answers: Box::new(std::array::from_fn(|_| {
                std::array::from_fn(|_| OnceLock::new())
            })),
            reloads,
            reload_ok,
            reload_ok_at,
            zones,
            tcp_closed,
            rrl,
            transfers,
            notifies,
            tsig_refusals,
        }
    }

    /// The NOTIFY counter, for the task that sends them.
    pub fn notifies(&self) -> Notifies {
        self.notifies.clone()
    }

    /// Counts one response: its rcode and type, and TC from its header.
    pub fn answered(&self, transport: Transport, answered: Answered, response: &[u8]) {
        let tc = response.get(2).is_some_and(|b| b & 0x02 != 0);
        self.tally(transport, &[(answered, tc)], 0);
    }

    /// Counts a batch of responses (what was answered, truncated) and
    /// dropped messages at once, so busy workers touch the shared counters
    /// once per batch.
    pub fn tally(&self, transport: Transport, answered: &[(Answered, bool)], dropped: u64) {
        let mut counts = [0u64; RCODES.len()];
        let mut by_type = [[0u32; RCODES.len()]; QTYPES.len() + 1];
        // Which query types the batch had: only their rows are read back.
        let mut seen = 0u32;
        let mut truncated = 0;
        for &(a, tc) in answered {
            let rcode = rcode_index(a.rcode);
            let qtype = qtype_index(a.qtype);
            counts[rcode] += 1;
            by_type[qtype][rcode] += 1;
            seen |= 1 << qtype;
            truncated += u64::from(tc);
        }
        for (counter, n) in self.queries[transport as usize].iter().zip(counts) {
            if n > 0 {
                counter.inc_by(n);
            }
        }
        while seen != 0 {
            let q = seen.trailing_zeros() as usize;
            seen &= seen - 1;
            for (r, &n) in by_type[q].iter().enumerate() {
                if n > 0 {
                    self.answer_counter(q, r).inc_by(u64::from(n));
                }
            }
        }
        if truncated > 0 {
            self.truncated.inc_by(truncated);
        }
        if dropped > 0 {
            self.dropped[transport as usize].inc_by(dropped);
        }
    }

    /// The `hale_answers_total` counter of query type `q` and rcode `r`
    /// (indexes into [`QTYPES`] and [`RCODES`]).
    fn answer_counter(&self, q: usize, r: usize) -> &Counter {
        self.answers[q][r].get_or_init(|| {
            let qtype = QTYPES.get(q).map_or("other", |&(_, name)| name);
            self.answers_family
                .get_or_create(&AnswerLabels {
                    qtype,
                    rcode: RCODES[r],
                })
                .clone()
        })
    }

    /// Counts one message that got no response.
    pub fn dropped(&self, transport: Transport) {
        self.dropped[transport as usize].inc();
    }

    /// Counts a reload attempt.
    pub fn reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
        self.reload_ok.set(i64::from(ok));
        if ok {
            self.reload_ok_at.set(unix_now());
        }
    }

    /// Counts responses rate limiting truncated (slipped) or dropped.
    pub fn rrl_limited(&self, slipped: u64, dropped: u64) {
        self.rrl[0].inc_by(slipped);
        self.rrl[1].inc_by(dropped);
    }

    /// Counts a request refused for its signature: `unsigned`, `BADKEY`,
    /// `BADSIG`, `BADTIME` or `malformed`.
    pub fn tsig_refused(&self, error: &'static str) {
        self.tsig_refusals
            .get_or_create(&ErrorLabels { error })
            .inc();
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

    /// Renders the OpenMetrics text: what was counted, then `scrape`.
    pub fn render(&self, scrape: Scrape) -> String {
        let mut now = Registry::with_prefix("hale");
        now.register_collector(Box::new(scrape));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &now);
        // Exporters' common `process_*` names, without hale's prefix.
        if let Some(process) = process::Process::read() {
            let mut registry = Registry::default();
            registry.register_collector(Box::new(process));
            let _ = prometheus_client::encoding::text::encode_registry(&mut out, &registry);
        }
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }
}

/// Seconds since the epoch.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_renders_target_and_name_samples() {
        let sample = TargetSample {
            target: "https://192.0.2.1:443/ (host www.example.test)".into(),
            address: "192.0.2.1".into(),
            healthy: true,
            latency_seconds: Some(0.002),
            stale: false,
            age_seconds: 1.0,
            tally: crate::health::ProbeTally::default(),
            cert_expires_seconds: Some(4_102_531_200.0),
        };
        let text = Metrics::new().render(Scrape {
            targets: vec![sample],
            ..Scrape::default()
        });
        let labels =
            "{target=\"https://192.0.2.1:443/ (host www.example.test)\",address=\"192.0.2.1\"}";
        for line in [
            format!("hale_target_certificate_expiry_timestamp_seconds{labels} 4102531200"),
            format!("hale_target_up{labels} 1"),
            format!("hale_probe_duration_seconds_count{labels} 0"),
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(&line)),
                "no {line} in\n{text}"
            );
        }
    }

    #[test]
    fn every_named_qtype_has_its_own_index() {
        for (i, &(qtype, _)) in QTYPES.iter().enumerate() {
            assert_eq!(qtype_index(qtype), i, "{qtype}");
        }
        assert_eq!(qtype_index(99), QTYPES.len());
    }
}
