//! Owns the verdicts answers follow: which targets count as down right now.
//! Taken from the targets themselves, or from the mass-failure guard while
//! it holds answers ([`super::Guard`]); the answer snapshot is built from
//! one of these and nothing else about health.

use std::collections::HashSet;
use std::net::IpAddr;

use super::{AddressProbes, Override, TargetKey, Targets};

/// The targets answers leave out, and those a reload added that are not
/// probed yet; every other target counts as healthy, including one with
/// no verdict since the start.
#[derive(Clone, Debug, Default)]
pub struct Verdicts {
    /// Targets judged down.
    down: HashSet<TargetKey>,
    /// Targets a reload added, not probed yet: in an answer only when
    /// nothing else of its name and type is healthy.
    probation: HashSet<TargetKey>,
    /// The operator's overrides in force; they outrank every verdict.
    overrides: Vec<Override>,
}

impl Verdicts {
    /// Every target healthy.
    pub fn all_healthy() -> Verdicts {
        Verdicts::default()
    }

    /// The targets' own verdicts.
    pub fn of(targets: &Targets) -> Verdicts {
        let mut verdicts = Verdicts::default();
        for target in targets.values() {
            if !target.is_healthy() {
                verdicts.down.insert(target.key().clone());
            } else if target.on_probation() {
                verdicts.probation.insert(target.key().clone());
            }
        }
        verdicts
    }

    /// These verdicts with the probation of `current` (the guard holds
    /// verdicts, not what is still unprobed).
    pub fn with_probation_of(mut self, current: Verdicts) -> Verdicts {
        self.probation = current.probation;
        self
    }

    /// These verdicts with `keys` down too (what-if questions).
    pub fn with_down(mut self, keys: impl IntoIterator<Item = TargetKey>) -> Verdicts {
        for key in keys {
            self.probation.remove(&key);
            self.down.insert(key);
        }
        self
    }

    /// These verdicts under the operator's `overrides`.
    pub fn with_overrides(mut self, overrides: Vec<Override>) -> Verdicts {
        self.overrides = overrides;
        self
    }

    /// The override of `address` at `name` (lower case, final dot): one
    /// for that name, else one for every name.
    pub fn override_for(&self, address: IpAddr, name: &str) -> Option<&Override> {
        if self.overrides.is_empty() {
            return None;
        }
        let mut any_name = None;
        for o in &self.overrides {
            if o.address == address {
                match o.name.as_deref() {
                    Some(n) if n == name => return Some(o),
                    Some(_) => {}
                    None => any_name = Some(o),
                }
            }
        }
        any_name
    }

    /// Whether answers include the addresses `key` judges.
    pub fn is_healthy(&self, key: &TargetKey) -> bool {
        self.down.is_empty() || !self.down.contains(key)
    }

    /// Whether `key` came with a reload and has no result yet.
    pub fn on_probation(&self, key: &TargetKey) -> bool {
        !self.probation.is_empty() && self.probation.contains(key)
    }

    /// Where an address stands by its probes: healthy while `needed` of
    /// them are; else waiting while enough of the rest are unprobed ones a
    /// reload added; else down. With one probe, that probe's verdict.
    pub fn judge(&self, probes: &AddressProbes) -> Judgement {
        let (mut up, mut unprobed) = (0, 0);
        for key in probes.keys() {
            match (self.is_healthy(key), self.on_probation(key)) {
                (false, _) => {}
                (true, true) => unprobed += 1,
                (true, false) => up += 1,
            }
        }
        if up >= probes.needed {
            Judgement::Healthy
        } else if up + unprobed >= probes.needed {
            Judgement::Probation
        } else {
            Judgement::Down
        }
    }
}

/// An address's probes taken together ([`Verdicts::judge`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// Enough probes pass (or have no result since the start).
    Healthy,
    /// Enough would, counting those a reload added and not probed yet.
    Probation,
    /// Too few pass.
    Down,
}

impl FromIterator<TargetKey> for Verdicts {
    /// The verdicts with exactly these targets down.
    fn from_iter<I: IntoIterator<Item = TargetKey>>(down: I) -> Verdicts {
        Verdicts {
            down: down.into_iter().collect(),
            probation: HashSet::new(),
            overrides: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> TargetKey {
        TargetKey::tcp([192, 0, 2, 1].into(), port)
    }

    fn probes(needed: usize) -> AddressProbes {
        AddressProbes {
            first: key(1),
            rest: vec![key(2), key(3)],
            needed,
        }
    }

    #[test]
    fn an_address_is_healthy_while_enough_of_its_probes_are() {
        let one_down: Verdicts = [key(2)].into_iter().collect();
        assert_eq!(one_down.judge(&probes(3)), Judgement::Down);
        assert_eq!(one_down.judge(&probes(2)), Judgement::Healthy);
        assert_eq!(one_down.judge(&probes(1)), Judgement::Healthy);
        let all_down: Verdicts = [key(1), key(2), key(3)].into_iter().collect();
        assert_eq!(all_down.judge(&probes(1)), Judgement::Down);
        assert_eq!(
            Verdicts::all_healthy().judge(&probes(3)),
            Judgement::Healthy
        );
        // Unprobed ones a reload added count only toward probation.
        let mut waiting = one_down.clone();
        waiting.probation.insert(key(3));
        assert_eq!(waiting.judge(&probes(2)), Judgement::Probation);
        assert_eq!(waiting.judge(&probes(1)), Judgement::Healthy);
    }
}
