//! Owns the admin HTTP listener. Routes:
//!
//! - `GET /healthz`: `ok` while hale runs (liveness).
//! - `GET /status`: JSON: zones, and every checked name with each target's
//!   state, since when, and the last probe's result and latency.
//! - `GET /metrics`: Prometheus/OpenMetrics text (see [`crate::metrics`]).
//! - `GET /`: the same as a small HTML page for people.
//! - `POST /reload`: reloads config and zones as SIGHUP does; 200, or 422
//!   with the error (file, line, problem) while the old config keeps serving.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::ReloadError;

use super::State;
use crate::health::{GuardStatus, TargetKey, TargetSpec, TargetStatus};

/// The `/status` document.
#[derive(Serialize)]
pub struct Status {
    /// hale's version.
    pub version: &'static str,
    /// Loaded zones.
    pub zones: Vec<ZoneStatus>,
    /// Every health-checked name.
    pub checks: Vec<NameStatus>,
    /// The mass-failure guard, with its canary if one is configured.
    pub mass_failure: MassFailureStatus,
}

/// The mass-failure guard in `/status`.
#[derive(Serialize)]
pub struct MassFailureStatus {
    /// Engaged, why and since when.
    #[serde(flatten)]
    pub guard: GuardStatus,
    /// The canary target, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<TargetEntry>,
}

/// One zone in `/status`.
#[derive(Serialize)]
pub struct ZoneStatus {
    /// Apex name.
    pub origin: String,
    /// File it was loaded from.
    pub file: String,
    /// The SOA serial served: the file's, or one that follows health when
    /// the zone goes to secondaries (see `crate::dns::serial`).
    pub serial: u32,
}

/// One checked name in `/status`.
#[derive(Serialize)]
pub struct NameStatus {
    /// Owner name.
    pub name: String,
    /// One entry per address.
    pub targets: Vec<TargetEntry>,
}

/// One target in `/status`.
#[derive(Serialize)]
pub struct TargetEntry {
    /// The record's address.
    pub address: String,
    /// What is probed.
    pub target: String,
    /// Current state; absent only while a reload is starting its prober.
    #[serde(flatten)]
    pub status: Option<TargetStatus>,
}

/// Builds the status document from the current state.
pub fn status(state: &State) -> Status {
    let loaded = state.loaded();
    let targets = state.health().targets();
    let snapshot = state.snapshot();
    let mut zones: Vec<ZoneStatus> = loaded
        .zones
        .iter()
        .map(|z| ZoneStatus {
            origin: z.origin.to_ascii(),
            file: z.file.display().to_string(),
            serial: snapshot.serial_of(z),
        })
        .collect();
    zones.sort_by(|a, b| a.origin.cmp(&b.origin));
    let entry = |key: &TargetKey| TargetEntry {
        address: key.ip.to_string(),
        target: key.to_string(),
        status: targets.get(key).map(|t| t.status()),
    };
    let checks = loaded
        .checks
        .names()
        .iter()
        .map(|name| NameStatus {
            name: name.name.to_ascii(),
            targets: name.keys().map(entry).collect(),
        })
        .collect();
    let canary = loaded
        .config
        .mass_failure
        .canary
        .as_ref()
        .map(|canary| entry(&TargetSpec::canary(canary).key));
    Status {
        version: env!("CARGO_PKG_VERSION"),
        zones,
        checks,
        mass_failure: MassFailureStatus {
            guard: state.guard().status(),
            canary,
        },
    }
}

/// Serves the admin routes until `token` is cancelled.
pub async fn serve(listener: TcpListener, state: Arc<State>, token: CancellationToken) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/status", get(status_json))
        .route("/metrics", get(metrics))
        .route("/", get(index))
        .route("/reload", post(reload))
        .with_state(state);
    let shutdown = async move { token.cancelled().await };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        error!(error = %e, "admin listener failed");
    }
}

/// `POST /reload`: the same reload as SIGHUP, with its outcome in the reply.
async fn reload(extract::State(state): extract::State<Arc<State>>) -> (StatusCode, String) {
    info!("admin: reloading");
    match state.reload().await {
        Ok(()) => (StatusCode::OK, "reloaded\n".into()),
        Err(e @ ReloadError::Load(_)) => (StatusCode::UNPROCESSABLE_ENTITY, format!("{e}\n")),
        Err(e @ ReloadError::Panicked(_)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

async fn status_json(extract::State(state): extract::State<Arc<State>>) -> Json<Status> {
    Json(status(&state))
}

async fn metrics(
    extract::State(state): extract::State<Arc<State>>,
) -> impl axum::response::IntoResponse {
    let targets = state.health().targets();
    let body = state.metrics().render(
        targets.values().map(|t| {
            let status = t.status();
            (
                t.key().to_string(),
                t.key().ip.to_string(),
                status.healthy,
                status.last.map(|l| l.latency_ms / 1000.0),
            )
        }),
        &[
            (
                "tcp_connections",
                "TCP connections open",
                state.tcp_connections() as i64,
            ),
            (
                "mass_failure",
                "1 while the mass-failure guard holds answers",
                i64::from(state.guard().engaged()),
            ),
        ],
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}

async fn index(extract::State(state): extract::State<Arc<State>>) -> Html<String> {
    let s = status(&state);
    let mut html = String::from(
        "<!doctype html><meta charset=utf-8><title>hale</title>\
         <style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}\
         .up{color:#070}.down{color:#b00}</style><h1>hale</h1>",
    );
    html.push_str(&format!("<p>version {}</p>", s.version));
    if s.mass_failure.guard.engaged {
        html.push_str(&format!(
            "<p class=down><b>Mass failure: answers are held</b> since {}: {}</p>",
            escape(s.mass_failure.guard.since.as_deref().unwrap_or_default()),
            escape(s.mass_failure.guard.reason.as_deref().unwrap_or_default()),
        ));
    }
    html.push_str("<h2>Checked names</h2>");
    html.push_str("<table><tr><th>name</th><th>address</th><th>state</th><th>since</th><th>last result</th></tr>");
    for name in &s.checks {
        for t in &name.targets {
            let (state, since, last) = match &t.status {
                Some(st) => (
                    match (st.healthy, st.flap_held) {
                        (true, _) => "up",
                        (false, true) => "down (flapping)",
                        (false, false) => "down",
                    },
                    humantime::format_rfc3339_seconds(st.since).to_string(),
                    st.last
                        .as_ref()
                        .map(|l| escape(&format!("{} ({:.1} ms)", l.reason, l.latency_ms)))
                        .unwrap_or_default(),
                ),
                None => ("up", String::new(), String::new()),
            };
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class={}>{state}</td><td>{since}</td><td>{last}</td></tr>",
                escape(&name.name),
                escape(&t.address),
                if state == "up" { "up" } else { "down" },
            ));
        }
    }
    html.push_str("</table><h2>Zones</h2><ul>");
    for z in &s.zones {
        html.push_str(&format!(
            "<li>{} ({})</li>",
            escape(&z.origin),
            escape(&z.file)
        ));
    }
    html.push_str("</ul><p><a href=/status>/status</a> (JSON)</p>");
    Html(html)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
