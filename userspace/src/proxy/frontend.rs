//! A frontend: the accept loop under a connection limit, and one hyper
//! HTTP/1.1 server connection per client with the proxy's limits: request
//! head timeout (slowloris; also the keep-alive idle bound), client
//! inactivity timeout, header size and count.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tracing::{debug, warn};

use super::body::local;
use super::body::{Guarded, Hold};
use super::forward::Forwarder;
use super::head_limits::{MAX_HEADERS, MAX_HEADER_BYTES};
use super::head_tap::{HeadTap, Tap};
use super::idle_io::{Busy, IdleIo};
use super::stats::FrontendCounters;

/// How long open connections may finish their request at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed accept (out of file descriptors) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

pub(crate) struct Frontend {
    pub name: String,
    pub counters: FrontendCounters,
    pub forwarder: Forwarder,
    pub maxconn: u32,
    pub client_timeout: Duration,
    pub http_request_timeout: Duration,
    /// Set when the proxy drains (a hitless upgrade handed its listeners
    /// on): every response from then on carries `Connection: close`, so
    /// keep-alive clients finish their current exchange and reconnect.
    pub draining: AtomicBool,
}

impl Frontend {
    /// Accepts until `shutdown` (or `draining`) turns true, then gives open
    /// connections [`SHUTDOWN_GRACE`] to finish.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
        mut draining: watch::Receiver<bool>,
    ) {
        let limit = Arc::new(Semaphore::new(self.maxconn as usize));
        loop {
            let permit = tokio::select! {
                permit = Arc::clone(&limit).acquire_owned() => permit.expect("never closed"),
                () = stopped(&mut shutdown) => break,
                () = stopped(&mut draining) => break,
            };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = stopped(&mut shutdown) => break,
                () = stopped(&mut draining) => break,
            };
            match accepted {
                Ok((stream, client)) => {
                    let this = Arc::clone(&self);
                    let shutdown = shutdown.clone();
                    tokio::spawn(async move {
                        this.connection(stream, client, shutdown).await;
                        drop(permit);
                    });
                }
                Err(error) => {
                    warn!(frontend = %self.name, %error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
        drop(listener);
        // Wait until every connection task has returned its permit.
        let _ = tokio::time::timeout(SHUTDOWN_GRACE * 2, limit.acquire_many(self.maxconn)).await;
    }

    async fn connection(
        self: Arc<Self>,
        stream: TcpStream,
        client: SocketAddr,
        shutdown: watch::Receiver<bool>,
    ) {
        self.counters.connections.enter();
        let _ = stream.set_nodelay(true);
        let busy = Arc::new(AtomicUsize::new(0));
        let tap = Arc::new(Tap::default());
        let tapped = HeadTap::new(stream, Arc::clone(&tap), Arc::clone(&busy));
        let io = TokioIo::new(IdleIo::new(tapped, self.client_timeout, Some(Arc::clone(&busy))));
        let this = Arc::clone(&self);
        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let this = Arc::clone(&this);
            let mark = Busy::new(&busy);
            let tunnel_mark = Arc::clone(&busy);
            let smuggling = req.headers().contains_key(hyper::header::TRANSFER_ENCODING)
                && tap.head_has_content_length(&format!("{} {} ", req.method(), req.uri()));
            tap.head_done();
            async move {
                this.counters.requests.fetch_add(1, Relaxed);
                let response = if smuggling {
                    debug!(frontend = %this.name, %client, "Transfer-Encoding with Content-Length refused");
                    local(hyper::StatusCode::BAD_REQUEST, "Bad Request", true)
                } else {
                    this.forwarder.handle(req, client).await
                };
                let mut response = response;
                if this.draining.load(Relaxed) {
                    response.headers_mut().insert(
                        hyper::header::CONNECTION,
                        hyper::header::HeaderValue::from_static("close"),
                    );
                }
                let status = response.status();
                if status == hyper::StatusCode::SWITCHING_PROTOCOLS {
                    // No more request heads on this connection: stop the
                    // head tap for good (the tunnel keeps its own timeouts).
                    tunnel_mark.fetch_add(1, Relaxed);
                }
                this.counters.responses.record(status.as_u16());
                if status == hyper::StatusCode::BAD_REQUEST {
                    this.counters.errors.fetch_add(1, Relaxed);
                }
                // The client may stay silent until the response is sent.
                Ok::<_, std::convert::Infallible>(
                    response.map(|b| Guarded::new(b, Box::new(Hold(mark))).boxed_unsync()),
                )
            }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.http_request_timeout)
            .max_buf_size(MAX_HEADER_BYTES)
            .max_header_size(MAX_HEADER_BYTES)
            .max_headers(MAX_HEADERS)
            .keep_alive(true)
            .serve_connection(io, service)
            .with_upgrades();
        tokio::pin!(connection);
        let mut shutdown = shutdown;
        let stopping = stopped(&mut shutdown);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = stopping => {
                connection.as_mut().graceful_shutdown();
                tokio::time::timeout(SHUTDOWN_GRACE, connection.as_mut()).await.unwrap_or(Ok(()))
            }
        };
        if let Err(error) = result {
            self.counters.errors.fetch_add(1, Relaxed);
            debug!(frontend = %self.name, %client, %error, "client connection ended with an error");
        }
        self.counters.connections.leave();
    }
}

/// Completes when the shutdown flag is set (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}
