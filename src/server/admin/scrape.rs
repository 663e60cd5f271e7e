//! Owns what `/metrics` reads at a scrape: every target's gauges and
//! tallies, every checked name's counts in the snapshot served now, and
//! the override that applies to each (name, address).

use std::sync::Arc;

use axum::extract;

use crate::health::override_name;
use crate::metrics::{NameSample, OverrideSample, Scrape, TargetSample};
use crate::server::State;

pub(super) async fn metrics(
    extract::State(state): extract::State<Arc<State>>,
) -> impl axum::response::IntoResponse {
    let body = state.metrics().render(scrape(&state));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}

/// Everything read at one scrape.
fn scrape(state: &State) -> Scrape {
    let loaded = state.loaded();
    let targets = state.health().targets();
    let snapshot = state.snapshot();
    let verdicts = state.verdicts(&loaded, &targets);
    let mut samples: Vec<TargetSample> = targets
        .values()
        .map(|t| {
            let status = t.status();
            TargetSample {
                target: t.key().to_string(),
                address: t.key().ip.to_string(),
                healthy: status.healthy,
                latency_seconds: status.last.as_ref().map(|l| l.latency_ms / 1000.0),
                cert_expires_seconds: status
                    .last
                    .as_ref()
                    .and_then(|l| l.cert_expires)
                    .and_then(|t| t.duration_since(std::time::SystemTime::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs_f64()),
                stale: status.stale,
                age_seconds: status.age_seconds,
                tally: t.tally(),
            }
        })
        .collect();
    samples.sort_by(|a, b| a.target.cmp(&b.target));
    let mut names = Vec::new();
    let mut overrides = Vec::new();
    for spec in loaded.checks.names() {
        let name = spec.name.to_ascii();
        for (rtype, counts) in snapshot.counts(&spec.name) {
            names.push(NameSample {
                name: name.clone(),
                rtype: if rtype == hickory_proto::rr::RecordType::A {
                    "A"
                } else {
                    "AAAA"
                },
                counts,
            });
        }
        let owner = override_name(&spec.name);
        for set in [&spec.a, &spec.aaaa].into_iter().flatten() {
            for (rdata, probes) in &set.targets {
                let address = rdata.ip_addr().unwrap_or(probes.first.ip);
                for key in probes.keys() {
                    overrides.push(OverrideSample {
                        name: name.clone(),
                        target: key.to_string(),
                        address: address.to_string(),
                        kind: verdicts
                            .override_for(address, &owner)
                            .map(|o| o.kind.as_str()),
                    });
                }
            }
        }
    }
    Scrape {
        targets: samples,
        names,
        overrides,
        gauges: vec![
            (
                "tcp_connections",
                "TCP connections open",
                state.tcp_connections() as i64,
            ),
            (
                "mass_failure",
                "1 while the mass-failure guard holds answers",
                i64::from(state.guard().engaged()),
            ),
        ],
    }
}
