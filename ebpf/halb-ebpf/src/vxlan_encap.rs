//! VXLAN encapsulation, TC egress on the tunnel port (the veth end in the
//! internal bridge) and TC ingress on its peer.
//!
//! Every frame the bridge forwards towards the remote hosts (known remote
//! MACs, and its floods) is sent out of the tunnel port, and this program
//! runs before the veth takes it: the frame is encapsulated and sent to the
//! underlay there, without crossing the veth pair. GSO (TSO'd TCP, UDP GSO)
//! super-frames are encapsulated whole and stay whole to the remote host:
//! see `vxlan_push` (the kernel's vxlan device does the same).
//!
//! For each frame: the destination MAC is looked up in `VXLAN_FDB`; a hit
//! goes to that VTEP. Broadcast, multicast and misses are replicated to
//! every remote VTEP (head-end replication): for slots 1..n a clone is sent
//! out of the tunnel port again with `skb->mark` naming the slot
//! (bpf_clone_redirect, so this program sees it again), the original goes
//! to slot 0; each copy then takes the unicast path. One wire segment may
//! be at most mtu + 14 bytes (`vxlan_segment`); larger frames are dropped
//! and counted (`too_big`, no ICMP: the endpoints' MTU must be the tunnel
//! MTU, 1450 by default, as with a Linux vxlan device on a 1500-byte
//! underlay). The outer headers (`vxlan_header`) are put in front
//! (`vxlan_push`) and the frame is sent with bpf_redirect_neigh on the
//! underlay, so the kernel's FIB and neighbour table supply the route and
//! the MACs (ARP for the remote VTEP included).
//!
//! bpf_redirect_neigh dispatches on `skb->protocol`, which a program cannot
//! write and only the IP encapsulation changes: any other inner protocol
//! (ARP) is sent out of the tunnel port once more with the mark "send";
//! this program (at egress) lets it cross the veth, where the kernel's
//! eth_type_trans sets the protocol from the outer header, and (at the
//! peer's ingress) sends it. The peer's ingress also encapsulates any
//! unmarked frame that reaches it, as the egress program would.

use aya_ebpf::{
    bindings::TC_ACT_SHOT,
    helpers::{bpf_get_hash_recalc, bpf_redirect, bpf_redirect_neigh},
    macros::classifier,
    programs::TcContext,
};
use halb_common::vxlan::{
    source_port, VxlanConfig, VxlanDropReason, VxlanEvent, VxlanMac, VXLAN_ENCAP_LEN,
    VXLAN_MARK_MAGIC, VXLAN_MARK_MASK, VXLAN_MARK_SEND, VXLAN_MAX_REMOTES,
};

use crate::{
    maps::{count_slot, VXLAN_CONFIG, VXLAN_DROPS, VXLAN_FDB, VXLAN_REMOTES, VXLAN_STATS},
    packet::{Frame, ETH_HLEN, ETH_P_IPV4, ETH_P_IPV6},
    vxlan_header::outer_header,
    vxlan_push::{push_outer, Pushed},
    vxlan_segment::segment_len,
};

/// Largest IPv4 total length: a GSO frame whose outer packet would be
/// longer cannot be encapsulated whole.
const IPV4_MAX_LEN: usize = 0xffff;
/// Outer IPv4 total length minus the inner frame's length.
const OUTER_IP_OVERHEAD: usize = VXLAN_ENCAP_LEN - ETH_HLEN;
/// TC_ACT_OK: let the frame continue (across the veth).
const TC_ACT_OK: i32 = 0;

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
    // read `mark` and `gso_size`.
    let (mark, gso_size) = unsafe { ((*skb).mark, (*skb).gso_size) };
    let is_ipv4 = ctx.skb.protocol() == u32::from(ETH_P_IPV4.to_be());
    let mut flood_slot = None;
    if mark & VXLAN_MARK_MASK == VXLAN_MARK_MAGIC {
        let low = mark & !VXLAN_MARK_MASK;
        if low == VXLAN_MARK_SEND {
            // Encapsulated already: at the tunnel port's egress it still
            // says ARP and crosses the veth; at the peer's ingress it says
            // IPv4 and is sent.
            if !is_ipv4 {
                return Ok(TC_ACT_OK);
            }
            ctx.set_mark(0);
            return Ok(redirect_neigh(config.underlay_ifindex));
        }
        ctx.set_mark(0);
        flood_slot = Some(low);
    }
    let frame = Frame::new(ctx);
    let inner_eth: [u8; ETH_HLEN] = frame.read(0).ok_or(VxlanDropReason::TruncatedInner)?;
    let dst = [inner_eth[0], inner_eth[1], inner_eth[2], inner_eth[3], inner_eth[4], inner_eth[5]];
    let gso = gso_size != 0;
    let segment = segment_len(&frame, gso_size).ok_or(VxlanDropReason::GsoFrame)?;
    if segment > usize::from(config.mtu) + ETH_HLEN {
        return Err(VxlanDropReason::TooBig);
    }
    if gso && frame.len + OUTER_IP_OVERHEAD > IPV4_MAX_LEN {
        return Err(VxlanDropReason::GsoFrame);
    }
    let vtep = match flood_slot {
        Some(slot) => remote(&config, slot).ok_or(VxlanDropReason::NoRemote)?,
        None => match fdb_lookup(dst) {
            Some(vtep) => vtep,
            None => flood(ctx, &config, frame.len as u32)?,
        },
    };
    // The hash of the inner flow (L2-L4, computed by the flow dissector
    // before the outer headers exist).
    // SAFETY: `skb` is the program's context.
    let hash = unsafe { bpf_get_hash_recalc(skb) };
    let inner_is_ip = is_ipv4 || ctx.skb.protocol() == u32::from(ETH_P_IPV6.to_be());
    let inner_len = frame.len;
    let header = outer_header(&config, vtep, inner_len, source_port(hash));
    let pushed = push_outer(ctx, &header, &inner_eth, inner_is_ip, gso)
        .map_err(|()| VxlanDropReason::EncapFailed)?;
    count_slot(&VXLAN_STATS, VxlanEvent::Encapsulated as u32, (inner_len + VXLAN_ENCAP_LEN) as u32);
    if pushed == Pushed::Tunnelled {
        return Ok(redirect_neigh(config.underlay_ifindex));
    }
    ctx.set_mark(VXLAN_MARK_MAGIC | VXLAN_MARK_SEND);
    // SAFETY: plain helper call.
    Ok(unsafe { bpf_redirect(config.tunnel_ifindex, 0) } as i32)
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

/// Head-end replication: clones to slots 1..n out of the tunnel port (back
/// into this program), returns slot 0 for the original.
#[inline(always)]
fn flood(ctx: &TcContext, config: &VxlanConfig, bytes: u32) -> Result<[u8; 4], VxlanDropReason> {
    let first = remote(config, 0).ok_or(VxlanDropReason::NoRemote)?;
    let mut slot = 1;
    while slot < VXLAN_MAX_REMOTES {
        if slot >= config.remote_count {
            break;
        }
        ctx.set_mark(VXLAN_MARK_MAGIC | slot);
        if ctx.clone_redirect(config.tunnel_ifindex, 0).is_err() {
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
