//! VXLAN encapsulation, TC ingress on the peer of the tunnel port.
//!
//! The daemon creates a veth pair: the tunnel port is a port of the internal
//! bridge, so every frame the bridge forwards towards the remote hosts
//! (known remote MACs, and its floods) leaves through it and arrives here.
//! The tunnel port has `gso_max_segs 1`, so the kernel segments GSO frames
//! before they reach us and every frame is encapsulated on its own.
//!
//! For each frame: the destination MAC is looked up in `VXLAN_FDB`; a hit
//! goes to that VTEP. Broadcast, multicast and misses are replicated to
//! every remote VTEP (head-end replication): for slots 1..n a clone is sent
//! back into this interface's ingress with `skb->mark` naming the slot
//! (bpf_clone_redirect), the original goes to slot 0; each copy then takes
//! the unicast path. Encapsulation pushes 50 bytes in front
//! (bpf_skb_change_head, which works for any inner protocol, unlike
//! bpf_skb_adjust_room that refuses non-IP skbs such as ARP), writes the
//! outer headers and sends the frame with bpf_redirect_neigh on the
//! underlay, so the kernel's FIB and neighbour table supply the route and
//! the MACs (ARP for the remote VTEP included).
//!
//! bpf_redirect_neigh dispatches on `skb->protocol`, which a program cannot
//! write: an inner IPv4 frame already says IPv4 and is sent at once; any
//! other inner protocol (ARP, IPv6) is recirculated once through this
//! ingress (bpf_redirect with BPF_F_INGRESS, mark "send"), where the
//! kernel's eth_type_trans sets the protocol from the outer header.
//!
//! A frame longer than mtu + 14 is dropped and counted (`too_big`): no
//! ICMP is generated, the endpoints' MTU must be the tunnel MTU (1450 by
//! default, as a Linux vxlan device on a 1500-byte underlay).

use aya_ebpf::{
    bindings::{BPF_F_INGRESS, TC_ACT_SHOT},
    helpers::{bpf_get_hash_recalc, bpf_redirect, bpf_redirect_neigh, bpf_skb_change_head},
    macros::classifier,
    programs::TcContext,
};
use halb_common::vxlan::{
    source_port, VxlanConfig, VxlanDropReason, VxlanEvent, VxlanMac, VXLAN_ENCAP_LEN,
    VXLAN_MARK_MAGIC, VXLAN_MARK_MASK, VXLAN_MARK_SEND, VXLAN_MAX_REMOTES,
};

use crate::{
    maps::{count_slot, VXLAN_CONFIG, VXLAN_DROPS, VXLAN_FDB, VXLAN_REMOTES, VXLAN_STATS},
    packet::{Frame, ETH_HLEN, ETH_P_IPV4},
    vxlan_header::outer_header,
};

#[classifier]
pub fn vxlan_encap(ctx: TcContext) -> i32 {
    let bytes = ctx.len();
    match try_vxlan_encap(&ctx) {
        Ok(action) => action,
        Err(reason) => {
            count_slot(&VXLAN_DROPS, reason as u32, bytes);
            TC_ACT_SHOT
        }
    }
}

#[inline(always)]
fn try_vxlan_encap(ctx: &TcContext) -> Result<i32, VxlanDropReason> {
    let skb = ctx.skb.skb;
    let config = match VXLAN_CONFIG.get(0) {
        Some(config) if config.underlay_ifindex != 0 => *config,
        _ => return Err(VxlanDropReason::NotConfigured),
    };
    // SAFETY: `skb` is the context the kernel passed in; TC programs may
    // read `mark`, `ifindex` and `gso_segs`.
    let (mark, own_ifindex, gso_segs) = unsafe { ((*skb).mark, (*skb).ifindex, (*skb).gso_segs) };
    let mut flood_slot = None;
    if mark & VXLAN_MARK_MASK == VXLAN_MARK_MAGIC {
        ctx.set_mark(0);
        let low = mark & !VXLAN_MARK_MASK;
        if low == VXLAN_MARK_SEND {
            // Recirculated after encapsulation: skb->protocol is IPv4 now.
            return Ok(redirect_neigh(config.underlay_ifindex));
        }
        flood_slot = Some(low);
    }
    let frame = Frame::new(ctx);
    let dst: [u8; 6] = frame.read(0).ok_or(VxlanDropReason::TruncatedInner)?;
    if frame.len < ETH_HLEN {
        return Err(VxlanDropReason::TruncatedInner);
    }
    if gso_segs > 1 {
        return Err(VxlanDropReason::GsoFrame);
    }
    if frame.len > usize::from(config.mtu) + ETH_HLEN {
        return Err(VxlanDropReason::TooBig);
    }
    let vtep = match flood_slot {
        Some(slot) => remote(&config, slot).ok_or(VxlanDropReason::NoRemote)?,
        None => match fdb_lookup(dst) {
            Some(vtep) => vtep,
            None => flood(ctx, &config, own_ifindex, frame.len as u32)?,
        },
    };
    // The hash of the inner flow (L2-L4, computed by the flow dissector
    // before the outer headers exist).
    // SAFETY: `skb` is the program's context.
    let hash = unsafe { bpf_get_hash_recalc(skb) };
    let inner_is_ipv4 = ctx.skb.protocol() == u32::from(ETH_P_IPV4.to_be());
    let inner_len = frame.len;
    // SAFETY: `skb` is the program's context; flags must be 0.
    if unsafe { bpf_skb_change_head(skb, VXLAN_ENCAP_LEN as u32, 0) } != 0 {
        return Err(VxlanDropReason::EncapFailed);
    }
    let header = outer_header(&config, vtep, inner_len, source_port(hash));
    ctx.store(0, &header, 0).map_err(|_| VxlanDropReason::EncapFailed)?;
    count_slot(&VXLAN_STATS, VxlanEvent::Encapsulated as u32, (inner_len + VXLAN_ENCAP_LEN) as u32);
    if inner_is_ipv4 {
        return Ok(redirect_neigh(config.underlay_ifindex));
    }
    ctx.set_mark(VXLAN_MARK_MAGIC | VXLAN_MARK_SEND);
    // SAFETY: plain helper call.
    Ok(unsafe { bpf_redirect(own_ifindex, u64::from(BPF_F_INGRESS)) } as i32)
}

/// The VTEP of a known unicast destination.
#[inline(always)]
fn fdb_lookup(dst: [u8; 6]) -> Option<[u8; 4]> {
    if dst[0] & 1 != 0 {
        return None;
    }
    // SAFETY: read by value; the daemon and the decap program write whole
    // entries.
    unsafe { VXLAN_FDB.get(VxlanMac { addr: dst, _pad: [0; 2] }) }.map(|entry| entry.vtep)
}

/// The address in remote slot `slot`, if configured.
#[inline(always)]
fn remote(config: &VxlanConfig, slot: u32) -> Option<[u8; 4]> {
    if slot >= config.remote_count {
        return None;
    }
    let addr = VXLAN_REMOTES.get(slot)?.addr;
    (addr != [0; 4]).then_some(addr)
}

/// Head-end replication: clones to slots 1..n through our own ingress,
/// returns slot 0 for the original.
#[inline(always)]
fn flood(
    ctx: &TcContext,
    config: &VxlanConfig,
    own_ifindex: u32,
    bytes: u32,
) -> Result<[u8; 4], VxlanDropReason> {
    let first = remote(config, 0).ok_or(VxlanDropReason::NoRemote)?;
    let mut slot = 1;
    while slot < VXLAN_MAX_REMOTES {
        if slot >= config.remote_count {
            break;
        }
        ctx.set_mark(VXLAN_MARK_MAGIC | slot);
        if ctx.clone_redirect(own_ifindex, u64::from(BPF_F_INGRESS)).is_err() {
            count_slot(&VXLAN_DROPS, VxlanDropReason::FloodCopyFailed as u32, bytes);
        }
        slot += 1;
    }
    ctx.set_mark(0);
    count_slot(&VXLAN_STATS, VxlanEvent::Flooded as u32, bytes);
    Ok(first)
}

/// bpf_redirect_neigh without nexthop parameters: the kernel looks the
/// route up from the outer IPv4 header and resolves the neighbour.
#[inline(always)]
fn redirect_neigh(ifindex: u32) -> i32 {
    // SAFETY: a null parameter block with length 0 is the documented
    // "look the route up yourself" form.
    unsafe { bpf_redirect_neigh(ifindex, core::ptr::null_mut(), 0, 0) as i32 }
}
