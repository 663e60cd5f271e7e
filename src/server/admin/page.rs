//! Owns the HTML status page at `GET /`: the `/status` document for
//! people, server-rendered, no external assets.

use std::sync::Arc;

use axum::extract;
use axum::response::Html;

use super::status;
use crate::health::Verdict;
use crate::server::State;

pub(super) async fn index(extract::State(state): extract::State<Arc<State>>) -> Html<String> {
    let s = status(&state);
    let mut html = String::from(
        "<!doctype html><meta charset=utf-8><title>hale</title>\
         <style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}\
         .up{color:#070}.down{color:#b00}</style><h1>hale</h1>",
    );
    html.push_str(&format!("<p>version {}</p>", s.version));
    if s.mass_failure.guard.engaged {
        html.push_str(&format!(
            "<p class=down><b>Mass failure: answers are held</b> since {}: {}</p>",
            escape(s.mass_failure.guard.since.as_deref().unwrap_or_default()),
            escape(s.mass_failure.guard.reason.as_deref().unwrap_or_default()),
        ));
    }
    html.push_str("<h2>Checked names</h2>");
    html.push_str(
        "<table><tr><th>name</th><th>address</th><th>verdict</th><th>since</th>\
         <th>in answer</th><th>override</th><th>last result</th></tr>",
    );
    for name in &s.checks {
        for t in &name.targets {
            let (state, since, last) = match &t.status {
                Some(st) => (
                    match (st.verdict, st.flap_held, st.stale) {
                        (_, true, _) => "down (flapping)",
                        (_, _, true) => "stale",
                        (Verdict::Up, ..) => "up",
                        (Verdict::Down, ..) => "down",
                        (Verdict::Unknown, ..) => "not probed yet",
                    },
                    humantime::format_rfc3339_seconds(st.since).to_string(),
                    st.last
                        .as_ref()
                        .map(|l| escape(&format!("{} ({:.1} ms)", l.reason, l.latency_ms)))
                        .unwrap_or_default(),
                ),
                None => ("starting", String::new(), String::new()),
            };
            let answer = match (t.in_answer, &t.left_answers) {
                (Some(true), _) => "yes".to_string(),
                (_, Some(left)) if left.complete => format!(
                    "no; drain complete (last served {})",
                    humantime::format_rfc3339_seconds(left.at)
                ),
                (_, Some(left)) => format!(
                    "no; resolvers drop it by {}",
                    humantime::format_rfc3339_seconds(left.resolvers_done)
                ),
                _ => "no".to_string(),
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
                        text.push_str(&format!(
                            " until {}",
                            humantime::format_rfc3339_seconds(until)
                        ));
                    }
                    escape(&text)
                })
                .unwrap_or_default();
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class={}>{state}</td><td>{since}</td>\
                 <td>{}</td><td>{override_}</td><td>{last}</td></tr>",
                escape(&name.name),
                escape(&t.address),
                if state == "up" { "up" } else { "down" },
                escape(&answer),
            ));
        }
    }
    html.push_str("</table><h2>Zones</h2><ul>");
    for z in &s.zones {
        html.push_str(&format!(
            "<li>{} ({})</li>",
            escape(&z.origin),
            escape(&z.file)
        ));
    }
    html.push_str("</ul><p><a href=/status>/status</a> (JSON)</p>");
    Html(html)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
