//! The tokio driver of one VRRP instance: the thin I/O layer around the
//! pure [`VirtualRouter`]. It turns socket reads, link events, the fast
//! path's master record and `sleep_until(poll_timeout())` into inputs, and
//! applies the machine's actions: adverts on the raw socket, virtual
//! addresses through rtnetlink, gratuitous ARPs on a packet socket, and a
//! log line per transition. With VIP steering on, each transition also
//! writes the VIPs' ownership for the `SK_LOOKUP` program (MASTER owns),
//! before the addresses are added or removed. The loop is the daemon's one driver loop
//! ([`super::driver_loop`]).
//!
//! Everything that touches the network is created inside the balancer's
//! namespace when the driver is spawned; sockets keep that namespace.

use std::{
    net::Ipv4Addr,
    path::PathBuf,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::sync::{oneshot, watch};

use super::{
    driver_loop::{self, Driver, Stop},
    vrrp_fast_path::FastPath,
    vrrp_report,
};
use crate::{
    config::VrrpInstance,
    control::vrrp::{TransitionRecord, VrrpReport},
    datapath::steering::SteeringMaps,
    handover::message::VrrpState,
    net::{
        addresses, arp,
        link::{self, LinkError},
        vrrp_socket::{self, VrrpSocket},
    },
    netns::Netns,
    proxy::PoolHealth,
    vrrp::{
        packet::VRRP_MULTICAST_V4, Action, Advertisement, Auth, Config, ConfigError, EncodeError,
        IpMeta, State, VirtualRouter,
    },
};

/// Transitions kept for `halb vrrp status`.
const TRANSITION_HISTORY: usize = 16;

/// What a failed setup step says about itself.
type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum VrrpDriverError {
    #[error("vrrp instance {instance}: {what}: {cause}")]
    Setup { instance: String, what: &'static str, cause: Cause },
}

/// Why the instance could not start (shown as its last reason).
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("interface {0} has no IPv4 address")]
    NoAddress(String),
    #[error("multicast source: {0}")]
    Source(std::io::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    FastPath(#[from] aya::maps::MapError),
}

/// Why one of the machine's actions failed (counted and logged).
#[derive(Debug, thiserror::Error)]
enum ActionError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("sending advert: {0}")]
    Send(std::io::Error),
    #[error("adding {address}/{prefix}: {cause}")]
    Add { address: Ipv4Addr, prefix: u8, cause: rtnetlink::Error },
    #[error("removing {address}: {cause}")]
    Remove { address: Ipv4Addr, cause: rtnetlink::Error },
    #[error("gratuitous ARP for {address}: {cause}")]
    Arp { address: Ipv4Addr, cause: std::io::Error },
}

/// What the instance's driver waits for besides its timers.
enum Input {
    Packet(std::io::Result<Result<vrrp_socket::Received, &'static str>>),
    Tracker,
    Link { ifindex: u32, running: bool },
}

/// Pool health a VRRP instance tracks (`track_backend`).
pub struct Tracker {
    /// What is tracked, for logs and reasons: `backend web`.
    pub what: String,
    /// Priority change while the pool is down; `None`: FAULT.
    pub weight: Option<i16>,
    pub health: watch::Receiver<PoolHealth>,
    /// Generation of the proxy the receiver belongs to.
    pub generation: u64,
}

/// A running driver: its status feed and the way to stop it.
pub struct VrrpDriver {
    pub config: VrrpInstance,
    pub balancer: String,
    /// Generation of the tracked proxy, if any (a restarted proxy means a
    /// new health feed, so the driver restarts too).
    pub tracker_generation: Option<u64>,
    status: watch::Receiver<VrrpReport>,
    stop: Option<oneshot::Sender<Stop<VrrpState>>>,
    /// Fires when the instance's thread has finished (resigned, cleaned up).
    done: Option<oneshot::Receiver<()>>,
}

impl VrrpDriver {
    /// Starts the instance on a thread of its own: the thread enters the
    /// balancer's namespace for good (every socket it opens lives there),
    /// takes the configured real-time priority, and runs a current-thread
    /// tokio runtime. A busy machine then cannot delay adverts, which with
    /// 10 ms intervals would be a false failover. The instance's fast path
    /// (if enabled) must already be attached; its maps are reached through
    /// `pin_dir`. `steering`: where to write the VIPs' ownership.
    /// `resume`: the state a daemon handing over stopped the instance in;
    /// the instance carries on from it (no transition, no advert gap, no
    /// gratuitous ARP) unless its settings changed.
    pub async fn spawn(
        config: VrrpInstance,
        balancer: &str,
        netns: Option<&Netns>,
        pin_dir: Option<PathBuf>,
        tracker: Option<Tracker>,
        steering: Option<SteeringMaps>,
        resume: Option<VrrpState>,
    ) -> Result<Self, VrrpDriverError> {
        let setup = |what: &'static str, cause: Cause| VrrpDriverError::Setup {
            instance: config.name.clone(),
            what,
            cause,
        };
        let namespace = netns
            .map(|netns| netns.file().try_clone())
            .transpose()
            .map_err(|err| setup("netns", err.into()))?;
        let (status_tx, status) = watch::channel(vrrp_report::starting(&config, balancer));
        let (stop_tx, stop_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), VrrpDriverError>>();
        let (done_tx, done_rx) = oneshot::channel();
        let tracker_generation = tracker.as_ref().map(|tracker| tracker.generation);
        let instance = config.clone();
        let balancer_name = balancer.to_owned();
        let span = tracing::info_span!("vrrp", instance = %instance.name, vrid = instance.vrid);
        std::thread::Builder::new()
            .name(format!("vrrp-{}", config.name))
            .spawn(move || {
                let _done = done_tx;
                let _entered = span.enter();
                let prepared = prepare_thread(namespace.as_ref(), instance.realtime_priority)
                    .and_then(|runtime| {
                        let _context = runtime.enter();
                        open_io(&instance, pin_dir, tracker, steering).map(|io| (runtime, io))
                    });
                let (runtime, io) = match prepared {
                    Ok(ready) => ready,
                    Err((what, cause)) => {
                        let _ = ready_tx.send(Err(VrrpDriverError::Setup {
                            instance: instance.name.clone(),
                            what,
                            cause,
                        }));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                runtime.block_on(async move {
                    let failed = status_tx.clone();
                    match Running::start(instance, balancer_name, io, status_tx, resume).await {
                        Ok(running) => running.run(stop_rx).await,
                        Err(err) => {
                            tracing::error!(%err, "vrrp instance could not start");
                            failed.send_modify(|report| {
                                "FAILED".clone_into(&mut report.state);
                                report.last_reason = Some(err.to_string());
                            });
                        }
                    }
                });
            })
            .map_err(|err| setup("thread", err.into()))?;
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(err),
            Err(_) => return Err(setup("thread", "exited during setup".into())),
        }
        Ok(Self {
            config,
            balancer: balancer.to_owned(),
            tracker_generation,
            status,
            stop: Some(stop_tx),
            done: Some(done_rx),
        })
    }

    /// The latest status report.
    #[must_use]
    pub fn report(&self) -> VrrpReport {
        self.status.borrow().clone()
    }

    /// Stops the instance where it stands for a daemon taking over: no
    /// resignation, addresses and fast path left in place. Its state, or
    /// `None` if the instance was not running or did not answer in
    /// `timeout`.
    pub async fn hand_over(mut self, timeout: Duration) -> Option<VrrpState> {
        let (reply, state) = oneshot::channel();
        self.stop.take()?.send(Stop::HandOver(reply)).ok()?;
        let state = tokio::time::timeout(timeout, state).await.ok()?.ok();
        if let Some(done) = self.done.take() {
            let _ = tokio::time::timeout(timeout, done).await;
        }
        state
    }

    /// Graceful stop: a master resigns (priority 0) and drops its
    /// addresses. Waits at most `timeout`.
    pub async fn stop(mut self, timeout: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Stop::Finish);
        }
        if let Some(done) = self.done.take() {
            if tokio::time::timeout(timeout, done).await.is_err() {
                tracing::warn!(instance = %self.config.name, "vrrp instance did not stop in time");
            }
        }
    }
}

/// Puts the calling (dedicated) thread into `namespace` for good, gives it
/// `SCHED_FIFO` `priority` if asked, and builds its runtime.
fn prepare_thread(
    namespace: Option<&std::fs::File>,
    priority: Option<u8>,
) -> Result<tokio::runtime::Runtime, (&'static str, Cause)> {
    use std::os::fd::AsRawFd as _;
    if let Some(namespace) = namespace {
        // SAFETY: setns on this thread only; the fd is open.
        if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(("netns", std::io::Error::last_os_error().into()));
        }
    }
    if let Some(priority) = priority {
        let param = libc::sched_param { sched_priority: i32::from(priority) };
        // SAFETY: sched_setscheduler on the calling thread (pid 0) with a
        // valid parameter block.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &raw const param) } != 0 {
            return Err(("realtime priority", std::io::Error::last_os_error().into()));
        }
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| ("runtime", err.into()))
}

/// Opens the instance's sockets in the calling thread's namespace and
/// runtime context.
fn open_io(
    config: &VrrpInstance,
    pin_dir: Option<PathBuf>,
    tracker: Option<Tracker>,
    steering: Option<SteeringMaps>,
) -> Result<Io, (&'static str, Cause)> {
    let ifindex = crate::datapath::attach::interface_index(&config.interface)
        .map_err(|err| ("interface", err.into()))?;
    let socket =
        VrrpSocket::open(&config.interface, ifindex).map_err(|err| ("VRRP socket", err.into()))?;
    let arp = arp::ArpSender::open(ifindex).map_err(|err| ("ARP socket", err.into()))?;
    let netlink = link::connect().map_err(|err| ("rtnetlink", err.into()))?;
    let links = link::watch().map_err(|err| ("link monitor", err.into()))?;
    let fast_path = pin_dir.map(|dir| FastPath::new(dir, config.vrid));
    Ok(Io { socket, arp, netlink, links, ifindex, fast_path, tracker, steering })
}

/// The instance's sockets and handles.
struct Io {
    socket: VrrpSocket,
    arp: arp::ArpSender,
    netlink: rtnetlink::Handle,
    links: tokio::sync::mpsc::UnboundedReceiver<(u32, bool)>,
    ifindex: u32,
    fast_path: Option<FastPath>,
    tracker: Option<Tracker>,
    steering: Option<SteeringMaps>,
}

struct Running {
    config: VrrpInstance,
    balancer: String,
    io: Io,
    router: VirtualRouter,
    primary: Ipv4Addr,
    mac: [u8; 6],
    carrier: bool,
    status: watch::Sender<VrrpReport>,
    history: Vec<TransitionRecord>,
    /// Whether the tracked pool is down (no server up) as last applied.
    tracked_down: bool,
    errors: u64,
    decode_errors: u64,
}

impl Running {
    async fn start(
        config: VrrpInstance,
        balancer: String,
        io: Io,
        status: watch::Sender<VrrpReport>,
        resume: Option<VrrpState>,
    ) -> Result<Self, StartError> {
        let info = link::info(&io.netlink, &config.interface).await?;
        let primary = link::primary_ipv4(&io.netlink, io.ifindex)
            .await?
            .ok_or_else(|| StartError::NoAddress(config.interface.clone()))?;
        io.socket.set_source(primary).map_err(StartError::Source)?;
        let machine_config = Config::try_from(config.params(primary))?;
        let resume = resume.filter(|state| {
            let same = state.router.config() == &machine_config;
            if !same {
                tracing::info!("settings changed since the handover: the instance starts afresh");
            }
            same
        });
        if let Some(fast_path) = &io.fast_path {
            fast_path.configure(config.version, primary)?;
        }
        tracing::info!(%primary, interface = %config.interface, fast_path = io.fast_path.is_some(), "vrrp instance starting");
        let now = Instant::now();
        if let Some(state) = resume {
            tracing::info!(state = %state.router.state(), "vrrp instance resumed from the daemon it took over from");
            let mut running = Self {
                config,
                balancer,
                io,
                router: state.router,
                primary,
                mac: info.mac,
                carrier: info.running,
                status,
                history: state.history,
                tracked_down: state.tracked_down,
                errors: state.errors,
                decode_errors: state.decode_errors,
            };
            // What changed between the two processes still counts.
            if running.router.link_up != running.carrier {
                if running.carrier {
                    running.router.interface_up(now);
                } else {
                    running.router.interface_down(now);
                }
            }
            running.apply_tracking(now);
            return Ok(running);
        }
        let router = VirtualRouter::new(machine_config);
        let mut running = Self {
            config,
            balancer,
            io,
            router,
            primary,
            mac: info.mac,
            carrier: info.running,
            status,
            history: Vec::new(),
            tracked_down: false,
            errors: 0,
            decode_errors: 0,
        };
        if !running.carrier {
            running.router.interface_down(now);
        }
        running.apply_tracking(now);
        running.router.startup(now);
        Ok(running)
    }

    /// Runs until `stop`, then resigns (a master sends priority 0) and
    /// drops the addresses, or, for a handover, sends its state and leaves
    /// everything as it is.
    async fn run(mut self, mut stop: oneshot::Receiver<Stop<VrrpState>>) {
        if let Stop::HandOver(reply) = driver_loop::run(&mut self, &mut stop).await {
            let state = VrrpState {
                instance: self.config.name.clone(),
                balancer: self.balancer.clone(),
                router: self.router,
                history: self.history,
                tracked_down: self.tracked_down,
                errors: self.errors,
                decode_errors: self.decode_errors,
            };
            tracing::info!("vrrp instance stopped in place for the daemon taking over");
            let _ = reply.send(state);
            return;
        }
        self.router.shutdown(Instant::now());
        driver_loop::apply_outputs(&mut self).await;
        if let Some(fast_path) = &self.io.fast_path {
            fast_path.forget();
        }
        self.publish_report();
        tracing::info!("vrrp instance stopped");
    }

    /// Applies the tracked pool's health: FAULT, or the priority weight.
    fn apply_tracking(&mut self, now: Instant) {
        let Some(tracker) = &self.io.tracker else { return };
        let health = *tracker.health.borrow();
        let down = health.servers_up == 0;
        if down == self.tracked_down {
            return;
        }
        self.tracked_down = down;
        tracing::info!(
            tracked = %tracker.what,
            servers_up = health.servers_up,
            servers_total = health.servers_total,
            "tracked pool {}",
            if down { "down" } else { "up" }
        );
        match tracker.weight {
            Some(weight) => self.router.set_priority_offset(now, if down { weight } else { 0 }),
            None => self.router.set_tracked_fault(now, down.then(|| tracker.what.clone())),
        }
    }

    fn on_packet(
        &mut self,
        received: std::io::Result<Result<vrrp_socket::Received, &'static str>>,
    ) {
        let packet = match received {
            Ok(Ok(packet)) => packet,
            Ok(Err(reason)) => {
                self.decode_errors += 1;
                tracing::debug!(reason, "unparsable packet on the VRRP socket");
                return;
            }
            Err(err) => {
                self.errors += 1;
                tracing::warn!(%err, "VRRP socket receive failed");
                return;
            }
        };
        let meta = IpMeta { src: packet.source, dst: packet.destination, ttl: packet.ttl };
        match Advertisement::decode(&packet.payload, &meta) {
            Ok(advert) => {
                let verdict = self.router.handle_advert(Instant::now(), packet.source, &advert);
                tracing::trace!(from = %packet.source, priority = advert.priority, ?verdict, "advert");
            }
            Err(err) => {
                self.decode_errors += 1;
                tracing::debug!(from = %packet.source, %err, "invalid VRRP advert dropped");
            }
        }
    }

    /// Feeds the machine the latest advert the fast path absorbed, so a
    /// backup's master-down timer sees adverts that never reached the socket.
    fn replay_fast_path(&mut self) {
        let Some(fast_path) = &mut self.io.fast_path else { return };
        let Some((seen_at, source, advert)) = fast_path.unseen_advert(self.config.version) else {
            return;
        };
        if source == self.primary {
            return;
        }
        let advert = Advertisement {
            addresses: self.config.virtual_addresses.iter().map(|(address, _)| *address).collect(),
            auth: Auth::None,
            ..advert
        };
        self.router.handle_advert(seen_at, source, &advert);
    }

    async fn apply_action(&mut self, action: Action) -> Result<(), ActionError> {
        match action {
            Action::SendAdvert(advert) => {
                let bytes = advert.encode(self.primary, VRRP_MULTICAST_V4)?;
                self.io.socket.send(&bytes).await.map_err(ActionError::Send)
            }
            Action::AddAddresses(list) => {
                for address in list {
                    let prefix = self.prefix_of(address);
                    addresses::add(&self.io.netlink, self.io.ifindex, address, prefix)
                        .await
                        .map_err(|cause| ActionError::Add { address, prefix, cause })?;
                }
                Ok(())
            }
            Action::RemoveAddresses(list) => {
                for address in list {
                    addresses::remove(&self.io.netlink, self.io.ifindex, address)
                        .await
                        .map_err(|cause| ActionError::Remove { address, cause })?;
                }
                Ok(())
            }
            Action::SendGratuitousArp { count } => {
                for (address, _) in &self.config.virtual_addresses {
                    let frame = arp::gratuitous_frame(self.mac, *address);
                    for _ in 0..count {
                        self.io
                            .arp
                            .send(&frame)
                            .map_err(|cause| ActionError::Arp { address: *address, cause })?;
                    }
                }
                Ok(())
            }
            Action::Transition { at: _, from, to, reason } => {
                tracing::info!("vrid {} {from} -> {to}: {reason}", self.config.vrid);
                if (from == State::Master) != (to == State::Master) {
                    self.write_ownership(to == State::Master);
                }
                let unix_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
                self.history.push(TransitionRecord {
                    unix_ms,
                    from: from.to_string(),
                    to: to.to_string(),
                    reason: reason.to_string(),
                });
                if self.history.len() > TRANSITION_HISTORY {
                    self.history.remove(0);
                }
                Ok(())
            }
        }
    }

    /// Tells the steering program whether this balancer owns the VIPs. A
    /// VIP without an entry (steering off, or not applied yet) stays so.
    fn write_ownership(&self, owned: bool) {
        let Some(steering) = &self.io.steering else { return };
        for (address, _) in &self.config.virtual_addresses {
            if let Err(err) = steering.set_owned(*address, owned) {
                tracing::debug!(%address, owned, %err, "steering ownership not written");
            }
        }
    }

    fn prefix_of(&self, address: Ipv4Addr) -> u8 {
        self.config
            .virtual_addresses
            .iter()
            .find(|(candidate, _)| *candidate == address)
            .map_or(32, |(_, prefix)| *prefix)
    }

    fn publish_report(&self) {
        let report = vrrp_report::running(
            &self.config,
            &self.balancer,
            &self.router.status(),
            self.primary,
            &self.history,
            self.errors,
            self.decode_errors,
            self.io.fast_path.as_ref().map(FastPath::counters),
        );
        self.status.send_replace(report);
    }
}

impl Driver for Running {
    const PROTOCOL: &'static str = "vrrp";
    type Input = Input;
    type Output = Action;
    type Error = ActionError;

    fn poll_output(&mut self) -> Option<Action> {
        self.router.poll_action()
    }

    async fn apply(&mut self, action: Action) -> Result<(), ActionError> {
        self.apply_action(action).await
    }

    fn count_error(&mut self) {
        self.errors += 1;
    }

    fn publish(&self) {
        self.publish_report();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.router.poll_timeout()
    }

    async fn handle_timeout(&mut self, now: Instant) {
        self.replay_fast_path();
        self.router.handle_timeout(now);
    }

    async fn next_input(&mut self) -> Input {
        tokio::select! {
            received = self.io.socket.recv() => Input::Packet(received),
            () = tracker_changed(self.io.tracker.as_mut()) => Input::Tracker,
            Some((ifindex, running)) = self.io.links.recv() => Input::Link { ifindex, running },
        }
    }

    async fn handle_input(&mut self, input: Input) {
        match input {
            Input::Packet(received) => self.on_packet(received),
            Input::Tracker => self.apply_tracking(Instant::now()),
            Input::Link { ifindex, running } => {
                if ifindex == self.io.ifindex && running != self.carrier {
                    self.carrier = running;
                    let now = Instant::now();
                    if running {
                        self.router.interface_up(now);
                    } else {
                        self.router.interface_down(now);
                    }
                }
            }
        }
    }
}

/// Resolves when the tracked pool's health changed; never without a tracker
/// (or once its proxy is gone).
async fn tracker_changed(tracker: Option<&mut Tracker>) {
    match tracker {
        Some(tracker) => {
            if tracker.health.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}
