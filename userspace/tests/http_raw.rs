//! Raw-bytes HTTP/1.1 over real sockets, for the conformance tests
//! (included with `#[path]` by `http_conformance*`; alone it is an empty
//! test crate): an origin that records exactly what it received and answers
//! with whatever bytes a test gives it, and a client that writes any bytes
//! and reads responses off the wire without interpreting them kindly.
#![allow(dead_code, reason = "each test file uses a different part")]
#![allow(clippy::missing_panics_doc, clippy::must_use_candidate)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How long a test waits for bytes that should come.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// One request as the origin read it: the head as sent (request line and
/// fields, CRLFs included) and the body, chunked coding removed.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub head: String,
    pub body: Vec<u8>,
}

impl Received {
    /// The request line's target.
    pub fn target(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or_default()
    }

    /// Values of the field `name` (case-insensitive), in order.
    pub fn field(&self, name: &str) -> Vec<String> {
        fields(&self.head, name)
    }
}

/// Values of the field `name` in a raw head (case-insensitive).
pub fn fields(head: &str, name: &str) -> Vec<String> {
    head.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

/// What the origin sends back, and whether it closes afterwards.
pub struct Answer {
    pub bytes: Vec<u8>,
    pub close: bool,
}

/// `200 OK` with a `Content-Length` body, connection kept.
pub fn ok(body: &str) -> Answer {
    let bytes = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    Answer { bytes: bytes.into_bytes(), close: false }
}

type Reply = Arc<dyn Fn(&Received) -> Answer + Send + Sync>;

/// A raw TCP origin server: reads each request (head, then a
/// `Content-Length` or chunked body), records it, and writes the bytes its
/// reply function returns.
pub struct Origin {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl Origin {
    /// Answers `200 OK` with body `ok <target>` to everything.
    pub async fn echoing() -> Self {
        Self::start(|r| ok(&format!("ok {}", r.target()))).await
    }

    /// Answers `bad` to targets starting with `/bad` (connection kept, so a
    /// proxy that reused it would show), and `200 good` to anything else.
    pub async fn answering_bad(bad: &'static [u8]) -> Self {
        Self::start(move |r| {
            if r.target().starts_with("/bad") {
                Answer { bytes: bad.to_vec(), close: false }
            } else {
                ok("good")
            }
        })
        .await
    }

    pub async fn start(reply: impl Fn(&Received) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind origin");
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let reply: Reply = Arc::new(reply);
        let log = Arc::clone(&received);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (reply, log) = (Arc::clone(&reply), Arc::clone(&log));
                connections.spawn(serve(stream, reply, log));
            }
        });
        Self { addr, received, task }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The only request received; panics (naming `row`) otherwise.
    pub fn only(&self, row: &str) -> Received {
        let all = self.received();
        assert_eq!(all.len(), 1, "{row}: origin got {all:?}");
        all[0].clone()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: TcpStream, reply: Reply, log: Arc<Mutex<Vec<Received>>>) {
    let mut wire = Wire::new(stream);
    while let Some(request) = wire.request().await {
        log.lock().unwrap().push(request.clone());
        let answer = reply(&request);
        if wire.tcp.write_all(&answer.bytes).await.is_err() || answer.close {
            return;
        }
    }
}

/// A response as a client read it off the wire.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Status line and fields, CRLFs included.
    pub head: String,
    pub body: Vec<u8>,
    /// The body ended as its framing said (false: the connection closed
    /// first, or the chunked coding was broken).
    pub complete: bool,
}

impl Response {
    pub fn field(&self, name: &str) -> Vec<String> {
        fields(&self.head, name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One TCP connection with a read buffer: a raw client, or the origin's
/// side of a proxy connection.
pub struct Wire {
    pub tcp: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Wire {
    pub fn new(tcp: TcpStream) -> Self {
        Self { tcp, buf: Vec::new(), eof: false }
    }

    pub async fn connect(addr: SocketAddr) -> Self {
        Self::new(TcpStream::connect(addr).await.expect("connect"))
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.expect("send");
    }

    /// Reads more bytes (bounded by [`PATIENCE`]); false at end of stream.
    async fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        self.buf.reserve(16 * 1024);
        match tokio::time::timeout(PATIENCE, self.tcp.read_buf(&mut self.buf)).await {
            Ok(Ok(n)) if n > 0 => true,
            _ => {
                self.eof = true;
                false
            }
        }
    }

    /// The bytes through the next blank line (CRLF or bare LF ends).
    async fn head(&mut self) -> Option<String> {
        loop {
            let end = find(&self.buf, b"\r\n\r\n").map(|i| i + 4);
            let end = end.or_else(|| find(&self.buf, b"\n\n").map(|i| i + 2));
            if let Some(end) = end {
                let head: Vec<u8> = self.buf.drain(..end).collect();
                return Some(String::from_utf8_lossy(&head).into_owned());
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    async fn exactly(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = find(&self.buf, b"\n") {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Some(String::from_utf8_lossy(&line).trim_end().to_owned());
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// A chunked body, decoded; `None` when it is cut or malformed.
    async fn chunked(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.line().await?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16).ok()?;
            if size == 0 {
                // Trailer section, through its blank line.
                while !self.line().await?.is_empty() {}
                return Some(body);
            }
            body.extend(self.exactly(size).await?);
            if !self.line().await?.is_empty() {
                return None;
            }
        }
    }

    /// The next request (the origin's side).
    pub async fn request(&mut self) -> Option<Received> {
        let head = self.head().await?;
        let chunked = fields(&head, "transfer-encoding").iter().any(|v| v.contains("chunked"));
        let body = if chunked {
            self.chunked().await?
        } else {
            let length = fields(&head, "content-length").first().and_then(|v| v.parse().ok());
            self.exactly(length.unwrap_or(0)).await?
        };
        Some(Received { head, body })
    }

    /// The next response (the client's side); `to_head`: it answers HEAD.
    pub async fn response(&mut self, to_head: bool) -> Option<Response> {
        let head = self.head().await?;
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let chunked = fields(&head, "transfer-encoding").iter().any(|v| v.contains("chunked"));
        let length = fields(&head, "content-length").first().and_then(|v| v.parse().ok());
        let (body, complete) =
            if to_head || (100..200).contains(&status) || [204, 304].contains(&status) {
                (Vec::new(), true)
            } else if chunked {
                match self.chunked().await {
                    Some(body) => (body, true),
                    None => (std::mem::take(&mut self.buf), false),
                }
            } else if let Some(length) = length {
                match self.exactly(length).await {
                    Some(body) => (body, true),
                    None => (std::mem::take(&mut self.buf), false),
                }
            } else {
                while self.fill().await {}
                (std::mem::take(&mut self.buf), true)
            };
        Some(Response { status, head, body, complete })
    }

    /// The next final response, skipping (and returning) 1xx ones first.
    pub async fn final_response(&mut self, to_head: bool) -> (Vec<Response>, Option<Response>) {
        let mut informational = Vec::new();
        loop {
            match self.response(to_head).await {
                Some(r) if (100..200).contains(&r.status) => informational.push(r),
                other => return (informational, other),
            }
        }
    }

    /// Whether the peer closes the connection with nothing more to read
    /// (waits up to [`PATIENCE`]).
    pub async fn closed(&mut self) -> bool {
        while self.fill().await {}
        self.buf.is_empty()
    }

    /// Bytes left unread plus whatever comes until the peer closes.
    pub async fn rest(&mut self) -> String {
        while self.fill().await {}
        String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
