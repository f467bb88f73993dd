//! The tokio driver of one STP/RSTP bridge: the thin I/O layer around the
//! pure [`crate::stp::Bridge`]. It turns BPDUs read on the ports' packet sockets,
//! link events and `sleep_until(poll_timeout())` into inputs, and applies
//! the bridge's actions: BPDUs on the packet sockets, port states to the
//! `STP_PORT_STATE` map (what the `stp_port_*` programs enforce) and to the
//! kernel bridge port (`bridge link show`, learning), FDB flushes through
//! rtnetlink, and a log line per transition. Which kernel port states to
//! write when is the pure [`crate::stp::kernel_ports`] policy; the loop is the
//! daemon's one driver loop ([`super::driver_loop`]).
//!
//! This file is the handle the daemon holds ([`StpDriver`]) and the setup
//! of the sockets; the running bridge is [`super::stp_running`].
//!
//! Start-up, in this order (the daemon has already attached the programs,
//! so every port discards until the map says otherwise):
//! 1. look the bridge up, check every configured port belongs to it;
//! 2. turn the kernel's STP off (`stp_state` 0), remembering what it was;
//! 3. write every port as disabled (map and kernel); if the kernel ran STP,
//!    first make it forget what it learned per port
//!    ([`bridge::reset_kernel_port`]);
//! 4. create the bridge (its ID is the Linux bridge's MAC and the configured
//!    priority) and feed `port_up` for every port with carrier.
//!
//! Stop: if the kernel ran STP before (`stp_state` 1 or 2), it is handed
//! back and restarts its own tree: ports that forwarded keep forwarding
//! until its BPDUs say otherwise, ports halb kept discarding restart from
//! blocking ([`bridge::reset_kernel_port`]). Otherwise the kernel port
//! states are left as they are: ports the tree blocked stay DISABLED, so
//! stopping halb never opens a loop, but nothing adapts to later changes
//! (and a port whose carrier comes back goes FORWARDING, as with any
//! bridge without STP). The daemon detaches the programs afterwards.
//!
//! Everything that touches the network is created inside the host's
//! namespace when the driver is spawned; sockets keep that namespace.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{oneshot, watch};
use tracing::Instrument as _;

use super::{
    driver_loop::Stop,
    stp_maps::PortMaps,
    stp_report::{self, Snapshot},
    stp_running::{PortIo, Running},
};
use crate::{
    config::stp::StpBridge,
    control::stp::StpReport,
    datapath::attach::interface_index,
    handover::message::StpState,
    net::{bpdu_socket::BpduSocket, bridge, link},
    netns::Netns,
};

/// What a failed setup step says about itself.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StpDriverError {
    #[error("stp bridge {bridge}: {what}: {cause}")]
    Setup { bridge: String, what: String, cause: Cause },
}

/// A running bridge: its status feed and the way to stop it.
pub struct StpDriver {
    pub config: StpBridge,
    /// The host namespace it runs in (`None`: the daemon's own).
    pub netns: Option<String>,
    maps: PortMaps,
    snapshot: watch::Receiver<Snapshot>,
    stop: Option<oneshot::Sender<Stop<StpState>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StpDriver {
    /// Opens the sockets inside `netns` and starts the bridge. The
    /// `stp_port_*` programs must already be attached to its ports.
    pub fn spawn(
        config: StpBridge,
        netns_name: Option<String>,
        netns: Option<&Netns>,
        maps: PortMaps,
        resume: Option<StpState>,
    ) -> Result<Self, StpDriverError> {
        let setup = |what: String| {
            let bridge = config.name.clone();
            move |cause: Cause| StpDriverError::Setup { bridge, what, cause }
        };
        let guard = netns
            .map(Netns::enter)
            .transpose()
            .map_err(|err| setup("netns".to_owned())(err.into()))?;
        let mut ports = Vec::with_capacity(config.ports.len());
        for port in &config.ports {
            let ifindex = interface_index(&port.name)
                .map_err(|err| setup(format!("port {}", port.name))(err.into()))?;
            let socket = BpduSocket::open(ifindex)
                .map_err(|err| setup(format!("BPDU socket on {}", port.name))(err.into()))?;
            let (speed, full_duplex) = bridge::speed_and_duplex(&port.name).unwrap_or_else(|err| {
                tracing::debug!(port = %port.name, %err, "speed and duplex unknown");
                (None, None)
            });
            ports.push(PortIo {
                name: port.name.clone(),
                ifindex,
                socket: Arc::new(socket),
                full_duplex,
                speed,
            });
        }
        let netlink = link::connect().map_err(|err| setup("rtnetlink".to_owned())(err.into()))?;
        let links = bridge::watch().map_err(|err| setup("link monitor".to_owned())(err.into()))?;
        drop(guard);

        let (snapshot_tx, snapshot) = watch::channel(Snapshot::starting());
        let (stop_tx, stop_rx) = oneshot::channel();
        let span = tracing::info_span!("stp", bridge = %config.name);
        let running_config = config.clone();
        let task_maps = maps.clone();
        let task = tokio::spawn(
            async move {
                let failed = snapshot_tx.clone();
                match Running::start(
                    running_config,
                    ports,
                    netlink,
                    links,
                    task_maps,
                    snapshot_tx,
                    resume,
                )
                .await
                {
                    Ok(running) => running.run(stop_rx).await,
                    Err(err) => {
                        tracing::error!(%err, "stp bridge could not start");
                        failed.send_modify(|snapshot| snapshot.state = format!("failed: {err}"));
                    }
                }
            }
            .instrument(span),
        );
        Ok(Self { config, netns: netns_name, maps, snapshot, stop: Some(stop_tx), task })
    }

    /// The latest report, with the datapath's counters read now.
    #[must_use]
    pub fn report(&self) -> StpReport {
        let snapshot = self.snapshot.borrow().clone();
        stp_report::report(&self.config.name, &snapshot, Instant::now(), |ifindex| {
            self.maps.counters(ifindex)
        })
    }

    /// Stops the bridge where it stands for a daemon taking over: ports,
    /// maps and kernel states stay. Its state, or `None` if it was not
    /// running or did not answer in `timeout`.
    pub async fn hand_over(mut self, timeout: Duration) -> Option<StpState> {
        let (reply, state) = oneshot::channel();
        self.stop.take()?.send(Stop::HandOver(reply)).ok()?;
        let state = tokio::time::timeout(timeout, state).await.ok()?.ok();
        let _ = tokio::time::timeout(timeout, &mut self.task).await;
        state
    }

    /// Stops the bridge (see the module docs for what the kernel is left
    /// with). Waits at most `timeout`.
    pub async fn stop(mut self, timeout: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Stop::Finish);
        }
        if tokio::time::timeout(timeout, &mut self.task).await.is_err() {
            tracing::warn!(bridge = %self.config.name, "stp bridge did not stop in time");
            self.task.abort();
        }
    }
}
