//! The tokio driver of one STP/RSTP bridge: the thin I/O layer around the
//! pure [`stp::Bridge`]. It turns BPDUs read on the ports' packet sockets,
//! link events and `sleep_until(poll_timeout())` into inputs, and applies
//! the bridge's actions: BPDUs on the packet sockets, port states to the
//! `STP_PORT_STATE` map (what the `stp_port_*` programs enforce) and to the
//! kernel bridge port (`bridge link show`, learning), FDB flushes through
//! rtnetlink, and a log line per transition.
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
//! states are left as they are: ports the tree blocked stay LISTENING, so
//! stopping halb never opens a loop, but nothing adapts to later changes
//! (and a port whose carrier comes back goes FORWARDING, as with any
//! bridge without STP). The daemon detaches the programs afterwards.
//!
//! Everything that touches the network is created inside the host's
//! namespace when the driver is spawned; sockets keep that namespace.

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument as _;

use super::{
    stp_maps::PortMaps,
    stp_report::{self, Snapshot},
};
use crate::{
    config::stp::StpBridge,
    control::stp::{StpEventRecord, StpReport},
    datapath::attach::interface_index,
    net::{
        bpdu_socket::{BpduSocket, FrameError, Received},
        bridge::{self, kernel_state},
        link,
    },
    netns::Netns,
    stp::{self, Action, Event, PortState},
};

/// Events kept for `halb stp show`.
const EVENT_HISTORY: usize = 32;
/// How soon a kernel port state the kernel refused is tried again.
const KERNEL_RETRY: Duration = Duration::from_millis(200);

/// Pause after a failed BPDU receive before trying again.
const RECEIVE_RETRY: std::time::Duration = std::time::Duration::from_millis(20);
#[derive(Debug, thiserror::Error)]
pub enum StpDriverError {
    #[error("stp bridge {bridge}: {what}: {cause}")]
    Setup { bridge: String, what: String, cause: String },
}

/// A running bridge: its status feed and the way to stop it.
pub struct StpDriver {
    pub config: StpBridge,
    /// The host namespace it runs in (`None`: the daemon's own).
    pub netns: Option<String>,
    maps: PortMaps,
    snapshot: watch::Receiver<Snapshot>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

/// One port's handles, made in the host namespace.
struct PortIo {
    name: String,
    ifindex: u32,
    socket: Arc<BpduSocket>,
    full_duplex: Option<bool>,
    speed: Option<u32>,
}

impl StpDriver {
    /// Opens the sockets inside `netns` and starts the bridge. The
    /// `stp_port_*` programs must already be attached to its ports.
    pub fn spawn(
        config: StpBridge,
        netns_name: Option<String>,
        netns: Option<&Netns>,
        maps: PortMaps,
    ) -> Result<Self, StpDriverError> {
        let setup = |what: String| {
            let bridge = config.name.clone();
            move |cause: String| StpDriverError::Setup { bridge, what, cause }
        };
        let guard = netns
            .map(Netns::enter)
            .transpose()
            .map_err(|err| setup("netns".to_owned())(err.to_string()))?;
        let mut ports = Vec::with_capacity(config.ports.len());
        for port in &config.ports {
            let ifindex =
                interface_index(&port.name).map_err(setup(format!("port {}", port.name)))?;
            let socket = BpduSocket::open(ifindex)
                .map_err(|err| setup(format!("BPDU socket on {}", port.name))(err.to_string()))?;
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
        let netlink =
            link::connect().map_err(|err| setup("rtnetlink".to_owned())(err.to_string()))?;
        let links =
            bridge::watch().map_err(|err| setup("link monitor".to_owned())(err.to_string()))?;
        drop(guard);

        let (snapshot_tx, snapshot) = watch::channel(Snapshot::starting());
        let (stop_tx, stop_rx) = oneshot::channel();
        let span = tracing::info_span!("stp", bridge = %config.name);
        let running_config = config.clone();
        let task_maps = maps.clone();
        let task = tokio::spawn(
            async move {
                let failed = snapshot_tx.clone();
                match Running::start(running_config, ports, netlink, links, task_maps, snapshot_tx)
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

    /// Stops the bridge (see the module docs for what the kernel is left
    /// with). Waits at most `timeout`.
    pub async fn stop(mut self, timeout: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(timeout, &mut self.task).await.is_err() {
            tracing::warn!(bridge = %self.config.name, "stp bridge did not stop in time");
            self.task.abort();
        }
    }
}

/// One received frame, or why reading failed, from port `.0`.
type Inbound = (usize, std::io::Result<Result<Received, FrameError>>);

struct Running {
    config: StpBridge,
    ports: Vec<PortIo>,
    macs: Vec<[u8; 6]>,
    carrier: Vec<bool>,
    bridge_index: u32,
    link_up_bridge: bool,
    stp_before: u32,
    netlink: rtnetlink::Handle,
    links: mpsc::UnboundedReceiver<bridge::PortEvent>,
    inbound: mpsc::Receiver<Inbound>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    maps: PortMaps,
    bridge: stp::Bridge,
    snapshot: watch::Sender<Snapshot>,
    history: VecDeque<StpEventRecord>,
    malformed: Vec<u64>,
    /// Ports whose kernel state the kernel refused; retried.
    kernel_pending: Vec<bool>,
    errors: u64,
}

impl Running {
    async fn start(
        config: StpBridge,
        ports: Vec<PortIo>,
        netlink: rtnetlink::Handle,
        links: mpsc::UnboundedReceiver<bridge::PortEvent>,
        maps: PortMaps,
        snapshot: watch::Sender<Snapshot>,
    ) -> Result<Self, String> {
        let (info, stp_before) =
            bridge::bridge(&netlink, &config.name).await.map_err(|err| err.to_string())?;
        let members = bridge::ports(&netlink, info.index).await.map_err(|err| err.to_string())?;
        let mut port_macs = Vec::with_capacity(ports.len());
        let mut carrier = Vec::with_capacity(ports.len());
        for port in &ports {
            let member = members
                .iter()
                .find(|member| member.index == port.ifindex)
                .ok_or_else(|| format!("{} is not a port of bridge {}", port.name, config.name))?;
            port_macs.push(member.mac);
            carrier.push(member.running);
        }
        if stp_before != 0 {
            bridge::set_stp_state(&netlink, &config.name, 0)
                .await
                .map_err(|err| err.to_string())?;
            tracing::info!(stp_state_before = stp_before, "kernel STP turned off");
        }
        let mut kernel_pending = Vec::with_capacity(ports.len());
        for port in &ports {
            maps.set_state(port.ifindex, info.index, PortState::Disabled)
                .map_err(|err| err.to_string())?;
            let mut disabled =
                bridge::set_port_state(&netlink, port.ifindex, kernel_state(PortState::Disabled))
                    .await;
            if stp_before != 0 && disabled.is_ok() {
                if let Err(err) = bridge::reset_kernel_port(&netlink, port.ifindex).await {
                    tracing::warn!(port = %port.name, %err, "kernel STP state of the port not reset");
                }
                disabled = bridge::set_port_state(
                    &netlink,
                    port.ifindex,
                    kernel_state(PortState::Disabled),
                )
                .await;
            }
            kernel_pending.push(disabled.is_err());
        }
        let speeds: Vec<Option<u32>> = ports.iter().map(|port| port.speed).collect();
        let params = config.params(info.mac, &speeds);
        let core_config = stp::Config::try_from(params).map_err(|err| err.to_string())?;
        let bridge = stp::Bridge::new(core_config);
        tracing::info!(
            bridge_id = %bridge.bridge_id(),
            protocol = ?config.protocol,
            ports = ports.len(),
            "stp bridge starting"
        );
        let (inbound_tx, inbound) = mpsc::channel(256);
        let readers = (ports.iter().enumerate())
            .map(|(index, port)| {
                let socket = Arc::clone(&port.socket);
                let sender = inbound_tx.clone();
                tokio::spawn(async move {
                    loop {
                        let received = socket.recv().await;
                        let failed = received.is_err();
                        if sender.send((index, received)).await.is_err() {
                            break;
                        }
                        // A receive error is transient (ENETDOWN while the
                        // link flaps, for one): a port that stopped hearing
                        // BPDUs would make itself designated and open a
                        // loop, so keep reading, pacing retries.
                        if failed {
                            tokio::time::sleep(RECEIVE_RETRY).await;
                        }
                    }
                })
            })
            .collect();
        let malformed = vec![0; ports.len()];
        let mut running = Running {
            config,
            ports,
            macs: port_macs,
            carrier,
            bridge_index: info.index,
            link_up_bridge: info.running,
            stp_before,
            netlink,
            links,
            inbound,
            readers,
            maps,
            bridge,
            snapshot,
            history: VecDeque::new(),
            malformed,
            kernel_pending,
            errors: 0,
        };
        let now = Instant::now();
        for index in 0..running.ports.len() {
            if running.carrier[index] {
                let p2p = running.point_to_point(index);
                running.bridge.port_up(now, index, p2p);
            }
        }
        Ok(running)
    }

    fn point_to_point(&self, index: usize) -> bool {
        self.config.ports[index].point_to_point.resolve(self.ports[index].full_duplex)
    }

    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        loop {
            self.apply_actions().await;
            self.publish("running");
            let mut deadline = self.bridge.poll_timeout();
            if self.kernel_pending.iter().any(|pending| *pending) {
                let retry = Instant::now() + KERNEL_RETRY;
                deadline = Some(deadline.map_or(retry, |at| at.min(retry)));
            }
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut stop => break,
                () = sleep => {
                    self.bridge.handle_timeout(Instant::now());
                    self.retry_kernel_states().await;
                }
                Some((index, received)) = self.inbound.recv() => self.on_frame(index, received),
                Some(event) = self.links.recv() => self.on_link(event).await,
            }
        }
        for reader in &self.readers {
            reader.abort();
        }
        if self.stp_before != 0 {
            match bridge::set_stp_state(&self.netlink, &self.config.name, self.stp_before).await {
                Ok(()) => {
                    tracing::info!(stp_state = self.stp_before, "kernel STP restored");
                    self.restart_kernel_ports().await;
                }
                Err(err) => tracing::warn!(%err, "kernel STP not restored"),
            }
        }
        self.publish("stopped");
        tracing::info!("stp bridge stopped");
    }

    fn on_frame(&mut self, index: usize, received: std::io::Result<Result<Received, FrameError>>) {
        match received {
            Ok(Ok(frame)) => self.bridge.handle_bpdu(Instant::now(), index, &frame.bpdu),
            Ok(Err(err)) => {
                self.malformed[index] += 1;
                tracing::debug!(port = %self.ports[index].name, %err, "malformed BPDU dropped");
            }
            Err(err) => {
                self.errors += 1;
                // The reader retries every 20 ms: log the 1st, 2nd, 4th... only.
                if self.errors.is_power_of_two() {
                    tracing::warn!(port = %self.ports[index].name, %err, errors = self.errors, "BPDU socket receive failed; retrying");
                }
            }
        }
    }

    async fn on_link(&mut self, event: bridge::PortEvent) {
        let bridge::PortEvent { ifindex, running, bridge_state } = event;
        if ifindex == self.bridge_index {
            let came_up = running && !self.link_up_bridge;
            self.link_up_bridge = running;
            if came_up {
                // The kernel re-enabled every port with carrier as FORWARDING.
                for index in 0..self.ports.len() {
                    self.reapply_kernel_state(index).await;
                }
            }
            return;
        }
        let Some(index) = self.ports.iter().position(|port| port.ifindex == ifindex) else {
            return;
        };
        if self.carrier[index] == running {
            // Operational state changes (linkwatch) come as events too:
            // the moment a refused kernel state can be set. And the kernel
            // changes port states on its own (a DISABLED port that gets a
            // NETDEV_CHANGE is re-enabled as FORWARDING): put it back.
            let wanted = kernel_state(self.bridge.status().ports[index].state);
            let drifted = bridge_state.is_some_and(|state| state != wanted);
            if running && (self.kernel_pending[index] || drifted) {
                if drifted {
                    tracing::debug!(port = %self.ports[index].name, ?bridge_state, ?wanted, "kernel port state drifted");
                }
                self.reapply_kernel_state(index).await;
            }
            return;
        }
        self.carrier[index] = running;
        let now = Instant::now();
        if running {
            let p2p = self.point_to_point(index);
            self.bridge.port_up(now, index, p2p);
            self.apply_actions().await;
            // Carrier-up made the kernel port FORWARDING; the programs
            // discard meanwhile, this puts the kernel back in line.
            self.reapply_kernel_state(index).await;
        } else {
            self.bridge.port_down(now, index);
        }
    }

    /// After the kernel's STP is back: the ports halb kept discarding are
    /// DISABLED in the kernel, where its STP would leave them until their
    /// link goes down and up (a blocked port would never serve again).
    /// Re-initialise each one that has carrier: the kernel restarts it
    /// from BLOCKING through its own listening and learning, while the
    /// programs, still attached, discard.
    async fn restart_kernel_ports(&self) {
        let status = self.bridge.status();
        for (index, port) in self.ports.iter().enumerate() {
            let discarding =
                kernel_state(status.ports[index].state) == kernel_state(PortState::Disabled);
            if !(self.carrier[index] && discarding) {
                continue;
            }
            match bridge::reset_kernel_port(&self.netlink, port.ifindex).await {
                Ok(()) => {
                    tracing::info!(port = %port.name, "kernel STP restarts the port from blocking");
                }
                Err(err) => {
                    tracing::warn!(port = %port.name, %err, "port left disabled for the kernel's STP");
                }
            }
        }
    }

    async fn reapply_kernel_state(&mut self, index: usize) {
        let state = self.bridge.status().ports[index].state;
        self.set_kernel_state(index, state).await;
    }

    async fn apply_actions(&mut self) {
        while let Some(action) = self.bridge.poll_action() {
            if let Err(err) = self.apply(action).await {
                self.errors += 1;
                tracing::warn!(%err, "stp action failed");
            }
        }
    }

    async fn apply(&mut self, action: Action) -> Result<(), String> {
        match action {
            Action::SendBpdu { port, bpdu } => {
                let io = self.ports.get(port).ok_or_else(|| format!("no port {port}"))?;
                io.socket
                    .send(self.macs[port], &bpdu)
                    .map_err(|err| format!("sending a BPDU on {}: {err}", io.name))
            }
            Action::SetPortState { port, state } => self.set_state(port, state).await,
            Action::FlushFdb { port } => {
                let io = self.ports.get(port).ok_or_else(|| format!("no port {port}"))?;
                bridge::flush_port_fdb(&self.netlink, io.ifindex)
                    .await
                    .map_err(|err| format!("port {}: {err}", io.name))
            }
            Action::Transition { at: _, port, event } => {
                self.record(port, &event);
                Ok(())
            }
        }
    }

    /// Closing: the map first (takes effect at once), then the kernel.
    /// Opening: the kernel first, then the map. The map is written even
    /// when the kernel refuses (it answers ENETDOWN until linkwatch has
    /// marked a fresh link operationally up): the kernel state is then
    /// retried on the port's next link event and on every timer tick.
    async fn set_state(&mut self, port: usize, state: PortState) -> Result<(), String> {
        let io = self.ports.get(port).ok_or_else(|| format!("no port {port}"))?;
        let (ifindex, name) = (io.ifindex, io.name.clone());
        let write_map = |maps: &PortMaps, bridge_index: u32| {
            maps.set_state(ifindex, bridge_index, state)
                .map_err(|err| format!("port {name}: {err}"))
        };
        let opening = state.openness() > 0;
        if !opening {
            write_map(&self.maps, self.bridge_index)?;
        }
        self.set_kernel_state(port, state).await;
        if opening {
            write_map(&self.maps, self.bridge_index)?;
        }
        Ok(())
    }

    /// Sets the kernel port state; on failure, marks it for a retry.
    async fn set_kernel_state(&mut self, port: usize, state: PortState) {
        let ifindex = self.ports[port].ifindex;
        match bridge::set_port_state(&self.netlink, ifindex, kernel_state(state)).await {
            Ok(()) => self.kernel_pending[port] = false,
            Err(err) => {
                if !self.kernel_pending[port] {
                    tracing::debug!(port = %self.ports[port].name, %err, "kernel port state not set yet; will retry");
                }
                self.kernel_pending[port] = true;
            }
        }
    }

    /// Retries kernel port states that failed before.
    async fn retry_kernel_states(&mut self) {
        for index in 0..self.ports.len() {
            if self.kernel_pending[index] {
                self.reapply_kernel_state(index).await;
            }
        }
    }

    fn record(&mut self, port: Option<usize>, event: &Event) {
        let name = port.and_then(|index| self.ports.get(index)).map(|io| io.name.clone());
        if let Some(name) = &name {
            tracing::info!(port = %name, "{event}");
        } else {
            tracing::info!("{event}");
        }
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
        self.history.push_back(StpEventRecord { unix_ms, port: name, event: event.to_string() });
        while self.history.len() > EVENT_HISTORY {
            self.history.pop_front();
        }
    }

    fn publish(&self, state: &str) {
        self.snapshot.send_replace(Snapshot {
            state: state.to_owned(),
            status: Some(self.bridge.status()),
            ifindexes: self.ports.iter().map(|port| port.ifindex).collect(),
            malformed: self.malformed.clone(),
            history: self.history.clone(),
            errors: self.errors,
            kernel_stp_state_before: Some(self.stp_before),
        });
    }
}
