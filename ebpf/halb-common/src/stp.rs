//! STP port enforcement (`stp_port_in` / `stp_port_out`): the per-port state
//! the daemon's STP/RSTP driver writes, and the per-port counters the
//! programs keep.
//!
//! The daemon's protocol core decides each port's state; the driver writes
//! it to `STP_PORT_STATE[ifindex]` and sets the kernel bridge port state to
//! match (for `bridge link show` and for learning). The programs enforce the
//! map, not the kernel state, because the kernel puts a port straight into
//! FORWARDING on carrier-up when its own STP is off: a port without an
//! entry, or with a discarding one, passes nothing but BPDUs.
//!
//! | map state                                   | ingress             | egress              |
//! |---------------------------------------------|---------------------|---------------------|
//! | none, disabled, blocking, listening, discarding | drop             | drop                |
//! | learning                                    | pass (kernel LEARNING learns, then drops) | drop |
//! | forwarding                                  | pass                | pass                |
//!
//! BPDUs (to 01:80:c2:00:00:00 with LLC 42 42) are dropped at ingress in
//! every state, after the daemon's packet socket has seen them (packet taps
//! run before TC ingress), so the kernel bridge (STP off) never floods
//! them. At egress only BPDUs carrying [`STP_BPDU_MARK`] (set with
//! `SO_MARK` on the daemon's socket) pass; any other BPDU, e.g. one the
//! kernel floods from a port halb does not manage, is dropped.

/// `skb->mark` of the BPDUs the daemon sends ("STPD").
pub const STP_BPDU_MARK: u32 = 0x5354_5044;
/// Most ports (over every STP bridge of one datapath instance).
pub const STP_MAX_PORTS: u32 = 256;

keyed_enum! {
    /// The state of one port as the daemon set it. Discriminants are the
    /// `state` field of [`StpPortEntry`].
    pub enum StpState {
        Disabled = 0 => "disabled",
        Blocking = 1 => "blocking",
        Listening = 2 => "listening",
        Discarding = 3 => "discarding",
        Learning = 4 => "learning",
        Forwarding = 5 => "forwarding",
    }
}

/// `STP_PORT_STATE` value (key: the port's ifindex as u32).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StpPortEntry {
    /// A [`StpState`] discriminant; unknown values count as discarding.
    pub state: u32,
    /// The bridge the port belongs to (for bpftool readers).
    pub bridge_ifindex: u32,
}

/// `STP_PORT_COUNTERS` value (per CPU, key: the port's ifindex as u32).
/// Packets, by what the programs did with them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StpPortCounters {
    /// BPDUs received (seen by the daemon's socket, dropped before the bridge).
    pub bpdu_in: u64,
    /// BPDUs the daemon sent (marked), passed at egress.
    pub bpdu_out: u64,
    /// Other frames dropped at ingress: the port is not forwarding (or learning).
    pub dropped_ingress: u64,
    /// Frames dropped at egress: not forwarding, or a BPDU not sent by the daemon.
    pub dropped_egress: u64,
    /// Frames passed at ingress (forwarding or learning).
    pub passed_ingress: u64,
    /// Frames passed at egress (forwarding).
    pub passed_egress: u64,
}

impl StpPortCounters {
    /// Adds `other` (another CPU's slot).
    #[must_use]
    pub fn plus(self, other: &StpPortCounters) -> Self {
        StpPortCounters {
            bpdu_in: self.bpdu_in + other.bpdu_in,
            bpdu_out: self.bpdu_out + other.bpdu_out,
            dropped_ingress: self.dropped_ingress + other.dropped_ingress,
            dropped_egress: self.dropped_egress + other.dropped_egress,
            passed_ingress: self.passed_ingress + other.passed_ingress,
            passed_egress: self.passed_egress + other.passed_egress,
        }
    }
}

/// Which counter a verdict adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StpVerdict {
    BpduIn,
    BpduOut,
    DroppedIngress,
    DroppedEgress,
    PassedIngress,
    PassedEgress,
}

/// What the ingress program does with a frame on a port in `state`
/// (`None`: no map entry). Shared with userspace so the table above is
/// tested once, on the host.
#[must_use]
pub fn ingress_verdict(is_bpdu: bool, state: Option<u32>) -> StpVerdict {
    if is_bpdu {
        return StpVerdict::BpduIn;
    }
    match state.and_then(StpState::from_u32) {
        Some(StpState::Learning | StpState::Forwarding) => StpVerdict::PassedIngress,
        _ => StpVerdict::DroppedIngress,
    }
}

/// What the egress program does with a frame on a port in `state`;
/// `daemon_bpdu`: a BPDU carrying [`STP_BPDU_MARK`].
#[must_use]
pub fn egress_verdict(is_bpdu: bool, daemon_bpdu: bool, state: Option<u32>) -> StpVerdict {
    if is_bpdu {
        return if daemon_bpdu { StpVerdict::BpduOut } else { StpVerdict::DroppedEgress };
    }
    match state.and_then(StpState::from_u32) {
        Some(StpState::Forwarding) => StpVerdict::PassedEgress,
        _ => StpVerdict::DroppedEgress,
    }
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: repr(C), two u32, no padding.
    unsafe impl aya::Pod for super::StpPortEntry {}
    // SAFETY: repr(C), six u64, no padding.
    unsafe impl aya::Pod for super::StpPortCounters {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_have_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<StpPortEntry>(), 8);
        assert_eq!(core::mem::size_of::<StpPortCounters>(), 48);
    }

    #[test]
    fn only_forwarding_and_learning_open_ingress() {
        for state in StpState::ALL {
            let open = matches!(state, StpState::Learning | StpState::Forwarding);
            assert_eq!(
                ingress_verdict(false, Some(state as u32)) == StpVerdict::PassedIngress,
                open
            );
            assert_eq!(ingress_verdict(true, Some(state as u32)), StpVerdict::BpduIn);
            assert_eq!(
                egress_verdict(false, false, Some(state as u32)) == StpVerdict::PassedEgress,
                state == StpState::Forwarding
            );
        }
        assert_eq!(ingress_verdict(false, None), StpVerdict::DroppedIngress);
        assert_eq!(ingress_verdict(false, Some(99)), StpVerdict::DroppedIngress);
        assert_eq!(egress_verdict(false, false, None), StpVerdict::DroppedEgress);
        assert_eq!(egress_verdict(true, true, None), StpVerdict::BpduOut);
        assert_eq!(egress_verdict(true, false, Some(5)), StpVerdict::DroppedEgress);
    }
}
