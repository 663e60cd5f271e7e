//! Owns NOTIFY (RFC 1996): tells the secondaries of `[transfer] notify` that
//! a zone's serial changed, so they transfer it now instead of at their next
//! SOA refresh (which may be hours away, while a health change is seconds
//! old).
//!
//! One task per (zone, secondary) sends the newest serial over UDP until the
//! secondary answers for it: at once, then after 1, 2, 4 and 8 s, then every
//! minute for as long as it takes. A newer serial goes out at once in the
//! same task, so a flapping target never queues NOTIFYs, and a secondary
//! that stopped answering is still found out (WARN and
//! `hale_notifies_total{result="unanswered"}`) after five unanswered sends,
//! however often the serial changes; when it answers again it gets the
//! newest serial and hale says so. At most [`IN_FLIGHT`] tasks per secondary
//! send at once (a start announces every zone): the rest wait their turn.
//!
//! A NOTIFY leaves from the first address hale listens on of the
//! secondary's family (a wildcard or a loopback address towards another
//! host lets the kernel choose): secondaries accept NOTIFY only from their
//! primary's address. The addresses bound at start are used, as a reload
//! does not move listeners.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::NotifyTarget;
use crate::dns::tsig::Keys;
use crate::metrics::Notifies;

/// Unanswered sends before a secondary is reported as not answering.
const ATTEMPTS: u32 = 5;
/// Wait for the first answer; doubled after each unanswered send up to
/// [`ATTEMPTS`], then [`PATIENCE`].
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// Wait between sends once a secondary is reported as not answering.
const PATIENCE: Duration = Duration::from_secs(60);
/// Secondaries' tasks sending at once, per secondary.
const IN_FLIGHT: usize = 32;

/// Zones whose serial changed, with their SOA as served, for these
/// secondaries, and the keys their NOTIFYs are signed with.
struct Batch {
    secondaries: Vec<NotifyTarget>,
    keys: Arc<Keys>,
    zones: Vec<(Name, Record)>,
}

/// The handle the server tells of serial changes. Sending never waits.
#[derive(Clone, Debug)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Batch>,
}

impl Notifier {
    /// Starts the task that sends NOTIFYs from `listening` (the bound DNS
    /// addresses) until `token` is cancelled, holding back for `hold` the
    /// ones of the start (see [`settle_time`]).
    pub fn spawn(
        token: CancellationToken,
        tracker: &TaskTracker,
        counts: Notifies,
        listening: Vec<SocketAddr>,
        hold: Duration,
    ) -> Notifier {
        let (tx, rx) = mpsc::unbounded_channel();
        let hold = (!hold.is_zero()).then(|| Instant::now() + hold);
        tracker.spawn(run(rx, token, counts, listening, hold));
        Notifier { tx }
    }

    /// Tells the `[transfer] notify` secondaries of `loaded` that each of
    /// `zones` (origin, SOA as served) changed.
    pub fn send(&self, loaded: &crate::dns::Loaded, zones: Vec<(Name, Record)>) {
        if loaded.config.notify.is_empty() || zones.is_empty() {
            return;
        }
        let batch = Batch {
            secondaries: loaded.config.notify.clone(),
            keys: loaded.keys.clone(),
            zones,
        };
        // Closed only during shutdown, when nothing is left to tell.
        let _ = self.tx.send(batch);
    }
}

/// What a (zone, secondary) task sends, shared with the loop that hands
/// it newer serials.
struct Slot {
    /// The newest SOA.
    soa: Record,
    /// Set by the task when the secondary answered for `soa`: the task is
    /// gone, and a newer serial needs a new one.
    done: bool,
}

/// How long the NOTIFYs of a start wait: until every target's probes could
/// have taken it down (`fall` intervals and a timeout), at most [`MAX_HOLD`].
/// Until its first results a target counts as healthy; secondaries that
/// already hold the zone keep what they have meanwhile instead of taking
/// addresses nobody has probed yet.
pub fn settle_time(specs: &[crate::health::TargetSpec]) -> Duration {
    specs
        .iter()
        .map(|s| s.schedule.interval * s.schedule.fall + s.schedule.timeout)
        .max()
        .unwrap_or_default()
        .min(MAX_HOLD)
}

/// The longest a start holds its NOTIFYs back.
const MAX_HOLD: Duration = Duration::from_secs(60);

/// A (zone, secondary) task: its slot, how to wake it, and the task.
struct Pending {
    slot: Arc<std::sync::Mutex<Slot>>,
    wake: Arc<Notify>,
    task: AbortHandle,
}

impl Pending {
    /// Hands the task a newer SOA; false when it has finished.
    fn take(&self, soa: &Record) -> bool {
        let Ok(mut slot) = self.slot.lock() else {
            return false;
        };
        if slot.done || self.task.is_finished() {
            return false;
        }
        slot.soa = soa.clone();
        self.wake.notify_one();
        true
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Batch>,
    token: CancellationToken,
    counts: Notifies,
    listening: Vec<SocketAddr>,
    hold: Option<Instant>,
) {
    let mut pending: HashMap<(Name, SocketAddr), Pending> = HashMap::new();
    let mut slots: HashMap<SocketAddr, Arc<Semaphore>> = HashMap::new();
    // Until the first probe results are in, what would be announced is
    // gathered here (the newest serial of each zone) and sent at `until`.
    let mut held = hold.map(|until| (until, HashMap::new(), Vec::new(), Arc::default()));
    loop {
        let until = held.as_ref().map(|h| h.0);
        let batch = tokio::select! {
            _ = token.cancelled() => break,
            _ = tokio::time::sleep_until(until.unwrap_or_else(Instant::now)), if until.is_some() => {
                let Some((_, zones, secondaries, keys)) = held.take() else {
                    continue;
                };
                Batch { secondaries, keys, zones: zones.into_iter().collect() }
            }
            batch = rx.recv() => match batch {
                Some(batch) => batch,
                None => break,
            },
        };
        if let Some((_, zones, secondaries, keys)) = held.as_mut() {
            zones.extend(batch.zones);
            *secondaries = batch.secondaries;
            *keys = batch.keys;
            continue;
        }
        pending.retain(|_, p| !p.task.is_finished());
        for (zone, soa) in batch.zones {
            for target in &batch.secondaries {
                let to = target.to;
                // A task still at it takes the newer serial.
                if pending
                    .get(&(zone.clone(), to))
                    .is_some_and(|p| p.take(&soa))
                {
                    continue;
                }
                let from = source(&listening, to);
                let slots = slots
                    .entry(to)
                    .or_insert_with(|| Arc::new(Semaphore::new(IN_FLIGHT)))
                    .clone();
                let counts = counts.clone();
                let slot = Arc::new(std::sync::Mutex::new(Slot {
                    soa: soa.clone(),
                    done: false,
                }));
                let wake = Arc::new(Notify::new());
                let (zone_, slot_, wake_) = (zone.clone(), slot.clone(), wake.clone());
                let signing = target.key.clone().map(|k| (batch.keys.clone(), k));
                let task = tokio::spawn(async move {
                    // Closed never: the semaphore lives as long as the loop.
                    let Ok(_permit) = slots.acquire_owned().await else {
                        return;
                    };
                    let peer = Peer {
                        local: from,
                        to,
                        signing,
                    };
                    notify(zone_, &slot_, &wake_, &peer, &counts).await;
                });
                let task = task.abort_handle();
                pending.insert((zone.clone(), to), Pending { slot, wake, task });
            }
        }
    }
    for p in pending.values() {
        p.task.abort();
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

/// A NOTIFY for `zone` carrying `soa` (RFC 1996 §3.7: a hint the secondary
/// may use), with a fresh ID.
fn message(zone: &Name, soa: &Record) -> Option<(u16, Vec<u8>)> {
    let id: u16 = rand::random();
    let mut msg = Message::new(id, MessageType::Query, OpCode::Notify);
    msg.metadata.authoritative = true;
    msg.add_query(Query::query(zone.clone(), RecordType::SOA));
    msg.add_answer(soa.clone());
    msg.to_vec().ok().map(|bytes| (id, bytes))
}

/// Where a (zone, secondary) task sends from and to, and the key its
/// NOTIFYs are signed with (the keys, and the name of the one to use).
struct Peer {
    local: SocketAddr,
    to: SocketAddr,
    signing: Option<(Arc<Keys>, Name)>,
}

/// MACs of recent sends kept, so a late answer to one of them verifies.
const MACS_KEPT: usize = 8;

/// Sends NOTIFYs for `zone` from `peer.local` to `peer.to`, always of the
/// newest SOA in `slot` (`wake` says it changed), until the secondary
/// answers one for the newest; then marks the slot done. With a key, each
/// send is signed afresh (its time must be within the fudge when it
/// arrives) and only an answer signed by the same key counts.
async fn notify(
    zone: Name,
    slot: &std::sync::Mutex<Slot>,
    wake: &Notify,
    peer: &Peer,
    counts: &Notifies,
) {
    let (local, to) = (peer.local, peer.to);
    let key = match &peer.signing {
        Some((keys, name)) => match keys.get(name) {
            Some(key) => Some(key),
            None => {
                warn!(%zone, secondary = %to, key = %name, "NOTIFY key is not configured; not sent");
                return;
            }
        },
        None => None,
    };
    let mut macs: Vec<Vec<u8>> = Vec::new();
    let mut mismatch_reported = false;
    let mut signed = Vec::new();
    let newest = || slot.lock().map(|s| s.soa.clone()).ok();
    let socket = match UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => {
            warn!(%zone, secondary = %to, from = %local, error = %e, "cannot open a socket for NOTIFY");
            counts.count("unanswered");
            return;
        }
    };
    if let Err(e) = socket.connect(to).await {
        warn!(%zone, secondary = %to, error = %e, "cannot send NOTIFY");
        counts.count("unanswered");
        return;
    }
    let mut unanswered = 0u32;
    let mut reported = false;
    let mut last_error = None;
    let mut buf = [0u8; 1024];
    // The message for the serial being sent: resends keep its ID, so a late
    // answer to an earlier send still counts.
    let mut sending: Option<(u32, u16, Vec<u8>)> = None;
    'send: loop {
        let Some(soa) = newest() else {
            return;
        };
        let serial = crate::dns::serial::serial(&soa.data);
        if sending.as_ref().is_none_or(|s| s.0 != serial) {
            let Some((id, bytes)) = message(&zone, &soa) else {
                warn!(%zone, secondary = %to, "cannot encode NOTIFY");
                return;
            };
            sending = Some((serial, id, bytes));
            macs.clear();
        }
        let Some((_, id, bytes)) = sending.as_ref() else {
            return;
        };
        let id = *id;
        let bytes = match key {
            Some(key) => {
                signed.clone_from(bytes);
                if macs.len() == MACS_KEPT {
                    macs.remove(0);
                }
                macs.push(key.sign_request(&mut signed, crate::dns::tsig::now()));
                &signed
            }
            None => bytes,
        };
        if let Err(e) = socket.send(bytes).await {
            last_error = Some(e.to_string());
        }
        let wait = match unanswered {
            n if n < ATTEMPTS => FIRST_WAIT * 2u32.pow(n),
            _ => PATIENCE,
        };
        let deadline = Instant::now() + wait;
        loop {
            let received = tokio::select! {
                // A newer serial: send it now.
                _ = wake.notified() => continue 'send,
                r = tokio::time::timeout_at(deadline, socket.recv(&mut buf)) => r,
            };
            match received {
                Err(_) => break,
                // Port unreachable and the like: the same as no answer.
                Ok(Err(e)) => {
                    last_error = Some(e.to_string());
                    tokio::select! {
                        _ = wake.notified() => continue 'send,
                        _ = tokio::time::sleep_until(deadline) => break,
                    }
                }
                Ok(Ok(n)) => {
                    let Ok(reply) = Message::from_vec(&buf[..n]) else {
                        continue;
                    };
                    if let Some(key) = key
                        && reply.metadata.id == id
                    {
                        let now = crate::dns::tsig::now();
                        let verified = macs
                            .iter()
                            .rev()
                            .map(|mac| key.verify_answer(&buf[..n], mac, now));
                        let mut why = None;
                        for result in verified {
                            match result {
                                Ok(()) => {
                                    why = None;
                                    break;
                                }
                                Err(e) => why = why.or(Some(e)),
                            }
                        }
                        // An answer that does not verify is no answer (it
                        // may be forged); the reason goes in the warning.
                        // Said at once, the first time: a key that does not
                        // match is a configuration error, not a lost packet.
                        if let Some(why) = why {
                            if !mismatch_reported {
                                mismatch_reported = true;
                                warn!(
                                    %zone, secondary = %to, key = %key.name(),
                                    rcode = %reply.metadata.response_code,
                                    "NOTIFY answer not verified ({why}): check the key on both sides; sending again"
                                );
                            }
                            last_error = Some(why);
                            continue;
                        }
                    }
                    let m = &reply.metadata;
                    if m.id != id
                        || m.message_type != MessageType::Response
                        || m.op_code != OpCode::Notify
                    {
                        continue;
                    }
                    // Done only if no newer serial came meanwhile.
                    match slot.lock() {
                        Ok(mut s) if crate::dns::serial::serial(&s.soa.data) == serial => {
                            s.done = true
                        }
                        Ok(_) => continue 'send,
                        Err(_) => return,
                    }
                    if reported {
                        info!(%zone, secondary = %to, serial, "secondary answers NOTIFY again");
                    }
                    if m.response_code == ResponseCode::NoError {
                        debug!(%zone, secondary = %to, serial, "NOTIFY acknowledged");
                        counts.count("acknowledged");
                    } else {
                        warn!(
                            %zone, secondary = %to, serial, rcode = %m.response_code,
                            "secondary refused NOTIFY"
                        );
                        counts.count("refused");
                    }
                    return;
                }
            }
        }
        unanswered += 1;
        if unanswered == ATTEMPTS {
            reported = true;
            let error = last_error.take().unwrap_or_else(|| "no answer".into());
            warn!(
                %zone, secondary = %to, serial, sends = ATTEMPTS, %error,
                "secondary does not answer NOTIFY; sending again every minute"
            );
            counts.count("unanswered");
        }
    }
}
