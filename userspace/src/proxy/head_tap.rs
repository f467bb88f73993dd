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

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::frontend::MAX_HEADER_BYTES;

/// Raw head bytes kept per connection.
const TAP_BYTES: usize = MAX_HEADER_BYTES + 4096;

#[derive(Default)]
pub(crate) struct Tap(Mutex<Vec<u8>>);

impl Tap {
    fn record(&self, bytes: &[u8]) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.extend_from_slice(bytes);
        if kept.len() > TAP_BYTES {
            let excess = kept.len() - TAP_BYTES;
            kept.drain(..excess);
        }
    }

    /// Whether the latest raw head starting with `request_line` (e.g.
    /// `POST /x `) carries a `Content-Length` field.
    pub fn head_has_content_length(&self, request_line: &str) -> bool {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        raw_head_has_field(&kept, request_line.as_bytes(), b"content-length")
    }
}

/// Finds the last head in `raw` that starts with `request_line` and tells
/// whether it has a field named `name` (case-insensitive).
fn raw_head_has_field(raw: &[u8], request_line: &[u8], name: &[u8]) -> bool {
    let Some(start) = raw.windows(request_line.len()).rposition(|w| w == request_line) else {
        return false;
    };
    let head = &raw[start..];
    let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(head.len());
    head[..end].split(|&b| b == b'\n').skip(1).any(|line| {
        let field = line.split(|&b| b == b':').next().unwrap_or_default();
        field.trim_ascii().eq_ignore_ascii_case(name)
    })
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
    fn finds_the_field_in_the_latest_matching_head() {
        let raw = b"GET / HTTP/1.1\r\nHost: h\r\n\r\nPOST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\ncontent-LENGTH : 4\r\n\r\n0\r\n\r\n";
        assert!(raw_head_has_field(raw, b"POST /x HTTP/1.1", b"content-length"));
        assert!(!raw_head_has_field(raw, b"GET / HTTP/1.1", b"content-length"));
        assert!(!raw_head_has_field(raw, b"PUT /x HTTP/1.1", b"content-length"));
        // A field name inside a value does not count.
        let raw = b"POST /x HTTP/1.1\r\nX-Note: content-length: 4\r\n\r\n";
        assert!(!raw_head_has_field(raw, b"POST /x HTTP/1.1", b"content-length"));
    }

    #[test]
    fn keeps_a_bounded_tail() {
        let tap = Tap::default();
        tap.record(&vec![b'a'; TAP_BYTES * 2]);
        tap.record(b"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n");
        assert_eq!(tap.0.lock().unwrap().len(), TAP_BYTES);
        assert!(tap.head_has_content_length("POST / HTTP/1.1"));
    }
}
