//! An I/O wrapper that fails a connection after a period without progress
//! (haproxy's `timeout client` / `timeout server`). Every read or write that
//! moves bytes records the time; the timer is only moved, lazily, when it
//! fires early, so busy connections do not touch the timer wheel on every
//! operation. It is checked while an operation is pending. Reads may be exempted while the proxy itself is the one
//! keeping the peer waiting (a request in flight upstream): the client is
//! then allowed to be silent, but must still accept what is written to it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

pub(crate) struct IdleIo<T> {
    inner: T,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    /// When bytes last moved.
    last_activity: Instant,
    /// While above zero, pending reads do not time out.
    busy: Option<Arc<AtomicUsize>>,
}

impl<T> IdleIo<T> {
    pub fn new(inner: T, timeout: Duration, busy: Option<Arc<AtomicUsize>>) -> Self {
        let now = Instant::now();
        Self {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep_until(now + timeout)),
            last_activity: now,
            busy,
        }
    }

    fn touch(&mut self) {
        self.last_activity = Instant::now();
    }

    /// Pending unless the timer ran out, in which case the operation fails.
    fn expired<R>(&mut self, cx: &mut Context<'_>, exempt: bool) -> Poll<io::Result<R>> {
        loop {
            match self.sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if exempt => {
                    self.touch();
                    self.sleep.as_mut().reset(self.last_activity + self.timeout);
                }
                Poll::Ready(()) if self.last_activity + self.timeout > Instant::now() => {
                    // Bytes moved since the timer was set: it fired early.
                    self.sleep.as_mut().reset(self.last_activity + self.timeout);
                }
                Poll::Ready(()) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection inactive for too long",
                    )))
                }
            }
        }
    }

    fn reads_exempt(&self) -> bool {
        self.busy.as_ref().is_some_and(|b| b.load(Relaxed) > 0)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending => {
                let exempt = this.reads_exempt();
                this.expired(cx, exempt)
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending => this.expired(cx, false),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending => this.expired(cx, false),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => this.expired(cx, false),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Counts a request in flight on a client connection while alive.
pub(crate) struct Busy(Arc<AtomicUsize>);

impl Busy {
    pub fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Relaxed);
        Self(Arc::clone(counter))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // Real time with short timeouts: paused time needs tokio's `test-util`
    // feature, which this crate does not enable (yet).
    const T: Duration = Duration::from_millis(150);

    #[tokio::test]
    async fn silent_peer_times_out() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut io = IdleIo::new(a, T, None);
        let start = Instant::now();
        b.write_all(b"x").await.unwrap();
        let mut buf = [0; 8];
        assert_eq!(io.read(&mut buf).await.unwrap(), 1);
        let e = io.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        let waited = start.elapsed();
        assert!(waited >= T && waited < T * 4, "{waited:?}");
    }

    #[tokio::test]
    async fn steady_traffic_outlives_the_timeout() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut io = IdleIo::new(a, T, None);
        let writer = tokio::spawn(async move {
            for _ in 0..8 {
                tokio::time::sleep(T / 3).await;
                b.write_all(b"x").await.unwrap();
            }
            b
        });
        let mut buf = [0; 8];
        for _ in 0..8 {
            assert_eq!(io.read(&mut buf).await.unwrap(), 1, "activity restarts the timer");
        }
        let _b = writer.await.unwrap();
        // Then silence: the timer fires one timeout after the last byte.
        let start = Instant::now();
        let e = io.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(start.elapsed() < T * 3, "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn busy_exempts_reads_but_not_writes() {
        let (a, _b) = tokio::io::duplex(4);
        let busy = Arc::new(AtomicUsize::new(0));
        let mut io = IdleIo::new(a, T, Some(Arc::clone(&busy)));
        let guard = Busy::new(&busy);
        let mut buf = [0; 8];
        let read = tokio::time::timeout(T * 3, io.read(&mut buf)).await;
        assert!(read.is_err(), "a read while busy must wait, not fail");
        // The peer never reads: the 4-byte pipe fills and the write stalls.
        let e = io.write_all(b"0123456789").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        drop(guard);
        assert_eq!(busy.load(Relaxed), 0);
    }
}
