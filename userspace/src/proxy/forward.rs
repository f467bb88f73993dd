//! One request through the proxy: refuse what must not pass, rewrite the
//! head, pick a server, send, retry when that is safe, and answer 502, 503
//! or 504 with a short body when nothing can serve.
//!
//! Retry policy (haproxy `retries` + `option redispatch`, plus one case of
//! its `retry-on`): a request is sent again only when the server cannot
//! have acted on it:
//! - the connect failed or timed out: nothing was sent;
//! - hyper handed the request back unsent (a pooled connection closed just
//!   before use): nothing was sent;
//! - the connection broke before any response byte and the request is
//!   idempotent without a body (`GET`, `HEAD`, ...): RFC 9110 allows the
//!   replay, and the head is kept to rebuild it.
//!
//! Anything else (a request with a body, a timeout waiting for the response)
//! is answered 502/504 rather than risk doing it twice.
//!
//! A request asking for a protocol switch (`Connection: upgrade` with
//! `Upgrade`, e.g. WebSocket) keeps those two headers; when the server
//! answers 101 the exchange becomes a [`tunnel`]. A 101 the client did not
//! ask for is a 502. With redispatch each
//! retry goes to a server not tried yet while one is up; without it the same
//! server is retried.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::upgrade::OnUpgrade;
use hyper::{Request, Response, StatusCode};
use tokio::time::Instant;
use tracing::{debug, warn};

use super::backend::{Backend, NoSlot};
use super::body::{local, ClientBody, Guarded, ProxyBody};
use super::headers;
use super::intermediary::{self, Hops, ALLOW};
use super::server::{Sender, Slot};
use super::tunnel;
use super::upstream::{self, Lease};

/// Unsent requests handed back by closing pooled connections, retried on the
/// same server per attempt on top of `retries` (each costs only a pooled
/// connection).
const MAX_STALE_POOLED: u32 = 8;

pub(crate) struct Forwarder {
    pub backend: Arc<Backend>,
    pub retries: u32,
    pub redispatch: bool,
}

/// How an attempt on one server ended, when it did not produce a response.
enum Failure {
    /// The connect failed; the request is intact.
    Connect(Request<ProxyBody>),
    /// A pooled connection closed before taking the request; it is intact.
    Unsent(Request<ProxyBody>),
    /// The connection broke before the response; replay if allowed.
    Broken(hyper::Error),
    /// No response head within `timeout server`.
    Timeout,
}

impl Forwarder {
    pub async fn handle(&self, req: Request<Incoming>, client: SocketAddr) -> Response<ProxyBody> {
        let counters = &self.backend.counters;
        counters.requests.fetch_add(1, Relaxed);
        let response = self.forward(req, client).await;
        counters.responses.record(response.status().as_u16());
        response
    }

    async fn forward(&self, req: Request<Incoming>, client: SocketAddr) -> Response<ProxyBody> {
        let (mut parts, body) = req.into_parts();
        let checked = headers::check_framing(&parts.method, &parts.headers)
            .and_then(|()| intermediary::check_host(parts.version, &parts.headers));
        if let Err(reason) = checked {
            debug!(%client, %reason, "request refused");
            return local(StatusCode::BAD_REQUEST, "Bad Request", true);
        }
        if intermediary::max_forwards(&parts.method, &mut parts.headers) == Hops::AnswerHere {
            return final_answer(&parts.method);
        }
        let protocol = headers::upgrade_request(parts.version, &parts.headers);
        let mut client_upgrade: Option<OnUpgrade> =
            protocol.as_ref().and_then(|_| parts.extensions.remove::<OnUpgrade>());
        intermediary::append_via(&mut parts.headers, parts.version);
        headers::prepare_request(&mut parts, client, &self.backend.config.client_headers);
        if let Some(protocol) = protocol.filter(|_| client_upgrade.is_some()) {
            headers::restore_upgrade(&mut parts.headers, protocol);
        }
        // Kept to rebuild a bodiless idempotent request after a broken exchange.
        let replay: Option<Parts> =
            headers::replayable(&parts.method, &parts.headers).then(|| clone_head(&parts));
        let client_failed = Arc::new(AtomicBool::new(false));
        let body = ClientBody::new(body, Arc::clone(&client_failed)).boxed_unsync();
        let mut request = Request::from_parts(parts, body);

        let mut tried: Vec<u64> = Vec::new();
        let mut retries = 0;
        loop {
            let excluded: &[u64] = if self.redispatch { &tried } else { &[] };
            let slot = match self.backend.acquire(excluded).await {
                Ok(slot) => slot,
                Err(no) => return self.unavailable(no),
            };
            let server = Arc::clone(&slot.server);
            if retries > 0 && tried.last() != Some(&server.id) {
                self.backend.counters.redispatches.fetch_add(1, Relaxed);
            }
            match self.attempt(slot, request, replay.as_ref(), &mut client_upgrade).await {
                Ok(response) => return response,
                Err(Failure::Unsent(back) | Failure::Connect(back)) => request = back,
                Err(Failure::Timeout) => {
                    server.counters.errors.fetch_add(1, Relaxed);
                    self.backend.counters.errors.fetch_add(1, Relaxed);
                    warn!(backend = %self.backend.name(), server = %server.name(), "no response in time");
                    return local(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout", false);
                }
                Err(Failure::Broken(error)) => {
                    server.counters.errors.fetch_add(1, Relaxed);
                    if client_failed.load(Relaxed) {
                        debug!(%client, %error, "client broke its request body");
                        return local(StatusCode::BAD_REQUEST, "Bad Request", true);
                    }
                    let Some(head) = replay.as_ref().filter(|_| retries < self.retries) else {
                        warn!(backend = %self.backend.name(), server = %server.name(), %error, "exchange failed");
                        self.backend.counters.errors.fetch_add(1, Relaxed);
                        return local(StatusCode::BAD_GATEWAY, "Bad Gateway", false);
                    };
                    request = Request::from_parts(clone_head(head), empty());
                }
            }
            if retries >= self.retries {
                self.backend.counters.errors.fetch_add(1, Relaxed);
                warn!(backend = %self.backend.name(), "no server could be reached");
                return local(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", false);
            }
            retries += 1;
            self.backend.counters.retries.fetch_add(1, Relaxed);
            tried.push(server.id);
        }
    }

    /// Sends `request` on a connection to the slot's server. `replay` is the
    /// head of a bodiless idempotent request, to send it again when a pooled
    /// connection breaks under it. `client_upgrade` is the client side of a
    /// requested protocol switch, taken when the server accepts it.
    async fn attempt(
        &self,
        slot: Slot,
        mut request: Request<ProxyBody>,
        replay: Option<&Parts>,
        client_upgrade: &mut Option<OnUpgrade>,
    ) -> Result<Response<ProxyBody>, Failure> {
        let server = Arc::clone(&slot.server);
        let timeouts = &self.backend.timeouts;
        server.counters.requests.fetch_add(1, Relaxed);
        // A pooled connection the server closed while idle hands the request
        // back unsent, or (when the close crossed our request on the wire)
        // breaks before any response byte: that says nothing about the
        // server, so the request goes again to the same server (same slot,
        // same place in the rotation) on another connection, a bounded number
        // of times. The broken case only for a request that may be replayed.
        let mut stale = 0;
        let (sender, mut response, started) = loop {
            let (mut sender, pooled) = match upstream::connection(
                &server,
                timeouts.connect,
                timeouts.server,
            )
            .await
            {
                Ok(connection) => connection,
                Err(error) => {
                    server.counters.errors.fetch_add(1, Relaxed);
                    debug!(backend = %self.backend.name(), server = %server.name(), %error, "connect failed");
                    return Err(Failure::Connect(request));
                }
            };
            if !request.headers().contains_key(header::HOST) {
                if let Ok(host) = HeaderValue::from_str(&server.config.address.to_string()) {
                    request.headers_mut().insert(header::HOST, host);
                }
            }
            let started = Instant::now();
            let sent =
                tokio::time::timeout(timeouts.server, sender.try_send_request(request)).await;
            match sent {
                Err(_) => return Err(Failure::Timeout),
                Ok(Err(mut e)) => match e.take_message() {
                    Some(back) if pooled && stale < MAX_STALE_POOLED => {
                        stale += 1;
                        request = back;
                    }
                    Some(back) => return Err(Failure::Unsent(back)),
                    None => match replay {
                        Some(head) if pooled && stale < MAX_STALE_POOLED => {
                            stale += 1;
                            debug!(backend = %self.backend.name(), server = %server.name(), error = %e.error(), "pooled connection broke; sending again on a new one");
                            request = Request::from_parts(clone_head(head), empty());
                        }
                        _ => return Err(Failure::Broken(e.into_error())),
                    },
                },
                Ok(Ok(response)) => break (sender, response, started),
            }
        };
        server.counters.latency.record(started.elapsed());
        server.counters.responses.record(response.status().as_u16());
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(self.switch(slot, sender, response, client_upgrade.take()));
        }
        intermediary::drop_length_of_coded_response(response.headers_mut());
        headers::remove_hop_by_hop(response.headers_mut());
        let lease = Lease { slot, sender };
        Ok(response.map(|body| Guarded::new(body, Box::new(lease)).boxed_unsync()))
    }

    /// The server answered 101: relay the answer and start the tunnel, or
    /// refuse a switch nobody asked for.
    fn switch(
        &self,
        slot: Slot,
        sender: Sender,
        mut response: Response<hyper::body::Incoming>,
        client_upgrade: Option<OnUpgrade>,
    ) -> Response<ProxyBody> {
        let protocol = response.headers().get(header::UPGRADE).cloned();
        let (Some(client_upgrade), Some(protocol)) = (client_upgrade, protocol) else {
            slot.server.counters.errors.fetch_add(1, Relaxed);
            self.backend.counters.errors.fetch_add(1, Relaxed);
            warn!(backend = %self.backend.name(), server = %slot.server.name(), "101 without a requested or named protocol");
            return local(StatusCode::BAD_GATEWAY, "Bad Gateway", true);
        };
        let server_upgrade = hyper::upgrade::on(&mut response);
        headers::remove_hop_by_hop(response.headers_mut());
        headers::restore_upgrade(response.headers_mut(), protocol);
        tunnel::spawn(client_upgrade, server_upgrade, slot, sender);
        response.map(BodyExt::boxed_unsync)
    }

    fn unavailable(&self, why: NoSlot) -> Response<ProxyBody> {
        self.backend.counters.errors.fetch_add(1, Relaxed);
        let message = match why {
            NoSlot::NoServer => "Service Unavailable: no server is up",
            NoSlot::QueueFull => "Service Unavailable: every server is busy",
            NoSlot::QueueTimeout => "Service Unavailable: timed out waiting for a server",
        };
        warn!(backend = %self.backend.name(), reason = message, "request not served");
        local(StatusCode::SERVICE_UNAVAILABLE, message, false)
    }
}

/// The proxy's answer as the final recipient of an `OPTIONS` or `TRACE`
/// whose `Max-Forwards` is 0 (RFC 9110 7.6.2): `OPTIONS` gets 200, `TRACE`
/// 405, since reflecting a request back (9.3.8, a SHOULD) would echo its
/// credentials; both name the methods forwarded in `Allow`.
fn final_answer(method: &hyper::Method) -> Response<ProxyBody> {
    let mut response = if *method == hyper::Method::OPTIONS {
        local(StatusCode::OK, "OK", false)
    } else {
        local(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed", false)
    };
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    response
}

fn empty() -> ProxyBody {
    Empty::new().map_err(|e| match e {}).boxed_unsync()
}

fn clone_head(parts: &Parts) -> Parts {
    let mut request = Request::new(());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    request.into_parts().0
}
