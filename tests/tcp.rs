//! DNS over TCP under pressure (RFC 7766 §6.2): the connection cap with
//! eviction of idle connections, the idle timeout, the per-message deadline
//! that cuts slow senders, and the write deadline for clients that stop reading.

use std::time::Duration;

use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{
    Ask, EXAMPLE_ZONE_HEAD, Hale, a_addrs, connect_from, decode, eventually, read_framed,
    send_framed, tcp_exchange,
};

fn zone() -> String {
    let mut zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    // ~1 KB answers, for filling a client's socket buffers.
    let chunk = "x".repeat(200);
    zone.push_str(&format!(
        "big IN TXT \"{chunk}\" \"{chunk}\" \"{chunk}\" \"{chunk}\" \"{chunk}\"\n"
    ));
    zone
}

fn config(server_extra: &str) -> String {
    format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"zones\"\n{server_extra}\n\
         [admin]\nlisten = \"127.0.0.1:0\"\n"
    )
}

async fn www_answered_over_both(hale: &Hale) {
    let udp = hale.udp("www.example.com", RecordType::A).await;
    assert_eq!(
        a_addrs(&udp),
        ["192.0.2.1".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    let tcp = hale.tcp("www.example.com", RecordType::A).await;
    assert_eq!(
        a_addrs(&tcp),
        ["192.0.2.1".parse::<std::net::Ipv4Addr>().unwrap()]
    );
}

/// 2,000 idle connections against a cap of 100: hale holds at most 100,
/// closes the longest-idle ones to admit new ones, and fresh UDP and TCP
/// queries are answered throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_connections_do_not_lock_out_queries() {
    // hale raises the open-file limit of the process it runs in (this one).
    let hale = Hale::start(
        &config("tcp_max_connections = 100\ntcp_idle_timeout = \"60s\""),
        &[("example.com.zone", &zone())],
    )
    .await;
    let mut idle = Vec::with_capacity(2000);
    for i in 0..2000 {
        match TcpStream::connect(hale.dns_addr()).await {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connection {i} failed: {e}"),
        }
    }
    www_answered_over_both(&hale).await;
    eventually("hale holds no more than the cap", || async {
        hale.metric("hale_tcp_connections").await <= 100.0
            && hale
                .counter("hale_tcp_closed_total{reason=\"evicted\"}")
                .await
                >= 1900.0
    })
    .await;
    // The evicted clients see their connection closed (once their task has
    // run); the most recent ones stay. A closed socket keeps reading 0.
    let mut closed_at_last = 0;
    for _ in 0..200 {
        let mut closed = 0;
        for s in &mut idle {
            let mut byte = [0u8; 1];
            if let Ok(Ok(0)) =
                tokio::time::timeout(Duration::from_millis(1), s.read(&mut byte)).await
            {
                closed += 1;
            }
        }
        closed_at_last = closed;
        if closed >= 1890 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        closed_at_last >= 1890,
        "only {closed_at_last} of 2000 idle connections were closed"
    );
    // A connection still open answers, and a new one does too.
    let last = idle.last_mut().expect("connections");
    let q = Ask::new("www.example.com", RecordType::A).to_bytes();
    send_framed(last, &q).await;
    read_framed(last).await;
    www_answered_over_both(&hale).await;
    drop(idle);
    eventually("closed connections leave the register", || async {
        hale.metric("hale_tcp_connections").await == 0.0
    })
    .await;
    hale.shutdown().await;
}

/// A sender that starts a message and stalls (slow loris) is cut at the
/// message deadline; one that connects and never sends is cut at the idle
/// timeout; others are answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_senders_are_cut() {
    let hale = Hale::start(
        &config("tcp_idle_timeout = \"2s\"\ntcp_message_timeout = \"1s\""),
        &[("example.com.zone", &zone())],
    )
    .await;
    let mut loris = TcpStream::connect(hale.dns_addr()).await.expect("connect");
    // Length 40, then only 3 bytes of the message.
    loris.write_all(&[0, 40, 1, 2, 3]).await.expect("write");
    let mut silent = TcpStream::connect(hale.dns_addr()).await.expect("connect");
    www_answered_over_both(&hale).await;
    for (what, stream) in [("slow sender", &mut loris), ("silent client", &mut silent)] {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut byte))
            .await
            .unwrap_or_else(|_| panic!("{what} still connected"));
        assert!(
            matches!(n, Ok(0) | Err(_)),
            "{what}: expected a close, got {n:?}"
        );
    }
    // The count follows the close a moment later.
    let h = &hale;
    eventually("both closes are counted", || async move {
        h.counter("hale_tcp_closed_total{reason=\"message_timeout\"}")
            .await
            >= 1.0
            && h.counter("hale_tcp_closed_total{reason=\"idle_timeout\"}")
                .await
                >= 1.0
    })
    .await;
    www_answered_over_both(&hale).await;
    hale.shutdown().await;
}

/// Connections that send a length and stall hold no slot against newcomers:
/// at the cap, a fresh query's connection evicts one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_messages_do_not_hold_every_slot() {
    let hale = Hale::start(
        &config("tcp_max_connections = 20\ntcp_message_timeout = \"30s\""),
        &[("example.com.zone", &zone())],
    )
    .await;
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(hale.dns_addr()).await.expect("connect");
        s.write_all(&[0xff, 0xff, 0, 1]).await.expect("write");
        stalled.push(s);
    }
    let h = &hale;
    eventually("all 20 admitted", || async move {
        h.metric("hale_tcp_connections").await == 20.0
    })
    .await;
    // Well within the 30 s message deadline, fresh queries get through.
    for _ in 0..3 {
        www_answered_over_both(&hale).await;
    }
    assert!(
        hale.counter("hale_tcp_closed_total{reason=\"evicted\"}")
            .await
            >= 1.0
    );
    drop(stalled);
    hale.shutdown().await;
}

/// A client that sends queries but never reads its answers is closed once a
/// write has waited past the message deadline; nobody else notices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_stop_reading_are_cut() {
    let hale = Hale::start(
        &config("tcp_message_timeout = \"1s\""),
        &[("example.com.zone", &zone())],
    )
    .await;
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("small receive buffer");
    let mut stream = socket.connect(hale.dns_addr()).await.expect("connect");
    // 8 MB of answers: more than loopback socket buffers hold.
    let q = Ask::new("big.example.com", RecordType::TXT).to_bytes();
    let mut burst = Vec::new();
    for _ in 0..100 {
        burst.extend_from_slice(&(q.len() as u16).to_be_bytes());
        burst.extend_from_slice(&q);
    }
    let writer = tokio::spawn(async move {
        for _ in 0..80 {
            if stream.write_all(&burst).await.is_err() {
                break;
            }
        }
        stream
    });
    eventually("the non-reading client is cut", || async {
        hale.counter("hale_tcp_closed_total{reason=\"message_timeout\"}")
            .await
            >= 1.0
    })
    .await;
    www_answered_over_both(&hale).await;
    let answer = decode(&tcp_exchange(hale.dns_addr(), &q).await);
    assert_eq!(answer.answers.len(), 1);
    writer.abort();
    hale.shutdown().await;
}

/// At the cap, the client prefix with the most connections loses its own
/// idle ones first: a flood from one /24 does not close another client's
/// connection, even one idle far longer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_evicts_its_own_connections_first() {
    let hale = Hale::start(
        &config("tcp_max_connections = 20\ntcp_idle_timeout = \"60s\""),
        &[("example.com.zone", &zone())],
    )
    .await;
    let mut patient = connect_from("127.0.1.5", hale.dns_addr()).await;
    let h = &hale;
    eventually("the patient client is admitted", || async move {
        h.metric("hale_tcp_connections").await == 1.0
    })
    .await;
    let mut flood = Vec::new();
    for _ in 0..100 {
        flood.push(TcpStream::connect(hale.dns_addr()).await.expect("connect"));
    }
    eventually("the flood is at the cap", || async move {
        h.counter("hale_tcp_closed_total{reason=\"evicted\"}").await >= 80.0
    })
    .await;
    // Answered: the patient client's connection was kept.
    let q = Ask::new("www.example.com", RecordType::A).to_bytes();
    send_framed(&mut patient, &q).await;
    read_framed(&mut patient).await;
    drop(flood);
    hale.shutdown().await;
}
