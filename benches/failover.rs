//! How fast a health change reaches answers, under load (issue #3, item 3).
//!
//! Starts hale in-process with one checked name on two local HTTP backends,
//! queries it over UDP in a tight loop from another thread, then makes one
//! backend answer 503 (with `fall = 1`) and back. It prints the time from the
//! backend sending the response that decides the change to the first DNS
//! answer that shows it, plus every query's fate while the new snapshot is
//! published (none may be lost or slow).
//!
//! Run with: `cargo bench --bench failover` (loopback only, about 10 s).

// A benchmark reports by printing.
#![allow(clippy::print_stdout)]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// A backend answering 200 or `status`, noting when it sent a non-200.
struct Backend {
    status: AtomicU16,
    first_failure_sent: Mutex<Option<Instant>>,
    first_success_sent: Mutex<Option<Instant>>,
}

async fn serve(listener: TcpListener, backend: Arc<Backend>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let backend = backend.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf).await;
            let status = backend.status.load(Ordering::SeqCst);
            let reply =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.flush().await;
            let now = Instant::now();
            let slot = if status == 200 {
                &backend.first_success_sent
            } else {
                &backend.first_failure_sent
            };
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(now);
            }
        });
    }
}

fn query(id: u16) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.add_query(Query::query(
        Name::from_ascii("www.bench.test.").expect("name"),
        RecordType::A,
    ));
    m.to_vec().expect("encode")
}

/// Queries until `stop`, recording when `watched` first appears / disappears.
fn load(
    dns: SocketAddr,
    watched: Ipv4Addr,
    stop: Arc<AtomicBool>,
) -> (u64, u64, Duration, Vec<(Instant, bool)>) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let (mut sent, mut lost, mut slowest) = (0u64, 0u64, Duration::ZERO);
    let mut changes = Vec::new();
    let mut present = None;
    let mut buf = [0u8; 512];
    let mut id = 0u16;
    while !stop.load(Ordering::Relaxed) {
        id = id.wrapping_add(1);
        let t = Instant::now();
        socket.send_to(&query(id), dns).expect("send");
        sent += 1;
        match socket.recv(&mut buf) {
            Ok(n) => {
                slowest = slowest.max(t.elapsed());
                let Ok(msg) = Message::from_vec(&buf[..n]) else {
                    lost += 1;
                    continue;
                };
                let has = msg
                    .answers
                    .iter()
                    .any(|r| matches!(r.data, RData::A(a) if a.0 == watched));
                if present != Some(has) {
                    present = Some(has);
                    changes.push((Instant::now(), has));
                }
            }
            Err(_) => lost += 1,
        }
    }
    (sent, lost, slowest, changes)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backends: Vec<Arc<Backend>> = (0..2)
        .map(|_| {
            Arc::new(Backend {
                status: AtomicU16::new(200),
                first_failure_sent: Mutex::new(None),
                first_success_sent: Mutex::new(None),
            })
        })
        .collect();
    let first = TcpListener::bind("127.0.0.31:0")
        .await
        .expect("bind backend");
    let port = first.local_addr().expect("addr").port();
    let second = TcpListener::bind(("127.0.0.32", port))
        .await
        .expect("bind backend");
    tokio::spawn(serve(first, backends[0].clone()));
    tokio::spawn(serve(second, backends[1].clone()));

    std::fs::write(
        dir.path().join("bench.test.zone"),
        "$ORIGIN bench.test.\n$TTL 300\n@ SOA ns1 h 1 3600 900 1209600 60\n@ NS ns1\nns1 A 10.0.0.1\n\
         www A 127.0.0.31\nwww A 127.0.0.32\n",
    )
    .expect("zone");
    let config = dir.path().join("hale.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"bench.test.zone\"\n\
             [[check]]\nnames = [\"www.bench.test.\"]\nport = {port}\ninterval = \"50ms\"\n\
             timeout = \"1s\"\nrise = 1\nfall = 1\n"
        ),
    )
    .expect("config");
    let loaded = hale::dns::Loaded::load(&config).expect("load");
    let running = hale::server::start(loaded, config).await.expect("start");
    let dns = running.dns_addrs()[0];
    let watched = Ipv4Addr::new(127, 0, 0, 32);

    let stop = Arc::new(AtomicBool::new(false));
    let load_stop = stop.clone();
    let client = std::thread::spawn(move || load(dns, watched, load_stop));
    tokio::time::sleep(Duration::from_secs(2)).await;
    backends[1].status.store(503, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    *backends[1]
        .first_success_sent
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = None;
    backends[1].status.store(200, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let (sent, lost, slowest, changes) = client.join().expect("client");
    running.shutdown().await;

    let failed = *backends[1]
        .first_failure_sent
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let recovered = *backends[1]
        .first_success_sent
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let gone = changes.iter().find(|(_, has)| !has).map(|(t, _)| *t);
    let back = changes
        .iter()
        .skip_while(|(_, has)| *has)
        .find(|(_, has)| *has)
        .map(|(t, _)| *t);
    println!(
        "queries sent during the run: {sent}, unanswered: {lost}, slowest answer: {slowest:?}"
    );
    match (failed, gone) {
        (Some(f), Some(g)) => println!(
            "down: first 503 sent → first answer without the address: {:?}",
            g.saturating_duration_since(f)
        ),
        _ => println!("down: change not observed ({failed:?}, {gone:?})"),
    }
    match (recovered, back) {
        (Some(r), Some(b)) => println!(
            "up:   first 200 sent → first answer with the address: {:?}",
            b.saturating_duration_since(r)
        ),
        _ => println!("up:   change not observed ({recovered:?}, {back:?})"),
    }
}
