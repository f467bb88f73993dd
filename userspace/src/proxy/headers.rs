//! Request and response header policy, pure functions over `http` types:
//! framing checks against smuggling, hop-by-hop removal, origin-form target
//! and `Host`; the client headers (`X-Forwarded-For`, `Forwarded`) are in
//! [`super::client_headers`].
//!
//! hyper already rejects with 400 (and closes): conflicting `Content-Length`
//! values, a `Transfer-Encoding` whose last coding is not `chunked`,
//! `Transfer-Encoding` in HTTP/1.0, obs-fold, bad chunk sizes, and heads over
//! the size or count limit (431). It accepts a request carrying both
//! `Transfer-Encoding` and `Content-Length` (RFC 9112 lets a server ignore
//! the latter) and then drops `Content-Length` from the parsed headers, so
//! the frontend's raw head tap refuses that case with 400;
//! [`check_framing`] repeats the check on parsed headers in case hyper ever
//! keeps both. The other RFC 9110 rules for intermediaries (Host validity,
//! Via, Max-Forwards) are in [`super::intermediary`];
//! `docs/http-conformance.md` lists each requirement with its test.

use std::net::SocketAddr;

use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Uri, Version};

use super::client_headers::ClientHeaders;

/// Headers that only concern one connection, never forwarded.
pub const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers that `Connection` may not remove: they frame the message or name
/// the site, and letting a client strip them would desync or misroute.
pub const PROTECTED: [&str; 3] = ["host", "content-length", "transfer-encoding"];

/// Why a request is refused before it reaches a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("both Transfer-Encoding and Content-Length")]
    TransferEncodingWithLength,
    #[error("more than one Host")]
    DuplicateHost,
    #[error("HTTP/1.1 without Host")]
    MissingHost,
    #[error("Host is not a host and port")]
    InvalidHost,
    #[error("CONNECT is not proxied")]
    Connect,
}

/// Framing checks hyper does not do.
pub fn check_framing(method: &Method, headers: &HeaderMap) -> Result<(), Rejection> {
    if headers.contains_key(header::TRANSFER_ENCODING)
        && headers.contains_key(header::CONTENT_LENGTH)
    {
        return Err(Rejection::TransferEncodingWithLength);
    }
    if headers.get_all(header::HOST).iter().count() > 1 {
        return Err(Rejection::DuplicateHost);
    }
    if method == Method::CONNECT {
        return Err(Rejection::Connect);
    }
    Ok(())
}

/// Removes hop-by-hop headers, including those `Connection` lists.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .filter(|name| !PROTECTED.contains(&name.as_str()))
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Rewrites a client request head for a server: hop-by-hop headers out,
/// the client's address added as the backend's [`ClientHeaders`] say
/// (`X-Forwarded-For` and `Forwarded` by default), absolute-form targets
/// turned into origin-form with `Host` from them, HTTP/1.1 upstream.
pub fn prepare_request(parts: &mut Parts, client: SocketAddr, added: &ClientHeaders) {
    remove_hop_by_hop(&mut parts.headers);
    if let Some(authority) = parts.uri.authority() {
        if let Ok(host) = HeaderValue::from_str(authority.as_str()) {
            parts.headers.insert(header::HOST, host);
        }
    }
    parts.uri = origin_form(&parts.uri);
    added.apply(&mut parts.headers, client.ip());
    parts.version = Version::HTTP_11;
}

/// `/path?query` of a target (`*` stays `*`). An absolute-form target is
/// rebuilt from its path and query: its path may be empty (then `/`), and
/// `http` keeps such a path empty when it is turned into a `Uri` of its own.
fn origin_form(uri: &Uri) -> Uri {
    let Some(pq) = uri.path_and_query() else { return Uri::from_static("/") };
    if uri.authority().is_none() {
        return Uri::from(pq.clone());
    }
    let target = match pq.query() {
        Some(query) => format!("{}?{query}", pq.path()),
        None => pq.path().to_owned(),
    };
    target.parse().unwrap_or_else(|_| Uri::from_static("/"))
}

/// The protocol an HTTP/1.1 request asks to switch to (`Upgrade`, with
/// `upgrade` among the `Connection` tokens), e.g. `websocket`. HTTP/1.0
/// cannot upgrade (RFC 9110 7.8).
#[must_use]
pub fn upgrade_request(version: Version, headers: &HeaderMap) -> Option<HeaderValue> {
    if version != Version::HTTP_11 || !connection_has_token(headers, "upgrade") {
        return None;
    }
    headers.get(header::UPGRADE).filter(|v| !v.as_bytes().trim_ascii().is_empty()).cloned()
}

/// Puts back the two hop-by-hop headers of a protocol switch, after
/// [`remove_hop_by_hop`] took them out.
pub fn restore_upgrade(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, protocol);
}

fn connection_has_token(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Whether a failed request can be sent again to another server after its
/// connection broke before any response byte: idempotent (RFC 9110 9.2.2)
/// and without a body, so nothing was consumed that cannot be replayed.
#[must_use]
pub fn replayable(method: &Method, headers: &HeaderMap) -> bool {
    let idempotent = matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    );
    let no_body = !headers.contains_key(header::TRANSFER_ENCODING)
        && headers.get(header::CONTENT_LENGTH).is_none_or(|v| v.as_bytes() == b"0");
    idempotent && no_body
}

#[cfg(test)]
mod tests;
