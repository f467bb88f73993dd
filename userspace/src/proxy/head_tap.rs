//! A read-side tap that keeps the last bytes of request heads a client
//! sent, so a request can be checked for what hyper hides.
//!
//! hyper accepts a request with both `Transfer-Encoding` and
//! `Content-Length`: it drops `Content-Length` from the parsed headers,
//! reads the body as chunked and closes the connection after the response
//! (RFC 9112 6.3 allows that). It is safe, but we promise 400 for this
//! classic desync attempt, and only the raw head shows it. Bytes are
//! recorded only while no request is in flight on the connection, which is
//! when heads are read, so bodies are not copied.
//!
//! The tap stays small: once a request's head has been looked at, the kept
//! bytes are dropped when they hold exactly that one complete head (the
//! usual case without pipelining), and otherwise the tail is trimmed only
//! when it reaches twice its bound, so a long keep-alive connection costs
//! neither memory nor a copy of the whole tail per read.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::head_limits::MAX_HEADER_BYTES;

/// Raw head bytes kept per connection.
const TAP_BYTES: usize = MAX_HEADER_BYTES + 4096;

#[derive(Default)]
pub struct Tap(Mutex<Vec<u8>>);

/// Capacity a tap keeps after it is emptied; a larger buffer is released.
const TAP_KEPT_CAPACITY: usize = 1024;

impl Tap {
    /// Keeps `bytes`, read from the client while no request is in flight.
    pub fn record(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.extend_from_slice(bytes);
        // Amortised: one copy of TAP_BYTES per TAP_BYTES bytes recorded.
        if kept.len() >= 2 * TAP_BYTES {
            let excess = kept.len() - TAP_BYTES;
            kept.drain(..excess);
        }
    }

    /// Called when a request's head has been parsed and checked: forgets
    /// the kept bytes when they are exactly one complete head, so the next
    /// head starts an empty tap. Anything else (a pipelined next head, body
    /// bytes read with the head) is kept for the next look.
    pub fn head_done(&self) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if is_one_complete_head(&kept) {
            kept.clear();
            if kept.capacity() > TAP_KEPT_CAPACITY {
                kept.shrink_to(TAP_KEPT_CAPACITY);
            }
        }
    }

    /// Whether a kept raw head starting with `request_line` (e.g.
    /// `POST /x `) carries a `Content-Length` field.
    pub fn head_has_content_length(&self, request_line: &str) -> bool {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        raw_head_has_field(&kept, request_line.as_bytes(), b"content-length")
    }
}

/// Tells whether any head in `raw` that starts with `request_line` has a
/// field named `name` (case-insensitive). Any, not only the latest: a copy
/// of the request line inside a field value must not hide the fields before
/// it, and when in doubt the request is refused.
#[must_use]
pub fn raw_head_has_field(raw: &[u8], request_line: &[u8], name: &[u8]) -> bool {
    if request_line.is_empty() || raw.len() < request_line.len() {
        return false;
    }
    raw.windows(request_line.len())
        .enumerate()
        .filter(|(_, w)| *w == request_line)
        .any(|(start, _)| head_has_field(&raw[start..], name))
}

/// Whether the head at the start of `head` (through its blank line, or to
/// the end) has a field named `name`.
fn head_has_field(head: &[u8], name: &[u8]) -> bool {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(head.len());
    head[..end].split(|&b| b == b'\n').skip(1).any(|line| {
        let field = line.split(|&b| b == b':').next().unwrap_or_default();
        field.trim_ascii().eq_ignore_ascii_case(name)
    })
}

/// Whether `raw` ends with the end of a head and holds no other end of head.
fn is_one_complete_head(raw: &[u8]) -> bool {
    raw.ends_with(b"\r\n\r\n") && raw.windows(4).filter(|w| *w == b"\r\n\r\n").count() == 1
}

pub(crate) struct HeadTap<T> {
    inner: T,
    tap: Arc<Tap>,
    busy: Arc<AtomicUsize>,
}

impl<T> HeadTap<T> {
    pub fn new(inner: T, tap: Arc<Tap>, busy: Arc<AtomicUsize>) -> Self {
        Self { inner, tap, busy }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadTap<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if this.busy.load(Relaxed) == 0 {
            this.tap.record(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadTap<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_in_a_matching_head() {
        let raw = b"GET / HTTP/1.1\r\nHost: h\r\n\r\nPOST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\ncontent-LENGTH : 4\r\n\r\n0\r\n\r\n";
        assert!(raw_head_has_field(raw, b"POST /x HTTP/1.1", b"content-length"));
        assert!(!raw_head_has_field(raw, b"GET / HTTP/1.1", b"content-length"));
        assert!(!raw_head_has_field(raw, b"PUT /x HTTP/1.1", b"content-length"));
        // A field name inside a value does not count.
        let raw = b"POST /x HTTP/1.1\r\nX-Note: content-length: 4\r\n\r\n";
        assert!(!raw_head_has_field(raw, b"POST /x HTTP/1.1", b"content-length"));
        // A copy of the request line inside a value cannot hide the fields
        // before it.
        let raw = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\nX: POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(raw_head_has_field(raw, b"POST /x ", b"content-length"));
    }

    #[test]
    fn keeps_a_bounded_tail() {
        let tap = Tap::default();
        tap.record(&vec![b'a'; TAP_BYTES * 2]);
        tap.record(b"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n");
        let kept = tap.0.lock().unwrap().len();
        assert!((TAP_BYTES..2 * TAP_BYTES).contains(&kept), "{kept}");
        assert!(tap.head_has_content_length("POST / HTTP/1.1"));
        for _ in 0..100 {
            tap.record(&[b'b'; 4096]);
            let kept = tap.0.lock().unwrap().len();
            assert!(kept < 2 * TAP_BYTES, "{kept}");
        }
    }

    #[test]
    fn a_checked_head_alone_is_forgotten_and_anything_more_is_kept() {
        let tap = Tap::default();
        for i in 0..1000 {
            tap.record(format!("GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
            tap.head_done();
        }
        assert!(tap.0.lock().unwrap().is_empty());
        assert!(tap.0.lock().unwrap().capacity() <= TAP_KEPT_CAPACITY);
        // Two pipelined heads: the second one must survive the first's check.
        tap.record(b"GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
        tap.head_done();
        assert!(tap.head_has_content_length("POST /b "));
        // Body bytes read with a head: kept, and the next head is still found.
        let tap = Tap::default();
        tap.record(b"POST /c HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
        tap.head_done();
        tap.record(b"POST /d HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n");
        assert!(tap.head_has_content_length("POST /d "));
        tap.head_done();
        assert!(!tap.0.lock().unwrap().is_empty(), "two heads kept: not one complete head");
    }
}
