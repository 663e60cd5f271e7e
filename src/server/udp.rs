//! Owns DNS over UDP: one blocking thread per worker, each with its own
//! `SO_REUSEPORT` socket on the listen address (the kernel spreads clients
//! over them), moving datagrams in batches with `recvmmsg`/`sendmmsg`.
//!
//! Why threads and not tokio tasks: a UDP answer costs well under a
//! microsecond of our own work; the readiness machinery of an async runtime
//! and one syscall per datagram each way cost several. A worker blocks in
//! `recvmmsg` for the first datagram, takes whatever else is queued (up to
//! [`BATCH`]), answers all of them, and sends them with one `sendmmsg`.

use std::io;
use std::mem::{MaybeUninit, size_of, zeroed};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use socket2::{Domain, Protocol, Socket, Type};
use tracing::{debug, warn};

use super::State;
use super::pktinfo::{self, Control, Local};
use super::rrl::Verdict;
use crate::dns::{self, Answered, Client, Transport};

/// Datagrams moved per syscall.
const BATCH: usize = 32;
/// Largest query we read; longer ones arrive cut and are answered FORMERR or dropped.
const MAX_QUERY: usize = 4096;

/// Binds `count` sockets sharing `addr` with `SO_REUSEPORT`; with port 0 they
/// all get the port the first one got.
pub fn bind(addr: SocketAddr, count: usize) -> io::Result<Vec<UdpSocket>> {
    let mut sockets: Vec<UdpSocket> = Vec::with_capacity(count);
    let mut addr = addr;
    for _ in 0..count.max(1) {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_reuse_port(true)?;
        // Room for bursts while a worker is busy with a batch.
        let _ = socket.set_recv_buffer_size(4 << 20);
        let _ = socket.set_send_buffer_size(4 << 20);
        if addr.ip().is_unspecified() {
            pktinfo::enable(socket.as_raw_fd(), addr.is_ipv6())?;
        }
        socket.bind(&addr.into())?;
        let socket: UdpSocket = socket.into();
        addr = socket.local_addr()?;
        sockets.push(socket);
    }
    Ok(sockets)
}

/// The running workers.
pub struct Workers {
    /// Set before waking the workers to make them return.
    stop: Arc<AtomicBool>,
    /// Each worker's socket, state so `stop` can wake a blocked receive.
    sockets: Vec<Arc<UdpSocket>>,
    /// The threads.
    threads: Vec<JoinHandle<()>>,
}

/// Starts one worker thread per socket.
pub fn spawn(sockets: Vec<UdpSocket>, state: &Arc<State>) -> io::Result<Workers> {
    let stop = Arc::new(AtomicBool::new(false));
    let sockets: Vec<Arc<UdpSocket>> = sockets.into_iter().map(Arc::new).collect();
    let threads = sockets
        .iter()
        .enumerate()
        .map(|(i, socket)| {
            let (socket, state, stop) = (socket.clone(), state.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("hale-udp-{i}"))
                .spawn(move || serve(&socket, &state, &stop))
        })
        .collect::<io::Result<_>>()?;
    Ok(Workers {
        stop,
        sockets,
        threads,
    })
}

impl Workers {
    /// Stops every worker and waits for it; blocking, so call it off the runtime.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        // Shutting a UDP socket down wakes a receive blocked on it (it returns
        // at once from then on), so workers need no receive timeout, and no
        // timer is armed per receive.
        for socket in &self.sockets {
            // SAFETY: shutdown on a descriptor we own; it only changes socket state.
            unsafe {
                libc::shutdown(socket.as_raw_fd(), libc::SHUT_RDWR);
            }
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Per-batch counts, added to the state metrics once per batch so workers
/// do not fight over the counters' cache lines.
#[derive(Default)]
struct Tally {
    answered: Vec<(Answered, bool)>,
    dropped: u64,
    /// Responses rate limiting truncated and dropped.
    slipped: u64,
    limited: u64,
}

fn serve(socket: &UdpSocket, state: &State, stop: &AtomicBool) {
    let fd = socket.as_raw_fd();
    let mut rx = vec![[0u8; MAX_QUERY]; BATCH];
    let mut tx: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(1232)).collect();
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut peers: Vec<libc::sockaddr_storage> = (0..BATCH).map(|_| unsafe { zeroed() }).collect();
    let mut rx_iov: Vec<libc::iovec> = Vec::with_capacity(BATCH);
    let mut rx_hdr: Vec<libc::mmsghdr> = Vec::with_capacity(BATCH);
    let mut tx_iov: Vec<libc::iovec> = Vec::with_capacity(BATCH);
    let mut tx_hdr: Vec<libc::mmsghdr> = Vec::with_capacity(BATCH);
    let mut tally = Tally::default();
    // (slot, address length, local address) of each datagram answered in this batch.
    let mut answered: Vec<(usize, libc::socklen_t, Option<Local>)> = Vec::with_capacity(BATCH);
    // Only a wildcard socket needs to learn and reuse each query's local address.
    let wildcard = socket.local_addr().is_ok_and(|a| a.ip().is_unspecified());
    let mut rx_control = vec![Control::default(); if wildcard { BATCH } else { 0 }];
    let mut tx_control = rx_control.clone();

    while !stop.load(Ordering::Relaxed) {
        rx_iov.clear();
        rx_hdr.clear();
        for (buf, peer) in rx.iter_mut().zip(peers.iter_mut()) {
            rx_iov.push(libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            });
            rx_hdr.push(header(peer));
        }
        for (hdr, iov) in rx_hdr.iter_mut().zip(rx_iov.iter_mut()) {
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
        }
        for (hdr, control) in rx_hdr.iter_mut().zip(rx_control.iter_mut()) {
            pktinfo::receive_into(&mut hdr.msg_hdr, control);
        }
        // SAFETY: every header points at a live iovec, buffer and address of
        // the right sizes, none of which move until the call returns.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                rx_hdr.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => {}
                // ICMP errors of earlier sends and the like concern one peer only.
                _ => debug!(error = %e, "udp receive failed"),
            }
            continue;
        }
        let n = n as usize;

        let snapshot = state.snapshot();
        // Rate limiting counts per second; one clock read per batch, and
        // one of the wall clock for server cookies.
        let second = state.rrl.second();
        let now = dns::unix_now();
        tx_iov.clear();
        tx_hdr.clear();
        answered.clear();
        dns::warm(
            &snapshot,
            (rx.iter().zip(&rx_hdr).take(n))
                .map(|(buf, hdr)| buf.get(..hdr.msg_len as usize).unwrap_or(&[])),
        );
        for i in 0..n {
            let hdr = &rx_hdr[i];
            let len = hdr.msg_len as usize;
            // A datagram longer than our buffer arrives cut: do not answer a fragment.
            if hdr.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                tally.dropped += 1;
                continue;
            }
            let out = &mut tx[i];
            let peer = peer_ip(&peers[i]);
            let client = Client {
                ip: peer.unwrap_or(Client::UNKNOWN.ip),
                now,
            };
            match dns::answer(&snapshot, &rx[i][..len], Transport::Udp, client, out) {
                Some(what) => {
                    if what.rcode == dns::Rcode::NotAuth {
                        let peer = peer.map_or("?".into(), |ip| ip.to_string());
                        super::refusals::signed_query(state.metrics(), &peer, out);
                    }
                    // A valid server cookie proves the address is not
                    // spoofed: no slip, no drop (as Knot does).
                    if let (Some(second), Some(client), false) = (second, peer, what.server_cookie)
                    {
                        match state.rrl.check(client, second) {
                            Verdict::Send => {}
                            Verdict::Slip => {
                                dns::truncate(out);
                                tally.slipped += 1;
                            }
                            Verdict::Drop => {
                                tally.limited += 1;
                                continue;
                            }
                        }
                    }
                    tally
                        .answered
                        .push((what, out.get(2).is_some_and(|b| b & 0x02 != 0)));
                    // (None at once on a socket bound to one address: no control buffer.)
                    let local = pktinfo::local(&hdr.msg_hdr);
                    answered.push((i, hdr.msg_hdr.msg_namelen, local));
                }
                None => tally.dropped += 1,
            }
        }
        drop(snapshot);
        for &(i, _, _) in &answered {
            tx_iov.push(libc::iovec {
                iov_base: tx[i].as_mut_ptr().cast(),
                iov_len: tx[i].len(),
            });
        }
        for (k, (i, namelen, local)) in answered.iter().enumerate() {
            let mut hdr = header(&mut peers[*i]);
            hdr.msg_hdr.msg_namelen = *namelen;
            hdr.msg_hdr.msg_iov = &mut tx_iov[k];
            hdr.msg_hdr.msg_iovlen = 1;
            if let (Some(local), Some(control)) = (local, tx_control.get_mut(k)) {
                pktinfo::send_from(&mut hdr.msg_hdr, control, local);
            }
            tx_hdr.push(hdr);
        }
        send_all(fd, &mut tx_hdr);
        state
            .metrics()
            .tally(Transport::Udp, &tally.answered, tally.dropped);
        if tally.slipped + tally.limited > 0 {
            state.metrics().rrl_limited(tally.slipped, tally.limited);
        }
        tally.answered.clear();
        tally.dropped = 0;
        tally.slipped = 0;
        tally.limited = 0;
    }
}

/// Sends every prepared datagram, resuming after partial sends.
fn send_all(fd: libc::c_int, hdrs: &mut [libc::mmsghdr]) {
    let mut sent = 0;
    while sent < hdrs.len() {
        let rest = &mut hdrs[sent..];
        // SAFETY: the headers point at live buffers and addresses (see serve).
        let n = unsafe { libc::sendmmsg(fd, rest.as_mut_ptr(), rest.len() as libc::c_uint, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if e.kind() != io::ErrorKind::WouldBlock {
                warn!(error = %e, "udp send failed");
            }
            // Skip the datagram that failed; the others may still go.
            sent += 1;
            continue;
        }
        sent += n.max(1) as usize;
    }
}

/// The source address of a received datagram.
fn peer_ip(peer: &libc::sockaddr_storage) -> Option<IpAddr> {
    match peer.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in for AF_INET; storage is large and aligned enough.
            let sin =
                unsafe { &*(peer as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(IpAddr::from(sin.sin_addr.s_addr.to_ne_bytes()))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for AF_INET6 and sockaddr_in6.
            let sin6 =
                unsafe { &*(peer as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(IpAddr::from(sin6.sin6_addr.s6_addr))
        }
        _ => None,
    }
}

/// A message header for one datagram from or to `peer`.
fn header(peer: &mut libc::sockaddr_storage) -> libc::mmsghdr {
    // SAFETY: msghdr and mmsghdr are plain data; zero is their empty value.
    let mut hdr: libc::mmsghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    hdr.msg_hdr.msg_name = (peer as *mut libc::sockaddr_storage).cast();
    hdr.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    hdr
}
