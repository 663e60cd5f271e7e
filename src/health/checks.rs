//! Owns the health checks of one config resolved against its zones: every
//! checked name, its A and AAAA records, and the target probed behind each
//! address. Built once per load; the answer snapshots judge it against
//! the targets' verdicts ([`super::Verdicts`]).

use std::collections::HashMap;
use std::net::IpAddr;

use hickory_proto::rr::{Name, RData, RecordType};

use super::{TargetKey, TargetSpec};
use crate::config::{Check, Config, ConfigError, MinHealthy, Probe, Schedule, WhenAllDown};
use crate::zones::{Rrset, ZoneSet};

/// Every `[[check]]` of a config, resolved against its zones.
#[derive(Debug, Default)]
pub struct Checks {
    /// One entry per checked name, in config order: the answer table's numbering.
    names: Vec<CheckedName>,
    /// Unique targets, with the names that share them.
    specs: HashMap<TargetKey, TargetSpec>,
}

/// The worst case of one check: from a backend failing to its address
/// leaving hale's answers (`fall` × `interval` + `timeout`), and to
/// resolvers dropping it (plus the TTL served).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorstCase {
    /// Until hale's answers leave it out.
    pub leaves: std::time::Duration,
    /// The largest TTL its names are served with.
    pub ttl: u32,
    /// Until every resolver has dropped it.
    pub resolvers: std::time::Duration,
}

/// One health-checked name and the targets behind its addresses.
#[derive(Debug)]
pub struct CheckedName {
    /// The owner name, lower case.
    pub name: Name,
    /// What it answers when no address of the asked type is healthy.
    pub when_all_down: WhenAllDown,
    /// Its A records, if it has any.
    pub a: Option<Addresses>,
    /// Its AAAA records, if it has any.
    pub aaaa: Option<Addresses>,
}

/// The A or AAAA records of one checked name.
#[derive(Debug)]
pub struct Addresses {
    /// min(check ttl, zone TTL).
    pub ttl: u32,
    /// Each record, in zone order, with the probes that judge it.
    pub targets: Vec<(RData, AddressProbes)>,
    /// Each record's tier and weight, in the same order as `targets`.
    pub placement: Vec<Placement>,
    /// How many tiers the check has (1 without `tiers`).
    pub tiers: usize,
    /// Healthy addresses a tier needs to serve.
    pub min_healthy: MinHealthy,
    /// At most this many addresses per answer, drawn by weight.
    pub max_answers: Option<u32>,
}

/// Where one address stands in its check's answer policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Its tier: 0 is served first.
    pub tier: usize,
    /// Its weight (1 unless set; 0: only when nothing else of its tier is
    /// healthy).
    pub weight: u32,
}

/// The probes that judge one address: one target per probe of its check
/// (each with its own rise/fall), and how many must pass. An address is
/// healthy while `needed` of them are ([`super::Verdicts::judge`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressProbes {
    /// The first probe: the only one of a check without `[[check.probe]]`.
    pub first: TargetKey,
    /// The other probes, in config order.
    pub rest: Vec<TargetKey>,
    /// How many of them must pass (1 ..= all).
    pub needed: usize,
}

impl AddressProbes {
    /// Every probe's target, in config order.
    pub fn keys(&self) -> impl Iterator<Item = &TargetKey> {
        std::iter::once(&self.first).chain(&self.rest)
    }

    /// How many probes the address has.
    pub fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Always false: an address has at least one probe.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Where its probes connect (`probe_address`, else the record's own).
    pub fn probed(&self) -> IpAddr {
        self.first.ip
    }
}

impl CheckedName {
    /// The set of `rtype` (A or AAAA), if the name has one.
    pub fn addresses(&self, rtype: RecordType) -> Option<&Addresses> {
        match rtype {
            RecordType::A => self.a.as_ref(),
            RecordType::AAAA => self.aaaa.as_ref(),
            _ => None,
        }
    }

    /// The targets behind its addresses, A first, then AAAA.
    pub fn keys(&self) -> impl Iterator<Item = &TargetKey> {
        self.a
            .iter()
            .chain(self.aaaa.iter())
            .flat_map(|set| set.targets.iter().flat_map(|(_, probes)| probes.keys()))
    }
}

/// Every tier of `set` must be able to reach `min_healthy` (a count):
/// one that cannot would never serve, which is a mistake, not a wish.
fn reachable(
    config: &Config,
    check: &Check,
    name: &Name,
    set: &Addresses,
) -> Result<(), ConfigError> {
    let MinHealthy::Count(needed) = set.min_healthy else {
        return Ok(());
    };
    for tier in 0..set.tiers {
        let members: Vec<String> = set
            .targets
            .iter()
            .zip(&set.placement)
            .filter(|(_, p)| p.tier == tier)
            .map(|((rdata, probes), _)| rdata.ip_addr().unwrap_or(probes.probed()).to_string())
            .collect();
        if members.is_empty() || members.len() >= needed as usize {
            continue;
        }
        let line = check
            .policy
            .tiers
            .get(tier)
            .and_then(|t| t.first())
            .map_or(check.line, |&(_, l)| l);
        return Err(config.error_at(
            line,
            format!(
                "min_healthy = {needed} is more than the {} address(es) of {name} in tier {} [{}]: that tier could never serve",
                members.len(),
                tier + 1,
                members.join(", ")
            ),
        ));
    }
    Ok(())
}

impl Checks {
    /// Resolves every `[[check]]` against the zones. A checked name without
    /// A/AAAA records, or outside the authoritative data, is a config error.
    pub fn resolve(config: &Config, zones: &ZoneSet) -> Result<Checks, ConfigError> {
        let mut checks = Checks::default();
        for check in &config.checks {
            // Every address the check's names hold: what its policy may name.
            let mut held = Vec::new();
            let first = checks.names.len();
            for (name, line) in &check.names {
                let line = *line;
                let Some(zone) = zones.find(name) else {
                    return Err(config.error_at(line, format!("{name} is not in any zone")));
                };
                if let Some((cut, _)) = zone.find_cut(name) {
                    return Err(config.error_at(
                        line,
                        format!("{name} is below the delegation {cut}, not authoritative data"),
                    ));
                }
                let node = zone.node(name);
                let a = node.and_then(|n| n.get(RecordType::A));
                let aaaa = node.and_then(|n| n.get(RecordType::AAAA));
                if a.is_none() && aaaa.is_none() {
                    return Err(config.error_at(
                        line,
                        format!("{name} has no A or AAAA record in zone {}", zone.origin),
                    ));
                }
                let a = a.map(|set| checks.addresses(check, name, set));
                let aaaa = aaaa.map(|set| checks.addresses(check, name, set));
                for set in a.iter().chain(aaaa.iter()) {
                    reachable(config, check, name, set)?;
                }
                held.extend(
                    a.iter().chain(aaaa.iter()).flat_map(|set| {
                        set.targets.iter().filter_map(|(rdata, _)| rdata.ip_addr())
                    }),
                );
                checks.names.push(CheckedName {
                    name: name.clone(),
                    when_all_down: check.when_all_down,
                    a,
                    aaaa,
                });
            }
            if let Some((ip, line)) = check.policy.addresses().find(|(ip, _)| !held.contains(ip)) {
                let names: Vec<String> = check.names.iter().map(|(n, _)| n.to_string()).collect();
                return Err(config.error_at(
                    line,
                    format!(
                        "{ip} is not an A or AAAA record of {} in the zones: tiers and weights name the zone's addresses",
                        names.join(", ")
                    ),
                ));
            }
            checks.probe_addresses_exist(config, check, first)?;
        }
        Ok(checks)
    }

    /// Every `probe_address` of `check` (whose names are those from
    /// `first` on) maps an address one of them has: any other is a typo,
    /// and the record it meant would be probed at its own address.
    fn probe_addresses_exist(
        &self,
        config: &Config,
        check: &Check,
        first: usize,
    ) -> Result<(), ConfigError> {
        let names = &self.names[first..];
        for pa in &check.probe_address {
            let held = names
                .iter()
                .flat_map(|n| n.a.iter().chain(n.aaaa.iter()))
                .flat_map(|set| &set.targets)
                .any(|(rdata, _)| rdata.ip_addr() == Some(pa.record));
            if !held {
                return Err(config.error_at(
                    pa.line,
                    format!(
                        "probe_address {:?}: no name of this check has it as an A or AAAA record",
                        pa.record.to_string()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The records of `set` at `name` with their targets.
    fn addresses(&mut self, check: &Check, name: &Name, set: &Rrset) -> Addresses {
        let targets: Vec<(RData, AddressProbes)> = set
            .iter()
            .filter_map(|rdata| {
                let ip = rdata.ip()?;
                Some((rdata.to_rdata(), self.add_probes(check, name, ip)))
            })
            .collect();
        let policy = &check.policy;
        let placement = targets
            .iter()
            .map(|(rdata, probes): &(RData, AddressProbes)| {
                // The record's address: a probe_address is only probed.
                let ip = rdata.ip_addr().unwrap_or(probes.probed());
                Placement {
                    tier: policy.tier_of(ip),
                    weight: policy.weight_of(ip),
                }
            })
            .collect();
        Addresses {
            ttl: set.ttl.min(check.ttl),
            targets,
            placement,
            tiers: policy.tiers.len().max(1),
            min_healthy: policy.min_healthy,
            max_answers: policy.max_answers,
        }
    }

    /// The targets of every probe of the address `ip` of `name`.
    fn add_probes(&mut self, check: &Check, name: &Name, ip: IpAddr) -> AddressProbes {
        let probed = check
            .probe_address
            .iter()
            .find(|pa| pa.record == ip)
            .map_or(ip, |pa| pa.probed);
        let mut keys: Vec<TargetKey> = check
            .all_probes()
            .iter()
            .map(|probe| self.add_target(check, probe, name, probed))
            .collect();
        // `all_probes` is never empty; the fallback keeps that its business
        // rather than a panic's.
        let first = match keys.is_empty() {
            false => keys.remove(0),
            true => self.add_target(check, &check.probe, name, probed),
        };
        let rest = keys;
        let needed = check.require.needed(1 + rest.len()).max(1);
        AddressProbes {
            first,
            rest,
            needed,
        }
    }

    fn add_target(&mut self, check: &Check, probe: &Probe, name: &Name, ip: IpAddr) -> TargetKey {
        let owner = name.to_ascii();
        let key = TargetKey::new(ip, probe, &owner);
        let schedule = Schedule {
            timeout: probe.timeout.unwrap_or(check.schedule.timeout),
            ..check.schedule.clone()
        };
        self.specs
            .entry(key.clone())
            .and_modify(|spec| {
                // Shared by two checks: one prober, with the schedule of the
                // check that probes more often (the first one on a tie).
                if spec.schedule != schedule {
                    tracing::warn!(
                        probe = %spec.key,
                        line = check.line,
                        "target shared by checks with different interval/timeout/rise/fall; \
                         the faster check's settings apply"
                    );
                }
                if schedule.interval < spec.schedule.interval {
                    spec.schedule = schedule.clone();
                }
                if !spec.names.contains(&owner) {
                    spec.names.push(owner.clone());
                }
            })
            .or_insert_with(|| TargetSpec {
                key: key.clone(),
                schedule: schedule.clone(),
                names: vec![owner.clone()],
                ca: probe.ca_file.clone().filter(|_| key.ca_file.is_some()),
            });
        key
    }

    /// Unique targets to probe.
    pub fn target_specs(&self) -> Vec<TargetSpec> {
        self.specs.values().cloned().collect()
    }

    /// Every checked name, in config order.
    pub fn names(&self) -> &[CheckedName] {
        &self.names
    }

    /// How long a failing backend of `check` (one of the config's) can
    /// stay in answers at worst, and stay with resolvers, for `hale check`.
    pub fn worst_case(&self, check: &Check) -> WorstCase {
        let s = &check.schedule;
        // The slowest probe decides: a `[[check.probe]]` may have its own timeout.
        let timeout = check
            .all_probes()
            .iter()
            .filter_map(|p| p.timeout)
            .fold(s.timeout, std::time::Duration::max);
        let leaves = s.interval.saturating_mul(s.fall.max(1)) + timeout;
        let ttl = self
            .names
            .iter()
            .filter(|n| check.names.iter().any(|(name, _)| *name == n.name))
            .flat_map(|n| n.a.iter().chain(n.aaaa.iter()))
            .map(|set| set.ttl)
            .max()
            .unwrap_or(check.ttl);
        WorstCase {
            leaves,
            ttl,
            resolvers: leaves + std::time::Duration::from_secs(u64::from(ttl)),
        }
    }

    /// Number of checked names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when nothing is health-checked.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
