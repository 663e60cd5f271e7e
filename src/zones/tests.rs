use std::io::Write;

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create zone file");
    f.write_all(text.as_bytes()).expect("write zone file");
    path
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

const GOOD: &str = "\
$TTL 300
@ IN SOA ns1 hostmaster ( 1 3600 900 1209600
        60 ) ; multi-line
  IN NS ns1
ns1 IN A 192.0.2.1
www 60 IN A 192.0.2.2
a.b.c IN TXT \"deep\"
sub IN NS ns.sub
ns.sub IN A 192.0.2.3
";

#[test]
fn origin_from_file_name_and_structure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "example.com.zone", GOOD);
    let set = ZoneSet::load(&[file]).expect("loads");
    let zone = set.find(&name("WWW.Example.COM.")).expect("zone found");
    assert_eq!(zone.origin, name("example.com."));
    assert_eq!(zone.negative_ttl, 60, "min(SOA TTL 300, MINIMUM 60)");
    let www = zone.node(&name("www.example.com.")).expect("www");
    assert_eq!(www.get(RecordType::A).map(|s| s.ttl), Some(60));
    // Empty non-terminals exist but hold nothing.
    let ent = zone.node(&name("b.c.example.com.")).expect("ent");
    assert!(ent.rrsets.is_empty());
    assert!(zone.node(&name("nope.example.com.")).is_none());
    // The delegation is found from below, and glue stays reachable.
    let (cut, _) = zone.find_cut(&name("x.y.sub.example.com.")).expect("cut");
    assert_eq!(*cut, name("sub.example.com."));
    assert!(zone.find_cut(&name("www.example.com.")).is_none());
    assert!(set.find(&name("example.org.")).is_none());
}

#[test]
fn origin_directive_wins_and_include_is_relative() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "extra.inc", "extra IN A 192.0.2.9\n");
    let text = "$ORIGIN example.net.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n$INCLUDE extra.inc\n";
    let file = write(dir.path(), "whatever.zone", text);
    let set = ZoneSet::load(&[file]).expect("loads");
    let zone = set.find(&name("extra.example.net.")).expect("zone");
    assert_eq!(zone.origin, name("example.net."));
    assert!(zone.node(&name("extra.example.net.")).is_some());
}

fn load_ok(text: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "example.com.zone", text);
    if let Err(e) = ZoneSet::load(&[file]) {
        panic!("zone should load:\n{text}\n{e}");
    }
}

fn load_err(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "example.com.zone", text);
    match ZoneSet::load(&[file]) {
        Ok(_) => panic!("zone should be rejected:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_file_and_line() {
    let e =
        load_err("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nbad A not-an-address\n");
    assert!(e.contains("example.com.zone:5:"), "{e}");

    let e = load_err("$TTL 60\n@ NS ns\nns A 192.0.2.1\n");
    assert!(e.contains("no SOA"), "{e}");

    let e = load_err("$TTL 60\n@ SOA ns h 1 2 3 4 5\nns A 192.0.2.1\n");
    assert!(e.contains("no NS"), "{e}");

    let e = load_err(
        "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww.example.org. A 192.0.2.1\n",
    );
    assert!(e.contains(":5:") && e.contains("outside"), "{e}");

    let e = load_err(
        "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nx CNAME ns\nx A 192.0.2.1\n",
    );
    assert!(e.contains("CNAME and other data"), "{e}");

    let e =
        load_err("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nx CNAME ns\nx CNAME @\n");
    assert!(e.contains(":6:") && e.contains("two CNAME records"), "{e}");
    // The same CNAME twice is one record (RFC 2181 §5), not two.
    load_ok("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nx CNAME ns\nx CNAME ns\n");

    let e = load_err("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns 4294967295 A 192.0.2.1\n");
    assert!(e.contains(":4:") && e.contains("TTL"), "{e}");
}

#[test]
fn duplicate_zone_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(dir.path(), "example.com.zone", GOOD);
    let b = write(
        dir.path(),
        "copy.zone",
        &format!("$ORIGIN example.com.\n{GOOD}"),
    );
    let e = ZoneSet::load(&[a, b]).expect_err("duplicate").to_string();
    assert!(e.contains("already loaded"), "{e}");
}

#[test]
fn data_the_wire_cannot_carry_is_rejected_with_its_line() {
    let long = "x".repeat(300);
    let e = load_err(&format!(
        "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nt TXT \"{long}\"\n"
    ));
    assert!(e.contains(":5:") && e.contains("at most 255"), "{e}");
}

#[test]
fn ds_records_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nc NS ns.c\nns.c A 192.0.2.2\n\
                c DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE34F1B1F3B7B1E3B6A5D6B8A1\n";
    let file = write(dir.path(), "p.test.zone", text);
    let set = ZoneSet::load(&[file]).expect("DS parses");
    let zone = set.find(&name("c.p.test.")).expect("zone");
    let c = zone.node(&name("c.p.test.")).expect("cut");
    assert!(c.is_cut && c.get(RecordType::DS).is_some());
}

#[test]
fn errors_inside_an_include_name_the_included_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    write(
        dir.path(),
        "sub/inc.txt",
        "ok A 192.0.2.5\nbad A 300.1.1.1\n",
    );
    let text = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n$INCLUDE sub/inc.txt\nns A 192.0.2.1\n";
    let file = write(dir.path(), "example.com.zone", text);
    let e = ZoneSet::load(&[file]).expect_err("bad include").to_string();
    assert!(e.contains("inc.txt:2:"), "{e}");
    assert!(
        e.contains("included from") && e.contains("example.com.zone:4"),
        "{e}"
    );
}

/// Inputs the `load` fuzz target failed on with hickory's parser: data no
/// DNS reader takes back, and a type word with a multi-byte character, are
/// errors at their line, never answers or panics.
#[test]
fn fuzz_findings_are_errors_at_their_line() {
    let head = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\n";
    for (line, why) in [
        ("empty TXT", "missing a character string"),
        ("a CAA 0 x@y \"v\"", "bad CAA tag"),
        ("www xxx\u{e9} 192.0.2.1", ""),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = write(dir.path(), "example.com.zone", &format!("{head}{line}\n"));
        let e = match ZoneSet::load(&[file]) {
            Ok(_) => panic!("{line:?} should be rejected"),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains("example.com.zone:6:") && e.contains(why),
            "{line:?}: {e}"
        );
    }
}

#[test]
fn closest_encloser_and_zone_of_deep_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "example.com.zone", GOOD);
    let set = ZoneSet::load(&[file]).expect("loads");
    let zone = set.find(&name("a.b.c.example.com.")).expect("zone");
    let deep = format!("{}x.y.a.b.c.example.com.", "q.".repeat(100));
    assert_eq!(
        zone.closest_encloser(&name(&deep)),
        name("a.b.c.example.com.")
    );
    assert_eq!(
        zone.closest_encloser(&name("x.b.c.example.com.")),
        name("b.c.example.com.")
    );
    assert_eq!(
        zone.closest_encloser(&name("nope.example.com.")),
        name("example.com.")
    );
    assert_eq!(
        set.find(&name(&deep)).map(|z| z.origin.clone()),
        Some(name("example.com."))
    );
    assert!(
        set.find(&name(&format!("{}example.org.", "q.".repeat(100))))
            .is_none()
    );
}

/// A second directive on a directive's line is an error at that line, and
/// never followed.
#[test]
fn an_include_after_another_directive_is_checked_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let head = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\n";
    let file = write(
        dir.path(),
        "example.com.zone",
        &format!("{head}$TTL 60 $INCLUDE /etc/hostname\n"),
    );
    let e = ZoneSet::load(&[file]).expect_err("escaping include");
    let e = e.to_string();
    assert!(
        e.contains("example.com.zone:6:") && e.contains("$INCLUDE"),
        "{e}"
    );
}

/// Directives in lower or mixed case are read as BIND and NSD read them, and
/// an `$include` is checked like an `$INCLUDE`.
#[test]
fn directives_are_read_in_any_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "$origin example.com.\n$Ttl 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\n";
    let file = write(dir.path(), "whatever.zone", text);
    let set = ZoneSet::load(&[file]).expect("lower-case directives load");
    let zone = set.find(&name("ns1.example.com.")).expect("zone");
    assert_eq!(zone.origin, name("example.com."));
    let e = load_err(&format!("{text}$include /etc/hostname\n"));
    assert!(
        e.contains("example.com.zone:6:") && e.contains("$INCLUDE"),
        "{e}"
    );
}

const HEAD: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\n";

/// What NSD reads, hale reads with the same data (issue #13).
#[test]
fn forms_nsd_reads_give_the_same_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "{HEAD}\\065bc TXT \\# 4 03616263\ng A \\# 4 c0000201\nu TYPE65280 \\# 0\n\
         a_b 1h30m IN CNAME \\116arget\nt\\.dot CLASS1 60 TXT \"caf\u{e9}\tx\" ; tab and UTF-8\r\n\
         @ MX 10 @\n0/26 CNAME 0.0/26"
    );
    let file = write(dir.path(), "example.com.zone", &text);
    let set = ZoneSet::load(&[file]).expect("loads");
    let zone = set.find(&name("example.com.")).expect("zone");
    let get = |n: &str, t: RecordType| {
        let set = zone.node(&name(n)).and_then(|node| node.get(t)).cloned();
        set.unwrap_or_else(|| panic!("{n} {t}"))
    };
    // \065 is decimal: "Abc" (hickory read it as octal: "5bc").
    assert!(zone.node(&name("abc.example.com.")).is_some());
    let a = get("g.example.com.", RecordType::A);
    assert_eq!(
        a.iter().next().and_then(|r| r.ip()),
        Some("192.0.2.1".parse().expect("ip"))
    );
    let cname = get("a_b.example.com.", RecordType::CNAME);
    assert_eq!(cname.ttl, 5400);
    match cname.others().first() {
        Some(RData::CNAME(t)) => assert_eq!(t.0, name("target.example.com.")),
        other => panic!("{other:?}"),
    }
    let dotted = Name::from_labels([&b"t.dot"[..], b"example", b"com"]).expect("name");
    let txt = zone
        .node(&dotted)
        .and_then(|n| n.get(RecordType::TXT))
        .expect("t.dot TXT");
    match txt.others().first() {
        Some(RData::Unknown { rdata, .. }) => {
            assert_eq!(rdata.anything, b"\x07caf\xc3\xa9\tx".to_vec());
        }
        other => panic!("{other:?}"),
    }
    match get("example.com.", RecordType::MX).others().first() {
        Some(RData::MX(mx)) => assert_eq!(mx.exchange, name("example.com.")),
        other => panic!("{other:?}"),
    }
    let classless = Name::from_labels([&b"0/26"[..], b"example", b"com"]).expect("name");
    assert!(zone.node(&classless).is_some());
}

/// Semantic errors name the record at fault, found where it is read.
#[test]
fn zone_wide_errors_name_the_record_at_fault() {
    let e = load_err(&format!("{HEAD}x A 192.0.2.9\ny TXT \"y\"\nx CNAME y\n"));
    assert!(
        e.contains("example.com.zone:8:") && e.contains("CNAME and other data"),
        "{e}"
    );
    let e = load_err(&format!(
        "{HEAD}d DNAME example.net.\nz A 192.0.2.3\nx.d A 192.0.2.9\n"
    ));
    assert!(
        e.contains("example.com.zone:6:") && e.contains("has data below it"),
        "{e}"
    );
    let e = load_err(&format!("{HEAD}www 60 IN A 1.2.3.4 1.2.3.5\n"));
    assert!(
        e.contains("example.com.zone:6:21:") && e.contains("1.2.3.5"),
        "{e}"
    );
    let e = load_err(&format!("{HEAD}t TXT ( \"a\"\n\n"));
    assert!(
        e.contains("example.com.zone:6:7:") && e.contains("never closed"),
        "{e}"
    );
}

/// An `$INCLUDE` cannot leave the zone folder through a symbolic link.
#[test]
fn an_include_through_a_symlink_out_of_the_folder_is_refused() {
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "secret.inc", "s A 192.0.2.9\n");
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(
        outside.path().join("secret.inc"),
        dir.path().join("link.inc"),
    )
    .expect("symlink");
    let file = write(
        dir.path(),
        "example.com.zone",
        &format!("{HEAD}$INCLUDE link.inc\n"),
    );
    let e = ZoneSet::load(&[file]).expect_err("refused").to_string();
    assert!(
        e.contains("example.com.zone:6:") && e.contains("inside the zone folder"),
        "{e}"
    );
}

/// A reload shares with the zone served the nodes its file did not change,
/// and only those: a name given a record further on is its own again.
#[test]
fn a_reload_shares_what_did_not_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!("{HEAD}a A 192.0.2.10\nb A 192.0.2.11\nc A 192.0.2.12\n");
    let file = write(dir.path(), "example.com.zone", &text);
    let first = ZoneSet::load(std::slice::from_ref(&file)).expect("loads");
    let changed = text.replace("b A 192.0.2.11", "b A 192.0.2.99") + "c TXT \"late\"\n";
    std::fs::write(&file, changed).expect("rewrite");
    let second = ZoneSet::load_reusing(std::slice::from_ref(&file), Some(&first)).expect("reloads");
    let entry = |set: &ZoneSet, n: &str| {
        let zone = set.find(&name("example.com.")).expect("zone");
        let list = zone.node_list();
        list.iter().find(|e| e.0 == name(n)).cloned().expect("node")
    };
    let shared = |n: &str| Arc::ptr_eq(&entry(&first, n), &entry(&second, n));
    assert!(shared("a.example.com.") && shared("ns1.example.com."));
    assert!(!shared("b.example.com."), "changed");
    assert!(!shared("c.example.com."), "given a TXT further on");
    let c = entry(&second, "c.example.com.");
    assert!(c.1.get(RecordType::TXT).is_some() && c.1.get(RecordType::A).is_some());
}

/// A reload takes the zone of a file with the same bytes as it is, and
/// reads again a changed file and one that includes another.
#[test]
fn a_reload_takes_unchanged_files_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "more.inc", "m A 192.0.2.30\n");
    let plain = write(
        dir.path(),
        "example.com.zone",
        &format!("{HEAD}a A 192.0.2.10\n"),
    );
    let text = HEAD.replace("example.com.", "example.net.") + "$INCLUDE more.inc\n";
    let with_include = write(dir.path(), "example.net.zone", &text);
    let files = [plain.clone(), with_include];
    let first = ZoneSet::load(&files).expect("loads");
    let second = ZoneSet::load_reusing(&files, Some(&first)).expect("reloads");
    let zone = |set: &ZoneSet, n: &str| set.find(&name(n)).cloned().expect("zone");
    let same = |n: &str, a: &ZoneSet, b: &ZoneSet| Arc::ptr_eq(&zone(a, n), &zone(b, n));
    assert!(same("example.com.", &first, &second), "unchanged bytes");
    assert!(
        !same("example.net.", &first, &second),
        "an $INCLUDE is read again"
    );
    assert_eq!(second.reused(), 1);
    std::fs::write(&plain, format!("{HEAD}a A 192.0.2.11\n")).expect("rewrite");
    let third = ZoneSet::load_reusing(&files, Some(&second)).expect("reloads");
    assert!(!same("example.com.", &second, &third), "changed bytes");
}
