//! VIP steering (ebpf `vip_steering`, an `SK_LOOKUP` program attached to a
//! balancer's network namespace): the tables it shares with the daemon and
//! the decision it takes for each new TCP connection.
//!
//! `STEERING_FRONTENDS` maps a destination (IPv4 address, port, protocol)
//! to a frontend slot; address 0.0.0.0 stands for "any local address" (a
//! `*:PORT` bind) and is looked up when the exact address has no entry.
//! `STEERING_SOCKETS[slot]` holds the frontend's listening socket,
//! `STEERING_OWNERSHIP[address]` says whether this balancer owns a VRRP
//! virtual address (1) or not (0); an address without an entry is not a
//! VIP and always owned. `STEERING_COUNTERS[slot]` counts the outcomes.

/// `IPPROTO_TCP`: the only protocol steered for now.
pub const IPPROTO_TCP: u8 = 6;
/// Most frontends (listening sockets) one balancer steers to.
pub const STEERING_MAX_FRONTENDS: u32 = 64;
/// Most (address, port) keys: every frontend times its VIPs and wildcard.
pub const STEERING_MAX_KEYS: u32 = 1024;
/// Most VRRP virtual addresses with an ownership entry.
pub const STEERING_MAX_VIPS: u32 = 256;
/// Wildcard address of a `*:PORT` frontend key.
pub const ANY_ADDRESS: [u8; 4] = [0; 4];
/// `STEERING_OWNERSHIP` values.
pub const OWNED: u32 = 1;
pub const NOT_OWNED: u32 = 0;

/// Key of `STEERING_FRONTENDS`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SteeringKey {
    /// Destination address (network order octets); 0.0.0.0: any local address.
    pub addr: [u8; 4],
    /// Destination port, host order (as `bpf_sk_lookup.local_port`).
    pub port: u16,
    /// [`IPPROTO_TCP`].
    pub protocol: u8,
    pub _pad: u8,
}

impl SteeringKey {
    #[must_use]
    pub const fn tcp(addr: [u8; 4], port: u16) -> Self {
        Self { addr, port, protocol: IPPROTO_TCP, _pad: 0 }
    }
}

/// Value of `STEERING_COUNTERS` (per CPU, one slot per frontend).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SteeringCounters {
    /// Connections assigned to the frontend's listening socket.
    pub steered: u64,
    /// No socket in `STEERING_SOCKETS` for the slot: left to the normal lookup.
    pub no_socket: u64,
    /// Destination is a VIP this balancer does not own: refused (`SK_DROP`).
    pub refused: u64,
    /// A socket was there but `bpf_sk_assign` failed: left to the normal lookup.
    pub assign_failed: u64,
}

/// What the program does with a connection to a configured frontend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SteeringVerdict {
    /// Assign the frontend's socket (`SK_PASS` with the socket selected).
    Assign,
    /// Refuse: a VIP we do not own (`SK_DROP`).
    Refuse,
}

/// The decision for a destination that matched a frontend, given its
/// ownership entry (`None`: not a VIP, always owned).
#[must_use]
pub const fn steering_verdict(ownership: Option<u32>) -> SteeringVerdict {
    match ownership {
        Some(NOT_OWNED) => SteeringVerdict::Refuse,
        _ => SteeringVerdict::Assign,
    }
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: repr(C), 4 + 2 + 1 + 1 bytes, explicit padding.
    unsafe impl aya::Pod for super::SteeringKey {}
    // SAFETY: repr(C), four u64, no padding.
    unsafe impl aya::Pod for super::SteeringCounters {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_have_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<SteeringKey>(), 8);
        assert_eq!(core::mem::size_of::<SteeringCounters>(), 32);
    }

    #[test]
    fn only_a_vip_we_do_not_own_is_refused() {
        assert_eq!(steering_verdict(None), SteeringVerdict::Assign);
        assert_eq!(steering_verdict(Some(OWNED)), SteeringVerdict::Assign);
        assert_eq!(steering_verdict(Some(NOT_OWNED)), SteeringVerdict::Refuse);
    }
}
