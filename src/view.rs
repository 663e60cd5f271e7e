//! Owns the answer view: the immutable join of the zone set and the health
//! state that the query path reads. A new [`View`] is built off the hot path
//! whenever zones or any target's health change, then swapped in atomically.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use hickory_proto::rr::{Name, RData, RecordType};

use crate::config::{Check, Config, ConfigError, WhenAllDown};
use crate::dns::table::{Live, Table};
use crate::health::{TargetKey, TargetSpec, Targets};
use crate::zones::ZoneSet;

/// What the query path reads: zones plus the filtered address sets.
#[derive(Debug)]
pub struct View {
    /// Every zone.
    pub zones: Arc<ZoneSet>,
    /// Health-checked names (lower case) and their current answers.
    pub checked: HashMap<Name, CheckedName>,
    /// Precomputed answers of the zones (changes only on reload).
    pub table: Arc<Table>,
    /// Precomputed answers of the checked names under this health state.
    pub live: Live,
    /// Zones served with a serial of their own (see [`crate::serial`]), by
    /// origin: their SOA record as answers and transfers carry it.
    pub soas: HashMap<Name, Soa>,
    /// The versions of each zone with checked names kept for IXFR, by origin.
    pub history: HashMap<Name, crate::serial::History>,
}

/// A zone's SOA as served, when its serial is not the file's.
#[derive(Debug, Clone)]
pub struct Soa {
    /// The SOA RRset's TTL.
    pub ttl: u32,
    /// The SOA data, with the served serial.
    pub data: RData,
}

/// The current answer for one health-checked name.
#[derive(Debug)]
pub struct CheckedName {
    /// Its A records, filtered.
    pub a: Option<Filtered>,
    /// Its AAAA records, filtered.
    pub aaaa: Option<Filtered>,
    /// Policy when no address of the asked type is healthy.
    pub when_all_down: WhenAllDown,
}

/// One health-checked RRset.
#[derive(Debug)]
pub struct Filtered {
    /// min(check ttl, zone TTL).
    pub ttl: u32,
    /// Addresses whose target is healthy, in zone order.
    pub healthy: Vec<RData>,
    /// Every address, for `when_all_down = "all"`.
    pub all: Vec<RData>,
}

/// What a checked RRset answers right now.
pub enum Filter<'a> {
    /// These addresses (rotate them).
    Records(u32, &'a [RData]),
    /// NODATA.
    NoData,
    /// SERVFAIL.
    ServFail,
}

impl View {
    /// A view of `zones` with the filtered answers of `checked` names, and
    /// no answer table (every query takes the general path).
    pub fn new(zones: Arc<ZoneSet>, checked: HashMap<Name, CheckedName>) -> View {
        View {
            zones,
            checked,
            table: Arc::new(Table::default()),
            live: Live::default(),
            soas: HashMap::new(),
            history: HashMap::new(),
        }
    }

    /// The SOA data `zone` is served with right now.
    pub fn soa_of<'a>(&'a self, zone: &'a crate::zones::Zone) -> &'a RData {
        if self.soas.is_empty() {
            return &zone.soa.data;
        }
        match self.soas.get(&zone.origin) {
            Some(soa) => {
                // Answers that carry it are no longer the table's to store.
                TOUCHED.with(|t| t.set(true));
                &soa.data
            }
            None => &zone.soa.data,
        }
    }

    /// The same view answering from `table`, with the checked names' answers
    /// (in `order`, the table's numbering) computed for this health state.
    pub fn with_table(mut self, table: Arc<Table>, order: &[Name]) -> View {
        self.live = Live::build(&self, &table, order);
        self.table = table;
        self
    }

    /// The health-filtered answer for (name, A/AAAA), if that name is checked.
    pub fn filter(&self, name: &Name, rtype: RecordType) -> Option<Filter<'_>> {
        if rtype == RecordType::SOA {
            // A zone's own serial follows health like a checked set.
            if self.soas.is_empty() {
                return None;
            }
            let soa = self.soas.get(name)?;
            TOUCHED.with(|t| t.set(true));
            return Some(Filter::Records(soa.ttl, std::slice::from_ref(&soa.data)));
        }
        let checked = self.checked.get(name)?;
        TOUCHED.with(|t| t.set(true));
        let set = match rtype {
            RecordType::A => checked.a.as_ref()?,
            RecordType::AAAA => checked.aaaa.as_ref()?,
            _ => return None,
        };
        Some(if !set.healthy.is_empty() {
            Filter::Records(set.ttl, &set.healthy)
        } else {
            match checked.when_all_down {
                WhenAllDown::All => Filter::Records(set.ttl, &set.all),
                WhenAllDown::None => Filter::NoData,
                WhenAllDown::Servfail => Filter::ServFail,
            }
        })
    }
}

thread_local! {
    /// Set when an answer consulted health; the table builder uses it to
    /// keep health-dependent answers out of the static table.
    static TOUCHED: Cell<bool> = const { Cell::new(false) };
}

/// Whether health was consulted since the last call (and resets it).
pub fn take_touched() -> bool {
    TOUCHED.with(|t| t.replace(false))
}

/// The health checks of one config, resolved against its zones: every
/// checked name with the target behind each of its addresses.
#[derive(Debug, Default)]
pub struct Checks {
    /// One entry per checked name.
    names: Vec<CheckedSpec>,
    /// Unique targets, with the names that share them.
    specs: HashMap<TargetKey, TargetSpec>,
}

#[derive(Debug)]
struct CheckedSpec {
    name: Name,
    when_all_down: WhenAllDown,
    a: Option<(u32, Vec<(RData, TargetKey)>)>,
    aaaa: Option<(u32, Vec<(RData, TargetKey)>)>,
}

impl Checks {
    /// Resolves every `[[check]]` against the zones. A checked name without
    /// A/AAAA records, or outside the authoritative data, is a config error.
    pub fn resolve(config: &Config, zones: &ZoneSet) -> Result<Checks, ConfigError> {
        let mut checks = Checks::default();
        for check in &config.checks {
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
                let mut targets = |set: Option<&crate::zones::Rrset>| {
                    set.map(|set| {
                        let list = set
                            .iter()
                            .filter_map(|rdata| {
                                let ip = rdata.ip()?;
                                let key = checks.add_target(check, name, ip);
                                Some((rdata.to_rdata(), key))
                            })
                            .collect();
                        (set.ttl.min(check.ttl), list)
                    })
                };
                let a = targets(a);
                let aaaa = targets(aaaa);
                checks.names.push(CheckedSpec {
                    name: name.clone(),
                    when_all_down: check.when_all_down,
                    a,
                    aaaa,
                });
            }
        }
        Ok(checks)
    }

    fn add_target(&mut self, check: &Check, name: &Name, ip: std::net::IpAddr) -> TargetKey {
        let mut host = check.probe.host.clone().unwrap_or_else(|| name.to_ascii());
        if host.len() > 1 && host.ends_with('.') {
            host.pop();
        }
        let key = TargetKey {
            ip,
            scheme: check.probe.scheme,
            port: check.probe.port,
            path: check.probe.path.clone(),
            host,
            expect_status: check.probe.expect_status.clone(),
            expect_body: check.probe.expect_body.clone(),
            tls_verify: check.probe.tls_verify,
        };
        let owner = name.to_ascii();
        self.specs
            .entry(key.clone())
            .and_modify(|spec| {
                // Shared by two checks: one prober, with the schedule of the
                // check that probes more often (the first one on a tie).
                if spec.schedule != check.schedule {
                    tracing::warn!(
                        target = %spec.key,
                        line = check.line,
                        "target shared by checks with different interval/timeout/rise/fall; \
                         the faster check's settings apply"
                    );
                }
                if check.schedule.interval < spec.schedule.interval {
                    spec.schedule = check.schedule.clone();
                }
                if !spec.names.contains(&owner) {
                    spec.names.push(owner.clone());
                }
            })
            .or_insert_with(|| TargetSpec {
                key: key.clone(),
                schedule: check.schedule.clone(),
                names: vec![owner.clone()],
            });
        key
    }

    /// Unique targets to probe.
    pub fn target_specs(&self) -> Vec<TargetSpec> {
        self.specs
            .values()
            .map(|s| TargetSpec {
                key: s.key.clone(),
                schedule: s.schedule.clone(),
                names: s.names.clone(),
            })
            .collect()
    }

    /// The checked names in order: the answer table's numbering.
    pub fn order(&self) -> Vec<Name> {
        self.names.iter().map(|spec| spec.name.clone()).collect()
    }

    /// Every checked name with the targets behind its addresses (A first, then AAAA).
    pub fn entries(&self) -> impl Iterator<Item = (&Name, Vec<&TargetKey>)> {
        self.names.iter().map(|spec| {
            let keys = spec
                .a
                .iter()
                .chain(spec.aaaa.iter())
                .flat_map(|(_, list)| list.iter().map(|(_, key)| key))
                .collect();
            (&spec.name, keys)
        })
    }

    /// Number of checked names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when nothing is health-checked.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Joins the zones with the targets' current health into a new view.
    /// Targets not (yet) in `targets` count as healthy.
    pub fn view(&self, zones: Arc<ZoneSet>, targets: &Targets) -> View {
        self.judged(zones, &|key| {
            targets.get(key).is_none_or(|t| t.is_healthy())
        })
    }

    /// The view with its precomputed answers: `table` from [`Loaded`](crate::load::Loaded).
    pub fn view_with(&self, zones: Arc<ZoneSet>, table: Arc<Table>, targets: &Targets) -> View {
        self.view(zones, targets).with_table(table, &self.order())
    }

    /// The view (without its table) with verdicts from `healthy` instead
    /// of the targets' own (the mass-failure guard's frozen ones).
    pub fn judged(&self, zones: Arc<ZoneSet>, healthy: &dyn Fn(&TargetKey) -> bool) -> View {
        let filter = |set: &Option<(u32, Vec<(RData, TargetKey)>)>| {
            set.as_ref().map(|(ttl, list)| Filtered {
                ttl: *ttl,
                healthy: list
                    .iter()
                    .filter(|(_, key)| healthy(key))
                    .map(|(rdata, _)| rdata.clone())
                    .collect(),
                all: list.iter().map(|(rdata, _)| rdata.clone()).collect(),
            })
        };
        let checked = self
            .names
            .iter()
            .map(|spec| {
                (
                    spec.name.clone(),
                    CheckedName {
                        a: filter(&spec.a),
                        aaaa: filter(&spec.aaaa),
                        when_all_down: spec.when_all_down,
                    },
                )
            })
            .collect();
        View::new(zones, checked)
    }
}
