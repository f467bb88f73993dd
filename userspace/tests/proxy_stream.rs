//! 64 MiB through the proxy both ways with bounded memory. Alone in its
//! own test binary so the process's peak memory is this test's.

#[path = "proxy_support.rs"]
mod support;

use bytes::Bytes;
use halb::proxy::Balance;
use http_body_util::BodyExt;
use hyper::{Request, StatusCode};
use support::{config, generated, start_proxy, Client, TestServer};

const SIZE: usize = 64 * 1024 * 1024;
/// Far below the 64 MiB a buffered body would add (twice, both ways).
const MEMORY_BUDGET: u64 = 24 * 1024 * 1024;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// Reads a body frame by frame; returns its length and a position-aware sum.
async fn drain(mut body: hyper::body::Incoming) -> (usize, u64) {
    let (mut len, mut sum) = (0_usize, 0_u64);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            for (i, b) in data.iter().enumerate() {
                sum = sum.wrapping_add(u64::from(*b) * ((len + i) as u64 % 7 + 1));
            }
            len += data.len();
        }
    }
    (len, sum)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_stream_both_ways_with_bounded_memory() {
    let server = TestServer::start("s").await;
    let (proxy, addr) = start_proxy(config(vec![server.config()], Balance::RoundRobin)).await;
    let mut client = Client::connect(addr).await;
    // Warm up allocators and connections before measuring.
    assert_eq!(client.get("/").await.unwrap().0, StatusCode::OK);
    let before = status_kib("VmRSS:");

    // Download: the server generates, the client counts.
    let response = client
        .send(
            Request::get(format!("/big/{SIZE}"))
                .header("host", "h")
                .body(support::full(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (len, down_sum) = drain(response.into_body()).await;
    assert_eq!(len, SIZE);

    // Upload, echoed back while it is still being sent (chunked both ways).
    let response = client
        .send(Request::post("/echo").header("host", "h").body(generated(SIZE)).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (len, up_sum) = drain(response.into_body()).await;
    assert_eq!(len, SIZE);
    assert_eq!(up_sum, down_sum, "same bytes in the same order");

    let peak = status_kib("VmHWM:");
    let grown = peak.saturating_sub(before);
    assert!(grown < MEMORY_BUDGET, "memory grew by {} MiB", grown / (1024 * 1024));
    proxy.shutdown().await;
}
