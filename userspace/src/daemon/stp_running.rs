//! One running STP/RSTP bridge, as the daemon's driver loop
//! ([`super::driver_loop`]) drives it: start-up and the hand-back to the
//! kernel (the order is in [`super::stp_driver`]'s docs), the inputs (BPDUs,
//! link events, timers) and the bridge's actions applied. The kernel port
//! states it writes are the [`KernelPorts`] policy's.

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use rtnetlink::packet_route::link::BridgePortState;
use tokio::sync::{mpsc, oneshot, watch};

use super::{
    driver_loop::{self, Driver, Stop},
    stp_maps::{MapAccessError, PortMaps},
    stp_report::Snapshot,
};
use crate::{
    config::stp::StpBridge,
    control::stp::StpEventRecord,
    handover::message::StpState,
    net::{
        bpdu_socket::{BpduSocket, FrameError, Received},
        bridge::{self, kernel_state, BridgeError},
    },
    stp::{
        self,
        kernel_ports::{KernelPorts, Order, PortLink, Write},
        Action, Event, PortState,
    },
};

/// Events kept for `halb stp show`.
const EVENT_HISTORY: usize = 32;
/// Pause after a failed BPDU receive before trying again.
const RECEIVE_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

/// Why the bridge could not start (shown as its state, `failed: ...`).
#[derive(Debug, thiserror::Error)]
pub(super) enum StartError {
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    #[error("{port} is not a port of bridge {bridge}")]
    NotAPort { port: String, bridge: String },
    #[error(transparent)]
    Map(#[from] MapAccessError),
    #[error(transparent)]
    Config(#[from] stp::ConfigError),
}

/// Why one of the bridge's actions failed (counted and logged).
#[derive(Debug, thiserror::Error)]
pub(super) enum ActionError {
    #[error("no port {0}")]
    NoPort(usize),
    #[error("sending a BPDU on {port}: {cause}")]
    Send { port: String, cause: std::io::Error },
    #[error("port {port}: {cause}")]
    Flush { port: String, cause: Box<BridgeError> },
    #[error("port {port}: {cause}")]
    Map { port: String, cause: MapAccessError },
}

/// One received frame, or why reading failed, from port `.0`.
type Inbound = (usize, std::io::Result<Result<Received, FrameError>>);

/// What the bridge's driver waits for besides its timers.
pub(super) enum Input {
    Frame(Inbound),
    Link(bridge::PortEvent),
}

/// One port's handles, made in the host namespace.
pub(super) struct PortIo {
    pub name: String,
    pub ifindex: u32,
    pub socket: Arc<BpduSocket>,
    pub full_duplex: Option<bool>,
    pub speed: Option<u32>,
}

pub(super) struct Running {
    config: StpBridge,
    ports: Vec<PortIo>,
    macs: Vec<[u8; 6]>,
    bridge_index: u32,
    stp_before: u32,
    netlink: rtnetlink::Handle,
    links: mpsc::UnboundedReceiver<bridge::PortEvent>,
    inbound: mpsc::Receiver<Inbound>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    maps: PortMaps,
    bridge: stp::Bridge,
    /// Carrier, and which kernel port states to write when.
    kernel: KernelPorts<BridgePortState>,
    snapshot: watch::Sender<Snapshot>,
    history: VecDeque<StpEventRecord>,
    malformed: Vec<u64>,
    errors: u64,
}

impl Running {
    pub(super) async fn start(
        config: StpBridge,
        ports: Vec<PortIo>,
        netlink: rtnetlink::Handle,
        links: mpsc::UnboundedReceiver<bridge::PortEvent>,
        maps: PortMaps,
        snapshot: watch::Sender<Snapshot>,
        resume: Option<StpState>,
    ) -> Result<Self, StartError> {
        let (info, stp_now) = bridge::bridge(&netlink, &config.name).await?;
        let members = bridge::ports(&netlink, info.index).await?;
        let mut port_macs = Vec::with_capacity(ports.len());
        let mut carrier = Vec::with_capacity(ports.len());
        for port in &ports {
            let member =
                members.iter().find(|member| member.index == port.ifindex).ok_or_else(|| {
                    StartError::NotAPort { port: port.name.clone(), bridge: config.name.clone() }
                })?;
            port_macs.push(member.mac);
            carrier.push(member.running);
        }
        let speeds: Vec<Option<u32>> = ports.iter().map(|port| port.speed).collect();
        let machine_config = stp::Config::try_from(config.params(info.mac, &speeds))?;
        let resume = resume.filter(|state| {
            let same = state.bridge.config() == &machine_config;
            if !same {
                tracing::info!("settings changed since the handover: the bridge starts afresh");
            }
            same
        });
        let (bridge, carried) = match resume {
            Some(StpState { bridge, stp_before, history, malformed, errors, .. }) => {
                (bridge, Some((stp_before, history, malformed, errors)))
            }
            None => (stp::Bridge::new(machine_config), None),
        };
        let resumed = carried.is_some();
        // The kernel's STP as it was before halb, to hand back at the end:
        // a resumed bridge keeps the first daemon's record.
        let stp_before = carried.as_ref().map_or(stp_now, |carried| carried.0);
        if stp_now != 0 {
            bridge::set_stp_state(&netlink, &config.name, 0).await?;
            tracing::info!(stp_state_before = stp_now, "kernel STP turned off");
        }
        let mut kernel = KernelPorts::new(kernel_state, carrier, info.running);
        // A fresh bridge starts every port disabled; a resumed one writes
        // the states it stands in, which the datapath and the kernel hold
        // already, so nothing on the wire changes.
        let states: Vec<PortState> = if resumed {
            bridge.status().ports.iter().map(|port| port.state).collect()
        } else {
            vec![PortState::Disabled; ports.len()]
        };
        for (index, port) in ports.iter().enumerate() {
            maps.set_state(port.ifindex, info.index, states[index])?;
            let wanted = kernel.write(index, states[index]).state;
            let mut written = bridge::set_port_state(&netlink, port.ifindex, wanted).await;
            if stp_now != 0 && !resumed && written.is_ok() {
                if let Err(err) = bridge::reset_kernel_port(&netlink, port.ifindex).await {
                    tracing::warn!(port = %port.name, %err, "kernel STP state of the port not reset");
                }
                written = bridge::set_port_state(&netlink, port.ifindex, wanted).await;
            }
            kernel.written(index, written.is_ok());
        }
        tracing::info!(
            resumed,
            bridge_id = %bridge.bridge_id(),
            protocol = ?config.protocol,
            ports = ports.len(),
            "stp bridge starting"
        );
        let (inbound, readers) = spawn_readers(&ports);
        let (history, malformed, errors) = match carried {
            Some((_, history, malformed, errors)) if malformed.len() == ports.len() => {
                (history.into(), malformed, errors)
            }
            _ => (VecDeque::new(), vec![0; ports.len()], 0),
        };
        let mut running = Running {
            config,
            ports,
            macs: port_macs,
            bridge_index: info.index,
            stp_before,
            netlink,
            links,
            inbound,
            readers,
            maps,
            bridge,
            kernel,
            snapshot,
            history,
            malformed,
            errors,
        };
        let now = Instant::now();
        for index in 0..running.ports.len() {
            let carrier = running.kernel.carrier(index);
            let known_up = resumed && running.bridge.port_link_up(index);
            if carrier && !known_up {
                let p2p = running.point_to_point(index);
                running.bridge.port_up(now, index, p2p);
            } else if !carrier && known_up {
                running.bridge.port_down(now, index);
            }
        }
        Ok(running)
    }

    fn point_to_point(&self, index: usize) -> bool {
        self.config.ports[index].point_to_point.resolve(self.ports[index].full_duplex)
    }

    /// The bridge's port states now.
    fn states(&self) -> Vec<PortState> {
        self.bridge.status().ports.iter().map(|port| port.state).collect()
    }

    /// Runs until `stop`, then hands the bridge back (module docs), or, for
    /// a handover, sends its state and leaves ports, maps and the kernel as
    /// they are.
    pub(super) async fn run(mut self, mut stop: oneshot::Receiver<Stop<StpState>>) {
        let how = driver_loop::run(&mut self, &mut stop).await;
        for reader in &self.readers {
            reader.abort();
        }
        if let Stop::HandOver(reply) = how {
            let state = StpState {
                bridge_name: self.config.name.clone(),
                bridge: self.bridge,
                stp_before: self.stp_before,
                history: self.history.into(),
                malformed: self.malformed,
                errors: self.errors,
            };
            tracing::info!("stp bridge stopped in place for the daemon taking over");
            let _ = reply.send(state);
            return;
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
        self.publish_state("stopped");
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
            let states = self.states();
            for write in self.kernel.handle_bridge_link(running, &states) {
                self.write_kernel(write).await;
            }
            return;
        }
        let Some(index) = self.ports.iter().position(|port| port.ifindex == ifindex) else {
            return;
        };
        let state = self.bridge.status().ports[index].state;
        match self.kernel.handle_port_link(index, running, bridge_state, state) {
            PortLink::CameUp => {
                let p2p = self.point_to_point(index);
                self.bridge.port_up(Instant::now(), index, p2p);
                driver_loop::apply_outputs(self).await;
                // Carrier-up made the kernel port FORWARDING; the programs
                // discard meanwhile, this puts the kernel back in line.
                self.reapply_kernel_state(index).await;
            }
            PortLink::WentDown => self.bridge.port_down(Instant::now(), index),
            PortLink::Resync { write, drifted_from } => {
                if let Some(drifted_from) = drifted_from {
                    tracing::debug!(port = %self.ports[index].name, ?drifted_from, wanted = ?write.state, "kernel port state drifted");
                }
                self.write_kernel(write).await;
            }
            PortLink::InLine => {}
        }
    }

    /// After the kernel's STP is back: re-initialise each port
    /// [`KernelPorts::to_restart`] names; the kernel restarts it from
    /// BLOCKING through its own listening and learning, while the programs,
    /// still attached, discard.
    async fn restart_kernel_ports(&self) {
        for index in self.kernel.to_restart(&self.states()) {
            let port = &self.ports[index];
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
        self.write_kernel(self.kernel.write(index, state)).await;
    }

    async fn apply_action(&mut self, action: Action) -> Result<(), ActionError> {
        match action {
            Action::SendBpdu { port, bpdu } => {
                let io = self.ports.get(port).ok_or(ActionError::NoPort(port))?;
                io.socket
                    .send(self.macs[port], &bpdu)
                    .map_err(|cause| ActionError::Send { port: io.name.clone(), cause })
            }
            Action::SetPortState { port, state } => self.set_state(port, state).await,
            Action::FlushFdb { port } => {
                let io = self.ports.get(port).ok_or(ActionError::NoPort(port))?;
                bridge::flush_port_fdb(&self.netlink, io.ifindex).await.map_err(|cause| {
                    ActionError::Flush { port: io.name.clone(), cause: Box::new(cause) }
                })
            }
            Action::Transition { at: _, port, event } => {
                self.record(port, &event);
                Ok(())
            }
        }
    }

    /// The map and the kernel, in [`Order::of`] the state. The map is
    /// written even when the kernel refuses (it answers ENETDOWN until
    /// linkwatch has marked a fresh link operationally up): the kernel
    /// state is then retried ([`KernelPorts`]).
    async fn set_state(&mut self, port: usize, state: PortState) -> Result<(), ActionError> {
        let io = self.ports.get(port).ok_or(ActionError::NoPort(port))?;
        let (ifindex, name) = (io.ifindex, io.name.clone());
        let write_map = |maps: &PortMaps, bridge_index: u32| {
            maps.set_state(ifindex, bridge_index, state)
                .map_err(|cause| ActionError::Map { port: name.clone(), cause })
        };
        let order = Order::of(state);
        if order == Order::MapFirst {
            write_map(&self.maps, self.bridge_index)?;
        }
        self.write_kernel(self.kernel.write(port, state)).await;
        if order == Order::KernelFirst {
            write_map(&self.maps, self.bridge_index)?;
        }
        Ok(())
    }

    /// Writes a kernel port state and tells the policy how it went.
    async fn write_kernel(&mut self, write: Write<BridgePortState>) {
        let Write { port, state } = write;
        let written = bridge::set_port_state(&self.netlink, self.ports[port].ifindex, state).await;
        let news = self.kernel.written(port, written.is_ok());
        if let Err(err) = written {
            if news {
                tracing::debug!(port = %self.ports[port].name, %err, "kernel port state not set yet; will retry");
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

    fn publish_state(&self, state: &str) {
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

impl Driver for Running {
    const PROTOCOL: &'static str = "stp";
    type Input = Input;
    type Output = Action;
    type Error = ActionError;

    fn poll_output(&mut self) -> Option<Action> {
        self.bridge.poll_action()
    }

    async fn apply(&mut self, action: Action) -> Result<(), ActionError> {
        self.apply_action(action).await
    }

    fn count_error(&mut self) {
        self.errors += 1;
    }

    fn publish(&self) {
        self.publish_state("running");
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let retry = self.kernel.poll_timeout(Instant::now());
        match (self.bridge.poll_timeout(), retry) {
            (Some(protocol), Some(retry)) => Some(protocol.min(retry)),
            (protocol, retry) => protocol.or(retry),
        }
    }

    async fn handle_timeout(&mut self, now: Instant) {
        self.bridge.handle_timeout(now);
        let states = self.states();
        for write in self.kernel.handle_timeout(&states) {
            self.write_kernel(write).await;
        }
    }

    async fn next_input(&mut self) -> Input {
        tokio::select! {
            Some(inbound) = self.inbound.recv() => Input::Frame(inbound),
            Some(event) = self.links.recv() => Input::Link(event),
            else => std::future::pending().await,
        }
    }

    async fn handle_input(&mut self, input: Input) {
        match input {
            Input::Frame((index, received)) => self.on_frame(index, received),
            Input::Link(event) => self.on_link(event).await,
        }
    }
}

/// One reader task per port, all feeding one channel.
fn spawn_readers(ports: &[PortIo]) -> (mpsc::Receiver<Inbound>, Vec<tokio::task::JoinHandle<()>>) {
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
    (inbound, readers)
}
