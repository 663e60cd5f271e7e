//! TSIG (RFC 8945) over real sockets, checked with hickory's TSIG code:
//! transfers from a keyed `[transfer] allow` entry must be signed with
//! its key and get every message signed; unsigned, badly signed,
//! unknown-key and out-of-window requests get NOTAUTH with the TSIG error;
//! signed ordinary queries are answered signed; NOTIFYs to a keyed
//! `notify` entry are signed, and only a signed answer acknowledges them.

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::rr::rdata::tsig::TsigError;
use hickory_proto::rr::{TSigResponseContext, TSigner};

use crate::support::tsig::{self, KEY_NAME, OTHER_SECRET, SECRET, code, signer, tsig_error};
use crate::support::{
    Ask, EXAMPLE_ZONE_HEAD, Hale, SERVER, connect_from, decode, eventually, read_framed,
    send_framed,
};

/// The NOTAUTH rcode.
const NOTAUTH: u16 = 9;

fn key_section(algorithm: &str) -> String {
    format!("[[key]]\nname = \"{KEY_NAME}\"\nalgorithm = \"{algorithm}\"\nsecret = \"{SECRET}\"\n")
}

/// example.com with enough data for several transfer messages.
fn big_zone() -> String {
    let mut zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    for i in 0..300 {
        zone.push_str(&format!("t{i} IN TXT \"{}\"\n", "x".repeat(200)));
    }
    zone
}

/// Sends `query` over TCP from 127.0.0.1 and reads messages until the
/// closing SOA, or one message that is not NOERROR.
async fn exchange(hale: &Hale, query: &[u8]) -> Vec<Vec<u8>> {
    let mut stream = connect_from("127.0.0.1", hale.dns_addr()).await;
    send_framed(&mut stream, query).await;
    let mut out = Vec::new();
    let mut soas = 0;
    loop {
        let bytes = read_framed(&mut stream).await;
        let msg = decode(&bytes);
        soas += msg
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::SOA)
            .count();
        let done = msg.metadata.response_code != ResponseCode::NoError || soas >= 2;
        out.push(bytes);
        if done {
            return out;
        }
    }
}

fn rcode_of(bytes: &[u8]) -> u16 {
    u16::from(decode(bytes).metadata.response_code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_from_a_keyed_entry_must_be_signed_and_every_message_is() {
    for algorithm in ["hmac-sha256", "hmac-sha384", "hmac-sha512"] {
        let config = format!(
            "{SERVER}\n{}\n[transfer]\nallow = [{{ from = \"127.0.0.1\", key = \"{KEY_NAME}\" }}]\n",
            key_section(algorithm)
        );
        let hale = Hale::start(&config, &[("example.com.zone", &big_zone())]).await;
        let good = signer(KEY_NAME, SECRET, algorithm);
        let axfr = Ask::new("example.com", RecordType::AXFR).to_bytes();

        // Signed with the key: every message signed, each chained to the last.
        let (query, mac) = tsig::sign(&axfr, &good, tsig::now());
        let messages = exchange(&hale, &query).await;
        assert!(messages.len() > 2, "{algorithm}: several messages");
        let mut prior = mac;
        for (i, m) in messages.iter().enumerate() {
            assert_eq!(rcode_of(m), 0);
            prior = tsig::verify(&good, m, &prior, i == 0)
                .unwrap_or_else(|e| panic!("{algorithm}: message {i} does not verify: {e}"));
        }
        let records: usize = messages.iter().map(|m| decode(m).answers.len()).sum();
        assert_eq!(records, 2 + 1 + 1 + 1 + 300, "{algorithm}");

        // Unsigned: NOTAUTH, nothing to sign it with.
        let refused = exchange(&hale, &axfr).await;
        assert_eq!(refused.len(), 1);
        assert_eq!(rcode_of(&refused[0]), NOTAUTH, "{algorithm}: unsigned");
        assert!(decode(&refused[0]).answers.is_empty());
        assert_eq!(tsig_error(&refused[0]), None);

        // The right name, the wrong secret: BADSIG, unsigned.
        let (query, _) = tsig::sign(
            &axfr,
            &signer(KEY_NAME, OTHER_SECRET, algorithm),
            tsig::now(),
        );
        let refused = exchange(&hale, &query).await;
        assert_eq!(rcode_of(&refused[0]), NOTAUTH, "{algorithm}: wrong secret");
        assert!(decode(&refused[0]).answers.is_empty());
        assert_eq!(tsig_error(&refused[0]), Some((code(TsigError::BadSig), 0)));

        // A key hale does not know: BADKEY, unsigned.
        let stranger = signer("stranger.example.com.", SECRET, algorithm);
        let (query, _) = tsig::sign(&axfr, &stranger, tsig::now());
        let refused = exchange(&hale, &query).await;
        assert_eq!(rcode_of(&refused[0]), NOTAUTH, "{algorithm}: unknown key");
        assert_eq!(tsig_error(&refused[0]), Some((code(TsigError::BadKey), 0)));

        // A MAC of 4 octets (under half the hash): FORMERR, never the zone.
        let mut query = axfr.clone();
        query[11] += 1;
        query.extend_from_slice(b"\x03xfr\x07example\x03com\x00\x00\xfa\x00\xff\x00\x00\x00\x00");
        let alg = format!("\x0b{algorithm}\x00");
        let mut rdata = alg.into_bytes();
        rdata.extend_from_slice(&tsig::now().to_be_bytes()[2..]);
        rdata.extend_from_slice(&[1, 44, 0, 4, 1, 2, 3, 4]);
        rdata.extend_from_slice(&axfr[..2]);
        rdata.extend_from_slice(&[0, 0, 0, 0]);
        query.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        query.extend_from_slice(&rdata);
        let refused = exchange(&hale, &query).await;
        assert_eq!(
            rcode_of(&refused[0]),
            1,
            "{algorithm}: a MAC cut short is FORMERR"
        );
        assert!(decode(&refused[0]).answers.is_empty());

        // Signed 1,000 s ago (fudge 300): BADTIME, signed so the client can trust it.
        let (query, mac) = tsig::sign(&axfr, &good, tsig::now() - 1000);
        let refused = exchange(&hale, &query).await;
        assert_eq!(rcode_of(&refused[0]), NOTAUTH, "{algorithm}: old");
        let (error, mac_len) = tsig_error(&refused[0]).expect("a TSIG record");
        assert_eq!(error, code(TsigError::BadTime));
        assert!(mac_len >= 32, "BADTIME is signed");
        good.verify_message_byte(&refused[0], Some(&mac), true)
            .expect("the BADTIME answer verifies");
        // Each counted, whatever the log's one line a second lets through.
        for error in ["unsigned", "BADSIG", "BADKEY", "BADTIME", "malformed"] {
            let series = format!("hale_tsig_refusals_total{{error=\"{error}\"}}");
            assert_eq!(hale.counter(&series).await, 1.0, "{algorithm}: {series}");
        }
        hale.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_request_is_checked_even_from_an_entry_without_a_key() {
    let config = format!(
        "{SERVER}\n{}\n[[key]]\nname = \"other.example.com.\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{OTHER_SECRET}\"\n\
         [transfer]\nallow = [\"127.0.0.1\", {{ from = \"127.0.0.2\", key = \"other.example.com.\" }}]\n",
        key_section("hmac-sha256")
    );
    let hale = Hale::start(&config, &[("example.com.zone", &big_zone())]).await;
    let axfr = Ask::new("example.com", RecordType::AXFR).to_bytes();
    // An entry without a key takes unsigned requests, and signed ones are
    // answered signed.
    assert_eq!(rcode_of(&exchange(&hale, &axfr).await[0]), 0);
    let good = signer(KEY_NAME, SECRET, "hmac-sha256");
    let (query, mac) = tsig::sign(&axfr, &good, tsig::now());
    let messages = exchange(&hale, &query).await;
    let mut prior = mac;
    for (i, m) in messages.iter().enumerate() {
        prior = tsig::verify(&good, m, &prior, i == 0).expect("signed");
    }
    // A forged signature is refused even there.
    let (query, _) = tsig::sign(
        &axfr,
        &signer(KEY_NAME, OTHER_SECRET, "hmac-sha256"),
        tsig::now(),
    );
    assert_eq!(rcode_of(&exchange(&hale, &query).await[0]), NOTAUTH);
    // 127.0.0.2 must sign with other.example.com.: a valid signature by
    // another key is BADKEY.
    let mut stream = connect_from("127.0.0.2", hale.dns_addr()).await;
    let (query, _) = tsig::sign(&axfr, &good, tsig::now());
    send_framed(&mut stream, &query).await;
    let refused = read_framed(&mut stream).await;
    assert_eq!(rcode_of(&refused), NOTAUTH);
    assert_eq!(tsig_error(&refused), Some((code(TsigError::BadKey), 0)));
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_queries_are_answered_signed_over_udp_and_tcp() {
    let config = format!("{SERVER}\n{}", key_section("hmac-sha256"));
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let good = signer(KEY_NAME, SECRET, "hmac-sha256");
    for ask in [
        Ask::new("www.example.com", RecordType::A),
        Ask::new("www.example.com", RecordType::A).edns(1232),
        Ask::new("example.com", RecordType::SOA),
        Ask::new("nope.example.com", RecordType::A),
    ] {
        let (query, mac) = tsig::sign(&ask.to_bytes(), &good, tsig::now());
        for (transport, response) in [
            ("udp", hale.udp_exchange(&query).await),
            ("tcp", hale.tcp_exchange(&query).await),
        ] {
            tsig::verify(&good, &response, &mac, true)
                .unwrap_or_else(|e| panic!("{transport} {}: {e}", ask.name));
            let msg = decode(&response);
            assert!(msg.metadata.authoritative, "{transport}");
        }
    }
    let answer = decode(&{
        let (query, _) = tsig::sign(
            &Ask::new("www.example.com", RecordType::A).to_bytes(),
            &good,
            tsig::now(),
        );
        hale.udp_exchange(&query).await
    });
    assert_eq!(
        crate::support::a_addrs(&answer),
        ["192.0.2.1".parse::<std::net::Ipv4Addr>().expect("ip")]
    );
    // Badly signed: NOTAUTH and no data, over both transports.
    let (query, _) = tsig::sign(
        &Ask::new("www.example.com", RecordType::A).to_bytes(),
        &signer(KEY_NAME, OTHER_SECRET, "hmac-sha256"),
        tsig::now(),
    );
    for response in [
        hale.udp_exchange(&query).await,
        hale.tcp_exchange(&query).await,
    ] {
        assert_eq!(rcode_of(&response), NOTAUTH);
        assert!(decode(&response).answers.is_empty());
        assert_eq!(tsig_error(&response), Some((code(TsigError::BadSig), 0)));
    }
    hale.shutdown().await;
}

/// Answers `notify` as a secondary with the key `signer` does (signed over
/// the request's MAC), or unsigned when `signer` is `None`.
async fn answer_notify(
    socket: &tokio::net::UdpSocket,
    notify: &[u8],
    to: std::net::SocketAddr,
    signer: Option<&TSigner>,
) {
    let request = decode(notify);
    let mut reply = Message::response(request.metadata.id, OpCode::Notify);
    reply.metadata.authoritative = true;
    reply.add_query(request.queries[0].clone());
    let mut bytes = reply.to_vec().expect("encode");
    if let Some(signer) = signer {
        let (request_mac, _, _) = signer
            .verify_message_byte(notify, None, true)
            .expect("hale's NOTIFY is signed with the key");
        let context = TSigResponseContext::new(
            request.metadata.id,
            tsig::now(),
            signer.clone(),
            request_mac,
            None,
        );
        let tsig = context.sign(&bytes).expect("sign");
        reply.set_signature(tsig);
        bytes = reply.to_vec().expect("encode");
    }
    socket.send_to(&bytes, to).await.expect("send");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifies_to_a_keyed_entry_are_signed_and_need_a_signed_answer() {
    let secondary = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let to = secondary.local_addr().expect("addr");
    let config = format!(
        "{SERVER}\n{}\n[transfer]\nallow = [{{ from = \"127.0.0.1\", key = \"{KEY_NAME}\" }}]\n\
         notify = [{{ to = \"{to}\", key = \"{KEY_NAME}\" }}]\n",
        key_section("hmac-sha256")
    );
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let good = signer(KEY_NAME, SECRET, "hmac-sha256");
    let mut buf = [0u8; 2048];
    let mut next = async || {
        let (n, from) =
            tokio::time::timeout(crate::support::DEADLINE, secondary.recv_from(&mut buf))
                .await
                .expect("a NOTIFY within the deadline")
                .expect("recv");
        (buf[..n].to_vec(), from)
    };
    // The start announces the zone, signed.
    let (first, from) = next().await;
    assert_eq!(decode(&first).metadata.op_code, OpCode::Notify);
    good.verify_message_byte(&first, None, true)
        .expect("signed NOTIFY");
    // An unsigned answer (as a forger would send) does not count: hale
    // sends again, signed afresh, with the same ID.
    answer_notify(&secondary, &first, from, None).await;
    let (again, from) = next().await;
    assert_eq!(decode(&again).metadata.id, decode(&first).metadata.id);
    good.verify_message_byte(&again, None, true)
        .expect("signed NOTIFY");
    // A signed answer acknowledges it.
    answer_notify(&secondary, &again, from, Some(&good)).await;
    eventually("the signed answer acknowledges the NOTIFY", || async {
        hale.counter("hale_notifies_total{result=\"acknowledged\"}")
            .await
            == 1.0
    })
    .await;
    hale.shutdown().await;
}
