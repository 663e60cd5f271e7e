//! hale reads the zone-file corpus as NSD 4.6 reads it (issue #13, item 1).
//!
//! `tests/zones/nsd-corpus/` holds small zone files, one theme each (named in
//! each file's first comment), in three sets:
//!
//! - `*.zone`: files NSD accepts. NSD loads them all at once (one `nsd.conf`,
//!   the zone named after the file: `underscores.zone` is `underscores.`;
//!   `X.zone.nsd`, when present, is what NSD loads in place of `X.zone`,
//!   for syntax issue #13 asks of hale that NSD 4.6.1 refuses). For each
//!   file, an in-process hale loads that file alone; the test then compares
//!   the zone contents (AXFR from both) and the answers to a query for every
//!   owner and type NSD holds, plus an A query at every owner without one,
//!   a name below each wildcard and DNAME, and a name that does not exist
//!   (rcode, AA, TC and the three sections as sets of records).
//! - `reject/*.zone`: files NSD refuses, one error each. The header says
//!   the line NSD names (`; nsd-error: N: message`, checked against
//!   `nsd-checkzone`) and the line hale must name (`; error-line: N`, the
//!   record or directive at fault, or `any`; a comment says why when the
//!   two differ). `hale check` must exit 2 naming `file:line`.
//! - `lenient/*.zone`: files NSD accepts but hale refuses on purpose (the
//!   header says why): `nsd-checkzone` must accept them, `hale check` must
//!   refuse them naming `file:line` as above.
//!
//! Records are compared in a normalised presentation: owner and the names
//! inside RDATA lowercased and decompressed (the case of a name depends on
//! which copy a server points at), each record's RDATA also kept as hex so
//! that two records hickory would print alike still differ. Every file is
//! compared before the test fails, and the report lists every differing file
//! with its differences, NSD being the reference: a checklist for the zone
//! reader. Without NSD the comparison is skipped (and the reject test checks
//! hale alone), unless `HALE_REQUIRE_NSD=1`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{Hale, Nsd, nsd_binary, nsd_or_skip, try_read_framed};

/// How long one exchange (or one whole transfer) may take.
const EXCHANGE: Duration = Duration::from_secs(10);
/// At most this many differing queries are printed per file.
const MAX_QUERY_DIFFS: usize = 40;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zones/nsd-corpus")
}

/// Every `*.zone` directly in `dir`, sorted by name.
fn zone_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "zone"))
        .collect();
    files.sort();
    files
}

/// The file's name, as reports and error messages show it.
fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

/// The zone a corpus file holds: its name without `.zone`, as a name.
fn origin_of(path: &Path) -> String {
    let name = file_name(path);
    format!("{}.", name.strip_suffix(".zone").expect("a .zone file"))
}

// ---------------------------------------------------------------------------
// DNS messages, built and read here rather than with hickory: query names
// must go out exactly as NSD's transfer has them (escapes, dots and octets
// above 127 inside labels), and a record hickory cannot decode must still be
// compared.

/// A domain name as its labels, root last (and left out).
type Labels = Vec<Vec<u8>>;

fn labels_of(name: &str) -> Labels {
    name.trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect()
}

fn lowercase(labels: &Labels) -> Labels {
    labels.iter().map(|l| l.to_ascii_lowercase()).collect()
}

fn encode_name(labels: &Labels, out: &mut Vec<u8>) {
    for label in labels {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
}

/// A name in presentation format: `.`, `\` and other specials escaped with
/// a backslash, octets outside printable ASCII as `\DDD` (decimal).
fn present_name(labels: &Labels) -> String {
    if labels.is_empty() {
        return ".".to_string();
    }
    let mut out = String::new();
    for label in labels {
        for &b in label {
            match b {
                b'.' | b'\\' | b'"' | b';' | b'(' | b')' | b'@' | b'$' => {
                    out.push('\\');
                    out.push(b as char);
                }
                0x21..=0x7e => out.push(b as char),
                _ => write!(out, "\\{b:03}").unwrap(),
            }
        }
        out.push('.');
    }
    out
}

/// A QUERY (RD clear, no EDNS) for `name`/`qtype`, class IN.
fn query(id: u16, name: &Labels, qtype: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    encode_name(name, &mut out);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

/// One resource record, normalised: owner lowercased, names inside RDATA
/// decompressed and lowercased.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rr {
    owner: Labels,
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: Vec<u8>,
}

impl Rr {
    /// `owner TTL CLASS TYPE rdata`, the RDATA as hickory presents it (or in
    /// RFC 3597 form when hickory cannot read it).
    fn present(&self) -> String {
        format!(
            "{} {} {} {} {}",
            present_name(&self.owner),
            self.ttl,
            class_name(self.class),
            type_name(self.rtype),
            self.present_rdata()
        )
    }

    fn present_rdata(&self) -> String {
        if let Some(own) = present_own(self.rtype, &self.rdata) {
            return own;
        }
        let generic = format!("\\# {} {}", self.rdata.len(), hex(&self.rdata));
        let Ok(length) = u16::try_from(self.rdata.len()) else {
            return generic;
        };
        let mut decoder = BinDecoder::new(&self.rdata);
        match RData::read(
            &mut decoder,
            RecordType::from(self.rtype),
            Restrict::new(length),
        ) {
            Ok(RData::Unknown { .. }) | Err(_) => generic,
            Ok(_) if !decoder.is_empty() => generic,
            Ok(rdata) => rdata.to_string(),
        }
    }

    /// The presentation with the RDATA's octets, for records that present alike.
    fn exact(&self) -> String {
        format!("{} [rdata {}]", self.present(), hex(&self.rdata))
    }
}

/// The RDATA of types whose names or text hickory would present otherwise
/// than NSD (names with octets above 127 as Unicode, `\DDD` in octal; text
/// without its quotes): names as [`present_name`] writes them, text quoted
/// with `\DDD` (decimal) for octets outside printable ASCII. `None` for
/// other types, or when the RDATA does not read as its type.
fn present_own(rtype: u16, rdata: &[u8]) -> Option<String> {
    #[derive(Clone, Copy)]
    enum Part {
        Name,
        U16,
        U32,
        Strings,
    }
    use Part::*;
    let parts: &[Part] = match rtype {
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 39 => &[Name],
        6 => &[Name, Name, U32, U32, U32, U32, U32],
        14 | 17 => &[Name, Name],
        15 | 18 | 21 | 36 | 107 => &[U16, Name],
        26 => &[U16, Name, Name],
        33 => &[U16, U16, U16, Name],
        13 | 16 | 19 | 20 | 99 => &[Strings],
        _ => return None,
    };
    let mut out = Vec::new();
    let mut pos = 0;
    for part in parts {
        match part {
            Name => {
                let name = read_name(rdata, &mut pos).ok()?;
                out.push(present_name(&name));
            }
            U16 => {
                let bytes = rdata.get(pos..pos + 2)?;
                out.push(u16::from_be_bytes([bytes[0], bytes[1]]).to_string());
                pos += 2;
            }
            U32 => {
                let bytes = rdata.get(pos..pos + 4)?;
                out.push(u32::from_be_bytes(bytes.try_into().ok()?).to_string());
                pos += 4;
            }
            Strings => {
                while pos < rdata.len() {
                    let len = rdata[pos] as usize;
                    let text = rdata.get(pos + 1..pos + 1 + len)?;
                    let mut quoted = String::from("\"");
                    for &b in text {
                        match b {
                            b'"' | b'\\' => {
                                quoted.push('\\');
                                quoted.push(b as char);
                            }
                            0x20..=0x7e => quoted.push(b as char),
                            _ => write!(quoted, "\\{b:03}").unwrap(),
                        }
                    }
                    quoted.push('"');
                    out.push(quoted);
                    pos += 1 + len;
                }
            }
        }
    }
    (pos == rdata.len()).then(|| out.join(" "))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn type_name(rtype: u16) -> String {
    match RecordType::from(rtype) {
        RecordType::Unknown(code) => format!("TYPE{code}"),
        known => known.to_string(),
    }
}

fn class_name(class: u16) -> String {
    match class {
        1 => "IN".to_string(),
        3 => "CH".to_string(),
        other => format!("CLASS{other}"),
    }
}

fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".to_string(),
        1 => "FORMERR".to_string(),
        2 => "SERVFAIL".to_string(),
        3 => "NXDOMAIN".to_string(),
        4 => "NOTIMP".to_string(),
        5 => "REFUSED".to_string(),
        6 => "YXDOMAIN".to_string(),
        9 => "NOTAUTH".to_string(),
        other => format!("RCODE{other}"),
    }
}

/// A reply reduced to what the servers must agree on.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    rcode: u8,
    aa: bool,
    tc: bool,
    /// Answer, authority, additional, in message order ([`ask`] sorts them).
    sections: [Vec<Rr>; 3],
}

const SECTIONS: [&str; 3] = ["answer", "authority", "additional"];

/// Reads a whole message; its id and the reduced reply.
fn parse_message(msg: &[u8]) -> Result<(u16, Reply), String> {
    if msg.len() < 12 {
        return Err(format!("a {}-octet message", msg.len()));
    }
    let u16_at = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]);
    let id = u16_at(0);
    let flags = u16_at(2);
    let counts = [u16_at(4), u16_at(6), u16_at(8), u16_at(10)];
    let mut pos = 12;
    for _ in 0..counts[0] {
        read_name(msg, &mut pos)?;
        pos += 4;
    }
    let mut sections: [Vec<Rr>; 3] = Default::default();
    for (section, &count) in sections.iter_mut().zip(&counts[1..]) {
        for _ in 0..count {
            let rr = read_rr(msg, &mut pos)?;
            // OPT is not asked for (no EDNS in the queries) and not compared.
            if rr.rtype != 41 {
                section.push(rr);
            }
        }
    }
    let reply = Reply {
        rcode: (flags & 0x000f) as u8,
        aa: flags & 0x0400 != 0,
        tc: flags & 0x0200 != 0,
        sections,
    };
    Ok((id, reply))
}

/// A (possibly compressed) name at `*pos`, lowercased; `*pos` moves past it.
fn read_name(msg: &[u8], pos: &mut usize) -> Result<Labels, String> {
    let mut labels = Labels::new();
    let mut at = *pos;
    let mut jumped = false;
    for _ in 0..256 {
        let len = *msg.get(at).ok_or("a name runs past the message")? as usize;
        match len {
            0 => {
                if !jumped {
                    *pos = at + 1;
                }
                return Ok(lowercase(&labels));
            }
            0xc0..=0xff => {
                let low = *msg.get(at + 1).ok_or("a pointer runs past the message")? as usize;
                if !jumped {
                    *pos = at + 2;
                }
                jumped = true;
                at = ((len & 0x3f) << 8) | low;
            }
            1..=63 => {
                let label = msg
                    .get(at + 1..at + 1 + len)
                    .ok_or("a label runs past the message")?;
                labels.push(label.to_vec());
                at += 1 + len;
            }
            _ => return Err(format!("label type {len:#x}")),
        }
    }
    Err("a compression loop".to_string())
}

fn read_rr(msg: &[u8], pos: &mut usize) -> Result<Rr, String> {
    let owner = read_name(msg, pos)?;
    let fixed = msg
        .get(*pos..*pos + 10)
        .ok_or("a record header runs past the message")?;
    let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let class = u16::from_be_bytes([fixed[2], fixed[3]]);
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let len = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
    let start = *pos + 10;
    let end = start + len;
    if end > msg.len() {
        return Err("RDATA runs past the message".to_string());
    }
    *pos = end;
    let rdata = canonical_rdata(msg, start, end, rtype)
        .map_err(|e| format!("{} {}: {e}", present_name(&owner), type_name(rtype)))?;
    Ok(Rr {
        owner,
        rtype,
        class,
        ttl,
        rdata,
    })
}

/// One field of a type's RDATA, in order.
#[derive(Clone, Copy)]
enum Field {
    /// A domain name (compressed or not).
    Name,
    /// So many octets.
    Fixed(usize),
    /// A <character-string>.
    Text,
}

/// The RDATA of the types that hold domain names, up to their last name
/// (the rest is copied as is). Other types are compared octet for octet.
fn layout(rtype: u16) -> &'static [Field] {
    use Field::*;
    match rtype {
        // NS MD MF CNAME MB MG MR PTR DNAME
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 39 => &[Name],
        // SOA, MINFO, RP
        6 | 14 | 17 => &[Name, Name],
        // MX, AFSDB, RT, KX, LP
        15 | 18 | 21 | 36 | 107 => &[Fixed(2), Name],
        // PX
        26 => &[Fixed(2), Name, Name],
        // SRV
        33 => &[Fixed(6), Name],
        // NAPTR
        35 => &[Fixed(4), Text, Text, Text, Name],
        // SIG, RRSIG: the signer's name after 18 octets
        24 | 46 => &[Fixed(18), Name],
        // NXT, NSEC: the next name first
        30 | 47 => &[Name],
        // SVCB, HTTPS
        64 | 65 => &[Fixed(2), Name],
        _ => &[],
    }
}

/// RDATA from `start` to `end` with its names decompressed and lowercased.
fn canonical_rdata(msg: &[u8], start: usize, end: usize, rtype: u16) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(end - start);
    let mut pos = start;
    for field in layout(rtype) {
        match *field {
            Field::Name => {
                let name = read_name(msg, &mut pos)?;
                encode_name(&name, &mut out);
            }
            Field::Fixed(n) => {
                out.extend_from_slice(msg.get(pos..pos + n).ok_or("short RDATA")?);
                pos += n;
            }
            Field::Text => {
                let n = *msg.get(pos).ok_or("short RDATA")? as usize;
                out.extend_from_slice(msg.get(pos..pos + 1 + n).ok_or("short RDATA")?);
                pos += 1 + n;
            }
        }
        if pos > end {
            return Err("a field runs past the RDATA".to_string());
        }
    }
    out.extend_from_slice(&msg[pos..end]);
    Ok(out)
}

// ---------------------------------------------------------------------------
// Talking to the servers: every failure is a difference to report, not a
// panic, so that one broken file does not hide the others.

fn next_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    match tokio::time::timeout(EXCHANGE, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(format!("connect: {e}")),
        Err(_) => Err("connect: timed out".to_string()),
    }
}

async fn send(stream: &mut TcpStream, message: &[u8]) -> Result<(), String> {
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(message);
    stream
        .write_all(&framed)
        .await
        .map_err(|e| format!("send: {e}"))
}

/// `name`/`qtype` over TCP (no truncation to tell apart).
async fn ask(addr: SocketAddr, name: &Labels, qtype: u16) -> Result<Reply, String> {
    let id = next_id();
    let mut stream = connect(addr).await?;
    send(&mut stream, &query(id, name, qtype)).await?;
    let (got, mut reply) = parse_message(&try_read_framed(&mut stream).await?)?;
    if got != id {
        return Err(format!("answered with id {got}, not {id}"));
    }
    for section in &mut reply.sections {
        section.sort();
    }
    Ok(reply)
}

/// The zone's records by AXFR, the closing SOA left out.
async fn axfr(addr: SocketAddr, zone: &Labels) -> Result<Vec<Rr>, String> {
    let id = next_id();
    let mut stream = connect(addr).await?;
    send(&mut stream, &query(id, zone, 252)).await?;
    let mut records = Vec::new();
    let mut soas = 0;
    while soas < 2 {
        let (got, reply) = parse_message(&try_read_framed(&mut stream).await?)?;
        if got != id {
            return Err(format!("AXFR answered with id {got}, not {id}"));
        }
        if reply.rcode != 0 {
            return Err(format!("AXFR answered {}", rcode_name(reply.rcode)));
        }
        let [answer, _, _] = reply.sections;
        if answer.is_empty() {
            return Err("an AXFR message with no records".to_string());
        }
        for rr in answer {
            if rr.rtype == 6 {
                soas += 1;
                if soas == 2 {
                    break;
                }
            }
            records.push(rr);
        }
    }
    records.sort();
    records.dedup();
    Ok(records)
}

// ---------------------------------------------------------------------------
// The comparison of one accepted file.

/// The queries for a zone whose records NSD transferred: every owner and
/// type it holds; A at every owner without an A (CNAMEs followed, NODATA,
/// referrals); for each wildcard and DNAME a name below it; a name that
/// does not exist.
fn plan(zone: &Labels, records: &[Rr]) -> Vec<(Labels, u16)> {
    const A: u16 = 1;
    let probe = b"probe--corpus".to_vec();
    let mut queries = BTreeSet::new();
    for rr in records {
        queries.insert((rr.owner.clone(), rr.rtype));
    }
    let owners: BTreeSet<&Labels> = records.iter().map(|r| &r.owner).collect();
    for owner in owners {
        let types: BTreeSet<u16> = records
            .iter()
            .filter(|r| &r.owner == owner)
            .map(|r| r.rtype)
            .collect();
        if !types.contains(&A) {
            queries.insert((owner.clone(), A));
        }
        let below = |first: &[Vec<u8>]| -> Labels {
            let mut name = vec![probe.clone()];
            name.extend_from_slice(first);
            name
        };
        if owner.first().is_some_and(|l| l == b"*") {
            for &t in types.iter().chain(&[A]) {
                queries.insert((below(&owner[1..]), t));
            }
        }
        if types.contains(&39) {
            queries.insert((below(owner), A));
        }
    }
    queries.insert((below_zone(zone, &probe), A));
    queries.into_iter().collect()
}

fn below_zone(zone: &Labels, label: &[u8]) -> Labels {
    let mut name = vec![label.to_vec()];
    name.extend(zone.iter().cloned());
    name
}

/// What came of one file.
struct Verdict {
    file: String,
    ok: bool,
    /// One line for the table.
    summary: String,
    /// The differences, for the report.
    details: String,
}

/// hale's config for one corpus file, with transfers to the test allowed
/// or not.
fn hale_config(file: &Path, transfers: bool) -> String {
    let mut config = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = [\"{}\"]\n",
        file.display()
    );
    if transfers {
        config.push_str("\n[transfer]\nallow = [\"127.0.0.1\"]\n");
    }
    config
}

/// `rr` with its serial set to 0 if it is an SOA.
fn without_serial(rr: &Rr) -> Rr {
    let mut rr = rr.clone();
    if rr.rtype == 6 {
        let mut pos = 0;
        for _ in 0..2 {
            while pos < rr.rdata.len() && rr.rdata[pos] != 0 {
                pos += 1 + rr.rdata[pos] as usize;
            }
            pos += 1;
        }
        if let Some(serial) = rr.rdata.get_mut(pos..pos + 4) {
            serial.fill(0);
        }
    }
    rr
}

/// Loads `file` the way `Hale::start` does, a panic caught: `Err(what hale
/// said)` when it refuses the file.
fn hale_loads(file: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("hale.toml");
    std::fs::write(&config, hale_config(file, false)).expect("write hale.toml");
    let result = std::panic::catch_unwind(|| hale::dns::Loaded::load(&config));
    match result {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(format!(
            "panics: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

async fn compare_file(nsd: &Nsd, file: &Path) -> Verdict {
    let name = file_name(file);
    let origin = origin_of(file);
    let zone = labels_of(&origin);
    let verdict = |ok: bool, summary: String, details: String| Verdict {
        file: name.clone(),
        ok,
        summary,
        details,
    };
    let from_nsd = match axfr(nsd.addr, &zone).await {
        Ok(records) => records,
        Err(e) => {
            let log: Vec<String> = nsd
                .log_text()
                .lines()
                .filter(|l| l.contains(&name) || l.contains(&origin))
                .map(str::to_string)
                .collect();
            return verdict(
                false,
                format!("NSD does not serve it (fix the corpus): {e}"),
                format!("NSD's log about it:\n  {}\n", log.join("\n  ")),
            );
        }
    };
    if let Err(e) = hale_loads(file) {
        let first = e.lines().next().unwrap_or_default().to_string();
        return verdict(false, format!("rejects: {first}"), format!("hale: {e}\n"));
    }
    let mut details = String::new();

    // The zone contents, from a hale that allows transfers. Such a hale adds
    // an offset to the SOA serial (`dns/serial.rs`), so serials are left out
    // here; the SOA query below compares the file's serial.
    let transfers = match Hale::try_start(&hale_config(file, true), &[]).await {
        Ok(hale) => hale,
        Err(e) => return verdict(false, format!("rejects: {e}"), format!("hale: {e}\n")),
    };
    let mut content_diffs = 0;
    match axfr(transfers.dns_addr(), &zone).await {
        Err(e) => {
            content_diffs += 1;
            writeln!(details, "zone contents: hale's AXFR failed: {e}").unwrap();
        }
        Ok(from_hale) => {
            let nsd_set: Vec<Rr> = from_nsd.iter().map(without_serial).collect();
            let hale_set: Vec<Rr> = from_hale.iter().map(without_serial).collect();
            let only_nsd: Vec<&Rr> = nsd_set.iter().filter(|r| !hale_set.contains(r)).collect();
            let only_hale: Vec<&Rr> = hale_set.iter().filter(|r| !nsd_set.contains(r)).collect();
            content_diffs = only_nsd.len() + only_hale.len();
            if content_diffs > 0 {
                writeln!(
                    details,
                    "zone contents (AXFR, SOA serials left out; - only NSD has it, + only hale has it):"
                )
                .unwrap();
                details.push_str(&record_lines("  ", &only_nsd, &only_hale));
            }
        }
    }
    transfers.shutdown().await;

    // The answers, from a hale without transfers: it serves the file's serial.
    let hale = match Hale::try_start(&hale_config(file, false), &[]).await {
        Ok(hale) => hale,
        Err(e) => return verdict(false, format!("rejects: {e}"), format!("hale: {e}\n")),
    };
    let queries = plan(&zone, &from_nsd);
    let mut query_diffs = 0;
    let mut query_text = String::new();
    for (qname, qtype) in &queries {
        let nsd_reply = ask(nsd.addr, qname, *qtype).await;
        let hale_reply = ask(hale.dns_addr(), qname, *qtype).await;
        let diff = match (&nsd_reply, &hale_reply) {
            (Ok(n), Ok(h)) => reply_diff(n, h),
            (Err(e), _) => format!("      NSD: {e}\n"),
            (Ok(_), Err(e)) => format!("      hale: {e}\n"),
        };
        if diff.is_empty() {
            continue;
        }
        query_diffs += 1;
        if query_diffs <= MAX_QUERY_DIFFS {
            writeln!(
                query_text,
                "  ✗ {} {}\n{}",
                present_name(qname),
                type_name(*qtype),
                diff.trim_end()
            )
            .unwrap();
        }
    }
    if query_diffs > 0 {
        writeln!(
            details,
            "answers ({query_diffs} of {} queries differ; - NSD, + hale):",
            queries.len()
        )
        .unwrap();
        details.push_str(&query_text);
        if query_diffs > MAX_QUERY_DIFFS {
            writeln!(details, "  … and {} more", query_diffs - MAX_QUERY_DIFFS).unwrap();
        }
    }
    hale.shutdown().await;

    if content_diffs == 0 && query_diffs == 0 {
        return verdict(
            true,
            format!("ok ({} records, {} queries)", from_nsd.len(), queries.len()),
            String::new(),
        );
    }
    verdict(
        false,
        format!(
            "differs: {content_diffs} records differ in the zone contents, \
             {query_diffs} of {} answers",
            queries.len()
        ),
        details,
    )
}

/// `- record` lines for `only_nsd`, `+ record` lines for `only_hale`; where
/// two present alike, their RDATA octets are shown too.
fn record_lines(indent: &str, only_nsd: &[&Rr], only_hale: &[&Rr]) -> String {
    let alike: BTreeSet<String> = only_nsd
        .iter()
        .map(|r| r.present())
        .filter(|p| only_hale.iter().any(|h| h.present() == *p))
        .collect();
    let line = |r: &Rr| {
        let shown = r.present();
        if alike.contains(&shown) {
            r.exact()
        } else {
            shown
        }
    };
    let mut out = String::new();
    for r in only_nsd {
        writeln!(out, "{indent}- {}", line(r)).unwrap();
    }
    for r in only_hale {
        writeln!(out, "{indent}+ {}", line(r)).unwrap();
    }
    out
}

/// How hale's reply differs from NSD's, one line per field; empty when alike.
fn reply_diff(nsd: &Reply, hale: &Reply) -> String {
    let mut out = String::new();
    if nsd.rcode != hale.rcode {
        writeln!(
            out,
            "      rcode: NSD {}, hale {}",
            rcode_name(nsd.rcode),
            rcode_name(hale.rcode)
        )
        .unwrap();
    }
    for (what, n, h) in [("AA", nsd.aa, hale.aa), ("TC", nsd.tc, hale.tc)] {
        if n != h {
            writeln!(out, "      {what}: NSD {}, hale {}", n as u8, h as u8).unwrap();
        }
    }
    for (i, section) in SECTIONS.iter().enumerate() {
        let (n, h) = (&nsd.sections[i], &hale.sections[i]);
        if n == h {
            continue;
        }
        let only_nsd: Vec<&Rr> = n.iter().filter(|r| !h.contains(r)).collect();
        let only_hale: Vec<&Rr> = h.iter().filter(|r| !n.contains(r)).collect();
        writeln!(out, "      {section}:").unwrap();
        if only_nsd.is_empty() && only_hale.is_empty() {
            writeln!(
                out,
                "        the same records, repeated differently: NSD {}, hale {}",
                n.len(),
                h.len()
            )
            .unwrap();
        }
        out.push_str(&record_lines("        ", &only_nsd, &only_hale));
    }
    out
}

/// The `zone:` clauses of NSD's config for `files`: `X.zone.nsd` in place of
/// `X.zone` when it exists, transfers allowed to the test.
fn nsd_zones(files: &[PathBuf]) -> String {
    let mut conf = String::new();
    for file in files {
        let mut zonefile = file_name(file);
        if file.with_file_name(format!("{zonefile}.nsd")).exists() {
            zonefile.push_str(".nsd");
        }
        write!(
            conf,
            "zone:\n    name: \"{}\"\n    zonefile: \"{zonefile}\"\n    provide-xfr: 127.0.0.1 NOKEY\n",
            origin_of(file)
        )
        .unwrap();
    }
    conf
}

/// Issue #13 item 1: every corpus file NSD accepts, hale loads with the same
/// records and answers from as NSD does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hale_serves_every_corpus_file_as_nsd_does() {
    if !nsd_or_skip("the NSD corpus comparison") {
        return;
    }
    let dir = corpus();
    let files = zone_files(&dir);
    assert!(
        files.len() >= 30,
        "the corpus at {} has {} files",
        dir.display(),
        files.len()
    );
    // NSD resolves $INCLUDE paths from its zonesdir: the corpus folder.
    let nsd = Nsd::start_zones(&dir, &nsd_zones(&files), &origin_of(&files[0]), None).await;
    let mut verdicts = Vec::new();
    for file in &files {
        verdicts.push(compare_file(&nsd, file).await);
    }
    drop(nsd);

    let failing: Vec<&Verdict> = verdicts.iter().filter(|v| !v.ok).collect();
    let width = verdicts.iter().map(|v| v.file.len()).max().unwrap_or(0);
    let mut table = String::new();
    for v in &verdicts {
        let mark = if v.ok { "ok  " } else { "FAIL" };
        writeln!(table, "{mark} {:<width$}  {}", v.file, v.summary).unwrap();
    }
    println!(
        "NSD corpus ({}): {} files, {} served as NSD serves them\n{table}",
        dir.display(),
        verdicts.len(),
        verdicts.len() - failing.len()
    );
    if !failing.is_empty() {
        println!("Differences, file by file (NSD is the reference):");
        for v in &failing {
            println!("\n=== {}: {}\n{}", v.file, v.summary, v.details.trim_end());
        }
    }
    let names: Vec<&str> = failing.iter().map(|v| v.file.as_str()).collect();
    assert!(
        failing.is_empty(),
        "{} of {} corpus files are not served as NSD serves them ({}); each is described above",
        failing.len(),
        verdicts.len(),
        names.join(", ")
    );
}

// ---------------------------------------------------------------------------
// The files NSD or hale must refuse.

/// The value of the header line `; KEY: value`.
fn header(text: &str, key: &str) -> Option<String> {
    let prefix = format!("; {key}: ");
    text.lines()
        .take_while(|l| l.starts_with(';'))
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

/// `nsd-checkzone`, beside the NSD binary the other tests run.
fn nsd_checkzone() -> PathBuf {
    nsd_binary().with_file_name("nsd-checkzone")
}

/// Whether `stderr` names `file:line` (`line` a number, or `any`).
fn names_line(stderr: &str, file: &str, line: &str) -> bool {
    let needle = format!("{file}:");
    stderr.match_indices(&needle).any(|(at, _)| {
        let rest = &stderr[at + needle.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        !digits.is_empty() && (line == "any" || digits == line)
    })
}

/// One file that must be refused: what NSD and hale did with it, and
/// whether that is what its header asks.
fn check_refused(file: &Path, nsd_must_refuse: bool, with_nsd: bool) -> Verdict {
    let name = file_name(file);
    let text = std::fs::read_to_string(file).expect("read corpus file");
    let mut problems = Vec::new();
    let expected = header(&text, "error-line").unwrap_or_else(|| {
        problems.push("no `; error-line:` header".to_string());
        "any".to_string()
    });
    let mut nsd_said = String::from("not run");
    if with_nsd {
        let out = Command::new(nsd_checkzone())
            .arg(origin_of(file))
            .arg(&name)
            .current_dir(file.parent().expect("a folder"))
            .output()
            .expect("run nsd-checkzone");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        nsd_said = said
            .lines()
            .find(|l| l.contains("error:"))
            .map(|l| l.split("error: ").nth(1).unwrap_or(l).to_string())
            .unwrap_or_else(|| {
                if out.status.success() {
                    "ok".into()
                } else {
                    said.clone()
                }
            });
        if nsd_must_refuse {
            if out.status.success() {
                problems.push("nsd-checkzone accepts it".to_string());
            }
            match header(&text, "nsd-error") {
                None => problems.push("no `; nsd-error:` header".to_string()),
                Some(h) => {
                    let line = h.split(':').next().unwrap_or_default().trim().to_string();
                    if !names_line(&said, &name, &line) {
                        problems.push(format!("NSD no longer names line {line}: {said}"));
                    }
                }
            }
        } else if !out.status.success() {
            problems.push(format!("nsd-checkzone refuses it: {said}"));
        }
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("hale.toml");
    std::fs::write(
        &config,
        format!("[server]\nzones = [\"{}\"]\n", file.display()),
    )
    .expect("write hale.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_hale"))
        .arg("--config")
        .arg(&config)
        .arg("check")
        .env("RUST_LOG", "error")
        .output()
        .expect("run hale check");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let hale_said = match out.status.code() {
        Some(0) => {
            problems.push("hale accepts it".to_string());
            "ok".to_string()
        }
        Some(2) => {
            if !names_line(&stderr, &name, &expected) {
                problems.push(format!("hale does not name {name}:{expected}"));
            }
            stderr.clone()
        }
        other => {
            problems.push(format!("hale check exits with {other:?}, not 2"));
            stderr.clone()
        }
    };
    let ok = problems.is_empty();
    Verdict {
        file: name,
        ok,
        summary: if ok {
            format!("ok: {hale_said}")
        } else {
            problems.join("; ")
        },
        details: format!("  NSD: {nsd_said}\n  hale: {hale_said}\n"),
    }
}

/// Issue #13 items 1 and 3: what NSD refuses hale refuses (`reject/`), and
/// what hale refuses though NSD takes it (`lenient/`), each naming the file
/// and the line at fault.
#[test]
fn hale_refuses_the_corpus_errors_naming_their_line() {
    let with_nsd = nsd_or_skip("the nsd-checkzone half of the corpus error check");
    let mut verdicts = Vec::new();
    for (folder, nsd_must_refuse) in [("reject", true), ("lenient", false)] {
        let files = zone_files(&corpus().join(folder));
        assert!(!files.is_empty(), "no files in {folder}/");
        for file in &files {
            let mut v = check_refused(file, nsd_must_refuse, with_nsd);
            v.file = format!("{folder}/{}", v.file);
            verdicts.push(v);
        }
    }
    let failing: Vec<&Verdict> = verdicts.iter().filter(|v| !v.ok).collect();
    let width = verdicts.iter().map(|v| v.file.len()).max().unwrap_or(0);
    let mut table = String::new();
    for v in &verdicts {
        let mark = if v.ok { "ok  " } else { "FAIL" };
        let first = v.summary.lines().next().unwrap_or_default();
        writeln!(table, "{mark} {:<width$}  {first}", v.file).unwrap();
    }
    println!(
        "NSD corpus errors: {} files, {} refused as they must be\n{table}",
        verdicts.len(),
        verdicts.len() - failing.len()
    );
    for v in &failing {
        println!("\n=== {}: {}\n{}", v.file, v.summary, v.details.trim_end());
    }
    let names: Vec<&str> = failing.iter().map(|v| v.file.as_str()).collect();
    assert!(
        failing.is_empty(),
        "{} of {} corpus error files are not refused as they must be ({}); each is described above",
        failing.len(),
        verdicts.len(),
        names.join(", ")
    );
}
