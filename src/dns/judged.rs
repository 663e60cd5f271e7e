//! Owns the answers of the health-checked names under one set of verdicts:
//! per name and type, the healthy addresses, and what `when_all_down`
//! answers when there are none. The general path, the table's live sets and
//! transfers all read them through [`Judged::filter`].

use std::collections::HashMap;

use hickory_proto::rr::{Name, RData, RecordType};

use crate::config::WhenAllDown;
use crate::health::{Addresses, Checks, Verdicts};

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
}

/// What a checked RRset answers right now.
pub(super) enum Filter<'a> {
    /// These addresses (rotate them).
    Records(u32, &'a [RData]),
    /// NODATA.
    NoData,
    /// SERVFAIL.
    ServFail,
}

impl Judged {
    /// The answers of every name of `checks` under `verdicts`.
    pub(super) fn new(checks: &Checks, verdicts: &Verdicts) -> Judged {
        let filter = |set: &Option<Addresses>| {
            set.as_ref().map(|set| Filtered {
                ttl: set.ttl,
                healthy: set
                    .targets
                    .iter()
                    .filter(|(_, key)| verdicts.is_healthy(key))
                    .map(|(rdata, _)| rdata.clone())
                    .collect(),
                all: set.targets.iter().map(|(rdata, _)| rdata.clone()).collect(),
            })
        };
        let names = checks
            .names()
            .iter()
            .map(|spec| {
                let judged = JudgedName {
                    a: filter(&spec.a),
                    aaaa: filter(&spec.aaaa),
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
                WhenAllDown::All => Filter::Records(set.ttl, &set.all),
                WhenAllDown::None => Filter::NoData,
                WhenAllDown::Servfail => Filter::ServFail,
            }
        })
    }
}
