//! Config and zone loading: the input is a config and a zone file joined by a
//! line `%%` (`CONFIG\n%%\nZONE`; without it, the whole input is the config
//! and the zone file is empty). They are written as `hale.toml` and
//! `zones/example.com.zone` in one temporary folder per process, reused on
//! every run, and loaded with `hale::dns::Loaded::load`.
//!
//! Invariants: no panic and no hang (errors are expected and fine). When the
//! load succeeds, the loaded zones answer: a few questions about each of the
//! first names of every zone get a response from both answer paths, with the
//! same rcode.
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
                    if let Err(e) = Message::from_vec(&a) {
                        panic!("response for {name} {rtype} does not parse: {e}");
                    }
                }
            }
        }
    }
});
