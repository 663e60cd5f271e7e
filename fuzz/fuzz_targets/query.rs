//! The query path: raw bytes in, response bytes out, over UDP and TCP, for
//! two snapshots of one realistic zone set (every target healthy, and some down).
//!
//! Invariants, for every input:
//! - no panic (and no hang: libFuzzer's `-timeout`);
//! - shorter than a header, or QR set: no response;
//! - otherwise a response whose ID is the query's, with QR set, that
//!   `hickory_proto::op::Message::from_vec` parses;
//! - an opcode other than QUERY: NOTIMP, header only, only QR and the opcode set;
//! - FORMERR without answers for a query that is sound but for a malformed
//!   EDNS option in an OPT of version 0 (an option past the data, a COOKIE
//!   not of 8 or 16 to 40 bytes, a Client Subnet of another family or a
//!   prefix its address does not fit), a malformed or misplaced TSIG, or an
//!   IXFR without the client's SOA (`must_be_formerr`, written apart from
//!   hale's own checks);
//! - over UDP at most 4096 bytes, and at most 512 when the query has no
//!   additional records (so no OPT);
//! - the general path alone (`respond_slow`) answers as `respond` does: the
//!   same bytes, or the same header, question, OPT and records per section,
//!   compared as the project's own unit test compares the two paths: as
//!   sorted lists (health-checked answers rotate from one call to the next)
//!   of records in lower case (the table's stored sections point into the
//!   question for the zone's name, so they carry the case asked; the general
//!   path writes the zone's case).

#![no_main]

use std::net::IpAddr;
use std::sync::OnceLock;

use hale::dns::{Loaded, Serials, Snapshot, Transport, respond, respond_slow, warm};
use hale::health::Verdicts;
use hickory_proto::op::Message;
use libfuzzer_sys::fuzz_target;

/// The zone the queries are answered from: SOA, NS, A/AAAA, MX, TXT, SRV,
/// CNAME chains (in zone, out of zone, dangling, looping), wildcards, an
/// empty non-terminal, a delegation with glue and DS, a child zone we also
/// serve, three health-checked names, and RRsets too big for 512, 1232 and
/// 4096 bytes.
fn zone() -> String {
    let mut z = String::from(
        r#"$ORIGIN example.com.
$TTL 300
@         SOA   ns1 hostmaster 2026112201 3600 900 1209600 60
@         NS    ns1
@         NS    ns2.example.net.
@         MX    10 mail
@         TXT   "v=spf1 -all"
@         A     192.0.2.1
@         AAAA  2001:db8::1
ns1       A     192.0.2.53
ns1       AAAA  2001:db8::53
mail      A     192.0.2.25
www    60 A     192.0.2.80
www    60 A     192.0.2.81
www    60 A     192.0.2.82
www    60 AAAA  2001:db8::80
www       TXT   "checked"
sf        A     192.0.2.90
sf        A     192.0.2.91
nd        A     192.0.2.95
nd        AAAA  2001:db8::95
alias     CNAME alias2
alias2    CNAME www
outside   CNAME www.example.net.
dangling  CNAME nothere
loop1     CNAME loop2
loop2     CNAME loop1
*.wild    A     192.0.2.99
*.wild    AAAA  2001:db8::99
*.wild    TXT   "wild"
*.wild    MX    10 mail
real.wild TXT   "real"
*.cw      CNAME www
a.b.ent   A     192.0.2.7
sub       NS    ns.sub
sub       NS    ns.elsewhere.net.
sub       DS    12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1AB7C8A4A0C1E9A4A8A2B9C1
ns.sub    A     192.0.2.100
ns.sub    AAAA  2001:db8::100
child     NS    ns1.child
child     DS    54321 13 2 0C1E9A4A8A2B9C149FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1AB7C8A4A
ns1.child A     192.0.2.110
_http._tcp SRV  10 5 80 www
_null._tcp SRV  0 0 0 .
"#,
    );
    for i in 0..30 {
        z.push_str(&format!("big TXT \"{i:02}{}\"\n", "x".repeat(98)));
    }
    for i in 0..24 {
        z.push_str(&format!("huge TXT \"{i:02}{}\"\n", "y".repeat(198)));
    }
    z
}

const CHILD_ZONE: &str = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\n\
    ns1 A 192.0.2.110\nwww A 192.0.2.111\n";

const CONFIG: &str = r#"[server]
zones = "zones"

[[key]]
name = "xfr.example.com."
algorithm = "hmac-sha256"
secret = "8W2xNuIYP9T5bRMBxLa0Jg9vUdNpL7k1Zr9bPbCTvXw="

[[check]]
names = ["www.example.com."]
port = 18080

[[check]]
names = ["sf.example.com."]
port = 18080
when_all_down = "servfail"

[[check]]
names = ["nd.example.com."]
port = 18080
when_all_down = "none"
"#;

/// Every target healthy, and a degraded view: one of www's three A
/// addresses and its only AAAA down (fail open), `sf` and `nd` all down.
struct Views {
    healthy: Snapshot,
    degraded: Snapshot,
}

fn views() -> &'static Views {
    static VIEWS: OnceLock<Views> = OnceLock::new();
    VIEWS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let zones = dir.path().join("zones");
        std::fs::create_dir(&zones).expect("zones dir");
        std::fs::write(zones.join("example.com.zone"), zone()).expect("write zone");
        std::fs::write(zones.join("child.example.com.zone"), CHILD_ZONE).expect("write zone");
        let config = dir.path().join("hale.toml");
        std::fs::write(&config, CONFIG).expect("write config");
        let loaded = Loaded::load(&config).expect("the fixture loads");
        let (healthy, _) =
            Snapshot::build(&loaded, &Verdicts::all_healthy(), &mut Serials::default());
        let down: [IpAddr; 6] = [
            "192.0.2.81".parse().unwrap(),
            "2001:db8::80".parse().unwrap(),
            "192.0.2.90".parse().unwrap(),
            "192.0.2.91".parse().unwrap(),
            "192.0.2.95".parse().unwrap(),
            "2001:db8::95".parse().unwrap(),
        ];
        let verdicts: Verdicts = loaded
            .checks
            .target_specs()
            .into_iter()
            .map(|spec| spec.key)
            .filter(|key| down.contains(&key.ip))
            .collect();
        let (degraded, _) = Snapshot::build(&loaded, &verdicts, &mut Serials::default());
        Views { healthy, degraded }
    })
}

fuzz_target!(|data: &[u8]| {
    let views = views();
    let mut out = Vec::with_capacity(4096);
    let mut slow = Vec::with_capacity(4096);
    for view in [&views.healthy, &views.degraded] {
        // What the UDP workers do to every query of a batch first.
        warm(view, [data, data]);
        for transport in [Transport::Udp, Transport::Tcp] {
            let rcode = respond(view, data, transport, &mut out);
            let slow_rcode = respond_slow(view, data, transport, &mut slow);
            assert_eq!(
                rcode, slow_rcode,
                "respond and respond_slow disagree on the rcode"
            );
            if rcode.is_none() {
                assert!(
                    data.len() < 12 || data[2] & 0x80 != 0,
                    "no response to a query with a full header and QR clear"
                );
                continue;
            }
            check_response(data, &out, transport);
            if out != slow {
                same_content(&out, &slow);
            }
        }
    }
});

fn check_response(query: &[u8], resp: &[u8], transport: Transport) {
    assert!(query.len() >= 12, "a response to a runt");
    assert_eq!(query[2] & 0x80, 0, "a response to a response (QR=1)");
    assert!(resp.len() >= 12, "response shorter than a header");
    assert_eq!(
        resp[..2],
        query[..2],
        "response ID differs from the query's"
    );
    assert_ne!(resp[2] & 0x80, 0, "QR not set in the response");
    if transport == Transport::Udp {
        assert!(resp.len() <= 4096, "UDP response of {} bytes", resp.len());
        if query[10..12] == [0, 0] {
            assert!(
                resp.len() <= 512,
                "UDP response of {} bytes to a query without OPT",
                resp.len()
            );
        }
    }
    let opcode = (query[2] >> 3) & 0xF;
    if opcode != 0 {
        // RFC 8906 §3.1.4: NOTIMP, empty sections, only QR and the opcode.
        assert_eq!(resp.len(), 12, "NOTIMP with sections");
        assert_eq!(resp[2], 0x80 | (opcode << 3), "NOTIMP flags");
        assert_eq!(resp[3], 4, "NOTIMP rcode and flags");
    }
    if let Err(e) = Message::from_vec(resp) {
        panic!("the response does not parse: {e}\nresponse: {resp:02x?}");
    }
    if must_be_formerr(query) {
        assert_eq!(resp[3] & 0xF, 1, "not FORMERR: {query:02x?}");
        assert_eq!(resp[6..8], [0, 0], "FORMERR with answers");
    }
}

/// True for a query hale must answer FORMERR by issue #17 item 4: header
/// and records whole, one question, no answers, and an IXFR without
/// authority records, an OPT of version 0 whose options are unsound, or a
/// TSIG that is unsound or not the last record.
fn must_be_formerr(q: &[u8]) -> bool {
    let count = |i: usize| u16::from_be_bytes([q[i], q[i + 1]]) as usize;
    if q.len() < 12 || q[2] & 0xF8 != 0 || count(4) != 1 || count(6) != 0 {
        return false;
    }
    // Where the name at `at` ends; pointers only backwards.
    let name_end = |mut at: usize| -> Option<usize> {
        let mut end = None;
        for _ in 0..128 {
            let len = *q.get(at)? as usize;
            match len {
                0 => return Some(end.unwrap_or(at + 1)),
                1..=63 => at += len + 1,
                0xc0..=0xff => {
                    let to = ((len & 0x3f) << 8) | *q.get(at + 1)? as usize;
                    if to >= at {
                        return None;
                    }
                    end.get_or_insert(at + 2);
                    at = to;
                }
                _ => return None,
            }
        }
        None
    };
    let Some(at) = name_end(12) else { return false };
    let Some(qtype) = q.get(at..at + 2).map(|t| u16::from_be_bytes([t[0], t[1]])) else {
        return false;
    };
    let (nscount, arcount) = (count(8), count(10));
    let mut at = at + 4;
    let mut records = Vec::new();
    for _ in 0..nscount + arcount {
        let Some(end) = name_end(at) else { return false };
        let Some(fixed) = q.get(end..end + 10) else { return false };
        let len = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let Some(data) = q.get(end + 10..end + 10 + len) else { return false };
        records.push((q[at] == 0, fixed, data));
        at = end + 10 + len;
    }
    if at != q.len() {
        return false;
    }
    if qtype == 251 && nscount == 0 {
        return true;
    }
    let additional = &records[nscount..];
    let opts: Vec<_> = additional.iter().filter(|r| r.1[..2] == [0, 41]).collect();
    if let [(true, fixed, data)] = opts[..]
        && fixed[5] == 0
        && !options_ok(data)
    {
        return true;
    }
    additional.iter().enumerate().any(|(i, (_, fixed, data))| {
        fixed[..2] == [0, 250]
            && (i + 1 != additional.len() || fixed[2..4] != [0, 255] || fixed[4..8] != [0; 4] || !tsig_ok(data))
    })
}

fn options_ok(mut d: &[u8]) -> bool {
    while !d.is_empty() {
        if d.len() < 4 {
            return false;
        }
        let code = u16::from_be_bytes([d[0], d[1]]);
        let len = u16::from_be_bytes([d[2], d[3]]) as usize;
        let Some(v) = d.get(4..4 + len) else { return false };
        let ok = match code {
            10 => len == 8 || (16..=40).contains(&len),
            8 => {
                v.len() >= 4 && {
                    let max = match u16::from_be_bytes([v[0], v[1]]) {
                        1 => 32,
                        2 => 128,
                        _ => 0,
                    };
                    max > 0 && v[2] <= max && v[3] == 0 && v.len() - 4 == (v[2] as usize + 7) / 8
                }
            }
            _ => true,
        };
        if !ok {
            return false;
        }
        d = &d[4 + len..];
    }
    true
}

fn tsig_ok(d: &[u8]) -> bool {
    let mut at = 0;
    loop {
        match d.get(at) {
            Some(0) => break,
            Some(&l) if l <= 63 => at += 1 + l as usize,
            _ => return false,
        }
    }
    if at > 254 {
        return false;
    }
    let field = |i: usize| d.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize);
    let Some(mac) = field(at + 9) else { return false };
    let Some(other) = field(at + 11 + mac + 4) else { return false };
    at + 11 + mac + 6 + other == d.len()
}

/// Both paths' responses hold the same header, question, OPT and records
/// (in any order within a section, and in any case).
fn same_content(fast: &[u8], slow: &[u8]) {
    let f = Message::from_vec(fast).expect("respond's response parses");
    let s = Message::from_vec(slow).expect("respond_slow's response parses");
    assert_eq!(
        f.metadata, s.metadata,
        "headers differ: {fast:02x?} vs {slow:02x?}"
    );
    assert_eq!(f.queries, s.queries, "questions differ");
    assert_eq!(f.edns, s.edns, "OPT differs");
    for (what, a, b) in [
        ("answer", &f.answers, &s.answers),
        ("authority", &f.authorities, &s.authorities),
        ("additional", &f.additionals, &s.additionals),
    ] {
        let mut a: Vec<String> = a.iter().map(|r| r.to_string().to_lowercase()).collect();
        let mut b: Vec<String> = b.iter().map(|r| r.to_string().to_lowercase()).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{what} sections differ");
    }
}
