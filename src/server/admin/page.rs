//! Owns the HTML status page at `GET /`: the `/status` document for a
//! person at 3 a.m. Server-rendered, no external assets, refreshing itself.
//! What needs attention comes first: banners (mass failure, fail-open, a
//! rejected reload), then names with a problem, and within a name the
//! addresses that are down or out of the answer.

use std::fmt::Write;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract;
use axum::response::Html;

use super::{NameStatus, Status, TargetEntry, status};
use crate::health::{ProbeResult, Verdict};
use crate::server::State;

/// Seconds between the page's own refreshes.
const REFRESH_SECONDS: u32 = 5;

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}\
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.2em 0 .2em}\
.meta{color:#666}.banner{padding:.5em .8em;margin:.5em 0;border-radius:4px}\
.bad{background:#fdd;border:1px solid #c33}.warn{background:#ffe8c0;border:1px solid #d90}\
table{border-collapse:collapse;margin:.3em 0 1em}\
td,th{padding:3px 10px;text-align:left;border-bottom:1px solid #eee;vertical-align:top}\
th{font-weight:600;background:#f6f6f6}code{font-size:.9em}\
.up{color:#070;font-weight:600}.down{color:#b00;font-weight:600}.unknown{color:#777}\
.summary{margin:.1em 0}.tag{padding:0 .4em;border-radius:3px;margin-left:.4em;font-size:.9em}\
.tag.bad{border:0;background:#c33;color:#fff}.tag.warn{border:0;background:#d90;color:#fff}\
.strip{white-space:nowrap}.strip i{display:inline-block;width:7px;height:14px;margin-right:1px;border-radius:1px}\
.strip i.ok{background:#3a3}.strip i.fail{background:#d33}";

pub(super) async fn index(extract::State(state): extract::State<Arc<State>>) -> Html<String> {
    Html(render(&status(&state), SystemTime::now()))
}

/// The page for `s`, as of `now`.
pub(super) fn render(s: &Status, now: SystemTime) -> String {
    let mut html = String::with_capacity(16 * 1024);
    let _ = write!(
        html,
        "<!doctype html><html lang=en><meta charset=utf-8>\
         <meta http-equiv=refresh content={REFRESH_SECONDS}>\
         <meta name=viewport content=\"width=device-width\">\
         <title>hale status</title><style>{STYLE}</style>\
         <h1>hale</h1><p class=meta>version {} · {} zone{} · {} checked name{} · \
         page as of <span id=now>{}</span>, refreshed every {REFRESH_SECONDS} s · \
         <a href=/status>/status</a> (JSON) · <a href=/metrics>/metrics</a></p>",
        s.version,
        s.zones.len(),
        plural(s.zones.len()),
        s.checks.len(),
        plural(s.checks.len()),
        time(now),
    );
    banners(&mut html, s);
    let mut names: Vec<&NameStatus> = s.checks.iter().collect();
    // Names that need attention first; otherwise in name order.
    names.sort_by_key(|n| (!needs_attention(n), n.name.clone()));
    for name in names {
        section(&mut html, name, now, s.mass_failure.guard.engaged);
    }
    if s.checks.is_empty() {
        html.push_str("<p>No name is health-checked.</p>");
    }
    html.push_str("<h2>Zones</h2><table><tr><th>zone</th><th>serial</th><th>file</th></tr>");
    for z in &s.zones {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(&z.origin),
            z.serial,
            escape(&z.file)
        );
    }
    html.push_str("</table>");
    html
}

/// The banners: what is wrong with hale as a whole, and the last reload.
fn banners(html: &mut String, s: &Status) {
    let guard = &s.mass_failure.guard;
    if guard.engaged {
        let _ = write!(
            html,
            "<p class=\"banner bad\" id=mass-failure><b>Mass failure: answers are held</b> \
             since {}: {}</p>",
            escape(guard.since.as_deref().unwrap_or_default()),
            escape(guard.reason.as_deref().unwrap_or_default()),
        );
    }
    if !s.fail_open.is_empty() {
        let _ = write!(
            html,
            "<p class=\"banner bad\" id=fail-open><b>Failing open:</b> {} — no address is \
             healthy, so <code>when_all_down = \"all\"</code> answers every address not drained.</p>",
            escape(&s.fail_open.join(", "))
        );
    }
    let empty: Vec<String> = s
        .checks
        .iter()
        .flat_map(|n| {
            let answer = if n.when_all_down == "servfail" {
                "SERVFAIL"
            } else {
                "NODATA"
            };
            n.types
                .iter()
                .filter(|t| t.counts.serving == 0)
                .map(move |t| format!("{} {} ({answer})", n.name, t.rtype))
        })
        .collect();
    if !empty.is_empty() {
        let _ = write!(
            html,
            "<p class=\"banner bad\" id=nothing-served><b>Serving no address:</b> {} — none \
             is healthy, and <code>when_all_down</code> answers without addresses.</p>",
            escape(&empty.join(", "))
        );
    }
    let last = &s.last_load;
    match last.result {
        "error" => {
            let _ = write!(
                html,
                "<p class=\"banner warn\" id=reload><b>Last reload rejected</b> at {}: {}<br>\
                 Still serving the config loaded at {}. The files on disk would fail a restart.</p>",
                time(last.at),
                escape(last.error.as_deref().unwrap_or_default()),
                time(last.last_success),
            );
        }
        result => {
            let what = if result == "start" {
                "started"
            } else {
                "last reload ok"
            };
            let _ = write!(
                html,
                "<p class=meta id=reload>Config and zones: {what} at {}.</p>",
                time(last.at)
            );
        }
    }
}

/// Whether a name goes before the healthy ones: fail-open, an address
/// down or out of the answer, or an override.
fn needs_attention(n: &NameStatus) -> bool {
    n.fail_open
        || n.types
            .iter()
            .any(|t| t.counts.healthy < t.counts.addresses)
        || n.targets
            .iter()
            .any(|t| t.override_.is_some() || t.in_answer == Some(false))
}

/// One checked name: its summary line and a row per address.
fn section(html: &mut String, n: &NameStatus, now: SystemTime, held: bool) {
    let _ = write!(
        html,
        "<h2 id=\"{0}\">{0}</h2><p class=summary>",
        escape(&n.name)
    );
    let mut parts = Vec::new();
    for t in &n.types {
        let c = &t.counts;
        let mut part = format!(
            "<b>{}</b>: {}/{} up, serving {}",
            t.rtype, c.healthy, c.addresses, c.serving
        );
        if c.fail_open {
            part.push_str("<span class=\"tag bad\">FAIL-OPEN</span>");
        } else if c.serving == 0 {
            let answer = if n.when_all_down == "servfail" {
                "SERVFAIL"
            } else {
                "NODATA"
            };
            part.push_str(&format!(
                "<span class=\"tag bad\">NOTHING SERVED: {answer}</span>"
            ));
        }
        parts.push(part);
    }
    let overrides = n.targets.iter().filter(|t| t.override_.is_some()).count();
    parts.push(format!("when all down: {}", n.when_all_down));
    for t in n.types.iter().filter(|t| t.counts.tiers > 1) {
        parts.push(match t.counts.tier {
            Some(tier) => format!("{}: tier {tier} of {} serving", t.rtype, t.counts.tiers),
            None => format!(
                "<span class=\"tag warn\">{}: no tier at min_healthy, every healthy address serves</span>",
                t.rtype
            ),
        });
    }
    if overrides > 0 {
        parts.push(format!(
            "<span class=\"tag warn\">{overrides} override{}</span>",
            plural(overrides)
        ));
    }
    html.push_str(&parts.join(" · "));
    html.push_str(
        "</p><table><tr><th>address</th><th>verdict</th><th>since</th><th>in answer</th>\
         <th>override</th><th>last 20 results</th><th>last result</th><th>probe</th></tr>",
    );
    let mut targets: Vec<&TargetEntry> = n.targets.iter().collect();
    // Down or out of the answer first, then by address.
    targets.sort_by_key(|t| (!target_needs_attention(t), t.address.clone()));
    for t in targets {
        row(html, t, now, held);
    }
    html.push_str("</table>");
}

fn target_needs_attention(t: &TargetEntry) -> bool {
    t.in_answer == Some(false)
        || t.override_.is_some()
        || t.status
            .as_ref()
            .is_some_and(|s| s.verdict == Verdict::Down || s.stale)
}

/// One address of a name; `held`: the mass-failure guard holds answers.
fn row(html: &mut String, t: &TargetEntry, now: SystemTime, held: bool) {
    let (verdict, class, since, strip, last) = match &t.status {
        Some(st) => {
            let (verdict, class) = match (st.verdict, st.flap_held, st.stale) {
                (_, true, _) => ("down (flapping)", "down"),
                (_, _, true) => ("stale", "down"),
                (Verdict::Up, ..) => ("up", "up"),
                (Verdict::Down, ..) => ("down", "down"),
                (Verdict::Unknown, ..) => ("not probed yet", "unknown"),
            };
            let since = match (&st.last, st.restored) {
                (None, Some(_)) => format!("{} (saved before restart)", time(st.since)),
                (None, None) => "never probed".to_string(),
                (Some(_), _) => format!(
                    "<span title=\"{}\">{} ago</span>",
                    time(st.since),
                    ago(st.since, now)
                ),
            };
            (
                verdict,
                class,
                since,
                strip_of(&st.recent),
                last_of(st.last.as_ref()),
            )
        }
        None => (
            "starting",
            "unknown",
            "never probed".into(),
            String::new(),
            String::new(),
        ),
    };
    // With several probes the address stands by how many pass, not by
    // its first probe (whose results the strip and last result show).
    let (verdict, class) = match (t.probes.len() > 1, t.probes_passing, t.require) {
        (true, Some(passing), Some(needed)) if passing >= needed => ("up", "up"),
        (true, Some(_), Some(_)) => ("down", "down"),
        _ => (verdict, class),
    };
    let down = match t.probes.len() > 1 {
        true => verdict == "down",
        false => t
            .status
            .as_ref()
            .is_some_and(|s| s.verdict == Verdict::Down),
    };
    let drained = t
        .override_
        .as_ref()
        .is_some_and(|o| o.kind == crate::health::OverrideKind::Drain);
    let answer = match (t.in_answer, &t.left_answers) {
        (Some(true), _) if down && held => {
            "<span class=down>yes</span> (held by the mass-failure guard)".to_string()
        }
        (Some(true), _) if down && t.override_.is_none() => {
            "<span class=down>yes</span> (fail-open: down, served anyway)".to_string()
        }
        (Some(true), _) => "<span class=up>yes</span>".to_string(),
        (_, Some(left)) if left.complete && drained => format!(
            "<span class=down>no</span>; drain complete (last served {})",
            time(left.at)
        ),
        (_, Some(left)) if left.complete => format!(
            "<span class=down>no</span>; resolvers dropped it by {} (last served {})",
            time(left.resolvers_done),
            time(left.at)
        ),
        (_, Some(left)) => format!(
            "<span class=down>no</span>; resolvers drop it by {}",
            time(left.resolvers_done)
        ),
        _ => "<span class=down>no</span>".to_string(),
    };
    let override_ = t
        .override_
        .as_ref()
        .map(|o| {
            let mut text = o.kind.as_str().to_string();
            if let Some(reason) = &o.reason {
                text.push_str(&format!(" ({reason})"));
            }
            if let Some(until) = o.until {
                text.push_str(&format!(" until {}", time(until)));
            }
            escape(&text)
        })
        .unwrap_or_default();
    let _ = write!(
        html,
        "<tr><td><b>{}</b></td><td class={class}>{verdict}</td><td>{since}</td><td>{answer}</td>\
         <td>{override_}</td><td class=strip>{strip}</td><td>{last}</td><td>{}</td></tr>",
        escape(&t.address),
        probes_of(t),
    );
}

/// The probe column: the URL, or with several probes each one with its
/// verdict and how many must pass; and where probes connect when
/// `probe_address` sends them elsewhere than the address served.
fn probes_of(t: &TargetEntry) -> String {
    let mut out = String::new();
    if t.probes.len() > 1 {
        let _ = write!(
            out,
            "{} of {} probes pass, {} required",
            t.probes_passing.unwrap_or(0),
            t.probes.len(),
            t.require.unwrap_or(t.probes.len())
        );
        for p in &t.probes {
            let (verdict, class, reason) = match &p.status {
                Some(st) => (
                    st.verdict.as_str(),
                    if st.verdict == Verdict::Down {
                        "down"
                    } else {
                        "up"
                    },
                    st.last
                        .as_ref()
                        .map(|l| escape(&l.reason))
                        .unwrap_or_default(),
                ),
                None => ("starting", "unknown", String::new()),
            };
            let _ = write!(
                out,
                "<br><code>{}</code> <span class={class}>{verdict}</span> {reason}",
                escape(&p.target)
            );
        }
    } else {
        let _ = write!(out, "<code>{}</code>", escape(&t.target));
    }
    if let Some(probed) = t.probed_address.as_ref().filter(|p| **p != t.address) {
        let _ = write!(out, "<br>probed at {}", escape(probed));
    }
    out
}

/// The recent results as marks, oldest first, each with its time and
/// reason on hover.
fn strip_of(recent: &[ProbeResult]) -> String {
    let mut out = String::new();
    for r in recent {
        let _ = write!(
            out,
            "<i class={} title=\"{} {} ({:.1} ms)\"></i>",
            if r.ok { "ok" } else { "fail" },
            time(r.at),
            escape(&r.reason),
            r.latency_ms
        );
    }
    out
}

fn last_of(last: Option<&ProbeResult>) -> String {
    match last {
        Some(l) => {
            let mut text = format!(
                "<span class={}>{}</span> ({:.1} ms)",
                if l.ok { "up" } else { "down" },
                escape(&l.reason),
                l.latency_ms
            );
            if let Some(at) = l.cert_expires {
                let date = humantime::format_rfc3339_seconds(at).to_string();
                let _ = write!(text, "<br>certificate expires {}", &date[..10]);
            }
            text
        }
        None => String::new(),
    }
}

fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `t` before `now` in words ("3m 12s"), to the second.
fn ago(t: SystemTime, now: SystemTime) -> String {
    let d = now.duration_since(t).unwrap_or_default();
    humantime::format_duration(std::time::Duration::from_secs(d.as_secs())).to_string()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
