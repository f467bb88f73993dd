//! Heap allocations per keep-alive request on the proxy path, counted by a
//! counting global allocator in this test binary of its own: one fixed GET
//! over one keep-alive client connection through the proxy to a raw local
//! backend (one pooled connection), on a single-threaded runtime, so the
//! count is the same from run to run. The client and the backend read and
//! write fixed buffers and allocate nothing per request, so what is counted
//! is the proxy's own work (hyper's parsing and writing, the header policy,
//! the forwarder).
//!
//! The test fails when the count per request rises above
//! [`MEASURED_PER_REQUEST`]; lower it when a change saves allocations.

#[path = "proxy_support.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use halb::proxy::{Balance, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on unchanged to the system allocator; the
// counter is only an atomic add.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is System's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (and reallocations) per request: 6600 over 200 requests,
/// 33 each, measured with `cargo test -p halb --test proxy_allocations --
/// --nocapture` (test profile) five times in a row, the same every time.
const MEASURED_PER_REQUEST: u64 = 33;

const WARM_UP: u32 = 50;
const COUNTED: u64 = 200;
const REQUEST: &[u8] =
    b"GET /fixed HTTP/1.1\r\nHost: origin.example\r\nUser-Agent: alloc-test\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4)
}

/// Answers every request of every connection with [`RESPONSE`].
async fn backend(listener: TcpListener) {
    loop {
        let Ok((mut tcp, _)) = listener.accept().await else { return };
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let mut filled = 0;
            loop {
                match tcp.read(&mut buf[filled..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => filled += n,
                }
                while let Some(end) = head_end(&buf[..filled]) {
                    if tcp.write_all(RESPONSE).await.is_err() {
                        return;
                    }
                    buf.copy_within(end..filled, 0);
                    filled -= end;
                }
            }
        });
    }
}

/// One request and its whole response (the body is the 2 bytes `ok`).
async fn exchange(client: &mut TcpStream, buf: &mut [u8; 8192]) {
    client.write_all(REQUEST).await.expect("request written");
    let mut filled = 0;
    loop {
        let n = client.read(&mut buf[filled..]).await.expect("response read");
        assert!(n > 0, "proxy closed the connection");
        filled += n;
        if let Some(end) = head_end(&buf[..filled]) {
            assert!(
                buf.starts_with(b"HTTP/1.1 200"),
                "{:?}",
                String::from_utf8_lossy(&buf[..filled])
            );
            if filled >= end + 2 {
                assert_eq!(&buf[end..end + 2], b"ok");
                return;
            }
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn keep_alive_request_allocations_do_not_grow() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("backend bound");
    let mut server = ServerConfig::new("origin", listener.local_addr().expect("address"));
    server.check = None;
    tokio::spawn(backend(listener));
    let (proxy, addr) =
        support::start_proxy(support::config(vec![server], Balance::RoundRobin)).await;
    let mut client = TcpStream::connect(addr).await.expect("connected");
    client.set_nodelay(true).expect("nodelay");
    let mut buf = Box::new([0u8; 8192]);
    for _ in 0..WARM_UP {
        exchange(&mut client, &mut buf).await;
    }
    let before = ALLOCATIONS.load(Relaxed);
    for _ in 0..COUNTED {
        exchange(&mut client, &mut buf).await;
    }
    let total = ALLOCATIONS.load(Relaxed) - before;
    let per_request = total.div_ceil(COUNTED);
    println!("allocations: {total} over {COUNTED} requests, {per_request} per request");
    drop(client);
    proxy.shutdown().await;
    assert!(
        total <= MEASURED_PER_REQUEST * COUNTED,
        "{per_request} allocations per keep-alive request, more than the {MEASURED_PER_REQUEST} measured"
    );
}
