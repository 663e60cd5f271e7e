//! Owns the admin HTTP listener. Routes:
//!
//! - `GET /healthz`: `ok` while hale runs (liveness).
//! - `GET /ready`: 200 once every target has a verdict (saved, or a first
//!   probe result), 503 before.
//! - `GET /status`: JSON: zones, and every checked name with each target's
//!   state, since when, and the last probe's result and latency.
//! - `GET /metrics`: Prometheus/OpenMetrics text (see [`crate::metrics`]).
//! - `GET /`: the same as a small HTML page for people.
//! - `POST /reload`: reloads config and zones as SIGHUP does; 200, or 422
//!   with the error (file, line, problem) while the old config keeps serving.
//! - `POST /api/overrides`, `DELETE /api/overrides`: drain, force-up and
//!   clear an address (see `overrides`).
//! - `GET /api/explain?name=…&type=…&if_down=…`: why each address is in or
//!   out of a checked answer, and when that can change (see `explain`).
//!
//! With `[admin] token_file`, every request but GET and HEAD must carry
//! `Authorization: Bearer SECRET`; others get 401, and are logged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{self, Request};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::{ReloadError, State};

// The documents and pages it serves, and the operator's API.
mod explain;
mod overrides;
mod page;
mod scrape;
mod status;

pub use status::{
    Departure, MassFailureStatus, NameStatus, Status, TargetEntry, TypeStatus, ZoneStatus, status,
};

/// Serves the admin routes until `token` is cancelled.
pub async fn serve(listener: TcpListener, state: Arc<State>, token: CancellationToken) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .route("/status", get(status_json))
        .route("/metrics", get(scrape::metrics))
        .route("/", get(page::index))
        .route("/reload", post(reload))
        .route(
            "/api/overrides",
            post(overrides::set).delete(overrides::clear),
        )
        .route("/api/explain", get(explain::handle))
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state);
    let shutdown = async move { token.cancelled().await };
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        error!(error = %e, "admin listener failed");
    }
}

/// Lets a request that changes something through only with the bearer
/// token, when the start's config has one (the listener bound then keeps it
/// until a restart: a reload that dropped it must not open the door).
async fn authorize(
    extract::State(state): extract::State<Arc<State>>,
    extract::ConnectInfo(peer): extract::ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let Some(token) = state.admin_token() else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented.is_some_and(|p| token.matches(p.trim())) {
        return next.run(request).await;
    }
    warn!(
        %peer,
        method = %request.method(),
        path = request.uri().path(),
        presented = presented.is_some(),
        "admin: request without the right token refused"
    );
    let body = Json(serde_json::json!({
        "error": "this request needs \"Authorization: Bearer SECRET\" with the secret of [admin] token_file"
    }));
    (StatusCode::UNAUTHORIZED, body).into_response()
}

/// `GET /ready`: 200 once every target has a verdict, 503 before.
async fn ready(extract::State(state): extract::State<Arc<State>>) -> (StatusCode, &'static str) {
    match state.ready() {
        true => (StatusCode::OK, "ready\n"),
        false => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: targets without a verdict yet\n",
        ),
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
