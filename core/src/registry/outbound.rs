//! The platform's one HTTP client for the services it calls out to: the identity service (R4)
//! and an SMS gateway (issue 16 §6). Plain `http://` only: inside a government network such a
//! service is reached through a local gateway that terminates TLS. Errors are reasons for the
//! log and for staff, never personal data.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

/// The largest answer read from a service.
const MAX_ANSWER: usize = 64 * 1024;

/// `POST url` with a JSON `body` and the extra `headers`, within `timeout` for the whole
/// exchange; answers the status and the body (at most 64 KiB).
pub async fn post_json(
    url: &str,
    headers: &[(&str, &str)],
    body: String,
    timeout: Duration,
) -> Result<(hyper::StatusCode, Bytes), String> {
    tokio::time::timeout(timeout, exchange(url, headers, body))
        .await
        .map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
}

async fn exchange(url: &str, headers: &[(&str, &str)], body: String) -> Result<(hyper::StatusCode, Bytes), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("the URL must start with http://".into());
    }
    let host = uri.host().ok_or("the URL has no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or(host);
    let mut request = hyper::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let mut body = response.into_body();
    let mut answer = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(chunk) = frame.map_err(|e| e.to_string())?.into_data() {
            if answer.len() + chunk.len() > MAX_ANSWER {
                return Err("answer too large".into());
            }
            answer.extend_from_slice(&chunk);
        }
    }
    Ok((status, Bytes::from(answer)))
}
