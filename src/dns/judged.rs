//! Owns the answers of the health-checked names under one set of verdicts:
//! per name and type, the healthy addresses, and what `when_all_down`
//! answers when there are none. The general path, the table's live sets and
//! transfers all read them through [`Judged::filter`].

use std::collections::HashMap;
use std::net::IpAddr;

use hickory_proto::rr::{Name, RData, RecordType};

use super::draw;
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
    /// The addresses that answer: the serving tier's healthy ones (or,
    /// below strength everywhere, every healthy one), heaviest first.
    healthy: Vec<RData>,
    /// The orders answers take `healthy` in ([`draw::orders`]).
    orders: Vec<Box<[u16]>>,
    /// Every address, for `when_all_down = "all"`, heaviest first.
    all: Vec<RData>,
    /// The orders answers take `all` in.
    all_orders: Vec<Box<[u16]>>,
    /// How many addresses the set has, and how many are healthy (by
    /// verdict or forced up; not drained).
    counts: (usize, usize),
    /// The tier serving (0 first), when one is at strength; and how many
    /// tiers there are.
    tier: (Option<usize>, usize),
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
    /// The tier serving (1 first), when one is at `min_healthy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<usize>,
    /// How many tiers the check has (1 without `tiers`).
    pub tiers: usize,
}

/// What a checked RRset answers right now.
pub(super) enum Filter<'a> {
    /// These addresses, with this TTL, taken in these orders one answer
    /// after another (see [`pick`]); every one of them goes to secondaries.
    Records(u32, &'a [RData], &'a [Box<[u16]>]),
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
            if let Some(Filter::Records(ttl, rdatas, _)) = self.filter(name, rtype) {
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
            Filter::Records(_, rdatas, _) => rdatas.len(),
            Filter::NoData(_) | Filter::ServFail(_) => 0,
        };
        Some(NameCounts {
            addresses: set.counts.0,
            healthy: set.counts.1,
            serving,
            fail_open: self.fails_open(name, rtype),
            tier: set.tier.0.map(|t| t + 1),
            tiers: set.tier.1,
        })
    }

    /// What `name`'s `rtype` answer is when health left it nothing to
    /// serve: `NODATA` or `SERVFAIL`; `None` while it serves addresses.
    pub(super) fn empty(&self, name: &Name, rtype: RecordType) -> Option<&'static str> {
        match self.filter(name, rtype)? {
            Filter::Records(..) => None,
            Filter::NoData(_) => Some("NODATA"),
            Filter::ServFail(_) => Some("SERVFAIL"),
        }
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
            Filter::Records(set.ttl, &set.healthy, &set.orders)
        } else {
            match checked.when_all_down {
                WhenAllDown::All if !set.all.is_empty() => {
                    Filter::Records(set.ttl, &set.all, &set.all_orders)
                }
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
    let is_up = |i: usize| matches!(standings[i].0, Standing::Forced | Standing::Healthy);
    let n = standings.len();
    // The serving tier: the first whose healthy addresses reach min_healthy.
    let mut chosen: Vec<usize> = Vec::new();
    let mut serving_tier = None;
    for tier in 0..set.tiers {
        let members: Vec<usize> = (0..n).filter(|&i| set.placement[i].tier == tier).collect();
        let healthy: Vec<usize> = members.iter().copied().filter(|&i| is_up(i)).collect();
        if !healthy.is_empty() && healthy.len() >= set.min_healthy.needed(members.len()) {
            chosen = healthy;
            serving_tier = Some(tier);
            break;
        }
    }
    // No tier at strength: every healthy address; failing those, the ones
    // a reload added that wait for their first result.
    if chosen.is_empty() {
        chosen = (0..n).filter(|&i| is_up(i)).collect();
    }
    if chosen.is_empty() {
        chosen = (0..n)
            .filter(|&i| standings[i].0 == Standing::Probation)
            .collect();
    }
    let all: Vec<usize> = (0..n)
        .filter(|&i| standings[i].0 != Standing::Drained)
        .collect();
    let seed = seed_of(owner, rtype);
    let (healthy, orders) = ordered(set, chosen, standings.iter().map(|s| s.1), seed);
    let (all, all_orders) = ordered(set, all, standings.iter().map(|s| s.1), seed);
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
        orders,
        all,
        all_orders,
        counts: (standings.len(), up),
        tier: (serving_tier, set.tiers),
        why_none,
    }
}

/// The addresses `chosen` (indexes into `set`) as they answer: weight-0
/// ones only if nothing else was chosen, heaviest first (zone order among
/// equals), with the orders answers take them in.
fn ordered<'r>(
    set: &Addresses,
    mut chosen: Vec<usize>,
    rdatas: impl Iterator<Item = &'r RData>,
    seed: u64,
) -> (Vec<RData>, Vec<Box<[u16]>>) {
    let weight = |i: usize| set.placement.get(i).map_or(1, |p| p.weight);
    if chosen.iter().any(|&i| weight(i) > 0) {
        chosen.retain(|&i| weight(i) > 0);
    }
    chosen.sort_by_key(|&i| std::cmp::Reverse(weight(i)));
    let rdatas: Vec<&RData> = rdatas.collect();
    let weights: Vec<u32> = chosen.iter().map(|&i| weight(i)).collect();
    let addresses = chosen.iter().map(|&i| rdatas[i].clone()).collect();
    (addresses, draw::orders(&weights, set.max_answers, seed))
}

/// A seed per name and type, so that rings of different names differ
/// while one name's stays the same from one snapshot to the next.
fn seed_of(owner: &str, rtype: &str) -> u64 {
    owner
        .bytes()
        .chain(rtype.bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
}

/// The addresses of one answer: `addresses` in the order `rotation`
/// picks from `orders` (all of them, as listed, when there are none).
pub(super) fn pick<'a>(
    addresses: &'a [RData],
    orders: &'a [Box<[u16]>],
    rotation: usize,
) -> impl Iterator<Item = &'a RData> + 'a {
    let order: Option<&[u16]> = match orders.len() {
        0 => None,
        len => Some(&orders[rotation % len]),
    };
    let listed = order
        .is_none()
        .then(|| addresses.iter())
        .into_iter()
        .flatten();
    let ordered = order
        .into_iter()
        .flatten()
        .filter_map(|&i| addresses.get(usize::from(i)));
    listed.chain(ordered)
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
