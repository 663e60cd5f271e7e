//! Owns the explanation of one checked answer (`hale ctl explain`): for a
//! name and type under a set of verdicts, what the answer is, which rule
//! chose it (healthy addresses, a reload's unprobed ones, `when_all_down`),
//! and where each address stands. It judges exactly as the snapshot does,
//! so what it says is what queries get.

use std::net::IpAddr;

use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;

use super::Loaded;
pub use super::judged::Standing;
use super::judged::{Filter, Judged, standing};
use crate::health::{AddressProbes, Verdicts, override_name};

/// Which rule chose an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The healthy addresses (and those forced up).
    Healthy,
    /// None is healthy: the ones a reload added, not probed yet.
    Unprobed,
    /// None is healthy: `when_all_down = "all"` answers every address not drained.
    FailOpen,
    /// None is healthy: NODATA (`when_all_down = "none"`, or everything drained).
    NoData,
    /// None is healthy: SERVFAIL (`when_all_down = "servfail"`).
    ServFail,
}

/// One checked RRset explained.
#[derive(Debug, Serialize)]
pub struct Explained {
    /// A or AAAA.
    #[serde(rename = "type")]
    pub rtype: String,
    /// The TTL answers carry.
    pub ttl: u32,
    /// The rule that chose the answer.
    pub rule: Rule,
    /// The addresses answered.
    pub answer: Vec<IpAddr>,
    /// Every address, in zone order.
    pub addresses: Vec<AddressStanding>,
}

/// One address of an explained RRset.
#[derive(Debug, Serialize)]
pub struct AddressStanding {
    /// The address.
    pub address: IpAddr,
    /// Whether queries get it.
    pub in_answer: bool,
    /// Where it stands (override, verdict, probation).
    pub standing: Standing,
    /// The probes that judge it.
    #[serde(skip)]
    pub probes: AddressProbes,
}

/// The checked name `name`'s sets of `rtypes` explained under `verdicts`;
/// `None` when `name` is not checked.
pub fn explain(
    loaded: &Loaded,
    verdicts: &Verdicts,
    name: &Name,
    rtypes: &[RecordType],
) -> Option<Vec<Explained>> {
    let mut name = name.to_lowercase();
    name.set_fqdn(true);
    let spec = loaded.checks.names().iter().find(|n| n.name == name)?;
    let owner = override_name(&spec.name);
    let judged = Judged::new(&loaded.checks, verdicts);
    let mut out = Vec::new();
    for &rtype in rtypes {
        let Some(set) = spec.addresses(rtype) else {
            continue;
        };
        let (answer, rule) = match judged.filter(&spec.name, rtype) {
            Some(Filter::Records(_, rdatas, _)) => (
                rdatas
                    .iter()
                    .filter_map(|r| r.ip_addr())
                    .collect::<Vec<_>>(),
                Rule::Healthy,
            ),
            Some(Filter::NoData(_)) => (Vec::new(), Rule::NoData),
            Some(Filter::ServFail(_)) => (Vec::new(), Rule::ServFail),
            None => continue,
        };
        let addresses: Vec<AddressStanding> = set
            .targets
            .iter()
            .map(|(rdata, probes)| {
                let address = rdata.ip_addr().unwrap_or(probes.first.ip);
                AddressStanding {
                    address,
                    in_answer: answer.contains(&address),
                    standing: standing(rdata, probes, &owner, verdicts),
                    probes: probes.clone(),
                }
            })
            .collect();
        let has = |s: &[Standing]| addresses.iter().any(|a| s.contains(&a.standing));
        let rule = match rule {
            Rule::Healthy if has(&[Standing::Forced, Standing::Healthy]) => Rule::Healthy,
            Rule::Healthy if has(&[Standing::Probation]) => Rule::Unprobed,
            Rule::Healthy => Rule::FailOpen,
            other => other,
        };
        out.push(Explained {
            rtype: rtype.to_string(),
            ttl: set.ttl,
            rule,
            answer,
            addresses,
        });
    }
    Some(out)
}
