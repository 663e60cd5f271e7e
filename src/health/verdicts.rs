//! Owns the verdicts answers follow: which targets count as down right now.
//! Taken from the targets themselves, or from the mass-failure guard while
//! it holds answers ([`super::Guard`]); the answer snapshot is built from
//! one of these and nothing else about health.

use std::collections::HashSet;

use super::{TargetKey, Targets};

/// The targets answers leave out; every other target counts as healthy,
/// including one with no verdict yet.
#[derive(Clone, Debug, Default)]
pub struct Verdicts {
    /// Targets judged down.
    down: HashSet<TargetKey>,
}

impl Verdicts {
    /// Every target healthy.
    pub fn all_healthy() -> Verdicts {
        Verdicts::default()
    }

    /// The targets' own verdicts.
    pub fn of(targets: &Targets) -> Verdicts {
        targets
            .values()
            .filter(|t| !t.is_healthy())
            .map(|t| t.key().clone())
            .collect()
    }

    /// Whether answers include the addresses `key` judges.
    pub fn is_healthy(&self, key: &TargetKey) -> bool {
        self.down.is_empty() || !self.down.contains(key)
    }
}

impl FromIterator<TargetKey> for Verdicts {
    /// The verdicts with exactly these targets down.
    fn from_iter<I: IntoIterator<Item = TargetKey>>(down: I) -> Verdicts {
        Verdicts {
            down: down.into_iter().collect(),
        }
    }
}
