use std::time::Duration;

use crate::config::{Config, ConfigError, Require, Scheme};

fn parse(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.zone"), "").expect("zone file");
    Config::parse(&dir.path().join("hale.toml"), text)
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("config should be rejected:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// Lines 1-3; a check written after it starts at line 5.
const SERVER: &str = "[server]\nlisten = [\"127.0.0.1:5353\"]\nzones = \".\"\n";

fn check(body: &str) -> String {
    format!("{SERVER}\n[[check]]\nnames = [\"a.example.\"]\n{body}")
}

#[test]
fn a_tcp_check_has_one_probe_on_its_port() {
    let c = parse(&check("scheme = \"tcp\"\nport = 5432\n")).expect("valid");
    let probes = c.checks[0].all_probes();
    assert_eq!(probes.len(), 1);
    assert_eq!((probes[0].scheme, probes[0].port), (Scheme::Tcp, 5432));
    assert_eq!(c.checks[0].require, Require::All);
    let c = parse(&format!("{SERVER}[defaults]\nscheme = \"tcp\"\n")).expect("tcp in [defaults]");
    assert!(c.checks.is_empty());
}

#[test]
fn http_keys_in_a_tcp_check_are_errors_at_their_line() {
    for (key, value) in [
        ("path", "\"/healthz\""),
        ("host", "\"www.example.com\""),
        ("expect_status", "[200]"),
        ("expect_body", "\"ok\""),
        ("tls_verify", "false"),
        ("cert_min_days", "14"),
    ] {
        let e = err(&check(&format!("scheme = \"tcp\"\n{key} = {value}\n")));
        assert!(
            e.contains(&format!(
                "hale.toml:8: {key} makes no sense with scheme = \"tcp\" (a tcp probe only connects): remove it from this check"
            )),
            "{e}"
        );
    }
    // From [defaults] they are for the http checks: not an error.
    let c = parse(&format!(
        "{SERVER}[defaults]\npath = \"/healthz\"\nexpect_body = \"ok\"\n\n[[check]]\nnames = [\"a.example.\"]\nscheme = \"tcp\"\n"
    ))
    .expect("[defaults] keys a tcp check does not use");
    assert_eq!(c.checks[0].probe.scheme, Scheme::Tcp);
}

#[test]
fn probe_tables_layer_over_the_check() {
    let c = parse(&check(
        "port = 8080\npath = \"/healthz\"\nrequire = \"any\"\n\n\
         [[check.probe]]\n\n\
         [[check.probe]]\nscheme = \"tcp\"\nport = 5432\ntimeout = \"1s\"\n",
    ))
    .expect("valid");
    let check = &c.checks[0];
    let probes = check.all_probes();
    assert_eq!(probes.len(), 2);
    assert_eq!(
        (probes[0].scheme, probes[0].port, probes[0].path.as_str()),
        (Scheme::Http, 8080, "/healthz")
    );
    assert_eq!((probes[1].scheme, probes[1].port), (Scheme::Tcp, 5432));
    assert_eq!(probes[1].timeout, Some(Duration::from_secs(1)));
    assert_eq!(probes[0].timeout, None);
    assert_eq!(check.require, Require::Any);
    assert_eq!(check.require.needed(2), 1);
    assert_eq!(Require::All.needed(2), 2);
}

#[test]
fn a_probe_table_is_judged_at_its_own_lines() {
    // Line 8 is the table's header, 9 its first key.
    let e = err(&check(
        "\n[[check.probe]]\nscheme = \"tcp\"\npath = \"/x\"\n",
    ));
    assert!(
        e.contains("hale.toml:10: path makes no sense with scheme = \"tcp\"")
            && e.contains("remove it from this probe"),
        "{e}"
    );
    let e = err(&check("\n[[check.probe]]\ncert_min_days = 3\n"));
    assert!(
        e.contains("hale.toml:9: cert_min_days applies to https probes only: set scheme = \"https\" in this probe"),
        "{e}"
    );
    let e = err(&check("\n[[check.probe]]\nport = 0\n"));
    assert!(e.contains("hale.toml:9: port must not be 0"), "{e}");
    let e = err(&check("\n[[check.probe]]\ninterval = \"1s\"\n"));
    assert!(e.contains("hale.toml:9:") && e.contains("interval"), "{e}");
    // The check's own path is for its http probe, not an error.
    parse(&check(
        "path = \"/healthz\"\n\n[[check.probe]]\n\n[[check.probe]]\nscheme = \"tcp\"\n",
    ))
    .expect("a path the http probe uses");
    // ... but when every probe is tcp, nothing uses it.
    let e = err(&check(
        "path = \"/healthz\"\n\n[[check.probe]]\nscheme = \"tcp\"\n",
    ));
    assert!(e.contains("hale.toml:7: path makes no sense"), "{e}");
}

#[test]
fn require_is_all_any_or_a_number_of_probes() {
    let two = "\n[[check.probe]]\n\n[[check.probe]]\nscheme = \"tcp\"\n";
    let c = parse(&check(&format!("require = 2\n{two}"))).expect("valid");
    assert_eq!(c.checks[0].require, Require::AtLeast(2));
    let e = err(&check(&format!("require = 3\n{two}")));
    assert!(
        e.contains("hale.toml:7: require = 3, but this check has 2 probe(s)"),
        "{e}"
    );
    let e = err(&check(&format!("require = 0\n{two}")));
    assert!(e.contains("hale.toml:7: require = 0: at least 1"), "{e}");
    let e = err(&check(&format!("require = \"most\"\n{two}")));
    assert!(
        e.contains("hale.toml:7: require = \"most\": write \"all\", \"any\" or a number"),
        "{e}"
    );
    let e = err(&check("require = 2\n"));
    assert!(e.contains("but this check has 1 probe(s)"), "{e}");
}

#[test]
fn probe_address_maps_ip_to_ip_at_its_lines() {
    let c = parse(&check(
        "probe_address = { \"192.0.2.1\" = \"10.0.0.1\", \"2001:db8::1\" = \"10.0.0.2\" }\n",
    ))
    .expect("valid");
    let pa = &c.checks[0].probe_address;
    assert_eq!(pa.len(), 2);
    assert!(pa.iter().any(
        |p| p.record == "192.0.2.1".parse::<std::net::IpAddr>().unwrap()
            && p.probed == "10.0.0.1".parse::<std::net::IpAddr>().unwrap()
            && p.line == 7
    ));
    let e = err(&check("probe_address = { \"www\" = \"10.0.0.1\" }\n"));
    assert!(
        e.contains("hale.toml:7: probe_address: \"www\" is not an IP address (the key"),
        "{e}"
    );
    let e = err(&check(
        "\nprobe_address = { \"192.0.2.1\" = \"10.0.0.300\" }\n",
    ));
    assert!(
        e.contains("hale.toml:8: probe_address: \"10.0.0.300\" is not an IP address (the value"),
        "{e}"
    );
}

#[test]
fn check_only_keys_are_errors_in_defaults() {
    for (text, key) in [
        ("require = \"any\"\n", "require"),
        (
            "probe_address = { \"192.0.2.1\" = \"10.0.0.1\" }\n",
            "probe_address",
        ),
        ("[[defaults.probe]]\nscheme = \"tcp\"\n", "[[check.probe]]"),
    ] {
        let e = err(&format!("{SERVER}[defaults]\n{text}"));
        assert!(
            e.contains(&format!(
                "hale.toml:5: {key} belongs in a [[check]], not in [defaults]"
            )),
            "{e}"
        );
    }
}

#[test]
fn a_wildcard_name_needs_no_host_for_tcp() {
    let text = format!("{SERVER}\n[[check]]\nnames = [\"*.apps.example.\"]\nscheme = \"tcp\"\n");
    parse(&text).expect("a tcp probe sends no host");
}
