//! Owns the `/status` document: zones with their served serials, and every
//! checked name with each address: its target's verdict and last result,
//! whether it is in the answer now, the operator's override, and when it
//! left the answers (and so when a drain is complete).

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::dns::NameCounts;
use crate::health::{GuardStatus, Override, TargetKey, TargetSpec, TargetStatus, override_name};
use crate::server::State;
use crate::server::state::LastLoad;

/// The `/status` document.
#[derive(Serialize)]
pub struct Status {
    /// hale's version.
    pub version: &'static str,
    /// Loaded zones.
    pub zones: Vec<ZoneStatus>,
    /// Every health-checked name.
    pub checks: Vec<NameStatus>,
    /// The mass-failure guard, with its canary if one is configured.
    pub mass_failure: MassFailureStatus,
    /// Checked names and types whose all-down policy answers now: no
    /// address healthy, every one not drained served (`"www.example.com. A"`).
    pub fail_open: Vec<String>,
    /// The last load of config and zones (the start, or a reload): a
    /// rejected reload shows here while the old config serves.
    pub last_load: LastLoad,
}

/// The mass-failure guard in `/status`.
#[derive(Serialize)]
pub struct MassFailureStatus {
    /// Engaged, why and since when.
    #[serde(flatten)]
    pub guard: GuardStatus,
    /// The canary target, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<TargetEntry>,
}

/// One zone in `/status`.
#[derive(Serialize)]
pub struct ZoneStatus {
    /// Apex name.
    pub origin: String,
    /// File it was loaded from.
    pub file: String,
    /// The SOA serial served: the file's, or one that follows health when
    /// the zone goes to secondaries (see `crate::dns::serial`).
    pub serial: u32,
}

/// One checked name in `/status`.
#[derive(Serialize)]
pub struct NameStatus {
    /// Owner name.
    pub name: String,
    /// How each of its A and AAAA sets stands.
    pub types: Vec<TypeStatus>,
    /// One of its sets is failing open.
    pub fail_open: bool,
    /// Its `when_all_down` policy.
    pub when_all_down: &'static str,
    /// One entry per address.
    pub targets: Vec<TargetEntry>,
}

/// One checked name's A or AAAA set in `/status`.
#[derive(Serialize)]
pub struct TypeStatus {
    /// `A` or `AAAA`.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Addresses, healthy ones, ones served, failing open.
    #[serde(flatten)]
    pub counts: NameCounts,
}

/// One target in `/status`.
#[derive(Serialize)]
pub struct TargetEntry {
    /// The record's address.
    pub address: String,
    /// What is probed (its first probe, with several).
    pub target: String,
    /// Where its probes connect: `address`, or what `probe_address` maps it to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probed_address: Option<String>,
    /// The first probe's state; absent only while a reload is starting its prober.
    #[serde(flatten)]
    pub status: Option<TargetStatus>,
    /// Every probe of the address (one without `[[check.probe]]`), each
    /// with its own verdict and results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeEntry>,
    /// How many of `probes` must pass for the address to be healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require: Option<usize>,
    /// How many of `probes` pass now (or have no result since the start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes_passing: Option<usize>,
    /// Whether queries for the name get this address right now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_answer: Option<bool>,
    /// The operator's override of this address for this name, if any.
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    pub override_: Option<Override>,
    /// Out of the answers: when it left them (no query after got it), when
    /// resolvers will have dropped it (that plus the TTL served), and
    /// whether that time has come ("drain complete").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_answers: Option<Departure>,
}

/// One probe of an address in `/status`.
#[derive(Serialize)]
pub struct ProbeEntry {
    /// What is probed.
    pub target: String,
    /// Its state; absent only while a reload is starting its prober.
    #[serde(flatten)]
    pub status: Option<TargetStatus>,
}

/// When an address left a name's answers, for `/status`.
#[derive(Serialize)]
pub struct Departure {
    /// When it left: the publication of the first answer without it.
    #[serde(with = "humantime_serde")]
    pub at: SystemTime,
    /// When resolvers will have dropped it: `at` plus the TTL served.
    #[serde(with = "humantime_serde")]
    pub resolvers_done: SystemTime,
    /// `resolvers_done` has passed: nothing resolves to it any more.
    pub complete: bool,
}

/// Builds the status document from the current state.
pub fn status(state: &State) -> Status {
    let loaded = state.loaded();
    let targets = state.health().targets();
    let snapshot = state.snapshot();
    let mut zones: Vec<ZoneStatus> = loaded
        .zones
        .iter()
        .map(|z| ZoneStatus {
            origin: z.origin.to_ascii(),
            file: z.file.display().to_string(),
            serial: snapshot.serial_of(z),
        })
        .collect();
    zones.sort_by(|a, b| a.origin.cmp(&b.origin));
    let entry = |key: &TargetKey| TargetEntry {
        address: key.ip.to_string(),
        target: key.to_string(),
        probed_address: None,
        status: targets.get(key).map(|t| t.status()),
        probes: Vec::new(),
        require: None,
        probes_passing: None,
        in_answer: None,
        override_: None,
        left_answers: None,
    };
    let now = SystemTime::now();
    let verdicts = state.verdicts(&loaded, &targets);
    let checks: Vec<NameStatus> = loaded
        .checks
        .names()
        .iter()
        .map(|name| {
            let serving = snapshot.serving(&name.name);
            let owner = override_name(&name.name);
            let ttl = [&name.a, &name.aaaa]
                .into_iter()
                .flatten()
                .map(|set| set.ttl)
                .max()
                .unwrap_or(0);
            let targets = [&name.a, &name.aaaa]
                .into_iter()
                .flatten()
                .flat_map(|set| &set.targets)
                .map(|(rdata, probes)| {
                    let address = rdata.ip_addr().unwrap_or(probes.first.ip);
                    let in_answer = serving.iter().any(|(ip, _)| *ip == address);
                    let left_answers = match in_answer {
                        true => None,
                        false => state.left_answers_at(&name.name, address).map(|at| {
                            let done = at + Duration::from_secs(u64::from(ttl));
                            Departure {
                                at,
                                resolvers_done: done,
                                complete: done <= now,
                            }
                        }),
                    };
                    TargetEntry {
                        address: address.to_string(),
                        in_answer: Some(in_answer),
                        override_: verdicts.override_for(address, &owner).cloned(),
                        left_answers,
                        probed_address: Some(probes.probed().to_string()),
                        probes: probes
                            .keys()
                            .map(|key| ProbeEntry {
                                target: key.to_string(),
                                status: targets.get(key).map(|t| t.status()),
                            })
                            .collect(),
                        require: Some(probes.needed),
                        probes_passing: Some(
                            probes
                                .keys()
                                .filter(|key| {
                                    verdicts.is_healthy(key) && !verdicts.on_probation(key)
                                })
                                .count(),
                        ),
                        ..entry(&probes.first)
                    }
                })
                .collect();
            let types: Vec<TypeStatus> = snapshot
                .counts(&name.name)
                .into_iter()
                .map(|(rtype, counts)| TypeStatus {
                    rtype: rtype.to_string(),
                    counts,
                })
                .collect();
            NameStatus {
                name: name.name.to_ascii(),
                fail_open: types.iter().any(|t| t.counts.fail_open),
                when_all_down: name.when_all_down.as_str(),
                types,
                targets,
            }
        })
        .collect();
    let canary = loaded
        .config
        .mass_failure
        .canary
        .as_ref()
        .map(|canary| entry(&TargetSpec::canary(canary).key));
    let fail_open = checks
        .iter()
        .flat_map(|n: &NameStatus| {
            n.types
                .iter()
                .filter(|t| t.counts.fail_open)
                .map(move |t| format!("{} {}", n.name, t.rtype))
        })
        .collect();
    Status {
        version: env!("CARGO_PKG_VERSION"),
        zones,
        checks,
        fail_open,
        last_load: state.last_load(),
        mass_failure: MassFailureStatus {
            guard: state.guard().status(),
            canary,
        },
    }
}
