//! The outer headers of a VXLAN frame (RFC 7348), built in one place for
//! `vxlan_encap`: Ethernet (MACs left zero for bpf_redirect_neigh to fill),
//! IPv4 (DF, configured TTL, folded header checksum), UDP (source port from
//! the inner flow's hash, destination 4789, checksum 0 as RFC 7348 allows
//! for IPv4) and the VXLAN header (I flag, VNI).

use halb_common::{
    checksum::ipv4_header_checksum,
    classify::VXLAN_UDP_PORT,
    vxlan::{VxlanConfig, VXLAN_ENCAP_LEN, VXLAN_FLAG_I},
};

use crate::packet::{ETH_HLEN, ETH_P_IPV4, IPPROTO_UDP, IPV4_MIN_HLEN, UDP_HLEN};

/// VXLAN header length.
pub const VXLAN_HLEN: usize = 8;
/// IPv4 flags/fragment field with only Don't Fragment set.
const IPV4_DF: u16 = 0x4000;

/// The 50 bytes pushed in front of an inner frame of `inner_len` bytes
/// sent to `vtep` with UDP source port `source_port`.
#[inline(always)]
pub fn outer_header(
    config: &VxlanConfig,
    vtep: [u8; 4],
    inner_len: usize,
    source_port: u16,
) -> [u8; VXLAN_ENCAP_LEN] {
    let udp_len = (UDP_HLEN + VXLAN_HLEN + inner_len) as u16;
    let ip_len = IPV4_MIN_HLEN as u16 + udp_len;
    let mut ip = [0u8; IPV4_MIN_HLEN];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[6..8].copy_from_slice(&IPV4_DF.to_be_bytes());
    ip[8] = config.ttl;
    ip[9] = IPPROTO_UDP;
    ip[12..16].copy_from_slice(&config.local);
    ip[16..20].copy_from_slice(&vtep);
    let checksum = ipv4_header_checksum(&ip);
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());

    let mut header = [0u8; VXLAN_ENCAP_LEN];
    header[12..ETH_HLEN].copy_from_slice(&ETH_P_IPV4.to_be_bytes());
    header[ETH_HLEN..ETH_HLEN + IPV4_MIN_HLEN].copy_from_slice(&ip);
    let udp = ETH_HLEN + IPV4_MIN_HLEN;
    header[udp..udp + 2].copy_from_slice(&source_port.to_be_bytes());
    header[udp + 2..udp + 4].copy_from_slice(&VXLAN_UDP_PORT.to_be_bytes());
    header[udp + 4..udp + 6].copy_from_slice(&udp_len.to_be_bytes());
    // UDP checksum stays 0.
    let vxlan = udp + UDP_HLEN;
    header[vxlan] = VXLAN_FLAG_I;
    let vni = config.vni.to_be_bytes();
    header[vxlan + 4..vxlan + 7].copy_from_slice(&vni[1..4]);
    header
}
