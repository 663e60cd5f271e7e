//! Owns a check's answer policy as written: priority `tiers`, the
//! `min_healthy` a tier needs to serve, `weights` and the `max_answers`
//! cap. Checked here for what the config alone can tell (addresses that
//! parse, none in two tiers); whether the zones hold the addresses, and
//! whether each tier can reach `min_healthy`, where checks meet zones
//! (`health::Checks::resolve`): the last tier also takes every address no
//! tier lists.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;
use toml::Spanned;

use super::file::RawSettings;
use super::{ConfigError, Source};

/// A check's answer policy. The default answers every healthy address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Priority order, each address with its line. Addresses no tier lists
    /// join the last tier; without `tiers` every address is in one tier.
    pub tiers: Vec<Vec<(IpAddr, usize)>>,
    /// Healthy addresses (of the asked type) a tier needs to serve.
    pub min_healthy: MinHealthy,
    /// Weights by address (default 1), each with its line.
    pub weights: Vec<(IpAddr, u32, usize)>,
    /// At most this many addresses per answer, drawn by weight.
    pub max_answers: Option<u32>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            tiers: Vec::new(),
            min_healthy: MinHealthy::Count(1),
            weights: Vec::new(),
            max_answers: None,
        }
    }
}

impl Policy {
    /// The tier of `ip`: its place in `tiers`, or the last one.
    pub fn tier_of(&self, ip: IpAddr) -> usize {
        self.tiers
            .iter()
            .position(|tier| tier.iter().any(|(a, _)| *a == ip))
            .unwrap_or(self.tiers.len().saturating_sub(1))
    }

    /// The weight of `ip` (1 unless set).
    pub fn weight_of(&self, ip: IpAddr) -> u32 {
        self.weights
            .iter()
            .find(|(a, ..)| *a == ip)
            .map_or(1, |&(_, w, _)| w)
    }

    /// Every address the policy names, with its line.
    pub fn addresses(&self) -> impl Iterator<Item = (IpAddr, usize)> + '_ {
        let tiers = self.tiers.iter().flatten().copied();
        tiers.chain(self.weights.iter().map(|&(ip, _, line)| (ip, line)))
    }
}

/// How many healthy addresses a tier needs to serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinHealthy {
    /// At least this many.
    Count(u32),
    /// At least this share of the tier's addresses of the asked type
    /// (rounded up, and at least one).
    Percent(u32),
}

impl MinHealthy {
    /// Healthy addresses a tier of `size` addresses needs.
    pub fn needed(self, size: usize) -> usize {
        match self {
            MinHealthy::Count(n) => n as usize,
            MinHealthy::Percent(p) => (size * p as usize).div_ceil(100).max(1),
        }
    }
}

impl std::fmt::Display for MinHealthy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MinHealthy::Count(n) => write!(f, "{n}"),
            MinHealthy::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// `min_healthy` as written: a count or a percentage.
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub(super) enum RawMinHealthy {
    Count(i64),
    Text(String),
}

/// The policy keys of one `[[check]]` over `[defaults]` (which may set
/// `min_healthy` and `max_answers`, not the address lists).
pub(super) fn policy(
    src: &Source,
    c: &RawSettings,
    d: &RawSettings,
) -> Result<Policy, ConfigError> {
    let mut policy = Policy::default();
    if let Some(tiers) = &c.tiers {
        let mut seen: BTreeMap<IpAddr, usize> = BTreeMap::new();
        for tier in tiers.get_ref() {
            if tier.is_empty() {
                return Err(src.err(
                    tiers.span().start,
                    "a tier is empty: list its addresses".into(),
                ));
            }
            let mut list = Vec::new();
            for text in tier {
                let (ip, line) = address(src, text)?;
                if let Some(first) = seen.insert(ip, line) {
                    return Err(src.err_at_line(
                        line,
                        format!(
                            "{ip} is in two tiers (first on line {first}): an address has one place"
                        ),
                    ));
                }
                list.push((ip, line));
            }
            policy.tiers.push(list);
        }
    }
    if let Some(weights) = &c.weights {
        let line = src.line(weights.span().start);
        for (text, &weight) in weights.get_ref() {
            let ip = text.trim().parse().map_err(|_| {
                src.err_at_line(line, format!("weights: {text:?} is not an IP address"))
            })?;
            policy.weights.push((ip, weight, line));
        }
    }
    if let Some(raw) = c.min_healthy.as_ref().or(d.min_healthy.as_ref()) {
        policy.min_healthy = min_healthy(src, raw)?;
    }
    if let Some(max) = c.max_answers.as_ref().or(d.max_answers.as_ref()) {
        if *max.get_ref() == 0 {
            return Err(src.err(
                max.span().start,
                "max_answers must be at least 1 (leave it out to answer every address)".into(),
            ));
        }
        policy.max_answers = Some(*max.get_ref());
    }
    Ok(policy)
}

/// `tiers` and `weights` name addresses of a check's names: in
/// `[defaults]` they could only be wrong for every other check.
pub(super) fn not_in_defaults(src: &Source, d: &RawSettings) -> Result<(), ConfigError> {
    let at = [
        ("tiers", d.tiers.as_ref().map(|v| v.span().start)),
        ("weights", d.weights.as_ref().map(|v| v.span().start)),
    ];
    match at.into_iter().find_map(|(key, at)| Some((key, at?))) {
        Some((key, at)) => Err(src.err(
            at,
            format!(
                "{key} names addresses of a check's names: set it in a [[check]], not [defaults]"
            ),
        )),
        None => Ok(()),
    }
}

fn address(src: &Source, text: &Spanned<String>) -> Result<(IpAddr, usize), ConfigError> {
    let line = src.line(text.span().start);
    let ip = text.get_ref().trim().parse().map_err(|_| {
        src.err_at_line(
            line,
            format!("tiers: {:?} is not an IP address", text.get_ref()),
        )
    })?;
    Ok((ip, line))
}

fn min_healthy(src: &Source, raw: &Spanned<RawMinHealthy>) -> Result<MinHealthy, ConfigError> {
    let bad = |what: &str| {
        src.err(
            raw.span().start,
            format!("min_healthy {what}: write a count such as 2, or a share such as \"50%\""),
        )
    };
    match raw.get_ref() {
        RawMinHealthy::Count(n) if *n >= 1 && *n <= i64::from(u32::MAX) => {
            Ok(MinHealthy::Count(*n as u32))
        }
        RawMinHealthy::Count(n) => Err(bad(&format!("= {n} is not at least 1"))),
        RawMinHealthy::Text(text) => {
            let p = text
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<u32>().ok())
                .ok_or_else(|| bad(&format!("{text:?} is not a count or a percentage")))?;
            match p {
                1..=100 => Ok(MinHealthy::Percent(p)),
                _ => Err(bad(&format!("{text:?} is not between 1% and 100%"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MinHealthy;

    #[test]
    fn percentages_round_up_and_need_one_at_least() {
        assert_eq!(MinHealthy::Percent(50).needed(3), 2);
        assert_eq!(MinHealthy::Percent(50).needed(4), 2);
        assert_eq!(MinHealthy::Percent(1).needed(4), 1);
        assert_eq!(MinHealthy::Percent(100).needed(4), 4);
        assert_eq!(MinHealthy::Percent(10).needed(0), 1);
        assert_eq!(MinHealthy::Count(2).needed(5), 2);
    }
}
