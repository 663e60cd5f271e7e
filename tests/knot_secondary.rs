//! Knot DNS as a secondary of hale (issue #17 items 2 and 6): a real
//! `knotd` transfers hale's health-filtered zone with TSIG on both sides
//! and follows a backend's failure and return through signed NOTIFY and
//! IXFR, as NSD does in `nsd_interop`; without the key it is refused; and
//! a signing Knot serves that zone with DNSSEC answers that BIND's `delv`
//! validates against the zone's key.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::support::tsig::{KEY_NAME, SECRET};
use crate::support::{
    Ask, Backend, EXAMPLE_ZONE_HEAD, Hale, Knot, Mode, SERVER, backends, decode, eventually,
    free_dns_port, knot_or_skip, udp_once, www_at,
};

/// How Knot is set up behind hale.
#[derive(Clone, Copy, PartialEq)]
enum Setup {
    /// TSIG on both sides.
    Keyed,
    /// hale requires the key; Knot has none.
    Keyless,
    /// No TSIG; Knot signs the zone with DNSSEC.
    Signing,
}

/// hale checking `www` on backends `b` (rise 1, fall 1), sending NOTIFY to
/// a Knot secondary that transfers from it, set up as `setup` says.
async fn hale_and_knot(b: &[Backend], setup: Setup) -> (Hale, Knot) {
    let knot_port = free_dns_port();
    let mut zone = EXAMPLE_ZONE_HEAD.to_string();
    for backend in b {
        zone.push_str(&format!("www IN A {}\n", backend.ip()));
    }
    let transfer = match setup {
        Setup::Signing => format!("allow = [\"127.0.0.1\"]\nnotify = [\"127.0.0.1:{knot_port}\"]"),
        Setup::Keyed | Setup::Keyless => format!(
            "allow = [{{ from = \"127.0.0.1\", key = \"{KEY_NAME}\" }}]\n\
             notify = [{{ to = \"127.0.0.1:{knot_port}\", key = \"{KEY_NAME}\" }}]\n\n\
             [[key]]\nname = \"{KEY_NAME}\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\""
        ),
    };
    let config = format!(
        "{SERVER}\n[transfer]\n{transfer}\n\n\
         [[check]]\nnames = [\"www.example.com.\"]\nport = {}\npath = \"/healthz\"\n\
         interval = \"100ms\"\ntimeout = \"1s\"\nrise = 1\nfall = 1\n",
        b[0].port()
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone)]).await;
    let (primary, port) = (hale.dns_addr(), Some(knot_port));
    let knot = match setup {
        Setup::Signing => Knot::signing_secondary_of(primary, port).await,
        Setup::Keyed => Knot::secondary_keyed(primary, port, Some((KEY_NAME, SECRET)), true).await,
        Setup::Keyless => Knot::secondary_keyed(primary, port, None, false).await,
    };
    (hale, knot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_without_the_key_is_refused() {
    if !knot_or_skip("the Knot secondary test") {
        return;
    }
    let b = backends(2).await;
    let (hale, knot) = hale_and_knot(&b, Setup::Keyless).await;
    refused_and_zoneless(&hale, "Knot", knot.addr, &knot.log_text()).await;
    drop(knot);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_as_secondary_follows_health_through_notify() {
    if !knot_or_skip("the Knot secondary test") {
        return;
    }
    let b = backends(2).await;
    let (hale, knot) = hale_and_knot(&b, Setup::Keyed).await;
    let addr = knot.addr;
    let both = &{
        let mut both = vec![b[0].ip(), b[1].ip()];
        both.sort();
        both
    };
    eventually("Knot serves the transferred zone", || async move {
        www_at(addr).await == *both
    })
    .await;

    b[1].set_mode(Mode::Status(503)).await;
    let one = &vec![b[0].ip()];
    eventually("Knot drops the failing address", || async move {
        www_at(addr).await == *one
    })
    .await;

    b[1].set_mode(Mode::Healthy).await;
    eventually("Knot takes the address back", || async move {
        www_at(addr).await == *both
    })
    .await;
    assert!(
        knot.log_text().contains("IXFR") && !knot.log_text().contains("NOTAUTH"),
        "Knot followed by IXFR (hale takes only signed ones here); its log:\n{}",
        knot.log_text()
    );
    drop(knot);
    hale.shutdown().await;
}

/// What `delv` (BIND's validating lookup tool) says of `name`/`qtype` at
/// `addr`, validating from `anchor` (a trust-anchors file for example.com).
fn delv(addr: SocketAddr, anchor: &std::path::Path, name: &str, qtype: &str) -> String {
    let out = std::process::Command::new("delv")
        .arg("-a")
        .arg(anchor)
        .arg("+root=example.com")
        .arg(format!("@{}", addr.ip()))
        .arg("-p")
        .arg(addr.port().to_string())
        .arg(name)
        .arg(qtype)
        .output()
        .expect("run delv (apt-get install bind9-dnsutils)");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Issue #17 item 6: Knot signs what it receives from hale; its answers
/// validate against the zone's key and follow a health change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_knot_secondary_follows_health_with_valid_signatures() {
    if !knot_or_skip("the signing Knot secondary test") {
        return;
    }
    let b = backends(2).await;
    let (hale, knot) = hale_and_knot(&b, Setup::Signing).await;
    let addr = knot.addr;

    // The zone's key, as a trust anchor for delv.
    let dnskey = Ask::new("example.com", RecordType::DNSKEY).to_bytes();
    let key = eventually_value("Knot publishes a DNSKEY", || async {
        let reply = udp_once(addr, &dnskey, Duration::from_secs(2)).await?;
        decode(&reply).answers.iter().find_map(|r| {
            let text = r.data.to_string();
            text.starts_with("257 ").then_some(text)
        })
    })
    .await;
    let mut fields = key.splitn(4, ' ');
    let (flags, protocol, algorithm, public) = (
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default().replace(' ', ""),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let anchor = dir.path().join("anchor.conf");
    std::fs::write(
        &anchor,
        format!(
            "trust-anchors {{ example.com. static-key {flags} {protocol} {algorithm} \"{public}\"; }};\n"
        ),
    )
    .expect("write anchor");

    let validated = |out: &str| out.contains("; fully validated");
    let anchor = &anchor;
    let (one, two) = (b[0].ip(), b[1].ip());
    let (one, two) = (&one, &two);
    eventually(
        "Knot's signed answer holds both addresses and validates",
        || async move {
            let out = delv(addr, anchor, "www.example.com", "A");
            validated(&out) && out.contains(one.as_str()) && out.contains(two.as_str())
        },
    )
    .await;
    b[1].set_mode(Mode::Status(503)).await;
    eventually(
        "Knot's signed answer drops the failing address",
        || async move {
            let out = delv(addr, anchor, "www.example.com", "A");
            validated(&out) && out.contains(one.as_str()) && !out.contains(two.as_str())
        },
    )
    .await;
    // Denial of existence validates too (NSEC from Knot's signer).
    let out = delv(addr, anchor, "nope.example.com", "A");
    assert!(out.contains("fully validated"), "NXDOMAIN: {out}");
    drop(knot);
    hale.shutdown().await;
}

/// Polls `f` every 50 ms until it gives a value; panics with `what` after 15 s.
async fn eventually_value<T, F, Fut>(what: &str, f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{what}: not within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `hale` has refused a transfer with NOTAUTH, then checks that
/// the secondary `who` at `addr` serves no example.com (`log`: its log).
pub async fn refused_and_zoneless(hale: &Hale, who: &str, addr: SocketAddr, log: &str) {
    eventually(
        &format!("hale refuses {who}'s unsigned transfer (NOTAUTH)"),
        || async move { refused_transfers(hale).await >= 1.0 },
    )
    .await;
    let soa = Ask::new("example.com", RecordType::SOA).to_bytes();
    let reply = udp_once(addr, &soa, Duration::from_secs(2))
        .await
        .unwrap_or_else(|| panic!("{who} answers"));
    assert!(
        decode(&reply).answers.is_empty(),
        "{who} has no zone without the key; its log:\n{log}"
    );
}

/// Transfers hale refused with NOTAUTH so far (every transfer type).
pub async fn refused_transfers(hale: &Hale) -> f64 {
    let (_, body) = hale.admin_get("/metrics").await;
    body.lines()
        .filter(|l| l.starts_with("hale_answers_total{") && l.contains("rcode=\"notauth\""))
        .filter(|l| l.contains("qtype=\"AXFR\"") || l.contains("qtype=\"IXFR\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
