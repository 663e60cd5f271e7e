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
        "https://[::1]:8443/ok?x=1 (host ::1)"
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
    let nets: Vec<String> = c.transfer_allow.iter().map(|n| n.to_string()).collect();
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
