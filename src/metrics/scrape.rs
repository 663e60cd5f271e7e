//! Owns what is read at each scrape rather than counted as it happens:
//! per-target gauges, counters and the probe-duration histogram (from each
//! target's own tally), per-name gauges (from the snapshot being served),
//! and the operator's overrides. Encoded straight from the samples, so a
//! scrape allocates no metric objects.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Unit;

use crate::dns::NameCounts;
use crate::health::{PROBE_DURATION_BUCKETS, ProbeTally};

/// One target at a scrape.
#[derive(Clone, Debug)]
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
    /// Its probes, verdict changes and probe durations so far.
    pub tally: ProbeTally,
    /// https: when the backend's certificate expires, seconds since the epoch.
    pub cert_expires_seconds: Option<f64>,
}

/// One checked name's A or AAAA set at a scrape.
#[derive(Clone, Debug)]
pub struct NameSample {
    /// Owner name, fully qualified.
    pub name: String,
    /// `A` or `AAAA`.
    pub rtype: &'static str,
    /// How it stands.
    pub counts: NameCounts,
}

/// One (name, target) pair and the override that applies to it, if any.
#[derive(Clone, Debug)]
pub struct OverrideSample {
    /// Owner name, fully qualified.
    pub name: String,
    /// What is probed for that address.
    pub target: String,
    /// The record's address.
    pub address: String,
    /// `drain` or `force-up`, when one applies.
    pub kind: Option<&'static str>,
}

/// Everything read at one scrape.
#[derive(Debug, Default)]
pub struct Scrape {
    /// Every target.
    pub targets: Vec<TargetSample>,
    /// Every checked name's sets.
    pub names: Vec<NameSample>,
    /// Every (name, target) pair.
    pub overrides: Vec<OverrideSample>,
    /// Plain gauges: name (after `hale_`), help, value.
    pub gauges: Vec<(&'static str, &'static str, i64)>,
}

/// Override kinds, as labels.
const OVERRIDE_KINDS: [&str; 2] = ["drain", "force-up"];

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for &(name, help, value) in &self.gauges {
            let gauge = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
            gauge.set(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)?;
        }
        self.encode_targets(&mut encoder)?;
        self.encode_names(&mut encoder)?;
        let mut family = encoder.encode_descriptor(
            "target_override",
            "1 while an operator's override of this kind applies to the name's address",
            None,
            MetricType::Gauge,
        )?;
        for o in &self.overrides {
            for kind in OVERRIDE_KINDS {
                let labels = [
                    ("name", o.name.as_str()),
                    ("target", o.target.as_str()),
                    ("address", o.address.as_str()),
                    ("kind", kind),
                ];
                family
                    .encode_family(&labels)?
                    .encode_gauge(&i64::from(o.kind == Some(kind)))?;
            }
        }
        Ok(())
    }
}

impl Scrape {
    fn encode_targets(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let labels =
            |t: &TargetSample| [("target", t.target.clone()), ("address", t.address.clone())];
        type Read = fn(&TargetSample) -> Option<f64>;
        let gauges: [(&str, &str, Read); 5] = [
            ("target_up", "1 if the target is healthy", |t| {
                Some(f64::from(u8::from(t.healthy)))
            }),
            (
                "target_probe_latency_seconds",
                "Latency of the target's last probe",
                |t| t.latency_seconds,
            ),
            (
                "target_stale",
                "1 when the target's prober gave no result for 3 intervals",
                |t| Some(f64::from(u8::from(t.stale))),
            ),
            (
                "target_verdict_age_seconds",
                "Time since the target's last probe result",
                |t| Some(t.age_seconds),
            ),
            (
                "target_certificate_expiry_timestamp_seconds",
                "https: when the backend's certificate expires, as last seen",
                |t| t.cert_expires_seconds,
            ),
        ];
        for (name, help, read) in gauges {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for t in &self.targets {
                if let Some(value) = read(t) {
                    family.encode_family(&labels(t))?.encode_gauge(&value)?;
                }
            }
        }

        // Counters by one more label: name, help, that label, and each of
        // its values with the count it reads.
        type Split = fn(&ProbeTally) -> [(&'static str, u64); 2];
        let counters: [(&str, &str, &str, Split); 2] = [
            (
                "probes",
                "Probes finished, by result (fail includes timeouts)",
                "result",
                |t| [("ok", t.passed), ("fail", t.failed)],
            ),
            (
                "target_transitions",
                "Verdict changes, by the verdict changed to (a first result counts)",
                "to",
                |t| [("up", t.to_up), ("down", t.to_down)],
            ),
        ];
        for (name, help, label, split) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for t in &self.targets {
                for (value, n) in split(&t.tally) {
                    let [target, address] = labels(t);
                    let labels = [target, address, (label, value.to_string())];
                    family
                        .encode_family(&labels)?
                        .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
                }
            }
        }
        let mut family = encoder.encode_descriptor(
            "probe_duration",
            "How long probes took, timeouts included",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for t in &self.targets {
            let buckets: Vec<(f64, u64)> = PROBE_DURATION_BUCKETS
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .zip(t.tally.buckets)
                .collect();
            family
                .encode_family(&labels(t))?
                .encode_histogram::<NoLabelSet>(
                    t.tally.duration_sum,
                    t.tally.probes(),
                    &buckets,
                    None,
                )?;
        }
        Ok(())
    }

    fn encode_names(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        type Read = fn(&NameCounts) -> usize;
        let gauges: [(&str, &str, Read); 4] = [
            (
                "name_addresses",
                "Addresses of the checked name and type in the zone",
                |c| c.addresses,
            ),
            (
                "name_healthy",
                "Addresses of the checked name and type that are healthy (or forced up), not drained",
                |c| c.healthy,
            ),
            (
                "name_serving",
                "Addresses of the checked name and type in the answer now",
                |c| c.serving,
            ),
            (
                "name_fail_open",
                "1 while no address is healthy and when_all_down = \"all\" answers every one not drained",
                |c| usize::from(c.fail_open),
            ),
        ];
        for (metric, help, read) in gauges {
            let mut family = encoder.encode_descriptor(metric, help, None, MetricType::Gauge)?;
            for n in &self.names {
                let labels = [("name", n.name.as_str()), ("type", n.rtype)];
                family
                    .encode_family(&labels)?
                    .encode_gauge(&(read(&n.counts) as i64))?;
            }
        }
        Ok(())
    }
}
