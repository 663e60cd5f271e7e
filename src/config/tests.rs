use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.zone"), "").expect("zone file");
    let path = dir.path().join("hale.toml");
    Config::parse(&path, text)
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("config should be rejected:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const SERVER: &str = "[server]\nlisten = [\"127.0.0.1:5353\"]\nzones = \".\"\n";

#[test]
fn defaults_apply_and_checks_override() {
    let text = format!(
        "{SERVER}[defaults]\ninterval = \"10s\"\nrise = 4\nwhen_all_down = \"none\"\n\n\
         [[check]]\nnames = [\"WWW.example.com\"]\nport = 8080\nrise = 1\n\n\
         [[check]]\nnames = [\"api.example.com.\"]\nscheme = \"https\"\n"
    );
    let c = parse(&text).expect("valid");
    assert_eq!(c.admin, None, "admin is off unless [admin] is present");
    let www = &c.checks[0];
    assert_eq!(www.names[0].0.to_ascii(), "www.example.com.");
    assert_eq!(www.names[0].1, 10, "line of the name");
    assert_eq!(www.schedule.interval, Duration::from_secs(10));
    assert_eq!(www.schedule.timeout, Duration::from_secs(2));
    assert_eq!((www.schedule.rise, www.schedule.fall), (1, 3));
    assert_eq!(www.when_all_down, WhenAllDown::None);
    assert_eq!((www.probe.port, www.probe.path.as_str()), (8080, "/"));
    assert_eq!(www.ttl, 30);
    let api = &c.checks[1];
    assert_eq!((api.probe.scheme, api.probe.port), (Scheme::Https, 443));
    assert!(api.probe.tls_verify);
}

#[test]
fn admin_section_defaults_to_loopback() {
    let c = parse(&format!("{SERVER}[admin]\n")).expect("valid");
    assert_eq!(c.admin, Some(SocketAddr::from(([127, 0, 0, 1], 8053))));
}

#[test]
fn errors_name_file_and_line() {
    let e = err(&format!("{SERVER}[defaults]\nintervall = \"5s\"\n"));
    assert!(e.contains("hale.toml:5:") && e.contains("intervall"), "{e}");

    let e = err(&format!("{SERVER}[defaults]\ninterval = \"5 parsecs\"\n"));
    assert!(e.contains("hale.toml:5:"), "{e}");

    let e = err(&format!(
        "{SERVER}\n[[check]]\nnames = [\"a.example.\"]\nrise = 0\n"
    ));
    assert!(e.contains(":7:") && e.contains("rise"), "{e}");

    let e = err(&format!(
        "{SERVER}\n[[check]]\nnames = [\"a.example.\"]\nttl = 2147483648\n"
    ));
    assert!(e.contains(":7:") && e.contains("ttl"), "{e}");

    let e = err(&format!(
        "{SERVER}\n[[check]]\nnames = [\"a.example.\"]\n\n[[check]]\nnames = [\"A.example.\"]\n"
    ));
    assert!(e.contains(":9:") && e.contains("already checked"), "{e}");

    let e = err(&format!(
        "{SERVER}\n[[check]]\nnames = [\"a.example.\"]\npath = \"healthz\"\n"
    ));
    assert!(e.contains(":7:") && e.contains("path"), "{e}");

    // A value's own line, also when a check would inherit it from [defaults].
    let e = err(&format!(
        "{SERVER}[defaults]\ninterval = \"0s\"\n\n[[check]]\nnames = [\"a.example.\"]\n"
    ));
    assert!(e.contains(":5:") && e.contains("interval"), "{e}");
    let e = err(&format!(
        "{SERVER}\n[[check]]\nnames = [\"a.example.\"]\n\ntimeout = \"0s\"\n"
    ));
    assert!(e.contains(":8:") && e.contains("timeout"), "{e}");
    let e = err(&format!(
        "{SERVER}\n[[check]]\nnames = [\"a.example.\"]\nport = 0\n"
    ));
    assert!(e.contains(":7:") && e.contains("port"), "{e}");

    let e = err("[server]\nzones = \"no-such-folder\"\n");
    assert!(
        e.contains("hale.toml:2:") && e.contains("no-such-folder"),
        "{e}"
    );
}

#[test]
fn host_must_be_a_bare_name_or_address() {
    for good in [
        "www.example.com",
        "www.example.com.",
        "192.0.2.1",
        "::1",
        "[::1]",
    ] {
        let text = format!("{SERVER}\n[[check]]\nnames = [\"a.example.\"]\nhost = \"{good}\"\n");
        assert!(parse(&text).is_ok(), "{good} should be accepted");
    }
    for bad in [
        "www.example.com:8080",
        "www.example.com/x",
        "user@www.example.com",
        "",
        "a b",
    ] {
        let text = format!("{SERVER}\n[[check]]\nnames = [\"a.example.\"]\nhost = \"{bad}\"\n");
        let e = err(&text);
        assert!(e.contains(":7:") && e.contains("bad host"), "{bad}: {e}");
    }
}

#[test]
fn zones_may_name_one_file() {
    let c = parse("[server]\nzones = \"a.zone\"\n").expect("one file");
    assert_eq!(c.zone_files.len(), 1);
    let e = err("[server]\nzones = 5\n");
    assert!(
        e.contains("a zone folder, a zone file, or a list of zone files"),
        "{e}"
    );
}

#[test]
fn tcp_limits_and_rrl() {
    let c = parse(SERVER).expect("valid");
    assert_eq!(c.tcp, TcpLimits::default());
    assert_eq!(c.tcp.max_connections, 256);
    assert_eq!(c.rrl, None, "RRL is off by default");
    let text = format!(
        "{SERVER}tcp_max_connections = 10\ntcp_idle_timeout = \"3s\"\n\
         [rrl]\nresponses_per_second = 20\n"
    );
    let c = parse(&text).expect("valid");
    assert_eq!(c.tcp.max_connections, 10);
    assert_eq!(c.tcp.idle_timeout, Duration::from_secs(3));
    assert_eq!(
        c.rrl,
        Some(Rrl {
            responses_per_second: 20,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56
        })
    );
    let off = parse(&format!("{SERVER}[rrl]\nresponses_per_second = 0\n")).expect("valid");
    assert_eq!(off.rrl, None);
    assert!(err(&format!("{SERVER}tcp_max_connections = 0\n")).contains(":4: tcp_max_connections"));
    assert!(
        err(&format!(
            "{SERVER}[rrl]\nresponses_per_second = 5\nipv4_prefix = 33\n"
        ))
        .contains("ipv4_prefix")
    );
    assert!(err(&format!("{SERVER}[rrl]\nslip = 2\n")).contains("responses_per_second"));
}

#[test]
fn mass_failure_guard() {
    let c = parse(SERVER).expect("valid");
    let m = &c.mass_failure;
    assert!(m.enabled && m.share == 1.0 && m.min_names == 2 && m.canary.is_none());
    let text = format!(
        "{SERVER}[defaults]\ninterval = \"1s\"\n[mass_failure]\nshare = 0.5\n\
         canary = \"https://[::1]:8443/ok?x=1\"\n"
    );
    let c = parse(&text).expect("valid");
    let canary = c.mass_failure.canary.expect("canary");
    assert_eq!(
        crate::health::TargetSpec::canary(&canary).key.to_string(),
        "https://[::1]:8443/ok?x=1 (host ::1, no verify)"
    );
    assert_eq!(canary.schedule.interval, Duration::from_secs(1));
    assert_eq!(c.mass_failure.share, 0.5);
    assert!(err(&format!("{SERVER}[mass_failure]\nshare = 0\n")).contains("share"));
    assert!(
        err(&format!(
            "{SERVER}[mass_failure]\ncanary = \"http://canary.example/\"\n"
        ))
        .contains(":4: [mass_failure] canary: \"http://canary.example/\" must name an IP address")
    );
}

#[test]
fn transfer_acl() {
    assert!(parse(SERVER).expect("valid").transfer_allow.is_empty());
    let c = parse(&format!(
        "{SERVER}[transfer]\nallow = [\"192.0.2.1\", \"10.1.2.3/8\", \"2001:db8::/32\"]\n"
    ))
    .expect("valid");
    let nets: Vec<String> = c.transfer_allow.iter().map(|n| n.net.to_string()).collect();
    assert_eq!(nets, ["192.0.2.1/32", "10.0.0.0/8", "2001:db8::/32"]);
    assert!(
        err(&format!("{SERVER}[transfer]\nallow = [\"nope\"]\n"))
            .contains(":5: [transfer] allow: \"nope\" is not an address or prefix")
    );
}

#[test]
fn defaults_are_checked_even_when_every_check_overrides_them() {
    // The canary takes the [defaults] schedule whatever the checks say.
    for (key, value) in [
        ("timeout", "\"0s\""),
        ("interval", "\"0s\""),
        ("rise", "0"),
        ("fall", "0"),
        ("port", "0"),
        ("path", "\"x\""),
        ("host", "\"a:1\""),
        ("expect_status", "[]"),
        ("ttl", "2147483648"),
        ("flap_half_life", "\"0s\""),
    ] {
        let e = err(&format!(
            "{SERVER}[defaults]\n{key} = {value}\n\n[[check]]\nnames = [\"a.example.\"]\n\
             timeout = \"1s\"\ninterval = \"1s\"\nrise = 1\nfall = 1\nport = 80\npath = \"/\"\n\
             host = \"a\"\nexpect_status = [200]\nttl = 1\nflap_half_life = \"1s\"\n"
        ));
        assert!(e.contains(":5:") && e.contains(key), "{key}: {e}");
    }
    let e = err(&format!("{SERVER}[defaults]\nnames = [\"a.example.\"]\n"));
    assert!(e.contains(":5:") && e.contains("[[check]]"), "{e}");
    let e = err(&format!("{SERVER}\n[[check]]\nport = 80\n"));
    assert!(e.contains(":5:") && e.contains("names"), "{e}");
}

#[test]
fn listen_addresses_that_would_take_one_port_twice_are_errors() {
    let listen = |list: &str| format!("[server]\nzones = \".\"\nlisten = [{list}]\n");
    for bad in [
        r#""127.0.0.1:53", "127.0.0.1:53""#,
        r#""0.0.0.0:53", "127.0.0.1:53""#,
        r#""[::1]:53", "[::]:53""#,
    ] {
        let e = err(&listen(bad));
        assert!(e.contains(":3:") && e.contains("same port"), "{bad}: {e}");
    }
    for good in [
        r#""127.0.0.1:53", "127.0.0.2:53""#,
        r#""0.0.0.0:53", "[::]:53""#,
        r#""127.0.0.1:53", "127.0.0.1:54""#,
        r#""127.0.0.1:0", "127.0.0.1:0""#,
    ] {
        assert!(parse(&listen(good)).is_ok(), "{good}");
    }
    let e = err(&format!(
        "{}[admin]\nlisten = \"127.0.0.1:53\"\n",
        listen(r#""0.0.0.0:53""#)
    ));
    assert!(e.contains(":5:") && e.contains("[admin]"), "{e}");
}

/// A config in a folder of its own, with extra files beside it.
fn parse_in(
    text: &str,
    files: &[(&str, &str)],
) -> (tempfile::TempDir, Result<Config, ConfigError>) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.zone"), "").expect("zone file");
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).expect("file");
    }
    let result = Config::parse(&dir.path().join("hale.toml"), text);
    (dir, result)
}

/// A CA certificate (self-signed), as a ca_file holds.
fn ca_pem() -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("key");
    params.self_signed(&key).expect("cert").pem()
}

#[test]
fn ca_file_is_read_at_load_and_shared_by_the_checks_naming_it() {
    let text = format!(
        "{SERVER}[defaults]\nscheme = \"https\"\nca_file = \"ca.pem\"\ncert_min_days = 14\n\n\
         [[check]]\nnames = [\"a.example.\"]\n\n\
         [[check]]\nnames = [\"b.example.\"]\ncert_min_days = 7\n\n\
         [[check]]\nnames = [\"c.example.\"]\nscheme = \"http\"\n"
    );
    let pem = format!("{}{}", ca_pem(), ca_pem());
    let (dir, c) = parse_in(&text, &[("ca.pem", &pem)]);
    let c = c.expect("valid");
    let (a, b) = (&c.checks[0].probe, &c.checks[1].probe);
    let (ca_a, ca_b) = (a.ca_file.as_ref().unwrap(), b.ca_file.as_ref().unwrap());
    assert_eq!(
        ca_a.path,
        dir.path().join("ca.pem"),
        "relative to the config"
    );
    assert_eq!(ca_a.roots.len(), 2, "every certificate in the file");
    assert!(
        std::sync::Arc::ptr_eq(&ca_a.roots, &ca_b.roots),
        "read once"
    );
    assert_eq!((a.cert_min_days, b.cert_min_days), (Some(14), Some(7)));
    // From [defaults], the keys reach an http check's target as nothing.
    let http =
        crate::health::TargetKey::new([192, 0, 2, 1].into(), &c.checks[2].probe, "c.example.");
    assert_eq!((http.ca_file, http.cert_min_days), (None, None));
}

#[test]
fn a_ca_file_that_cannot_be_used_is_an_error_at_its_line() {
    let check = |ca: &str| {
        format!(
            "{SERVER}\n[[check]]\nnames = [\"a.example.\"]\nscheme = \"https\"\nca_file = \"{ca}\"\n"
        )
    };
    let (_dir, e) = parse_in(&check("missing.pem"), &[]);
    let e = e.expect_err("missing").to_string();
    assert!(
        e.contains("hale.toml:8: ca_file: cannot read ") && e.contains("missing.pem"),
        "{e}"
    );

    // Unreadable: a folder.
    let (_dir, e) = parse_in(&check("."), &[]);
    let e = e.expect_err("a folder").to_string();
    assert!(e.contains("hale.toml:8: ca_file: cannot read "), "{e}");

    let (_dir, e) = parse_in(&check("ca.pem"), &[("ca.pem", "not a certificate\n")]);
    let e = e.expect_err("no certificate").to_string();
    assert!(
        e.contains("hale.toml:8: ca_file: ") && e.contains("ca.pem holds no certificate"),
        "{e}"
    );

    let key_only = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
    let (_dir, e) = parse_in(&check("ca.pem"), &[("ca.pem", key_only)]);
    let e = e.expect_err("a key, no certificate").to_string();
    assert!(
        e.contains(":8: ca_file: ") && e.contains("holds no certificate"),
        "{e}"
    );

    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let (_dir, e) = parse_in(&check("ca.pem"), &[("ca.pem", garbage)]);
    let e = e.expect_err("not a certificate").to_string();
    assert!(
        e.contains(":8: ca_file: ") && e.contains("certificate 1 cannot be used as a CA"),
        "{e}"
    );

    // In [defaults], checked at its own line even when no check uses it.
    let text = format!(
        "{SERVER}[defaults]\nca_file = \"missing.pem\"\n\n[[check]]\nnames = [\"a.example.\"]\n"
    );
    let (_dir, e) = parse_in(&text, &[]);
    let e = e.expect_err("missing").to_string();
    assert!(e.contains("hale.toml:5: ca_file: cannot read "), "{e}");
}

#[test]
fn ca_file_and_cert_min_days_of_an_http_check_are_errors() {
    for (key, value) in [("ca_file", "\"ca.pem\""), ("cert_min_days", "14")] {
        let text = format!("{SERVER}\n[[check]]\nnames = [\"a.example.\"]\n{key} = {value}\n");
        let (_dir, e) = parse_in(&text, &[("ca.pem", &ca_pem())]);
        let e = e.expect_err("http").to_string();
        assert!(
            e.contains(&format!(
                ":7: {key} applies to https probes only: set scheme = \"https\""
            )),
            "{e}"
        );
    }
}

#[test]
fn a_wildcard_name_needs_a_host() {
    let e = err(&format!(
        "{SERVER}\n[[check]]\nnames = [\"www.example.\",\n  \"*.apps.example.com.\"]\n"
    ));
    assert!(
        e.contains(
            "hale.toml:7: check on wildcard name \"*.apps.example.com.\": probes cannot send a \
             wildcard as Host or SNI; set host = \"...\" to the name the backends answer to"
        ),
        "{e}"
    );
    let ok = format!(
        "{SERVER}\n[[check]]\nnames = [\"*.apps.example.com.\"]\nhost = \"app.apps.example.com\"\n"
    );
    assert!(parse(&ok).is_ok());
    let ok = format!(
        "{SERVER}[defaults]\nhost = \"app.apps.example.com\"\n\n[[check]]\nnames = [\"*.apps.example.com.\"]\n"
    );
    assert!(parse(&ok).is_ok());
}

#[test]
fn an_ipv6_address_and_port_without_brackets_says_how_to_write_it() {
    let e = err("[server]\nzones = \".\"\nlisten = [\"127.0.0.1:5301\", \"::1:5301\"]\n");
    assert!(
        e.contains(
            "hale.toml:3: \"::1:5301\" is not an address and port: an IPv6 address takes \
             brackets before a port, write \"[::1]:5301\""
        ),
        "{e}"
    );
    let e = err(&format!("{SERVER}[admin]\nlisten = \"::1:8053\"\n"));
    assert!(
        e.contains(":5: ") && e.contains("write \"[::1]:8053\""),
        "{e}"
    );
    let e = err(&format!("{SERVER}[admin]\nlisten = \"::1\"\n"));
    assert!(
        e.contains(":5: \"::1\" has no port: write \"[::1]:53\""),
        "{e}"
    );
    let e = err(&format!("{SERVER}[admin]\nlisten = \"localhost:8053\"\n"));
    assert!(
        e.contains(":5: \"localhost:8053\" is not an address and port, such as"),
        "{e}"
    );
    // A notify target may leave out its port: both readings are offered.
    let e = err(&format!(
        "{SERVER}[transfer]\nnotify = [\"192.0.2.53\", \"::1:5301\"]\n"
    ));
    assert!(
        e.contains(
            ":5: [transfer] notify: \"::1:5301\" is ambiguous: write \"[::1]:5301\" for that port, \
             or \"[::1:5301]\" for the address on port 53"
        ),
        "{e}"
    );
    let c = parse(&format!(
        "{SERVER}[transfer]\nnotify = [\"2001:db8::53\", \"[::1:5301]\", \"[::1]:5301\"]\n"
    ))
    .expect("valid");
    let notify: Vec<String> = c.notify.iter().map(|a| a.to.to_string()).collect();
    assert_eq!(notify, ["[2001:db8::53]:53", "[::1:5301]:53", "[::1]:5301"]);
}

#[test]
fn a_duration_without_a_unit_shows_an_example() {
    let example = "expected a duration with a unit, such as \"5s\", \"500ms\" or \"1m\"";
    for (key, value) in [
        ("interval", "\"5\""),
        ("interval", "5"),
        ("timeout", "2"),
        ("flap_half_life", "\"60\""),
    ] {
        let e = err(&format!("{SERVER}[defaults]\n{key} = {value}\n"));
        assert!(
            e.contains("hale.toml:5:") && e.contains(example),
            "{key} = {value}: {e}"
        );
    }
    let e = err(&format!("{SERVER}tcp_idle_timeout = 10\n"));
    assert!(e.contains("hale.toml:4:") && e.contains(example), "{e}");
    let e = err(&format!("{SERVER}[mass_failure]\nwindow = \"60\"\n"));
    assert!(e.contains("hale.toml:5:") && e.contains(example), "{e}");
    let e = err(&format!(
        "{SERVER}[state]\nfile = \"s.json\"\nmax_age = 600\n"
    ));
    assert!(e.contains("hale.toml:6:") && e.contains(example), "{e}");
}

#[test]
fn toml_type_slips_say_what_to_write() {
    let cases = [
        (
            "[server]\nlisten = \"127.0.0.1:5599\"\nzones = \"z\"\n",
            ":2:",
            "write listen = [\"127.0.0.1:5599\"]",
        ),
        (
            "[server]\nzones = \"z\"\n[check]\nnames = [\"a.example.\"]\n",
            ":3:",
            "write [[check]]",
        ),
        (
            "[server]\nzones = \"z\"\n[[check]]\nnames = [\"a.example.\"]\nexpect_status = 200 # ok\n",
            ":5:",
            "write expect_status = [200]",
        ),
    ];
    for (text, at, hint) in cases {
        let e = err(text);
        assert!(e.contains(at) && e.contains(hint), "{text:?}: {e}");
    }
}

/// A config with a key file beside it, in its own folder.
fn with_key_file(key_file: &str, rest: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.zone"), "").expect("zone file");
    std::fs::write(dir.path().join("xfr.key"), key_file).expect("key file");
    Config::parse(&dir.path().join("hale.toml"), &format!("{SERVER}{rest}"))
}

const SECRET: &str = "8W2xNuIYP9T5bRMBxLa0Jg9vUdNpL7k1Zr9bPbCTvXw=";

#[test]
fn keys_are_read_inline_and_from_the_files_tsig_keygen_and_keymgr_write() {
    let inline = parse(&format!(
        "{SERVER}[[key]]\nname = \"XFR.example.com\"\nalgorithm = \"hmac-sha384\"\nsecret = \"{SECRET}\"\n"
    ))
    .expect("valid");
    let key = &inline.keys[0];
    assert_eq!(key.name.to_ascii(), "xfr.example.com.");
    assert_eq!(key.algorithm, TsigAlgorithm::HmacSha384);
    assert_eq!(key.secret.bytes().len(), 32);
    assert!(
        !format!("{inline:?}").contains(SECRET),
        "Debug hides the secret"
    );
    let entry = "[[key]]\nname = \"xfr.example.com.\"\nsecret_file = \"xfr.key\"\n";
    for file in [
        format!(
            "key \"xfr.example.com\" {{\n\talgorithm hmac-sha512;\n\tsecret \"{SECRET}\";\n}};\n"
        ),
        format!(
            "# hmac-sha512:xfr.example.com:…\nkey:\n  - id: xfr.example.com\n    algorithm: hmac-sha512\n    secret: {SECRET}\n"
        ),
    ] {
        let c = with_key_file(&file, entry).expect("valid");
        assert_eq!(c.keys[0].algorithm, TsigAlgorithm::HmacSha512, "{file}");
        assert_eq!(c.keys[0].secret, inline.keys[0].secret, "{file}");
    }
    let dig_y =
        with_key_file(&format!("hmac-sha512:xfr.example.com.:{SECRET}\n"), entry).expect("valid");
    assert_eq!(dig_y.keys[0].algorithm, TsigAlgorithm::HmacSha512);
    assert_eq!(dig_y.keys[0].secret, inline.keys[0].secret);
    let alone = with_key_file(
        &format!("{SECRET}\n"),
        &format!("{entry}algorithm = \"hmac-sha256\"\n"),
    )
    .expect("valid");
    assert_eq!(alone.keys[0].algorithm, TsigAlgorithm::HmacSha256);
}

#[test]
fn key_errors_name_the_line_and_never_the_secret() {
    let bad = "c2VjcmV0!!notbase64";
    let e = err(&format!(
        "{SERVER}[[key]]\nname = \"xfr.\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{bad}\"\n"
    ));
    assert!(e.contains(":7: [[key]] xfr.: secret is not base64"), "{e}");
    assert!(!e.contains(bad), "{e}");
    let e = err(&format!(
        "{SERVER}[[key]]\nname = \"xfr.\"\nalgorithm = \"hmac-sha256\"\nsecret = 8675309\n"
    ));
    assert!(e.contains(":7: [[key]] xfr.: secret is not base64"), "{e}");
    assert!(!e.contains("8675309"), "{e}");
    let e = err(&format!(
        "{SERVER}[[key]]\nname = \"xfr.\"\nalgorithm = \"hmac-md5\"\nsecret = \"{SECRET}\"\n"
    ));
    assert!(
        e.contains(":6: [[key]] xfr.: algorithm \"hmac-md5\" is not supported"),
        "{e}"
    );
    let e = err(&format!(
        "{SERVER}[[key]]\nname = \"xfr.\"\nsecret = \"{SECRET}\"\n"
    ));
    assert!(
        e.contains("has no algorithm: write algorithm = \"hmac-sha256\""),
        "{e}"
    );
    let e = err(&format!(
        "{SERVER}[[key]]\nname = \"xfr.\"\nalgorithm = \"hmac-sha256\"\n"
    ));
    assert!(e.contains(":4: [[key]] xfr. has no secret"), "{e}");
    let file = format!("key \"other.\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};\n");
    let e = with_key_file(
        &file,
        "[[key]]\nname = \"xfr.\"\nsecret_file = \"xfr.key\"\n",
    )
    .expect_err("another key's file")
    .to_string();
    assert!(e.contains("holds the key \"other.\""), "{e}");
    let e = with_key_file(
        "not a key\n",
        "[[key]]\nname = \"xfr.\"\nsecret_file = \"xfr.key\"\n",
    )
    .expect_err("no secret")
    .to_string();
    assert!(e.contains(":6: [[key]] xfr.: secret_file"), "{e}");
    assert!(e.contains("no secret in it"), "{e}");
    assert!(!e.contains("not a key"), "{e}");
}

#[test]
fn transfer_entries_may_name_a_key() {
    let key = format!(
        "[[key]]\nname = \"xfr.example.com.\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n"
    );
    let c = parse(&format!(
        "{SERVER}{key}[transfer]\nallow = [\"192.0.2.1\", {{ from = \"198.51.100.0/24\", key = \"xfr.example.com\" }}]\n\
         notify = [{{ to = \"198.51.100.53\", key = \"xfr.example.com.\" }}, \"192.0.2.1\"]\n"
    ))
    .expect("valid");
    assert_eq!(c.transfer_allow[0].key, None);
    assert_eq!(c.transfer_allow[1].net.to_string(), "198.51.100.0/24");
    assert_eq!(
        c.transfer_allow[1]
            .key
            .as_ref()
            .map(|k| k.to_ascii())
            .as_deref(),
        Some("xfr.example.com.")
    );
    assert_eq!(c.notify[0].to.to_string(), "198.51.100.53:53");
    assert!(c.notify[0].key.is_some() && c.notify[1].key.is_none());
    let e = err(&format!(
        "{SERVER}[transfer]\nallow = [{{ from = \"192.0.2.1\", key = \"nope.\" }}]\n"
    ));
    assert!(
        e.contains(":5: [transfer] allow: key \"nope.\" is not defined: add a [[key]]"),
        "{e}"
    );
    let e = err(&format!(
        "{SERVER}{key}[transfer]\nallow = [{{ from = \"192.0.2.1\", key = \"xfr.exmaple.com.\" }}]\n"
    ));
    assert!(
        e.contains(":9: [transfer] allow: key \"xfr.exmaple.com.\" is not defined: the [[key]] names are \"xfr.example.com.\""),
        "{e}"
    );
    let e = err(&format!(
        "{SERVER}[transfer]\nnotify = [{{ address = \"192.0.2.1\" }}]\n"
    ));
    assert!(
        e.contains(":5: [transfer] notify: unknown field \"address\""),
        "{e}"
    );
}
