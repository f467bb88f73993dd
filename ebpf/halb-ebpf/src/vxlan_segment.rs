//! How long the frames on the wire will be when the kernel segments a
//! GSO (TSO/USO) super-frame: the tunnel keeps such frames whole through
//! encapsulation (the kernel segments them as UDP tunnel GSO further on),
//! so the MTU check must look at one segment, not at the whole skb.
//!
//! A segment is the inner Ethernet, IP and TCP/UDP headers plus `gso_size`
//! bytes of payload. Only the GSO kinds endpoints produce are sized: TCP or
//! UDP directly behind an IPv4 header or a fixed IPv6 header; anything else
//! is `None` (the caller drops and counts it).

use crate::packet::{Frame, ETH_HLEN, ETH_P_IPV4, ETH_P_IPV6, IPPROTO_UDP, UDP_HLEN};

const IPPROTO_TCP: u8 = 6;
const IPV6_HLEN: usize = 40;
/// Offset of the data-offset nibble in a TCP header.
const TCP_DOFF_OFFSET: usize = 12;

/// The inner frame length of one wire segment: the frame itself when it is
/// not GSO (`gso_size` 0).
#[inline(always)]
pub fn segment_len(frame: &Frame, gso_size: u32) -> Option<usize> {
    if gso_size == 0 {
        return Some(frame.len);
    }
    let (l3_len, protocol) = match frame.read_be16(12)? {
        ETH_P_IPV4 => {
            let [version_ihl]: [u8; 1] = frame.read(ETH_HLEN)?;
            let [protocol]: [u8; 1] = frame.read(ETH_HLEN + 9)?;
            (usize::from(version_ihl & 0x0f) * 4, protocol)
        }
        ETH_P_IPV6 => {
            let [next_header]: [u8; 1] = frame.read(ETH_HLEN + 6)?;
            (IPV6_HLEN, next_header)
        }
        _ => return None,
    };
    let l4_offset = ETH_HLEN + l3_len;
    let l4_len = match protocol {
        IPPROTO_TCP => {
            let [doff]: [u8; 1] = frame.read(l4_offset + TCP_DOFF_OFFSET)?;
            usize::from(doff >> 4) * 4
        }
        IPPROTO_UDP => UDP_HLEN,
        _ => return None,
    };
    Some(l4_offset + l4_len + gso_size as usize)
}
