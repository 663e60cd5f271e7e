//! Zone hardening (issue #4 item 8): hostile zone files (no SOA, two SOAs,
//! CNAME beside other data, `$INCLUDE` loops and paths leaving the zone
//! folder, TTLs of 2^31 and more, records outside the origin, huge lines
//! and files) are each either served as NSD serves them or rejected with
//! the file and line: at
//! start-up (`Loaded::load`, which `hale check` and reload share) and on
//! reload, where the old data keeps serving. Never a panic.

use std::net::Ipv4Addr;
use std::path::Path;

use hale::dns::Loaded;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::support::{EXAMPLE_ZONE_HEAD, Hale, SERVER, a_addrs, txt_strings};

/// The zone file every case replaces.
const ZONE: &str = "zones/example.com.zone";

/// [`EXAMPLE_ZONE_HEAD`] (10 lines), then `new` on line 11, then `body`
/// from line 12 on: a bad version of the zone that also adds a name.
fn bad_zone(body: &str) -> Vec<u8> {
    format!("{EXAMPLE_ZONE_HEAD}new IN A 192.0.2.77\n{body}").into_bytes()
}

/// The good zone served before every bad version is tried.
fn good_zone() -> String {
    format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\nold IN A 192.0.2.66\n")
}

/// One hostile version of the zone and the error it must give.
struct Case {
    /// What is wrong, for failure messages.
    name: &'static str,
    /// Files to write, relative to the `zones` folder (`..` reaches out of it).
    files: Vec<(&'static str, Vec<u8>)>,
    /// The file the error must name (relative to the config's folder) ...
    file: &'static str,
    /// ... and its line.
    line: usize,
    /// Words the message must contain (case-insensitive).
    words: &'static [&'static str],
}

fn case(name: &'static str, body: &str, line: usize, words: &'static [&'static str]) -> Case {
    Case {
        name,
        files: vec![("example.com.zone", bad_zone(body))],
        file: ZONE,
        line,
        words,
    }
}

impl Case {
    /// Adds a file beside the zone.
    fn with(self, file: &'static str, text: &str) -> Case {
        self.with_bytes(file, text.as_bytes())
    }

    /// Adds a file beside the zone, as bytes.
    fn with_bytes(mut self, file: &'static str, bytes: &[u8]) -> Case {
        self.files.push((file, bytes.to_vec()));
        self
    }

    /// The error is in `file` at `line` instead.
    fn at(mut self, file: &'static str, line: usize) -> Case {
        self.file = file;
        self.line = line;
        self
    }

    /// Writes the files into `dir/zones`.
    fn write(&self, dir: &Path) {
        for (file, bytes) in &self.files {
            let path = dir.join("zones").join(file);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("create folder");
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {file}: {e}"));
        }
    }

    /// Checks that `msg` names the file and line and says what is wrong.
    fn check(&self, msg: &str) -> Result<(), String> {
        let at = format!("{}:{}:", self.file, self.line);
        if !msg.contains(&at) {
            return Err(format!("should name {at}"));
        }
        for word in self.words {
            if !msg.to_lowercase().contains(&word.to_lowercase()) {
                return Err(format!("should mention {word:?}"));
            }
        }
        // A huge bad token must not make a huge message.
        if msg.len() > 1000 {
            return Err(format!("message of {} bytes", msg.len()));
        }
        Ok(())
    }
}

/// A 60-line run of harmless records, to put distance between two lines.
fn filler(prefix: &str) -> String {
    (0..60)
        .map(|i| format!("{prefix}{i} IN A 192.0.2.{}\n", i + 1))
        .collect()
}

fn cases() -> Vec<Case> {
    let mut fifty_mb = bad_zone("junk");
    fifty_mb.resize(fifty_mb.len() + 50_000_000, b'a');
    let strings = vec![format!("\"{}\"", "x".repeat(255)); 3_500].join(" ");
    vec![
        // SOA (RFC 1035 §5.2: exactly one, at the apex).
        Case {
            name: "no SOA",
            files: vec![(
                "example.com.zone",
                b"$ORIGIN example.com.\n$TTL 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\nnew IN A 192.0.2.77\n"
                    .to_vec(),
            )],
            file: ZONE,
            line: 1,
            words: &["SOA"],
        },
        case(
            "a second SOA at the apex",
            "@ IN SOA ns1 hostmaster 2 7200 900 1209600 60\n",
            12,
            &["SOA"],
        ),
        case(
            "a second SOA below the apex",
            "sub IN SOA ns1 hostmaster 2 7200 900 1209600 60\n",
            12,
            &["two SOA", "sub.example.com"],
        ),
        case(
            "the SOA of another zone",
            &format!("{}example.net. IN SOA ns1 hostmaster 2 7200 900 1209600 60\n", filler("f")),
            72,
            &["two SOA", "example.net"],
        ),
        // CNAME and other data (RFC 1034 §3.6.2, RFC 2181 §10.1).
        case(
            "CNAME beside an A record",
            "new IN CNAME www\n",
            12,
            &["CNAME", "new.example.com"],
        ),
        case("CNAME at the apex", "@ IN CNAME www\n", 12, &["CNAME"]),
        case(
            "an A record 60 lines after a CNAME of the same name",
            &format!("alias IN CNAME new\n{}alias IN A 192.0.2.5\n", filler("f")),
            73,
            &["CNAME", "alias.example.com"],
        ),
        // $INCLUDE: loops, and paths that leave the zone folder.
        case(
            "a file that includes itself",
            "$INCLUDE example.com.zone\n",
            12,
            &["loop"],
        ),
        case("a includes b includes a", "$INCLUDE a.inc\n", 0, &["loop", "included from"])
            .with("a.inc", "a IN A 192.0.2.8\n$INCLUDE b.inc\n")
            .with("b.inc", "b IN A 192.0.2.9\n$INCLUDE a.inc\n")
            .at("zones/b.inc", 2),
        case(
            "$INCLUDE ../../../../etc/passwd",
            "$INCLUDE ../../../../../../../../etc/passwd\n",
            12,
            &["zone folder"],
        ),
        case(
            "$INCLUDE of an absolute path",
            "$INCLUDE /etc/passwd\n",
            12,
            &["zone folder"],
        ),
        case(
            "$INCLUDE into a subfolder and out above the zone folder",
            "$INCLUDE sub/../../outside.inc\n",
            12,
            &["zone folder"],
        )
        .with("sub/keep.inc", "k IN A 192.0.2.10\n")
        .with("../outside.inc", "o IN A 192.0.2.11\n"),
        case(
            "a nested $INCLUDE that climbs out",
            "$INCLUDE sub/a.inc\n",
            0,
            &["zone folder", "included from"],
        )
        .with("sub/a.inc", "a IN A 192.0.2.8\n$INCLUDE ../../outside.inc\n")
        .with("../outside.inc", "o IN A 192.0.2.11\n")
        .at("zones/sub/a.inc", 2),
        case(
            "$INCLUDE of a missing file",
            "$INCLUDE missing.inc\n",
            12,
            &["missing.inc"],
        ),
        // TTLs: RFC 2181 §8 allows 0 ..= 2^31 - 1. NSD takes larger ones
        // (as 0 on the wire side of the RFC); hale rejects them, with the line.
        case(
            "TTL 2^31",
            "big 2147483648 IN A 192.0.2.3\n",
            12,
            &["TTL", "2147483648"],
        ),
        case(
            "TTL 2^32, past 32 bits",
            "big 4294967296 IN A 192.0.2.3\n",
            12,
            &["TTL", "4294967296"],
        ),
        case(
            "TTL in weeks past 32 bits",
            "big 7102w IN A 192.0.2.3\n",
            12,
            &["TTL"],
        ),
        case(
            "$TTL 2^31 (rejected at its line)",
            "$TTL 2147483648\nbig IN A 192.0.2.3\n",
            12,
            &["TTL", "2147483648"],
        ),
        // Data outside the origin (NSD: "out of zone data", an error too).
        case(
            "a record outside the origin",
            "www.example.net. IN A 192.0.2.4\n",
            12,
            &["outside", "www.example.net"],
        ),
        case(
            "a record at the parent",
            "com. IN A 192.0.2.4\n",
            12,
            &["outside"],
        ),
        case(
            "TYPE65000 without generic data",
            "t IN TYPE65000 3 abcdef\n",
            12,
            &["TYPE65000"],
        ),
        case(
            "a quote never closed",
            "t IN TXT \"abc\nmore IN A 192.0.2.5\n",
            12,
            &["quote"],
        ),
        case(
            "a parenthesis never closed",
            "m IN MX ( 10 mail\nmore IN A 192.0.2.5\n",
            12,
            &[],
        ),
        // Huge lines.
        Case {
            name: "a 50 MB line of garbage",
            files: vec![("example.com.zone", fifty_mb)],
            file: ZONE,
            line: 12,
            words: &["label longer than 63"],
        },
        case(
            "a 900 KB word where the type should be",
            &format!("t IN BOGUS{}\n", "A".repeat(900_000)),
            12,
            &[],
        ),
        case(
            "900 KB of TXT strings in one record (RDATA over 65535)",
            &format!("t IN TXT {strings}\n"),
            12,
            &["65535"],
        ),
    ]
}

#[test]
fn hostile_zones_are_rejected_at_start_up_with_file_and_line() {
    let mut failures = Vec::new();
    for case in cases() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("hale.toml");
        std::fs::write(&config, SERVER).expect("write config");
        case.write(dir.path());
        match Loaded::load(&config) {
            Ok(_) => failures.push(format!("  {}: loaded", case.name)),
            Err(e) => {
                let msg = e.to_string();
                if let Err(what) = case.check(&msg) {
                    failures.push(format!("  {}: {what}: {msg:?}", case.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn a(hale: &Hale, name: &str) -> (ResponseCode, Vec<Ipv4Addr>) {
    let msg = hale.udp(name, RecordType::A).await;
    (msg.metadata.response_code, a_addrs(&msg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_with_a_hostile_zone_keeps_the_old_data() {
    let hale = Hale::start(SERVER, &[("example.com.zone", &good_zone())]).await;
    let old = (ResponseCode::NoError, vec![Ipv4Addr::new(192, 0, 2, 66)]);
    let mut failures = Vec::new();
    for case in cases() {
        assert_eq!(
            a(&hale, "old.example.com").await,
            old,
            "before {}",
            case.name
        );
        case.write(hale.dir());
        match hale.reload().await {
            Ok(()) => failures.push(format!("  {}: reload accepted", case.name)),
            Err(e) => {
                let msg = e.to_string();
                if let Err(what) = case.check(&msg) {
                    failures.push(format!("  {}: {what}: {msg:?}", case.name));
                }
            }
        }
        assert_eq!(
            a(&hale, "old.example.com").await,
            old,
            "after {}",
            case.name
        );
        let (rcode, _) = a(&hale, "new.example.com").await;
        assert_eq!(rcode, ResponseCode::NXDomain, "nothing of {}", case.name);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Reloading still works after all that.
    hale.rewrite_zone(
        "example.com.zone",
        &format!("{}new IN A 192.0.2.77\n", good_zone()),
    );
    hale.reload().await.expect("a good zone reloads");
    assert_eq!(
        a(&hale, "new.example.com").await,
        (ResponseCode::NoError, vec![Ipv4Addr::new(192, 0, 2, 77)])
    );
    hale.shutdown().await;
}

/// What is allowed at the edges is served as NSD serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_cases_that_are_valid_are_served() {
    let zone = format!(
        "{EXAMPLE_ZONE_HEAD}max 2147483647 IN A 192.0.2.1\nzero 0 IN A 192.0.2.2\n\
         hash IN TXT \"\\#\" \"a;b\"\n$INCLUDE sub/a.inc\n$INCLUDE \"with space.inc\"\n"
    );
    let hale = Hale::start(
        SERVER,
        &[
            ("example.com.zone", &zone),
            // Nested includes are relative to the including file; `..` back
            // into the zone folder is fine.
            ("sub/a.inc", "a IN A 192.0.2.3\n$INCLUDE ../b.inc\n"),
            ("b.inc", "b IN A 192.0.2.4\n"),
            ("with space.inc", "c IN A 192.0.2.5\n"),
        ],
    )
    .await;
    let max = hale.udp("max.example.com", RecordType::A).await;
    assert_eq!(a_addrs(&max), [Ipv4Addr::new(192, 0, 2, 1)]);
    assert_eq!(
        max.answers[0].ttl, 2_147_483_647,
        "the largest TTL RFC 2181 allows"
    );
    let zero = hale.udp("zero.example.com", RecordType::A).await;
    assert_eq!(zero.answers[0].ttl, 0);
    let hash = hale.udp("hash.example.com", RecordType::TXT).await;
    assert_eq!(txt_strings(&hash), ["#a;b"], "a quoted \\# is the text #");
    for (name, last) in [("a", 3), ("b", 4), ("c", 5)] {
        let (rcode, addrs) = a(&hale, &format!("{name}.example.com")).await;
        assert_eq!(rcode, ResponseCode::NoError, "{name}");
        assert_eq!(addrs, [Ipv4Addr::new(192, 0, 2, last)], "{name}");
    }
    hale.shutdown().await;
}

/// Records `h0` … `h{n-1}` below [`EXAMPLE_ZONE_HEAD`], lines 11 … 10 + n.
fn many(n: usize) -> String {
    let mut zone = String::with_capacity(n * 30 + 300);
    zone.push_str(EXAMPLE_ZONE_HEAD);
    for i in 0..n {
        zone.push_str(&format!(
            "h{i} IN A 10.{}.{}.{}\n",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        ));
    }
    zone
}

/// 200,000 records load and answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_of_200k_records_is_served() {
    let hale = Hale::start(SERVER, &[("example.com.zone", &many(200_000))]).await;
    for (name, want) in [
        ("h0.example.com", Ipv4Addr::new(10, 0, 0, 0)),
        ("h123456.example.com", Ipv4Addr::new(10, 1, 226, 64)),
        ("h199999.example.com", Ipv4Addr::new(10, 3, 13, 63)),
    ] {
        assert_eq!(
            a(&hale, name).await,
            (ResponseCode::NoError, vec![want]),
            "{name}"
        );
    }
    let (rcode, _) = a(&hale, "h200000.example.com").await;
    assert_eq!(rcode, ResponseCode::NXDomain);
    hale.shutdown().await;
}

/// Errors in a big file (parsed in pieces) still name their exact line,
/// also when they take two records far apart.
#[test]
fn errors_in_a_big_file_name_their_line() {
    const N: usize = 15_000; // about 340 KB: searched in pieces
    let last = 10 + N + 1;
    let mut failures = Vec::new();
    for (what, tail, words) in [
        (
            "a bad address on the last line",
            "bad IN A 192.0.2.300\n",
            &["address"][..],
        ),
        (
            "a TTL of 2^31 on the last line",
            "big 2147483648 IN A 192.0.2.3\n",
            &["TTL"][..],
        ),
        (
            "a CNAME far from the A of its name",
            "h7 IN CNAME h8\n",
            &["CNAME", "h7.example.com"][..],
        ),
        (
            "an SOA far from the apex's",
            "sub IN SOA ns1 h 1 2 3 4 5\n",
            &["two SOA"][..],
        ),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("hale.toml");
        std::fs::write(&config, SERVER).expect("write config");
        let case = Case {
            name: what,
            files: vec![(
                "example.com.zone",
                format!("{}{tail}", many(N)).into_bytes(),
            )],
            file: ZONE,
            line: last,
            words,
        };
        case.write(dir.path());
        match Loaded::load(&config) {
            Ok(_) => failures.push(format!("  {what}: loaded")),
            Err(e) => {
                if let Err(problem) = case.check(&e.to_string()) {
                    failures.push(format!("  {what}: {problem}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
