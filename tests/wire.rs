//! Wire robustness (issue #4 item 1): a table of hand-built packets, each
//! sent to an in-process hale over UDP and over TCP, with the outcome the
//! RFCs ask for: dropped, FORMERR, NOTIMP (RFC 8906 §3.1.4), BADVERS,
//! REFUSED, NODATA, a minimal ANY (RFC 8482), no zone data outside a
//! transfer. After every packet a valid query on the same socket (and on a
//! fresh TCP connection) must still be answered.
//!
//! `dns_rules` checks the well-formed cases rule by rule; this table is for
//! the malformed and hostile ones.

use std::net::Ipv4Addr;
use std::net::SocketAddr;

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::support::{DEADLINE, EXAMPLE_ZONE_HEAD, Hale, SERVER, a_addrs, rcode, tcp_exchange};

const QR: u16 = 0x8000;
const AA: u16 = 0x0400;
const TC: u16 = 0x0200;
const RD: u16 = 0x0100;
const RA: u16 = 0x0080;
const Z: u16 = 0x0040;
const AD: u16 = 0x0020;
const CD: u16 = 0x0010;

const A: u16 = 1;
const SOA: u16 = 6;
const TXT: u16 = 16;
const OPT: u16 = 41;
const IXFR: u16 = 251;
const TSIG: u16 = 250;
const AXFR: u16 = 252;
const ANY: u16 = 255;
const IN: u16 = 1;

/// The id of every table packet.
const ID: u16 = 0x7ab1;
/// The id of the valid query sent after each packet.
const PROBE_ID: u16 = 0xcafe;

/// The zone the table runs against: `www` has A and AAAA, the apex an A.
fn zone() -> String {
    format!(
        "{EXAMPLE_ZONE_HEAD}@ IN A 192.0.2.10\nwww IN A 192.0.2.1\nwww IN AAAA 2001:db8::1\n\
         txt IN TXT \"only text\"\n"
    )
}

// ---- packet building ------------------------------------------------------

/// A message with id [`ID`]: header with `flags` and the four section
/// counts as given (whatever follows), then `parts` one after another.
fn msg(flags: u16, counts: [u16; 4], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = ID.to_be_bytes().to_vec();
    m.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        m.extend_from_slice(&c.to_be_bytes());
    }
    for p in parts {
        m.extend_from_slice(p);
    }
    m
}

/// The opcode bits of the flags word.
fn opcode(op: u16) -> u16 {
    op << 11
}

/// `name` in wire form without compression ("" is the root).
fn wire(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

fn type_class(qtype: u16, qclass: u16) -> Vec<u8> {
    [qtype.to_be_bytes(), qclass.to_be_bytes()].concat()
}

/// A question entry for `name`.
fn question(name: &str, qtype: u16, qclass: u16) -> Vec<u8> {
    [wire(name), type_class(qtype, qclass)].concat()
}

/// A question whose name is given in wire form (possibly broken).
fn raw_question(name: &[u8], qtype: u16, qclass: u16) -> Vec<u8> {
    [name.to_vec(), type_class(qtype, qclass)].concat()
}

/// A resource record with `owner` in wire form.
fn rr(owner: &[u8], rtype: u16, class: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut r = owner.to_vec();
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&class.to_be_bytes());
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

/// An OPT record: root owner, 1232-byte payload, `version`, EDNS `flags`, `rdata`.
fn opt(version: u8, flags: u16, rdata: &[u8]) -> Vec<u8> {
    rr(
        &[0],
        OPT,
        1232,
        (u32::from(version) << 16) | u32::from(flags),
        rdata,
    )
}

/// One EDNS option.
fn option(code: u16, data: &[u8]) -> Vec<u8> {
    [
        code.to_be_bytes().to_vec(),
        (data.len() as u16).to_be_bytes().to_vec(),
        data.to_vec(),
    ]
    .concat()
}

/// Additional records starting at offset `at`: one whose RDATA is a root
/// label followed by pointers, each to the one before, then `owners`
/// records whose owner is a pointer to the last of them, so that reading
/// each owner follows `pointers` pointers in all.
fn pointer_chain(at: usize, pointers: usize, owners: usize) -> Vec<u8> {
    let root = at + 11; // past the first record's root owner and fixed fields
    let pointer_at = |i: usize| if i == 0 { root } else { root + 1 + 2 * (i - 1) };
    let mut chain = vec![0u8];
    for i in 1..pointers {
        chain.extend_from_slice(&(0xc000 | pointer_at(i - 1) as u16).to_be_bytes());
    }
    let owner = (0xc000 | pointer_at(pointers - 1) as u16).to_be_bytes();
    let mut out = rr(&[0], 65000, IN, 0, &chain);
    for _ in 0..owners {
        out.extend_from_slice(&rr(&owner, 65000, IN, 0, &[]));
    }
    out
}

/// A name of exactly `octets` wire octets ending in `example.com.`.
fn long_name(octets: usize) -> String {
    // example.com. takes 13 octets; fill the rest with labels of up to 63.
    let mut left = octets - 13;
    let mut labels = Vec::new();
    while left > 0 {
        let len = (left - 1).min(63);
        assert!(len > 0, "cannot make a name of {octets} octets");
        labels.push("a".repeat(len));
        left -= len + 1;
    }
    labels.push("example.com".into());
    let name = labels.join(".");
    assert_eq!(wire(&name).len(), octets);
    name
}

// ---- expectations ---------------------------------------------------------

/// What the server must do with a packet.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Nothing comes back.
    Dropped,
    /// FORMERR, AA clear, no answer or authority records.
    FormErr,
    /// NOTIMP, RFC 8906 §3.1.4: the flags are QR and the opcode, nothing
    /// else; every section is empty (RD and CD not echoed).
    NotImp,
    /// BADVERS (extended rcode 16) in an OPT of version 0, no records.
    BadVers,
    /// REFUSED, AA clear, no answer.
    Refused,
    /// NOERROR, AA, no answer, the zone's SOA alone in authority.
    NoData,
    /// NXDOMAIN, AA, the zone's SOA alone in authority.
    NxDomain,
    /// NOERROR with exactly these answer types.
    Answer {
        aa: bool,
        types: &'static [RecordType],
    },
    /// NOERROR with one RRset or one HINFO in the answer (RFC 8482).
    OneRrset,
    /// REFUSED or NOTIMP: never zone data outside an allowed transfer.
    NoZoneData,
}

/// What the response's OPT record must look like.
#[derive(Clone, Copy, Debug)]
enum Opt {
    /// No OPT (the query had none, or NOTIMP's empty sections).
    Absent,
    /// Version 0, no flag but DO as given, no option but an Extended DNS
    /// Error: unknown options and flags of the query are not echoed.
    Plain { dnssec_ok: bool },
    /// As `Plain` without DO, with one option: a COOKIE of this client
    /// cookie and a 16-byte server cookie (RFC 9018).
    Cookie([u8; 8]),
    /// Either way (FORMERR for a broken OPT).
    Any,
}

/// One row of the table.
struct Row {
    /// What the packet is, for failure messages.
    name: &'static str,
    /// The packet, as sent (TCP adds the length prefix).
    bytes: Vec<u8>,
    /// The outcome over UDP.
    udp: Expect,
    /// The outcome over TCP.
    tcp: Expect,
    /// The response's OPT.
    opt: Opt,
}

fn row(name: &'static str, bytes: Vec<u8>, expect: Expect) -> Row {
    Row {
        name,
        bytes,
        udp: expect,
        tcp: expect,
        opt: Opt::Absent,
    }
}

impl Row {
    fn tcp(mut self, expect: Expect) -> Row {
        self.tcp = expect;
        self
    }

    fn opt(mut self, opt: Opt) -> Row {
        self.opt = opt;
        self
    }
}

/// IXFR over UDP: the zone's SOA alone.
const IXFR_OVER_UDP: Expect = Expect::Answer {
    aa: true,
    types: &[RecordType::SOA],
};

const WWW_A: Expect = Expect::Answer {
    aa: true,
    types: &[RecordType::A],
};

fn table() -> Vec<Row> {
    use Expect::*;
    let www = question("www.example.com", A, IN);
    let www_soa = question("example.com", SOA, IN);
    let a_record = rr(&wire("www.example.com"), A, IN, 300, &[192, 0, 2, 9]);
    let whole = msg(0, [1, 0, 0, 0], &[&www]);
    // An SOA as an IXFR client sends it in authority: root names, serial 1.
    let soa_rdata = [
        &[0u8, 0][..],
        &1u32.to_be_bytes(),
        &[0; 16], // refresh, retry, expire, minimum
    ]
    .concat();
    let client_soa = rr(&wire("example.com"), SOA, IN, 0, &soa_rdata);
    // The question name sits at offset 12; an OPT right after `www` starts here.
    let after_www = (12 + www.len()) as u8;
    // A question name of 205 octets, then an additional owner that is one
    // 63-octet label plus a pointer to it: 269 octets once decompressed.
    let q205 = format!("{0}.{0}.{0}.example.com", "q".repeat(63));
    let over_255_owner = [&[63][..], &[b'd'; 63], &[0xc0, 12]].concat();
    // The root label at the end of the question's name.
    let question_root = [0xc0, (12 + www.len() - 5) as u8];

    vec![
        row(
            "plain query (control)",
            msg(RD, [1, 0, 0, 0], &[&www]),
            WWW_A,
        ),
        // Not worth a response (RFC 1035 §4.1.1; RFC 8906 §3.1.1 for QR).
        row("empty message", vec![], Dropped),
        row(
            "11 bytes, one short of a header",
            whole[..11].to_vec(),
            Dropped,
        ),
        row(
            "QR set: a response, not a query",
            msg(QR | AA, [1, 0, 0, 0], &[&www]),
            Dropped,
        ),
        row(
            "QR set with opcode NOTIFY: a NOTIFY response",
            msg(QR | opcode(4), [1, 0, 0, 0], &[&www_soa]),
            Dropped,
        ),
        row(
            "QR set on garbage counts and body",
            msg(QR | opcode(15), [9, 9, 9, 9], &[&[0xff; 20]]),
            Dropped,
        ),
        // Section counts.
        row("QDCOUNT 0, header only", msg(0, [0, 0, 0, 0], &[]), FormErr),
        row(
            "QDCOUNT 0 with a question after the header",
            msg(0, [0, 0, 0, 0], &[&www]),
            FormErr,
        ),
        row(
            "QDCOUNT 2 with two questions",
            msg(0, [2, 0, 0, 0], &[&www, &www]),
            FormErr,
        ),
        row(
            "QDCOUNT 2 with one question",
            msg(0, [2, 0, 0, 0], &[&www]),
            FormErr,
        ),
        row("QDCOUNT 65535", msg(0, [0xffff, 0, 0, 0], &[&www]), FormErr),
        row(
            "ANCOUNT 1 in a query",
            msg(0, [1, 1, 0, 0], &[&www, &a_record]),
            FormErr,
        ),
        row(
            "NSCOUNT 1 in a plain query",
            msg(0, [1, 0, 1, 0], &[&www, &a_record]),
            FormErr,
        ),
        row(
            "ARCOUNT 1 with nothing after the question",
            msg(0, [1, 0, 0, 1], &[&www]),
            FormErr,
        ),
        row(
            "ARCOUNT 2 with one OPT",
            msg(0, [1, 0, 0, 2], &[&www, &opt(0, 0, &[])]),
            FormErr,
        )
        .opt(Opt::Any),
        row(
            "ARCOUNT 1 with a record cut inside its RDATA",
            msg(0, [1, 0, 0, 1], &[&www, &a_record[..a_record.len() - 2]]),
            FormErr,
        ),
        // Truncated questions.
        row(
            "question cut inside a label",
            whole[..12 + 6].to_vec(),
            FormErr,
        ),
        row(
            "name without its terminating root label",
            msg(0, [1, 0, 0, 0], &[&wire("www.example.com")[..16]]),
            FormErr,
        ),
        row(
            "question without type and class",
            msg(0, [1, 0, 0, 0], &[&wire("www.example.com")]),
            FormErr,
        ),
        row(
            "question cut inside the class",
            whole[..whole.len() - 1].to_vec(),
            FormErr,
        ),
        // Compression pointers (RFC 1035 §4.1.4: to a prior occurrence only).
        row(
            "pointer to itself",
            msg(0, [1, 0, 0, 0], &[&raw_question(&[0xc0, 12], A, IN)]),
            FormErr,
        ),
        row(
            "label, then a pointer back to it: a loop",
            msg(
                0,
                [1, 0, 0, 0],
                &[&raw_question(&[1, b'a', 0xc0, 12], A, IN)],
            ),
            FormErr,
        ),
        row(
            "pointer past the end of the message",
            msg(0, [1, 0, 0, 0], &[&raw_question(&[0xc0, 0xff], A, IN)]),
            FormErr,
        ),
        row(
            "pointer to offset 0x3fff",
            msg(0, [1, 0, 0, 0], &[&raw_question(&[0xff, 0xff], A, IN)]),
            FormErr,
        ),
        row(
            "pointer forward to a later root name",
            msg(
                0,
                [1, 0, 0, 1],
                &[&raw_question(&[0xc0, 18], A, IN), &opt(0, 0, &[])],
            ),
            FormErr,
        )
        .opt(Opt::Any),
        row(
            "pointer missing its second byte",
            msg(0, [1, 0, 0, 0], &[&[0xc0]]),
            FormErr,
        ),
        row(
            "additional owner that points to itself",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &rr(&[0xc0, after_www], A, IN, 0, &[192, 0, 2, 1])],
            ),
            FormErr,
        ),
        // Labels and names (RFC 1035 §2.3.4: labels ≤ 63, names ≤ 255 octets).
        row(
            "label of 63 octets (control: allowed)",
            msg(
                0,
                [1, 0, 0, 0],
                &[&question(&format!("{}.example.com", "a".repeat(63)), A, IN)],
            ),
            NxDomain,
        ),
        row(
            "label length byte 64 (extended label type 01)",
            msg(
                0,
                [1, 0, 0, 0],
                &[&raw_question(
                    &[&[64][..], &[b'a'; 64], &wire("example.com")].concat(),
                    A,
                    IN,
                )],
            ),
            FormErr,
        ),
        row(
            "label type 10 (reserved, byte 0x80)",
            msg(
                0,
                [1, 0, 0, 0],
                &[&raw_question(
                    &[&[0x80, b'a'][..], &wire("example.com")].concat(),
                    A,
                    IN,
                )],
            ),
            FormErr,
        ),
        row(
            "name of 255 octets (control: allowed)",
            msg(0, [1, 0, 0, 0], &[&question(&long_name(255), A, IN)]),
            NxDomain,
        ),
        row(
            "name of 256 octets",
            msg(0, [1, 0, 0, 0], &[&question(&long_name(256), A, IN)]),
            FormErr,
        ),
        row(
            "name of 300 one-octet labels",
            msg(
                0,
                [1, 0, 0, 0],
                &[&question(
                    &format!("{}example.com", "x.".repeat(300)),
                    A,
                    IN,
                )],
            ),
            FormErr,
        ),
        row(
            "additional owner over 255 octets through a pointer",
            msg(
                0,
                [1, 0, 0, 1],
                &[
                    &question(&q205, A, IN),
                    &rr(&over_255_owner, A, IN, 0, &[192, 0, 2, 1]),
                ],
            ),
            FormErr,
        ),
        // Long compression chains: a name never needs more than 127 pointers.
        row(
            "additional owner behind 100 chained pointers (allowed, ignored)",
            msg(
                0,
                [1, 0, 0, 2],
                &[&www, &pointer_chain(12 + www.len(), 100, 1)],
            ),
            WWW_A,
        ),
        row(
            "additional owner behind 200 chained pointers",
            msg(
                0,
                [1, 0, 0, 2],
                &[&www, &pointer_chain(12 + www.len(), 200, 1)],
            ),
            FormErr,
        ),
        row(
            "3,000 records owned by a chain of 10,000 pointers (56 KB)",
            msg(
                0,
                [1, 0, 0, 3_001],
                &[&www, &pointer_chain(12 + www.len(), 10_000, 3_000)],
            ),
            // hale reads UDP queries of up to 4 KB; longer ones are dropped.
            Dropped,
        )
        .tcp(FormErr),
        // OPT (RFC 6891 §6.1.1: at most one, owned by the root).
        row(
            "OPT owned by a pointer to a root label (still the root)",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &rr(&question_root, OPT, 1232, 0, &[])],
            ),
            WWW_A,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "two OPT records",
            msg(0, [1, 0, 0, 2], &[&www, &opt(0, 0, &[]), &opt(0, 0, &[])]),
            FormErr,
        )
        .opt(Opt::Any),
        row(
            "OPT owned by www.example.com.",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &rr(&wire("www.example.com"), OPT, 1232, 0, &[])],
            ),
            FormErr,
        )
        .opt(Opt::Any),
        row(
            "OPT owned by a pointer to the question name",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &rr(&[0xc0, 12], OPT, 1232, 0, &[])],
            ),
            FormErr,
        )
        .opt(Opt::Any),
        row(
            "OPT whose RDLENGTH runs past the end",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &opt(0, 0, &[])[..9], &[0, 40, 0, 10, 0, 2]],
            ),
            FormErr,
        )
        .opt(Opt::Any),
        // Opcodes other than QUERY (RFC 8906 §3.1.4).
        row(
            "opcode 1 (IQUERY, obsolete) with RD",
            msg(opcode(1) | RD, [1, 0, 0, 0], &[&www]),
            NotImp,
        ),
        row(
            "opcode 2 (STATUS)",
            msg(opcode(2), [1, 0, 0, 0], &[&www]),
            NotImp,
        ),
        row(
            "opcode 3 (unassigned) with every other flag set",
            msg(
                opcode(3) | AA | TC | RD | RA | Z | AD | CD,
                [1, 0, 0, 0],
                &[&www],
            ),
            NotImp,
        ),
        row(
            "NOTIFY (opcode 4) with AA, as a primary sends it",
            msg(opcode(4) | AA, [1, 0, 0, 0], &[&www_soa]),
            NotImp,
        ),
        row(
            "UPDATE (opcode 5) adding a record",
            msg(opcode(5), [1, 0, 1, 0], &[&www_soa, &a_record]),
            NotImp,
        ),
        row(
            "DSO (opcode 6), no sections",
            msg(opcode(6), [0, 0, 0, 0], &[]),
            NotImp,
        ),
        row(
            "opcode 15 on an unreadable body",
            msg(opcode(15), [3, 1, 1, 1], &[&[0xc0, 0xc0, 0xc0]]),
            NotImp,
        ),
        row(
            "opcode 15 with EDNS, DO and CD",
            msg(opcode(15) | CD, [1, 0, 0, 1], &[&www, &opt(0, 0x8000, &[])]),
            NotImp,
        ),
        // Header flags a query may not carry are ignored, never echoed.
        row("Z bit set", msg(Z, [1, 0, 0, 0], &[&www]), WWW_A),
        row("AD and CD set", msg(AD | CD, [1, 0, 0, 0], &[&www]), WWW_A),
        row("TC set in a query", msg(TC, [1, 0, 0, 0], &[&www]), WWW_A),
        row(
            "every flag a query can set (AA TC RD RA Z AD CD)",
            msg(AA | TC | RD | RA | Z | AD | CD, [1, 0, 0, 0], &[&www]),
            WWW_A,
        ),
        row(
            "AA set, name outside every zone",
            msg(AA, [1, 0, 0, 0], &[&question("www.example.net", A, IN)]),
            Refused,
        ),
        // EDNS: unknown options and flags are ignored (RFC 6891 §6.1.2, §6.1.4).
        row(
            "unknown EDNS option 65001",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &opt(0, 0, &option(65001, &[1, 2, 3]))],
            ),
            WWW_A,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        // DNS Cookies (RFC 7873): a client cookie gets a server cookie back;
        // a server cookie that is not ours (not 16 bytes, or forged) a new one.
        row(
            "COOKIE option, client cookie alone",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &opt(0, 0, &option(10, &[1, 2, 3, 4, 5, 6, 7, 8]))],
            ),
            WWW_A,
        )
        .opt(Opt::Cookie([1, 2, 3, 4, 5, 6, 7, 8])),
        row(
            "COOKIE with a forged 16-byte server cookie",
            msg(0, [1, 0, 0, 1], &[&www, &opt(0, 0, &option(10, &[3; 24]))]),
            WWW_A,
        )
        .opt(Opt::Cookie([3; 8])),
        row(
            "COOKIE with a 32-byte server cookie (not RFC 9018's)",
            msg(0, [1, 0, 0, 1], &[&www, &opt(0, 0, &option(10, &[4; 40]))]),
            WWW_A,
        )
        .opt(Opt::Cookie([4; 8])),
        row(
            "unknown EDNS flags set (not DO)",
            msg(0, [1, 0, 0, 1], &[&www, &opt(0, 0x7fff, &[])]),
            WWW_A,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "DO and every unknown EDNS flag set",
            msg(0, [1, 0, 0, 1], &[&www, &opt(0, 0xffff, &[])]),
            WWW_A,
        )
        .opt(Opt::Plain { dnssec_ok: true }),
        row(
            "EDNS payload size 0 (read as 512)",
            msg(0, [1, 0, 0, 1], &[&www, &rr(&[0], OPT, 0, 0, &[])]),
            WWW_A,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "extended RCODE bits set in the query's OPT",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &rr(&[0], OPT, 1232, 0x7f << 24, &[])],
            ),
            WWW_A,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        // EDNS version ≥ 1 (RFC 6891 §6.1.3).
        row(
            "EDNS version 1",
            msg(0, [1, 0, 0, 1], &[&www, &opt(1, 0, &[])]),
            BadVers,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "EDNS version 255 with an unknown option and flag",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &opt(255, 0x4000, &option(65001, &[9]))],
            ),
            BadVers,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "EDNS version 1 for a name outside every zone",
            msg(
                0,
                [1, 0, 0, 1],
                &[&question("www.example.net", A, IN), &opt(1, 0, &[])],
            ),
            BadVers,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        // Types.
        row(
            "unknown type TYPE65000 at an existing name",
            msg(0, [1, 0, 0, 0], &[&question("www.example.com", 65000, IN)]),
            NoData,
        ),
        row(
            "unknown type TYPE65000 at a missing name",
            msg(
                0,
                [1, 0, 0, 0],
                &[&question("nothere.example.com", 65000, IN)],
            ),
            NxDomain,
        ),
        row(
            "QTYPE OPT (41) in the question",
            msg(0, [1, 0, 0, 0], &[&question("www.example.com", OPT, IN)]),
            FormErr,
        ),
        // Classes: only IN data exists; ANY reads as IN.
        row(
            "class CH (3)",
            msg(0, [1, 0, 0, 0], &[&question("www.example.com", A, 3)]),
            Refused,
        ),
        row(
            "class CH version.bind TXT",
            msg(0, [1, 0, 0, 0], &[&question("version.bind", TXT, 3)]),
            Refused,
        ),
        row(
            "class HS (4)",
            msg(0, [1, 0, 0, 0], &[&question("www.example.com", A, 4)]),
            Refused,
        ),
        row(
            "class NONE (254)",
            msg(0, [1, 0, 0, 0], &[&question("www.example.com", A, 254)]),
            Refused,
        ),
        row(
            "class 0",
            msg(0, [1, 0, 0, 0], &[&question("www.example.com", A, 0)]),
            Refused,
        ),
        row(
            "class NONE (254) with EDNS: REFUSED with an Extended DNS Error",
            msg(
                0,
                [1, 0, 0, 1],
                &[&question("www.example.com", A, 254), &opt(0, 0, &[])],
            ),
            Refused,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "class ANY (255): IN data, not authoritative",
            msg(0, [1, 0, 0, 0], &[&question("www.example.com", A, ANY)]),
            Answer {
                aa: false,
                types: &[RecordType::A],
            },
        ),
        // ANY (RFC 8482): one RRset.
        row(
            "ANY at a name with A and AAAA",
            msg(0, [1, 0, 0, 0], &[&question("www.example.com", ANY, IN)]),
            OneRrset,
        ),
        row(
            "ANY at the apex (SOA, NS, A)",
            msg(0, [1, 0, 0, 0], &[&question("example.com", ANY, IN)]),
            OneRrset,
        ),
        row(
            "ANY at a TXT-only name",
            msg(0, [1, 0, 0, 0], &[&question("txt.example.com", ANY, IN)]),
            OneRrset,
        ),
        row(
            "ANY in class ANY",
            msg(0, [1, 0, 0, 0], &[&question("www.example.com", ANY, ANY)]),
            OneRrset,
        ),
        row(
            "ANY at a missing name",
            msg(
                0,
                [1, 0, 0, 0],
                &[&question("nothere.example.com", ANY, IN)],
            ),
            NxDomain,
        ),
        // Zone transfers: never over UDP; over TCP only to allowed clients
        // (this config allows none).
        row(
            "AXFR",
            msg(0, [1, 0, 0, 0], &[&question("example.com", AXFR, IN)]),
            NoZoneData,
        )
        .tcp(Refused),
        row(
            "AXFR of a zone not served",
            msg(0, [1, 0, 0, 0], &[&question("example.net", AXFR, IN)]),
            NoZoneData,
        )
        .tcp(Refused),
        row(
            "IXFR with the client's SOA in authority (RFC 1995 §3)",
            msg(
                0,
                [1, 0, 1, 0],
                &[&question("example.com", IXFR, IN), &client_soa],
            ),
            // Over UDP the current SOA alone (RFC 1995 §2: ask over TCP),
            // where this client is not allowed.
            IXFR_OVER_UDP,
        )
        .tcp(Refused),
        row(
            "IXFR with 65 authority records",
            msg(
                0,
                [1, 0, 65, 0],
                &[&question("example.com", IXFR, IN), &client_soa.repeat(65)],
            ),
            FormErr,
        ),
        // RFC 1995 §3: the client's SOA is part of an IXFR query (NSD
        // answers one without it FORMERR too).
        row(
            "IXFR without an SOA",
            msg(0, [1, 0, 0, 0], &[&question("example.com", IXFR, IN)]),
            FormErr,
        ),
        // Malformed EDNS options in a sound OPT: FORMERR with the OPT echoed
        // (RFC 6891 §7), as NSD and BIND answer (issue #17 item 4).
        row(
            "EDNS option length past the OPT's data",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &opt(0, 0, &[0xfd, 0xe9, 0, 9, 1, 2, 3])],
            ),
            FormErr,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "EDNS option header cut short",
            msg(0, [1, 0, 0, 1], &[&www, &opt(0, 0x8000, &[0, 10, 0])]),
            FormErr,
        )
        .opt(Opt::Plain { dnssec_ok: true }),
        row(
            "COOKIE of 7 bytes (RFC 7873 §5.2.2: 8, or 16 to 40)",
            msg(0, [1, 0, 0, 1], &[&www, &opt(0, 0, &option(10, &[7; 7]))]),
            FormErr,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "COOKIE of 12 bytes",
            msg(0, [1, 0, 0, 1], &[&www, &opt(0, 0, &option(10, &[7; 12]))]),
            FormErr,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "COOKIE of 41 bytes",
            msg(0, [1, 0, 0, 1], &[&www, &opt(0, 0, &option(10, &[7; 41]))]),
            FormErr,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "Client Subnet of family 3 (RFC 7871 §7.1.2)",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &opt(0, 0, &option(8, &[0, 3, 24, 0, 192, 0, 2]))],
            ),
            FormErr,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "Client Subnet whose address is longer than its prefix",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &opt(0, 0, &option(8, &[0, 1, 8, 0, 192, 0, 2]))],
            ),
            FormErr,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        row(
            "Client Subnet, sound, is ignored",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &opt(0, 0, &option(8, &[0, 1, 24, 0, 192, 0, 2]))],
            ),
            WWW_A,
        )
        .opt(Opt::Plain { dnssec_ok: false }),
        // A malformed TSIG (RFC 8945 §5.2): FORMERR.
        row(
            "TSIG whose MAC runs past its data",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &rr(&[0], TSIG, 255, 0, &tsig_data(64, -8))],
            ),
            FormErr,
        ),
        row(
            "TSIG with bytes after its other data",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &rr(&[0], TSIG, 255, 0, &tsig_data(32, 3))],
            ),
            FormErr,
        ),
        row(
            "TSIG of class IN",
            msg(
                0,
                [1, 0, 0, 1],
                &[&www, &rr(&[0], TSIG, IN, 0, &tsig_data(32, 0))],
            ),
            FormErr,
        ),
        row(
            "TSIG before the OPT (not the last record)",
            msg(
                0,
                [1, 0, 0, 2],
                &[
                    &www,
                    &rr(&[0], TSIG, 255, 0, &tsig_data(32, 0)),
                    &opt(0, 0, &[]),
                ],
            ),
            FormErr,
        ),
    ]
}

/// A TSIG record's data (RFC 8945 §4.2) with a MAC of `mac` bytes, its
/// length field off by `skew` (negative: the data cut short by that much).
fn tsig_data(mac: u16, skew: i32) -> Vec<u8> {
    let mut data = b"\x0bhmac-sha256\x00".to_vec();
    data.extend([0, 0, 0x65, 0x5f, 0, 0, 1, 44]);
    data.extend(mac.to_be_bytes());
    data.extend(vec![9; mac as usize]);
    data.extend([0x12, 0x34, 0, 0, 0, 0]);
    match skew {
        s if s < 0 => data.truncate(data.len() - (-s) as usize),
        s => data.extend(vec![0; s as usize]),
    }
    data
}

// ---- checking -------------------------------------------------------------

fn flags_of(bytes: &[u8]) -> u16 {
    match bytes {
        [_, _, a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// Checks `raw`, the response to `row`, against `expect`.
fn check(row: &Row, expect: Expect, raw: &[u8]) -> Result<(), String> {
    if raw.len() < 12 {
        return Err("response shorter than a header".into());
    }
    let id = u16::from_be_bytes([raw[0], raw[1]]);
    if id != ID {
        return Err(format!("id {id:#06x}, expected {ID:#06x}"));
    }
    let (flags, qflags) = (flags_of(raw), flags_of(&row.bytes));
    if flags & QR == 0 {
        return Err("QR clear".into());
    }
    if flags & 0x7800 != qflags & 0x7800 {
        return Err(format!("opcode not echoed: flags {flags:#06x}"));
    }
    // RA: hale never recurses; Z, AD, CD: never echoed (no DNSSEC here).
    if flags & (RA | Z | AD | CD | TC) != 0 {
        return Err(format!("RA, Z, AD, CD or TC set: flags {flags:#06x}"));
    }
    let msg = Message::from_vec(raw).map_err(|e| format!("unparseable ({e})"))?;
    let code = rcode(&msg);
    let aa = flags & AA != 0;
    let nothing = msg.answers.is_empty() && msg.authorities.is_empty();
    let want = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
    if !matches!(expect, Expect::NotImp) {
        want(flags & RD == qflags & RD, "RD not copied from the query")?;
    }
    let soa_only = |msg: &Message| {
        msg.answers.is_empty()
            && msg.authorities.len() == 1
            && msg.authorities[0].record_type() == RecordType::SOA
            && msg.authorities[0].name.to_ascii() == "example.com."
    };
    match expect {
        Expect::Dropped => return Err("answered a packet that deserves no response".into()),
        Expect::FormErr => {
            want(code == 1, "FORMERR expected")?;
            want(!aa && nothing, "FORMERR with AA or records")?;
        }
        Expect::NotImp => {
            want(code == 4, "NOTIMP expected")?;
            want(
                flags == QR | (qflags & 0x7800) | 4,
                "NOTIMP flags other than QR and the opcode",
            )?;
            want(raw[4..12] == [0; 8], "NOTIMP with non-empty sections")?;
        }
        Expect::BadVers => {
            want(code == 16, "BADVERS expected")?;
            let opt = msg.edns.as_ref().ok_or("BADVERS without OPT")?;
            want(opt.version() == 0, "BADVERS OPT not version 0")?;
            want(msg.answers.is_empty(), "BADVERS with answers")?;
        }
        Expect::Refused => {
            want(code == 5, "REFUSED expected")?;
            want(!aa && msg.answers.is_empty(), "REFUSED with AA or answers")?;
        }
        Expect::NoData => {
            want(code == 0 && aa, "authoritative NOERROR expected")?;
            want(soa_only(&msg), "NODATA: no answer and the SOA alone")?;
        }
        Expect::NxDomain => {
            want(code == 3 && aa, "authoritative NXDOMAIN expected")?;
            want(soa_only(&msg), "NXDOMAIN: no answer and the SOA alone")?;
        }
        Expect::Answer { aa: want_aa, types } => {
            want(code == 0, "NOERROR expected")?;
            want(aa == want_aa, "AA wrong")?;
            let got: Vec<RecordType> = msg.answers.iter().map(|r| r.record_type()).collect();
            want(
                got == types,
                &format!("answer types {got:?}, expected {types:?}"),
            )?;
        }
        Expect::OneRrset => {
            want(code == 0, "NOERROR expected")?;
            let first = msg.answers.first().ok_or("ANY with an empty answer")?;
            let one = msg.answers.iter().all(|r| {
                r.record_type() == first.record_type()
                    && r.name
                        .to_ascii()
                        .eq_ignore_ascii_case(&first.name.to_ascii())
            });
            want(one, "ANY answered with more than one RRset")?;
        }
        Expect::NoZoneData => {
            want(code == 4 || code == 5, "REFUSED or NOTIMP expected")?;
            want(msg.answers.is_empty(), "zone data outside a transfer")?;
        }
    }
    match row.opt {
        Opt::Any => {}
        Opt::Absent => want(msg.edns.is_none(), "OPT in the response")?,
        Opt::Plain { dnssec_ok } => {
            let opt = msg.edns.as_ref().ok_or("no OPT in the response")?;
            want(opt.version() == 0, "OPT version not 0")?;
            want(opt.flags().dnssec_ok == dnssec_ok, "DO not copied")?;
            want(opt.flags().z == 0, "unknown EDNS flags echoed")?;
            let echoed = opt
                .options()
                .as_ref()
                .iter()
                .any(|(code, _)| u16::from(*code) != 15);
            want(!echoed, "EDNS options other than EDE in the response")?;
        }
        Opt::Cookie(client) => {
            let opt = msg.edns.as_ref().ok_or("no OPT in the response")?;
            want(opt.version() == 0, "OPT version not 0")?;
            let options = opt.options().as_ref();
            want(options.len() == 1, "not one option")?;
            let cookie = options
                .iter()
                .find(|(code, _)| u16::from(*code) == 10)
                .ok_or("no COOKIE in the response")?;
            let mut value = Vec::new();
            hickory_proto::serialize::binary::BinEncodable::emit(
                &cookie.1,
                &mut hickory_proto::serialize::binary::BinEncoder::new(&mut value),
            )
            .map_err(|_| "COOKIE unwritable")?;
            want(value.len() == 24, "COOKIE not of 24 bytes")?;
            want(value[..8] == client, "client cookie not echoed")?;
            want(value[8..12] == [1, 0, 0, 0], "server cookie not RFC 9018's")?;
        }
    }
    Ok(())
}

/// The valid query sent after every packet, and what its answer must hold.
fn probe() -> Vec<u8> {
    let mut q = msg(0, [1, 0, 0, 0], &[&question("www.example.com", A, IN)]);
    q[..2].copy_from_slice(&PROBE_ID.to_be_bytes());
    q
}

fn check_probe(raw: &[u8]) -> Result<(), String> {
    let msg = Message::from_vec(raw).map_err(|e| format!("probe answer unparseable ({e})"))?;
    if msg.metadata.id != PROBE_ID || a_addrs(&msg) != [Ipv4Addr::new(192, 0, 2, 1)] {
        return Err(format!("valid query after it answered wrongly: {msg:?}"));
    }
    Ok(())
}

// ---- UDP ------------------------------------------------------------------

/// One UDP wait before sending again.
const UDP_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// Receives on `socket` until a datagram with `id` arrives (sending `query`
/// again on every [`UDP_RETRY`]); datagrams with other ids go to `others`.
async fn udp_await(
    socket: &UdpSocket,
    query: &[u8],
    id: u16,
    others: &mut Vec<Vec<u8>>,
) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; 65535];
    let start = tokio::time::Instant::now();
    while start.elapsed() < DEADLINE {
        socket.send(query).await.map_err(|e| format!("send: {e}"))?;
        let until = tokio::time::Instant::now() + UDP_RETRY;
        while let Ok(received) = tokio::time::timeout_at(until, socket.recv(&mut buf)).await {
            let n = received.map_err(|e| format!("receive: {e}"))?;
            if n >= 2 && buf[..2] == id.to_be_bytes() {
                return Ok(buf[..n].to_vec());
            }
            others.push(buf[..n].to_vec());
        }
    }
    Err(format!(
        "no UDP response with id {id:#06x} within {DEADLINE:?}"
    ))
}

async fn udp_row(server: SocketAddr, row: &Row) -> Result<(), String> {
    let socket = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    socket
        .connect(server)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut stray = Vec::new();
    if matches!(row.udp, Expect::Dropped) {
        socket
            .send(&row.bytes)
            .await
            .map_err(|e| format!("send: {e}"))?;
    } else {
        let reply = udp_await(&socket, &row.bytes, ID, &mut stray).await?;
        check(row, row.udp, &reply)?;
    }
    // The valid query on the same socket. One worker serves one client
    // socket in order, so an answer to a dropped packet would come first.
    let answer = udp_await(&socket, &probe(), PROBE_ID, &mut stray).await?;
    if matches!(row.udp, Expect::Dropped) && !stray.is_empty() {
        return Err(format!(
            "answered a packet that deserves none: {stray:02x?}"
        ));
    }
    check_probe(&answer)
}

// ---- TCP ------------------------------------------------------------------

async fn write_frame(stream: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(msg);
    stream.write_all(&framed).await
}

/// The next length-prefixed message; `Ok(None)` when hale closed the connection.
async fn read_frame(stream: &mut TcpStream) -> Result<Option<Vec<u8>>, String> {
    let read = async {
        let mut len = [0u8; 2];
        match stream.read_exact(&mut len).await {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut msg).await?;
        Ok(Some(msg))
    };
    match tokio::time::timeout(DEADLINE, read).await {
        Ok(Ok(frame)) => Ok(frame),
        Ok(Err(e)) => Err(format!("TCP read: {e}")),
        Err(_) => Err(format!("no TCP response within {DEADLINE:?}")),
    }
}

async fn tcp_row(server: SocketAddr, row: &Row) -> Result<(), String> {
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    write_frame(&mut stream, &row.bytes)
        .await
        .map_err(|e| format!("write: {e}"))?;
    if matches!(row.tcp, Expect::Dropped) {
        // RFC 7766 leaves it open whether a server closes the connection
        // (NSD does) or ignores the message (hale does); either is fine, but
        // the message gets no answer, and an open connection still serves.
        // The write fails if hale has closed the connection; the read says.
        let _ = write_frame(&mut stream, &probe()).await;
        match read_frame(&mut stream).await? {
            Some(frame) if frame.get(..2) == Some(&PROBE_ID.to_be_bytes()[..]) => {
                check_probe(&frame)?;
            }
            Some(frame) => {
                return Err(format!(
                    "answered a packet that deserves none: {frame:02x?}"
                ));
            }
            None => {}
        }
    } else {
        let reply = read_frame(&mut stream)
            .await?
            .ok_or("connection closed without a response")?;
        check(row, row.tcp, &reply)?;
        write_frame(&mut stream, &probe())
            .await
            .map_err(|e| format!("write after the response: {e}"))?;
        let answer = read_frame(&mut stream)
            .await?
            .ok_or("connection closed after the response")?;
        check_probe(&answer)?;
    }
    // And a fresh connection is served.
    check_probe(&tcp_exchange(server, &probe()).await)
}

// ---- the tests ------------------------------------------------------------

/// Panics listing every failed row.
fn report(transport: &str, failures: Vec<String>, rows: usize) {
    assert!(
        failures.is_empty(),
        "{} of {rows} rows failed over {transport}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_packets_over_udp() {
    let hale = Hale::start(SERVER, &[("example.com.zone", &zone())]).await;
    let rows = table();
    let mut failures = Vec::new();
    for row in &rows {
        if let Err(e) = udp_row(hale.dns_addr(), row).await {
            failures.push(format!("  {} ({} bytes): {e}", row.name, row.bytes.len()));
        }
    }
    report("UDP", failures, rows.len());
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_packets_over_tcp() {
    let hale = Hale::start(SERVER, &[("example.com.zone", &zone())]).await;
    let rows = table();
    let mut failures = Vec::new();
    for row in &rows {
        if let Err(e) = tcp_row(hale.dns_addr(), row).await {
            failures.push(format!("  {} ({} bytes): {e}", row.name, row.bytes.len()));
        }
    }
    report("TCP", failures, rows.len());
    hale.shutdown().await;
}
