//! The daemon's status listener (`daemon.status_bind`): `GET /` is the status page,
//! `/status.json` the snapshot of all four levels, `/metrics` their Prometheus metrics.
//! Read-only. Each answer asks the run loop for the reports over the channel the control
//! socket's clients use, so it sees exactly what `halb status --json` and the other
//! commands print.

use std::net::SocketAddr;

use hyper::StatusCode;
use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot, watch},
};

use super::read_only_http::{self, text, Answer};
use super::{pending::Pending, DaemonError};
use crate::control::{Request, Response};
use crate::netns::{with_netns, Netns};
use crate::observe::{self, Snapshot};

/// Binds `address` in the host role's network namespace (`netns`, else the daemon's own):
/// the page belongs with the host it describes, so several daemons of a lab, each
/// with its host in a namespace, never share an address.
pub(super) fn bind(address: SocketAddr, netns: Option<&str>) -> Result<TcpListener, DaemonError> {
    let netns = netns.map(Netns::open).transpose()?;
    let bound = with_netns(netns.as_ref(), || std::net::TcpListener::bind(address))?;
    let listener = bound
        .and_then(|listener| {
            listener.set_nonblocking(true)?;
            TcpListener::from_std(listener)
        })
        .map_err(|cause| DaemonError::StatusBind { address, cause })?;
    Ok(listener)
}

/// The listener a daemon handing over passed on (bound to `address`).
pub(super) fn adopt(
    inherited: std::net::TcpListener,
    address: SocketAddr,
) -> Result<TcpListener, DaemonError> {
    inherited
        .set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(inherited))
        .map_err(|cause| DaemonError::StatusBind { address, cause })
}

/// A new descriptor of the same listening socket, for a handover.
pub(super) fn duplicate(listener: &TcpListener) -> Option<std::net::TcpListener> {
    use std::os::fd::AsFd as _;
    listener.as_fd().try_clone_to_owned().ok().map(std::net::TcpListener::from)
}

/// Serves until `stop` changes.
pub(super) async fn serve(
    listener: TcpListener,
    pending: mpsc::Sender<Pending>,
    stop: watch::Receiver<bool>,
) {
    let answer = move |path: String| {
        let pending = pending.clone();
        async move { answer(&pending, &path).await }
    };
    read_only_http::serve(listener, answer, stop).await;
}

async fn answer(pending: &mpsc::Sender<Pending>, path: &str) -> Answer {
    match path {
        "/" | "/index.html" => {
            text(StatusCode::OK, "text/html; charset=utf-8", observe::page::INDEX_HTML.to_owned())
        }
        "/status.json" | "/metrics" => {
            let Some(snapshot) = snapshot(pending).await else {
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    "the daemon is shutting down\n".to_owned(),
                );
            };
            if path == "/metrics" {
                return text(
                    StatusCode::OK,
                    "text/plain; version=0.0.4",
                    observe::metrics::render(&snapshot),
                );
            }
            match serde_json::to_string(&snapshot) {
                Ok(json) => text(StatusCode::OK, "application/json", json),
                Err(err) => {
                    text(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", format!("{err}\n"))
                }
            }
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "try / (the status page), /status.json or /metrics\n".to_owned(),
        ),
    }
}

/// Every report, asked of the run loop one after the other; `None` once it has stopped.
async fn snapshot(pending: &mpsc::Sender<Pending>) -> Option<Snapshot> {
    let mut snapshot = Snapshot::default();
    for request in [Request::Status, Request::Stp, Request::Vrrp, Request::Vxlan, Request::Proxy] {
        let (reply, response) = oneshot::channel();
        pending.send((request, reply)).await.ok()?;
        match response.await.ok()? {
            Response::Status(status) => snapshot.status = *status,
            Response::Stp(bridges) => snapshot.stp = bridges,
            Response::Vrrp(instances) => snapshot.vrrp = instances,
            Response::Vxlan(tunnel) => snapshot.vxlan = tunnel.map(|t| *t),
            Response::Proxy(proxies) => snapshot.proxy = proxies,
            Response::Reloaded { .. } | Response::Upgraded { .. } | Response::Error(_) => {}
        }
    }
    Some(snapshot)
}
