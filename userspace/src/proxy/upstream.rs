//! Connections to servers: a fresh TCP connect from the balancer's own
//! address (whatever the namespace's routing picks), or an idle keep-alive
//! connection from the server's pool. A connection goes back to the pool
//! only once its response body has been read to the end.

use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::debug;

use super::body::OnEnd;
use super::idle_io::IdleIo;
use super::server::{Sender, ServerRuntime, Slot};

/// A pooled connection if one is open and ready, else a new one.
/// Returns whether the connection came from the pool.
pub(crate) async fn connection(
    server: &ServerRuntime,
    connect_timeout: Duration,
    server_timeout: Duration,
) -> io::Result<(Sender, bool)> {
    while let Some(mut sender) = server.take_idle() {
        // A pooled connection is idle, so ready at once unless it closed
        // meanwhile; the bound only guards against surprises.
        if let Ok(Ok(())) = tokio::time::timeout(connect_timeout, sender.ready()).await {
            return Ok((sender, true));
        }
    }
    connect(server, connect_timeout, server_timeout).await.map(|s| (s, false))
}

async fn connect(
    server: &ServerRuntime,
    connect_timeout: Duration,
    server_timeout: Duration,
) -> io::Result<Sender> {
    let address = server.config.address;
    let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(address))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    server.counters.connects.fetch_add(1, Relaxed);
    let io = TokioIo::new(IdleIo::new(stream, server_timeout, None));
    let (sender, connection) =
        http1::Builder::new().handshake(io).await.map_err(|e| io::Error::other(e.to_string()))?;
    let name = server.name().to_owned();
    tokio::spawn(async move {
        // with_upgrades: a 101 hands the connection over to a tunnel.
        if let Err(error) = connection.with_upgrades().await {
            debug!(server = %name, %error, "server connection ended");
        }
    });
    Ok(sender)
}

/// Held by a response body: the server slot, and the connection to give
/// back to the pool if the body was read whole.
pub(crate) struct Lease {
    pub slot: Slot,
    pub sender: Sender,
}

impl OnEnd for Lease {
    fn end(self: Box<Self>, complete: bool) {
        let Lease { slot, sender } = *self;
        // An unfinished exchange leaves the connection in an unknown state:
        // dropping the sender closes it.
        if complete {
            slot.server.put_idle(sender);
        }
        drop(slot);
    }
}
