//! Owns the answer snapshot: everything a query is answered from, built in
//! one place ([`Snapshot::build`]) from a loaded config and the verdicts
//! answers follow, and never changed after. A health change or a reload
//! builds a new one off the query path and swaps it in whole.
//!
//! ```text
//! Loaded (config, zones, checks, table) ─┐
//! Verdicts (health, or the guard's)  ────┼─► Judged ─► Serials::stamp ─► Live ─► Snapshot
//! Serials (what was served before)  ─────┘
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use hickory_proto::rr::{Name, Record, RecordType};

use super::Loaded;
use super::cookie::Secrets as CookieSecrets;
use super::judged::{Judged, NameCounts};
use super::serial::{History, Serials, Served};
use super::table::{Live, Table};
use crate::health::Verdicts;
use crate::zones::{Zone, ZoneSet};

/// What queries are answered from.
#[derive(Debug)]
pub struct Snapshot {
    /// Every zone.
    zones: Arc<ZoneSet>,
    /// The checked names' answers under these verdicts.
    judged: Judged,
    /// The SOA each zone is served with.
    served: Served,
    /// The versions of each zone with checked names kept for IXFR, by origin.
    history: HashMap<Name, History>,
    /// Precomputed answers of the zones (built once per load).
    table: Arc<Table>,
    /// Precomputed answers of the checked names under these verdicts.
    live: Live,
    /// The TSIG keys signed requests are checked against.
    keys: Arc<super::tsig::Keys>,
    /// The DNS Cookie secrets; `None` when cookies are off.
    cookies: Option<Arc<CookieSecrets>>,
}

/// Zones whose served serial a new snapshot changes, with their SOA as
/// served now: the secondaries to tell.
pub type Changed = Vec<(Name, Record)>;

/// What the general path reads: zones, the checked names' answers, and
/// the SOAs served. The table is built by running that path over a source
/// with every target healthy, before any snapshot exists.
#[derive(Clone, Copy)]
pub(super) struct Source<'a> {
    /// Every zone.
    pub(super) zones: &'a ZoneSet,
    /// The checked names' answers.
    pub(super) judged: &'a Judged,
    /// The SOAs served.
    pub(super) served: &'a Served,
}

/// The checked names and types of `loaded` that have a healthy address
/// under `before` and none under `after`: what a drain would empty.
pub fn emptied(loaded: &Loaded, before: &Verdicts, after: &Verdicts) -> Vec<(Name, RecordType)> {
    let (was, will) = (
        Judged::new(&loaded.checks, before),
        Judged::new(&loaded.checks, after),
    );
    let mut out = Vec::new();
    for spec in loaded.checks.names() {
        for rtype in [RecordType::A, RecordType::AAAA] {
            if was.has_healthy(&spec.name, rtype) && !will.has_healthy(&spec.name, rtype) {
                out.push((spec.name.clone(), rtype));
            }
        }
    }
    out
}

impl Snapshot {
    /// The snapshot of `loaded` under `verdicts`, with the serials
    /// `serials` hands out (and remembers) for it; and the zones whose
    /// served serial that changes.
    pub fn build(
        loaded: &Loaded,
        verdicts: &Verdicts,
        serials: &mut Serials,
    ) -> (Snapshot, Changed) {
        let judged = Judged::new(&loaded.checks, verdicts);
        let stamped = serials.stamp(
            &loaded.zones,
            &judged,
            loaded.config.transfers(),
            SystemTime::now(),
        );
        let live = Live::build(
            &judged,
            &stamped.served,
            &loaded.table,
            &loaded.checks,
            &loaded.zones,
        );
        let snapshot = Snapshot {
            zones: loaded.zones.clone(),
            judged,
            served: stamped.served,
            history: stamped.history,
            table: loaded.table.clone(),
            live,
            keys: loaded.keys.clone(),
            cookies: loaded.cookies.clone(),
        };
        (snapshot, stamped.changed)
    }

    /// The SOA serial `zone` is served with: the file's, or one that
    /// follows health when zones go to secondaries.
    pub fn serial_of(&self, zone: &Zone) -> u32 {
        super::serial::serial(self.served.soa(zone))
    }

    /// The addresses the checked name `name` answers with now (A, then
    /// AAAA; fail-open ones too), each with the TTL served.
    pub fn serving(&self, name: &Name) -> Vec<(IpAddr, u32)> {
        self.judged.served(name)
    }

    /// What the checked `name`'s `rtype` answers when health left it no
    /// address (`NODATA` or `SERVFAIL`); `None` while it serves some.
    pub fn empty(&self, name: &Name, rtype: RecordType) -> Option<&'static str> {
        self.judged.empty(name, rtype)
    }

    /// Whether the checked `name`'s `rtype` answer fails open right now.
    pub fn fails_open(&self, name: &Name, rtype: RecordType) -> bool {
        self.judged.fails_open(name, rtype)
    }

    /// How the checked `name`'s A and AAAA sets stand (those it has).
    pub fn counts(&self, name: &Name) -> Vec<(RecordType, NameCounts)> {
        [RecordType::A, RecordType::AAAA]
            .into_iter()
            .filter_map(|rtype| Some((rtype, self.judged.counts(name, rtype)?)))
            .collect()
    }

    /// What the general path reads.
    pub(super) fn source(&self) -> Source<'_> {
        Source {
            zones: &self.zones,
            judged: &self.judged,
            served: &self.served,
        }
    }

    /// The precomputed answers.
    pub(super) fn table(&self) -> &Table {
        &self.table
    }

    /// The DNS Cookie secrets, when cookies are on.
    pub(super) fn cookies(&self) -> Option<&CookieSecrets> {
        self.cookies.as_deref()
    }

    /// The checked names' precomputed answers.
    pub(super) fn live(&self) -> &Live {
        &self.live
    }

    /// The TSIG keys.
    pub(super) fn keys(&self) -> &super::tsig::Keys {
        &self.keys
    }

    /// The versions of the zone at `origin` kept for IXFR.
    pub(super) fn history(&self, origin: &Name) -> Option<&History> {
        self.history.get(origin)
    }
}
