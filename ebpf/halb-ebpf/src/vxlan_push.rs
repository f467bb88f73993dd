//! Putting the 50 outer bytes in front of an inner frame, two ways:
//!
//! - IPv4/IPv6 inner frames: `bpf_skb_adjust_room` (MAC mode, +50, behind
//!   the inner Ethernet header) with the encapsulation flags (outer IPv4,
//!   UDP, 14 bytes of inner L2, Ethernet inside) and a fixed GSO size. The
//!   kernel then knows the frame is UDP-tunnelled: a GSO super-frame stays
//!   whole (SKB_GSO_UDP_TUNNEL added, gso_size kept: the outer headers fit
//!   in the 50 bytes the underlay MTU has over the tunnel MTU) and is
//!   segmented, outer headers copied and lengths fixed per segment, only
//!   where a device cannot take it whole; the inner headers are recorded
//!   and a partial checksum keeps pointing at the inner TCP/UDP checksum.
//!   The outer protocol becomes IPv4 (also for an IPv6 inner frame), so
//!   bpf_redirect_neigh can send it at once. The inner Ethernet header,
//!   which adjust_room leaves at the front, is written again at 50.
//! - Anything else (ARP, or an IP frame the kernel refuses to mark as
//!   encapsulated twice): `bpf_skb_change_head` (+50 at the front), which
//!   accepts any protocol but leaves `skb->protocol` as it was.

use aya_ebpf::{
    bindings::{
        bpf_adj_room_mode::BPF_ADJ_ROOM_MAC, BPF_ADJ_ROOM_ENCAP_L2_SHIFT,
        BPF_F_ADJ_ROOM_ENCAP_L2_ETH, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4, BPF_F_ADJ_ROOM_ENCAP_L4_UDP,
        BPF_F_ADJ_ROOM_FIXED_GSO,
    },
    helpers::bpf_skb_change_head,
    programs::TcContext,
};
use halb_common::vxlan::VXLAN_ENCAP_LEN;

use crate::packet::ETH_HLEN;

/// adjust_room flags of a VXLAN encapsulation (see the module docs).
const ENCAP_FLAGS: u64 = (BPF_F_ADJ_ROOM_FIXED_GSO
    | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4
    | BPF_F_ADJ_ROOM_ENCAP_L4_UDP
    | BPF_F_ADJ_ROOM_ENCAP_L2_ETH) as u64
    | ((ETH_HLEN as u64) << BPF_ADJ_ROOM_ENCAP_L2_SHIFT);

/// How the outer headers went on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Marked as UDP-tunnelled; `skb->protocol` is IPv4 now.
    Tunnelled,
    /// Pushed in front; `skb->protocol` is still the inner one.
    Prepended,
}

/// Makes room for and writes `outer` in front of the inner frame whose
/// Ethernet header is `inner_eth`. A GSO frame can only be tunnelled.
#[inline(always)]
pub fn push_outer(
    ctx: &TcContext,
    outer: &[u8; VXLAN_ENCAP_LEN],
    inner_eth: &[u8; ETH_HLEN],
    inner_is_ip: bool,
    gso: bool,
) -> Result<Pushed, ()> {
    if inner_is_ip && ctx.adjust_room(VXLAN_ENCAP_LEN as i32, BPF_ADJ_ROOM_MAC, ENCAP_FLAGS).is_ok()
    {
        ctx.store(0, outer, 0).map_err(|_| ())?;
        ctx.store(VXLAN_ENCAP_LEN, inner_eth, 0).map_err(|_| ())?;
        return Ok(Pushed::Tunnelled);
    }
    if gso {
        return Err(());
    }
    // SAFETY: the program's context; flags must be 0.
    if unsafe { bpf_skb_change_head(ctx.skb.skb, VXLAN_ENCAP_LEN as u32, 0) } != 0 {
        return Err(());
    }
    ctx.store(0, outer, 0).map_err(|_| ())?;
    Ok(Pushed::Prepended)
}
