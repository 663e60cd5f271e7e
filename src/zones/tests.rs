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
    assert!(e.contains(":5:") && e.contains("cannot be sent"), "{e}");
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

/// A zone read a record at a time, in batches on several threads, means
/// exactly what it means parsed whole: `$ORIGIN` changes, multi-line records, quotes holding `;`
/// and parentheses, owners repeated far apart.
#[test]
fn records_read_in_batches_match_the_whole_file() {
    let mut text = String::from(
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h ( 1 2 3 4\n 5 )\n@ NS ns1\nns1 A 192.0.2.1\n",
    );
    for i in 0..3_000 {
        match i % 5 {
            0 => text.push_str(&format!("h{i} A 10.0.{}.{}\n", (i / 256) % 256, i % 256)),
            1 => text.push_str(&format!(
                "t{i} TXT \"a;b(c\"\np{i} MX ( 10 ; split\n  mail )\n"
            )),
            2 => text.push_str(&format!(
                "$ORIGIN s{}.example.com.\nx{i} A 10.1.0.1\n$ORIGIN example.com.\n",
                i % 7
            )),
            3 => text.push_str(&format!("repeat TXT \"r{i}\"\n")),
            _ => text.push_str(&format!("m{i} 60 IN MX 10 mail\n")),
        }
    }

    let path = Path::new("example.com.zone");
    let hint = origin_from_file_name(path);
    let mut whole = parse(&text, path, hint.clone()).expect("whole parse");
    let key =
        |r: &(Name, RecordType, DNSClass, u32, RData)| format!("{} {} {} {}", r.0, r.1, r.3, r.4);
    let mut read = Vec::new();
    let hasher = Default::default();
    records::read(&text, &hint, 3, 100, &hasher, |batch| {
        read.append(batch);
        true
    })
    .expect("split")
    .expect("records parse");
    let mut pieces: Vec<_> = read
        .into_iter()
        .map(|r| {
            let rdata = match r.data {
                Data::V4(a) => RData::A(a.into()),
                Data::V6(a) => RData::AAAA(a.into()),
                Data::Other(o) => *o,
            };
            (r.name, r.rtype, DNSClass::IN, r.ttl, rdata)
        })
        .collect();
    whole.sort_by_key(key);
    pieces.sort_by_key(key);
    pieces.dedup_by_key(|r| key(r));
    whole.dedup_by_key(|r| key(r));
    assert_eq!(whole.len(), pieces.len());
    assert!(whole.iter().zip(&pieces).all(|(a, b)| key(a) == key(b)));
}

/// An error in a big file is found from the record that fails, at its line,
/// without parsing a prefix of the whole file per step.
#[test]
fn a_failing_record_gives_the_first_error_and_its_line() {
    let mut text = String::from(
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h ( 1 2 3 4\n 5 )\n@ NS ns1\nns1 A 192.0.2.1\n",
    );
    for i in 0..15_000 {
        text.push_str(&format!("h{i} A 10.0.{}.{}\n", (i / 256) % 256, i % 256));
    }
    let bad_line = text.lines().count() + 1;
    text.push_str("bad A 192.0.2.300\n");
    for i in 0..3_000 {
        text.push_str(&format!("later{i} A 192.0.2.300\n"));
    }
    let path = Path::new("example.com.zone");
    let hint = origin_from_file_name(path);
    let hasher = Default::default();
    let Some(Err((from, line, msg))) = records::read(&text, &hint, 3, 100, &hasher, |_| true)
    else {
        panic!("a record fails");
    };
    // The failing record itself, though a later thread failed too.
    assert_eq!(Some(from), text.find("bad A"));
    assert_eq!(line, 1);
    let fails = |p: &str| parse(p, path, hint.clone()).err();
    assert_eq!(find_line(&text, &msg, from, &fails), bad_line);
    assert_eq!(find_line(&text, &msg, 0, &fails), bad_line);
}

/// Inputs the `load` fuzz target failed on (fuzz/artifacts-found): data the
/// parser takes but no DNS reader takes back, and a type word with a
/// multi-byte character, are errors at their line, never answers or panics.
#[test]
fn fuzz_findings_are_errors_at_their_line() {
    let head = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\n";
    for (line, why) in [
        ("empty TXT", "has no data"),
        ("a CAA 0 x@y \"v\"", "wire cannot carry"),
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

/// hickory follows `$INCLUDE` after `$TTL`/`$ORIGIN` on the same line: the
/// folder check must see it there too (found in review).
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

/// The checks read the text the parser reads, after the rewrite: an
/// `$INCLUDE` that the rewrite brings to a line start (here after a
/// parenthesised record whose quote held a `)`) is checked like any other,
/// and one it leaves inside record data is no include (found in review).
#[test]
fn includes_are_checked_in_the_rewritten_text() {
    let head = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\n";
    let e = load_err(&format!("{head}x TXT ( \")\" )\n$INCLUDE /etc/hostname\n"));
    assert!(
        e.contains("example.com.zone:7:") && e.contains("$INCLUDE"),
        "{e}"
    );
    let e = load_err(&format!(
        "{head}x HINFO ( a b\\\n$INCLUDE /etc/hostname )\n"
    ));
    assert!(e.contains("example.com.zone:6:"), "{e}");
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

/// Two directives on one line would be half-seen by the piece prefixes, so
/// such a file is parsed in one piece (found in review).
#[test]
fn two_directives_on_a_line_are_not_split() {
    let mut text = String::from(
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\n",
    );
    for i in 0..200 {
        text.push_str(&format!("a{i} A 192.0.2.1\n"));
    }
    assert!(split_points(&text, 100).is_some_and(|p| p.len() > 1));
    text.push_str("$TTL 60 $ORIGIN sub.example.com.\n");
    for i in 0..200 {
        text.push_str(&format!("h{i} A 192.0.2.1\n"));
    }
    assert!(split_points(&text, 100).is_none());
}

/// What a zone holds, for comparing two loads: every name with its RRsets
/// (type, TTL, data), in order.
fn contents(zone: &Zone) -> Vec<String> {
    let mut out: Vec<String> = zone
        .nodes()
        .map(|(name, node)| {
            let sets: Vec<String> = node
                .rrsets
                .iter()
                .map(|set| {
                    let data: Vec<String> = set.iter().map(|r| r.to_rdata().to_string()).collect();
                    format!("{} {} {:?}", set.rtype, set.ttl, data)
                })
                .collect();
            format!("{name} {sets:?}")
        })
        .collect();
    out.sort();
    out
}

/// State hickory's parser carries from one line to the next, records that
/// repeat with another TTL, blank owners in Unicode white space, a missing
/// origin: read a record at a time (on every core, in small batches),
/// each zone is what one parse of the whole file makes of it, or fails at
/// the same line (found in review).
#[test]
fn a_record_at_a_time_reads_what_one_parse_reads() {
    let head = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster ( 1 3600\n 900 1209600 60 )\n@ NS ns1\nns1 A 192.0.2.1\n";
    let pad = |tag: &str| -> String {
        (0..300)
            .map(|i| format!("{tag}{i} A 10.{}.{}.{}\n", i >> 16, (i >> 8) & 255, i & 255))
            .collect()
    };
    let cases = [
        ("a TTL alone on a line", "www 600\nmail A 192.0.2.1\n"),
        (
            "a TTL and class alone",
            "www 600 IN ; comment\nmail A 192.0.2.1\n",
        ),
        ("a class alone on a line", "x CH\nmail A 192.0.2.1\n"),
        (
            "a blank owner after a TTL line",
            "www A 192.0.2.1\n 700\nmail A 192.0.2.2\n",
        ),
        (
            "a repeat with another TTL",
            "w 900 A 192.0.2.1\nv A 192.0.2.2\nw 60 A 192.0.2.1\n",
        ),
        (
            "a repeat, then new data",
            "w 900 A 192.0.2.1\nw 60 A 192.0.2.1\nw 120 A 192.0.2.3\n",
        ),
        (
            "a no-break space as blank owner",
            "www A 192.0.2.1\n\u{a0}A 192.0.2.9\n",
        ),
        (
            "a vertical tab as blank owner",
            "www A 192.0.2.1\n\u{b}A 192.0.2.9\n",
        ),
        (
            "a multi-line record",
            "t TXT ( \"a\"\n \"b\" )\nm MX ( 10\n mail )\n",
        ),
        (
            "a bad address after a continuation",
            "www A 192.0.2.1\n A 192.0.2.300\n",
        ),
        ("an upper-case owner", "WWW A 192.0.2.1\nwww A 192.0.2.2\n"),
    ];
    for (what, middle) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!("{head}{}{middle}{}", pad("p"), pad("q"));
        let file = write(dir.path(), "example.com.zone", &text);
        // Every core, in batches of 7 records.
        let by_record = load_zone_read(&file, Some((0, 7)));
        let whole = load_zone_read(&file, None);
        match (by_record, whole) {
            (Ok(a), Ok(b)) => assert!(contents(&a) == contents(&b), "{what}: contents differ"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
            (a, b) => panic!("{what}: {:?} vs {:?}", a.err(), b.err()),
        }
    }
    // Without an origin from the file name, records before `$ORIGIN`.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "$TTL 300\nwww A 192.0.2.1\n$ORIGIN example.com.\n{}",
        &head[30..]
    );
    let file = write(dir.path(), "a..b.zone", &text);
    let (a, b) = (
        load_zone_read(&file, Some((0, 7))),
        load_zone_read(&file, None),
    );
    assert_eq!(
        a.err().map(|e| e.to_string()),
        b.err().map(|e| e.to_string())
    );
}

/// Read a record at a time, the first error in the file is the one named,
/// at its line, whatever kind it is (one parse names a syntax error before
/// any check's); and the first record outside the zone, at its line.
#[test]
fn the_first_error_in_the_file_is_named_at_its_line() {
    let head = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\n";
    for (middle, line, says) in [
        ("z 3000000000 A 192.0.2.1\nb A 300.1.1.1\n", 6, "exceeds"),
        (
            "z.other. A 192.0.2.1\nb.other. A 192.0.2.1\n",
            6,
            "z.other. is outside",
        ),
        ("ok A 192.0.2.1\n A 192.0.2.300\n", 7, ""),
    ] {
        for pad in [0, 3_000] {
            let dir = tempfile::tempdir().expect("tempdir");
            let filler: String = (0..pad).map(|i| format!("p{i} A 10.0.0.1\n")).collect();
            let file = write(
                dir.path(),
                "example.com.zone",
                &format!("{head}{middle}{filler}"),
            );
            let e = load_zone_read(&file, Some((0, 100)))
                .expect_err("rejected")
                .to_string();
            assert!(
                e.contains(&format!("example.com.zone:{line}:")) && e.contains(says),
                "{middle:?} with {pad} more: {e}"
            );
        }
    }
}

/// Zones built at random from the constructs that make reading a record at
/// a time hard (blank and `@` owners, TTL and class in either order or
/// alone, `$ORIGIN` and `$TTL` changes, comments, quotes, parentheses over
/// lines, CRLF, repeats): read a record at a time, each loads to what one
/// parse of the whole file loads, or both fail.
#[test]
fn random_zones_read_alike_both_ways() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let owners = [
        "www",
        "@",
        " ",
        "\t",
        "Mail",
        "a.b",
        "x.example.com.",
        "*.w",
        "w\\.x",
        "ns1",
    ];
    // No class but IN: a CH record that a later IN record with the same data
    // replaces is dropped by one parse, and rejected read a record at a time.
    let heads = ["", "300 ", "IN ", "300 IN ", "IN 300 ", "1h ", "60 "];
    let datas = [
        "A 192.0.2.1",
        "A 192.0.2.2",
        "AAAA 2001:db8::1",
        "TXT \"a;b(c\"",
        "TXT ( \"x\"\n \"y\" )",
        "MX 10 mail",
        "MX ( 20\n ns1 ) ; split",
        "NS ns1",
        "SRV 0 0 80 www",
    ];
    let extras = [
        "alias CNAME www",
        "bad A 192.0.2.300",
        "empty TXT \"\"",
        "$TTL 120",
        "$ORIGIN sub.example.com.",
        "$ORIGIN example.com.",
        "; a comment ( \" ",
        "",
        "www 600",
        "x CH",
    ];
    let mut compared = (0, 0);
    for case in 0..1000 {
        let eol = if case % 7 == 0 { "\r\n" } else { "\n" };
        let mut text = format!(
            "$ORIGIN example.com.{eol}$TTL 300{eol}@ SOA ns1 hostmaster ( 1 3600{eol} 900 1209600 60 ){eol}@ NS ns1{eol}ns1 A 192.0.2.53{eol}"
        );
        for _ in 0..next(25) + 3 {
            if next(12) == 0 {
                text.push_str(extras[next(extras.len())]);
            } else {
                let owner = owners[next(owners.len())];
                let sep = if owner.trim().is_empty() { "" } else { " " };
                text.push_str(&format!(
                    "{owner}{sep}{}{}",
                    heads[next(heads.len())],
                    datas[next(datas.len())]
                ));
            }
            text.push_str(eol);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let file = write(dir.path(), "example.com.zone", &text);
        match (
            load_zone_read(&file, Some((0, 1 + next(5)))),
            load_zone_read(&file, None),
        ) {
            (Ok(a), Ok(b)) => {
                compared.0 += 1;
                assert!(contents(&a) == contents(&b), "case {case}:\n{text}");
            }
            // Which of several errors is named may differ (a record at a
            // time names the first in the file): both must fail.
            (Err(_), Err(_)) => compared.1 += 1,
            (a, b) => panic!(
                "case {case}: {:?} vs {:?}\n{text}",
                a.err().map(|e| e.to_string()),
                b.err().map(|e| e.to_string())
            ),
        }
    }
    // Both kinds of outcome were compared, not only failures.
    assert!(compared.0 > 30 && compared.1 > 30, "{compared:?}");
}
