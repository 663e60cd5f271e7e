//! Owns the operator's overrides: `drain` keeps an address out of answers
//! and `force-up` keeps it in, whatever its probes say (probes go on). An
//! override names an address, and a name or every name that has it; it may
//! expire and carries a reason. Changing one moves the same `changes`
//! signal a verdict does, so answers follow at once.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use hickory_proto::rr::Name;
use serde::{Deserialize, Serialize};

/// What an override does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverrideKind {
    /// Out of answers whatever the probes say.
    Drain,
    /// In answers whatever the probes say.
    ForceUp,
}

impl OverrideKind {
    /// As the API, the log and the state file write it.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideKind::Drain => "drain",
            OverrideKind::ForceUp => "force-up",
        }
    }
}

/// One override.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// The address, as the zone has it.
    pub address: IpAddr,
    /// The name it applies to (lower case, with the final dot); `None`:
    /// every name that has the address.
    pub name: Option<String>,
    /// Drain or force-up.
    pub kind: OverrideKind,
    /// Why, as the operator said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was set.
    #[serde(with = "humantime_serde")]
    pub since: SystemTime,
    /// When it ends by itself; `None`: when cleared.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<SystemTime>,
}

impl Override {
    /// Whether it applies to `address` at `name` (lower case).
    pub fn applies(&self, address: IpAddr, name: &str) -> bool {
        self.address == address && self.name.as_deref().is_none_or(|n| n == name)
    }

    /// Whether it has expired at `now`.
    pub fn expired(&self, now: SystemTime) -> bool {
        self.until.is_some_and(|until| until <= now)
    }
}

/// The canonical form of a name in an override: lower case, final dot.
pub fn override_name(name: &Name) -> String {
    let mut name = name.to_lowercase();
    name.set_fqdn(true);
    name.to_ascii()
}

/// Every override in force.
#[derive(Debug, Default)]
pub struct Overrides {
    /// At most one per (address, name); kept in the order they were set.
    list: Mutex<Vec<Override>>,
}

impl Overrides {
    /// The store holding `list` (say, from the state file), without
    /// expired ones.
    pub fn from_list(mut list: Vec<Override>, now: SystemTime) -> Overrides {
        list.retain(|o| !o.expired(now));
        Overrides {
            list: Mutex::new(list),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Override>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets `o`, replacing (and returning) one for the same address and name.
    pub fn set(&self, o: Override) -> Option<Override> {
        let mut list = self.lock();
        let old = list
            .iter()
            .position(|x| x.address == o.address && x.name == o.name)
            .map(|i| list.remove(i));
        list.push(o);
        old
    }

    /// Removes the override of `address` for `name` (every one of the
    /// address when `name` is `None`); returns those removed.
    pub fn clear(&self, address: IpAddr, name: Option<&str>) -> Vec<Override> {
        let mut list = self.lock();
        let (gone, kept) = list
            .drain(..)
            .partition(|o| o.address == address && (name.is_none() || o.name.as_deref() == name));
        *list = kept;
        gone
    }

    /// Every override in force at `now` (expired ones are dropped here).
    pub fn active(&self, now: SystemTime) -> Vec<Override> {
        let mut list = self.lock();
        list.retain(|o| !o.expired(now));
        list.clone()
    }

    /// The time until the next one expires, if any does.
    pub fn next_expiry(&self, now: SystemTime) -> Option<Duration> {
        self.lock()
            .iter()
            .filter_map(|o| o.until)
            .min()
            .map(|until| until.duration_since(now).unwrap_or_default())
    }
}
