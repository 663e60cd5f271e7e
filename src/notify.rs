//! Owns NOTIFY (RFC 1996): tells the secondaries of `[transfer] notify` that
//! a zone's serial changed, so they transfer it now instead of at their next
//! SOA refresh (which may be hours away, while a health change is seconds
//! old). One task per (zone, secondary) sends the NOTIFY over UDP and waits
//! for the answer, sending again after 1, 2, 4 and 8 s; a newer serial for
//! the same pair replaces the task, so a flapping target never queues up
//! more than one NOTIFY per secondary and zone. At most [`IN_FLIGHT`] wait
//! at once per secondary (a start announces every zone): the rest queue,
//! and a secondary that does not answer holds up only its own.
//!
//! A NOTIFY leaves from the first `[server] listen` address of the
//! secondary's family (a wildcard or a loopback address towards another
//! host lets the kernel choose): secondaries accept NOTIFY only from their
//! primary's address.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::net::UdpSocket;

use crate::metrics::Notifies;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

/// Sends before giving up on a secondary.
const ATTEMPTS: u32 = 5;
/// Wait for the first answer; doubled after each unanswered send.
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// NOTIFYs sent to one secondary and awaiting an answer at once.
const IN_FLIGHT: usize = 32;

/// Zones whose serial changed, with their SOA as served, for these
/// secondaries, sent from `sources` (the listen addresses).
struct Batch {
    secondaries: Vec<SocketAddr>,
    sources: Vec<SocketAddr>,
    zones: Vec<(Name, Record)>,
}

/// The handle the server tells of serial changes. Sending never waits.
#[derive(Clone, Debug)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Batch>,
}

impl Notifier {
    /// Starts the task that sends NOTIFYs until `token` is cancelled.
    pub fn spawn(token: CancellationToken, tracker: &TaskTracker, counts: Notifies) -> Notifier {
        let (tx, rx) = mpsc::unbounded_channel();
        tracker.spawn(run(rx, token, counts));
        Notifier { tx }
    }

    /// Tells the `[transfer] notify` secondaries of `config` that each of
    /// `zones` (origin, SOA as served) changed.
    pub fn send(&self, config: &crate::config::Config, zones: Vec<(Name, Record)>) {
        if config.notify.is_empty() || zones.is_empty() {
            return;
        }
        let batch = Batch {
            secondaries: config.notify.clone(),
            sources: config.listen.clone(),
            zones,
        };
        // Closed only during shutdown, when nothing is left to tell.
        let _ = self.tx.send(batch);
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Batch>, token: CancellationToken, counts: Notifies) {
    let mut pending: HashMap<(Name, SocketAddr), AbortHandle> = HashMap::new();
    let mut slots: HashMap<SocketAddr, Arc<Semaphore>> = HashMap::new();
    loop {
        let batch = tokio::select! {
            _ = token.cancelled() => break,
            batch = rx.recv() => match batch {
                Some(batch) => batch,
                None => break,
            },
        };
        pending.retain(|_, task| !task.is_finished());
        for (zone, soa) in batch.zones {
            for &to in &batch.secondaries {
                let from = source(&batch.sources, to);
                let slots = slots
                    .entry(to)
                    .or_insert_with(|| Arc::new(Semaphore::new(IN_FLIGHT)))
                    .clone();
                let counts = counts.clone();
                let (zone_, soa) = (zone.clone(), soa.clone());
                let task = tokio::spawn(async move {
                    // Closed never: the semaphore lives as long as the loop.
                    let Ok(_slot) = slots.acquire_owned().await else {
                        return;
                    };
                    counts.count(notify_one(zone_, soa, from, to).await);
                });
                // The older serial is moot: this NOTIFY replaces it.
                if let Some(old) = pending.insert((zone.clone(), to), task.abort_handle()) {
                    old.abort();
                }
            }
        }
    }
    for task in pending.values() {
        task.abort();
    }
}

/// The local address to send a NOTIFY to `to` from: the first listen
/// address of its family, unless that is a wildcard, or loopback while
/// `to` is not (the kernel then chooses).
fn source(listen: &[SocketAddr], to: SocketAddr) -> SocketAddr {
    let ip = listen
        .iter()
        .map(SocketAddr::ip)
        .find(|ip| ip.is_ipv4() == to.is_ipv4())
        .filter(|ip| !ip.is_unspecified() && (!ip.is_loopback() || to.ip().is_loopback()));
    match (ip, to) {
        (Some(ip), _) => SocketAddr::new(ip, 0),
        (None, SocketAddr::V4(_)) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        (None, SocketAddr::V6(_)) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    }
}

/// Sends one NOTIFY for `zone` from `local` to `to` until it is answered or
/// [`ATTEMPTS`] sends went unanswered: `acknowledged`, `refused` or
/// `unanswered` (also when it cannot be sent at all).
async fn notify_one(zone: Name, soa: Record, local: SocketAddr, to: SocketAddr) -> &'static str {
    let serial = match &soa.data {
        hickory_proto::rr::RData::SOA(s) => s.serial,
        _ => 0,
    };
    let id: u16 = rand::random();
    let mut msg = Message::new(id, MessageType::Query, OpCode::Notify);
    msg.metadata.authoritative = true;
    msg.add_query(Query::query(zone.clone(), RecordType::SOA));
    // RFC 1996 §3.7: the SOA is a hint the secondary may use.
    msg.add_answer(soa);
    let bytes = match msg.to_vec() {
        Ok(bytes) => bytes,
        Err(e) => {
            warn!(%zone, secondary = %to, error = %e, "cannot encode NOTIFY");
            return "unanswered";
        }
    };
    let socket = match UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => {
            warn!(%zone, secondary = %to, error = %e, "cannot open a socket for NOTIFY");
            return "unanswered";
        }
    };
    if let Err(e) = socket.connect(to).await {
        warn!(%zone, secondary = %to, error = %e, "cannot send NOTIFY");
        return "unanswered";
    }
    let mut wait = FIRST_WAIT;
    let mut last_error = None;
    for attempt in 1..=ATTEMPTS {
        if let Err(e) = socket.send(&bytes).await {
            last_error = Some(e.to_string());
        }
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => break,
                // Port unreachable and the like: try again after the wait.
                Ok(Err(e)) => {
                    last_error = Some(e.to_string());
                    tokio::time::sleep_until(deadline).await;
                    break;
                }
                Ok(Ok(n)) => {
                    let Ok(reply) = Message::from_vec(&buf[..n]) else {
                        continue;
                    };
                    let m = &reply.metadata;
                    if m.id != id
                        || m.message_type != MessageType::Response
                        || m.op_code != OpCode::Notify
                    {
                        continue;
                    }
                    if m.response_code == ResponseCode::NoError {
                        debug!(%zone, secondary = %to, serial, attempt, "NOTIFY acknowledged");
                        return "acknowledged";
                    }
                    warn!(
                        %zone, secondary = %to, serial, rcode = %m.response_code,
                        "secondary refused NOTIFY"
                    );
                    return "refused";
                }
            }
        }
        wait *= 2;
    }
    let error = last_error.unwrap_or_else(|| "no answer".into());
    warn!(%zone, secondary = %to, serial, attempts = ATTEMPTS, %error, "secondary did not answer NOTIFY");
    "unanswered"
}
