//! The run loop: answers the control socket, reloads on SIGHUP or a
//! `reload` request, forwards the eBPF programs' log records to tracing, and
//! returns on SIGINT or SIGTERM so the caller can shut down cleanly.

use std::os::fd::AsRawFd as _;

use tokio::{
    io::unix::AsyncFd,
    net::UnixStream,
    signal::unix::{signal, SignalKind},
    sync::{mpsc, oneshot, watch},
};

use halb_common::names::PROG_VRRP_ADVERT;

use super::{pending::Pending, status_listener, vrrp_driver::VrrpDriver, Daemon, DaemonError};
use crate::control::{self, Request, Response};
use crate::datapath::steering::SteeringMaps;

/// Why [`Daemon::serve`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownReason {
    Interrupt,
    Terminate,
    /// `halb upgrade`: a new process took over; this one drained.
    HandedOver,
}

/// How long a stopping VRRP instance may take to resign.
const VRRP_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Why an instance cannot track what it is configured to.
#[derive(Debug, thiserror::Error)]
enum TrackerError {
    #[error("tracks backend {backend} but balancer {balancer}'s proxy is not running")]
    NoProxy { balancer: String, backend: String },
    #[error("proxy of {balancer} has no backend {backend}")]
    NoBackend { balancer: String, backend: String },
}

impl Daemon {
    /// Serves until SIGINT or SIGTERM.
    pub async fn serve(&mut self) -> Result<ShutdownReason, DaemonError> {
        let socket_path = self.config.socket_path();
        // Taking over: the old daemon keeps its socket until this one is
        // done; this one binds beside it and renames over it at the end.
        let bind_path = if self.takeover.taking_over {
            super::takeover::staging_socket(&socket_path)
        } else {
            socket_path.clone()
        };
        let listener = control::bind(&bind_path)
            .map_err(|cause| DaemonError::Socket { path: bind_path.clone(), cause })?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
        let mut hangup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
        self.spawn_ebpf_loggers();
        self.sync_proxies().await;
        if self.takeover.taking_over {
            if let Err(err) = self.ready_for_resume().await {
                let _ = std::fs::remove_file(&bind_path);
                return Err(err);
            }
        }
        self.sync_vrrp().await;
        self.sync_stp().await;
        self.sync_vxlan().await;
        let (pending_tx, mut pending_rx) = mpsc::channel::<Pending>(16);
        // Set while an upgrade runs, so a second one is refused at once.
        let upgrading = std::sync::Arc::new(UpgradeGate::default());
        let (status_stop, status_stopped) = watch::channel(false);
        if let Some(address) = self.config.status_bind {
            let netns = self.config.host.as_ref().and_then(|host| host.netns.as_deref());
            let listener = match self.takeover.status_listener.take() {
                Some(inherited) => status_listener::adopt(inherited, address)?,
                None => status_listener::bind(address, netns)?,
            };
            self.status_listener = status_listener::duplicate(&listener);
            tokio::spawn(status_listener::serve(listener, pending_tx.clone(), status_stopped));
            tracing::info!(%address, netns, "status page and /metrics listening");
        }
        if self.takeover.taking_over {
            self.finish_takeover(&bind_path, &socket_path);
        }
        tracing::info!(node = %self.config.node, socket = %socket_path.display(), "daemon ready");
        // Accepting on a task of its own keeps the socket answering while
        // the run loop is busy (an upgrade waits for the new process).
        let accepting = tokio::spawn(accept_clients(
            listener,
            pending_tx.clone(),
            std::sync::Arc::clone(&upgrading),
        ));

        let reason = loop {
            tokio::select! {
                _ = interrupt.recv() => break ShutdownReason::Interrupt,
                _ = terminate.recv() => break ShutdownReason::Terminate,
                _ = hangup.recv() => {
                    let response = self.reload_response().await;
                    tracing::info!(?response, "reload on SIGHUP");
                }
                Some((request, reply)) = pending_rx.recv() => {
                    if let Request::Upgrade { binary } = request {
                        match self.upgrade(binary).await {
                            Ok(upgraded) => {
                                let _ = reply.send(Response::Upgraded {
                                    pid: upgraded.pid,
                                    drain_timeout_ms: u64::try_from(self.config.drain_timeout.as_millis()).unwrap_or(u64::MAX),
                                });
                                break ShutdownReason::HandedOver;
                            }
                            Err(err) => {
                                tracing::error!(%err, "upgrade");
                                let _ = reply.send(Response::Error(err.to_string()));
                                continue;
                            }
                        }
                    }
                    let response = self.answer(request).await;
                    let _ = reply.send(response);
                }
            }
        };
        tracing::info!(?reason, "shutting down");
        let _ = status_stop.send(true);
        accepting.abort();
        if reason == ShutdownReason::HandedOver {
            self.after_handover(&mut pending_rx, &upgrading).await;
            return Ok(reason);
        }
        // VRRP first: a master resigns (priority 0) while its datapath and
        // addresses are still in place.
        for (_, driver) in std::mem::take(&mut self.vrrp) {
            driver.stop(VRRP_STOP_TIMEOUT).await;
        }
        for (_, host) in std::mem::take(&mut self.proxies) {
            host.stop().await;
        }
        self.stop_vxlan().await;
        self.stop_stp().await;
        let _ = accepting.await;
        if let Err(err) = std::fs::remove_file(&socket_path) {
            tracing::warn!(%err, socket = %socket_path.display(), "cannot remove control socket");
        }
        Ok(reason)
    }

    /// The old daemon once the new one took over: tells the clients still
    /// queued to ask again, lets the upgrade's answer be written, drains.
    async fn after_handover(
        &mut self,
        pending_rx: &mut mpsc::Receiver<Pending>,
        upgrading: &UpgradeGate,
    ) {
        pending_rx.close();
        while let Ok((_, reply)) = pending_rx.try_recv() {
            let _ = reply.send(Response::Error(
                "this daemon has just handed over to a new one; ask again".to_owned(),
            ));
        }
        self.takeover.handed_over = true;
        let answered = upgrading.answered.notified();
        if tokio::time::timeout(std::time::Duration::from_secs(2), answered).await.is_err() {
            tracing::warn!("the upgrade's client did not get its answer");
        }
        self.drain_after_handover().await;
    }

    /// The answer to one control request (an upgrade is the run loop's).
    async fn answer(&mut self, request: Request) -> Response {
        match request {
            Request::Status => Response::Status(Box::new(self.status())),
            Request::Reload => self.reload_response().await,
            Request::Vxlan => Response::Vxlan(self.vxlan_report().map(Box::new)),
            Request::Stp => Response::Stp(self.stp_reports()),
            Request::Vrrp => Response::Vrrp(self.vrrp.values().map(VrrpDriver::report).collect()),
            Request::Upgrade { .. } => unreachable!("answered above"),
            Request::Proxy => Response::Proxy(
                self.proxies
                    .iter()
                    .filter_map(|(name, host)| host.stats().map(|stats| (name.clone(), stats)))
                    .collect(),
            ),
        }
    }

    async fn reload_response(&mut self) -> Response {
        let result = self.reload();
        self.spawn_ebpf_loggers();
        if result.is_ok() {
            self.sync_proxies().await;
            self.sync_vrrp().await;
            self.sync_stp().await;
            self.sync_vxlan().await;
        }
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

    /// Starts, restarts and stops VRRP instances so that they match the
    /// config: removed or changed instances resign first, then new ones start.
    pub(super) async fn sync_vrrp(&mut self) {
        let wanted: std::collections::BTreeMap<
            String,
            (crate::config::VrrpInstance, String, String),
        > = self
            .config
            .balancers
            .iter()
            .flat_map(|balancer| {
                balancer.vrrp.iter().map(|instance| {
                    (
                        instance.name.clone(),
                        (instance.clone(), balancer.name.clone(), balancer.netns.clone()),
                    )
                })
            })
            .collect();
        let stale: Vec<String> = self
            .vrrp
            .iter()
            .filter(|(name, driver)| {
                wanted.get(*name).is_none_or(|(config, balancer, _)| {
                    *config != driver.config
                        || *balancer != driver.balancer
                        || driver.tracker_generation != self.tracker_generation(config, balancer)
                })
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(driver) = self.vrrp.remove(&name) {
                let (config, balancer) = (driver.config.clone(), driver.balancer.clone());
                let same = wanted.get(&name).is_some_and(|(wanted, wanted_balancer, _)| {
                    *wanted == config && *wanted_balancer == balancer
                });
                if same {
                    // Only the tracked proxy restarted: the instance carries
                    // on from where it stands with the new health feed, as
                    // across an upgrade (no transition, no resignation).
                    if let Some(state) = driver.hand_over(VRRP_STOP_TIMEOUT).await {
                        self.takeover.vrrp.insert(name, state);
                    }
                    continue;
                }
                driver.stop(VRRP_STOP_TIMEOUT).await;
                self.release_vrrp_fast_path(&balancer, &config.interface);
            }
        }
        for (name, (config, balancer, netns)) in wanted {
            if self.vrrp.contains_key(&name) {
                continue;
            }
            let pin_dir = if config.fast_path {
                if let Err(err) = self.attach_vrrp_fast_path(&balancer, &config.interface) {
                    tracing::error!(instance = %name, %err, "vrrp fast path not attached; instance not started");
                    continue;
                }
                Some(self.config.instance_pin_dir(&balancer))
            } else {
                None
            };
            let tracker = match self.tracker(&config, &balancer) {
                Ok(tracker) => tracker,
                Err(err) => {
                    tracing::error!(instance = %name, %err, "vrrp instance not started");
                    continue;
                }
            };
            let steering = self
                .config
                .balancers
                .iter()
                .any(|b| b.name == balancer && b.proxy_steering)
                .then(|| SteeringMaps::new(&self.config.instance_pin_dir(&balancer)));
            let resume = self.takeover.vrrp.remove(&name);
            match VrrpDriver::spawn(
                config,
                &balancer,
                self.namespaces.get(&netns),
                pin_dir,
                tracker,
                steering,
                resume,
            )
            .await
            {
                Ok(driver) => {
                    self.vrrp.insert(name, driver);
                }
                Err(err) => tracing::error!(instance = %name, %err, "vrrp instance not started"),
            }
        }
    }

    /// The generation of the proxy an instance would track now.
    fn tracker_generation(
        &self,
        config: &crate::config::VrrpInstance,
        balancer: &str,
    ) -> Option<u64> {
        config.track.as_ref()?;
        self.proxies.get(balancer).map(|host| host.generation)
    }

    /// The pool-health feed an instance tracks, from its balancer's proxy.
    fn tracker(
        &self,
        config: &crate::config::VrrpInstance,
        balancer: &str,
    ) -> Result<Option<super::vrrp_driver::Tracker>, TrackerError> {
        let Some(track) = &config.track else { return Ok(None) };
        let missing = || (balancer.to_owned(), track.backend.clone());
        let host = self.proxies.get(balancer).ok_or_else(|| {
            let (balancer, backend) = missing();
            TrackerError::NoProxy { balancer, backend }
        })?;
        let health = host.pool_health(&track.backend).ok_or_else(|| {
            let (balancer, backend) = missing();
            TrackerError::NoBackend { balancer, backend }
        })?;
        Ok(Some(super::vrrp_driver::Tracker {
            what: format!("backend {}", track.backend),
            weight: track.weight,
            health,
            generation: host.generation,
        }))
    }

    /// The attach point of a balancer's interface, as the config lists it.
    fn balancer_point(
        &self,
        balancer: &str,
        interface: &str,
    ) -> Option<crate::config::AttachPoint> {
        self.config
            .attach_points()
            .into_iter()
            .find(|point| point.instance == balancer && point.interface == interface)
    }

    fn attach_vrrp_fast_path(
        &mut self,
        balancer: &str,
        interface: &str,
    ) -> Result<(), DaemonError> {
        let point = self.balancer_point(balancer, interface).ok_or_else(|| {
            DaemonError::NotADatapathInterface {
                balancer: balancer.to_owned(),
                interface: interface.to_owned(),
            }
        })?;
        let netns = point.netns.as_ref().and_then(|name| self.namespaces.get(name));
        let datapath = self
            .instances
            .get_mut(balancer)
            .ok_or_else(|| DaemonError::NoDatapathInstance(balancer.to_owned()))?;
        let attached = datapath
            .ports()
            .iter()
            .any(|port| port.point == point && port.program == PROG_VRRP_ADVERT);
        if !attached {
            datapath.attach_program(PROG_VRRP_ADVERT, &point, netns)?;
        }
        Ok(())
    }

    /// Detaches the fast path from an interface no running instance uses.
    fn release_vrrp_fast_path(&mut self, balancer: &str, interface: &str) {
        let in_use = self.vrrp.values().any(|driver| {
            driver.balancer == balancer
                && driver.config.interface == interface
                && driver.config.fast_path
        });
        if in_use {
            return;
        }
        let Some(point) = self.balancer_point(balancer, interface) else { return };
        if let Some(datapath) = self.instances.get_mut(balancer) {
            if let Err(err) = datapath.detach_program(PROG_VRRP_ADVERT, &point) {
                tracing::warn!(%balancer, %interface, %err, "cannot detach the vrrp fast path");
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

/// Hands every control client to a task of its own.
async fn accept_clients(
    listener: tokio::net::UnixListener,
    pending: mpsc::Sender<Pending>,
    upgrading: std::sync::Arc<UpgradeGate>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(handle_client(
                    stream,
                    pending.clone(),
                    std::sync::Arc::clone(&upgrading),
                ));
            }
            Err(err) => {
                tracing::warn!(%err, "control socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads one request, passes it to the run loop, writes the answer.
async fn handle_client(
    mut stream: UnixStream,
    pending: mpsc::Sender<Pending>,
    upgrading: std::sync::Arc<UpgradeGate>,
) {
    use std::sync::atomic::Ordering::SeqCst;
    let response = match control::read_request(&mut stream).await {
        Ok(Request::Upgrade { .. }) if upgrading.running.swap(true, SeqCst) => {
            Response::Error(super::upgrade::UpgradeError::Busy.to_string())
        }
        Ok(request) => {
            let is_upgrade = matches!(request, Request::Upgrade { .. });
            let (reply_tx, reply_rx) = oneshot::channel();
            let answered = match pending.send((request, reply_tx)).await {
                Ok(()) => reply_rx.await.ok(),
                Err(_) => None,
            };
            if is_upgrade {
                upgrading.running.store(false, SeqCst);
            }
            match answered {
                Some(response) => response,
                None => return,
            }
        }
        Err(reason) => Response::Error(reason.to_string()),
    };
    if let Err(err) = control::write_response(&mut stream, &response).await {
        tracing::debug!(%err, "control client went away");
    }
    if matches!(response, Response::Upgraded { .. }) {
        upgrading.answered.notify_one();
    }
}

/// An upgrade in progress, seen from the control clients' tasks: a second
/// one is refused, and the run loop waits for the answer to the first to be
/// written before it drains and exits.
#[derive(Default)]
struct UpgradeGate {
    running: std::sync::atomic::AtomicBool,
    answered: tokio::sync::Notify,
}
