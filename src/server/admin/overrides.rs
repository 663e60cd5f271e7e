//! Owns the overrides API of the admin listener, which `hale ctl drain`,
//! `force-up` and `clear` call:
//!
//! - `POST /api/overrides` with a JSON body `{"address", "name"?, "kind":
//!   "drain" | "force-up", "for"?: "10m", "reason"?, "force"?: bool}`: 200
//!   and the override; 404 for an address or name no check has; 409 for a
//!   drain that would leave a name with no healthy address (unless `force`).
//! - `DELETE /api/overrides?address=…&name=…`: 200 and what was removed;
//!   404 when there was none.
//!
//! Errors are JSON `{"error": "…"}` with the text `ctl` prints.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract;
use axum::http::StatusCode;
use hickory_proto::rr::Name;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::health::OverrideKind;
use crate::server::State;
use crate::server::control::{ControlError, OverrideRequest};

/// The body of `POST /api/overrides`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SetBody {
    address: String,
    #[serde(default)]
    name: Option<String>,
    kind: OverrideKind,
    #[serde(default, rename = "for")]
    duration: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    force: bool,
}

/// The query of `DELETE /api/overrides`.
#[derive(Deserialize)]
pub(super) struct ClearQuery {
    address: String,
    #[serde(default)]
    name: Option<String>,
}

type Reply = (StatusCode, Json<Value>);

fn refused(status: StatusCode, error: impl std::fmt::Display) -> Reply {
    (status, Json(json!({ "error": error.to_string() })))
}

fn control_error(e: ControlError) -> Reply {
    let status = match e {
        ControlError::Unknown(_) => StatusCode::NOT_FOUND,
        ControlError::Unsafe { .. } => StatusCode::CONFLICT,
    };
    refused(status, e)
}

fn parse_address(text: &str) -> Result<IpAddr, Reply> {
    text.parse().map_err(|_| {
        refused(
            StatusCode::BAD_REQUEST,
            format!("{text:?} is not an IP address (write 192.0.2.1 or 2001:db8::1)"),
        )
    })
}

fn parse_name(text: Option<&str>) -> Result<Option<Name>, Reply> {
    let Some(text) = text else { return Ok(None) };
    let mut name = Name::from_ascii(text).map_err(|e| {
        refused(
            StatusCode::BAD_REQUEST,
            format!("{text:?} is not a domain name: {e}"),
        )
    })?;
    name.set_fqdn(true);
    Ok(Some(name))
}

/// `POST /api/overrides`.
pub(super) async fn set(
    extract::State(state): extract::State<Arc<State>>,
    Json(body): Json<SetBody>,
) -> Reply {
    let request = (|| {
        let duration = match body.duration.as_deref() {
            None => None,
            Some(text) => match humantime::parse_duration(text) {
                Ok(d) if !d.is_zero() => Some(d),
                Ok(_) => {
                    return Err(refused(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "--for {text:?}: the override would end at once (write a duration such as 30m or 2h, or leave --for out)"
                        ),
                    ));
                }
                // humantime's own message carries another example ("30sec"):
                // one hint is enough.
                Err(_) => {
                    return Err(refused(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "--for {text:?} is not a duration: write one with its unit, such as 30m or 2h"
                        ),
                    ));
                }
            },
        };
        Ok::<_, Reply>(OverrideRequest {
            address: parse_address(&body.address)?,
            name: parse_name(body.name.as_deref())?,
            kind: body.kind,
            duration,
            reason: body.reason.clone(),
            force: body.force,
        })
    })();
    let request = match request {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    match state.set_override(request) {
        Ok((o, replaced)) => {
            let persistent = state.persistent();
            let reply = json!({ "override": o, "replaced": replaced, "persistent": persistent });
            (StatusCode::OK, Json(reply))
        }
        Err(e) => control_error(e),
    }
}

/// `DELETE /api/overrides`.
pub(super) async fn clear(
    extract::State(state): extract::State<Arc<State>>,
    extract::Query(query): extract::Query<ClearQuery>,
) -> Reply {
    let address = match parse_address(&query.address) {
        Ok(a) => a,
        Err(reply) => return reply,
    };
    let name = match parse_name(query.name.as_deref()) {
        Ok(n) => n,
        Err(reply) => return reply,
    };
    match state.clear_override(address, name.as_ref()) {
        Ok(gone) => (StatusCode::OK, Json(json!({ "cleared": gone }))),
        Err(e) => control_error(e),
    }
}
