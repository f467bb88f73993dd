//! A simulated network of bridges with point-to-point links and a virtual
//! clock, driving each [`Bridge`] the way the daemon would.
//!
//! Each step jumps the clock to the earliest of: a bridge's
//! `poll_timeout`, a frame's arrival, or the end of the run. BPDUs go
//! through the real codec (encoded at the sender, decoded at the receiver)
//! and arrive after the link's latency unless the link went down or the
//! receiver crashed. Port states are what the bridges asked for with
//! `SetPortState`. After every step the harness asserts that the links
//! forwarding at both ends form no loop, and it records when the last
//! state or role change happened (convergence time).

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use super::bridge;
use crate::stp::{Action, Bpdu, Bridge, Event, Flags, Params, PortState, Role};

/// One logged event, `at` relative to the start of the run.
#[derive(Clone, Debug)]
pub(super) struct Logged {
    pub(super) at: Duration,
    pub(super) bridge: usize,
    pub(super) port: Option<usize>,
    pub(super) event: Event,
}

struct Node {
    name: &'static str,
    params: Params,
    bridge: Bridge,
    alive: bool,
    /// What the driver applied, per port.
    states: Vec<PortState>,
    flushes: u64,
}

#[derive(Clone, Copy)]
struct Link {
    a: (usize, usize),
    b: (usize, usize),
    latency: Duration,
    up: bool,
}

struct Frame {
    arrive: Instant,
    seq: u64,
    link: usize,
    to: (usize, usize),
    bytes: Vec<u8>,
}

pub(super) struct Net {
    start: Instant,
    now: Instant,
    seq: u64,
    nodes: Vec<Node>,
    links: Vec<Link>,
    in_flight: Vec<Frame>,
    pub(super) log: Vec<Logged>,
    /// Last time (since start) a port changed state or role.
    pub(super) last_change: Duration,
    pub(super) loop_checks: u64,
    pub(super) bpdus: u64,
    pub(super) tcns: u64,
    /// Configuration BPDUs with the TC ack flag.
    pub(super) tc_acks: u64,
}

impl Net {
    pub(super) fn new() -> Self {
        let start = Instant::now();
        Net {
            start,
            now: start,
            seq: 0,
            nodes: vec![],
            links: vec![],
            in_flight: vec![],
            log: vec![],
            last_change: Duration::ZERO,
            loop_checks: 0,
            bpdus: 0,
            tcns: 0,
            tc_acks: 0,
        }
    }

    pub(super) fn add(&mut self, name: &'static str, params: Params) -> usize {
        let ports = params.ports.len();
        self.nodes.push(Node {
            name,
            bridge: bridge(params.clone()),
            params,
            alive: true,
            states: vec![PortState::Disabled; ports],
            flushes: 0,
        });
        self.nodes.len() - 1
    }

    /// Cables port `pa` of `a` to port `pb` of `b` (ports are indexes).
    pub(super) fn link(
        &mut self,
        a: (usize, usize),
        b: (usize, usize),
        latency: Duration,
    ) -> usize {
        self.links.push(Link { a, b, latency, up: false });
        self.links.len() - 1
    }

    pub(super) fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub(super) fn bridge(&self, node: usize) -> &Bridge {
        &self.nodes[node].bridge
    }

    pub(super) fn role(&self, node: usize, port: usize) -> Role {
        self.nodes[node].bridge.status().ports[port].role
    }

    pub(super) fn state(&self, node: usize, port: usize) -> PortState {
        self.nodes[node].states[port]
    }

    pub(super) fn flushes(&self, node: usize) -> u64 {
        self.nodes[node].flushes
    }

    /// A hitless upgrade of `node`'s daemon: its bridge goes through the
    /// handover's JSON and carries on from what comes back.
    pub(super) fn hand_over(&mut self, node: usize) {
        let bridge = &mut self.nodes[node].bridge;
        assert!(bridge.poll_action().is_none(), "outputs are drained before a snapshot");
        let json = serde_json::to_string(bridge).expect("a bridge serializes");
        *bridge = serde_json::from_str(&json).expect("and comes back");
    }

    /// Brings every link up (both ends, point to point).
    pub(super) fn start(&mut self) {
        for link in 0..self.links.len() {
            self.link_up(link);
        }
    }

    pub(super) fn link_up(&mut self, link: usize) {
        self.links[link].up = true;
        let Link { a, b, .. } = self.links[link];
        let now = self.now;
        for (node, port) in [a, b] {
            if self.nodes[node].alive {
                self.nodes[node].bridge.port_up(now, port, true);
            }
        }
        self.settle();
    }

    /// Carrier loss: both ends see the port go down.
    pub(super) fn link_down(&mut self, link: usize) {
        self.links[link].up = false;
        let Link { a, b, .. } = self.links[link];
        let now = self.now;
        for (node, port) in [a, b] {
            if self.nodes[node].alive {
                self.nodes[node].bridge.port_down(now, port);
            }
        }
        self.settle();
    }

    /// The bridge dies and its links lose carrier.
    pub(super) fn power_off(&mut self, node: usize) {
        for link in 0..self.links.len() {
            let Link { a, b, up, .. } = self.links[link];
            if up && (a.0 == node || b.0 == node) {
                self.link_down(link);
            }
        }
        self.nodes[node].alive = false;
        self.nodes[node].states.fill(PortState::Disabled);
    }

    /// The bridge hangs silently: carrier stays up, no more BPDUs.
    pub(super) fn hang(&mut self, node: usize) {
        self.nodes[node].alive = false;
        self.nodes[node].states.fill(PortState::Disabled);
    }

    /// A dead bridge boots again with fresh state.
    pub(super) fn power_on(&mut self, node: usize) {
        let n = &mut self.nodes[node];
        n.bridge = bridge(n.params.clone());
        n.alive = true;
        for link in 0..self.links.len() {
            let Link { a, b, .. } = self.links[link];
            if a.0 == node || b.0 == node {
                self.link_up(link);
            }
        }
    }

    pub(super) fn run_until(&mut self, at: Duration) {
        let end = self.start + at;
        loop {
            let next_timer = (self.nodes.iter())
                .filter(|n| n.alive)
                .filter_map(|n| n.bridge.poll_timeout())
                .min();
            let next_frame = self.in_flight.iter().map(|f| f.arrive).min();
            let Some(next) = next_timer.into_iter().chain(next_frame).min() else { break };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            self.deliver();
            let now = self.now;
            for node in self.nodes.iter_mut().filter(|n| n.alive) {
                if node.bridge.poll_timeout().is_some_and(|due| due <= now) {
                    node.bridge.handle_timeout(now);
                }
            }
            self.settle();
        }
        self.now = self.now.max(end);
    }

    pub(super) fn run_for(&mut self, duration: Duration) {
        self.run_until(self.elapsed() + duration);
    }

    fn deliver(&mut self) {
        let now = self.now;
        let mut due = vec![];
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight[i].arrive <= now {
                due.push(self.in_flight.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|f| (f.arrive, f.seq));
        for frame in due {
            let (node, port) = frame.to;
            if !self.links[frame.link].up || !self.nodes[node].alive {
                continue;
            }
            let bpdu = Bpdu::decode(&frame.bytes).expect("bridges send valid BPDUs");
            self.nodes[node].bridge.handle_bpdu(now, port, &bpdu);
            self.settle();
        }
    }

    /// Applies every bridge's actions, then checks for loops.
    fn settle(&mut self) {
        let elapsed = self.elapsed();
        for index in 0..self.nodes.len() {
            while let Some(action) = self.nodes[index].bridge.poll_action() {
                if !self.nodes[index].alive {
                    continue;
                }
                match action {
                    Action::SendBpdu { port, bpdu } => self.send(index, port, &bpdu),
                    Action::SetPortState { port, state } => {
                        self.nodes[index].states[port] = state;
                        self.last_change = elapsed;
                        self.check_loops();
                    }
                    Action::FlushFdb { .. } => self.nodes[index].flushes += 1,
                    Action::Transition { at, port, event } => {
                        assert_eq!(at, self.now);
                        if matches!(event, Event::RoleChanged { .. }) {
                            self.last_change = elapsed;
                        }
                        self.log.push(Logged { at: elapsed, bridge: index, port, event });
                    }
                }
            }
        }
        self.check_loops();
    }

    fn send(&mut self, node: usize, port: usize, bpdu: &Bpdu) {
        let Some(link) = (0..self.links.len()).find(|&l| {
            let Link { a, b, up, .. } = self.links[l];
            up && (a == (node, port) || b == (node, port))
        }) else {
            return;
        };
        let Link { a, b, latency, .. } = self.links[link];
        let to = if a == (node, port) { b } else { a };
        self.seq += 1;
        self.bpdus += 1;
        match bpdu {
            Bpdu::Tcn => self.tcns += 1,
            Bpdu::Config(info) if info.flags.has(Flags::TC_ACK) => self.tc_acks += 1,
            _ => {}
        }
        self.in_flight.push(Frame {
            arrive: self.now + latency,
            seq: self.seq,
            link,
            to,
            bytes: bpdu.encode(),
        });
    }

    /// Links that carry traffic: up, both ends alive and forwarding.
    pub(super) fn forwarding_links(&self) -> Vec<usize> {
        (0..self.links.len())
            .filter(|&l| {
                let Link { a, b, up, .. } = self.links[l];
                up && [a, b].iter().all(|&(n, p)| {
                    self.nodes[n].alive && self.nodes[n].states[p] == PortState::Forwarding
                })
            })
            .collect()
    }

    /// Union-find over bridges: a forwarding link between two bridges
    /// already connected by forwarding links closes a loop.
    fn check_loops(&mut self) {
        self.loop_checks += 1;
        let mut parent: Vec<usize> = (0..self.nodes.len()).collect();
        for link in self.forwarding_links() {
            let Link { a, b, .. } = self.links[link];
            let (ra, rb) = (find(&mut parent, a.0), find(&mut parent, b.0));
            assert_ne!(
                ra,
                rb,
                "loop at {:?}: forwarding links {}",
                self.elapsed(),
                self.describe(&self.forwarding_links())
            );
            parent[ra] = rb;
        }
    }

    /// Whether the forwarding links connect every live bridge that the up
    /// links connect (a spanning tree of each physical component).
    pub(super) fn spans(&self) -> bool {
        let components = |links: &[usize]| {
            let mut label: Vec<usize> = (0..self.nodes.len()).collect();
            for _ in 0..self.nodes.len() {
                for &l in links {
                    let Link { a, b, .. } = self.links[l];
                    let low = label[a.0].min(label[b.0]);
                    label[a.0] = low;
                    label[b.0] = low;
                }
            }
            label
        };
        let up: Vec<usize> = (0..self.links.len())
            .filter(|&l| {
                let Link { a, b, up, .. } = self.links[l];
                up && self.nodes[a.0].alive && self.nodes[b.0].alive
            })
            .collect();
        components(&up) == components(&self.forwarding_links())
    }

    pub(super) fn describe(&self, links: &[usize]) -> String {
        let names: Vec<String> = (links.iter())
            .map(|&l| {
                let Link { a, b, .. } = self.links[l];
                format!("{}-{}", self.nodes[a.0].name, self.nodes[b.0].name)
            })
            .collect();
        names.join(", ")
    }

    /// `bridge:port role/state` for every live port, for failure messages.
    pub(super) fn dump(&self) -> String {
        let mut out = String::new();
        for node in self.nodes.iter().filter(|n| n.alive) {
            let status = node.bridge.status();
            let _ = write!(
                out,
                "{} root {} cost {}:",
                node.name, status.root_id, status.root_path_cost
            );
            for (port, ps) in status.ports.iter().enumerate() {
                let _ = write!(out, " {}={}/{}", ps.name, ps.role, node.states[port]);
            }
            out += "\n";
        }
        out
    }

    /// Events logged since `since`.
    pub(super) fn events_since(&self, since: Duration) -> impl Iterator<Item = &Logged> {
        self.log.iter().filter(move |e| e.at >= since)
    }
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}
