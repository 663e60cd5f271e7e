//! Answers for names that are not health-checked, rule by rule (issue item 4),
//! compared with what NSD answers from the same zone file: AA, NXDOMAIN vs
//! NODATA with the SOA, CNAME chains, wildcards, referrals with glue, EDNS,
//! truncation, REFUSED, RA, BADVERS, NOTIMP, FORMERR, case, and the zone file
//! syntax hale must read (`$ORIGIN`, `$TTL`, `$INCLUDE`, `@`, parentheses).

use std::net::Ipv4Addr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

use crate::support::{
    Ask, EXAMPLE_ZONE_HEAD, Hale, SERVER, a_addrs, aaaa_addrs, answer_types, decode, rcode,
    txt_strings,
};

/// Records below [`EXAMPLE_ZONE_HEAD`] that the rules are checked against.
const EXAMPLE_BODY: &str = r#"
www      IN A     192.0.2.1
www      IN AAAA  2001:db8::1
alias    IN CNAME www
alias2   IN CNAME alias             ; a chain of two
outside  IN CNAME www.example.net.  ; leaves the zone
dangling IN CNAME nothere           ; in-zone target that does not exist
*.wild   IN A     192.0.2.99
*.wild   IN TXT   "wild"
real.wild IN TXT  "real"            ; exists: the wildcard does not apply to it
h.ent.wild IN A   192.0.2.8         ; ent.wild is an empty non-terminal
a.b.deep IN A     192.0.2.7         ; b.deep and deep are empty non-terminals
sub      IN NS    ns.sub
sub      IN NS    ns.elsewhere.net.
ns.sub   IN A     192.0.2.100
ns.sub   IN AAAA  2001:db8::100
"#;

/// 30 TXT records of 100 bytes: about 3.4 KB, over 512 and 1232, under 4096.
fn big_txt() -> String {
    (0..30)
        .map(|i| format!("big IN TXT \"{i:02}{}\"\n", "x".repeat(98)))
        .collect()
}

async fn example() -> Hale {
    let zone = format!("{EXAMPLE_ZONE_HEAD}{EXAMPLE_BODY}{}", big_txt());
    Hale::start(SERVER, &[("example.com.zone", &zone)]).await
}

/// The negative-answer shape: no answer, exactly the zone's SOA in authority with `ttl`.
fn assert_soa_authority(msg: &hickory_proto::op::Message, origin: &str, ttl: u32) {
    assert!(msg.answers.is_empty(), "no answer expected: {msg:?}");
    assert_eq!(msg.authorities.len(), 1, "one SOA in authority: {msg:?}");
    let soa = &msg.authorities[0];
    assert_eq!(soa.record_type(), RecordType::SOA);
    assert_eq!(soa.name.to_ascii(), origin);
    assert_eq!(soa.ttl, ttl, "negative TTL = min(SOA TTL, MINIMUM)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authoritative_answer_has_aa_and_no_ra() {
    let hale = example().await;
    let msg = hale
        .ask_udp(&Ask::new("www.example.com", RecordType::A).rd(true))
        .await;
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert!(msg.metadata.authoritative, "AA");
    assert!(
        msg.metadata.recursion_desired,
        "RD is copied from the query"
    );
    assert!(!msg.metadata.recursion_available, "RA is never set");
    assert_eq!(a_addrs(&msg), [Ipv4Addr::new(192, 0, 2, 1)]);
    assert_eq!(msg.answers[0].ttl, 300, "$TTL applies");
    let msg = hale.udp("www.example.com", RecordType::AAAA).await;
    assert_eq!(
        aaaa_addrs(&msg),
        ["2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap()]
    );
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nxdomain_and_nodata_carry_the_soa_with_negative_ttl() {
    let hale = example().await;
    let nx = hale.udp("nothere.example.com", RecordType::A).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert!(nx.metadata.authoritative);
    assert_soa_authority(&nx, "example.com.", 60);

    let nodata = hale.udp("www.example.com", RecordType::MX).await;
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.metadata.authoritative);
    assert_soa_authority(&nodata, "example.com.", 60);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_ttl_is_the_soa_ttl_when_that_is_smaller() {
    // SOA TTL 30 < MINIMUM 300: the other side of min().
    let zone = "$ORIGIN example.org.\n@ 30 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n\
                @ 300 IN NS ns1\nns1 300 IN A 192.0.2.53\n";
    let hale = Hale::start(SERVER, &[("example.org.zone", zone)]).await;
    let nx = hale.udp("nothere.example.org", RecordType::A).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert_soa_authority(&nx, "example.org.", 30);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cname_chains_are_followed_inside_the_zone_only() {
    let hale = example().await;
    let msg = hale.udp("alias2.example.com", RecordType::A).await;
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert!(msg.metadata.authoritative);
    assert_eq!(
        answer_types(&msg),
        [RecordType::CNAME, RecordType::CNAME, RecordType::A]
    );
    let owners: Vec<String> = msg.answers.iter().map(|r| r.name.to_ascii()).collect();
    assert_eq!(
        owners,
        [
            "alias2.example.com.",
            "alias.example.com.",
            "www.example.com."
        ]
    );
    assert_eq!(a_addrs(&msg), [Ipv4Addr::new(192, 0, 2, 1)]);

    let out = hale.udp("outside.example.com", RecordType::A).await;
    assert_eq!(out.metadata.response_code, ResponseCode::NoError);
    assert!(out.metadata.authoritative);
    assert_eq!(
        answer_types(&out),
        [RecordType::CNAME],
        "just the CNAME: {out:?}"
    );
    match &out.answers[0].data {
        RData::CNAME(target) => assert_eq!(target.0.to_ascii(), "www.example.net."),
        other => panic!("expected a CNAME, got {other:?}"),
    }

    // NSD: the CNAME, then NXDOMAIN with the SOA for the missing target.
    let dangling = hale.udp("dangling.example.com", RecordType::A).await;
    assert_eq!(dangling.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(answer_types(&dangling), [RecordType::CNAME]);
    assert_eq!(dangling.authorities.len(), 1);
    assert_eq!(dangling.authorities[0].record_type(), RecordType::SOA);

    // Asking for the CNAME itself answers it without following.
    let itself = hale.udp("alias.example.com", RecordType::CNAME).await;
    assert_eq!(answer_types(&itself), [RecordType::CNAME]);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcards_synthesise_with_the_query_name() {
    let hale = example().await;
    for qname in ["anything.wild.example.com.", "x.y.wild.example.com."] {
        let msg = hale.udp(qname, RecordType::A).await;
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError, "{qname}");
        assert!(msg.metadata.authoritative, "{qname}");
        assert_eq!(a_addrs(&msg), [Ipv4Addr::new(192, 0, 2, 99)], "{qname}");
        assert_eq!(msg.answers[0].name.to_ascii(), qname, "owner = query name");
    }
    let txt = hale.udp("anything.wild.example.com", RecordType::TXT).await;
    assert_eq!(txt_strings(&txt), ["wild"]);
    // A wildcard without the asked type: NODATA.
    let mx = hale.udp("anything.wild.example.com", RecordType::MX).await;
    assert_eq!(mx.metadata.response_code, ResponseCode::NoError);
    assert_soa_authority(&mx, "example.com.", 60);

    // An existing name is never wildcard-expanded: NODATA, not 192.0.2.99.
    let real = hale.udp("real.wild.example.com", RecordType::A).await;
    assert_eq!(real.metadata.response_code, ResponseCode::NoError);
    assert_soa_authority(&real, "example.com.", 60);
    // Nor is an empty non-terminal.
    let ent = hale.udp("ent.wild.example.com", RecordType::A).await;
    assert_eq!(ent.metadata.response_code, ResponseCode::NoError);
    assert_soa_authority(&ent, "example.com.", 60);
    // Below an existing name the wildcard one level up does not apply (RFC 4592).
    let below = hale.udp("x.ent.wild.example.com", RecordType::A).await;
    assert_eq!(below.metadata.response_code, ResponseCode::NXDomain);
    assert_soa_authority(&below, "example.com.", 60);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_non_terminals_are_nodata() {
    let hale = example().await;
    for qname in ["deep.example.com", "b.deep.example.com"] {
        let msg = hale.udp(qname, RecordType::A).await;
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError, "{qname}");
        assert!(msg.metadata.authoritative);
        assert_soa_authority(&msg, "example.com.", 60);
    }
    let leaf = hale.udp("a.b.deep.example.com", RecordType::A).await;
    assert_eq!(a_addrs(&leaf), [Ipv4Addr::new(192, 0, 2, 7)]);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegations_get_a_referral_with_glue() {
    let hale = example().await;
    for (qname, qtype) in [
        ("sub.example.com", RecordType::A),
        ("host.sub.example.com", RecordType::A),
        ("sub.example.com", RecordType::NS),
        ("ns.sub.example.com", RecordType::A),
    ] {
        let msg = hale.udp(qname, qtype).await;
        let what = format!("{qname} {qtype}: {msg:?}");
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError, "{what}");
        assert!(!msg.metadata.authoritative, "referral has AA clear: {what}");
        assert!(msg.answers.is_empty(), "{what}");
        let mut ns: Vec<String> = msg
            .authorities
            .iter()
            .map(|r| {
                assert_eq!(r.record_type(), RecordType::NS, "{what}");
                assert_eq!(r.name.to_ascii(), "sub.example.com.", "{what}");
                match &r.data {
                    RData::NS(n) => n.0.to_ascii(),
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        ns.sort();
        assert_eq!(ns, ["ns.elsewhere.net.", "ns.sub.example.com."], "{what}");
        let mut glue: Vec<(String, RecordType, String)> = msg
            .additionals
            .iter()
            .map(|r| (r.name.to_ascii(), r.record_type(), r.data.to_string()))
            .collect();
        glue.sort();
        assert_eq!(
            glue,
            [
                (
                    "ns.sub.example.com.".into(),
                    RecordType::A,
                    "192.0.2.100".into()
                ),
                (
                    "ns.sub.example.com.".into(),
                    RecordType::AAAA,
                    "2001:db8::100".into()
                ),
            ],
            "{what}"
        );
    }
    // DS belongs to the parent side of the cut: authoritative NODATA here.
    let ds = hale.udp("sub.example.com", RecordType::DS).await;
    assert_eq!(ds.metadata.response_code, ResponseCode::NoError);
    assert!(ds.metadata.authoritative, "{ds:?}");
    assert_soa_authority(&ds, "example.com.", 60);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edns_is_echoed_and_the_udp_size_honoured() {
    let hale = example().await;
    let plain = hale.udp("www.example.com", RecordType::A).await;
    assert!(plain.edns.is_none(), "no OPT without EDNS in the query");
    let with = hale
        .ask_udp(&Ask::new("www.example.com", RecordType::A).edns(1232))
        .await;
    let opt = with.edns.as_ref().expect("OPT in the response");
    assert_eq!(opt.version(), 0);
    assert_eq!(a_addrs(&with), [Ipv4Addr::new(192, 0, 2, 1)]);

    // ~3.4 KB of TXT: truncated without EDNS and at 1232, whole at 4096 and over TCP.
    for ask in [
        Ask::new("big.example.com", RecordType::TXT),
        Ask::new("big.example.com", RecordType::TXT).edns(1232),
    ] {
        let msg = hale.ask_udp(&ask).await;
        assert!(msg.metadata.truncation, "TC for {:?}", ask.edns);
        assert!(msg.answers.is_empty(), "truncated answer is empty");
        assert_eq!(msg.queries.len(), 1, "the question stays");
        assert_eq!(msg.edns.is_some(), ask.edns.is_some(), "OPT iff asked");
    }
    let big = hale
        .ask_udp(&Ask::new("big.example.com", RecordType::TXT).edns(4096))
        .await;
    assert!(!big.metadata.truncation);
    assert_eq!(txt_strings(&big).len(), 30);

    let tcp = hale.tcp("big.example.com", RecordType::TXT).await;
    assert!(!tcp.metadata.truncation, "TCP answers are never truncated");
    assert!(tcp.metadata.authoritative);
    let mut strings = txt_strings(&tcp);
    strings.sort();
    assert_eq!(strings.len(), 30);
    assert!(strings[0].starts_with("00x") && strings[29].starts_with("29x"));
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_outside_every_zone_are_refused() {
    let hale = example().await;
    for ask in [
        Ask::new("www.example.net", RecordType::A),
        Ask::new("com", RecordType::NS).rd(true),
        Ask::new(".", RecordType::SOA),
        // Class CH (3): only IN data exists here.
        Ask::new("www.example.com", RecordType::A).qclass(3),
    ] {
        let msg = hale.ask_udp(&ask).await;
        assert_eq!(msg.metadata.response_code, ResponseCode::Refused, "{ask:?}");
        assert!(!msg.metadata.authoritative);
        assert!(msg.answers.is_empty());
    }
    let tcp = hale.tcp("www.example.net", RecordType::A).await;
    assert_eq!(tcp.metadata.response_code, ResponseCode::Refused);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edns_version_above_zero_gets_badvers() {
    let hale = example().await;
    let msg = hale
        .ask_udp(&Ask::new("www.example.com", RecordType::A).edns_version(1))
        .await;
    assert_eq!(rcode(&msg), 16, "BADVERS is extended rcode 16: {msg:?}");
    let opt = msg.edns.as_ref().expect("BADVERS travels in an OPT");
    assert_eq!(opt.version(), 0, "we speak version 0");
    assert!(msg.answers.is_empty());
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_opcode_gets_notimp_with_only_qr_and_opcode() {
    let hale = example().await;
    let ask = Ask::new("www.example.com", RecordType::A)
        .opcode(3)
        .rd(true);
    let raw = hale.udp_exchange(&ask.to_bytes()).await;
    let flags = u16::from_be_bytes([raw[2], raw[3]]);
    assert_eq!(flags & 0xf, 4, "NOTIMP");
    assert_eq!(
        flags & 0xfff0,
        0x8000 | (3 << 11),
        "only QR and the opcode: {flags:#06x}"
    );
    let msg = decode(&raw);
    assert_eq!(msg.metadata.id, ask.id);
    assert!(msg.answers.is_empty() && msg.authorities.is_empty());
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_get_formerr_and_garbage_is_dropped() {
    let hale = example().await;
    // Two questions.
    let mut two = Ask::new("www.example.com", RecordType::A).to_bytes();
    let question = two[12..].to_vec();
    two[5] = 2;
    two.extend_from_slice(&question);
    let msg = decode(&hale.udp_exchange(&two).await);
    assert_eq!(msg.metadata.response_code, ResponseCode::FormErr);
    assert_eq!(msg.metadata.id, u16::from_be_bytes([two[0], two[1]]));

    // A question cut off in the middle of its name.
    let whole = Ask::new("www.example.com", RecordType::A).to_bytes();
    let cut = &whole[..12 + 6];
    let msg = decode(&hale.udp_exchange(cut).await);
    assert_eq!(msg.metadata.response_code, ResponseCode::FormErr);
    assert!(!msg.metadata.recursion_available);

    // Shorter than a header: no reply at all, and the server keeps serving.
    assert_eq!(hale.query_raw_udp(&[0x12, 0x34, 0x01]).await, None);
    let after = hale.udp("www.example.com", RecordType::A).await;
    assert_eq!(a_addrs(&after), [Ipv4Addr::new(192, 0, 2, 1)]);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_match_case_insensitively_and_echo_the_question() {
    let hale = example().await;
    for msg in [
        hale.udp("WwW.ExAmPlE.CoM.", RecordType::A).await,
        hale.tcp("WwW.ExAmPlE.CoM.", RecordType::A).await,
    ] {
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
        assert_eq!(
            msg.queries[0].name().to_ascii(),
            "WwW.ExAmPlE.CoM.",
            "case echoed"
        );
        assert_eq!(a_addrs(&msg), [Ipv4Addr::new(192, 0, 2, 1)]);
        assert!(
            msg.answers[0]
                .name
                .to_ascii()
                .eq_ignore_ascii_case("www.example.com.")
        );
    }
    let wild = hale.udp("FoO.WiLd.example.com", RecordType::A).await;
    assert_eq!(wild.queries[0].name().to_ascii(), "FoO.WiLd.example.com.");
    assert_eq!(a_addrs(&wild), [Ipv4Addr::new(192, 0, 2, 99)]);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_file_syntax_origin_ttl_include_at_and_parentheses() {
    // No $ORIGIN: the origin comes from the file name. $INCLUDE is relative to the file.
    let main = "; example.org, origin from the file name\n\
                $TTL 120 ; default TTL\n\
                @ IN SOA ns1 hostmaster (\n  1 ; serial\n  7200 900\n  1209600 60 )\n\
                @ IN NS ns1\n\
                @ IN A 192.0.2.10          ; the apex itself\n\
                ns1 IN A 192.0.2.53\n\
                $INCLUDE inc/hosts.inc\n\
                $ORIGIN lab.example.org.\n\
                box 45 IN A 192.0.2.12     ; relative to the new origin, own TTL\n";
    let include = "mail IN A 192.0.2.11\n@ IN MX 10 mail\n";
    let hale = Hale::start(
        SERVER,
        &[("example.org.zone", main), ("inc/hosts.inc", include)],
    )
    .await;
    let apex = hale.udp("example.org", RecordType::A).await;
    assert_eq!(a_addrs(&apex), [Ipv4Addr::new(192, 0, 2, 10)]);
    assert_eq!(apex.answers[0].ttl, 120);
    let mail = hale.udp("mail.example.org", RecordType::A).await;
    assert_eq!(a_addrs(&mail), [Ipv4Addr::new(192, 0, 2, 11)]);
    let mx = hale.udp("example.org", RecordType::MX).await;
    assert_eq!(answer_types(&mx), [RecordType::MX]);
    // MX targets inside the zone come with their address.
    assert!(
        mx.additionals
            .iter()
            .any(|r| r.record_type() == RecordType::A)
    );
    let others = hale.udp("box.lab.example.org", RecordType::A).await;
    assert_eq!(a_addrs(&others), [Ipv4Addr::new(192, 0, 2, 12)]);
    assert_eq!(others.answers[0].ttl, 45);
    let soa = hale.udp("example.org", RecordType::SOA).await;
    match &soa.answers[0].data {
        RData::SOA(s) => assert_eq!((s.serial, s.minimum), (1, 60)),
        other => panic!("expected the SOA, got {other:?}"),
    }
    let status = hale.status().await;
    assert_eq!(status["zones"][0]["origin"], "example.org.");
    assert_eq!(hale.admin_get("/healthz").await.0, 200);
    hale.shutdown().await;
}

/// The three places hale deliberately differs from NSD (see `nsd_interop`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliberate_differences_from_nsd() {
    let hale = example().await;
    // ANY: one RRset (RFC 8482), the addresses first.
    let msg = hale.udp("www.example.com", RecordType::ANY).await;
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert!(msg.metadata.authoritative);
    assert_eq!(answer_types(&msg), [RecordType::A], "{msg:?}");
    let msg = hale.tcp("big.example.com", RecordType::ANY).await;
    assert_eq!(answer_types(&msg).len(), 30, "one whole RRset: {msg:?}");
    assert!(answer_types(&msg).iter().all(|t| *t == RecordType::TXT));
    // Class HS: REFUSED with the question echoed.
    let msg = hale
        .ask_udp(&Ask::new("www.example.com", RecordType::A).qclass(4))
        .await;
    assert_eq!(msg.metadata.response_code, ResponseCode::Refused);
    assert_eq!(msg.queries.len(), 1, "question echoed");
    // NOTIFY: not implemented, bare header.
    let msg = hale
        .ask_udp(&Ask::new("example.com", RecordType::SOA).opcode(4))
        .await;
    assert_eq!(msg.metadata.response_code, ResponseCode::NotImp);
    assert!(msg.queries.is_empty() && msg.answers.is_empty());
    hale.shutdown().await;
}

/// DS belongs to the parent side of a cut, also when hale serves both zones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ds_is_answered_by_the_parent() {
    let parent = format!(
        "{EXAMPLE_ZONE_HEAD}child IN NS ns.child\nns.child IN A 192.0.2.53\n\
         child IN DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE34F1B1F3B7B1E3B6A5D6B8A1\n"
    );
    let child = "$TTL 300\n@ SOA ns hostmaster 1 3600 900 1209600 60\n@ NS ns\nns A 192.0.2.53\n";
    let hale = Hale::start(
        SERVER,
        &[
            ("example.com.zone", &parent),
            ("child.example.com.zone", child),
        ],
    )
    .await;
    let msg = hale.udp("child.example.com", RecordType::DS).await;
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert!(msg.metadata.authoritative, "{msg:?}");
    assert_eq!(answer_types(&msg), [RecordType::DS], "{msg:?}");
    // Everything else at the child's apex comes from the child.
    let msg = hale.udp("child.example.com", RecordType::SOA).await;
    assert_eq!(msg.answers[0].name.to_ascii(), "child.example.com.");
    assert!(msg.metadata.authoritative);
    hale.shutdown().await;
}

/// RFC 7766 §6.2.1.1: queries pipelined on one TCP connection, sent in one
/// write, all get answered in order, and the connection stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_pipelined_queries_are_all_answered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hale = example().await;
    let mut stream = tokio::net::TcpStream::connect(hale.dns_addr())
        .await
        .expect("connect");
    let names = ["www", "nothere", "alias", "big", "www"];
    for round in 0..2u16 {
        let mut burst = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let mut q = Ask::new(&format!("{n}.example.com"), RecordType::A).to_bytes();
            q[0..2].copy_from_slice(&(round * 100 + i as u16).to_be_bytes());
            burst.extend_from_slice(&(q.len() as u16).to_be_bytes());
            burst.extend_from_slice(&q);
        }
        stream.write_all(&burst).await.expect("write burst");
        for i in 0..names.len() {
            let mut len = [0u8; 2];
            tokio::time::timeout(
                std::time::Duration::from_secs(10),
                stream.read_exact(&mut len),
            )
            .await
            .expect("answer in time")
            .expect("read length");
            let mut answer = vec![0u8; u16::from_be_bytes(len) as usize];
            stream.read_exact(&mut answer).await.expect("read answer");
            let msg = decode(&answer);
            assert_eq!(msg.metadata.id, round * 100 + i as u16, "answers in order");
        }
    }
    hale.shutdown().await;
}
