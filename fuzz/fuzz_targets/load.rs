//! Config and zone loading: the input is a config and a zone file joined by a
//! line `%%` (`CONFIG\n%%\nZONE`; without it, the whole input is the config
//! and the zone file is empty). They are written as `hale.toml` and
//! `zones/example.com.zone` in one temporary folder per process, reused on
//! every run, and loaded with `hale::dns::Loaded::load`.
//!
//! Invariants: no panic and no hang (errors are expected and fine). When the
//! load succeeds, the loaded zones answer: a few questions about each of the
//! first names of every zone get a response from both answer paths, with the
//! same rcode, and a well-formed one (`well_formed`: structure, not hickory's
//! typed reader, which refuses data the DNS allows).
//!
//! Inputs that name a path under /dev, /proc, /sys or /run, or that could
//! spell one with escapes (TOML `\u`, or a backslash anywhere in a zone file
//! that uses `$INCLUDE`), are skipped: reading `/dev/zero` or a pipe hangs
//! any loader, and what is fuzzed here is the text, not the file system.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use hale::dns::{Loaded, Serials, Snapshot, Transport, respond, respond_slow};
use hale::health::Verdicts;
use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::RecordType;
use libfuzzer_sys::fuzz_target;

struct Files {
    _dir: tempfile::TempDir,
    config: PathBuf,
    zone: PathBuf,
}

fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("zones")).expect("zones dir");
        Files {
            config: dir.path().join("hale.toml"),
            zone: dir.path().join("zones").join("example.com.zone"),
            _dir: dir,
        }
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// True when the input stays inside its folder (see the module comment).
fn confined(config: &[u8], zone: &[u8]) -> bool {
    let outside = [&b"/dev"[..], b"/proc", b"/sys", b"/run"];
    let all = [config, zone];
    !all.iter().any(|t| outside.iter().any(|o| contains(t, o)))
        && !contains(config, b"\\u")
        && !(contains(zone, b"$include") && zone.contains(&b'\\'))
}

fuzz_target!(|data: &[u8]| {
    let (config, zone) = match data.windows(4).position(|w| w == b"\n%%\n") {
        Some(at) => (&data[..at + 1], &data[at + 4..]),
        None => (data, &[][..]),
    };
    if !confined(config, zone) {
        return;
    }
    let files = files();
    std::fs::write(&files.config, config).expect("write config");
    std::fs::write(&files.zone, zone).expect("write zone");
    let Ok(loaded) = Loaded::load(&files.config) else {
        return;
    };

    // It loaded: its zones answer, on both paths alike.
    let (view, _) = Snapshot::build(&loaded, &Verdicts::all_healthy(), &mut Serials::default());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for zone in loaded.zones.iter() {
        for (name, _) in zone.nodes().take(8) {
            for rtype in [
                RecordType::A,
                RecordType::AAAA,
                RecordType::NS,
                RecordType::TXT,
                RecordType::ANY,
            ] {
                let mut m = Message::query();
                m.metadata.id = 0x4242;
                m.add_query(Query::query(name.clone(), rtype));
                m.edns = Some(Edns::new());
                let Ok(q) = m.to_vec() else { continue };
                for transport in [Transport::Udp, Transport::Tcp] {
                    let fast = respond(&view, &q, transport, &mut a);
                    let slow = respond_slow(&view, &q, transport, &mut b);
                    assert!(fast.is_some(), "no response for {name} {rtype}");
                    assert_eq!(fast, slow, "the paths disagree for {name} {rtype}");
                    if let Err(at) = well_formed(&a) {
                        panic!("response for {name} {rtype} is malformed at byte {at}");
                    }
                }
            }
        }
    }
});

/// Checks the structure of a DNS message: the header's counts, each name
/// (labels and compression pointers to earlier bytes), each record's fixed
/// fields and data length, and nothing left over. The data itself is not
/// read by type: hickory's typed reader refuses what the DNS allows (empty
/// data in an APL record, SVCB values that are not UTF-8). `Err` is where
/// it fails.
fn well_formed(msg: &[u8]) -> Result<(), usize> {
    let count = |i: usize| msg.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize);
    let (qd, rrs) = match (count(4), count(6), count(8), count(10)) {
        (Some(qd), Some(an), Some(ns), Some(ar)) => (qd, an + ns + ar),
        _ => return Err(0),
    };
    let name = |mut at: usize| -> Result<usize, usize> {
        let mut jumps = 0;
        let mut end = None;
        loop {
            let len = *msg.get(at).ok_or(at)? as usize;
            match len {
                0 => return Ok(end.unwrap_or(at + 1)),
                1..=63 => at += len + 1,
                0xc0..=0xff => {
                    let target = ((len & 0x3f) << 8) | *msg.get(at + 1).ok_or(at)? as usize;
                    if target >= at || jumps > 127 {
                        return Err(at);
                    }
                    end.get_or_insert(at + 2);
                    at = target;
                    jumps += 1;
                }
                _ => return Err(at),
            }
        }
    };
    let mut at = 12;
    for _ in 0..qd {
        at = name(at)? + 4;
    }
    for _ in 0..rrs {
        at = name(at)? + 8;
        let len = count(at).ok_or(at)?;
        at += 2 + len;
    }
    if at == msg.len() { Ok(()) } else { Err(at) }
}
