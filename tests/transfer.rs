//! Zone transfers: AXFR (and IXFR, answered in full) over TCP to clients in
//! `[transfer] allow`, carrying the health-filtered zone; REFUSED to everyone
//! else and over UDP.

use std::collections::BTreeSet;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::support::{
    Ask, EXAMPLE_ZONE_HEAD, Hale, Mode, SERVER, backends, connect_from, decode, eventually,
    read_framed, send_framed, udp_exchange_on,
};

/// Sends `qtype` for example.com from `source` and reads messages until the
/// closing SOA (or a single non-NOERROR message).
async fn transfer_from(hale: &Hale, source: &str, qtype: RecordType) -> Vec<Message> {
    let mut stream = connect_from(source, hale.dns_addr()).await;
    let q = Ask::new("example.com", qtype).to_bytes();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_clients_get_the_health_filtered_zone() {
    let b = backends(2).await;
    let mut zone = format!(
        "{EXAMPLE_ZONE_HEAD}www IN A {}\nwww IN A {}\nmail IN MX 10 mx\nmx IN A 192.0.2.25\n\
         *.wild IN TXT \"w\"\nsub IN NS ns.sub\nns.sub IN A 192.0.2.99\n",
        b[0].ip(),
        b[1].ip()
    );
    // Enough data for several messages.
    for i in 0..300 {
        zone.push_str(&format!("t{i} IN TXT \"{}\"\n", "x".repeat(200)));
    }
    let config = format!(
        "{SERVER}\n[transfer]\nallow = [\"127.0.0.0/30\", \"::1\"]\n\n\
         [[check]]\nnames = [\"www.example.com.\"]\nport = {}\npath = \"/healthz\"\n\
         interval = \"100ms\"\ntimeout = \"1s\"\nrise = 1\nfall = 1\n",
        b[0].port()
    );
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
    for qtype in [RecordType::AXFR, RecordType::IXFR] {
        let refused = transfer_from(&hale, "127.0.0.1", qtype).await;
        assert_eq!(refused.len(), 1);
        assert_eq!(
            refused[0].metadata.response_code,
            ResponseCode::Refused,
            "{qtype}"
        );
        assert!(refused[0].answers.is_empty());
        // Over UDP, never zone data, even for an allowed client.
        let socket = hale.client_socket_from("127.0.0.2").await;
        let query = Ask::new("example.com", qtype).to_bytes();
        let msg = decode(&udp_exchange_on(&socket, &query).await);
        assert_eq!(
            msg.metadata.response_code,
            ResponseCode::Refused,
            "{qtype} over UDP"
        );
        assert!(msg.answers.is_empty());
    }
    // Allowed, but not a zone apex we serve.
    let mut stream = connect_from("127.0.0.2", hale.dns_addr()).await;
    let q = Ask::new("www.example.com", RecordType::AXFR).to_bytes();
    send_framed(&mut stream, &q).await;
    let answer = decode(&read_framed(&mut stream).await);
    assert_eq!(answer.metadata.response_code, ResponseCode::Refused);
    hale.shutdown().await;
}
