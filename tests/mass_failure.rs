//! The mass-failure guard: when every target fails at once across several
//! checked names, hale suspects its own network and keeps the answers it
//! had; a failing canary does the same; ordinary failures are not held.

use crate::support::{
    Backend, EXAMPLE_ZONE_HEAD, Hale, Mode, SERVER, backends, eventually, v4_sorted,
};

/// Fast probing, fall/rise 1, and NODATA when a name has no healthy address,
/// so withdrawn addresses are plain to see.
fn config(port: u16, names: &[&str], guard: &str) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "{SERVER}\n[defaults]\ninterval = \"100ms\"\ntimeout = \"1s\"\nrise = 1\nfall = 1\n\
         when_all_down = \"none\"\n\n[[check]]\nnames = [{}]\nport = {port}\npath = \"/healthz\"\n\n{guard}\n",
        names.join(", ")
    )
}

/// `a` on backends 0-1, `b` on backends 2-3.
fn zone(b: &[Backend]) -> String {
    format!(
        "{EXAMPLE_ZONE_HEAD}a IN A {}\na IN A {}\nb IN A {}\nb IN A {}\n",
        b[0].ip(),
        b[1].ip(),
        b[2].ip(),
        b[3].ip()
    )
}

/// Four healthy backends, `a` on 0-1 and `b` on 2-3, `names` checked.
async fn start(names: &[&str], guard: &str) -> (Hale, Vec<Backend>) {
    let b = backends(4).await;
    let hale = Hale::start(
        &config(b[0].port(), names, guard),
        &[("example.com.zone", &zone(&b))],
    )
    .await;
    (hale, b)
}

async fn engaged(hale: &Hale) -> bool {
    hale.status().await["mass_failure"]["engaged"] == true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_target_failing_at_once_keeps_the_answers() {
    let (hale, b) = start(&["a.example.com.", "b.example.com."], "").await;
    let h = &hale;
    assert!(!engaged(h).await);
    for backend in &b {
        backend.set_mode(Mode::Status(503)).await;
    }
    eventually("the guard engages", || async move {
        engaged(h).await && h.metric("hale_mass_failure").await == 1.0
    })
    .await;
    let status = hale.status().await;
    let reason = status["mass_failure"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains("4 of 4 targets down"), "{status:#}");
    // Every target is down, yet both names keep their addresses.
    assert_eq!(
        hale.target_status("a.example.com.", &b[0].ip()).await["healthy"],
        false
    );
    assert_eq!(
        h.a_sorted("a.example.com").await,
        v4_sorted(&[&b[0], &b[1]])
    );
    assert_eq!(
        h.a_sorted("b.example.com").await,
        v4_sorted(&[&b[2], &b[3]])
    );

    // One recovers: the network works after all, answers follow the probes.
    b[0].set_mode(Mode::Healthy).await;
    let want = v4_sorted(&[&b[0]]);
    let want = &want;
    eventually("the guard lets go", || async move {
        !engaged(h).await && h.a_sorted("a.example.com").await == *want
    })
    .await;
    assert!(h.a_sorted("b.example.com").await.is_empty());
    assert_eq!(hale.metric("hale_mass_failure").await, 0.0);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_failures_are_not_held() {
    let (hale, b) = start(&["a.example.com.", "b.example.com."], "").await;
    let h = &hale;
    // Three of four, and all of one name: below the default share of 1.
    for backend in &b[..3] {
        backend.set_mode(Mode::Status(503)).await;
    }
    let want = v4_sorted(&[&b[3]]);
    let want = &want;
    eventually("failures show in answers", || async move {
        h.a_sorted("a.example.com").await.is_empty() && h.a_sorted("b.example.com").await == *want
    })
    .await;
    assert!(!engaged(h).await);
    hale.shutdown().await;

    // One checked name failing whole is not "across at least two names".
    let (hale, b) = start(&["a.example.com."], "").await;
    let h = &hale;
    b[0].set_mode(Mode::Status(503)).await;
    b[1].set_mode(Mode::Status(503)).await;
    eventually("a single name may fail whole", || async move {
        h.a_sorted("a.example.com").await.is_empty()
    })
    .await;
    assert!(!engaged(h).await);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_canary_holds_answers() {
    let canary = Backend::start(std::net::IpAddr::V4(crate::support::fresh_ip())).await;
    let guard = format!(
        "[mass_failure]\ncanary = \"http://{}:{}/healthz\"\n",
        canary.ip(),
        canary.port()
    );
    let (hale, b) = start(&["a.example.com.", "b.example.com."], &guard).await;
    let h = &hale;
    eventually("the canary is probed", || async { canary.requests() > 0 }).await;
    assert!(!engaged(h).await);
    assert_eq!(
        hale.status().await["mass_failure"]["canary"]["healthy"],
        true
    );

    canary.set_mode(Mode::Status(503)).await;
    eventually("the guard engages on the canary", || async move {
        engaged(h).await
    })
    .await;
    // A backend failing now does not change answers.
    b[0].set_mode(Mode::Status(503)).await;
    eventually("the failure is seen", || async {
        hale.target_status("a.example.com.", &b[0].ip()).await["healthy"] == false
    })
    .await;
    assert_eq!(
        h.a_sorted("a.example.com").await,
        v4_sorted(&[&b[0], &b[1]])
    );

    canary.set_mode(Mode::Healthy).await;
    let want = v4_sorted(&[&b[1]]);
    let want = &want;
    eventually(
        "the canary recovers and answers follow the probes",
        || async move { !engaged(h).await && h.a_sorted("a.example.com").await == *want },
    )
    .await;
    hale.shutdown().await;
}
