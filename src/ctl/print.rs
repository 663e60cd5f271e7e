//! Owns how `ctl` shows hale's replies to people: one line per fact, the
//! address first, in words rather than JSON.

use std::io::Write;

use serde_json::Value;

/// Writes one line; a closed pipe (`ctl status | head`) is not an error.
pub(super) fn line(out: &mut dyn Write, text: &str) {
    let _ = writeln!(out, "{text}");
}

/// `ctl status`: each checked name, then each address and where it stands.
pub(super) fn status(status: &Value, out: &mut dyn Write) {
    if status["mass_failure"]["engaged"].as_bool() == Some(true) {
        line(
            out,
            &format!(
                "MASS FAILURE: answers held since {}: {}",
                text(&status["mass_failure"]["since"]),
                text(&status["mass_failure"]["reason"])
            ),
        );
    }
    for name in status["checks"].as_array().into_iter().flatten() {
        let targets = name["targets"].as_array().cloned().unwrap_or_default();
        let serving = targets
            .iter()
            .filter(|t| t["in_answer"].as_bool() == Some(true))
            .count();
        let mut head = format!(
            "{}  {}/{} in the answer",
            text(&name["name"]),
            serving,
            targets.len()
        );
        // What a whole answer does when none of its addresses is healthy.
        for t in name["types"].as_array().into_iter().flatten() {
            let rtype = text(&t["type"]);
            if t["fail_open"].as_bool() == Some(true) {
                head.push_str(&format!(
                    "  FAIL-OPEN ({rtype}: none healthy, every address served)"
                ));
            } else if t["serving"].as_u64() == Some(0) {
                let answer = match name["when_all_down"].as_str() {
                    Some("servfail") => "SERVFAIL",
                    _ => "NODATA",
                };
                head.push_str(&format!("  NOTHING SERVED ({rtype}: {answer})"));
            }
        }
        line(out, &head);
        for t in &targets {
            line(out, &format!("  {}", target(t)));
            // With several probes, each one's verdict and last result.
            let probes = t["probes"].as_array().cloned().unwrap_or_default();
            if probes.len() > 1 {
                for p in &probes {
                    let last = p["last"]["reason"].as_str().unwrap_or("not probed yet");
                    line(
                        out,
                        &format!(
                            "  {:<15} {:<7} {}: {last}",
                            "",
                            text(&p["verdict"]),
                            text(&p["target"])
                        ),
                    );
                }
            }
        }
    }
}

/// One address of a name: verdict, answer, override, departure.
fn target(t: &Value) -> String {
    let mut parts = vec![
        format!("{:<15}", text(&t["address"])),
        format!("{:<7}", text(&t["verdict"])),
        match t["in_answer"].as_bool() {
            Some(true) => "in answer ".to_string(),
            _ => "out       ".to_string(),
        },
    ];
    if let Some(o) = t.get("override").filter(|o| o.is_object()) {
        parts.push(override_text(o));
    }
    if let Some(left) = t.get("left_answers").filter(|l| l.is_object()) {
        let done = text(&left["resolvers_done"]);
        let drained = t["override"]["kind"].as_str() == Some("drain");
        parts.push(match left["complete"].as_bool() {
            Some(true) if drained => format!(
                "drain complete: last served {}, resolvers dropped it by {done}",
                text(&left["at"])
            ),
            Some(true) => format!(
                "last served {}, resolvers dropped it by {done}",
                text(&left["at"])
            ),
            _ => format!(
                "last served {}, resolvers drop it by {done}",
                text(&left["at"])
            ),
        });
    }
    if let Some(last) = t.get("last").filter(|l| l.is_object()) {
        parts.push(format!("last probe: {}", text(&last["reason"])));
    }
    parts.join("  ")
}

/// An override in words: kind, scope, reason and expiry.
fn override_text(o: &Value) -> String {
    format!("{}{}", override_head(o), expiry(o))
}

/// An override's kind, the name it is for (if one), and its reason.
fn override_head(o: &Value) -> String {
    let mut s = text(&o["kind"]).to_uppercase();
    if let Some(name) = o["name"].as_str() {
        s.push_str(&format!(" for {name}"));
    }
    s.push_str(&reason(o));
    s
}

/// " (reason)", or nothing.
fn reason(o: &Value) -> String {
    o["reason"]
        .as_str()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default()
}

/// " until TIME", or " until cleared".
fn expiry(o: &Value) -> String {
    match o["until"].as_str() {
        Some(_) => format!(" until {}", text(&o["until"])),
        None => " until cleared".to_string(),
    }
}

/// `ctl explain`: per set, the answer, its rule and TTL, then each address.
pub(super) fn explain(reply: &Value, out: &mut dyn Write) {
    let name = text(&reply["name"]);
    for set in reply["sets"].as_array().into_iter().flatten() {
        let answer = addresses(&set["answer"]);
        let change = match set["can_change_at"].as_str() {
            Some(at) => format!("; it can change at {at} at the earliest"),
            None => "; it changes only by an operator (or flap damping's decay)".to_string(),
        };
        line(
            out,
            &format!(
                "{name} {}: answer {answer} ({}), TTL {}{change}",
                text(&set["type"]),
                rule(&set["rule"]),
                text(&set["ttl"])
            ),
        );
        if set["guard_engaged"].as_bool() == Some(true) {
            line(
                out,
                "  the mass-failure guard holds answers: verdicts from before the wave count",
            );
        }
        for a in set["addresses"].as_array().into_iter().flatten() {
            let place = match a["in_answer"].as_bool() {
                Some(true) => "in ",
                _ => "out",
            };
            line(
                out,
                &format!("  {:<15} {place}  {}", text(&a["address"]), text(&a["why"])),
            );
            if a["probed_address"] != a["address"] && a["probed_address"].is_string() {
                line(
                    out,
                    &format!("  {:<15}      probed at {}", "", text(&a["probed_address"])),
                );
            }
            let probes = a["probes"].as_array().cloned().unwrap_or_default();
            if probes.len() > 1 {
                for p in &probes {
                    line(
                        out,
                        &format!(
                            "  {:<15}      {}: {}",
                            "",
                            text(&p["target"]),
                            text(&p["why"])
                        ),
                    );
                }
            }
            let recent: String = a["recent"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    if r["ok"].as_bool() == Some(true) {
                        '+'
                    } else {
                        '-'
                    }
                })
                .collect();
            if !recent.is_empty() {
                line(
                    out,
                    &format!("  {:<15}      recent results, oldest first: {recent}", ""),
                );
            }
        }
        if let Some(what_if) = set.get("if_down").filter(|w| w.is_object()) {
            let already = match what_if["already_out"].as_bool() {
                Some(true) => " (it is out already)",
                _ => "",
            };
            line(
                out,
                &format!(
                    "  if {} went down{already}: answer {} ({})",
                    text(&what_if["address"]),
                    addresses(&what_if["answer"]),
                    rule(&what_if["rule"])
                ),
            );
        }
    }
}

/// A list of addresses, or what an empty answer is.
fn addresses(list: &Value) -> String {
    let list: Vec<String> = list.as_array().into_iter().flatten().map(text).collect();
    match list.is_empty() {
        true => "empty".to_string(),
        false => list.join(", "),
    }
}

/// The rule that chose an answer, in words.
fn rule(rule: &Value) -> &'static str {
    match rule.as_str() {
        Some("healthy") => "the healthy addresses",
        Some("unprobed") => "none healthy: the unprobed ones a reload added",
        Some("fail-open") => {
            "none healthy: when_all_down = \"all\" answers every address not drained"
        }
        Some("no-data") => "none healthy: NODATA",
        Some("serv-fail") => "none healthy: SERVFAIL",
        _ => "?",
    }
}

/// After `drain` or `force-up`.
pub(super) fn override_set(reply: &Value, out: &mut dyn Write) {
    let o = &reply["override"];
    let scope = match o["name"].as_str() {
        Some(name) => name.to_string(),
        None => "every name that has it".to_string(),
    };
    line(
        out,
        &format!(
            "{}: {} for {scope}{}{}",
            text(&o["address"]),
            text(&o["kind"]).to_uppercase(),
            reason(o),
            expiry(o)
        ),
    );
    if let Some(old) = reply.get("replaced").filter(|r| r.is_object()) {
        line(out, &format!("  (replaces {})", override_text(old)));
    }
    if reply["persistent"].as_bool() == Some(false) {
        line(
            out,
            "note: hale has no [state] file: this override ends when hale stops",
        );
    }
}

/// After `clear`.
pub(super) fn cleared(reply: &Value, out: &mut dyn Write) {
    for o in reply["cleared"].as_array().into_iter().flatten() {
        line(
            out,
            // Its expiry no longer matters.
            &format!("{}: cleared {}", text(&o["address"]), override_head(o)),
        );
    }
}

/// A JSON value as plain text ("" for null); times to the second.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => seconds(s),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An RFC 3339 time without its fraction of a second (other text as it is).
fn seconds(s: &str) -> String {
    let looks_like_time = s.len() > 20 && s.ends_with('Z') && s.as_bytes().get(10) == Some(&b'T');
    match (looks_like_time, s.find('.')) {
        (true, Some(dot)) => format!("{}Z", &s[..dot]),
        _ => s.to_string(),
    }
}
