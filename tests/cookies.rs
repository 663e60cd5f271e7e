//! DNS Cookies (RFC 7873 with RFC 9018 server cookies; issue #17 items 3
//! and 5) over real UDP and TCP sockets: a client cookie alone gets a server
//! cookie back, a valid one is accepted (echoed) and exempts its query from
//! rate limiting, an invalid one counts as a client cookie alone; secrets
//! from a file rotate by reload and never show in /status or /metrics; BIND's
//! `dig +cookie` and Knot's `kdig +cookie` interoperate.

use std::hash::Hasher;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::opt::EdnsCode;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use tokio::net::UdpSocket;

use crate::support::{EXAMPLE_ZONE_HEAD, Hale, decode, tool_or_skip, udp_exchange_on};

const SECRET_A: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";
const SECRET_B: &str = "445536bcd2513298075a5d379663c962";

fn zone() -> String {
    format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n")
}

/// `[server]` on ephemeral loopback ports with `extra` keys, and an admin listener.
fn config(extra: &str) -> String {
    format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"zones\"\n{extra}\n\
         [admin]\nlisten = \"127.0.0.1:0\"\n"
    )
}

/// A query for www.example.com A (id `id`) whose OPT carries `cookie`.
fn query(id: u16, cookie: &[u8]) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    q.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    q.extend_from_slice(&[0, 0, 41, 4, 208, 0, 0, 0, 0]);
    q.extend_from_slice(&((cookie.len() + 4) as u16).to_be_bytes());
    q.extend_from_slice(&[0, 10]);
    q.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    q.extend_from_slice(cookie);
    q
}

/// The COOKIE option's value in a response, if it has one.
fn cookie_of(msg: &Message) -> Option<Vec<u8>> {
    let option = msg.edns.as_ref()?.option(EdnsCode::Cookie)?;
    let mut value = Vec::new();
    option
        .emit(&mut BinEncoder::new(&mut value))
        .expect("emits");
    Some(value)
}

/// Asks over UDP from `socket`: the answer must be www's, and carry a cookie.
async fn ask(socket: &UdpSocket, id: u16, cookie: &[u8]) -> Vec<u8> {
    let msg = decode(&udp_exchange_on(socket, &query(id, cookie)).await);
    answered(&msg)
}

/// www's address, and the cookie the response carries.
fn answered(msg: &Message) -> Vec<u8> {
    assert_eq!(u16::from(msg.metadata.response_code), 0, "{msg:?}");
    assert_eq!(msg.answers.len(), 1, "{msg:?}");
    cookie_of(msg).expect("a COOKIE in the response")
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Whether `cookie` (client cookie then server cookie) is RFC 9018's for
/// `secret` and a client at 127.0.0.1, made now: computed here, not by hale.
fn signed_by(cookie: &[u8], secret: &str) -> bool {
    assert_eq!(
        cookie.len(),
        24,
        "client cookie and a 16-byte server cookie"
    );
    assert_eq!(cookie[8..12], [1, 0, 0, 0], "version 1, reserved 0");
    let stamp = u32::from_be_bytes([cookie[12], cookie[13], cookie[14], cookie[15]]);
    assert!(
        (unix_now() - i64::from(stamp)).abs() < 300,
        "timestamp {stamp} is now"
    );
    let key: [u8; 16] = hex(secret).try_into().expect("16 bytes");
    let mut h = siphasher::sip::SipHasher24::new_with_key(&key);
    h.write(&cookie[..16]);
    h.write(&[127, 0, 0, 1]);
    h.finish().to_le_bytes() == cookie[16..]
}

/// Writes `lines` as a secret file (mode 0600) in `dir`; returns its path.
fn secret_file(dir: &Path, lines: &[&str]) -> String {
    let path = dir.join("cookie.secret");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    path.display().to_string()
}

/// A client cookie alone gets a server cookie made from the secret file's
/// first line (checked here independently); sent back it is accepted and
/// echoed unchanged, over UDP and TCP; a wrong one gets a normal answer
/// with a new server cookie, as for a client cookie alone. The secret never
/// shows in /status or /metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cookie_gets_a_server_cookie_and_a_valid_one_is_accepted() {
    let secrets = tempfile::tempdir().expect("tempdir");
    let file = secret_file(secrets.path(), &[SECRET_A]);
    let extra = format!("cookie_secret_file = \"{file}\"");
    let hale = Hale::start(&config(&extra), &[("example.com.zone", &zone())]).await;
    let socket = hale.client_socket_from("127.0.0.1").await;

    let client = [1, 2, 3, 4, 5, 6, 7, 8];
    let first = ask(&socket, 1, &client).await;
    assert_eq!(first[..8], client, "the client cookie comes back");
    assert!(signed_by(&first, SECRET_A), "{first:02x?}");

    let again = ask(&socket, 2, &first).await;
    assert_eq!(again, first, "a valid server cookie is echoed");
    let tcp = decode(&hale.tcp_exchange(&query(3, &first)).await);
    assert_eq!(answered(&tcp), first, "over TCP too");

    let mut forged = first.clone();
    forged[23] ^= 1;
    let renewed = ask(&socket, 4, &forged).await;
    assert_ne!(renewed, forged, "an invalid server cookie is replaced");
    assert_eq!(renewed[..8], client);
    assert!(signed_by(&renewed, SECRET_A), "{renewed:02x?}");
    let mut other_client = first.clone();
    other_client[0] ^= 1;
    let renewed = ask(&socket, 5, &other_client).await;
    assert!(
        signed_by(&renewed, SECRET_A),
        "made for the new client cookie"
    );

    for page in ["/status", "/metrics", "/"] {
        let (_, body) = hale.admin_get(page).await;
        assert!(
            !body.to_lowercase().contains(SECRET_A),
            "{page} shows the secret"
        );
    }
    hale.shutdown().await;
}

/// Rotation: a reload with a new secret first and the old one below keeps
/// cookies of the old one valid and signs with the new one; once the old
/// one is gone its cookies are replaced. A bad secret file is rejected with
/// its file and line (not its content) and the secrets before keep serving.
/// Without a file, the random secret survives a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_rotate_by_reload_and_a_random_one_survives_it() {
    let secrets = tempfile::tempdir().expect("tempdir");
    let file = secret_file(secrets.path(), &[SECRET_A]);
    let extra = format!("cookie_secret_file = \"{file}\"");
    let hale = Hale::start(&config(&extra), &[("example.com.zone", &zone())]).await;
    let socket = hale.client_socket_from("127.0.0.1").await;
    let old = ask(&socket, 1, &[7; 8]).await;
    assert!(signed_by(&old, SECRET_A));

    secret_file(
        secrets.path(),
        &[
            "# new first, old until its cookies expire",
            SECRET_B,
            SECRET_A,
        ],
    );
    hale.reload().await.expect("reloads");
    assert_eq!(
        ask(&socket, 2, &old).await,
        old,
        "the old secret still verifies"
    );
    let new = ask(&socket, 3, &[8; 8]).await;
    assert!(signed_by(&new, SECRET_B), "the first line signs");

    secret_file(secrets.path(), &[SECRET_B]);
    hale.reload().await.expect("reloads");
    let replaced = ask(&socket, 4, &old).await;
    assert_ne!(replaced, old, "the old secret is gone");
    assert!(signed_by(&replaced, SECRET_B));

    let bad = format!("{SECRET_B}\n{}\n", &SECRET_A[1..]);
    std::fs::write(&file, &bad).expect("write");
    let err = hale
        .reload()
        .await
        .expect_err("a bad secret file is rejected")
        .to_string();
    assert!(err.contains("cookie.secret:2: "), "{err}");
    assert!(
        !err.contains(&SECRET_A[1..]) && !err.contains(SECRET_B),
        "{err}"
    );
    assert_eq!(
        ask(&socket, 5, &new).await,
        new,
        "the secrets before serve on"
    );
    hale.shutdown().await;

    let random = Hale::start(&config(""), &[("example.com.zone", &zone())]).await;
    let socket = random.client_socket_from("127.0.0.1").await;
    let cookie = ask(&socket, 6, &[9; 8]).await;
    assert_eq!(cookie.len(), 24, "cookies are on by default");
    random.reload().await.expect("reloads");
    assert_eq!(
        ask(&socket, 7, &cookie).await,
        cookie,
        "the random secret is kept"
    );
    random.shutdown().await;
}

/// `cookies = false`: no COOKIE option in answers, which are otherwise the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_can_be_turned_off() {
    let hale = Hale::start(&config("cookies = false"), &[("example.com.zone", &zone())]).await;
    let socket = hale.client_socket_from("127.0.0.1").await;
    let msg = decode(&udp_exchange_on(&socket, &query(1, &[1; 8])).await);
    assert_eq!(msg.answers.len(), 1);
    assert!(msg.edns.is_some());
    assert_eq!(cookie_of(&msg), None);
    hale.shutdown().await;
}

/// Sends `n` queries carrying `cookie` from `socket` at once and counts the
/// full (not truncated) answers that come back.
async fn burst(socket: &UdpSocket, n: u16, cookie: &[u8]) -> usize {
    for id in 0..n {
        socket.send(&query(id, cookie)).await.expect("send");
    }
    let mut full = 0;
    let mut buf = vec![0u8; 4096];
    while let Ok(Ok(len)) =
        tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf)).await
    {
        let msg = decode(&buf[..len]);
        if !msg.metadata.truncation && msg.answers.len() == 1 {
            full += 1;
        }
    }
    full
}

/// A query with a valid server cookie comes from the address it names, so
/// rate limiting neither slips nor drops it (as Knot does); a client cookie
/// alone proves nothing and is limited as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_server_cookie_is_exempt_from_rate_limiting() {
    const SENT: u16 = 100;
    let rrl = "\n[rrl]\nresponses_per_second = 5\nslip = 2\n";
    let hale = Hale::start(
        &format!("{}{rrl}", config("")),
        &[("example.com.zone", &zone())],
    )
    .await;
    let socket = hale.client_socket_from("127.0.0.1").await;
    let valid = ask(&socket, 1000, &[5; 8]).await;

    assert_eq!(burst(&socket, SENT, &valid).await, SENT as usize);
    let limited = burst(&socket, SENT, &[5; 8]).await;
    assert!(
        limited < SENT as usize / 2,
        "{limited} of {SENT} answered in full"
    );
    hale.shutdown().await;
}

/// Runs `tool args…` and returns its standard output.
fn run(tool: &str, args: &[String]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"));
    assert!(out.status.success(), "{tool} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The hex of the COOKIE line `dig` or `kdig` prints, lower case.
fn printed_cookie(output: &str) -> String {
    let line = output
        .lines()
        .find(|l| l.contains("COOKIE:"))
        .unwrap_or_else(|| panic!("no COOKIE line in:\n{output}"));
    let after = line.split("COOKIE:").nth(1).unwrap_or("");
    after.split_whitespace().next().unwrap_or("").to_lowercase()
}

/// Asks `tool` (dig or kdig) for www at `dns`, with `cookie` (`+cookie` alone
/// or `+cookie=HEX`); returns its output.
fn dig(tool: &str, dns: SocketAddr, cookie: &str, tcp: bool) -> String {
    let mut args = vec![
        format!("@{}", dns.ip()),
        "-p".into(),
        dns.port().to_string(),
        cookie.into(),
        "+norec".into(),
        "www.example.com".into(),
        "A".into(),
    ];
    if tcp {
        args.push("+tcp".into());
    }
    run(tool, &args)
}

/// BIND's `dig +cookie` and Knot's `kdig +cookie` get a server cookie, and
/// their next query carrying it gets it back unchanged (dig says "good").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dig_and_kdig_interoperate() {
    let hale = Hale::start(&config(""), &[("example.com.zone", &zone())]).await;
    let dns = hale.dns_addr();
    for (tool, package, require) in [
        ("dig", "bind9-dnsutils", "HALE_REQUIRE_DIG"),
        ("kdig", "knot-dnsutils", "HALE_REQUIRE_KDIG"),
    ] {
        if !tool_or_skip(tool, package, require, "the cookie interop test") {
            continue;
        }
        let (first, second, tcp) = tokio::task::spawn_blocking(move || {
            let first = dig(tool, dns, "+cookie", false);
            let cookie = printed_cookie(&first);
            let second = dig(tool, dns, &format!("+cookie={cookie}"), false);
            let tcp = dig(tool, dns, &format!("+cookie={cookie}"), true);
            (first, second, tcp)
        })
        .await
        .expect("dig ran");
        let cookie = printed_cookie(&first);
        assert_eq!(
            cookie.len(),
            48,
            "{tool}: client and server cookie:\n{first}"
        );
        assert!(first.contains("192.0.2.1"), "{tool}:\n{first}");
        assert_eq!(
            printed_cookie(&second),
            cookie,
            "{tool} over UDP:\n{second}"
        );
        assert_eq!(printed_cookie(&tcp), cookie, "{tool} over TCP:\n{tcp}");
        if tool == "dig" {
            assert!(first.contains("(good)"), "{first}");
            assert!(second.contains("(good)"), "{second}");
            // RFC 7873 §5.4: no question, a cookie alone (how BIND's
            // resolver learns a server cookie).
            let args = vec![
                format!("@{}", dns.ip()),
                "-p".into(),
                dns.port().to_string(),
                "+header-only".into(),
                "+cookie".into(),
            ];
            let header_only = tokio::task::spawn_blocking(move || run("dig", &args))
                .await
                .expect("dig ran");
            assert!(header_only.contains("status: NOERROR"), "{header_only}");
            assert!(header_only.contains("(good)"), "{header_only}");
        }
    }
    hale.shutdown().await;
}
