//! Owns the local address of datagrams on wildcard UDP sockets: which of the
//! host's addresses a query was sent to, so that its answer leaves from it.
//!
//! Why: a socket bound to `0.0.0.0` or `::` lets the kernel choose a reply's
//! source address by route. On a host with several addresses that can be
//! another address than the one the resolver asked, and the resolver drops
//! the answer as spoofed. NSD, Knot and gdnsd answer from the asked address
//! the same way (`IP_PKTINFO` / `IPV6_PKTINFO`). Sockets bound to one address
//! need none of this and carry no ancillary data at all.

use std::io;
use std::mem::size_of;
use std::os::fd::RawFd;

/// Room for one control message; aligned as `cmsghdr` needs.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
pub struct Control([u8; 64]);

impl Default for Control {
    fn default() -> Control {
        Control([0; 64])
    }
}

/// The address a datagram's answer leaves from.
#[derive(Clone, Copy)]
pub enum Local {
    /// The kernel's choice for the datagram (`ipi_spec_dst`): its
    /// destination when that is one of ours, else (a broadcast) the address
    /// of the interface it came in on.
    V4(libc::in_addr),
    /// The address, and the interface when the address is link-local (an
    /// answer must leave through the interface whose link it is on).
    V6(libc::in6_pktinfo),
}

/// Asks the kernel to report each datagram's local address on `fd`.
pub fn enable(fd: RawFd, v6: bool) -> io::Result<()> {
    let on: libc::c_int = 1;
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
    } else {
        (libc::IPPROTO_IP, libc::IP_PKTINFO)
    };
    // SAFETY: setsockopt reads an int option from a live local.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Points a receive header at `control` for the kernel to fill.
pub fn receive_into(hdr: &mut libc::msghdr, control: &mut Control) {
    hdr.msg_control = control.0.as_mut_ptr().cast();
    hdr.msg_controllen = control.0.len() as _;
}

/// The local address the kernel reported in a received header, if any.
pub fn local(hdr: &libc::msghdr) -> Option<Local> {
    if hdr.msg_control.is_null() {
        return None;
    }
    // SAFETY: the kernel filled msg_control with msg_controllen bytes of
    // well-formed control messages; the CMSG macros stay inside them, and
    // each payload is read unaligned at its declared type.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = libc::CMSG_DATA(cmsg)
                    .cast::<libc::in_pktinfo>()
                    .read_unaligned();
                return Some(Local::V4(info.ipi_spec_dst));
            }
            if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_PKTINFO {
                let mut info: libc::in6_pktinfo = libc::CMSG_DATA(cmsg)
                    .cast::<libc::in6_pktinfo>()
                    .read_unaligned();
                let a = info.ipi6_addr.s6_addr;
                // Sent to a group: no source of ours to name; the kernel picks.
                if a[0] == 0xff {
                    return None;
                }
                if !(a[0] == 0xfe && a[1] & 0xc0 == 0x80) {
                    info.ipi6_ifindex = 0;
                }
                return Some(Local::V6(info));
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    None
}

/// Makes a send header carry `local` as its source address, in `control`.
pub fn send_from(hdr: &mut libc::msghdr, control: &mut Control, local: &Local) {
    let (level, kind, len) = match local {
        Local::V4(_) => (
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            size_of::<libc::in_pktinfo>(),
        ),
        Local::V6(_) => (
            libc::IPPROTO_IPV6,
            libc::IPV6_PKTINFO,
            size_of::<libc::in6_pktinfo>(),
        ),
    };
    control.0.fill(0);
    hdr.msg_control = control.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE of a pktinfo (at most 40 bytes) fits the 64-byte,
    // 8-aligned buffer, so the header and payload written below lie inside it.
    unsafe {
        hdr.msg_controllen = libc::CMSG_SPACE(len as u32) as _;
        let cmsg = libc::CMSG_FIRSTHDR(hdr);
        (*cmsg).cmsg_level = level;
        (*cmsg).cmsg_type = kind;
        (*cmsg).cmsg_len = libc::CMSG_LEN(len as u32) as _;
        let data = libc::CMSG_DATA(cmsg);
        match local {
            Local::V4(addr) => data
                .cast::<libc::in_pktinfo>()
                .write_unaligned(libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: *addr,
                    ipi_addr: libc::in_addr { s_addr: 0 },
                }),
            Local::V6(info) => data.cast::<libc::in6_pktinfo>().write_unaligned(*info),
        }
    }
}
