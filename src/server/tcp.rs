//! Owns DNS over TCP (RFC 7766): the accept loop, the register of open
//! connections with its cap, and one task per connection answering
//! length-prefixed queries in order.
//!
//! At the cap a new connection closes the one that has been idle longest
//! (RFC 7766 §6.2.3 lets a server under pressure close idle connections), so
//! thousands of idle clients never keep a fresh query from being answered;
//! only when every open connection is busy is the new one closed instead.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::State;
use super::prefix::client_prefix;
use crate::config::{DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX};
use crate::config::{TcpLimits, TransferAllow};
use crate::dns::{self, Access, Client, Transport};
use crate::metrics::TcpClose;

/// The open connections and the limits new ones are admitted under.
pub(super) struct Connections {
    /// Locked on accept and on close only, never per query.
    register: Mutex<Register>,
    /// Origin of the idle clocks.
    epoch: Instant,
}

struct Register {
    limits: TcpLimits,
    /// Clients allowed zone transfers.
    transfer_allow: Arc<Vec<TransferAllow>>,
    next_id: u64,
    open: HashMap<u64, Arc<Conn>>,
}

/// What the register knows of one connection.
struct Conn {
    /// The client's /24 (IPv4) or /56 (IPv6), as RRL groups clients.
    prefix: (u8, u128),
    /// Answering or writing: not to be evicted.
    busy: AtomicBool,
    /// When the connection last finished a message (ms since `epoch`).
    idle_since: AtomicU64,
    /// Cancelled to evict the connection.
    close: CancellationToken,
}

/// Removes its connection from the register when the connection's task ends.
struct Admitted {
    connections: Arc<Connections>,
    id: u64,
    conn: Arc<Conn>,
    limits: TcpLimits,
}

impl Admitted {
    /// The `[transfer] allow` list in force now (a reload that removes a
    /// client applies to its open connections too).
    fn transfer_allow(&self) -> Arc<Vec<TransferAllow>> {
        self.connections.lock().transfer_allow.clone()
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut register = self.connections.lock();
        register.open.remove(&self.id);
    }
}

impl Connections {
    pub(super) fn new(limits: TcpLimits, transfer_allow: Vec<TransferAllow>) -> Connections {
        Connections {
            register: Mutex::new(Register {
                limits,
                transfer_allow: Arc::new(transfer_allow),
                next_id: 0,
                open: HashMap::new(),
            }),
            epoch: Instant::now(),
        }
    }

    /// Applies reloaded limits and transfer ACL to connections admitted from now on.
    pub(super) fn set_limits(&self, limits: TcpLimits, transfer_allow: Vec<TransferAllow>) {
        let mut register = self.lock();
        register.limits = limits;
        register.transfer_allow = Arc::new(transfer_allow);
    }

    /// Connections open right now.
    pub(super) fn open(&self) -> usize {
        self.lock().open.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Register> {
        match self.register.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Registers a new connection from `peer`. At the cap it closes the
    /// longest-idle connection of the client prefix holding the most
    /// connections (the newcomer's included), so one source flooding
    /// connections evicts its own before anyone else's; `Err` when every
    /// connection it could close is busy.
    fn admit(self: &Arc<Self>, state: &State, peer: SocketAddr) -> Result<Admitted, ()> {
        let prefix = client_prefix(peer.ip(), DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX);
        let mut register = self.lock();
        if register.open.len() >= register.limits.max_connections {
            let mut per_prefix: HashMap<(u8, u128), usize> = HashMap::new();
            *per_prefix.entry(prefix).or_default() += 1;
            for c in register.open.values() {
                *per_prefix.entry(c.prefix).or_default() += 1;
            }
            let heaviest = per_prefix
                .into_iter()
                .max_by_key(|&(_, n)| n)
                .map_or(prefix, |(p, _)| p);
            let longest_idle = |from: Option<(u8, u128)>| {
                register
                    .open
                    .iter()
                    .filter(|(_, c)| from.is_none_or(|p| c.prefix == p))
                    .filter(|(_, c)| !c.busy.load(Ordering::Relaxed))
                    .min_by_key(|(_, c)| c.idle_since.load(Ordering::Relaxed))
                    .map(|(&id, _)| id)
            };
            let victim = match longest_idle(Some(heaviest)) {
                Some(id) => Some(id),
                // The heaviest prefix is the newcomer's own, all busy or new:
                // refuse the newcomer rather than close someone else's.
                None if heaviest == prefix => None,
                None => longest_idle(None),
            };
            let Some(victim) = victim.and_then(|id| register.open.remove(&id)) else {
                state.metrics().tcp_closed(TcpClose::Refused);
                return Err(());
            };
            victim.close.cancel();
            state.metrics().tcp_closed(TcpClose::Evicted);
        }
        let id = register.next_id;
        register.next_id += 1;
        let conn = Arc::new(Conn {
            prefix,
            busy: AtomicBool::new(false),
            idle_since: AtomicU64::new(self.now_ms()),
            close: CancellationToken::new(),
        });
        register.open.insert(id, conn.clone());
        Ok(Admitted {
            connections: self.clone(),
            id,
            conn,
            limits: register.limits,
        })
    }
}

/// Accepts connections on `listener` until `token` is cancelled.
pub(super) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = token.cancelled() => return,
            r = listener.accept() => match r {
                Ok(r) => r,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!(error = %e, "tcp accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(admitted) = state.tcp.admit(&state, peer) else {
            debug!(%peer, "tcp connection refused: every connection is busy");
            continue;
        };
        let state = state.clone();
        let token = token.clone();
        tracker.spawn(async move {
            let reason = serve_connection(stream, peer, &state, &token, &admitted).await;
            if let Some(reason) = reason {
                state.metrics().tcp_closed(reason);
            }
            drop(admitted);
        });
    }
}

/// How a connection ends on an I/O error: quietly (the client went away).
fn ended(peer: SocketAddr, e: std::io::Error) -> Option<TcpClose> {
    debug!(%peer, error = %e, "tcp connection ended");
    None
}

/// `io` under the message deadline `limit`; on failure, how the connection
/// ends ([`ended`], or [`TcpClose::MessageTimeout`]).
async fn within<T>(
    peer: SocketAddr,
    limit: Duration,
    io: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, Option<TcpClose>> {
    match tokio::time::timeout(limit, io).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(ended(peer, e)),
        Err(_) => Err(Some(TcpClose::MessageTimeout)),
    }
}

/// Answers length-prefixed queries in order until the peer closes, idles out,
/// is evicted, or shutdown begins (the message being answered is finished
/// first). Returns why hale closed it, if hale did.
async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    state: &State,
    token: &CancellationToken,
    admitted: &Admitted,
) -> Option<TcpClose> {
    let limits = admitted.limits;
    let conn = &admitted.conn;
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.split();
    // Pipelined queries arrive several to a segment: read them from one buffer.
    let mut reader = tokio::io::BufReader::with_capacity(16 * 1024, reader);
    let mut buf = vec![0u8; 65535];
    // Length-prefixed responses, sent with one write per burst of queries.
    let mut framed = Vec::with_capacity(16 * 1024);
    let mut out = Vec::with_capacity(4096);
    loop {
        let mut len = [0u8; 2];
        tokio::select! {
            _ = token.cancelled() => return None,
            _ = conn.close.cancelled() => return None,
            r = tokio::time::timeout(limits.idle_timeout, reader.read_exact(&mut len)) => match r {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
                Ok(Err(e)) => return ended(peer, e),
                Err(_) => return Some(TcpClose::IdleTimeout),
            },
        }
        framed.clear();
        loop {
            let size = u16::from_be_bytes(len) as usize;
            let msg = &mut buf[..size];
            // The whole message, however it trickles in, within one deadline.
            // A connection still waiting for its message stays evictable, so
            // connections that send a length and stall cannot hold every
            // slot (found in review); only answering and writing are busy.
            tokio::select! {
                _ = conn.close.cancelled() => return None,
                r = within(peer, limits.message_timeout, reader.read_exact(msg)) => {
                    if let Err(close) = r {
                        return close;
                    }
                }
            }
            conn.busy.store(true, Ordering::Relaxed);
            // Loaded once the message is whole: one that trickled in is
            // answered from what is published now, not when it began.
            let snapshot = state.snapshot();
            let reply = match dns::is_transfer(msg) {
                true => transfer_reply(state, &admitted.transfer_allow(), &snapshot, msg, peer),
                false => Reply::Answer,
            };
            if let Reply::Denied(response, rcode) = &reply {
                let answered = dns::Answered {
                    rcode: *rcode,
                    qtype: dns::question_type(msg),
                    server_cookie: false,
                };
                state.metrics().answered(Transport::Tcp, answered, response);
                framed.extend_from_slice(&(response.len() as u16).to_be_bytes());
                framed.extend_from_slice(response);
            } else if let Reply::Transfer(sent, key) = &reply {
                // Whatever was answered before goes first, then the transfer,
                // each message under its own write deadline.
                if let Err(close) =
                    within(peer, limits.message_timeout, writer.write_all(&framed)).await
                {
                    return close;
                }
                for m in &sent.messages {
                    framed.clear();
                    framed.extend_from_slice(&(m.len() as u16).to_be_bytes());
                    framed.extend_from_slice(m);
                    if let Err(close) =
                        within(peer, limits.message_timeout, writer.write_all(&framed)).await
                    {
                        return close;
                    }
                }
                framed.clear();
                state.metrics().transfer();
                let key = key.as_deref().unwrap_or("-");
                tracing::info!(
                    %peer, zone = %sent.zone, serial = sent.serial, kind = sent.kind,
                    records = sent.records, messages = sent.messages.len(), key,
                    "zone transfer sent"
                );
            } else {
                match dns::answer(
                    &snapshot,
                    msg,
                    Transport::Tcp,
                    Client::at_now(peer.ip()),
                    &mut out,
                ) {
                    Some(answered) => {
                        if answered.rcode == dns::Rcode::NotAuth {
                            super::refusals::signed_query(state.metrics(), &peer, &out);
                        }
                        state.metrics().answered(Transport::Tcp, answered, &out);
                        framed.extend_from_slice(&(out.len() as u16).to_be_bytes());
                        framed.extend_from_slice(&out);
                    }
                    None => state.metrics().dropped(Transport::Tcp),
                }
            }
            // Answer every query already received before writing (RFC 7766
            // §6.2.1.1 pipelining), but never hold answers for ones to come.
            let buffered = reader.buffer();
            let whole = buffered.len() >= 2
                && buffered.len() >= 2 + u16::from_be_bytes([buffered[0], buffered[1]]) as usize;
            if !whole || framed.len() > 60 * 1024 {
                break;
            }
            if reader.read_exact(&mut len).await.is_err() {
                break;
            }
        }
        // A client that stops reading must not hold its connection slot for ever.
        tokio::select! {
            _ = token.cancelled() => return None,
            written = within(peer, limits.message_timeout, writer.write_all(&framed)) => {
                if let Err(close) = written {
                    return close;
                }
            }
        }
        conn.idle_since
            .store(admitted.connections.now_ms(), Ordering::Relaxed);
        conn.busy.store(false, Ordering::Relaxed);
    }
}

/// What a transfer query gets.
enum Reply {
    /// Refused for its signature: this answer, with this rcode.
    Denied(Vec<u8>, dns::Rcode),
    /// The transfer, and the key that signed it, if any.
    Transfer(dns::Transfer, Option<String>),
    /// Whatever the answer path says (REFUSED for a client in no
    /// `[transfer] allow` entry, FORMERR, a zone not served…).
    Answer,
}

/// What the transfer query `msg` from `peer` gets under `allow`. A
/// secondary with the wrong source address or key leaves a trace (bounded:
/// anyone can ask over and over).
fn transfer_reply(
    state: &State,
    allow: &[TransferAllow],
    snapshot: &dns::Snapshot,
    msg: &[u8],
    peer: SocketAddr,
) -> Reply {
    match dns::transfer_access(snapshot, msg, peer.ip().to_canonical(), allow) {
        Access::NotListed => {
            super::refusals::not_listed(&peer);
            Reply::Answer
        }
        Access::Denied {
            response,
            rcode,
            error,
            key,
            why,
        } => {
            let metrics = state.metrics();
            super::refusals::transfer(metrics, &peer, rcode, error, key.as_deref(), &why);
            Reply::Denied(response, rcode)
        }
        Access::Allowed(signed) => match dns::transfer(snapshot, msg, signed.as_ref()) {
            Some(sent) => Reply::Transfer(sent, signed.map(|s| s.key())),
            None => Reply::Answer,
        },
    }
}

/// Raises the soft limit on open files to the hard limit, as NSD and Knot do,
/// so the TCP cap and not the default 1024 decides how many clients fit.
pub(super) fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
                debug!("cannot raise the open-file limit");
            }
        }
    }
}
