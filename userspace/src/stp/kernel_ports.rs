//! Keeping the kernel bridge's port states in line with the protocol's,
//! as a pure policy: no sockets, no clock. The driver tells it what the
//! kernel reported (carrier, the port state the kernel announces, whether
//! a write was refused) and hands it the protocol's port states; it answers
//! with the kernel port states to write ([`Write`]). Time is an argument.
//!
//! Why the kernel needs watching at all: the `stp_port_*` programs enforce
//! the protocol's state whatever the kernel does, but the kernel's port
//! state is what `bridge link show` prints and what makes it learn, and the
//! kernel changes it on its own. A port whose carrier comes up goes
//! FORWARDING; so does every port with carrier when the bridge device comes
//! up; a DISABLED port that gets a `NETDEV_CHANGE` is re-enabled as
//! FORWARDING. And it refuses a write (ENETDOWN) until linkwatch has marked
//! a fresh link operationally up. So a refused write is retried on every
//! timer tick (at least every [`KERNEL_RETRY`]) and on the port's next link
//! event, and a state the kernel changed is written back.
//!
//! The kernel's state type `K` and the map onto it are the caller's (the
//! daemon: rtnetlink's bridge port state, `net::bridge::kernel_state`), so
//! the policy and its tests do not depend on netlink.

use std::time::{Duration, Instant};

use super::port::PortState;

/// How soon a kernel port state the kernel refused is tried again.
pub const KERNEL_RETRY: Duration = Duration::from_millis(200);

/// Write kernel state `state` on port `port`; report the outcome with
/// [`KernelPorts::written`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Write<K> {
    pub port: usize,
    pub state: K,
}

/// Which side of a port's state change goes first, so that a port never
/// opens in one place before the other agrees: closing writes the map
/// (which takes effect at once) first, opening writes the kernel first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    MapFirst,
    KernelFirst,
}

impl Order {
    #[must_use]
    pub fn of(state: PortState) -> Self {
        if state.openness() > 0 {
            Order::KernelFirst
        } else {
            Order::MapFirst
        }
    }
}

/// What a port's link notification means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortLink<K> {
    /// Carrier came up: feed the protocol `port_up`, apply what it asks,
    /// then write [`KernelPorts::write`] of the port's state by then (the
    /// kernel made the port FORWARDING).
    CameUp,
    /// Carrier went down: feed the protocol `port_down`.
    WentDown,
    /// Carrier unchanged and the kernel out of line: it refused the last
    /// write, or changed the state to `drifted_from`.
    Resync { write: Write<K>, drifted_from: Option<K> },
    /// Carrier unchanged, nothing to do.
    InLine,
}

/// The kernel's side of every port of one bridge.
#[derive(Clone, Debug)]
pub struct KernelPorts<K> {
    to_kernel: fn(PortState) -> K,
    carrier: Vec<bool>,
    /// Ports whose last write the kernel refused.
    pending: Vec<bool>,
    bridge_up: bool,
}

impl<K: Copy + Eq> KernelPorts<K> {
    /// `carrier` per port and the bridge device's state as the kernel
    /// reports them at start; no write is pending yet.
    #[must_use]
    pub fn new(to_kernel: fn(PortState) -> K, carrier: Vec<bool>, bridge_up: bool) -> Self {
        let pending = vec![false; carrier.len()];
        KernelPorts { to_kernel, carrier, pending, bridge_up }
    }

    /// Whether `port` has carrier, as last reported.
    #[must_use]
    pub fn carrier(&self, port: usize) -> bool {
        self.carrier[port]
    }

    /// The write that puts `port` in line with protocol state `state`.
    #[must_use]
    pub fn write(&self, port: usize, state: PortState) -> Write<K> {
        Write { port, state: (self.to_kernel)(state) }
    }

    /// The outcome of a write on `port`. Returns true when a refusal is
    /// news (the port was in line before), for logging it once.
    pub fn written(&mut self, port: usize, accepted: bool) -> bool {
        let news = !accepted && !self.pending[port];
        self.pending[port] = !accepted;
        news
    }

    /// When the refused writes are due again; `None` when there are none.
    #[must_use]
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        self.pending.iter().any(|pending| *pending).then(|| now + KERNEL_RETRY)
    }

    /// A timer fired: retry every refused write, with the protocol's
    /// `states` now.
    #[must_use]
    pub fn handle_timeout(&self, states: &[PortState]) -> Vec<Write<K>> {
        (0..self.pending.len())
            .filter(|port| self.pending[*port])
            .map(|port| self.write(port, states[port]))
            .collect()
    }

    /// The bridge device's link changed: when it came up, the kernel
    /// re-enabled every port with carrier as FORWARDING, so every port is
    /// written again.
    pub fn handle_bridge_link(&mut self, running: bool, states: &[PortState]) -> Vec<Write<K>> {
        let came_up = running && !self.bridge_up;
        self.bridge_up = running;
        if !came_up {
            return Vec::new();
        }
        (0..self.carrier.len()).map(|port| self.write(port, states[port])).collect()
    }

    /// A link notification for `port`: its carrier (`running`), the state
    /// the kernel announced if it did, and the protocol's state of it now.
    pub fn handle_port_link(
        &mut self,
        port: usize,
        running: bool,
        reported: Option<K>,
        state: PortState,
    ) -> PortLink<K> {
        if self.carrier[port] != running {
            self.carrier[port] = running;
            return if running { PortLink::CameUp } else { PortLink::WentDown };
        }
        let write = self.write(port, state);
        let drifted_from = reported.filter(|reported| *reported != write.state);
        if running && (self.pending[port] || drifted_from.is_some()) {
            PortLink::Resync { write, drifted_from }
        } else {
            PortLink::InLine
        }
    }

    /// When the kernel's STP takes the bridge back: the ports it must
    /// restart (re-initialise from BLOCKING), those with carrier that halb
    /// kept discarding, which the kernel's STP would leave DISABLED until
    /// their link goes down and up.
    #[must_use]
    pub fn to_restart(&self, states: &[PortState]) -> Vec<usize> {
        let discarding = (self.to_kernel)(PortState::Disabled);
        (0..self.carrier.len())
            .filter(|port| self.carrier[*port] && (self.to_kernel)(states[*port]) == discarding)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::{KernelPorts, Order, PortLink, PortState, Write, KERNEL_RETRY};

    /// The kernel states the daemon uses: every discarding state is DISABLED.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Kernel {
        Disabled,
        Learning,
        Forwarding,
    }

    fn kernel(state: PortState) -> Kernel {
        match state.openness() {
            0 => Kernel::Disabled,
            1 => Kernel::Learning,
            _ => Kernel::Forwarding,
        }
    }

    /// Two ports with carrier on an up bridge.
    fn two_ports() -> KernelPorts<Kernel> {
        KernelPorts::new(kernel, vec![true, true], true)
    }

    #[test]
    fn a_refused_write_is_retried_on_the_timer_until_accepted() {
        let mut ports = two_ports();
        let now = Instant::now();
        assert_eq!(ports.poll_timeout(now), None, "nothing refused yet");
        assert!(ports.written(1, false), "the first refusal is news");
        assert!(!ports.written(1, false), "the second is not");
        assert_eq!(ports.poll_timeout(now), Some(now + KERNEL_RETRY));
        let states = [PortState::Forwarding, PortState::Learning];
        assert_eq!(ports.handle_timeout(&states), vec![Write { port: 1, state: Kernel::Learning }]);
        assert!(!ports.written(1, true));
        assert_eq!(ports.poll_timeout(now), None);
        assert!(ports.handle_timeout(&states).is_empty());
    }

    #[test]
    fn a_state_the_kernel_changed_is_written_back() {
        let mut ports = two_ports();
        let link = ports.handle_port_link(0, true, Some(Kernel::Forwarding), PortState::Discarding);
        assert_eq!(
            link,
            PortLink::Resync {
                write: Write { port: 0, state: Kernel::Disabled },
                drifted_from: Some(Kernel::Forwarding),
            }
        );
        let same = ports.handle_port_link(0, true, Some(Kernel::Disabled), PortState::Blocking);
        assert_eq!(same, PortLink::InLine, "every discarding state is DISABLED in the kernel");
        assert_eq!(ports.handle_port_link(0, true, None, PortState::Forwarding), PortLink::InLine);
    }

    #[test]
    fn a_refused_write_is_retried_on_the_ports_next_link_event_with_carrier() {
        let mut ports = two_ports();
        ports.written(0, false);
        let write = Write { port: 0, state: Kernel::Forwarding };
        assert_eq!(
            ports.handle_port_link(0, true, None, PortState::Forwarding),
            PortLink::Resync { write, drifted_from: None }
        );
        ports.handle_port_link(0, false, None, PortState::Forwarding);
        assert_eq!(
            ports.handle_port_link(0, false, Some(Kernel::Disabled), PortState::Disabled),
            PortLink::InLine,
            "no write without carrier"
        );
    }

    #[test]
    fn carrier_changes_go_to_the_protocol() {
        let mut ports = two_ports();
        assert_eq!(
            ports.handle_port_link(1, false, None, PortState::Forwarding),
            PortLink::WentDown
        );
        assert!(!ports.carrier(1));
        assert_eq!(ports.handle_port_link(1, true, None, PortState::Disabled), PortLink::CameUp);
        assert!(ports.carrier(1));
    }

    #[test]
    fn every_port_is_written_again_when_the_bridge_comes_up() {
        let mut ports = two_ports();
        let states = [PortState::Discarding, PortState::Forwarding];
        assert!(ports.handle_bridge_link(true, &states).is_empty(), "it was up already");
        assert!(ports.handle_bridge_link(false, &states).is_empty());
        assert_eq!(
            ports.handle_bridge_link(true, &states),
            vec![
                Write { port: 0, state: Kernel::Disabled },
                Write { port: 1, state: Kernel::Forwarding },
            ]
        );
    }

    #[test]
    fn the_kernels_stp_restarts_the_discarding_ports_with_carrier() {
        let mut ports = KernelPorts::new(kernel, vec![true, true, false], true);
        ports.handle_port_link(1, true, None, PortState::Forwarding);
        let states = [PortState::Blocking, PortState::Forwarding, PortState::Discarding];
        assert_eq!(ports.to_restart(&states), vec![0], "port 2 has no carrier");
    }

    #[test]
    fn closing_writes_the_map_first_and_opening_the_kernel_first() {
        for state in [PortState::Disabled, PortState::Blocking, PortState::Discarding] {
            assert_eq!(Order::of(state), Order::MapFirst, "{state:?}");
        }
        assert_eq!(Order::of(PortState::Learning), Order::KernelFirst);
        assert_eq!(Order::of(PortState::Forwarding), Order::KernelFirst);
    }
}
