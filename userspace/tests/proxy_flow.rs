//! The proxy end to end on loopback: balancing, forwarding headers,
//! keep-alive, special responses, failures and pool changes.

#[path = "proxy_support.rs"]
mod support;

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::Bytes;
use halb::proxy::{Balance, CheckTiming};
use http_body_util::BodyExt;
use hyper::{Request, StatusCode};
use support::{config, full, served_by, start_proxy, wait_health, Client, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn round_robin_alternates_and_forwards_the_client_address() {
    let servers = [
        TestServer::start("s1").await,
        TestServer::start("s2").await,
        TestServer::start("s3").await,
    ];
    let (proxy, addr) =
        start_proxy(config(servers.iter().map(TestServer::config).collect(), Balance::RoundRobin))
            .await;
    // The client comes from 127.0.0.2; the proxy connects from its own
    // address (127.0.0.1, picked by routing), as the lab's servers expect.
    let mut client = Client::connect_from(addr, "127.0.0.2".parse().unwrap()).await;
    let mut names = Vec::new();
    for _ in 0..6 {
        let (status, body) = client.get("/page?x=1").await.unwrap();
        assert_eq!(status, StatusCode::OK);
        names.push(served_by(&body).to_owned());
        assert!(body.contains("xff=127.0.0.2 "), "{body}");
        assert!(body.contains("fwd=for=127.0.0.2 "), "{body}");
        assert!(body.contains("client=127.0.0.1:"), "{body}");
        assert!(body.contains("host=lab.example "), "Host is kept: {body}");
        assert!(body.contains("path=/page "), "{body}");
        assert!(body.ends_with("conn=-"), "Connection is not forwarded: {body}");
    }
    assert_eq!(names, ["s1", "s2", "s3", "s1", "s2", "s3"]);
    let stats = proxy.stats();
    assert_eq!(stats.frontends[0].requests, 6);
    assert_eq!(stats.frontends[0].connections.total, 1);
    assert_eq!(stats.backends[0].responses.success, 6);
    assert!(stats.backends[0].servers.iter().all(|s| s.requests == 2 && s.latency.count == 2));
    let text = proxy.prometheus();
    assert!(
        text.contains("halb_proxy_server_requests_total{backend=\"pool\",server=\"s2\"} 2\n"),
        "{text}"
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn keep_alive_reuses_server_connections() {
    let servers = [TestServer::start("a").await, TestServer::start("b").await];
    let (proxy, addr) =
        start_proxy(config(servers.iter().map(TestServer::config).collect(), Balance::RoundRobin))
            .await;
    for _ in 0..3 {
        let mut client = Client::connect(addr).await;
        for _ in 0..10 {
            assert_eq!(client.get("/").await.unwrap().0, StatusCode::OK);
        }
    }
    // 30 requests from 3 client connections, one connection per server.
    assert_eq!(servers[0].accepted.load(Relaxed), 1);
    assert_eq!(servers[1].accepted.load(Relaxed), 1);
    assert_eq!(proxy.stats().frontends[0].connections.total, 3);
    proxy.shutdown().await;
}

#[tokio::test]
async fn head_204_304_and_their_framing() {
    let server = TestServer::start("s").await;
    let (proxy, addr) = start_proxy(config(vec![server.config()], Balance::RoundRobin)).await;
    let mut client = Client::connect(addr).await;
    let head = Request::head("/x").header("host", "h").body(full(Bytes::new())).unwrap();
    let response = client.send(head).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let length: usize = response.headers()["content-length"].to_str().unwrap().parse().unwrap();
    assert!(length > 0, "HEAD keeps the length GET would have");
    assert!(response.into_body().collect().await.unwrap().to_bytes().is_empty());
    let (status, body) = client.get("/204").await.unwrap();
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
    let response = client
        .send(Request::get("/304").header("host", "h").body(full(Bytes::new())).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(response.headers()["etag"], "\"v1\"");
    assert!(response.into_body().collect().await.unwrap().to_bytes().is_empty());
    // The connection is still good after all three.
    assert_eq!(client.get("/").await.unwrap().0, StatusCode::OK);
    assert_eq!(server.accepted.load(Relaxed), 1);
    proxy.shutdown().await;
}

#[tokio::test]
async fn expect_100_continue_and_chunked_upload() {
    let server = TestServer::start("s").await;
    let (proxy, addr) = start_proxy(config(vec![server.config()], Balance::RoundRobin)).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("interim answer")
        .unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    tcp.write_all(b"hello").await.unwrap();
    let text = read_response(&mut tcp).await;
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("hello"), "{text}");
    // Chunked upload, chunked back.
    tcp.write_all(b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").await.unwrap();
    let text = read_response(&mut tcp).await;
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{text}");
    assert!(text.contains("abc") && text.contains("de"), "{text}");
    proxy.shutdown().await;
}

/// Reads until the peer pauses (a response fits in what arrives at once).
async fn read_response(tcp: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = vec![0; 65536];
    loop {
        match tokio::time::timeout(Duration::from_millis(300), tcp.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ if !out.is_empty() => return String::from_utf8_lossy(&out).into_owned(),
            Ok(_) => return String::new(),
            Err(_) => {}
        }
    }
}

#[tokio::test]
async fn a_server_killed_under_load_costs_no_request() {
    let servers = [
        TestServer::start("s1").await,
        TestServer::start("s2").await,
        TestServer::start("s3").await,
    ];
    // Checks far apart: only retries and redispatch can save the requests.
    let configs = servers
        .iter()
        .map(|s| {
            let mut c = s.config();
            c.check = Some(CheckTiming { inter: Duration::from_mins(1), ..CheckTiming::default() });
            c
        })
        .collect();
    let (proxy, addr) = start_proxy(config(configs, Balance::RoundRobin)).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let done = std::sync::Arc::clone(&done);
        clients.spawn(async move {
            let mut client = Client::connect(addr).await;
            let mut failures = Vec::new();
            for i in 0..60 {
                match client.get(&format!("/{i}")).await {
                    Ok((StatusCode::OK, _)) => {}
                    other => failures.push(format!("{other:?}")),
                }
                done.fetch_add(1, Relaxed);
            }
            failures
        });
    }
    while done.load(Relaxed) < 60 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    servers[1].kill();
    let mut failures = Vec::new();
    while let Some(result) = clients.join_next().await {
        failures.extend(result.unwrap());
    }
    assert!(failures.is_empty(), "{failures:?}");
    let stats = proxy.stats();
    assert_eq!(stats.backends[0].responses.success, 240);
    assert!(stats.backends[0].retries > 0, "the killed server must have cost retries");
    proxy.shutdown().await;
}

#[tokio::test]
async fn health_checks_remove_and_restore_a_server() {
    let s1 = TestServer::start("s1").await;
    let s2 = TestServer::start("s2").await;
    let fast = CheckTiming {
        inter: Duration::from_millis(100),
        fastinter: Duration::from_millis(30),
        downinter: Duration::from_millis(100),
        rise: 2,
        fall: 2,
    };
    let configs = [&s1, &s2]
        .iter()
        .map(|s| {
            let mut c = s.config();
            c.check = Some(fast);
            c
        })
        .collect();
    let (proxy, addr) = start_proxy(config(configs, Balance::RoundRobin)).await;
    wait_health(&proxy, |h| h.servers_up == 2 && h.servers_total == 2 && h.weight_up == 2).await;
    let s2_addr = s2.addr;
    s2.kill();
    drop(s2);
    wait_health(&proxy, |h| h.servers_up == 1).await;
    let mut client = Client::connect(addr).await;
    for _ in 0..4 {
        let (status, body) = client.get("/").await.unwrap();
        assert_eq!((status, served_by(&body)), (StatusCode::OK, "s1"));
    }
    let state = |p: &halb::proxy::Handle| format!("{:?}", p.stats().backends[0].servers[1].state);
    assert_eq!(state(&proxy), "Down");
    assert_eq!(proxy.stats().backends[0].retries, 0, "a down server gets no request");
    let _s2 = TestServer::start_on("s2", s2_addr).await;
    wait_health(&proxy, |h| h.servers_up == 2).await;
    assert_eq!(state(&proxy), "Up");
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(served_by(&client.get("/").await.unwrap().1).to_owned());
    }
    assert!(seen.contains(&"s2".to_owned()), "{seen:?}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn servers_are_added_and_removed_without_restart() {
    let s1 = TestServer::start("s1").await;
    let s2 = TestServer::start("s2").await;
    let (proxy, addr) = start_proxy(config(vec![s1.config()], Balance::RoundRobin)).await;
    let mut client = Client::connect(addr).await;
    assert_eq!(served_by(&client.get("/").await.unwrap().1), "s1");
    proxy.update_servers("pool", vec![s1.config(), s2.config()]).unwrap();
    assert_eq!(proxy.pool_health("pool").unwrap().borrow().servers_total, 2);
    let names: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(served_by(&client.get("/").await.unwrap().1).to_owned());
        }
        v
    };
    assert_eq!(names.iter().filter(|n| *n == "s2").count(), 2, "{names:?}");
    // A slow request on s1 is in flight when s1 is removed: it completes.
    let mut other = Client::connect(addr).await;
    let slow = tokio::spawn(async move {
        loop {
            let (status, body) = other.get("/slow/400").await.unwrap();
            if served_by(&body) == "s1" {
                return status;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    proxy.update_servers("pool", vec![s2.config()]).unwrap();
    for _ in 0..4 {
        assert_eq!(served_by(&client.get("/").await.unwrap().1), "s2");
    }
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    assert!(proxy.update_servers("nope", vec![]).is_err());
    assert!(proxy.update_servers("pool", vec![s2.config(), s2.config()]).is_err());
    let stats = proxy.stats();
    assert_eq!(stats.frontends[0].connections.total, 2, "no client connection was lost");
    assert_eq!(stats.backends[0].servers.len(), 1);
    // One connection for `client`, at most one more for the slow loop.
    assert!(s2.accepted.load(Relaxed) <= 2, "s2's connections survived the updates");
    proxy.shutdown().await;
}

#[tokio::test]
async fn nothing_to_serve_gives_503_and_slow_servers_504() {
    let dead = TestServer::start("dead").await;
    dead.kill();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (proxy, addr) = start_proxy(config(vec![dead.config()], Balance::LeastConn)).await;
    let mut client = Client::connect(addr).await;
    let (status, body) = client.get("/").await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.starts_with("503 ") && body.len() < 100, "{body}");
    assert_eq!(proxy.stats().backends[0].retries, 3);
    proxy.shutdown().await;

    let slow = TestServer::start("slow").await;
    let mut cfg = config(vec![slow.config()], Balance::Random);
    cfg.timeouts.server = Duration::from_millis(200);
    let (proxy, addr) = start_proxy(cfg).await;
    let mut client = Client::connect(addr).await;
    let (status, body) = client.get("/slow/1000").await.unwrap();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(client.get("/").await.unwrap().0, StatusCode::OK);
    assert_eq!(proxy.stats().frontends[0].responses.server_error, 1);
    proxy.shutdown().await;
}

#[tokio::test]
async fn maxconn_queues_then_refuses() {
    let s = TestServer::start("s").await;
    let mut c = s.config();
    c.maxconn = 1;
    let mut cfg = config(vec![c], Balance::RoundRobin);
    cfg.backends[0].maxqueue = 1;
    let (proxy, addr) = start_proxy(cfg).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..3_u64 {
        tasks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(50 * i)).await;
            let mut client = Client::connect(addr).await;
            client.get("/slow/300").await.unwrap().0
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = tasks.join_next().await {
        statuses.push(s.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE]);
    let stats = proxy.stats();
    assert_eq!(stats.backends[0].servers[0].active.max, 1);
    assert_eq!(stats.backends[0].queue.max, 1);
    proxy.shutdown().await;
}

#[tokio::test]
async fn run_stops_when_told() {
    let s = TestServer::start("s").await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let run =
        tokio::spawn(halb::proxy::run(config(vec![s.config()], Balance::RoundRobin), async {
            let _ = rx.await;
        }));
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), run).await.expect("stops").unwrap().unwrap();
    let _ = Request::get("/").body(()).unwrap();
}

/// A server that answers the first request of each connection and closes
/// the connection when the second one arrives, without answering it: the
/// race of a keep-alive timeout on the server crossing a reused request.
async fn start_closing_server(
    name: &'static str,
) -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else { continue };
            count.fetch_add(1, Relaxed);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0_u8; 4096];
                let mut answered = false;
                loop {
                    let Ok(n) = tcp.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        continue;
                    }
                    if answered {
                        // The second request: close without a byte of answer.
                        return;
                    }
                    answered = true;
                    seen.clear();
                    let body = format!("name={name} first-on-connection");
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                    if tcp.write_all(format!("{head}{body}").as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn a_pooled_connection_closed_under_a_request_keeps_the_rotation() {
    let (closing, accepted) = start_closing_server("closing").await;
    let steady = TestServer::start("steady").await;
    let mut closing_config = steady.config();
    closing_config.name = "closing".into();
    closing_config.address = closing;
    let (proxy, addr) =
        start_proxy(config(vec![closing_config, steady.config()], Balance::RoundRobin)).await;
    let mut client = Client::connect(addr).await;
    let mut names = Vec::new();
    for _ in 0..6 {
        let (status, body) = client.get("/").await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        names.push(served_by(&body).to_owned());
    }
    // Each request to `closing` after the first found a pooled connection
    // that broke under it and went again to `closing` on a new one, not to
    // `steady` (which would break the strict alternation).
    assert_eq!(names, ["closing", "steady", "closing", "steady", "closing", "steady"]);
    assert!(accepted.load(Relaxed) >= 3, "{} connections", accepted.load(Relaxed));
    let stats = proxy.stats();
    assert_eq!(stats.backends[0].responses.success, 6);
    assert_eq!(stats.backends[0].redispatches, 0);
    proxy.shutdown().await;
}
