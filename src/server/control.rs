//! Owns what an operator changes at run time besides reloads: overrides
//! (drain, force-up, clear), checked against the loaded config, with the
//! drain that would empty an answer refused unless forced. The admin
//! listener turns these into its HTTP API; `hale ctl` calls that.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use hickory_proto::rr::{Name, RecordType};

use super::State;
use crate::dns::{Loaded, emptied};
use crate::health::{Override, OverrideKind, override_name};

/// What an operator asks to override.
#[derive(Debug)]
pub struct OverrideRequest {
    /// The address, as the zone has it.
    pub address: IpAddr,
    /// Only for this name; every name that has the address when `None`.
    pub name: Option<Name>,
    /// Drain or force-up.
    pub kind: OverrideKind,
    /// How long it lasts; until cleared when `None`.
    pub duration: Option<Duration>,
    /// Why.
    pub reason: Option<String>,
    /// Drain even when that leaves a name with no healthy address.
    pub force: bool,
}

/// Why an override was refused.
#[derive(thiserror::Error, Debug)]
pub enum ControlError {
    /// No checked name has the address (or the named one does not).
    #[error("{0}")]
    Unknown(String),
    /// The drain would leave these names and types without a healthy address.
    #[error("draining {address} would leave {} with no healthy address; add --force to drain anyway", list(.emptied))]
    Unsafe {
        /// The address.
        address: IpAddr,
        /// Each name and type it would empty.
        emptied: Vec<(Name, RecordType)>,
    },
}

fn list(emptied: &[(Name, RecordType)]) -> String {
    emptied
        .iter()
        .map(|(name, rtype)| format!("{name} {rtype}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl State {
    /// Sets an override, after checking that the address (and name) is
    /// checked and that a drain leaves every name something healthy.
    /// Returns it, and the override it replaced (same address and name).
    pub fn set_override(
        &self,
        req: OverrideRequest,
    ) -> Result<(Override, Option<Override>), ControlError> {
        // Check and set as one: a drain racing another sees it applied.
        let _one_at_a_time = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let loaded = self.loaded();
        let name = req.name.as_ref().map(override_name);
        names_with(&loaded, req.address, name.as_deref())?;
        let now = SystemTime::now();
        let o = Override {
            address: req.address,
            name,
            kind: req.kind,
            reason: req.reason,
            since: now,
            until: req.duration.and_then(|d| now.checked_add(d)),
        };
        if o.kind == OverrideKind::Drain && !req.force {
            let targets = self.health.targets();
            let before = self.verdicts(&loaded, &targets);
            let mut overrides = self.health.overrides().active(now);
            overrides.retain(|x| !(x.address == o.address && x.name == o.name));
            overrides.push(o.clone());
            let after = self.verdicts(&loaded, &targets).with_overrides(overrides);
            let emptied = emptied(&loaded, &before, &after);
            if !emptied.is_empty() {
                return Err(ControlError::Unsafe {
                    address: o.address,
                    emptied,
                });
            }
        }
        let replaced = self.health.set_override(o.clone());
        // Published before the reply: when `ctl` returns, answers follow.
        self.rebuild();
        Ok((o, replaced))
    }

    /// Removes the overrides of `address` (for `name`, or all of them).
    pub fn clear_override(
        &self,
        address: IpAddr,
        name: Option<&Name>,
    ) -> Result<Vec<Override>, ControlError> {
        let name = name.map(override_name);
        let gone = self.health.clear_override(address, name.as_deref());
        self.rebuild();
        if gone.is_empty() {
            let whose = name.map(|n| format!(" for {n}")).unwrap_or_default();
            return Err(ControlError::Unknown(format!(
                "{address} has no override{whose}"
            )));
        }
        Ok(gone)
    }
}

/// The checked names that have `address` (only `name` when given), or why
/// there are none.
fn names_with(
    loaded: &Loaded,
    address: IpAddr,
    name: Option<&str>,
) -> Result<Vec<Name>, ControlError> {
    let mut found = Vec::new();
    let mut name_checked = false;
    for spec in loaded.checks.names() {
        let owner = override_name(&spec.name);
        if name.is_some_and(|n| n != owner) {
            continue;
        }
        name_checked = true;
        let has = [&spec.a, &spec.aaaa]
            .into_iter()
            .flatten()
            .flat_map(|set| &set.targets)
            .any(|(rdata, _)| rdata.ip_addr() == Some(address));
        if has {
            found.push(spec.name.clone());
        }
    }
    match (found.is_empty(), name) {
        (false, _) => Ok(found),
        (true, Some(n)) if !name_checked => Err(ControlError::Unknown(format!(
            "{n} is not a health-checked name"
        ))),
        (true, Some(n)) => Err(ControlError::Unknown(format!(
            "{address} is not an address of {n}"
        ))),
        (true, None) => Err(ControlError::Unknown(format!(
            "{address} is not an address of any health-checked name"
        ))),
    }
}
