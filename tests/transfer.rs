//! Zone transfers: AXFR (and IXFR, answered in full) over TCP to clients in
//! `[transfer] allow`, carrying the health-filtered zone; REFUSED to everyone
//! else and over UDP; FORMERR for an IXFR without the client's SOA.

use std::collections::BTreeSet;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::support::{
    Ask, Backend, EXAMPLE_ZONE_HEAD, Hale, Mode, SERVER, answer_types, backends, connect_from,
    decode, eventually, read_framed, send_framed, udp_exchange_on,
};

/// Sends `qtype` for example.com from `source` and reads messages until the
/// closing SOA (or a single non-NOERROR message).
/// An IXFR carries the client's SOA (RFC 1995 §3), here at serial 1: older
/// than any hale serves, so the answer is the whole zone.
async fn transfer_from(hale: &Hale, source: &str, qtype: RecordType) -> Vec<Message> {
    let mut stream = connect_from(source, hale.dns_addr()).await;
    let q = match qtype {
        RecordType::IXFR => ixfr_query(1),
        _ => Ask::new("example.com", qtype).to_bytes(),
    };
    send_framed(&mut stream, &q).await;
    let mut messages = Vec::new();
    let mut soas = 0;
    loop {
        let msg = decode(&read_framed(&mut stream).await);
        assert_eq!(msg.metadata.id, decode(&q).metadata.id);
        let done = msg.metadata.response_code != ResponseCode::NoError;
        soas += msg
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::SOA)
            .count();
        messages.push(msg);
        if done || soas >= 2 {
            return messages;
        }
    }
}

fn records(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| m.answers.iter().map(|r| r.to_string()))
        .collect()
}

/// example.com with `www` on both backends, then `more`.
fn www_zone(b: &[Backend], more: &str) -> String {
    format!(
        "{EXAMPLE_ZONE_HEAD}www IN A {}\nwww IN A {}\n{more}",
        b[0].ip(),
        b[1].ip()
    )
}

/// A config with `transfer` as its [transfer] section and `www` checked on
/// the backends' port every 100 ms, with `schedule` (timeout, rise, fall).
fn www_config(b: &[Backend], transfer: &str, schedule: &str) -> String {
    format!(
        "{SERVER}\n[transfer]\n{transfer}\n\n\
         [[check]]\nnames = [\"www.example.com.\"]\nport = {}\npath = \"/healthz\"\n\
         interval = \"100ms\"\n{schedule}\n",
        b[0].port()
    )
}

/// Probes that decide at once.
const QUICK: &str = "timeout = \"1s\"\nrise = 1\nfall = 1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_clients_get_the_health_filtered_zone() {
    let b = backends(2).await;
    let mut zone = www_zone(
        &b,
        "mail IN MX 10 mx\nmx IN A 192.0.2.25\n\
         *.wild IN TXT \"w\"\nsub IN NS ns.sub\nns.sub IN A 192.0.2.99\n",
    );
    // Enough data for several messages.
    for i in 0..300 {
        zone.push_str(&format!("t{i} IN TXT \"{}\"\n", "x".repeat(200)));
    }
    let config = www_config(&b, "allow = [\"127.0.0.0/30\", \"::1\"]", QUICK);
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;

    let messages = transfer_from(&hale, "127.0.0.1", RecordType::AXFR).await;
    assert!(
        messages.len() > 2,
        "300 × 200 B of TXT take several messages"
    );
    let first = &messages[0];
    assert!(first.metadata.authoritative);
    assert_eq!(
        first.queries.len(),
        1,
        "the question is in the first message"
    );
    let all = records(&messages);
    assert!(
        all.first().is_some_and(|r| r.contains("SOA")),
        "{:?}",
        all.first()
    );
    assert!(
        all.last().is_some_and(|r| r.contains("SOA")),
        "{:?}",
        all.last()
    );
    assert_eq!(all.first(), all.last());
    let set: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        set.len() + 1,
        all.len(),
        "no record twice but the closing SOA"
    );
    // SOA, NS, ns1, 2 www, MX, mx, wildcard TXT, sub NS + glue, 300 TXT.
    assert_eq!(all.len(), 2 + 1 + 1 + 2 + 1 + 1 + 1 + 2 + 300, "{all:#?}");
    for needle in [
        "*.wild.example.com.",
        "ns.sub.example.com.",
        "mail.example.com.",
    ] {
        assert!(
            all.iter().any(|r| r.starts_with(needle)),
            "{needle} missing"
        );
    }

    // A failing backend leaves the transferred zone as it leaves answers.
    b[1].set_mode(Mode::Status(503)).await;
    let failing = b[1].ip();
    let failing = &failing;
    let h = &hale;
    eventually("the failing address leaves the transfer", || async move {
        let all = records(&transfer_from(h, "127.0.0.2", RecordType::AXFR).await);
        all.iter()
            .filter(|r| r.starts_with("www.example.com."))
            .count()
            == 1
            && !all.iter().any(|r| r.ends_with(failing.as_str()))
    })
    .await;

    // IXFR gets the whole zone in AXFR form.
    let ixfr = records(&transfer_from(&hale, "127.0.0.1", RecordType::IXFR).await);
    assert_eq!(ixfr.len(), all.len() - 1);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_else_is_refused() {
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    let config = format!("{SERVER}\n[transfer]\nallow = [\"127.0.0.2\"]\n");
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    // An IXFR without the client's SOA is malformed (RFC 1995 §3), allowed
    // client or not.
    for source in ["127.0.0.1", "127.0.0.2"] {
        let mut stream = connect_from(source, hale.dns_addr()).await;
        send_framed(
            &mut stream,
            &Ask::new("example.com", RecordType::IXFR).to_bytes(),
        )
        .await;
        let reply = decode(&read_framed(&mut stream).await);
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::FormErr,
            "{source}"
        );
    }
    for qtype in [RecordType::AXFR, RecordType::IXFR] {
        let refused = transfer_from(&hale, "127.0.0.1", qtype).await;
        assert_eq!(refused.len(), 1);
        assert_eq!(
            refused[0].metadata.response_code,
            ResponseCode::Refused,
            "{qtype}"
        );
        assert!(refused[0].answers.is_empty());
        // Over UDP, never zone data, even for an allowed client: AXFR is
        // refused, IXFR gets the SOA alone (RFC 1995 §2: ask over TCP).
        let socket = hale.client_socket_from("127.0.0.2").await;
        let query = match qtype {
            RecordType::IXFR => ixfr_query(1),
            _ => Ask::new("example.com", qtype).to_bytes(),
        };
        let msg = decode(&udp_exchange_on(&socket, &query).await);
        if qtype == RecordType::AXFR {
            assert_eq!(msg.metadata.response_code, ResponseCode::Refused);
            assert!(msg.answers.is_empty());
        } else {
            assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
            assert!(msg.metadata.authoritative);
            assert_eq!(answer_types(&msg), [RecordType::SOA], "IXFR over UDP");
        }
    }
    // Allowed, but not a zone apex we serve.
    let mut stream = connect_from("127.0.0.2", hale.dns_addr()).await;
    let q = Ask::new("www.example.com", RecordType::AXFR).to_bytes();
    send_framed(&mut stream, &q).await;
    let answer = decode(&read_framed(&mut stream).await);
    assert_eq!(answer.metadata.response_code, ResponseCode::Refused);
    hale.shutdown().await;
}

/// RFC 1982: whether serial `a` is later than `b`.
fn later(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

/// The SOA serial in `records` (an answer or authority section).
fn soa_serial(records: &[hickory_proto::rr::Record]) -> Option<u32> {
    records.iter().find_map(|r| match &r.data {
        hickory_proto::rr::RData::SOA(soa) => Some(soa.serial),
        _ => None,
    })
}

/// The next NOTIFY `secondary` receives for `zone` (others are answered
/// and skipped), and where it came from.
async fn next_notify(
    secondary: &tokio::net::UdpSocket,
    zone: &str,
) -> (Message, std::net::SocketAddr) {
    let mut buf = [0u8; 2048];
    loop {
        let (n, from) =
            tokio::time::timeout(crate::support::DEADLINE, secondary.recv_from(&mut buf))
                .await
                .expect("a NOTIFY within the deadline")
                .expect("recv");
        let msg = decode(&buf[..n]);
        assert_eq!(msg.metadata.op_code, hickory_proto::op::OpCode::Notify);
        assert_eq!(
            msg.metadata.message_type,
            hickory_proto::op::MessageType::Query
        );
        assert!(
            msg.metadata.authoritative,
            "NOTIFY has AA set (RFC 1996 §3.7)"
        );
        assert_eq!(msg.queries.len(), 1);
        assert_eq!(msg.queries[0].query_type(), RecordType::SOA);
        if msg.queries[0].name().to_ascii() == zone {
            return (msg, from);
        }
        acknowledge(secondary, &msg, from).await;
    }
}

/// Answers a NOTIFY as a secondary does: same ID and question, QR set.
async fn acknowledge(
    secondary: &tokio::net::UdpSocket,
    notify: &Message,
    to: std::net::SocketAddr,
) {
    let mut reply = Message::response(notify.metadata.id, hickory_proto::op::OpCode::Notify);
    reply.metadata.authoritative = true;
    reply.add_query(notify.queries[0].clone());
    let bytes = reply.to_vec().expect("encode");
    secondary.send_to(&bytes, to).await.expect("send");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secondaries_are_notified_and_the_serial_follows_health() {
    let b = backends(2).await;
    let secondary = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let zone = www_zone(&b, "");
    let other = "$TTL 300\n@ IN SOA ns1.other.test. h.other.test. 7 3600 900 86400 60\n\
                 @ IN NS ns1.other.test.\nns1 IN A 192.0.2.53\n";
    let notify = secondary.local_addr().expect("addr");
    let config = www_config(
        &b,
        &format!("allow = [\"127.0.0.1\"]\nnotify = [\"{notify}\"]"),
        QUICK,
    );
    let hale = Hale::start(
        &config,
        &[("example.com.zone", &zone), ("other.test.zone", other)],
    )
    .await;

    // At start every zone is announced. The first NOTIFY goes unanswered:
    // hale sends it again, the same message.
    let (first, _) = next_notify(&secondary, "example.com.").await;
    let (again, _) = next_notify(&secondary, "example.com.").await;
    assert_eq!(
        again.metadata.id, first.metadata.id,
        "a retry, not a new NOTIFY"
    );
    let s1 = soa_serial(&first.answers).expect("the NOTIFY carries the SOA");
    assert!(
        later(s1, 2024010101),
        "a zone with checked names rises above the file's serial: {s1}"
    );

    // What answers and transfers carry is that serial.
    let soa = hale.udp("example.com", RecordType::SOA).await;
    assert_eq!(soa_serial(&soa.answers), Some(s1));
    let nx = hale.udp("nope.example.com", RecordType::A).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(
        soa_serial(&nx.authorities),
        Some(s1),
        "negative answers too"
    );
    let nodata = hale.udp("www.example.com", RecordType::TXT).await;
    assert_eq!(soa_serial(&nodata.authorities), Some(s1));
    let axfr = transfer_from(&hale, "127.0.0.1", RecordType::AXFR).await;
    assert_eq!(soa_serial(&axfr[0].answers), Some(s1));
    // A zone without checked names takes an offset too (should it gain
    // one later, or lose it, its serial must not fall).
    let static_soa = hale.udp("other.test", RecordType::SOA).await;
    let t1 = soa_serial(&static_soa.answers).expect("SOA");
    assert!(later(t1, 7), "{t1}");
    let status = hale.status().await;
    let served: Vec<(String, u64)> = status["zones"]
        .as_array()
        .expect("zones")
        .iter()
        .map(|z| {
            (
                z["origin"].as_str().unwrap_or("").to_string(),
                z["serial"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        served,
        [
            ("example.com.".to_string(), u64::from(s1)),
            ("other.test.".to_string(), u64::from(t1))
        ],
        "/status shows the serials served"
    );

    // A health change: a new, later serial, announced and served. The
    // NOTIFY of s1 was never answered: the newer one replaces it, with an
    // ID of its own, and an answer to it ends the sending.
    b[1].set_mode(Mode::Status(503)).await;
    let (down, from) = loop {
        let (msg, from) = next_notify(&secondary, "example.com.").await;
        if soa_serial(&msg.answers) != Some(s1) {
            break (msg, from);
        }
    };
    assert_ne!(down.metadata.id, first.metadata.id);
    acknowledge(&secondary, &down, from).await;
    let s2 = soa_serial(&down.answers).expect("SOA");
    assert!(later(s2, s1), "{s2} after {s1}");
    let soa = hale.tcp("example.com", RecordType::SOA).await;
    assert_eq!(soa_serial(&soa.answers), Some(s2));
    let nx = hale.udp("nope.example.com", RecordType::A).await;
    assert_eq!(soa_serial(&nx.authorities), Some(s2));
    let axfr = records(&transfer_from(&hale, "127.0.0.1", RecordType::AXFR).await);
    let failing = b[1].ip();
    assert!(axfr[0].contains(&s2.to_string()), "{}", axfr[0]);
    assert!(
        !axfr.iter().any(|r| r.ends_with(failing.as_str())),
        "{axfr:#?}"
    );

    // And back.
    b[1].set_mode(Mode::Healthy).await;
    let (up, from) = next_notify(&secondary, "example.com.").await;
    acknowledge(&secondary, &up, from).await;
    let s3 = soa_serial(&up.answers).expect("SOA");
    assert!(later(s3, s2), "{s3} after {s2}");

    // A reload keeps each zone's offset: a raised file serial shows through
    // (and is announced); an unchanged zone keeps its serial.
    hale.rewrite_zone("other.test.zone", &other.replace(" 7 ", " 8 "));
    hale.reload().await.expect("reload");
    let (bumped, from) = next_notify(&secondary, "other.test.").await;
    acknowledge(&secondary, &bumped, from).await;
    assert_eq!(soa_serial(&bumped.answers), Some(t1.wrapping_add(1)));
    let soa = hale.udp("example.com", RecordType::SOA).await;
    assert_eq!(soa_serial(&soa.answers), Some(s3));

    // Each acknowledged NOTIFY is counted: other.test at start, example.com
    // once for s1 and s2 (one task: s2 replaced s1 unanswered), s3, and
    // other.test after the reload.
    let h = &hale;
    eventually("acknowledged NOTIFYs are counted", || async move {
        h.counter("hale_notifies_total{result=\"acknowledged\"}")
            .await
            >= 4.0
    })
    .await;
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_transfers_the_serial_is_the_files() {
    let b = backends(1).await;
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A {}\n", b[0].ip());
    let config = format!(
        "{SERVER}\n[[check]]\nnames = [\"www.example.com.\"]\nport = {}\n\
         interval = \"100ms\"\nrise = 1\nfall = 1\n",
        b[0].port()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let soa = hale.udp("example.com", RecordType::SOA).await;
    assert_eq!(soa_serial(&soa.answers), Some(2024010101));
    let nx = hale.udp("nope.example.com", RecordType::A).await;
    assert_eq!(soa_serial(&nx.authorities), Some(2024010101));
    hale.shutdown().await;
}

/// One IXFR from `serial` over TCP; its answer records (the transfer of a
/// small zone fits one message).
async fn ixfr(hale: &Hale, serial: u32) -> Vec<hickory_proto::rr::Record> {
    let mut stream = connect_from("127.0.0.1", hale.dns_addr()).await;
    send_framed(&mut stream, &ixfr_query(serial)).await;
    let reply = decode(&read_framed(&mut stream).await);
    assert_eq!(reply.metadata.id, 4242);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    reply.answers
}

/// An IXFR query for example.com from a client at `serial`, ID 4242.
fn ixfr_query(serial: u32) -> Vec<u8> {
    use hickory_proto::rr::{Name, RData, Record, rdata::SOA};
    let origin = Name::from_ascii("example.com.").expect("name");
    let mut query = Message::query();
    query.metadata.id = 4242;
    query.add_query(hickory_proto::op::Query::query(
        origin.clone(),
        RecordType::IXFR,
    ));
    let soa = SOA::new(
        Name::from_ascii("ns1.example.com.").expect("name"),
        Name::from_ascii("hostmaster.example.com.").expect("name"),
        serial,
        7200,
        900,
        1209600,
        60,
    );
    query.add_authority(Record::from_rdata(origin, 3600, RData::SOA(soa)));
    query.to_vec().expect("encode")
}

/// The serial example.com is served with once it is no longer `before`.
async fn serial_after(hale: &Hale, before: u32) -> u32 {
    let serial = || async { soa_serial(&hale.udp("example.com", RecordType::SOA).await.answers) };
    eventually("the serial moves", || async move {
        serial().await != Some(before)
    })
    .await;
    serial().await.expect("SOA")
}

/// Each record as `TYPE data` with SOAs as their serial, in order.
fn ixfr_shape(records: &[hickory_proto::rr::Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| match &r.data {
            hickory_proto::rr::RData::SOA(soa) => format!("SOA {}", soa.serial),
            data => format!("{} {data}", r.record_type()),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixfr_sends_only_the_addresses_that_changed() {
    let b = backends(2).await;
    let zone = www_zone(&b, "static IN A 192.0.2.7\n");
    let config = www_config(&b, "allow = [\"127.0.0.1\"]", QUICK);
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let serial_now = || async {
        soa_serial(&hale.udp("example.com", RecordType::SOA).await.answers).expect("SOA")
    };
    let s1 = serial_now().await;

    // Up to date: the SOA alone (RFC 1995 §2).
    assert_eq!(ixfr_shape(&ixfr(&hale, s1).await), [format!("SOA {s1}")]);
    // A serial hale never served: the whole zone, in AXFR form.
    let full = ixfr(&hale, s1.wrapping_sub(1000)).await;
    assert_eq!(full.len(), 7, "SOA, NS, ns1, 2 www, static, SOA: {full:#?}");

    b[1].set_mode(Mode::Status(503)).await;
    let s2 = serial_after(&hale, s1).await;
    // From s1: one condensed difference, the failing address deleted.
    assert_eq!(
        ixfr_shape(&ixfr(&hale, s1).await),
        [
            format!("SOA {s2}"),
            format!("SOA {s1}"),
            format!("A {}", b[1].ip()),
            format!("SOA {s2}"),
            format!("SOA {s2}"),
        ]
    );

    b[1].set_mode(Mode::Healthy).await;
    let s3 = serial_after(&hale, s2).await;
    // From s2: the address added back; from s1 nothing changed in between.
    assert_eq!(
        ixfr_shape(&ixfr(&hale, s2).await),
        [
            format!("SOA {s3}"),
            format!("SOA {s2}"),
            format!("SOA {s3}"),
            format!("A {}", b[1].ip()),
            format!("SOA {s3}"),
        ]
    );
    assert_eq!(
        ixfr_shape(&ixfr(&hale, s1).await),
        [
            format!("SOA {s3}"),
            format!("SOA {s1}"),
            format!("SOA {s3}"),
            format!("SOA {s3}"),
        ]
    );

    // A reload starts the history again: the whole zone.
    hale.reload().await.expect("reload");
    assert_eq!(ixfr(&hale, s2).await.len(), 7);
    assert_eq!(serial_now().await, s3, "nothing a transfer carries changed");

    // A reload that changes what the checked name transfers (its TTL)
    // moves the serial like a health change.
    hale.rewrite_config(&config.replace("rise = 1", "rise = 1\nttl = 10"));
    hale.reload().await.expect("reload");
    let s4 = serial_now().await;
    assert!(later(s4, s3), "{s4} after {s3}");
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_notify_waits_for_probe_results() {
    let b = backends(2).await;
    // Failing before hale starts: until probed it counts as healthy.
    b[1].set_mode(Mode::Status(503)).await;
    let secondary = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let zone = www_zone(&b, "");
    // NOTIFYs wait fall × interval + timeout = 3.2 s; the failing backend
    // answers 503 at once, so two probes take it down well before.
    let notify = secondary.local_addr().expect("addr");
    let config = www_config(
        &b,
        &format!("allow = [\"127.0.0.1\"]\nnotify = [\"{notify}\"]"),
        "timeout = \"3s\"\nrise = 1\nfall = 2",
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let (first, from) = next_notify(&secondary, "example.com.").await;
    acknowledge(&secondary, &first, from).await;
    let announced = soa_serial(&first.answers).expect("SOA");
    // What the first NOTIFY announces is the zone without the failing
    // address, not the unprobed one of the start.
    let axfr = transfer_from(&hale, "127.0.0.1", RecordType::AXFR).await;
    assert_eq!(soa_serial(&axfr[0].answers), Some(announced));
    let failing = b[1].ip();
    assert!(
        !records(&axfr).iter().any(|r| r.ends_with(failing.as_str())),
        "{:#?}",
        records(&axfr)
    );
    hale.shutdown().await;
}
