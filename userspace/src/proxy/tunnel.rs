//! A switched protocol (HTTP/1.1 `Upgrade`, e.g. WebSocket): once the
//! server has answered 101 and the client has received that answer, bytes
//! are copied both ways until either side closes. Both connections keep
//! their inactivity timeouts (`timeout client` / `timeout server`), so a
//! silent tunnel ends by itself. The server slot stays taken, and counted
//! as active, for as long as the tunnel lives.

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tracing::debug;

use super::server::Sender;
use super::server::Slot;

/// Starts the tunnel in a task of its own. `sender` keeps the server
/// connection's request side open until the switch is complete.
pub(crate) fn spawn(client: OnUpgrade, server: OnUpgrade, slot: Slot, sender: Sender) {
    tokio::spawn(async move {
        let upgraded = tokio::try_join!(client, server);
        drop(sender);
        let (client_io, server_io) = match upgraded {
            Ok(both) => both,
            Err(error) => {
                debug!(server = %slot.server.name(), %error, "protocol switch did not complete");
                return;
            }
        };
        let mut client_io = TokioIo::new(client_io);
        let mut server_io = TokioIo::new(server_io);
        match tokio::io::copy_bidirectional(&mut client_io, &mut server_io).await {
            Ok((up, down)) => {
                debug!(server = %slot.server.name(), up, down, "tunnel closed");
            }
            Err(error) => {
                debug!(server = %slot.server.name(), %error, "tunnel ended");
            }
        }
        drop(slot);
    });
}
