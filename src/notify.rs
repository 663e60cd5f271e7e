//! Owns NOTIFY (RFC 1996): tells the secondaries of `[transfer] notify` that
//! a zone's serial changed, so they transfer it now instead of at their next
//! SOA refresh (which may be hours away, while a health change is seconds
//! old). One task per (zone, secondary) sends the NOTIFY over UDP and waits
//! for the answer, sending again after 1, 2, 4 and 8 s; a newer serial for
//! the same pair replaces the task, so a flapping target never queues up
//! more than one NOTIFY per secondary and zone.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

/// Sends before giving up on a secondary.
const ATTEMPTS: u32 = 5;
/// Wait for the first answer; doubled after each unanswered send.
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// Zones whose serial changed, with their SOA as served, for these secondaries.
struct Batch {
    secondaries: Vec<SocketAddr>,
    zones: Vec<(Name, Record)>,
}

/// The handle the server tells of serial changes. Sending never waits.
#[derive(Clone, Debug)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Batch>,
}

impl Notifier {
    /// Starts the task that sends NOTIFYs until `token` is cancelled.
    pub fn spawn(token: CancellationToken, tracker: &TaskTracker) -> Notifier {
        let (tx, rx) = mpsc::unbounded_channel();
        tracker.spawn(run(rx, token));
        Notifier { tx }
    }

    /// Tells `secondaries` that each of `zones` (origin, SOA as served) changed.
    pub fn send(&self, secondaries: &[SocketAddr], zones: Vec<(Name, Record)>) {
        if secondaries.is_empty() || zones.is_empty() {
            return;
        }
        let batch = Batch {
            secondaries: secondaries.to_vec(),
            zones,
        };
        // Closed only during shutdown, when nothing is left to tell.
        let _ = self.tx.send(batch);
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Batch>, token: CancellationToken) {
    let mut pending: HashMap<(Name, SocketAddr), AbortHandle> = HashMap::new();
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
                let task = tokio::spawn(notify_one(zone.clone(), soa.clone(), to));
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

/// Sends one NOTIFY for `zone` to `to` until it is answered or
/// [`ATTEMPTS`] sends went unanswered.
async fn notify_one(zone: Name, soa: Record, to: SocketAddr) {
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
            return;
        }
    };
    let local: SocketAddr = match to {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = match UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => {
            warn!(%zone, secondary = %to, error = %e, "cannot open a socket for NOTIFY");
            return;
        }
    };
    if let Err(e) = socket.connect(to).await {
        warn!(%zone, secondary = %to, error = %e, "cannot send NOTIFY");
        return;
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
                    } else {
                        warn!(
                            %zone, secondary = %to, serial, rcode = %m.response_code,
                            "secondary refused NOTIFY"
                        );
                    }
                    return;
                }
            }
        }
        wait *= 2;
    }
    let error = last_error.unwrap_or_else(|| "no answer".into());
    warn!(%zone, secondary = %to, serial, attempts = ATTEMPTS, %error, "secondary did not answer NOTIFY");
}
