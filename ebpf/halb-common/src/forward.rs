//! Segment forwarding after a planned VIP move (ebpf `segment_forward`, TC
//! ingress on a balancer's VRRP interfaces): the tables it shares with the
//! daemon and the decision it takes for each frame.
//!
//! `FORWARD_VIPS` has one entry per VRRP virtual address of the balancer,
//! written by the VRRP driver: [`VIP_NO_PREVIOUS_MASTER`] (nothing to do),
//! [`VIP_FORWARD`] (this balancer is the new master and `mac` is the
//! previous master, a halb balancer still draining) or [`VIP_DRAINING`]
//! (this balancer is the previous master: it keeps the address for its
//! established connections and must not answer ARP for it).
//! `FORWARD_PEERS` holds the MACs of every halb balancer a handoff was
//! exchanged with: a frame from one of them is never forwarded again, so a
//! segment crosses at most one extra hop even if two balancers each think
//! the other owns the connection. `FORWARD_COUNTERS` counts outcomes.

/// Most VRRP virtual addresses with an entry.
pub const FORWARD_MAX_VIPS: u32 = 256;
/// Most halb peers remembered.
pub const FORWARD_MAX_PEERS: u32 = 64;

/// `ForwardEntry::mode`: a VIP with no previous master to forward to.
pub const VIP_NO_PREVIOUS_MASTER: u32 = 0;
/// `ForwardEntry::mode`: forward stray segments to `mac`.
pub const VIP_FORWARD: u32 = 1;
/// `ForwardEntry::mode`: this balancer drains the VIP (ARP requests for it dropped).
pub const VIP_DRAINING: u32 = 2;

/// Value of `FORWARD_VIPS` (key: the VIP, network order octets).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForwardEntry {
    /// [`VIP_NO_PREVIOUS_MASTER`], [`VIP_FORWARD`] or [`VIP_DRAINING`].
    pub mode: u32,
    /// [`VIP_FORWARD`]: the previous master's MAC on this interface.
    pub mac: [u8; 6],
    pub _pad: [u8; 2],
}

/// Key of `FORWARD_PEERS`: a halb balancer's MAC.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ForwardPeer {
    pub mac: [u8; 6],
    pub _pad: [u8; 2],
}

impl ForwardPeer {
    #[must_use]
    pub const fn new(mac: [u8; 6]) -> Self {
        Self { mac, _pad: [0; 2] }
    }
}

keyed_enum! {
    /// What `segment_forward` did (index of `FORWARD_COUNTERS`).
    pub enum ForwardOutcome {
        /// A segment of a connection of the previous master, sent to it.
        Forwarded = 0 => "forwarded",
        /// A segment for a VIP with no local socket and no previous master: passed (the kernel resets it).
        NoPreviousMaster = 1 => "no_previous_master",
        /// Would have been forwarded but came from a halb peer: passed, never forwarded twice.
        LoopRefused = 2 => "loop_refused",
        /// A SYN (a new connection): passed to the local stack.
        NewConnection = 3 => "new_connection",
        /// A local socket holds the connection: passed.
        LocalSocket = 4 => "local_socket",
        /// `bpf_redirect` refused: passed.
        RedirectFailed = 5 => "redirect_failed",
        /// An ARP request for a VIP this balancer drains: dropped.
        ArpSilenced = 6 => "arp_silenced",
    }
}

/// What `bpf_skc_lookup_tcp` found for a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalSocket {
    /// No socket, or only a listener (a listener takes SYNs, not segments
    /// of an established connection).
    None,
    /// An established, request or time-wait socket: the connection is ours.
    Connection,
}

/// The decision for a TCP segment to a VIP with entry `entry`. `syn`: the
/// SYN flag is set without ACK; `from_peer`: the frame's source MAC is a
/// halb peer's.
#[must_use]
pub const fn forward_outcome(
    entry: ForwardEntry,
    syn: bool,
    socket: LocalSocket,
    from_peer: bool,
) -> ForwardOutcome {
    if syn {
        return ForwardOutcome::NewConnection;
    }
    if matches!(socket, LocalSocket::Connection) {
        return ForwardOutcome::LocalSocket;
    }
    if entry.mode != VIP_FORWARD {
        return ForwardOutcome::NoPreviousMaster;
    }
    if from_peer {
        return ForwardOutcome::LoopRefused;
    }
    ForwardOutcome::Forwarded
}

/// `TCP_LISTEN` from the kernel's `tcp_states.h`, as `bpf_sock.state` shows it.
pub const TCP_LISTEN: u32 = 10;

/// What a socket state from `bpf_skc_lookup_tcp` means for forwarding.
#[must_use]
pub const fn local_socket(state: Option<u32>) -> LocalSocket {
    match state {
        None | Some(TCP_LISTEN) => LocalSocket::None,
        Some(_) => LocalSocket::Connection,
    }
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: repr(C), 4 + 6 + 2 bytes, explicit padding.
    unsafe impl aya::Pod for super::ForwardEntry {}
    // SAFETY: repr(C), 6 + 2 bytes, explicit padding.
    unsafe impl aya::Pod for super::ForwardPeer {}
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREVIOUS: ForwardEntry =
        ForwardEntry { mode: VIP_FORWARD, mac: [2, 0, 0, 0, 0, 1], _pad: [0; 2] };
    const NONE: ForwardEntry =
        ForwardEntry { mode: VIP_NO_PREVIOUS_MASTER, mac: [0; 6], _pad: [0; 2] };

    #[test]
    fn layouts_have_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<ForwardEntry>(), 12);
        assert_eq!(core::mem::size_of::<ForwardPeer>(), 8);
    }

    #[test]
    fn a_syn_is_never_forwarded() {
        assert_eq!(
            forward_outcome(PREVIOUS, true, LocalSocket::None, false),
            ForwardOutcome::NewConnection
        );
    }

    #[test]
    fn a_stray_segment_goes_to_the_previous_master_once() {
        assert_eq!(
            forward_outcome(PREVIOUS, false, LocalSocket::None, false),
            ForwardOutcome::Forwarded
        );
        assert_eq!(
            forward_outcome(PREVIOUS, false, LocalSocket::None, true),
            ForwardOutcome::LoopRefused
        );
        assert_eq!(
            forward_outcome(PREVIOUS, false, LocalSocket::Connection, false),
            ForwardOutcome::LocalSocket
        );
        assert_eq!(
            forward_outcome(NONE, false, LocalSocket::None, false),
            ForwardOutcome::NoPreviousMaster
        );
        let draining = ForwardEntry { mode: VIP_DRAINING, ..NONE };
        assert_eq!(
            forward_outcome(draining, false, LocalSocket::None, false),
            ForwardOutcome::NoPreviousMaster
        );
    }

    #[test]
    fn a_listener_is_not_a_connection() {
        assert_eq!(local_socket(None), LocalSocket::None);
        assert_eq!(local_socket(Some(TCP_LISTEN)), LocalSocket::None);
        assert_eq!(local_socket(Some(1)), LocalSocket::Connection);
        assert_eq!(local_socket(Some(6)), LocalSocket::Connection);
        assert_eq!(local_socket(Some(12)), LocalSocket::Connection);
    }
}
