//! Response rate limiting over UDP: a flood from one prefix gets its quota in
//! full, every `slip`-th response past it truncated and the rest dropped,
//! while another prefix is answered as usual.

use std::collections::HashSet;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use tokio::time::Instant;

use crate::support::{Ask, EXAMPLE_ZONE_HEAD, Hale, SERVER, decode, udp_exchange_on};

const RATE: usize = 20;
const SENT: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_prefix_is_limited_and_others_are_not() {
    let config = format!("{SERVER}\n[rrl]\nresponses_per_second = {RATE}\nslip = 2\n");
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;

    // Room for every response even if the receiver task is slow to run.
    let flooder = {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, None).expect("socket");
        socket
            .set_recv_buffer_size(8 << 20)
            .expect("receive buffer");
        socket
            .bind(
                &"127.0.0.77:0"
                    .parse::<std::net::SocketAddr>()
                    .expect("addr")
                    .into(),
            )
            .expect("bind");
        socket.connect(&hale.dns_addr().into()).expect("connect");
        socket.set_nonblocking(true).expect("nonblocking");
        let socket = tokio::net::UdpSocket::from_std(socket.into()).expect("tokio socket");
        std::sync::Arc::new(socket)
    };
    let receiver = {
        let socket = flooder.clone();
        tokio::spawn(async move {
            let (mut full, mut truncated) = (0usize, 0usize);
            let mut ids = HashSet::new();
            let mut buf = vec![0u8; 4096];
            // Collect until the flood has been quiet for a while.
            while let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf)).await
            {
                let msg = decode(&buf[..n]);
                assert!(ids.insert(msg.metadata.id), "one response per query");
                if msg.metadata.truncation {
                    assert!(msg.answers.is_empty(), "a slipped response carries no data");
                    truncated += 1;
                } else {
                    assert_eq!(msg.answers.len(), 1, "{msg:?}");
                    full += 1;
                }
            }
            (full, truncated)
        })
    };
    let start = Instant::now();
    for id in 0..SENT {
        let mut q = Ask::new("www.example.com", RecordType::A).to_bytes();
        q[0..2].copy_from_slice(&(id as u16).to_be_bytes());
        flooder.send(&q).await.expect("send");
    }
    let elapsed = start.elapsed();

    // Another /24 is answered in full meanwhile.
    let other = hale.client_socket_from("127.0.1.77").await;
    for id in 0..RATE as u16 {
        let mut q = Ask::new("www.example.com", RecordType::A).to_bytes();
        q[0..2].copy_from_slice(&id.to_be_bytes());
        let msg = decode(&udp_exchange_on(&other, &q).await);
        assert!(
            !msg.metadata.truncation && msg.answers.len() == 1,
            "{msg:?}"
        );
    }

    let (full, truncated) = receiver.await.expect("receiver");
    // The flood spans at most this many of hale's one-second windows.
    let windows = elapsed.as_secs() as usize + 2;
    let limited = SENT - full;
    let dropped = limited - truncated;
    eprintln!("sent {SENT} in {elapsed:?}: {full} full, {truncated} truncated, {dropped} dropped");
    assert!(full >= 1 && full <= RATE * windows, "{full} full answers");
    // slip = 2: half of the limited ones, rounded up once per window.
    assert!(
        truncated <= limited / 2 + windows && truncated + windows >= limited / 2,
        "{truncated} truncated of {limited} limited"
    );
    assert!(
        dropped + windows >= limited / 2,
        "{dropped} dropped of {limited} limited"
    );
    let slipped = hale
        .counter("hale_rrl_limited_total{action=\"slipped\"}")
        .await;
    let counted_drops = hale
        .counter("hale_rrl_limited_total{action=\"dropped\"}")
        .await;
    assert!(slipped >= truncated as f64, "metrics: {slipped} slipped");
    assert!(
        counted_drops >= 1.0 && counted_drops <= dropped as f64,
        "metrics: {counted_drops} dropped"
    );
    hale.shutdown().await;
}
