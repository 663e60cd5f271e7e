//! Reloading (issue item 10) through `Running::reload`, the same path SIGHUP
//! takes: new zones and config are served at once; a bad new version is
//! rejected with file:line and the old one keeps serving; targets that stay
//! keep their health state; removed targets stop being probed.

use std::net::Ipv4Addr;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::support::{
    Backend, EXAMPLE_ZONE_HEAD, Hale, Mode, SERVER, backends, eventually, settles,
};

const FAST: &str = "[defaults]\ninterval = \"100ms\"\ntimeout = \"300ms\"\nrise = 2\nfall = 2\n";

fn check(name: &str, port: u16) -> String {
    format!("[[check]]\nnames = [\"{name}\"]\nport = {port}\n")
}

/// `www` on every backend, plus `extra` zone lines.
fn zone(backends: &[Backend], extra: &str) -> String {
    let mut zone = EXAMPLE_ZONE_HEAD.to_string();
    for b in backends {
        zone.push_str(&format!("www IN A {}\n", b.ip()));
    }
    zone + extra
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_serves_new_zone_data_and_config() {
    let b = backends(1).await;
    let config = format!(
        "{SERVER}\n{FAST}\n{}",
        check("www.example.com.", b[0].port())
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&b, ""))]).await;
    assert_eq!(hale.status().await["checks"].as_array().unwrap().len(), 1);
    let nx = hale.udp("new.example.com", RecordType::A).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);

    hale.rewrite_zone("example.com.zone", &zone(&b, "new IN A 192.0.2.77\n"));
    hale.rewrite_config(&format!("{SERVER}\n{FAST}\n"));
    hale.reload().await.expect("reload accepted");
    assert_eq!(
        hale.a_sorted("new.example.com").await,
        [Ipv4Addr::new(192, 0, 2, 77)]
    );
    assert_eq!(
        hale.status().await["checks"].as_array().unwrap().len(),
        0,
        "check removed"
    );

    // A new zone file in the folder is picked up too.
    let org = "$ORIGIN example.org.\n$TTL 60\n@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 192.0.2.9\n";
    hale.rewrite_zone("example.org.zone", org);
    hale.reload().await.expect("reload with a second zone");
    assert_eq!(
        hale.a_sorted("ns1.example.org").await,
        [Ipv4Addr::new(192, 0, 2, 9)]
    );
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_new_version_is_rejected_and_the_old_keeps_serving() {
    let b = backends(1).await;
    let config = format!(
        "{SERVER}\n{FAST}\n{}",
        check("www.example.com.", b[0].port())
    );
    let good = zone(&b, "old IN A 192.0.2.66\n");
    let hale = Hale::start(&config, &[("example.com.zone", &good)]).await;

    // A syntax error on a known line of the zone.
    let lines = good.lines().count();
    let bad = format!("{good}new IN A 192.0.2.77\nbroken IN A not-an-address\n");
    hale.rewrite_zone("example.com.zone", &bad);
    let err = hale
        .reload()
        .await
        .expect_err("bad zone rejected")
        .to_string();
    let want = format!("example.com.zone:{}:", lines + 2);
    assert!(err.contains(&want), "{err:?} should contain {want:?}");
    assert_eq!(
        hale.a_sorted("old.example.com").await,
        [Ipv4Addr::new(192, 0, 2, 66)]
    );
    let new = hale.udp("new.example.com", RecordType::A).await;
    assert_eq!(
        new.metadata.response_code,
        ResponseCode::NXDomain,
        "nothing of the bad version"
    );

    // A bad config (unknown key on line 3) next to a good zone.
    hale.rewrite_zone("example.com.zone", &format!("{good}new IN A 192.0.2.77\n"));
    hale.rewrite_config("[server]\nlisten = [\"127.0.0.1:0\"]\nbogus = 1\nzones = \"zones\"\n");
    let err = hale
        .reload()
        .await
        .expect_err("bad config rejected")
        .to_string();
    assert!(err.contains("hale.toml:3:"), "{err:?}");
    let new = hale.udp("new.example.com", RecordType::A).await;
    assert_eq!(
        new.metadata.response_code,
        ResponseCode::NXDomain,
        "zones swap with config"
    );
    assert_eq!(
        hale.status().await["checks"].as_array().unwrap().len(),
        1,
        "old checks stay"
    );
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_stays_keeps_its_state() {
    let b = backends(2).await;
    let config = format!(
        "{SERVER}\n{FAST}\n{}",
        check("www.example.com.", b[0].port())
    );
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&b, ""))]).await;
    let h = &hale;
    let up = [match b[0].addr().ip() {
        std::net::IpAddr::V4(ip) => ip,
        _ => unreachable!(),
    }];
    let up = &up;
    b[1].set_mode(Mode::Status(503)).await;
    eventually("backend 2 leaves", || async move {
        h.a_sorted("www.example.com").await == *up
    })
    .await;

    // Unrelated change: a new record and a slower interval for the same target.
    hale.rewrite_zone("example.com.zone", &zone(&b, "other IN A 192.0.2.5\n"));
    hale.rewrite_config(&format!(
        "{SERVER}\n{FAST}\n{}interval = \"200ms\"\n",
        check("www.example.com.", b[0].port())
    ));
    hale.reload().await.expect("reload accepted");
    // The very first answers after the reload: no flap back to up.
    for _ in 0..5 {
        assert_eq!(
            hale.a_sorted("www.example.com").await,
            *up,
            "down target stays down"
        );
    }
    let t = hale.target_status("www.example.com.", &b[1].ip()).await;
    assert_eq!(t["healthy"], false, "{t:#}");
    assert_eq!(
        hale.a_sorted("other.example.com").await,
        [Ipv4Addr::new(192, 0, 2, 5)]
    );

    b[1].set_mode(Mode::Healthy).await;
    eventually("backend 2 returns after the reload", || async move {
        h.a_sorted("www.example.com").await.len() == 2
    })
    .await;
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_targets_stop_being_probed() {
    let b = backends(2).await;
    let (kept, removed) = (&b[0], &b[1]);
    let port = kept.port();
    let config = format!(
        "{SERVER}\n{FAST}\n{}{}",
        check("www.example.com.", port),
        check("api.example.com.", port)
    );
    let zone = |api: &str| format!("{EXAMPLE_ZONE_HEAD}www IN A {}\n{api}", kept.ip());
    let api = format!("api IN A {}\n", removed.ip());
    let hale = Hale::start(&config, &[("example.com.zone", &zone(&api))]).await;
    eventually("both probed", || async move {
        kept.requests() >= 3 && removed.requests() >= 3
    })
    .await;

    // Drop the check of api (and the record, so the name is plain DNS no more).
    hale.rewrite_config(&format!(
        "{SERVER}\n{FAST}\n{}",
        check("www.example.com.", port)
    ));
    hale.rewrite_zone("example.com.zone", &zone(""));
    hale.reload().await.expect("reload accepted");

    let settled = settles(
        "removed target's request count",
        Duration::from_secs(1),
        || async { removed.requests() },
    )
    .await;
    let before = kept.requests();
    eventually("the kept target is still probed", || async move {
        kept.requests() >= before + 5
    })
    .await;
    assert_eq!(
        removed.requests(),
        settled,
        "no probe of the removed target since"
    );
    let status = hale.status().await;
    let names: Vec<&str> = status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["www.example.com."]);
    hale.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_reloads_on_post() {
    let zone = format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.1\n");
    let hale = Hale::start(SERVER, &[("example.com.zone", &zone)]).await;
    assert_eq!(
        hale.admin_get("/reload").await.0,
        405,
        "GET does not reload"
    );

    hale.rewrite_zone(
        "example.com.zone",
        &format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.2\n"),
    );
    let (status, body) = hale.admin_post("/reload").await;
    assert_eq!((status, body.as_str()), (200, "reloaded\n"));
    assert_eq!(
        hale.a_sorted("www.example.com").await,
        [Ipv4Addr::new(192, 0, 2, 2)]
    );

    // A bad zone: 422 with file and line; the old zone keeps serving.
    hale.rewrite_zone(
        "example.com.zone",
        &format!("{EXAMPLE_ZONE_HEAD}www IN A 192.0.2.3\nbad IN A 300.0.0.1\n"),
    );
    let (status, body) = hale.admin_post("/reload").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("example.com.zone:12:"), "{body}");
    assert_eq!(
        hale.a_sorted("www.example.com").await,
        [Ipv4Addr::new(192, 0, 2, 2)]
    );
    hale.shutdown().await;
}
