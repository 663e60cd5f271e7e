//! Microbenchmarks of the answer path: query bytes in, response bytes out, no
//! sockets. They catch regressions in what hale itself costs per query; the
//! socket and kernel share is measured by `benches/dns/run.sh`.
//!
//! Run with: `cargo bench --bench answer` (criterion prints time per query).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use hale::dns::{Transport, respond, respond_slow};
use hale::load::Loaded;
use hale::view::View;
use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};

/// A zone like the DNS benchmark's: 10,000 static names, one checked name
/// with three addresses, a wildcard.
fn setup(dir: &Path) -> View {
    let mut zone = String::from(
        "$ORIGIN bench.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n\
         @ NS ns1\nns1 A 10.0.0.1\nwww A 127.0.0.21\nwww A 127.0.0.22\nwww A 127.0.0.23\n\
         *.wild A 10.0.0.2\n",
    );
    for i in 0..10_000 {
        zone.push_str(&format!("s{i} A 10.1.{}.{}\n", i / 256, i % 256));
    }
    std::fs::write(dir.join("bench.test.zone"), zone).expect("write zone");
    let config = dir.join("hale.toml");
    std::fs::write(
        &config,
        "[server]\nzones = \"bench.test.zone\"\n[[check]]\nnames = [\"www.bench.test.\"]\nport = 18080\n",
    )
    .expect("write config");
    let loaded = Loaded::load(&config).expect("load");
    loaded.checks.view_with(
        loaded.zones.clone(),
        loaded.table.clone(),
        &Default::default(),
    )
}

fn query(name: &str, rtype: RecordType) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = 4242;
    m.add_query(Query::query(Name::from_ascii(name).expect("name"), rtype));
    m.edns = Some(Edns::new());
    m.to_vec().expect("encode")
}

fn answer_path(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let view = setup(dir.path());
    let cases = [
        ("checked A", query("www.bench.test.", RecordType::A)),
        ("static A", query("s4711.bench.test.", RecordType::A)),
        (
            "static A, mixed case",
            query("S4711.Bench.TEST.", RecordType::A),
        ),
        ("NODATA", query("s4711.bench.test.", RecordType::AAAA)),
        ("NXDOMAIN", query("nope-4711.bench.test.", RecordType::A)),
        ("wildcard A", query("x.wild.bench.test.", RecordType::A)),
        (
            "REFUSED (no zone of ours)",
            query("www.example.org.", RecordType::A),
        ),
        ("ANY (general path)", query("bench.test.", RecordType::ANY)),
        (
            "NXDOMAIN, 120 labels deep",
            query(&format!("{}bench.test.", "a.".repeat(120)), RecordType::A),
        ),
        (
            "NXDOMAIN, 120 labels deep, ANY (general path)",
            query(&format!("{}bench.test.", "a.".repeat(120)), RecordType::ANY),
        ),
    ];
    let mut out = Vec::with_capacity(1232);
    for (what, q) in &cases {
        c.bench_function(what, |b| {
            b.iter(|| respond(black_box(&view), black_box(q), Transport::Udp, &mut out))
        });
    }
    for (what, q) in &cases[..2] {
        // The same queries without the table, for comparison.
        c.bench_function(&format!("{what}, general path only"), |b| {
            b.iter(|| respond_slow(black_box(&view), black_box(q), Transport::Udp, &mut out))
        });
    }
}

criterion_group!(benches, answer_path);
criterion_main!(benches);
