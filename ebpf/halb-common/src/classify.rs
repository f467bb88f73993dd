//! Frame classes and malformed-frame reasons counted by the port classifier.
//!
//! The classifier recognises the control and tunnel traffic halb's protocols
//! own (802.1D BPDUs, VRRP adverts, VXLAN on UDP 4789, ARP) so that each later
//! datapath stage starts from one parser and one set of counters.

/// UDP destination port of VXLAN (IANA, RFC 7348).
pub const VXLAN_UDP_PORT: u16 = 4789;
/// IP protocol number of VRRP (RFC 5798).
pub const IPPROTO_VRRP: u8 = 112;
/// Destination MAC of 802.1D BPDUs (Bridge Group Address).
pub const BPDU_DEST_MAC: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];

keyed_enum! {
    /// What kind of frame the classifier saw. Discriminants are map key values.
    pub enum FrameClass {
        /// 802.1D/802.1w BPDU (LLC to 01:80:c2:00:00:00).
        Bpdu = 0 => "bpdu",
        /// VRRP advertisement (IPv4 protocol 112).
        Vrrp = 1 => "vrrp",
        /// VXLAN (IPv4/UDP destination port 4789).
        Vxlan = 2 => "vxlan",
        /// ARP.
        Arp = 3 => "arp",
        /// Any other IPv4 packet.
        Ipv4 = 4 => "ipv4",
        /// IPv6.
        Ipv6 = 5 => "ipv6",
        /// Anything else (other `EtherTypes`, other LLC frames).
        Other = 6 => "other",
        /// A frame the parser rejected; the reason goes to the malformed map.
        Malformed = 7 => "malformed",
    }
}

keyed_enum! {
    /// Why a frame was counted as malformed. Discriminants are map key values.
    pub enum MalformedReason {
        /// Shorter than an Ethernet header.
        TruncatedEthernet = 0 => "truncated_ethernet",
        /// 802.3 length frame too short for its LLC header.
        TruncatedLlc = 1 => "truncated_llc",
        /// Shorter than the minimal IPv4 header, or IHL < 5, or IHL past the end.
        TruncatedIpv4 = 2 => "truncated_ipv4",
        /// IPv4 version field is not 4.
        BadIpVersion = 3 => "bad_ip_version",
        /// IPv4 total length smaller than the header or larger than the frame.
        BadIpLength = 4 => "bad_ip_length",
        /// UDP header past the end of the frame.
        TruncatedUdp = 5 => "truncated_udp",
        /// ARP shorter than its fixed Ethernet/IPv4 part.
        TruncatedArp = 6 => "truncated_arp",
    }
}

/// Key of the per-port maps: which interface, which class (or reason).
///
/// Interface indexes repeat across network namespaces, so the daemon loads
/// one datapath instance (programs and maps) per namespace it serves. The
/// namespace cannot be told from inside the program: `bpf_get_netns_cookie`
/// on an skb answers with the namespace of `skb->sk`, and a socket reference
/// survives the hop over a veth into another namespace.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortClassKey {
    /// Interface index inside the instance's namespace.
    pub ifindex: u32,
    /// A [`FrameClass`] or [`MalformedReason`] discriminant.
    pub class: u32,
}

/// Packets and bytes, per CPU.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrafficCounter {
    pub packets: u64,
    pub bytes: u64,
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: both are repr(C), made of plain integers, without padding
    // (u32+u32 and u64+u64), so every bit pattern is valid.
    unsafe impl aya::Pod for super::PortClassKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::TrafficCounter {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_have_no_padding() {
        assert_eq!(core::mem::size_of::<PortClassKey>(), 8);
        assert_eq!(core::mem::size_of::<TrafficCounter>(), 16);
    }

    #[test]
    fn discriminants_round_trip() {
        for class in FrameClass::ALL {
            assert_eq!(FrameClass::from_u32(class as u32), Some(class));
        }
        for reason in MalformedReason::ALL {
            assert_eq!(MalformedReason::from_u32(reason as u32), Some(reason));
        }
        assert_eq!(FrameClass::from_u32(8), None);
        assert_eq!(MalformedReason::from_u32(7), None);
    }
}
