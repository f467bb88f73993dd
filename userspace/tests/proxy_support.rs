//! Shared pieces of the proxy integration tests (included with `#[path]`
//! by each `proxy_*` test; alone it is an empty test crate): test web
//! servers that answer with their name and the client address they saw, a
//! proxy on loopback, and small clients.
#![allow(dead_code, reason = "each test file uses a different part")]
// Test helpers panic on setup failures by design; they are not an API.
#![allow(clippy::missing_panics_doc, clippy::must_use_candidate)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use halb::proxy::client_headers::ClientHeaders;
use halb::proxy::{
    self, BackendConfig, Balance, CheckKind, Config, FrontendConfig, ServerConfig, Timeouts,
};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub type TestBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// A web server for tests. Paths: `/204`, `/304`, `/echo` (streams the
/// request body back), `/big/N` (streams N bytes), `/slow/MS`; anything
/// else answers `name=.. client=.. xff=.. fwd=.. host=.. path=..`.
pub struct TestServer {
    pub name: String,
    pub addr: SocketAddr,
    /// TCP connections accepted.
    pub accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(name: &str) -> Self {
        Self::start_on(name, "127.0.0.1:0".parse().unwrap()).await
    }

    pub async fn start_on(name: &str, addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind test server");
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (n, count) = (name.to_owned(), Arc::clone(&accepted));
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, peer)) = listener.accept().await else { continue };
                count.fetch_add(1, Relaxed);
                let name = n.clone();
                connections.spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| answer(name.clone(), peer, req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { name: name.to_owned(), addr, accepted, task }
    }

    /// Stops listening and resets every open connection.
    pub fn kill(&self) {
        self.task.abort();
    }

    pub fn config(&self) -> ServerConfig {
        let mut s = ServerConfig::new(self.name.clone(), self.addr);
        s.check = None;
        s
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    name: String,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<TestBody>, Infallible> {
    let path = req.uri().path().to_owned();
    let header =
        |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    let mut parts = path.trim_start_matches('/').split('/');
    let response = match (parts.next(), parts.next()) {
        (Some("204"), _) => status(StatusCode::NO_CONTENT),
        (Some("304"), _) => {
            let mut r = status(StatusCode::NOT_MODIFIED);
            r.headers_mut().insert("etag", "\"v1\"".parse().unwrap());
            r
        }
        (Some("echo"), _) => {
            let mut r = Response::new(req.into_body().boxed_unsync());
            r.headers_mut().insert("x-server", name.parse().unwrap());
            r
        }
        (Some("big"), Some(n)) => Response::new(generated(n.parse().unwrap_or(0))),
        (Some("slow"), Some(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
            text(format!("name={name}"))
        }
        _ => text(format!(
            "name={name} client={peer} xff={} fwd={} host={} path={path} conn={}",
            header("x-forwarded-for"),
            header("forwarded"),
            header("host"),
            header("connection"),
        )),
    };
    Ok(response)
}

fn status(code: StatusCode) -> Response<TestBody> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = code;
    r
}

fn text(body: String) -> Response<TestBody> {
    Response::new(full(Bytes::from(body)))
}

pub fn full(b: Bytes) -> TestBody {
    Full::new(b).map_err(|e| match e {}).boxed_unsync()
}

/// A body of `n` bytes (a repeating pattern) produced 64 KiB at a time.
pub fn generated(n: usize) -> TestBody {
    const CHUNK: usize = 64 * 1024;
    let chunk =
        Bytes::from((0..CHUNK).map(|i| u8::try_from(i % 251).unwrap_or(0)).collect::<Vec<u8>>());
    let frames = futures_util::stream::iter((0..n.div_ceil(CHUNK)).map(move |i| {
        let len = CHUNK.min(n - i * CHUNK);
        Ok::<_, hyper::Error>(Frame::data(chunk.slice(..len)))
    }));
    StreamBody::new(frames).boxed_unsync()
}

pub fn timeouts_for_tests() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(500),
        client: Duration::from_secs(5),
        server: Duration::from_secs(5),
        http_request: Duration::from_secs(2),
        queue: Duration::from_secs(2),
        check: Duration::from_millis(300),
    }
}

pub fn config(servers: Vec<ServerConfig>, balance: Balance) -> Config {
    Config {
        frontends: vec![FrontendConfig {
            name: "web".into(),
            bind: "127.0.0.1:0".parse().unwrap(),
            backend: "pool".into(),
            maxconn: 1000,
        }],
        backends: vec![BackendConfig {
            name: "pool".into(),
            balance,
            check: CheckKind::Tcp,
            maxqueue: 64,
            client_headers: ClientHeaders::default(),
            servers,
        }],
        timeouts: timeouts_for_tests(),
        retries: 3,
        redispatch: true,
    }
}

pub async fn start_proxy(config: Config) -> (proxy::Handle, SocketAddr) {
    let handle = proxy::start(config).await.expect("proxy starts");
    let addr = handle.local_addr("web").unwrap();
    (handle, addr)
}

/// A keep-alive HTTP/1.1 client connection.
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<TestBody>,
    pub local: SocketAddr,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::connect_from(addr, "127.0.0.1".parse().unwrap()).await
    }

    /// Connects from `source` (any 127.0.0.0/8 address works on loopback).
    pub async fn connect_from(addr: SocketAddr, source: std::net::IpAddr) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(source, 0)).unwrap();
        let stream = socket.connect(addr).await.expect("connect to proxy");
        let local = stream.local_addr().unwrap();
        let (sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        Self { sender, local }
    }

    pub async fn send(&mut self, req: Request<TestBody>) -> hyper::Result<Response<Incoming>> {
        self.sender.ready().await?;
        self.sender.send_request(req).await
    }

    /// GET `path`; status and body text.
    pub async fn get(&mut self, path: &str) -> hyper::Result<(StatusCode, String)> {
        let req =
            Request::get(path).header("host", "lab.example").body(full(Bytes::new())).unwrap();
        let response = self.send(req).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// The `name=` of a test server's answer.
pub fn served_by(body: &str) -> &str {
    body.split_whitespace().next().and_then(|w| w.strip_prefix("name=")).unwrap_or(body)
}

/// Waits (bounded) until the pool health satisfies `f`.
pub async fn wait_health(handle: &proxy::Handle, f: impl Fn(&proxy::PoolHealth) -> bool) {
    let mut rx = handle.pool_health("pool").unwrap();
    tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|h| f(h)))
        .await
        .expect("pool health changed in time")
        .unwrap();
}
