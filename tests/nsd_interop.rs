//! hale and NSD answer the same zone identically.
//!
//! The contract says every name that is not health-checked answers exactly as
//! NSD would from the same zone file. This test starts a real NSD (4.x, as
//! `apt-get install nsd` ships it; `$NSD` overrides the binary) and an
//! in-process hale on the very same zone files, sends both the same query bytes
//! over UDP (with and without EDNS) and TCP (likewise), and compares the rcode
//! (extended included), the AA/TC/RA/RD/AD/CD flags, the question as echoed,
//! the OPT record (present or not, version, DO bit, options such as RFC 8914
//! Extended DNS Errors) and the answer, authority and additional sections as
//! multisets of (lowercased owner, TTL, class, type, rdata).
//!
//! Accepted normalisations: owner and rdata names are compared lowercased (the
//! case of a compressed name depends on which copy the encoder points at), and
//! the advertised EDNS UDP size is not compared. When either reply has TC set,
//! only the header (rcode, flags) is compared: what goes into a truncated
//! reply is the server's choice. The test prints one table row per query and
//! then every difference with both replies, and fails when there is any.
//! Without NSD it says how to install it and skips, so that `cargo test` works
//! on a machine with only the Rust toolchain; with `HALE_REQUIRE_NSD=1` (as
//! `.ci/run` sets, after installing NSD) a missing NSD fails the test instead.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::{DNSClass, Record, RecordType};

use crate::support::{
    Ask, Hale, Nsd, decode, free_dns_port, nsd_or_skip, tcp_exchange, udp_once, www_at,
};

/// The zone both servers load. SOA TTL 7200 above MINIMUM 300, so negative
/// answers must carry the SOA with TTL 300 (RFC 2308).
const ZONE: &str = r#"; hale/NSD interoperability zone: every construct both must answer alike
$ORIGIN example.com.
$TTL 3600
@   7200 IN SOA ns1.example.com. hostmaster.example.com. (
            2024060101 ; serial
            7200       ; refresh
            900        ; retry
            1209600    ; expire
            300 )      ; minimum, lower than the SOA TTL
        IN NS   ns1                       ; in-zone name server, A and AAAA below
        IN NS   ns.outside.test.          ; out-of-zone name server
        IN MX   10 mail
        IN TXT  "v=spf1 -all"
ns1     IN A    192.0.2.53
        IN AAAA 2001:db8::53
mail    IN A    192.0.2.25

www 300 IN A    192.0.2.1                 ; a name with two addresses
www 300 IN A    192.0.2.2
alias   IN CNAME www
chain1  IN CNAME chain2                   ; two-step chain
chain2  IN CNAME www.example.com.
outside IN CNAME www.outside.test.        ; leaves the zone
dangling IN CNAME nothing-here            ; target does not exist
towild  IN CNAME target.wild              ; lands on the wildcard
tosub   IN CNAME host.sub                 ; lands below the delegation

*.wild  IN A    192.0.2.99
*.wild  IN TXT  "synthesised"
exists.wild IN A 192.0.2.100
*.cw    IN CNAME www                      ; wildcard CNAME

a.b.c.ent IN A  192.0.2.77                ; b.c.ent, c.ent, ent are empty non-terminals

sub     IN NS   ns.sub                    ; delegation with in-bailiwick glue
sub     IN NS   ns.outside.test.
ns.sub  IN A    192.0.2.153

_sip._tcp IN SRV 10 60 5060 sip
sip     IN A    192.0.2.60

anyorder IN TXT  "first in the file"     ; ANY: which single RRset (RFC 8482)
anyorder IN AAAA 2001:db8::111
anyorder IN A    192.0.2.111
anynormal IN TXT "no address here"
anynormal IN SRV 0 0 80 www

toapex  IN CNAME @                        ; `@` in data is the origin (RFC 1035 §5.1)
mx2     IN MX   ( 20
                  @ )

; Text in parentheses keeps its quotes' meaning (a `;` inside is text).
dkim._domainkey IN TXT ( "v=DKIM1; k=rsa; "   ; the key's first part
                         "p=MIGfMA0GCSqGSIb3DQEB" )
caa     IN CAA  ( 0 issue "ca.example.net" )
hinfo   IN HINFO ( "PC Intel" "Linux 6" )
esc     IN TXT  "a\032b\059c\034d\092e"       ; decimal escapes
bare    IN TXT  a\032b\;c                      ; unquoted, with escapes
loop1   IN CNAME loop2                    ; a CNAME loop
loop2   IN CNAME loop1
mxw     IN MX   10 host.wild              ; its target's address is a wildcard's
mxsub   IN MX   10 ns.sub                 ; its target is below a delegation
signed  IN NS   ns.outside.test.          ; a delegation with its DS
signed  IN DS   12345 13 2 F2CA1BB6C7E907D06DAFE4687E579FCE76B37E4E93B7605022DA52E6CCC26FD2
@       IN DS   12345 13 2 F2CA1BB6C7E907D06DAFE4687E579FCE76B37E4E93B7605022DA52E6CCC26FD2

; DNAME (RFC 6672): names below are redirected with a synthesised CNAME.
dn 120  IN DNAME example.net.             ; out of zone: DNAME, CNAME, stop
dn      IN TXT  "owner data"              ; the owner's own data is served
into    IN DNAME sub2                     ; into this zone: the chain goes on
sub2    IN A    192.0.2.210
www.sub2 IN A   192.0.2.211
toin    IN CNAME www.into                 ; a CNAME into a DNAME
dloop   IN DNAME a.dloop                  ; redirects into itself
dlong   IN DNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.example.net.

$INCLUDE included.inc
after   IN A    192.0.2.200               ; the origin is back to example.com.
$INCLUDE hosts.inc hosts.example.com.     ; an origin for the included file only
after2  IN A    192.0.2.202
"#;

/// The `$INCLUDE`d part: a 6 × 100-byte TXT set (fits 1232, not 512) and a
/// 40 × 100-byte one (fits only TCP).
fn included() -> String {
    let mut text = String::from("; included from example.com.zone\ninc IN A 192.0.2.9\n");
    for (name, count) in [("big", 6), ("huge", 40)] {
        for i in 0..count {
            let body: String = format!("{name}{i:02}-").chars().cycle().take(100).collect();
            writeln!(text, "{name} IN TXT \"{body}\"").unwrap();
        }
    }
    // An origin of its own, which ends with the file (RFC 1035 §5.1).
    text.push_str("$ORIGIN deep.example.com.\nwww IN A 192.0.2.201\n");
    text
}

/// UDP exchange with resends; panics when `addr` never answers.
async fn udp(addr: SocketAddr, query: &[u8]) -> Vec<u8> {
    for _ in 0..4 {
        if let Some(answer) = udp_once(addr, query, Duration::from_secs(3)).await {
            return answer;
        }
    }
    panic!("no UDP answer from {addr}");
}

/// TCP exchange with the 2-byte length prefix.
async fn tcp(addr: SocketAddr, query: &[u8]) -> Vec<u8> {
    tcp_exchange(addr, query).await
}

/// How one query travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Udp,
    Tcp,
}

/// One query as sent to both servers.
struct Probe {
    /// Transport column label.
    column: String,
    ask: Ask,
    via: Via,
    /// Sets the EDNS DO bit (RFC 3225) when the query has an OPT record.
    dnssec_ok: bool,
}

impl Probe {
    /// The query on the wire.
    fn bytes(&self) -> Vec<u8> {
        let bytes = self.ask.to_bytes();
        if !self.dnssec_ok {
            return bytes;
        }
        let mut msg = decode(&bytes);
        let edns = msg.edns.as_mut().expect("DO needs EDNS");
        edns.set_dnssec_ok(true);
        msg.to_vec().expect("encode query")
    }
}

/// One query (one table row), sent over several transports.
struct Case {
    what: &'static str,
    probes: Vec<Probe>,
}

/// `ask` over UDP with EDNS 1232, UDP without EDNS, TCP without and TCP with EDNS.
fn everywhere(what: &'static str, ask: Ask) -> Case {
    let variants = [
        ("udp+edns", Via::Udp, Some((1232, 0))),
        ("udp", Via::Udp, None),
        ("tcp", Via::Tcp, None),
        ("tcp+edns", Via::Tcp, Some((1232, 0))),
    ];
    let probes = variants
        .into_iter()
        .map(|(column, via, edns)| {
            let mut ask = ask.clone();
            ask.edns = edns;
            Probe {
                column: column.to_string(),
                ask,
                via,
                dnssec_ok: false,
            }
        })
        .collect();
    Case { what, probes }
}

/// `ask` exactly as built (its own EDNS), over UDP and TCP.
fn as_built(what: &'static str, ask: Ask) -> Case {
    let probes = [("udp", Via::Udp), ("tcp", Via::Tcp)]
        .into_iter()
        .map(|(column, via)| {
            let column = match ask.edns {
                Some((size, version)) => format!("{column}+edns{size}v{version}"),
                None => column.to_string(),
            };
            Probe {
                column,
                ask: ask.clone(),
                via,
                dnssec_ok: false,
            }
        })
        .collect();
    Case { what, probes }
}

/// `case` with the DO bit set wherever it has EDNS, and only there.
fn with_do(mut case: Case) -> Case {
    case.probes.retain(|p| p.ask.edns.is_some());
    for probe in &mut case.probes {
        probe.dnssec_ok = true;
        probe.column.push_str("+do");
    }
    case
}

fn q(name: &str, qtype: RecordType) -> Ask {
    Ask::new(name, qtype)
}

// Deliberate differences from NSD 4.6, left out of this comparison and
// asserted on hale alone in `dns_rules`:
// - ANY (RFC 8482): both answer with one RRset, but which one is the server's
//   choice. NSD picks by zone-file order, which hickory's parser does not keep;
//   hale prefers A, AAAA, SOA, MX, PTR, in that order, then the first by type.
// - Classes other than IN/ANY/CH: both REFUSED with EDE 21; NSD drops the
//   question, hale echoes it (as it does for every REFUSED).
// - NOTIFY: NSD says REFUSED (no allow-notify); hale says NOTIMP, as issue #4
//   asks (RFC 8906 §3.1.4), since it takes no NOTIFY at all.
fn cases() -> Vec<Case> {
    use RecordType::*;
    let unknown = RecordType::Unknown(999);
    vec![
        everywhere("apex SOA", q("example.com", SOA)),
        everywhere("apex SOA, RD=1", q("example.com", SOA).rd(true)),
        everywhere("apex NS (+glue)", q("example.com", NS)),
        everywhere("apex MX (+additional)", q("example.com", MX)),
        everywhere("apex TXT", q("example.com", TXT)),
        everywhere("apex DS (child side)", q("example.com", DS)),
        everywhere("apex ANY", q("example.com", ANY)),
        everywhere("two A", q("www.example.com", A)),
        everywhere("two A, RD=1", q("www.example.com", A).rd(true)),
        everywhere("mixed-case qname", q("WwW.ExAmPlE.CoM", A)),
        everywhere("AAAA at A-only name", q("www.example.com", AAAA)),
        everywhere("ns1 AAAA", q("ns1.example.com", AAAA)),
        everywhere("ANY at ns1", q("ns1.example.com", ANY)),
        everywhere("unknown type TYPE999", q("www.example.com", unknown)),
        everywhere("$INCLUDEd name", q("inc.example.com", A)),
        everywhere("CNAME -> A", q("alias.example.com", A)),
        everywhere("CNAME qtype=CNAME", q("alias.example.com", CNAME)),
        everywhere("CNAME -> NODATA (MX)", q("alias.example.com", MX)),
        everywhere("CNAME ANY", q("alias.example.com", ANY)),
        everywhere("2-step CNAME chain", q("chain1.example.com", A)),
        everywhere("DNAME out of zone", q("x.dn.example.com", A)),
        everywhere("DNAME qtype=DNAME", q("dn.example.com", DNAME)),
        everywhere("DNAME owner's data", q("dn.example.com", TXT)),
        everywhere("DNAME owner, other type", q("dn.example.com", A)),
        everywhere("DNAME two below", q("a.b.dn.example.com", AAAA)),
        everywhere("DNAME into the zone", q("www.into.example.com", A)),
        everywhere(
            "DNAME into the zone, NXDOMAIN",
            q("nope.into.example.com", A),
        ),
        everywhere("CNAME into a DNAME", q("toin.example.com", A)),
        everywhere("DNAME into itself", q("q.dloop.example.com", A)),
        everywhere(
            "DNAME too long: YXDOMAIN",
            q(&format!("{}dlong.example.com", "q.".repeat(30)), A),
        ),
        everywhere("CNAME out of zone", q("outside.example.com", A)),
        everywhere("dangling CNAME", q("dangling.example.com", A)),
        everywhere("CNAME to wildcard", q("towild.example.com", A)),
        everywhere("CNAME into delegation", q("tosub.example.com", A)),
        everywhere("CNAME @ (to the apex), MX", q("toapex.example.com", MX)),
        everywhere("MX ( 20 @ )", q("mx2.example.com", MX)),
        everywhere(
            "TXT in parentheses, ; inside quotes",
            q("dkim._domainkey.example.com", TXT),
        ),
        everywhere("CAA in parentheses", q("caa.example.com", CAA)),
        everywhere("HINFO in parentheses", q("hinfo.example.com", HINFO)),
        everywhere("TXT with \\DDD escapes", q("esc.example.com", TXT)),
        everywhere("unquoted TXT with escapes", q("bare.example.com", TXT)),
        everywhere("$ORIGIN inside an $INCLUDE", q("www.deep.example.com", A)),
        everywhere("CNAME loop", q("loop1.example.com", A)),
        everywhere("MX target under a wildcard", q("mxw.example.com", MX)),
        everywhere("MX target below a delegation", q("mxsub.example.com", MX)),
        everywhere("DS at a delegation", q("signed.example.com", DS)),
        everywhere("NS at a signed delegation", q("signed.example.com", NS)),
        everywhere("origin back after the $INCLUDE", q("after.example.com", A)),
        everywhere("$INCLUDE with an origin", q("web.hosts.example.com", A)),
        everywhere("origin back after it", q("after2.example.com", A)),
        everywhere("wildcard A", q("foo.wild.example.com", A)),
        everywhere("wildcard A, mixed case", q("FoO.WiLd.example.com", A)),
        everywhere("wildcard TXT", q("foo.wild.example.com", TXT)),
        everywhere("wildcard MX (NODATA)", q("foo.wild.example.com", MX)),
        everywhere("wildcard 2 labels below", q("x.y.wild.example.com", A)),
        everywhere("wildcard ANY", q("foo.wild.example.com", ANY)),
        everywhere(
            "exists.wild TXT (NODATA)",
            q("exists.wild.example.com", TXT),
        ),
        everywhere("below exists.wild", q("x.exists.wild.example.com", A)),
        everywhere("wild itself (ENT)", q("wild.example.com", A)),
        everywhere("literal *.wild", q("*.wild.example.com", A)),
        everywhere("wildcard CNAME", q("foo.cw.example.com", A)),
        everywhere("ENT c.ent", q("c.ent.example.com", A)),
        everywhere("ENT ent", q("ent.example.com", TXT)),
        everywhere("deep name a.b.c.ent", q("a.b.c.ent.example.com", A)),
        everywhere("below deep name", q("x.a.b.c.ent.example.com", A)),
        everywhere("NXDOMAIN", q("nope.example.com", A)),
        everywhere("NXDOMAIN, RD=1", q("nope.example.com", A).rd(true)),
        everywhere("NXDOMAIN TYPE999", q("nope.example.com", unknown)),
        everywhere("below delegation", q("host.sub.example.com", A).rd(true)),
        everywhere("glue name itself", q("ns.sub.example.com", A)),
        everywhere("sub NS (referral)", q("sub.example.com", NS)),
        everywhere("sub A (referral)", q("sub.example.com", A)),
        everywhere("sub DS (parent side)", q("sub.example.com", DS)),
        everywhere("sub SOA (referral)", q("sub.example.com", SOA)),
        everywhere("SRV (+additional)", q("_sip._tcp.example.com", SRV)),
        everywhere("big TXT 6x100", q("big.example.com", TXT)),
        everywhere("huge TXT 40x100", q("huge.example.com", TXT)),
        as_built("huge TXT, EDNS 4096", q("huge.example.com", TXT).edns(4096)),
        as_built("big TXT, EDNS 512", q("big.example.com", TXT).edns(512)),
        as_built("www A, EDNS 100 (<512)", q("www.example.com", A).edns(100)),
        everywhere("out of zone", q("example.org", A)),
        everywhere("out of zone, RD=1", q("www.example.org", A).rd(true)),
        everywhere("parent of zone", q("com", NS)),
        everywhere("root SOA", q(".", SOA)),
        as_built("EDNS version 1", q("www.example.com", A).edns_version(1)),
        as_built(
            "EDNS version 1, NXDOMAIN",
            q("nope.example.com", A).edns_version(1),
        ),
        everywhere("CH class SOA", q("example.com", SOA).qclass(3)),
        everywhere("CH class TXT", q("www.example.com", TXT).qclass(3)),
        everywhere("ANY class A", q("www.example.com", A).qclass(255)),
        everywhere("ANY class NODATA", q("www.example.com", MX).qclass(255)),
        everywhere("ANY class NXDOMAIN", q("nope.example.com", A).qclass(255)),
        everywhere(
            "ANY class referral",
            q("host.sub.example.com", A).qclass(255),
        ),
        with_do(everywhere("DO=1", q("www.example.com", A))),
        with_do(everywhere("DO=1, NXDOMAIN", q("nope.example.com", A))),
        everywhere("CD=1", q("www.example.com", A).cd(true)),
        everywhere("opcode 3 (unassigned)", q("www.example.com", A).opcode(3)),
        everywhere("opcode 2 (STATUS)", q("www.example.com", A).opcode(2)),
        everywhere("opcode 1 (IQUERY)", q("www.example.com", A).opcode(1)),
        everywhere("opcode 5 (UPDATE)", q("example.com", SOA).opcode(5)),
    ]
}

/// A reply reduced to what the two servers must agree on.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    rcode: String,
    opcode: u8,
    aa: bool,
    tc: bool,
    ra: bool,
    rd: bool,
    ad: bool,
    cd: bool,
    question: Vec<String>,
    /// `None` without OPT; else the EDNS version, DO bit and options (such
    /// as RFC 8914 Extended DNS Errors). The UDP size is not compared.
    opt: Option<String>,
    answer: Vec<String>,
    authority: Vec<String>,
    additional: Vec<String>,
}

/// Owner lowercased; rdata lowercased except TXT (whose case is data).
fn record_key(r: &Record) -> String {
    let rtype = r.record_type();
    let rdata = r.data.to_string();
    let rdata = if rtype == RecordType::TXT {
        rdata
    } else {
        rdata.to_ascii_lowercase()
    };
    format!(
        "{} {} {} {} {}",
        r.name.to_string().to_ascii_lowercase(),
        r.ttl,
        r.dns_class,
        type_name(rtype),
        rdata
    )
}

fn section(records: &[Record]) -> Vec<String> {
    let mut keys: Vec<String> = records.iter().map(record_key).collect();
    keys.sort();
    keys
}

impl Reply {
    fn of(msg: &Message) -> Reply {
        let m = &msg.metadata;
        let rc = m.response_code;
        Reply {
            rcode: format!("{}({})", rcode_name(u16::from(rc)), u16::from(rc)),
            opcode: u8::from(m.op_code),
            aa: m.authoritative,
            tc: m.truncation,
            ra: m.recursion_available,
            rd: m.recursion_desired,
            ad: m.authentic_data,
            cd: m.checking_disabled,
            // Echoed as sent: compared with its case.
            question: msg
                .queries
                .iter()
                .map(|q| {
                    let (name, class) = (q.name(), q.query_class());
                    format!("{name} {class} {}", type_name(q.query_type()))
                })
                .collect(),
            opt: msg.edns.as_ref().map(|e| {
                format!(
                    "version {} do={} options {:?}",
                    e.version(),
                    e.flags().dnssec_ok as u8,
                    e.options().as_ref()
                )
            }),
            answer: section(&msg.answers),
            authority: section(&msg.authorities),
            additional: section(&msg.additionals),
        }
    }

    /// One table cell: `NOERROR aa 1/2/3`.
    fn cell(&self) -> String {
        let mut flags = String::new();
        for (on, name) in [
            (self.aa, "aa"),
            (self.tc, "tc"),
            (self.rd, "rd"),
            (self.ra, "ra"),
            (self.ad, "ad"),
            (self.cd, "cd"),
        ] {
            if on {
                flags.push_str(name);
                flags.push(' ');
            }
        }
        let rcode = self.rcode.split('(').next().unwrap_or_default();
        if self.question.is_empty() {
            flags.push_str("no-question ");
        }
        format!(
            "{rcode} {flags}{}/{}/{}",
            self.answer.len(),
            self.authority.len(),
            self.additional.len()
        )
    }

    /// dig-like text of the reply.
    fn text(&self) -> String {
        let mut out = format!(
            "rcode {} opcode {} aa={} tc={} rd={} ra={} ad={} cd={} opt={}\n",
            self.rcode,
            self.opcode,
            self.aa as u8,
            self.tc as u8,
            self.rd as u8,
            self.ra as u8,
            self.ad as u8,
            self.cd as u8,
            self.opt.as_deref().unwrap_or("none")
        );
        for q in &self.question {
            writeln!(out, "        ;question   {q}").unwrap();
        }
        for (name, records) in [
            ("answer", &self.answer),
            ("authority", &self.authority),
            ("additional", &self.additional),
        ] {
            for r in records {
                writeln!(out, "        {name:<11} {}", shorten(r)).unwrap();
            }
        }
        out
    }

    /// Every way `hale` differs from `self` (NSD); empty when they agree.
    fn differences(&self, hale: &Reply) -> Vec<String> {
        let mut diffs = Vec::new();
        let mut field = |name: &str, nsd: String, hale: String| {
            if nsd != hale {
                diffs.push(format!("{name}: nsd {nsd}, hale {hale}"));
            }
        };
        field("rcode", self.rcode.clone(), hale.rcode.clone());
        field("opcode", self.opcode.to_string(), hale.opcode.to_string());
        field("AA", self.aa.to_string(), hale.aa.to_string());
        field("TC", self.tc.to_string(), hale.tc.to_string());
        field("RA", self.ra.to_string(), hale.ra.to_string());
        field("RD", self.rd.to_string(), hale.rd.to_string());
        field("AD", self.ad.to_string(), hale.ad.to_string());
        field("CD", self.cd.to_string(), hale.cd.to_string());
        if self.tc || hale.tc {
            return diffs;
        }
        field(
            "question",
            format!("{:?}", self.question),
            format!("{:?}", hale.question),
        );
        field("OPT", format!("{:?}", self.opt), format!("{:?}", hale.opt));
        for (name, nsd, hale) in [
            ("answer", &self.answer, &hale.answer),
            ("authority", &self.authority, &hale.authority),
            ("additional", &self.additional, &hale.additional),
        ] {
            if nsd != hale {
                let only_nsd: Vec<_> = nsd.iter().filter(|r| !hale.contains(r)).collect();
                let only_hale: Vec<_> = hale.iter().filter(|r| !nsd.contains(r)).collect();
                diffs.push(format!(
                    "{name}: only NSD {:?}; only hale {:?}{}",
                    only_nsd.iter().map(|r| shorten(r)).collect::<Vec<_>>(),
                    only_hale.iter().map(|r| shorten(r)).collect::<Vec<_>>(),
                    if only_nsd.is_empty() && only_hale.is_empty() {
                        " (same records, different counts)"
                    } else {
                        ""
                    }
                ));
            }
        }
        diffs
    }
}

/// Long TXT rdata cut for display.
fn shorten(record: &str) -> String {
    if record.len() > 110 {
        format!("{}…", &record[..100])
    } else {
        record.to_string()
    }
}

/// `TYPE999` for types hickory does not know, as RFC 3597 writes them.
fn type_name(rtype: RecordType) -> String {
    match rtype {
        RecordType::Unknown(code) => format!("TYPE{code}"),
        known => known.to_string(),
    }
}

fn rcode_name(rcode: u16) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        9 => "NOTAUTH",
        16 => "BADVERS",
        _ => "RCODE",
    }
}

/// How a probe's query reads in a report.
fn describe(probe: &Probe) -> String {
    let ask = &probe.ask;
    format!(
        "{} class {} type {} opcode {} rd={} cd={} edns={}",
        ask.name,
        ask.qclass,
        type_name(ask.qtype),
        ask.opcode,
        ask.rd as u8,
        ask.cd as u8,
        match ask.edns {
            Some((size, version)) => {
                format!("{size}/v{version} do={}", probe.dnssec_ok as u8)
            }
            None => "none".to_string(),
        }
    )
}

async fn exchange(addr: SocketAddr, probe: &Probe) -> Reply {
    let bytes = probe.bytes();
    let reply = match probe.via {
        Via::Udp => udp(addr, &bytes).await,
        Via::Tcp => tcp(addr, &bytes).await,
    };
    let msg = decode(&reply);
    assert_eq!(
        msg.metadata.id, probe.ask.id,
        "{addr} answered with another id"
    );
    Reply::of(&msg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hale_answers_every_query_as_nsd_does() {
    if !nsd_or_skip("the NSD comparison") {
        return;
    }
    let config = "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = [\"zones/example.com.zone\"]\n";
    let included = included();
    let hale = Hale::start(
        config,
        &[
            ("example.com.zone", ZONE),
            ("included.inc", &included),
            ("hosts.inc", "web IN A 192.0.2.203\n"),
        ],
    )
    .await;
    // NSD reads the very same files, from hale's zones folder.
    let nsd = Nsd::start(&hale.dir().join("zones"), "example.com.zone").await;

    let mut table = String::new();
    let mut report = String::new();
    let mut compared = 0;
    let mut differing = 0;
    writeln!(
        table,
        "     {:<26} {:<36} per transport: rcode, flags, answer/authority/additional counts",
        "case", "query"
    )
    .unwrap();
    for case in cases() {
        let first = &case.probes[0].ask;
        let query = format!(
            "{} {} {}",
            first.name,
            type_name(first.qtype),
            DNSClass::from(first.qclass)
        );
        // (column, NSD's cell, hale's cell or None when the replies agree)
        let mut cells: Vec<(String, String, Option<String>)> = Vec::new();
        // Differences alike over several transports are reported once.
        let mut groups: Vec<(Vec<String>, Vec<&str>, String)> = Vec::new();
        for probe in &case.probes {
            let from_nsd = exchange(nsd.addr, probe).await;
            let from_hale = exchange(hale.dns_addr(), probe).await;
            let diffs = from_nsd.differences(&from_hale);
            compared += 1;
            if diffs.is_empty() {
                cells.push((probe.column.clone(), from_nsd.cell(), None));
                continue;
            }
            differing += 1;
            cells.push((
                probe.column.clone(),
                from_nsd.cell(),
                Some(from_hale.cell()),
            ));
            match groups.iter_mut().find(|(d, _, _)| *d == diffs) {
                Some((_, columns, _)) => columns.push(&probe.column),
                None => {
                    let details = format!(
                        "  query: {}\n  {}\n  nsd:  {}  hale: {}",
                        describe(probe),
                        diffs.join("\n  "),
                        from_nsd.text(),
                        from_hale.text()
                    );
                    groups.push((diffs, vec![&probe.column], details));
                }
            }
        }
        let ok = cells.iter().all(|(_, _, hale)| hale.is_none());
        let row = if cells.iter().all(|c| c.1 == cells[0].1 && c.2 == cells[0].2) {
            // Every transport gave the same: print it once.
            let (_, nsd, hale) = &cells[0];
            match hale {
                None => format!("all: {nsd}"),
                Some(hale) => format!("all: nsd {nsd} ≠ hale {hale}"),
            }
        } else {
            cells
                .iter()
                .map(|(column, nsd, hale)| match hale {
                    None => format!("{column}: {nsd}"),
                    Some(hale) => format!("{column}: nsd {nsd} ≠ hale {hale}"),
                })
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let mark = if ok { "ok  " } else { "DIFF" };
        writeln!(table, "{mark} {:<26} {:<36} {row}", case.what, query).unwrap();
        for (_, columns, details) in groups {
            let what = case.what;
            let columns = columns.join(", ");
            writeln!(report, "\n✗ {what} [{columns}]\n{}", details.trim_end()).unwrap();
        }
    }
    println!("{table}");
    println!("{compared} replies compared, {differing} differ");
    if differing > 0 {
        println!("Differences (NSD is the reference):{report}");
    }
    drop(nsd);
    hale.shutdown().await;
    assert_eq!(
        differing, 0,
        "hale and NSD disagree on {differing} of {compared} replies; each difference is printed above"
    );
}

/// hale as a hidden primary with NSD as its secondary: NSD transfers the
/// health-filtered zone, and a health change reaches NSD's answers through
/// NOTIFY and a new transfer (IXFR asked, the whole zone given).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsd_as_secondary_follows_health_through_notify() {
    if !nsd_or_skip("the NSD secondary test") {
        return;
    }
    let b = crate::support::backends(2).await;
    let (hale, nsd, _dir) = hale_and_nsd_secondary(&b, "").await;
    let addr = nsd.addr;
    let mut both = vec![b[0].ip(), b[1].ip()];
    both.sort();
    assert_eq!(www_at(addr).await, both, "NSD serves the transferred zone");

    b[1].set_mode(crate::support::Mode::Status(503)).await;
    let one = &vec![b[0].ip()];
    crate::support::eventually("NSD drops the failing address", || async move {
        www_at(addr).await == *one
    })
    .await;

    b[1].set_mode(crate::support::Mode::Healthy).await;
    let both = &both;
    crate::support::eventually("NSD takes the address back", || async move {
        www_at(addr).await == *both
    })
    .await;
    drop(nsd);
    hale.shutdown().await;
}

/// Issue #16 item 8: transfers carry the serving set, so an NSD secondary
/// follows a tier switch (primary down: the backup serves; back again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsd_as_secondary_follows_a_tier_switch() {
    if !nsd_or_skip("the NSD secondary tier test") {
        return;
    }
    let b = crate::support::backends(2).await;
    let tiers = format!("tiers = [[\"{}\"], [\"{}\"]]", b[0].ip(), b[1].ip());
    let (hale, nsd, _dir) = hale_and_nsd_secondary(&b, &tiers).await;
    let addr = nsd.addr;
    let (primary_tier, backup_tier) = (&vec![b[0].ip()], &vec![b[1].ip()]);
    crate::support::eventually("NSD serves the primary tier", || async move {
        www_at(addr).await == *primary_tier
    })
    .await;
    b[0].set_mode(crate::support::Mode::Status(503)).await;
    crate::support::eventually("NSD serves the backup tier", || async move {
        www_at(addr).await == *backup_tier
    })
    .await;
    b[0].set_mode(crate::support::Mode::Healthy).await;
    crate::support::eventually("NSD serves the primary tier again", || async move {
        www_at(addr).await == *primary_tier
    })
    .await;
    drop(nsd);
    hale.shutdown().await;
}

/// hale checking `www` on backends `b` (rise 1, fall 1, plus `extra` keys
/// in its check), with an NSD secondary it feeds by NOTIFY and transfers,
/// TSIG on both sides; the temp dir holds NSD's files.
async fn hale_and_nsd_secondary(
    b: &[crate::support::Backend],
    extra: &str,
) -> (Hale, Nsd, tempfile::TempDir) {
    hale_and_nsd(b, extra, true).await
}

/// [`hale_and_nsd_secondary`], NSD with the key or (`keyed` false) without
/// it, while hale requires it: NSD then never gets the zone, and is
/// waited for by a zone of its own (`ready.test`).
async fn hale_and_nsd(
    b: &[crate::support::Backend],
    extra: &str,
    keyed: bool,
) -> (Hale, Nsd, tempfile::TempDir) {
    use crate::support::tsig::{KEY_NAME, SECRET};
    let nsd_port = free_dns_port();
    let mut zone = crate::support::EXAMPLE_ZONE_HEAD.to_string();
    for backend in b {
        zone.push_str(&format!("www IN A {}\n", backend.ip()));
    }
    let config = format!(
        "{}\n[[key]]\nname = \"{KEY_NAME}\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\n\
         [transfer]\nallow = [{{ from = \"127.0.0.1\", key = \"{KEY_NAME}\" }}]\n\
         notify = [{{ to = \"127.0.0.1:{nsd_port}\", key = \"{KEY_NAME}\" }}]\n\n\
         [[check]]\nnames = [\"www.example.com.\"]\nport = {}\npath = \"/healthz\"\n\
         interval = \"100ms\"\ntimeout = \"1s\"\nrise = 1\nfall = 1\n{extra}\n",
        crate::support::SERVER,
        b[0].port()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let secondary_dir = tempfile::tempdir().expect("temp dir");
    let primary = hale.dns_addr();
    let key = if keyed { KEY_NAME } else { "NOKEY" };
    let zones = format!(
        "key:\n    name: \"{KEY_NAME}\"\n    algorithm: hmac-sha256\n    secret: \"{SECRET}\"\n\
         zone:\n    name: \"example.com\"\n    zonefile: \"example.com.secondary\"\n\
         \x20   request-xfr: {}@{} {key}\n    allow-notify: 127.0.0.1 {key}\n\
         zone:\n    name: \"ready.test\"\n    zonefile: \"ready.test.zone\"\n",
        primary.ip(),
        primary.port()
    );
    std::fs::write(
        secondary_dir.path().join("ready.test.zone"),
        "ready.test. 60 IN SOA ns.ready.test. h.ready.test. 1 60 60 60 60\nready.test. 60 IN NS ns.ready.test.\n",
    )
    .expect("ready.test zone");
    let ready = if keyed { "example.com" } else { "ready.test" };
    let nsd = Nsd::start_zones(secondary_dir.path(), &zones, ready, Some(nsd_port)).await;
    (hale, nsd, secondary_dir)
}

/// Issue #17 item 2: hale requires the key, NSD has none: NSD's transfer
/// is refused (NOTAUTH) and it never serves the zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsd_without_the_key_is_refused() {
    if !nsd_or_skip("the NSD secondary test") {
        return;
    }
    let b = crate::support::backends(2).await;
    let (hale, nsd, _dir) = hale_and_nsd(&b, "", false).await;
    crate::knot_secondary::refused_and_zoneless(&hale, "NSD", nsd.addr, &nsd.log_text()).await;
    drop(nsd);
    hale.shutdown().await;
}
