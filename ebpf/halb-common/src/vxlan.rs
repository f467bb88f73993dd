//! VXLAN (RFC 7348) in eBPF: the tables the encap/decap programs share with
//! the daemon, the marks they recirculate frames with, and why they drop.
//!
//! Data flow on a host (see `ebpf/halb-ebpf/src/vxlan_encap.rs` and
//! `vxlan_decap.rs` for the kernel side):
//!
//! ```text
//!  endpoints -- internal bridge -- tunnel port ===(veth)=== peer
//!                         [vxlan_encap, TC egress]          [vxlan_encap, TC ingress:
//!                             |            ^                 non-IP frames marked "send"]
//!              redirect_neigh |            | out of the peer, GRO on the tunnel port
//!                             v            |
//!  remote VTEP <---> underlay (external bridge, VTEP address) [vxlan_decap, TC ingress]
//! ```
//!
//! The daemon writes [`VxlanConfig`] (one slot), the remote VTEPs
//! ([`VxlanRemote`] array + membership hash) and static [`VxlanFdbEntry`]s;
//! the decap program learns inner source MAC -> remote VTEP into the same
//! FDB, the daemon ages learned entries out.

/// Most remote VTEPs per VNI (bounds the head-end replication loop).
pub const VXLAN_MAX_REMOTES: u32 = 64;
/// Most forwarding entries (static + learned).
pub const VXLAN_FDB_ENTRIES: u32 = 4096;
/// Outer headers pushed by encapsulation: Ethernet 14 + IPv4 20 + UDP 8 +
/// VXLAN 8.
pub const VXLAN_ENCAP_LEN: usize = 50;
/// VXLAN header flags byte with the I flag (valid VNI) set.
pub const VXLAN_FLAG_I: u8 = 0x08;
/// Largest VNI (24 bits).
pub const VXLAN_MAX_VNI: u32 = 0x00ff_ffff;
/// Range of the outer UDP source port (RFC 7348 recommends the dynamic
/// range 49152-65535), chosen from the inner flow's hash.
pub const VXLAN_SRC_PORT_MIN: u16 = 49152;

/// `skb->mark` values the encap program uses to send frames out of the
/// tunnel port once more (`bpf_clone_redirect` / `bpf_redirect`, back into the
/// program): the upper 16 bits say "ours", the lower bits what to do.
pub const VXLAN_MARK_MAGIC: u32 = 0x4c58_0000;
pub const VXLAN_MARK_MASK: u32 = 0xffff_0000;
/// Low bits: an already encapsulated non-IP frame, send it to the underlay
/// once it has crossed the veth (where the kernel sets `skb->protocol`
/// from the outer header). Low bits below this value: a flood copy for
/// remote slot N.
pub const VXLAN_MARK_SEND: u32 = 0x8000;

/// What the daemon configured (slot 0 of `VXLAN_CONFIG`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VxlanConfig {
    /// 24-bit VNI; frames of other VNIs are passed untouched.
    pub vni: u32,
    /// Local VTEP address (network order octets): outer source, and the
    /// only destination decapsulated.
    pub local: [u8; 4],
    /// Interface the encapsulated frames leave through (the external
    /// bridge holding `local`), for `bpf_redirect_neigh`.
    pub underlay_ifindex: u32,
    /// The tunnel port (the veth end in the internal bridge): flood copies
    /// and encapsulated non-IP frames are sent out of it (back into the
    /// encap program).
    pub tunnel_ifindex: u32,
    /// The tunnel port's veth peer: decapsulated frames are sent out of it
    /// and arrive on the tunnel port through the veth's GRO.
    pub peer_ifindex: u32,
    /// Valid slots of `VXLAN_REMOTES`.
    pub remote_count: u32,
    /// Largest inner IP packet (inner frame = mtu + 14; for a GSO frame,
    /// each of its segments); larger frames are dropped and counted
    /// (`too_big`).
    pub mtu: u16,
    /// Outer IPv4 TTL.
    pub ttl: u8,
    /// 1: learn inner source MAC -> remote VTEP on decapsulation.
    pub learning: u8,
}

/// One remote VTEP (value of the `VXLAN_REMOTES` array).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VxlanRemote {
    /// Network order octets; 0.0.0.0 = empty slot.
    pub addr: [u8; 4],
}

/// Key of the forwarding table: an inner MAC address.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VxlanMac {
    pub addr: [u8; 6],
    pub _pad: [u8; 2],
}

/// `VxlanFdbEntry::flags`: configured, never learned over nor aged out.
pub const VXLAN_FDB_STATIC: u32 = 1;

/// Value of the forwarding table: where an inner MAC lives.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VxlanFdbEntry {
    /// `CLOCK_MONOTONIC` of the last decapsulated frame from this MAC (0 for
    /// static entries).
    pub last_seen_ns: u64,
    /// Remote VTEP (network order octets).
    pub vtep: [u8; 4],
    /// [`VXLAN_FDB_STATIC`] or 0 (learned).
    pub flags: u32,
}

keyed_enum! {
    /// What the programs count besides drops (index of `VXLAN_STATS`).
    pub enum VxlanEvent {
        /// Frames encapsulated and sent (each flood copy counts; a GSO
        /// super-frame counts once).
        Encapsulated = 0 => "encapsulated",
        /// Frames decapsulated and delivered to the tunnel port (a GSO
        /// super-frame counts once).
        Decapsulated = 1 => "decapsulated",
        /// Broadcast, multicast and unknown unicast frames replicated to every
        /// remote VTEP (counted once per original frame).
        Flooded = 2 => "flooded",
        /// FDB entries created or moved to another VTEP by learning.
        Learned = 3 => "learned",
    }
}

keyed_enum! {
    /// Why a VXLAN program dropped a frame (index of `VXLAN_DROPS`).
    pub enum VxlanDropReason {
        /// Encap: inner frame (or one segment of a GSO frame) larger than
        /// mtu + 14 (no ICMP is sent).
        TooBig = 0 => "too_big",
        /// Shorter than an Ethernet header (encap), or the inner frame is
        /// (decap).
        TruncatedInner = 1 => "truncated_inner",
        /// Encap: no remote VTEP configured to send to.
        NoRemote = 2 => "no_remote",
        /// Encap: making headroom or writing the outer headers failed.
        EncapFailed = 3 => "encap_failed",
        /// Decap: outer IPv4/UDP/VXLAN header past the end, or IPv4 lengths
        /// inconsistent with the frame.
        TruncatedOuter = 4 => "truncated_outer",
        /// Decap: UDP length disagrees with the IPv4 total length.
        BadUdpLength = 5 => "bad_udp_length",
        /// Decap: VXLAN I flag not set (RFC 7348: VNI not valid).
        BadFlags = 6 => "bad_flags",
        /// Decap: a first fragment (MF) to our VTEP port: not reassembled.
        Fragmented = 7 => "fragmented",
        /// Decap: outer source is not a configured remote VTEP.
        UnknownRemote = 8 => "unknown_remote",
        /// Decap: outer source is our own VTEP address (a loop).
        OwnSource = 9 => "own_source",
        /// Decap: inner source MAC is multicast/broadcast or zero.
        BadInnerSource = 10 => "bad_inner_source",
        /// Decap: removing the outer headers or redirecting failed.
        DecapFailed = 11 => "decap_failed",
        /// Encap: the program runs but the daemon wrote no configuration.
        NotConfigured = 12 => "not_configured",
        /// Encap: a segmentation-offload (GSO) frame that cannot be sent whole:
        /// not TCP/UDP directly behind IPv4/IPv6 (its segments cannot be
        /// sized), or its outer IPv4 packet would exceed 65535 bytes (only UDP
        /// GSO gets that close; TCP leaves room).
        GsoFrame = 13 => "gso_frame",
        /// Encap: a flood copy could not be cloned (counted per copy).
        FloodCopyFailed = 14 => "flood_copy_failed",
    }
}

/// The outer UDP source port for an inner flow hash: folded, then mapped
/// into 49152-65535 (as Linux's `udp_flow_src_port`).
#[must_use]
pub const fn source_port(hash: u32) -> u16 {
    #[expect(clippy::cast_possible_truncation, reason = "folding keeps the low 16 bits")]
    let folded = (hash ^ (hash >> 16)) as u16;
    VXLAN_SRC_PORT_MIN | (folded & 0x3fff)
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: repr(C), explicit-width integers and byte arrays, no padding
    // (4*6 + 2 + 1 + 1 = 28 bytes).
    unsafe impl aya::Pod for super::VxlanConfig {}
    // SAFETY: 4 bytes, no padding.
    unsafe impl aya::Pod for super::VxlanRemote {}
    // SAFETY: 6 + explicit 2 bytes of padding.
    unsafe impl aya::Pod for super::VxlanMac {}
    // SAFETY: 8 + 4 + 4 = 16 bytes, no padding.
    unsafe impl aya::Pod for super::VxlanFdbEntry {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_have_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<VxlanConfig>(), 28);
        assert_eq!(core::mem::size_of::<VxlanRemote>(), 4);
        assert_eq!(core::mem::size_of::<VxlanMac>(), 8);
        assert_eq!(core::mem::size_of::<VxlanFdbEntry>(), 16);
    }

    #[test]
    fn reasons_round_trip() {
        for reason in VxlanDropReason::ALL {
            assert_eq!(VxlanDropReason::from_u32(reason as u32), Some(reason));
        }
        assert_eq!(
            VxlanDropReason::from_u32(u32::try_from(VxlanDropReason::ALL.len()).unwrap()),
            None
        );
    }

    #[test]
    fn source_ports_stay_in_the_dynamic_range() {
        for hash in [0, 1, 0xffff, 0x1234_5678, u32::MAX] {
            assert!(source_port(hash) >= VXLAN_SRC_PORT_MIN);
        }
        assert_ne!(source_port(0x0001_0000), source_port(0x0002_0000));
    }
}
