//! Config and zone errors (issue item 9) through `Loaded::load`, the one
//! loader start-up, `hale check` and reload share: every message names the
//! file and the line of the problem, and says what is wrong.

use hale::dns::Loaded;

use crate::support::{EXAMPLE_ZONE_HEAD, write_files};

/// A config whose line 1 is `[server]`; `rest` starts on line 4.
fn config(rest: &str) -> String {
    format!("[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"zones\"\n{rest}")
}

/// `www` has an A record, `mail` only an MX.
fn good_zone() -> String {
    format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\nmail IN MX 10 www\n")
}

/// The error `Loaded::load` gives for these files (panics if they load).
fn load_error(config: &str, zones: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_files(dir.path(), config, zones);
    match Loaded::load(&path) {
        Ok(_) => panic!("expected an error for config:\n{config}"),
        Err(e) => e.to_string(),
    }
}

/// `msg` names `file` at `line` (as `file:line:`) and mentions every word of `about`.
fn assert_error(msg: &str, file: &str, line: usize, about: &[&str]) {
    let at = format!("{file}:{line}:");
    assert!(msg.contains(&at), "{msg:?} should name {at:?}");
    for word in about {
        assert!(
            msg.to_lowercase().contains(&word.to_lowercase()),
            "{msg:?} should mention {word:?}"
        );
    }
}

#[test]
fn good_files_load() {
    let dir = tempfile::tempdir().unwrap();
    let check = "[[check]]\nnames = [\"www.example.com.\"]\nport = 8080\n";
    let path = write_files(
        dir.path(),
        &config(check),
        &[("example.com.zone", &good_zone())],
    );
    let loaded = Loaded::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.zones.len(), 1);
    assert_eq!(loaded.checks.len(), 1);
}

#[test]
fn unknown_config_key_names_file_and_line() {
    let msg = load_error(
        &config("\n[defaults]\nintervall = \"5s\"\n"),
        &[("example.com.zone", &good_zone())],
    );
    assert_error(&msg, "hale.toml", 6, &["intervall"]);
    let msg = load_error(
        &config("[[check]]\nnames = [\"www.example.com.\"]\nprot = 80\n"),
        &[("example.com.zone", &good_zone())],
    );
    assert_error(&msg, "hale.toml", 6, &["prot"]);
}

#[test]
fn bad_duration_names_file_and_line() {
    let msg = load_error(
        &config("[defaults]\nrise = 2\ninterval = \"5 parsecs\"\n"),
        &[("example.com.zone", &good_zone())],
    );
    assert_error(&msg, "hale.toml", 6, &[]);
}

#[test]
fn checked_name_without_addresses_is_an_error() {
    let msg = load_error(
        &config(
            "\n[[check]]\nport = 80\nnames = [\n  \"www.example.com.\",\n  \"mail.example.com.\",\n]\n",
        ),
        &[("example.com.zone", &good_zone())],
    );
    assert_error(&msg, "hale.toml", 9, &["mail.example.com"]);
}

#[test]
fn checked_name_in_no_zone_is_an_error() {
    let msg = load_error(
        &config("[[check]]\nnames = [\"www.example.net.\"]\n"),
        &[("example.com.zone", &good_zone())],
    );
    assert_error(&msg, "hale.toml", 5, &["www.example.net"]);
    // Inside a zone but absent.
    let msg = load_error(
        &config("[[check]]\nnames = [\"nothere.example.com.\"]\n"),
        &[("example.com.zone", &good_zone())],
    );
    assert_error(&msg, "hale.toml", 5, &["nothere.example.com"]);
}

#[test]
fn zone_without_soa_is_an_error() {
    let zone = "$ORIGIN example.com.\n$TTL 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n";
    let msg = load_error(&config(""), &[("example.com.zone", zone)]);
    assert!(msg.contains("example.com.zone:"), "{msg:?} names the file");
    assert!(msg.contains("SOA"), "{msg:?} says what is missing");
}

#[test]
fn zone_without_apex_ns_is_an_error() {
    let zone = "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 h 1 2 3 4 5\nsub IN NS ns1\nns1 IN A 192.0.2.53\n";
    let msg = load_error(&config(""), &[("example.com.zone", zone)]);
    assert!(msg.contains("example.com.zone:"), "{msg:?} names the file");
    assert!(msg.contains("NS"), "{msg:?} says what is missing");
}

#[test]
fn zone_syntax_error_names_its_line() {
    for (bad, what) in [
        ("www IN A 192.0.2.300", "bad address"),
        ("www IN BOGUSTYPE 1", "unknown type"),
        ("www IN MX mail", "missing field"),
    ] {
        // EXAMPLE_ZONE_HEAD is 10 lines; one good line, then the bad one on line 12.
        let zone = format!("{EXAMPLE_ZONE_HEAD}ok IN A 192.0.2.2\n{bad}\nafter IN A 192.0.2.3\n");
        let msg = load_error(&config(""), &[("example.com.zone", &zone)]);
        assert!(
            msg.contains("example.com.zone:12:"),
            "{what}: {msg:?} should name line 12"
        );
    }
}

#[test]
fn record_outside_the_origin_is_an_error() {
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\nwww.example.net. IN A 192.0.2.2\n");
    let msg = load_error(&config(""), &[("example.com.zone", &zone)]);
    assert_error(&msg, "example.com.zone", 12, &["www.example.net"]);
}

#[test]
fn errors_in_included_files_name_a_file_and_line() {
    let zone = format!("{EXAMPLE_ZONE_HEAD}$INCLUDE hosts.inc\n");
    let msg = load_error(
        &config(""),
        &[
            ("example.com.zone", &zone),
            ("hosts.inc", "a IN A 192.0.2.1\nb IN A nope\n"),
        ],
    );
    // The line of the bad record in the included file, and where it was included.
    assert!(msg.contains("hosts.inc:2:"), "{msg:?}");
    assert!(
        msg.contains("included from") && msg.contains("example.com.zone:11"),
        "{msg:?}"
    );
}

/// Issue #14: an admin listener others can reach needs a token; a token
/// file that cannot be used is named.
#[test]
fn a_reachable_admin_listener_needs_a_token() {
    let zones = [("example.com.zone", good_zone())];
    let zones: Vec<(&str, &str)> = zones.iter().map(|(f, z)| (*f, z.as_str())).collect();
    let msg = load_error(&config("[admin]\nlisten = \"0.0.0.0:8053\"\n"), &zones);
    assert_error(&msg, "hale.toml", 5, &["not a loopback", "token_file"]);
    let msg = load_error(
        &config("[admin]\nlisten = \"0.0.0.0:8053\"\ntoken_file = \"missing.token\"\n"),
        &zones,
    );
    assert_error(&msg, "hale.toml", 6, &["token_file", "missing.token"]);
}
