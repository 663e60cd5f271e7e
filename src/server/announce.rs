//! Owns what the log says of whole answers, beside each target's own
//! verdict changes: a checked name and type entering or leaving fail-open,
//! or left with nothing to serve (NODATA or SERVFAIL by its
//! `when_all_down`), and coming back. All at WARN, both ways, so that with
//! `RUST_LOG=warn` an outage has an end as well as a start.

use hickory_proto::rr::RecordType;
use tracing::warn;

use crate::dns::{Loaded, Snapshot};

/// How one checked name and type answers, as far as the log cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answering {
    /// Healthy addresses.
    Healthy,
    /// Every address not drained, none healthy.
    FailOpen,
    /// Nothing: `NODATA` or `SERVFAIL`.
    Empty(&'static str),
}

fn answering(snapshot: &Snapshot, name: &hickory_proto::rr::Name, rtype: RecordType) -> Answering {
    match (
        snapshot.fails_open(name, rtype),
        snapshot.empty(name, rtype),
    ) {
        (true, _) => Answering::FailOpen,
        (false, Some(kind)) => Answering::Empty(kind),
        (false, None) => Answering::Healthy,
    }
}

/// Logs every checked name and type of `loaded` whose answer changed kind
/// from `before` (at start: `None`, when only the unhealthy ones are told)
/// to `after`.
pub(super) fn announce(loaded: &Loaded, before: Option<&Snapshot>, after: &Snapshot) {
    for spec in loaded.checks.names() {
        for rtype in [RecordType::A, RecordType::AAAA] {
            if spec.addresses(rtype).is_none() {
                continue;
            }
            let was = before.map_or(Answering::Healthy, |b| answering(b, &spec.name, rtype));
            let now = answering(after, &spec.name, rtype);
            if was == now {
                continue;
            }
            let name = &spec.name;
            match (was, now) {
                (_, Answering::FailOpen) => warn!(
                    %name,
                    %rtype,
                    "fail-open: no address of this type is healthy; when_all_down = \"all\" answers every one"
                ),
                (_, Answering::Empty(kind)) => warn!(
                    %name,
                    %rtype,
                    answer = kind,
                    policy = spec.when_all_down.as_str(),
                    "no address to serve: no address of this type is healthy, answering {kind}"
                ),
                (Answering::FailOpen, Answering::Healthy) => warn!(
                    %name,
                    %rtype,
                    "fail-open over: healthy addresses answer again"
                ),
                (Answering::Empty(kind), Answering::Healthy) => warn!(
                    %name,
                    %rtype,
                    "{kind} over: healthy addresses answer again"
                ),
                (Answering::Healthy, Answering::Healthy) => {}
            }
        }
    }
}
