//! TC ingress classifier: counts every frame entering a datapath interface
//! by class (BPDU, VRRP, VXLAN, ARP, IPv4, IPv6, other) and every malformed
//! frame by reason, then lets it continue unchanged (`TC_ACT_UNSPEC`, so
//! later TCX programs and the stack see it as if we were not there).
//!
//! It runs at TC rather than XDP because frames with a partial (offloaded)
//! checksum arrive corrupt after native XDP on veth (../shared/TOOLCHAIN.md),
//! and this program must never change what it observes.

use aya_ebpf::{bindings::TC_ACT_UNSPEC, macros::classifier, programs::TcContext};
use aya_log_ebpf::debug;
use halb_common::{
    classify::{BPDU_DEST_MAC, IPPROTO_VRRP, VXLAN_UDP_PORT},
    FrameClass, MalformedReason, PortClassKey,
};

use crate::{
    maps::{count, PORT_MALFORMED, PORT_TRAFFIC},
    packet::{
        Frame, ARP_ETH_IPV4_LEN, ETH_HLEN, ETH_P_802_3_MIN, ETH_P_ARP, ETH_P_IPV4, ETH_P_IPV6,
        IPPROTO_UDP, IPV4_MIN_HLEN, LLC_HLEN, LLC_SAP_BPDU, UDP_HLEN,
    },
};

#[classifier]
pub fn port_classifier(ctx: TcContext) -> i32 {
    let frame = Frame::new(&ctx);
    // SAFETY: `skb` is the context the kernel passed in; TC programs may
    // read `__sk_buff::ingress_ifindex`.
    let ifindex = unsafe { (*ctx.skb.skb).ingress_ifindex };
    let bytes = frame.len as u32;
    let key = |class: u32| PortClassKey { ifindex, class };
    match classify(&frame) {
        Ok(class) => count(&PORT_TRAFFIC, key(class as u32), bytes),
        Err(reason) => {
            debug!(&ctx, "malformed frame on ifindex {}: reason {}", ifindex, reason as u32);
            count(&PORT_TRAFFIC, key(FrameClass::Malformed as u32), bytes);
            count(&PORT_MALFORMED, key(reason as u32), bytes);
        }
    }
    TC_ACT_UNSPEC
}

#[inline(always)]
fn classify(frame: &Frame) -> Result<FrameClass, MalformedReason> {
    let dst: [u8; 6] = frame.read(0).ok_or(MalformedReason::TruncatedEthernet)?;
    let ethertype = frame.read_be16(12).ok_or(MalformedReason::TruncatedEthernet)?;
    if ethertype < ETH_P_802_3_MIN {
        let llc: [u8; LLC_HLEN] = frame.read(ETH_HLEN).ok_or(MalformedReason::TruncatedLlc)?;
        let is_bpdu = dst == BPDU_DEST_MAC && llc[0] == LLC_SAP_BPDU && llc[1] == LLC_SAP_BPDU;
        return Ok(if is_bpdu { FrameClass::Bpdu } else { FrameClass::Other });
    }
    match ethertype {
        ETH_P_IPV4 => classify_ipv4(frame),
        ETH_P_ARP => {
            frame.read::<[u8; ARP_ETH_IPV4_LEN]>(ETH_HLEN).ok_or(MalformedReason::TruncatedArp)?;
            Ok(FrameClass::Arp)
        }
        ETH_P_IPV6 => Ok(FrameClass::Ipv6),
        _ => Ok(FrameClass::Other),
    }
}

#[inline(always)]
fn classify_ipv4(frame: &Frame) -> Result<FrameClass, MalformedReason> {
    let header: [u8; IPV4_MIN_HLEN] = frame.read(ETH_HLEN).ok_or(MalformedReason::TruncatedIpv4)?;
    if header[0] >> 4 != 4 {
        return Err(MalformedReason::BadIpVersion);
    }
    let header_len = usize::from(header[0] & 0x0f) * 4;
    if header_len < IPV4_MIN_HLEN || ETH_HLEN + header_len > frame.len {
        return Err(MalformedReason::TruncatedIpv4);
    }
    let total_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    // BIG TCP aggregates above 64 KiB carry total length 0 (RFC 2675 style);
    // they are well-formed.
    let big_tcp = total_len == 0 && frame.len > ETH_HLEN + usize::from(u16::MAX);
    if !big_tcp && (total_len < header_len || ETH_HLEN + total_len > frame.len) {
        return Err(MalformedReason::BadIpLength);
    }
    let protocol = header[9];
    if protocol == IPPROTO_VRRP {
        return Ok(FrameClass::Vrrp);
    }
    let fragment_offset = u16::from_be_bytes([header[6], header[7]]) & 0x1fff;
    if protocol != IPPROTO_UDP || fragment_offset != 0 {
        return Ok(FrameClass::Ipv4);
    }
    let udp_offset = ETH_HLEN + header_len;
    let udp: [u8; UDP_HLEN] = frame.read(udp_offset).ok_or(MalformedReason::TruncatedUdp)?;
    let dst_port = u16::from_be_bytes([udp[2], udp[3]]);
    Ok(if dst_port == VXLAN_UDP_PORT { FrameClass::Vxlan } else { FrameClass::Ipv4 })
}
