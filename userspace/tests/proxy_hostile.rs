//! Hostile input over raw TCP: smuggling attempts get 400 and a closed
//! connection, oversized heads 431, slowloris a close after the header
//! timeout; the proxy keeps serving afterwards.

#[path = "proxy_support.rs"]
mod support;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use halb::proxy::Balance;
use support::{config, start_proxy, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_TIMEOUT: Duration = Duration::from_millis(500);

/// Sends `request`, reads until the proxy closes (bounded); the answer text.
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "connection not closed: {}", String::from_utf8_lossy(&out));
    String::from_utf8_lossy(&out).into_owned()
}

async fn setup() -> (halb::proxy::Handle, SocketAddr, TestServer) {
    let server = TestServer::start("s").await;
    let mut cfg = config(vec![server.config()], Balance::RoundRobin);
    cfg.timeouts.http_request = HEADER_TIMEOUT;
    let (proxy, addr) = start_proxy(cfg).await;
    (proxy, addr, server)
}

fn assert_refused(answer: &str, status: &str, case: &str) {
    assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{case}: {answer:?}");
    assert!(!answer.contains("name=s"), "{case}: reached the server: {answer:?}");
}

#[tokio::test]
async fn smuggling_variants_get_400_and_close() {
    let (proxy, addr, _server) = setup().await;
    let cases: [(&str, &[u8]); 9] = [
        ("CL and TE", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"),
        ("TE and CL", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"),
        ("conflicting CL", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"),
        ("CL list", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4, 5\r\n\r\nabcde"),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n"),
        ("TE not chunked last", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
        ("space before colon", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
        ("TE in HTTP/1.0", b"POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ];
    for (case, request) in cases {
        let answer = exchange(addr, request).await;
        assert_refused(&answer, "400", case);
        assert!(!answer.contains("smuggled"), "{case}");
    }
    // The proxy is still fine.
    let answer = exchange(addr, b"GET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.contains("name=s"), "{answer}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn bad_chunk_sizes_get_400_and_close() {
    let (proxy, addr, _server) = setup().await;
    for (case, request) in [
        ("not hex", &b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"[..]),
        ("overflow", b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
        ("short chunk", b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"),
    ] {
        let answer = exchange(addr, request).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{case}: {answer:?}");
    }
    proxy.shutdown().await;
}

#[tokio::test]
async fn oversized_heads_get_431() {
    let (proxy, addr, _server) = setup().await;
    let big = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "a".repeat(halb::proxy::MAX_HEADER_BYTES + 1)
    );
    assert_refused(&exchange(addr, big.as_bytes()).await, "431", "one huge header");
    let many = (0..=halb::proxy::MAX_HEADERS).fold(String::new(), |mut s, i| {
        let _ = write!(s, "X-H{i}: v\r\n");
        s
    });
    let many = format!("GET / HTTP/1.1\r\nHost: h\r\n{many}\r\n");
    assert_refused(&exchange(addr, many.as_bytes()).await, "431", "too many headers");
    proxy.shutdown().await;
}

#[tokio::test]
async fn slowloris_is_closed_after_the_header_timeout() {
    let (proxy, addr, _server) = setup().await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n").await.unwrap();
    // One header byte every 50 ms: always active, never complete.
    let mut buf = [0_u8; 1024];
    let closed_after = loop {
        tokio::select! {
            read = tcp.read(&mut buf) => match read {
                Ok(0) | Err(_) => break start.elapsed(),
                Ok(_) => {}
            },
            () = tokio::time::sleep(Duration::from_millis(50)) => {
                if tcp.write_all(b"X").await.is_err() {
                    break start.elapsed();
                }
            }
        }
        assert!(start.elapsed() < Duration::from_secs(5), "slowloris still connected");
    };
    assert!(closed_after >= HEADER_TIMEOUT, "{closed_after:?}");
    assert!(closed_after < HEADER_TIMEOUT * 4, "{closed_after:?}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn garbage_never_reaches_a_server_nor_breaks_the_proxy() {
    let (proxy, addr, _server) = setup().await;
    let inputs: [&[u8]; 6] = [
        b"\x00\x01\x02\xff\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"G\xc3\x28T / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n",
        b"CONNECT example:443 HTTP/1.1\r\nHost: example:443\r\n\r\n",
    ];
    for input in inputs {
        let answer = exchange(addr, input).await;
        assert!(!answer.contains("name=s"), "{input:?} reached the server: {answer}");
        assert!(
            answer.is_empty()
                || answer.starts_with("HTTP/1.1 4")
                || answer.starts_with("HTTP/1.1 505"),
            "{input:?}: {answer}"
        );
    }
    let answer = exchange(addr, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").await;
    assert!(answer.contains("name=s"), "{answer}");
    assert!(proxy.stats().frontends[0].errors >= 5);
    proxy.shutdown().await;
}
