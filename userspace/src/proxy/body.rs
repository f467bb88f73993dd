//! Body types of the proxy. Bodies are streamed frame by frame; nothing
//! here buffers more than the frame in hand.
//!
//! - [`ProxyBody`]: what crosses the proxy either way, boxed.
//! - [`ClientBody`]: a client's request body that remembers whether the
//!   client broke it (bad chunk, reset), so a failed exchange can be told
//!   apart: client fault (400) or server fault (502).
//! - [`Guarded`]: a body that holds something (a server slot, a pooled
//!   connection, a busy mark) until the last frame is sent or it is dropped.
//! - [`local`]: the proxy's own short responses (400, 502, 503, 504).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

pub type ProxyBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// A client's request body; sets `failed` when the client breaks it.
pub(crate) struct ClientBody {
    inner: Incoming,
    failed: Arc<AtomicBool>,
}

impl ClientBody {
    pub fn new(inner: Incoming, failed: Arc<AtomicBool>) -> Self {
        Self { inner, failed }
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            self.failed.store(true, Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Something released when a body has been sent whole (or abandoned).
pub(crate) trait OnEnd: Send + 'static {
    /// `complete`: every frame went through.
    fn end(self: Box<Self>, complete: bool);
}

/// A body that runs [`OnEnd`] once, when its last frame has been taken or
/// when it is dropped.
pub(crate) struct Guarded<B> {
    inner: B,
    on_end: Option<Box<dyn OnEnd>>,
    ended: bool,
}

impl<B: Body + Unpin> Guarded<B> {
    pub fn new(inner: B, on_end: Box<dyn OnEnd>) -> Self {
        let ended = inner.is_end_stream();
        let mut this = Self { inner, on_end: Some(on_end), ended };
        if ended {
            this.finish();
        }
        this
    }

    fn finish(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end.end(self.ended);
        }
    }
}

impl<B> Body for Guarded<B>
where
    B: Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => {
                self.ended = true;
                self.finish();
            }
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => {
                self.ended = true;
                self.finish();
            }
            Poll::Ready(Some(Err(_))) => self.finish(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for Guarded<B> {
    fn drop(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end.end(self.ended);
        }
    }
}

/// Any [`OnEnd`] that is just "drop this value".
pub(crate) struct Hold<T>(pub T);

impl<T: Send + 'static> OnEnd for Hold<T> {
    fn end(self: Box<Self>, _complete: bool) {}
}

/// The proxy's own response: status, a one-line text body, and optionally
/// `Connection: close`.
#[must_use]
pub fn local(status: StatusCode, message: &str, close: bool) -> Response<ProxyBody> {
    let text = format!("{} {}\n", status.as_u16(), message);
    let mut response =
        Response::new(Full::new(Bytes::from(text)).map_err(|e| match e {}).boxed_unsync());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if close {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
