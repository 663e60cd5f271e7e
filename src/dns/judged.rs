//! Owns the answers of the health-checked names under one set of verdicts:
//! per name and type, the healthy addresses, and what `when_all_down`
//! answers when there are none. The general path, the table's live sets and
//! transfers all read them through [`Judged::filter`].

use std::collections::HashMap;
use std::net::IpAddr;

use hickory_proto::rr::{Name, RData, RecordType};

use crate::config::WhenAllDown;
use crate::health::{AddressProbes, Addresses, Checks, Judgement, OverrideKind, Verdicts};

/// Every checked name's answers under one set of verdicts.
#[derive(Debug, Default)]
pub(super) struct Judged {
    /// By owner name (lower case).
    names: HashMap<Name, JudgedName>,
}

/// One checked name's answers.
#[derive(Debug)]
struct JudgedName {
    /// Its A records, filtered.
    a: Option<Filtered>,
    /// Its AAAA records, filtered.
    aaaa: Option<Filtered>,
    /// Policy when no address of the asked type is healthy.
    when_all_down: WhenAllDown,
}

/// One health-checked RRset.
#[derive(Debug)]
struct Filtered {
    /// min(check ttl, zone TTL).
    ttl: u32,
    /// Addresses whose target is healthy, in zone order.
    healthy: Vec<RData>,
    /// Every address, for `when_all_down = "all"`.
    all: Vec<RData>,
    /// How many addresses the set has, and how many are healthy (by
    /// verdict or forced up; not drained).
    counts: (usize, usize),
    /// Why no address is healthy, in words (for the Extended DNS Error of
    /// `when_all_down = "servfail"`); empty while one is.
    why_none: Box<str>,
}

/// How one checked name's A or AAAA set stands: what metrics and the
/// status page count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NameCounts {
    /// Addresses in the zone.
    pub addresses: usize,
    /// Healthy by their verdict or forced up by the operator, not drained.
    pub healthy: usize,
    /// In the answer now.
    pub serving: usize,
    /// The all-down policy is answering: every address not drained.
    pub fail_open: bool,
}

/// What a checked RRset answers right now.
pub(super) enum Filter<'a> {
    /// These addresses (rotate them).
    Records(u32, &'a [RData]),
    /// NODATA, with the negative TTL capped at this (the check's `ttl`):
    /// resolvers must not keep an empty answer longer than a full one.
    NoData(u32),
    /// SERVFAIL, with the text of its Extended DNS Error.
    ServFail(&'a str),
}

impl Judged {
    /// The answers of every name of `checks` under `verdicts`.
    pub(super) fn new(checks: &Checks, verdicts: &Verdicts) -> Judged {
        let names = checks
            .names()
            .iter()
            .map(|spec| {
                let owner = spec.name.to_ascii();
                let judge = |set: &Option<Addresses>, rtype| {
                    set.as_ref()
                        .map(|set| judge(set, &owner, rtype, spec.when_all_down, verdicts))
                };
                let judged = JudgedName {
                    a: judge(&spec.a, "A"),
                    aaaa: judge(&spec.aaaa, "AAAA"),
                    when_all_down: spec.when_all_down,
                };
                (spec.name.clone(), judged)
            })
            .collect();
        Judged { names }
    }

    /// Whether `name` is health-checked.
    pub(super) fn contains(&self, name: &Name) -> bool {
        self.names.contains_key(name)
    }

    /// Every checked name.
    pub(super) fn names(&self) -> impl Iterator<Item = &Name> {
        self.names.keys()
    }

    /// The addresses `name` answers with now, A then AAAA (fail-open ones
    /// too), with the TTL served.
    pub(super) fn served(&self, name: &Name) -> Vec<(IpAddr, u32)> {
        let mut out = Vec::new();
        for rtype in [RecordType::A, RecordType::AAAA] {
            if let Some(Filter::Records(ttl, rdatas)) = self.filter(name, rtype) {
                out.extend(rdatas.iter().filter_map(RData::ip_addr).map(|ip| (ip, ttl)));
            }
        }
        out
    }

    /// Whether `name`'s `rtype` answer fails open: no address healthy, and
    /// `when_all_down = "all"` answering every one not drained.
    pub(super) fn fails_open(&self, name: &Name, rtype: RecordType) -> bool {
        !self.has_healthy(name, rtype)
            && self
                .names
                .get(name)
                .is_some_and(|n| n.when_all_down == WhenAllDown::All)
            && matches!(self.filter(name, rtype), Some(Filter::Records(..)))
    }

    /// How `name`'s `rtype` set stands, if it has one.
    pub(super) fn counts(&self, name: &Name, rtype: RecordType) -> Option<NameCounts> {
        let checked = self.names.get(name)?;
        let set = match rtype {
            RecordType::A => checked.a.as_ref()?,
            RecordType::AAAA => checked.aaaa.as_ref()?,
            _ => return None,
        };
        let serving = match self.filter(name, rtype)? {
            Filter::Records(_, rdatas) => rdatas.len(),
            Filter::NoData(_) | Filter::ServFail(_) => 0,
        };
        Some(NameCounts {
            addresses: set.counts.0,
            healthy: set.counts.1,
            serving,
            fail_open: self.fails_open(name, rtype),
        })
    }

    /// Whether `name` has a healthy address of `rtype` (not failing open).
    pub(super) fn has_healthy(&self, name: &Name, rtype: RecordType) -> bool {
        let Some(checked) = self.names.get(name) else {
            return false;
        };
        let set = match rtype {
            RecordType::A => checked.a.as_ref(),
            RecordType::AAAA => checked.aaaa.as_ref(),
            _ => None,
        };
        set.is_some_and(|set| !set.healthy.is_empty())
    }

    /// The health-filtered answer for (name, A/AAAA), if that name has a
    /// checked set of that type.
    pub(super) fn filter(&self, name: &Name, rtype: RecordType) -> Option<Filter<'_>> {
        let aaaa = match rtype {
            RecordType::A => false,
            RecordType::AAAA => true,
            _ => return None,
        };
        if self.names.is_empty() {
            return None;
        }
        let checked = self.names.get(name)?;
        let set = match aaaa {
            false => checked.a.as_ref()?,
            true => checked.aaaa.as_ref()?,
        };
        Some(if !set.healthy.is_empty() {
            Filter::Records(set.ttl, &set.healthy)
        } else {
            match checked.when_all_down {
                WhenAllDown::All if !set.all.is_empty() => Filter::Records(set.ttl, &set.all),
                // Every address drained: nothing to fail open to.
                WhenAllDown::All | WhenAllDown::None => Filter::NoData(set.ttl),
                WhenAllDown::Servfail => Filter::ServFail(&set.why_none),
            }
        })
    }
}

/// Where one address stands under a set of verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    /// Forced up by the operator.
    Forced,
    /// Healthy (or not probed since the start).
    Healthy,
    /// Added by a reload, not probed yet.
    Probation,
    /// Judged down.
    Down,
    /// Drained by the operator.
    Drained,
}

/// One checked RRset of the name `owner` under `verdicts`: in the answer,
/// addresses forced up and healthy ones; failing those, the ones a reload
/// added that wait for their first result; failing those too,
/// `when_all_down` chooses among every address not drained.
fn judge(
    set: &Addresses,
    owner: &str,
    rtype: &str,
    policy: WhenAllDown,
    verdicts: &Verdicts,
) -> Filtered {
    let standings: Vec<(Standing, &RData)> = set
        .targets
        .iter()
        .map(|(rdata, probes)| (standing(rdata, probes, owner, verdicts), rdata))
        .collect();
    let pick = |keep: &dyn Fn(Standing) -> bool| -> Vec<RData> {
        standings
            .iter()
            .filter(|(s, _)| keep(*s))
            .map(|(_, rdata)| (*rdata).clone())
            .collect()
    };
    let mut healthy = pick(&|s| matches!(s, Standing::Forced | Standing::Healthy));
    if healthy.is_empty() {
        healthy = pick(&|s| s == Standing::Probation);
    }
    let why_none = match healthy.is_empty() {
        false => Box::default(),
        true => {
            let count = |which| standings.iter().filter(|(s, _)| *s == which).count();
            let (down, drained) = (count(Standing::Down), count(Standing::Drained));
            let state = match (down, drained) {
                (_, 0) => format!("all {down} down"),
                (0, _) => format!("all {drained} drained"),
                _ => format!("{down} down, {drained} drained"),
            };
            format!(
                "{owner} {rtype}: no healthy address ({state}); when_all_down = {}",
                policy.as_str()
            )
            .into()
        }
    };
    let up = standings
        .iter()
        .filter(|(s, _)| matches!(s, Standing::Forced | Standing::Healthy))
        .count();
    Filtered {
        ttl: set.ttl,
        healthy,
        all: pick(&|s| s != Standing::Drained),
        counts: (standings.len(), up),
        why_none,
    }
}

/// Where the address of `rdata`, judged by `probes`, stands at the name
/// `owner` under `verdicts`: overrides first, then its probes' verdicts.
pub(super) fn standing(
    rdata: &RData,
    probes: &AddressProbes,
    owner: &str,
    verdicts: &Verdicts,
) -> Standing {
    let address = rdata.ip_addr().unwrap_or(probes.first.ip);
    match verdicts.override_for(address, owner).map(|o| o.kind) {
        Some(OverrideKind::Drain) => Standing::Drained,
        Some(OverrideKind::ForceUp) => Standing::Forced,
        None => match verdicts.judge(probes) {
            Judgement::Down => Standing::Down,
            Judgement::Probation => Standing::Probation,
            Judgement::Healthy => Standing::Healthy,
        },
    }
}
