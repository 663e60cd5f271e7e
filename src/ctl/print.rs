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
        line(
            out,
            &format!(
                "{}  {}/{} in the answer",
                text(&name["name"]),
                serving,
                targets.len()
            ),
        );
        for t in &targets {
            line(out, &format!("  {}", target(t)));
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
        parts.push(match left["complete"].as_bool() {
            Some(true) => format!(
                "drain complete: last served {}, resolvers dropped it by {done}",
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
    let mut s = text(&o["kind"]).to_uppercase();
    if let Some(name) = o["name"].as_str() {
        s.push_str(&format!(" for {name}"));
    }
    if let Some(reason) = o["reason"].as_str() {
        s.push_str(&format!(" ({reason})"));
    }
    match o["until"].as_str() {
        Some(until) => s.push_str(&format!(" until {until}")),
        None => s.push_str(" until cleared"),
    }
    s
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
        &format!("{}: {} for {scope}", text(&o["address"]), override_text(o)),
    );
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
            &format!("{}: cleared {}", text(&o["address"]), override_text(o)),
        );
    }
}

/// A JSON value as plain text ("" for null).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
