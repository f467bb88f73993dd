//! Health check tasks: one per checked server, a thin loop around the pure
//! [`HealthMachine`]: probe, feed the result, apply the transition (server
//! flag, log, pool health), sleep the interval the machine asks for.
//!
//! A TCP check is a connect; an HTTP check sends one request with
//! `Connection: close` and reads only the status line.
//!
//! The checker knows the backend only as a [`PoolHealthSink`] (the backend
//! implements it), so this module does not depend on `backend`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use super::config::CheckKind;
use super::health::Transition;
use super::server::ServerRuntime;

/// Bytes read at most looking for the status line.
const STATUS_LINE_MAX: usize = 512;

/// Why a check failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    #[error("timed out")]
    Timeout,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("no HTTP status line in the answer")]
    NoStatus,
    #[error("status {0}, expected {1}")]
    Status(u16, u16),
}

/// Where a checker reports a server's health change: its backend, which
/// recomputes the pool's health.
pub(crate) trait PoolHealthSink: Send + Sync {
    fn publish_health(&self);
}

/// How one backend checks its servers.
pub(crate) struct CheckSettings {
    pub kind: CheckKind,
    pub timeout: Duration,
    pub backend_name: String,
}

/// The checker loop of one server; ends when the backend is gone (and is
/// aborted when the server is removed).
pub(crate) async fn run(
    backend: Weak<dyn PoolHealthSink>,
    settings: CheckSettings,
    server: Arc<ServerRuntime>,
) {
    if backend.strong_count() == 0 {
        return;
    }
    let CheckSettings { kind, timeout, backend_name } = settings;
    loop {
        let result = probe(server.config.address, &kind, timeout).await;
        if let Err(error) = &result {
            server.counters.checks_failed.fetch_add(1, Relaxed);
            debug!(backend = %backend_name, server = %server.name(), %error, "check failed");
        }
        let (transition, interval) = {
            let mut health = server.health.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(machine) = health.as_mut() else { return };
            (machine.record(result.is_ok()), machine.interval())
        };
        if let Some(transition) = transition {
            apply(&server, &backend_name, transition, result.err());
            match backend.upgrade() {
                Some(b) => b.publish_health(),
                None => return,
            }
        }
        tokio::time::sleep(interval).await;
    }
}

fn apply(server: &ServerRuntime, backend: &str, t: Transition, error: Option<CheckError>) {
    let up = t == Transition::WentUp;
    server.set_up(up);
    let address = server.config.address;
    if up {
        info!(backend, server = %server.name(), %address, "server is UP");
    } else {
        let reason = error.map(|e| e.to_string()).unwrap_or_default();
        warn!(backend, server = %server.name(), %address, %reason, "server is DOWN");
        // Idle connections to a dead server would only fail.
        server.drop_idle();
    }
}

/// One check against `address`, bounded by `timeout` as a whole.
pub(crate) async fn probe(
    address: SocketAddr,
    kind: &CheckKind,
    timeout: Duration,
) -> Result<(), CheckError> {
    tokio::time::timeout(timeout, probe_unbounded(address, kind))
        .await
        .map_err(|_| CheckError::Timeout)?
}

async fn probe_unbounded(address: SocketAddr, kind: &CheckKind) -> Result<(), CheckError> {
    let mut stream = TcpStream::connect(address).await?;
    let CheckKind::Http { method, path, expect_status } = kind else {
        return Ok(());
    };
    let request = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: halb-check\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(128);
    let mut chunk = [0_u8; 128];
    loop {
        if let Some(status) = status_line(&buf) {
            return if status == *expect_status {
                Ok(())
            } else {
                Err(CheckError::Status(status, *expect_status))
            };
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() >= STATUS_LINE_MAX {
            return Err(CheckError::NoStatus);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The status code of a complete `HTTP/1.x NNN ...` line at the start of
/// `buf`; `None` until the line is complete or when it is malformed.
pub(crate) fn status_line(buf: &[u8]) -> Option<u16> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[..end]).ok()?;
    let mut words = line.splitn(3, ' ');
    let version = words.next()?;
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return None;
    }
    let code = words.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok().filter(|c| (100..=599).contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        assert_eq!(status_line(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(status_line(b"HTTP/1.0 503 Service Unavailable\r\nX: y\r\n"), Some(503));
        assert_eq!(status_line(b"HTTP/1.1 204\r\n"), Some(204));
        assert_eq!(status_line(b"HTTP/1.1 200 OK"), None, "incomplete");
        assert_eq!(status_line(b"HTTP/2 200\r\n"), None);
        assert_eq!(status_line(b"HTTP/1.1 20 OK\r\n"), None);
        assert_eq!(status_line(b"HTTP/1.1 999 OK\r\n"), None);
        assert_eq!(status_line(b"SSH-2.0-OpenSSH\r\n"), None);
    }

    #[tokio::test]
    async fn tcp_and_http_probes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0; 512];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let status =
                    if buf[..n].starts_with(b"GET /ok ") { "200 OK" } else { "404 Not Found" };
                let _ = s
                    .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        let t = Duration::from_secs(5);
        probe(address, &CheckKind::Tcp, t).await.unwrap();
        let http = |path: &str| CheckKind::Http {
            method: hyper::Method::GET,
            path: path.into(),
            expect_status: 200,
        };
        probe(address, &http("/ok"), t).await.unwrap();
        let e = probe(address, &http("/missing"), t).await.unwrap_err();
        assert!(matches!(e, CheckError::Status(404, 200)), "{e}");
        // A closed port fails.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        assert!(probe(closed, &CheckKind::Tcp, t).await.is_err());
    }
}
