//! Bytes in, bytes out: the parts of the answer path that need hand-built packets.

use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, OpCode, Query as HQuery, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};

use super::*;
use crate::health::Verdicts;

fn view() -> (tempfile::TempDir, Snapshot) {
    let mut text = String::from(
        "$TTL 300\n@ SOA ns1 h 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n",
    );
    for i in 0..40 {
        text.push_str(&format!("big TXT \"{i:0>100}\"\n"));
    }
    let (dir, loaded) = load("example.com.zone", &text, "");
    (dir, served(&loaded))
}

/// Loads `zone`, written to `file`, under a config that serves it with
/// `checks` added, as hale does at start.
fn load(file: &str, zone: &str, checks: &str) -> (tempfile::TempDir, Loaded) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(file), zone).expect("zone");
    let config = dir.path().join("hale.toml");
    std::fs::write(&config, format!("[server]\nzones = \"{file}\"\n{checks}")).expect("config");
    let loaded = Loaded::load(&config).expect("loads");
    (dir, loaded)
}

/// What queries see with every target healthy.
fn served(loaded: &Loaded) -> Snapshot {
    Snapshot::build(loaded, &Verdicts::all_healthy(), &mut Serials::default()).0
}

fn query(name: &str, rtype: RecordType) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = 0x1234;
    m.add_query(HQuery::query(Name::from_ascii(name).expect("name"), rtype));
    m.to_vec().expect("encode")
}

fn ask(view: &Snapshot, msg: &[u8], transport: Transport) -> Option<Message> {
    let mut out = Vec::new();
    respond(view, msg, transport, &mut out)
        .map(|_| Message::from_vec(&out).expect("response parses"))
}

#[test]
fn garbage_and_responses_are_dropped() {
    let (_d, v) = view();
    assert!(ask(&v, &[1, 2, 3], Transport::Udp).is_none());
    let mut msg = query("www.example.com.", RecordType::A);
    msg[2] |= 0x80; // QR
    assert!(ask(&v, &msg, Transport::Udp).is_none());
}

#[test]
fn malformed_questions_get_formerr_with_id() {
    let (_d, v) = view();
    let good = query("www.example.com.", RecordType::A);
    // Cut inside the question.
    let r = ask(&v, &good[..good.len() - 3], Transport::Udp).expect("reply");
    assert_eq!(
        (r.metadata.id, r.metadata.response_code),
        (0x1234, ResponseCode::FormErr)
    );
    // QDCOUNT 2.
    let mut two = good.clone();
    two[5] = 2;
    let r = ask(&v, &two, Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
    // A compression pointer to itself.
    let mut looped = good[..12].to_vec();
    looped.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    let r = ask(&v, &looped, Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
    // ARCOUNT claims a record that is not there.
    let mut missing = good.clone();
    missing[11] = 1;
    let r = ask(&v, &missing, Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn opt_rules() {
    let (_d, v) = view();
    let opt = [0u8, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0];
    let mut with_opt = query("www.example.com.", RecordType::A);
    with_opt[11] = 1;
    with_opt.extend_from_slice(&opt);
    let r = ask(&v, &with_opt, Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.edns.is_some(), "OPT answered with OPT");

    let mut two = with_opt.clone();
    two[11] = 2;
    two.extend_from_slice(&opt);
    let r = ask(&v, &two, Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);

    let mut v1 = with_opt.clone();
    let n = v1.len();
    v1[n - 5] = 1; // EDNS version
    let r = ask(&v, &v1, Transport::Udp).expect("reply");
    // 16 is BADVERS in an OPT context (hickory names it BADSIG).
    assert_eq!(u16::from(r.metadata.response_code), 16);
    assert_eq!(r.edns.as_ref().map(|e| e.version()), Some(0));
}

#[test]
fn unknown_opcode_is_notimp_with_bare_header() {
    let (_d, v) = view();
    let mut msg = query("www.example.com.", RecordType::A);
    msg[2] = (3 << 3) | 0x01; // opcode 3, RD
    let mut out = Vec::new();
    assert_eq!(
        respond(&v, &msg, Transport::Udp, &mut out),
        Some(Rcode::NotImp)
    );
    assert_eq!(out.len(), 12, "header only");
    assert_eq!(out[2], 0x80 | (3 << 3), "QR and opcode only");
    assert_eq!(out[3] & 0xF, 4);
    let r = Message::from_vec(&out).expect("parses");
    assert_eq!(r.metadata.op_code, OpCode::Unknown(3));
    assert_eq!(r.metadata.message_type, MessageType::Response);
}

#[test]
fn udp_truncates_and_tcp_does_not() {
    let (_d, v) = view();
    let msg = query("big.example.com.", RecordType::TXT);
    let r = ask(&v, &msg, Transport::Udp).expect("reply");
    assert!(r.metadata.truncation);
    assert!(r.answers.is_empty());
    let r = ask(&v, &msg, Transport::Tcp).expect("reply");
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 40);
}

#[test]
fn classes_other_than_in_are_refused() {
    let (_d, v) = view();
    let mut m = Message::query();
    let mut q = HQuery::query(
        Name::from_ascii("www.example.com.").expect("name"),
        RecordType::A,
    );
    q.set_query_class(DNSClass::CH);
    m.add_query(q);
    let r = ask(&v, &m.to_vec().expect("encode"), Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
    assert!(!r.metadata.authoritative);
}

/// The fast path answers exactly what the general path answers, for every
/// name of a zone that uses every feature, over both transports and EDNS
/// sizes; and it does take the common queries.
#[test]
fn fast_path_answers_as_the_general_path() {
    let zone = "$ORIGIN example.com.\n$TTL 300\n\
        @ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS NS1\n@ NS ns.other.net.\n@ MX 10 mail\n\
        @ TXT \"apex\"\nns1 A 192.0.2.1\nns1 AAAA 2001:db8::1\nmail A 192.0.2.2\n\
        www A 192.0.2.3\nwww A 192.0.2.4\nwww AAAA 2001:db8::3\nwww TXT \"w\"\n\
        checked A 192.0.2.10\nchecked A 192.0.2.11\nchecked TXT \"c\"\n\
        alias CNAME www\ntochecked CNAME checked\nout CNAME www.other.net.\ndangling CNAME nope\n\
        *.wild A 192.0.2.5\n*.wild TXT \"w\"\n*.wild MX 10 mail\n*.cw CNAME www\ntowild CNAME foo.wild\nmxns MX 10 ns1\nexists.wild TXT \"e\"\na.b.ent A 192.0.2.6\n\
        sub NS ns.sub\nns.sub A 192.0.2.7\n_s._tcp SRV 0 0 80 www\n\
        dn DNAME other.net.\ndn TXT \"d\"\ninto DNAME wild\ntodn CNAME x.into\n";
    let mut zone = zone.to_string();
    for i in 0..12 {
        zone.push_str(&format!("big TXT \"{i:0>120}\"\n"));
    }
    // A chain one longer than the general path follows.
    for i in 0..10 {
        zone.push_str(&format!("c{i} CNAME c{}\n", i + 1));
    }
    zone.push_str("c10 TXT \"end\"\n");
    let (_dir, loaded) = load(
        "example.com.zone",
        &zone,
        "[[check]]\nnames = [\"checked.example.com.\"]\n",
    );
    let view = served(&loaded);

    let names = [
        "example.com.",
        "ns1.example.com.",
        "mail.example.com.",
        "www.example.com.",
        "WwW.ExAmPlE.CoM.",
        "checked.example.com.",
        "alias.example.com.",
        "tochecked.example.com.",
        "out.example.com.",
        "dangling.example.com.",
        "x.wild.example.com.",
        "Deep.X.wild.example.com.",
        "x.cw.example.com.",
        "towild.example.com.",
        "mxns.example.com.",
        "c0.example.com.",
        "c2.example.com.",
        "exists.wild.example.com.",
        "wild.example.com.",
        "ent.example.com.",
        "b.ent.example.com.",
        "a.b.ent.example.com.",
        "nope.example.com.",
        "x.y.nope.example.com.",
        "sub.example.com.",
        "x.sub.example.com.",
        "ns.sub.example.com.",
        "_s._tcp.example.com.",
        "big.example.com.",
        "dn.example.com.",
        "x.dn.example.com.",
        "a.b.dn.example.com.",
        "x.into.example.com.",
        "into.example.com.",
        "todn.example.com.",
        "example.org.",
    ];
    let types = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::TXT,
        RecordType::MX,
        RecordType::NS,
        RecordType::SOA,
        RecordType::SRV,
        RecordType::DS,
        RecordType::CNAME,
        RecordType::DNAME,
        RecordType::ANY,
        RecordType::Unknown(999),
    ];
    let mut fast_hits = 0;
    let mut a = Vec::new();
    for name in names {
        for rtype in types {
            for edns in [None, Some(1232u16), Some(512)] {
                for transport in [Transport::Udp, Transport::Tcp] {
                    let mut m = Message::query();
                    m.metadata.id = 7;
                    m.add_query(HQuery::query(Name::from_ascii(name).expect("name"), rtype));
                    if let Some(size) = edns {
                        let mut e = hickory_proto::op::Edns::new();
                        e.set_max_payload(size);
                        m.edns = Some(e);
                    }
                    let q = m.to_vec().expect("encode");
                    if super::fast::respond(&view, &q, transport, super::Client::UNKNOWN, 0, &mut a)
                        .is_some()
                    {
                        fast_hits += 1;
                    }
                    same_answer(
                        &view,
                        &q,
                        transport,
                        &format!("{name} {rtype} {edns:?} {transport:?}"),
                    );
                }
            }
        }
    }
    assert!(
        fast_hits > 600,
        "the fast path took only {fast_hits} queries"
    );
}

/// Asserts that the fast path (when it answers) and the general path give
/// the same response to `q`: header, question, and each section as a set.
fn same_answer(view: &Snapshot, q: &[u8], transport: Transport, what: &str) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let fast = respond(view, q, transport, &mut a).map(|_| a.clone());
    let slow = respond_slow(view, q, transport, &mut b).map(|_| b.clone());
    let (Some(fast), Some(slow)) = (fast, slow) else {
        panic!("{what}: answered by one path only");
    };
    let (f, s) = (
        Message::from_vec(&fast).expect("fast parses"),
        Message::from_vec(&slow).expect("slow parses"),
    );
    assert_eq!(f.metadata, s.metadata, "{what}");
    assert_eq!(f.queries, s.queries, "{what}");
    for (fs, ss) in [
        (&f.answers, &s.answers),
        (&f.authorities, &s.authorities),
        (&f.additionals, &s.additionals),
    ] {
        let mut fs: Vec<String> = fs.iter().map(|r| r.to_string().to_lowercase()).collect();
        let mut ss: Vec<String> = ss.iter().map(|r| r.to_string().to_lowercase()).collect();
        fs.sort();
        ss.sort();
        assert_eq!(fs, ss, "{what}");
        let mut unique = fs.clone();
        unique.dedup();
        assert_eq!(unique, fs, "no record twice in a section: {what}");
    }
    assert_eq!(f.edns.is_some(), s.edns.is_some(), "{what}");
}

/// Above 50,000 names the table is built in runs on every core and joined;
/// names from every part of the zone (so from every run), with one body or
/// several, and names answered by their last body (CNAMEs), must answer as
/// the general path does.
#[test]
fn a_table_built_in_runs_answers_every_part_of_the_zone() {
    const NAMES: usize = 70_000;
    let mut zone = String::from(
        "$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\n\
         ns1 A 192.0.2.1\n*.wild A 192.0.2.5\n",
    );
    for i in 0..NAMES {
        match i % 7 {
            0 => zone.push_str(&format!("n{i} CNAME n{}\n", i + 1)),
            3 => zone.push_str(&format!(
                "n{i} A 10.0.{}.{}\nn{i} AAAA 2001:db8::{:x}:{:x}\nn{i} TXT \"t{i}\"\n",
                (i >> 8) & 255,
                i & 255,
                i >> 16,
                i & 0xffff
            )),
            _ => zone.push_str(&format!("n{i} A 10.1.{}.{}\n", (i >> 8) & 255, i & 255)),
        }
    }
    let (_dir, mut loaded) = load("big.test.zone", &zone, "");
    // Three runs whatever this machine's cores, as a 3-core one would.
    let table = Table::build_in_runs(&loaded.zones, &loaded.checks, false, 3);
    // Every name, the apex and the wildcard have an entry.
    assert_eq!(table.len(), NAMES + 4);
    loaded.table = Arc::new(table);
    let view = served(&loaded);
    let mut fast = 0;
    let mut out = Vec::new();
    for i in (0..NAMES).step_by(97).chain([1, 2, 3, NAMES - 1]) {
        for name in [
            format!("n{i}.big.test."),
            format!("x{i}.wild.big.test."),
            format!("nx{i}.big.test."),
        ] {
            for rtype in [
                RecordType::A,
                RecordType::AAAA,
                RecordType::TXT,
                RecordType::MX,
            ] {
                let q = query(&name, rtype);
                if super::fast::respond(
                    &view,
                    &q,
                    Transport::Udp,
                    super::Client::UNKNOWN,
                    0,
                    &mut out,
                )
                .is_some()
                {
                    fast += 1;
                }
                same_answer(&view, &q, Transport::Udp, &format!("{name} {rtype}"));
            }
        }
    }
    assert!(fast > 2_500, "the fast path took only {fast} queries");
}

/// Warming a batch (what the UDP workers do before answering it) takes any
/// bytes, garbage included, across more than one chunk of 32 without a
/// panic; it only reads, and the answers after it are the same.
#[test]
fn warming_takes_any_bytes_in_several_chunks() {
    let mut zone = String::from(
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n@ NS ns1\n\
         ns1 A 192.0.2.1\nwww A 192.0.2.2\n",
    );
    for i in (0..70).step_by(2) {
        zone.push_str(&format!("n{i} A 10.0.0.{i}\n"));
    }
    let (_dir, loaded) = load("example.com.zone", &zone, "");
    assert!(!loaded.table.is_empty());
    let view = served(&loaded);
    let mut msgs: Vec<Vec<u8>> = Vec::new();
    for i in 0..70 {
        msgs.push(query(&format!("n{i}.example.com."), RecordType::A));
        msgs.push(query("www.example.com.", RecordType::A));
    }
    msgs.extend([
        vec![],
        vec![0; 12],
        vec![0xff; 300],
        query(".", RecordType::NS),
    ]);
    let before: Vec<Option<Message>> = msgs.iter().map(|m| ask(&view, m, Transport::Udp)).collect();
    crate::dns::warm(&view, msgs.iter().map(Vec::as_slice));
    let after: Vec<Option<Message>> = msgs.iter().map(|m| ask(&view, m, Transport::Udp)).collect();
    assert_eq!(before, after);
    assert!(after.iter().flatten().count() >= 141);
}

/// `query` with an OPT (payload `size`) carrying `options`.
fn with_options(mut q: Vec<u8>, size: u16, options: &[u8]) -> Vec<u8> {
    q[11] = 1;
    q.extend_from_slice(&[0, 0, 41]);
    q.extend_from_slice(&size.to_be_bytes());
    q.extend_from_slice(&[0, 0, 0, 0]);
    q.extend_from_slice(&(options.len() as u16).to_be_bytes());
    q.extend_from_slice(options);
    q
}

/// The COOKIE option's value at the end of a response's OPT, if any.
fn cookie_of(response: &[u8]) -> Option<Vec<u8>> {
    let m = Message::from_vec(response).expect("parses");
    let edns = m.edns.as_ref()?;
    let raw = hickory_proto::rr::rdata::opt::EdnsCode::Cookie;
    edns.option(raw).map(|o| {
        let mut v = Vec::new();
        let mut enc = hickory_proto::serialize::binary::BinEncoder::new(&mut v);
        hickory_proto::serialize::binary::BinEncodable::emit(o, &mut enc).expect("emits");
        v
    })
}

/// With cookies on, both paths send the same COOKIE option, byte for
/// byte (one function writes it), for a client cookie alone, a valid server cookie (echoed), an
/// invalid one (replaced), next to an EDE, and in a truncated answer;
/// only a valid server cookie is reported as one. Off, none is sent.
#[test]
fn both_paths_answer_cookies_alike() {
    let (_d, v) = view();
    let client = Client {
        ip: "192.0.2.77".parse().expect("ip"),
        now: 1_700_000_000,
    };
    let both = |q: &[u8]| {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let fast = super::fast::respond(&v, q, Transport::Udp, client, 0, &mut a);
        let slow = answer_slow(&v, q, Transport::Udp, client, &mut b).expect("answered");
        if let Some(fast) = fast {
            assert_eq!(fast, slow);
            // Names may be compressed differently; the OPT, last, is the same.
            let tail = |r: &[u8]| r[r.len() - cookie::OPTION_LEN..].to_vec();
            assert_eq!(tail(&a), tail(&b), "the same COOKIE bytes");
            let (f, s) = (
                Message::from_vec(&a).expect("fast"),
                Message::from_vec(&b).expect("slow"),
            );
            assert_eq!(f.metadata, s.metadata);
            assert_eq!(f.edns, s.edns);
        }
        (b, slow.server_cookie)
    };
    let cookie = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];
    let www = with_options(query("www.example.com.", RecordType::A), 1232, &cookie);
    assert!(super::fast::respond(&v, &www, Transport::Udp, client, 0, &mut Vec::new()).is_some());
    let (first, valid) = both(&www);
    assert!(!valid);
    let value = cookie_of(&first).expect("a cookie back");
    assert_eq!(value.len(), 24);
    assert_eq!(value[..8], cookie[4..]);

    // Sent back: valid, and echoed unchanged.
    let mut echo = vec![0, 10, 0, 24];
    echo.extend_from_slice(&value);
    let again = with_options(query("www.example.com.", RecordType::A), 1232, &echo);
    let (second, valid) = both(&again);
    assert!(valid);
    assert_eq!(cookie_of(&second), Some(value.clone()));

    // From another address it is invalid: a new one, as for a client cookie alone.
    let other = Client {
        ip: "192.0.2.78".parse().expect("ip"),
        ..client
    };
    let mut out = Vec::new();
    let answered = answer(&v, &again, Transport::Udp, other, &mut out).expect("answered");
    assert!(!answered.server_cookie);
    assert_eq!(answered.rcode, Rcode::NoError);
    let renewed = cookie_of(&out).expect("a cookie back");
    assert_eq!(renewed[..8], value[..8]);
    assert_ne!(renewed, value);

    // With EDE (REFUSED), with other options, truncated, and on the general path only.
    let mut mixed = vec![0xfd, 0xe9, 0, 1, 9];
    mixed.extend_from_slice(&echo);
    for q in [
        with_options(query("example.org.", RecordType::A), 1232, &echo),
        with_options(query("www.example.com.", RecordType::A), 1232, &mixed),
        with_options(query("big.example.com.", RecordType::TXT), 512, &echo),
        with_options(query("example.com.", RecordType::ANY), 1232, &echo),
    ] {
        let (out, valid) = both(&q);
        assert!(valid);
        assert!(out.len() <= 1232);
        assert_eq!(cookie_of(&out), Some(value.clone()));
    }
    let (big, _) = both(&with_options(
        query("big.example.com.", RecordType::TXT),
        512,
        &echo,
    ));
    assert!(
        big.len() <= 512 && big[2] & 0x02 != 0,
        "truncated, cookie counted"
    );

    // Off: no cookie, nothing valid.
    let (dir, mut loaded) = load(
        "example.com.zone",
        "$TTL 300\n@ SOA ns1 h 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n",
        "",
    );
    loaded.cookies = None;
    let off = served(&loaded);
    let mut out = Vec::new();
    let answered = answer(&off, &again, Transport::Udp, client, &mut out).expect("answered");
    assert!(!answered.server_cookie);
    assert_eq!(cookie_of(&out), None);
    drop(dir);
}
