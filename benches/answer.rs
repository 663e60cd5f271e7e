//! Microbenchmarks of the answer path: query bytes in, response bytes out, no
//! sockets. They catch regressions in what hale itself costs per query; the
//! socket and kernel share is measured by `benches/dns/run.sh`.
//!
//! Run with: `cargo bench --bench answer` (criterion prints time per query).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use hale::dns::{
    Answered, Client, Loaded, Rcode, Serials, Snapshot, Transport, answer, respond, respond_slow,
    warm,
};
use hale::health::Verdicts;
use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};

/// A zone like the DNS benchmark's: `names` static names, one checked name
/// with three addresses, a wildcard.
fn setup(dir: &Path, names: usize) -> Snapshot {
    let mut zone = String::from(
        "$ORIGIN bench.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n\
         @ NS ns1\nns1 A 10.0.0.1\nwww A 127.0.0.21\nwww A 127.0.0.22\nwww A 127.0.0.23\n\
         *.wild A 10.0.0.2\npol A 127.0.0.31\npol A 127.0.0.32\npol A 127.0.0.33\npol A 127.0.0.34\n",
    );
    for i in 0..names {
        zone.push_str(&format!(
            "s{i} A 10.{}.{}.{}\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    std::fs::write(dir.join("bench.test.zone"), zone).expect("write zone");
    let config = dir.join("hale.toml");
    std::fs::write(
        &config,
        "[server]\nzones = \"bench.test.zone\"\n[[check]]\nnames = [\"www.bench.test.\"]\nport = 18080\n\
         [[check]]\nnames = [\"pol.bench.test.\"]\nport = 18080\n\
         tiers = [[\"127.0.0.31\", \"127.0.0.32\", \"127.0.0.33\"], [\"127.0.0.34\"]]\n\
         weights = { \"127.0.0.31\" = 3, \"127.0.0.32\" = 2 }\nmax_answers = 2\n",
    )
    .expect("write config");
    let loaded = Loaded::load(&config).expect("load");
    Snapshot::build(&loaded, &Verdicts::all_healthy(), &mut Serials::default()).0
}

fn query(name: &str, rtype: RecordType) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = 4242;
    m.add_query(Query::query(Name::from_ascii(name).expect("name"), rtype));
    m.edns = Some(Edns::new());
    m.to_vec().expect("encode")
}

/// `query` with a COOKIE option of `cookie` in its (empty) OPT.
fn with_cookie(mut q: Vec<u8>, cookie: &[u8]) -> Vec<u8> {
    let rdlen_at = q.len() - 2;
    q.truncate(rdlen_at);
    q.extend_from_slice(&((cookie.len() + 4) as u16).to_be_bytes());
    q.extend_from_slice(&[0, 10]);
    q.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    q.extend_from_slice(cookie);
    q
}

/// DNS Cookies on the checked A answer: a client cookie alone (a server
/// cookie made: one SipHash), and a valid server cookie sent back (checked:
/// one SipHash, echoed).
fn cookies(c: &mut Criterion, view: &Snapshot) {
    let client = Client {
        ip: "192.0.2.77".parse().expect("ip"),
        now: 1_700_000_000,
    };
    let plain = query("www.bench.test.", RecordType::A);
    let first = with_cookie(plain.clone(), &[1, 2, 3, 4, 5, 6, 7, 8]);
    let mut out = Vec::with_capacity(1232);
    answer(view, &first, Transport::Udp, client, &mut out).expect("answered");
    // The response's last 24 bytes: the COOKIE option's value.
    let returned = out[out.len() - 24..].to_vec();
    let second = with_cookie(plain, &returned);
    let answered = answer(view, &second, Transport::Udp, client, &mut out).expect("answered");
    assert!(answered.server_cookie, "the server cookie is valid");
    for (what, q) in [
        ("checked A, with client cookie", first),
        ("checked A, with server cookie", second),
    ] {
        c.bench_function(what, |b| {
            b.iter(|| {
                answer(
                    black_box(view),
                    black_box(&q),
                    Transport::Udp,
                    client,
                    &mut out,
                )
            })
        });
    }
}

fn answer_path(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let view = setup(dir.path(), 10_000);
    let cases = [
        ("checked A", query("www.bench.test.", RecordType::A)),
        (
            "checked A, tiers + weights + max_answers",
            query("pol.bench.test.", RecordType::A),
        ),
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
    cookies(c, &view);
    for (what, q) in cases
        .iter()
        .filter(|(w, _)| ["checked A", "static A"].contains(w))
    {
        // The same queries without the table, for comparison.
        c.bench_function(&format!("{what}, general path only"), |b| {
            b.iter(|| respond_slow(black_box(&view), black_box(q), Transport::Udp, &mut out))
        });
    }
}

/// Lookups whose table is not in the CPU's caches: random names of a
/// million-name zone, so each query pays the cache misses of its lookup
/// (in the DNS benchmark the kernel's packet work between batches evicts
/// the table of a 10,000-name zone much the same way).
fn cold_lookups(c: &mut Criterion) {
    const NAMES: usize = 1_000_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let view = setup(dir.path(), NAMES);
    // A fixed spread of names (a multiplicative hash of the counter), no RNG crate needed.
    let queries: Vec<Vec<u8>> = (0..65_536u64)
        .map(|i| {
            let n = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) as usize % NAMES;
            query(&format!("s{n}.bench.test."), RecordType::A)
        })
        .collect();
    let nx: Vec<Vec<u8>> = (0..65_536u64)
        .map(|i| query(&format!("nx{i}.bench.test."), RecordType::A))
        .collect();
    let mut out = Vec::with_capacity(1232);
    let mut next = 0usize;
    for (what, qs) in [
        ("static A, random names of a 1M-name zone", &queries),
        ("NXDOMAIN, random names of a 1M-name zone", &nx),
    ] {
        c.bench_function(what, |b| {
            b.iter(|| {
                next = (next + 1) % qs.len();
                respond(
                    black_box(&view),
                    black_box(&qs[next]),
                    Transport::Udp,
                    &mut out,
                )
            })
        });
    }
    // As the UDP workers do with a recvmmsg batch: warm every query, then
    // answer them (the time is per batch of 16).
    c.bench_function(
        "static A, random names of a 1M-name zone, 16 warmed then answered",
        |b| {
            b.iter(|| {
                next = (next + 16) % (queries.len() - 16);
                let batch = &queries[next..next + 16];
                warm(black_box(&view), batch.iter().map(Vec::as_slice));
                for q in batch {
                    respond(black_box(&view), black_box(q), Transport::Udp, &mut out);
                }
            })
        },
    );
}

/// What the UDP workers add per batch for metrics: one tally of a full
/// batch of 32 responses (rcode, query type, TC) into the shared counters.
fn metrics_tally(c: &mut Criterion) {
    let metrics = hale::metrics::Metrics::new();
    let batch: Vec<(Answered, bool)> = (0..32u16)
        .map(|i| {
            let (rcode, qtype) = match i % 8 {
                0 => (Rcode::NxDomain, 1),
                1 => (Rcode::NoError, 28),
                _ => (Rcode::NoError, 1),
            };
            (
                Answered {
                    rcode,
                    qtype,
                    server_cookie: false,
                },
                false,
            )
        })
        .collect();
    c.bench_function("metrics tally of a 32-response batch", |b| {
        b.iter(|| metrics.tally(Transport::Udp, black_box(&batch), 0))
    });
}

criterion_group!(benches, answer_path, cold_lookups, metrics_tally);
criterion_main!(benches);
