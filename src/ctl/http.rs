//! Owns `ctl`'s one HTTP exchange with the admin listener: HTTP/1.1 over a
//! plain TCP connection (the listener is on loopback or behind a token),
//! with hyper's connection API, as the probes use it.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::CtlError;

/// How long one exchange may take, connection included.
const EXCHANGE: Duration = Duration::from_secs(30);

/// One request: its status code and body text, or why there is none.
pub(super) async fn exchange(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: Option<&str>,
    json: Option<String>,
) -> Result<(u16, String), CtlError> {
    let unreachable = |e: &dyn std::fmt::Display| CtlError::Unreachable {
        addr,
        why: e.to_string(),
    };
    let work = async {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(&e))?;
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, addr.to_string())
            .header(
                hyper::header::USER_AGENT,
                concat!("hale-ctl/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(token) = token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if json.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(json.unwrap_or_default())))
            .map_err(|e| unreachable(&e))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(&e))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    match tokio::time::timeout(EXCHANGE, work).await {
        Ok(result) => result,
        Err(_) => Err(CtlError::Unreachable {
            addr,
            why: format!("no answer within {}", humantime::format_duration(EXCHANGE)),
        }),
    }
}
