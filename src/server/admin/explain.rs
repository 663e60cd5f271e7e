//! Owns `GET /api/explain?name=…&type=…&if_down=…`, which `hale ctl explain`
//! prints: for each checked A/AAAA set of the name, the answer and the
//! rule that chose it, the TTL served, and per address why it is in or out
//! (override, verdict with its recent results, the reload's probation,
//! flap damping, the mass-failure guard) and the earliest time that can
//! change; with `if_down`, the answer that address going down would give.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::extract;
use axum::http::StatusCode;
use hickory_proto::rr::{Name, RecordType};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::dns::explain::{Explained, Rule, Standing, explain};
use crate::health::{
    AddressProbes, Judgement, OverrideKind, TargetKey, TargetStatus, Verdict, override_name,
};
use crate::server::State;

/// The query of `GET /api/explain`.
#[derive(Deserialize)]
pub(super) struct Query {
    name: String,
    #[serde(default, rename = "type")]
    rtype: Option<String>,
    #[serde(default)]
    if_down: Option<String>,
}

type Reply = (StatusCode, Json<Value>);

fn refused(status: StatusCode, error: String) -> Reply {
    (status, Json(json!({ "error": error })))
}

/// `GET /api/explain`.
pub(super) async fn handle(
    extract::State(state): extract::State<Arc<State>>,
    extract::Query(query): extract::Query<Query>,
) -> Reply {
    let mut name = match Name::from_ascii(&query.name) {
        Ok(n) => n,
        Err(e) => {
            let error = format!("{:?} is not a domain name: {e}", query.name);
            return refused(StatusCode::BAD_REQUEST, error);
        }
    };
    name.set_fqdn(true);
    let rtypes = match query
        .rtype
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None => vec![RecordType::A, RecordType::AAAA],
        Some("A") => vec![RecordType::A],
        Some("AAAA") => vec![RecordType::AAAA],
        Some(other) => {
            let error = format!("type {other:?}: only A and AAAA are health-checked");
            return refused(StatusCode::BAD_REQUEST, error);
        }
    };
    let if_down = match query.if_down.as_deref().map(str::parse::<IpAddr>) {
        None => None,
        Some(Ok(ip)) => Some(ip),
        Some(Err(_)) => {
            let error = format!("--if-down {:?} is not an IP address", query.if_down);
            return refused(StatusCode::BAD_REQUEST, error);
        }
    };
    let loaded = state.loaded();
    let targets = state.health().targets();
    let verdicts = state.verdicts(&loaded, &targets);
    let Some(sets) = explain(&loaded, &verdicts, &name, &rtypes) else {
        return refused(
            StatusCode::NOT_FOUND,
            format!("{name} is not a health-checked name"),
        );
    };
    if sets.is_empty() {
        let what = query.rtype.as_deref().unwrap_or("A or AAAA");
        return refused(
            StatusCode::NOT_FOUND,
            format!("{name} has no {what} record"),
        );
    }
    let owner = override_name(&name);
    let guard = state.guard().status();
    let mut out = Vec::new();
    for set in &sets {
        let mut earliest: Option<SystemTime> = None;
        let addresses: Vec<Value> = set
            .addresses
            .iter()
            .map(|a| {
                let o = verdicts.override_for(a.address, &owner);
                let probes: Vec<ProbeWhy> = a
                    .probes
                    .keys()
                    .map(|key| {
                        let status = targets.get(key).map(|t| t.status());
                        let standing = match verdicts.judge(&single(key)) {
                            Judgement::Healthy => Standing::Healthy,
                            Judgement::Probation => Standing::Probation,
                            Judgement::Down => Standing::Down,
                        };
                        let (why, change) = why(standing, status.as_ref(), None, guard.engaged);
                        ProbeWhy {
                            target: key.to_string(),
                            up: standing == Standing::Healthy,
                            status,
                            why,
                            change,
                        }
                    })
                    .collect();
                let first = probes.first();
                let status = first.and_then(|p| p.status.as_ref());
                let (mut reason, mut change) = why(a.standing, status, o, guard.engaged);
                if probes.len() > 1 && o.is_none() {
                    // Which probes decide it, then each one's own story.
                    let passing = probes.iter().filter(|p| p.up).count();
                    reason = format!(
                        "{passing} of {} probes pass, {} required",
                        probes.len(),
                        a.probes.needed
                    );
                    change = probes.iter().filter_map(|p| p.change).min();
                }
                if set.rule == Rule::FailOpen && a.in_answer {
                    reason = format!(
                        "no address of this type is healthy: when_all_down = \"all\" answers it anyway; {reason}"
                    );
                }
                if let Some(at) = change {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                }
                let at = |t: Option<SystemTime>| t.map(|t| humantime::format_rfc3339_seconds(t).to_string());
                let probes_json: Vec<Value> = probes
                    .iter()
                    .map(|p| {
                        json!({
                            "target": p.target,
                            "up": p.up,
                            "why": p.why,
                            "verdict": p.status.as_ref().map(|s| s.verdict),
                            "last": p.status.as_ref().and_then(|s| s.last.as_ref()),
                            "recent": p.status.as_ref().map(|s| &s.recent),
                            "can_change_at": at(p.change),
                        })
                    })
                    .collect();
                json!({
                    "address": a.address,
                    "probed_address": a.probes.probed(),
                    "in_answer": a.in_answer,
                    "standing": a.standing,
                    "why": reason,
                    "target": a.probes.first.to_string(),
                    "verdict": status.map(|s| s.verdict),
                    "recent": status.map(|s| &s.recent),
                    "override": o,
                    "can_change_at": at(change),
                    "require": a.probes.needed,
                    "probes": probes_json,
                })
            })
            .collect();
        let what_if = if_down.and_then(|ip| {
            let keys = set
                .addresses
                .iter()
                .filter(|a| a.address == ip)
                .flat_map(|a| a.probes.keys().cloned())
                .collect::<Vec<_>>();
            if keys.is_empty() {
                return None;
            }
            let already_out = !set.addresses.iter().any(|a| a.address == ip && a.in_answer);
            let rtype = if set.rtype == "A" {
                RecordType::A
            } else {
                RecordType::AAAA
            };
            let after = verdicts.clone().with_down(keys);
            let sets = explain(&loaded, &after, &name, &[rtype])?;
            let set: &Explained = sets.first()?;
            Some(json!({ "address": ip, "answer": set.answer, "rule": set.rule, "already_out": already_out }))
        });
        out.push(json!({
            "type": set.rtype,
            "ttl": set.ttl,
            "rule": set.rule,
            "answer": set.answer,
            "guard_engaged": guard.engaged,
            "can_change_at": earliest.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            "addresses": addresses,
            "if_down": what_if,
        }));
    }
    if let Some(ip) = if_down
        && !sets
            .iter()
            .any(|s| s.addresses.iter().any(|a| a.address == ip))
    {
        return refused(
            StatusCode::NOT_FOUND,
            format!("{ip} is not an address of {name}"),
        );
    }
    (
        StatusCode::OK,
        Json(json!({ "name": name.to_ascii(), "sets": out })),
    )
}

/// One probe of an address, explained.
struct ProbeWhy {
    target: String,
    /// Passing by its own verdict (or not probed since the start).
    up: bool,
    status: Option<TargetStatus>,
    why: String,
    change: Option<SystemTime>,
}

/// `key` as an address's only probe, to judge it on its own.
fn single(key: &TargetKey) -> AddressProbes {
    AddressProbes {
        first: key.clone(),
        rest: Vec::new(),
        needed: 1,
    }
}

/// Why an address stands where it does, in words, and the earliest time
/// that can change (`None`: only an operator or flap damping's decay can).
fn why(
    standing: Standing,
    status: Option<&TargetStatus>,
    o: Option<&crate::health::Override>,
    guard_engaged: bool,
) -> (String, Option<SystemTime>) {
    if let Some(o) = o {
        let kind = match o.kind {
            OverrideKind::Drain => "drained",
            OverrideKind::ForceUp => "forced up",
        };
        let mut text = format!("{kind} by the operator");
        if let Some(reason) = &o.reason {
            text.push_str(&format!(" ({reason})"));
        }
        match o.until {
            Some(until) => text.push_str(&format!(
                " until {}",
                humantime::format_rfc3339_seconds(until)
            )),
            None => text.push_str(", until cleared"),
        }
        return (text, o.until);
    }
    let Some(s) = status else {
        return ("its prober is starting".into(), None);
    };
    let since = humantime::format_rfc3339_seconds(s.since);
    let last = s
        .last
        .as_ref()
        .map(|l| {
            format!(
                "; last result {} at {}",
                l.reason,
                humantime::format_rfc3339_seconds(l.at)
            )
        })
        .unwrap_or_default();
    let next = s.next_probe;
    let after = |probes: u32| next.map(|n| n + s.interval.saturating_mul(probes.saturating_sub(1)));
    let stale = if s.stale {
        " (stale: its prober has given no result lately)"
    } else {
        ""
    };
    match standing {
        Standing::Probation => (
            "added by a reload and not probed yet: enters once its first probe passes".into(),
            next,
        ),
        Standing::Healthy if s.verdict == Verdict::Unknown => (
            "not probed yet: counts as healthy until its first result".into(),
            next,
        ),
        Standing::Healthy if s.verdict == Verdict::Down && guard_engaged => (
            format!(
                "its own verdict is down, but the mass-failure guard holds the answers from before the wave{last}"
            ),
            None,
        ),
        Standing::Healthy => {
            let needed = s.fall.saturating_sub(s.consecutive_failures);
            let origin = match s.restored {
                Some(at) => format!(
                    " (from the state file, confirmed {})",
                    humantime::format_rfc3339_seconds(at)
                ),
                None => String::new(),
            };
            (
                format!(
                    "up since {since}{origin}; {needed} more failure(s) take it out (fall {}){last}{stale}",
                    s.fall
                ),
                after(needed),
            )
        }
        Standing::Down if s.flap_held => (
            format!(
                "held down by flap damping (penalty {}) whatever its probes say{last}",
                s.flap_penalty
            ),
            None,
        ),
        Standing::Down => {
            let needed = s.rise.saturating_sub(s.consecutive_passes);
            (
                format!(
                    "down since {since}; {needed} more pass(es) bring it back (rise {}){last}{stale}",
                    s.rise
                ),
                after(needed),
            )
        }
        Standing::Forced | Standing::Drained => ("set by the operator".into(), None),
    }
}
