//! The run loop: answers the control socket, reloads on SIGHUP or a
//! `reload` request, forwards the eBPF programs' log records to tracing, and
//! returns on SIGINT or SIGTERM so the caller can shut down cleanly.

use std::os::fd::AsRawFd as _;

use tokio::{
    io::unix::AsyncFd,
    net::UnixStream,
    signal::unix::{signal, SignalKind},
    sync::{mpsc, oneshot},
};

use super::{Daemon, DaemonError};
use crate::control::{self, Request, Response};

/// Why [`Daemon::serve`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownReason {
    Interrupt,
    Terminate,
}

/// A client's request, handed from its connection task to the run loop.
type Pending = (Request, oneshot::Sender<Response>);

impl Daemon {
    /// Serves until SIGINT or SIGTERM.
    pub async fn serve(&mut self) -> Result<ShutdownReason, DaemonError> {
        let socket_path = self.config.socket_path();
        let listener = control::bind(&socket_path)
            .map_err(|cause| DaemonError::Socket { path: socket_path.clone(), cause })?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
        let mut hangup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
        self.spawn_ebpf_loggers();
        let (pending_tx, mut pending_rx) = mpsc::channel::<Pending>(16);
        tracing::info!(node = %self.config.node, socket = %socket_path.display(), "daemon ready");

        let reason = loop {
            tokio::select! {
                _ = interrupt.recv() => break ShutdownReason::Interrupt,
                _ = terminate.recv() => break ShutdownReason::Terminate,
                _ = hangup.recv() => {
                    let response = self.reload_response();
                    tracing::info!(?response, "reload on SIGHUP");
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(handle_client(stream, pending_tx.clone()));
                    }
                    Err(err) => tracing::warn!(%err, "control socket accept failed"),
                },
                Some((request, reply)) = pending_rx.recv() => {
                    let response = match request {
                        Request::Status => Response::Status(Box::new(self.status())),
                        Request::Reload => self.reload_response(),
                    };
                    let _ = reply.send(response);
                }
            }
        };
        tracing::info!(?reason, "shutting down");
        drop(listener);
        if let Err(err) = std::fs::remove_file(&socket_path) {
            tracing::warn!(%err, socket = %socket_path.display(), "cannot remove control socket");
        }
        Ok(reason)
    }

    fn reload_response(&mut self) -> Response {
        let result = self.reload();
        self.spawn_ebpf_loggers();
        match result {
            Ok((attached, detached)) => {
                tracing::info!(?attached, ?detached, "config reloaded");
                Response::Reloaded { attached, detached }
            }
            Err(err) => {
                tracing::error!(%err, "reload failed; still running on the previous config");
                Response::Error(err.to_string())
            }
        }
    }

    /// Forwards aya-log records of every instance's programs to tracing
    /// (via `log`); instances that already forward are skipped.
    fn spawn_ebpf_loggers(&mut self) {
        for (instance, datapath) in self.instances_mut() {
            let logger = match datapath.take_logger() {
                None => continue,
                Some(Ok(logger)) => logger,
                Some(Err(err)) => {
                    tracing::warn!(%instance, %err, "eBPF log records will not be shown");
                    continue;
                }
            };
            let fd = logger.as_raw_fd();
            // SAFETY: the logger owns the ring buffer's descriptor and the
            // AsyncFd owns the logger, so the descriptor outlives the
            // registration.
            let registered =
                unsafe { AsyncFd::register_with_interest(logger, tokio::io::Interest::READABLE) };
            let mut logger = match registered {
                Ok(logger) => logger,
                Err(err) => {
                    tracing::warn!(%instance, %err, fd, "eBPF log ring buffer cannot be polled");
                    continue;
                }
            };
            tokio::spawn(async move {
                loop {
                    let Ok(mut guard) = logger.readable_mut().await else { break };
                    guard.get_inner_mut().flush();
                    guard.clear_ready();
                }
            });
        }
    }
}

/// Reads one request, passes it to the run loop, writes the answer.
async fn handle_client(mut stream: UnixStream, pending: mpsc::Sender<Pending>) {
    let response = match control::read_request(&mut stream).await {
        Ok(request) => {
            let (reply_tx, reply_rx) = oneshot::channel();
            if pending.send((request, reply_tx)).await.is_err() {
                return;
            }
            match reply_rx.await {
                Ok(response) => response,
                Err(_) => return,
            }
        }
        Err(reason) => Response::Error(reason),
    };
    if let Err(err) = control::write_response(&mut stream, &response).await {
        tracing::debug!(%err, "control client went away");
    }
}
