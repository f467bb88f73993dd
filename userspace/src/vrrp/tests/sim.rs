//! A simulated broadcast segment with a virtual clock, for driving several
//! [`VirtualRouter`]s the way the daemon would, in milliseconds of real time.
//!
//! Each step jumps the clock to the earliest of: a router's `poll_timeout`,
//! a packet's arrival, or the end of the run. Adverts go through the real
//! codec (encode at the sender, decode at each receiver) and reach every
//! other router after `latency`, unless the deterministic PRNG drops them
//! (`loss_per_mille`) or a router is crashed or has its link down. The
//! harness also checks invariants on every step: a router holds the
//! virtual addresses exactly while it is Master, and it tracks the longest
//! time two or more routers were Master at once.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use super::router;
use crate::vrrp::{
    packet::{VRRP_MULTICAST_V4, VRRP_TTL},
    Action, Advertisement, IpMeta, Params, Reason, State, VirtualRouter,
};

/// One logged transition, `at` relative to the start of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Logged {
    pub(super) at: Duration,
    pub(super) node: usize,
    pub(super) from: State,
    pub(super) to: State,
    pub(super) reason: Reason,
}

struct Node {
    params: Params,
    router: VirtualRouter,
    /// Crashed nodes neither send, receive nor run timers.
    alive: bool,
    link_up: bool,
    holds_addresses: bool,
    /// When this node last decoded an advert (any sender), for measuring.
    last_heard: Option<Duration>,
}

struct Packet {
    arrive: Instant,
    seq: u64,
    to: usize,
    src: Ipv4Addr,
    bytes: Vec<u8>,
}

pub(super) struct Sim {
    start: Instant,
    now: Instant,
    latency: Duration,
    loss_per_mille: u32,
    rng: u64,
    seq: u64,
    nodes: Vec<Node>,
    in_flight: Vec<Packet>,
    pub(super) log: Vec<Logged>,
    pub(super) dropped: u64,
    multi_master_since: Option<Instant>,
    pub(super) longest_multi_master: Duration,
}

impl Sim {
    pub(super) fn new(latency: Duration, loss_per_mille: u32, seed: u64) -> Self {
        let start = Instant::now();
        Sim {
            start,
            now: start,
            latency,
            loss_per_mille,
            rng: seed | 1,
            seq: 0,
            nodes: vec![],
            in_flight: vec![],
            log: vec![],
            dropped: 0,
            multi_master_since: None,
            longest_multi_master: Duration::ZERO,
        }
    }

    /// Adds a router (not started); returns its index.
    pub(super) fn add(&mut self, params: Params) -> usize {
        self.nodes.push(Node {
            router: router(params.clone()),
            params,
            alive: true,
            link_up: true,
            holds_addresses: false,
            last_heard: None,
        });
        self.nodes.len() - 1
    }

    pub(super) fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub(super) fn state(&self, node: usize) -> State {
        self.nodes[node].router.state()
    }

    pub(super) fn router(&self, node: usize) -> &VirtualRouter {
        &self.nodes[node].router
    }

    pub(super) fn last_heard(&self, node: usize) -> Option<Duration> {
        self.nodes[node].last_heard
    }

    /// Live routers in Master.
    pub(super) fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive && self.state(i) == State::Master)
            .collect()
    }

    /// Times (since start) at which `node` entered `to`.
    pub(super) fn entered(&self, node: usize, to: State) -> Vec<Duration> {
        self.log.iter().filter(|e| e.node == node && e.to == to).map(|e| e.at).collect()
    }

    /// Last transition of `node` into `to`.
    pub(super) fn last_entry(&self, node: usize, to: State) -> Option<&Logged> {
        self.log.iter().rev().find(|e| e.node == node && e.to == to)
    }

    pub(super) fn startup(&mut self, node: usize) {
        let now = self.now;
        self.nodes[node].router.startup(now);
        self.settle();
    }

    pub(super) fn startup_all(&mut self) {
        for node in 0..self.nodes.len() {
            self.startup(node);
        }
    }

    /// The node stops dead: no shutdown, no more packets.
    pub(super) fn crash(&mut self, node: usize) {
        self.nodes[node].alive = false;
        self.update_master_tracking();
    }

    /// A crashed node comes back with fresh state and starts up.
    pub(super) fn restart(&mut self, node: usize) {
        let n = &mut self.nodes[node];
        n.router = router(n.params.clone());
        n.alive = true;
        n.holds_addresses = false;
        self.startup(node);
    }

    /// A hitless upgrade of `node`'s daemon: its machine goes through the
    /// handover's JSON and carries on from what comes back.
    pub(super) fn hand_over(&mut self, node: usize) {
        let router = &mut self.nodes[node].router;
        assert!(router.poll_action().is_none(), "outputs are drained before a snapshot");
        let json = serde_json::to_string(router).expect("a router serializes");
        *router = serde_json::from_str(&json).expect("and comes back");
        self.settle();
    }

    /// Graceful stop: the router runs its shutdown (priority 0 if Master).
    pub(super) fn shutdown(&mut self, node: usize) {
        let now = self.now;
        self.nodes[node].router.shutdown(now);
        self.settle();
    }

    pub(super) fn link_down(&mut self, node: usize) {
        let now = self.now;
        self.nodes[node].link_up = false;
        self.nodes[node].router.interface_down(now);
        self.settle();
    }

    pub(super) fn link_up(&mut self, node: usize) {
        let now = self.now;
        self.nodes[node].link_up = true;
        self.nodes[node].router.interface_up(now);
        self.settle();
    }

    pub(super) fn set_priority_offset(&mut self, node: usize, offset: i16) {
        let now = self.now;
        self.nodes[node].router.set_priority_offset(now, offset);
        self.settle();
    }

    /// Runs until `at` (since start).
    pub(super) fn run_until(&mut self, at: Duration) {
        let end = self.start + at;
        loop {
            let next_timer = (self.nodes.iter())
                .filter(|n| n.alive)
                .filter_map(|n| n.router.poll_timeout())
                .min();
            let next_packet = self.in_flight.iter().map(|p| p.arrive).min();
            let Some(next) = next_timer.into_iter().chain(next_packet).min() else { break };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            self.deliver();
            let now = self.now;
            for node in self.nodes.iter_mut().filter(|n| n.alive) {
                if node.router.poll_timeout().is_some_and(|due| due <= now) {
                    node.router.handle_timeout(now);
                }
            }
            self.settle();
        }
        self.now = self.now.max(end);
        self.update_master_tracking();
    }

    /// Runs for `duration` more.
    pub(super) fn run_for(&mut self, duration: Duration) {
        self.run_until(self.elapsed() + duration);
    }

    fn deliver(&mut self) {
        let now = self.now;
        let mut due: Vec<Packet> = vec![];
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight[i].arrive <= now {
                due.push(self.in_flight.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|p| (p.arrive, p.seq));
        let elapsed = self.elapsed();
        for packet in due {
            let node = &mut self.nodes[packet.to];
            if !node.alive || !node.link_up {
                continue;
            }
            let meta = IpMeta { src: packet.src, dst: VRRP_MULTICAST_V4, ttl: VRRP_TTL };
            let advert =
                Advertisement::decode(&packet.bytes, &meta).expect("sim sends valid adverts");
            node.last_heard = Some(elapsed);
            node.router.handle_advert(now, packet.src, &advert);
        }
    }

    /// Drains every router's actions, sending adverts and checking
    /// invariants, until none is left.
    fn settle(&mut self) {
        let now = self.now;
        let elapsed = self.elapsed();
        for index in 0..self.nodes.len() {
            while let Some(action) = self.nodes[index].router.poll_action() {
                match action {
                    Action::SendAdvert(advert) => self.send(index, &advert),
                    Action::AddAddresses(_) => {
                        assert!(!self.nodes[index].holds_addresses, "node {index} adds twice");
                        self.nodes[index].holds_addresses = true;
                    }
                    Action::RemoveAddresses(_) => {
                        assert!(self.nodes[index].holds_addresses, "node {index} removes twice");
                        self.nodes[index].holds_addresses = false;
                    }
                    Action::SendGratuitousArp { .. } => {}
                    Action::Transition { at, from, to, reason } => {
                        assert_eq!(at, now);
                        self.log.push(Logged { at: elapsed, node: index, from, to, reason });
                    }
                }
            }
            let node = &self.nodes[index];
            assert_eq!(
                node.holds_addresses,
                node.router.state() == State::Master,
                "node {index} holds the addresses iff Master"
            );
        }
        self.update_master_tracking();
    }

    fn send(&mut self, from: usize, advert: &Advertisement) {
        if !self.nodes[from].alive || !self.nodes[from].link_up {
            return;
        }
        let src = self.nodes[from].params.primary_address;
        let bytes = advert.encode(src, VRRP_MULTICAST_V4).expect("router builds valid adverts");
        for to in (0..self.nodes.len()).filter(|&to| to != from) {
            if self.lose() {
                self.dropped += 1;
                continue;
            }
            self.seq += 1;
            self.in_flight.push(Packet {
                arrive: self.now + self.latency,
                seq: self.seq,
                to,
                src,
                bytes: bytes.clone(),
            });
        }
    }

    /// xorshift64: deterministic per seed.
    fn lose(&mut self) -> bool {
        if self.loss_per_mille == 0 {
            return false;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % 1000 < u64::from(self.loss_per_mille)
    }

    /// Crashed routers keep their last state but do not count as Master.
    fn update_master_tracking(&mut self) {
        let masters =
            (self.nodes.iter()).filter(|n| n.alive && n.router.state() == State::Master).count();
        match (masters > 1, self.multi_master_since) {
            (true, None) => self.multi_master_since = Some(self.now),
            (_, Some(since)) => {
                self.longest_multi_master = self.longest_multi_master.max(self.now - since);
                if masters <= 1 {
                    self.multi_master_since = None;
                }
            }
            (false, None) => {}
        }
    }
}
