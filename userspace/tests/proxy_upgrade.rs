//! Protocol switches through the proxy (HTTP/1.1 `Upgrade`, as WebSocket
//! uses it), against a raw TCP server that speaks a tiny "shout" protocol
//! after its 101: every byte comes back upper-cased.

#[path = "proxy_support.rs"]
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use halb::proxy::Balance;
use support::{config, start_proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(5);

/// Answers 101 to `Upgrade: shout` (and to any request for `/rogue`), then
/// shouts back what it reads; anything else gets a plain 200. Sends every
/// request head it reads on the channel.
async fn start_shout_server() -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (heads, seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            tokio::spawn(serve_shout(tcp, heads.clone()));
        }
    });
    (addr, seen)
}

async fn serve_shout(mut tcp: TcpStream, heads: mpsc::UnboundedSender<String>) {
    loop {
        let Some(head) = read_head(&mut tcp).await else { return };
        let _ = heads.send(head.clone());
        let lower = head.to_ascii_lowercase();
        if lower.contains("\r\nupgrade: shout") || lower.starts_with("get /rogue ") {
            let answer =
                "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\n";
            if tcp.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            let mut buf = [0_u8; 1024];
            while let Ok(n) = tcp.read(&mut buf).await {
                if n == 0 || tcp.write_all(&buf[..n].to_ascii_uppercase()).await.is_err() {
                    return;
                }
            }
            return;
        }
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain";
        if tcp.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one head (through the blank line) byte by byte; `None` at EOF.
async fn read_head(tcp: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(WAIT, tcp.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

async fn read_exact_within(tcp: &mut TcpStream, n: usize) -> String {
    let mut buf = vec![0_u8; n];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut buf)).await.expect("in time").unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

async fn proxy_for(server: SocketAddr) -> (halb::proxy::Handle, SocketAddr) {
    let probe = support::TestServer::start("unused").await;
    let mut server_config = probe.config();
    server_config.name = "shout".into();
    server_config.address = server;
    server_config.check = None;
    start_proxy(config(vec![server_config], Balance::RoundRobin)).await
}

#[tokio::test]
async fn an_upgrade_becomes_a_tunnel_both_ways() {
    let (server, mut seen) = start_shout_server().await;
    let (proxy, addr) = proxy_for(server).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET /chat HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: shout\r\n\r\n",
    )
    .await
    .unwrap();
    let head = read_head(&mut tcp).await.expect("an answer").to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101 "), "{head}");
    assert!(head.contains("\r\nupgrade: shout\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: upgrade\r\n"), "{head}");
    // The server got the switch request with the proxy's usual rewriting.
    let request = seen.recv().await.unwrap().to_ascii_lowercase();
    assert!(request.contains("\r\nupgrade: shout\r\n"), "{request}");
    assert!(request.contains("\r\nconnection: upgrade\r\n"), "{request}");
    assert!(request.contains("\r\nx-forwarded-for: 127.0.0.1\r\n"), "{request}");
    // Bytes flow both ways, several times.
    for word in ["hello", "tunnel", "again"] {
        tcp.write_all(word.as_bytes()).await.unwrap();
        assert_eq!(read_exact_within(&mut tcp, word.len()).await, word.to_ascii_uppercase());
    }
    assert_eq!(proxy.stats().backends[0].servers[0].active.current, 1, "the tunnel holds a slot");
    drop(tcp);
    let deadline = tokio::time::Instant::now() + WAIT;
    while proxy.stats().backends[0].servers[0].active.current != 0 {
        assert!(tokio::time::Instant::now() < deadline, "slot not released after the client left");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_refused_upgrade_is_an_ordinary_exchange() {
    let (server, _seen) = start_shout_server().await;
    let (proxy, addr) = proxy_for(server).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    for _ in 0..2 {
        // The server ignores `Upgrade: other`: a 200, and the connection
        // stays HTTP for the next request.
        tcp.write_all(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: other\r\n\r\n",
        )
        .await
        .unwrap();
        let head = read_head(&mut tcp).await.expect("an answer");
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert!(!head.to_ascii_lowercase().contains("upgrade"), "{head}");
        assert_eq!(read_exact_within(&mut tcp, 5).await, "plain");
    }
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_switch_nobody_asked_for_is_a_502() {
    let (server, _seen) = start_shout_server().await;
    let (proxy, addr) = proxy_for(server).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /rogue HTTP/1.1\r\nHost: h\r\n\r\n").await.unwrap();
    let head = read_head(&mut tcp).await.expect("an answer");
    assert!(head.starts_with("HTTP/1.1 502 "), "{head}");
    // HTTP/1.0 cannot upgrade either: the headers are dropped, so the
    // shout server answers 200.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.0\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut tcp).await.expect("an answer");
    assert!(head.starts_with("HTTP/1.0 200 ") || head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(proxy.stats().backends[0].errors >= 1);
    proxy.shutdown().await;
}
