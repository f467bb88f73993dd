//! VXLAN decapsulation, TC ingress on the underlay device (the external
//! bridge holding the local VTEP address, so frames delivered to this host
//! pass here).
//!
//! Only IPv4/UDP to the local VTEP on port 4789 with the configured VNI is
//! ours; everything else (other addresses, ports, VNIs, non-first
//! fragments) continues untouched. What is ours but unusable is dropped and
//! counted by reason (truncated, bad lengths, I flag clear, fragmented,
//! unknown or own source VTEP, bad inner source MAC). A good frame teaches
//! `VXLAN_FDB` inner source MAC -> outer source address (static entries are
//! never overwritten), loses its outer headers (bpf_skb_adjust_room, MAC
//! mode, negative: the outer IPv4/UDP/VXLAN headers and the inner Ethernet
//! header are removed behind the outer Ethernet header, which is then
//! overwritten with the inner one), and is redirected out of the tunnel
//! port's peer, arriving on the internal bridge as if received on the
//! tunnel port. The daemon turns GRO on at the tunnel port and TSO off at
//! the peer, which makes the veth hand these frames to the tunnel port's
//! NAPI with GRO: consecutive TCP segments of a flow are merged again
//! before the bridge and the endpoint see them, as the kernel's vxlan
//! device does with its GRO cells (the sender's bridge device segments
//! UDP-tunnelled GSO frames: it offers no tunnel offloads).
//!
//! GSO: a UDP-tunnelled GSO super-frame (from halb's encapsulation or the
//! kernel's vxlan device) is decapsulated whole with a fixed gso_size (the
//! inner segments keep their size). adjust_room cannot clear the tunnel
//! GSO type nor `skb->encapsulation`: every veth and bridge accepts such a
//! frame as it is, and software segmentation follows the headers the frame
//! has, so the leftovers do not change what arrives.
//!
//! Checksums: bpf_skb_adjust_room downgrades CHECKSUM_UNNECESSARY to
//! CHECKSUM_NONE (no BPF_F_ADJ_ROOM_NO_CSUM_RESET), so an outer "verified"
//! never vouches for the inner packet; CHECKSUM_PARTIAL and COMPLETE stay
//! valid because only bytes in front of the inner payload move.

use aya_ebpf::{
    bindings::{
        bpf_adj_room_mode::BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO, BPF_NOEXIST, TC_ACT_SHOT,
        TC_ACT_UNSPEC,
    },
    helpers::{bpf_ktime_get_ns, bpf_redirect, bpf_skb_change_tail},
    macros::classifier,
    programs::TcContext,
};
use halb_common::{
    classify::VXLAN_UDP_PORT,
    vxlan::{VxlanDropReason, VxlanEvent, VxlanFdbEntry, VxlanMac, VXLAN_FDB_STATIC, VXLAN_FLAG_I},
};

use crate::{
    maps::{count_slot, VXLAN_CONFIG, VXLAN_DROPS, VXLAN_FDB, VXLAN_REMOTE_SET, VXLAN_STATS},
    packet::{Frame, ETH_HLEN, ETH_P_IPV4, IPPROTO_UDP, IPV4_MIN_HLEN, UDP_HLEN},
    vxlan_header::VXLAN_HLEN,
};

const IPV4_MF: u16 = 0x2000;
const IPV4_OFFSET_MASK: u16 = 0x1fff;

#[classifier]
pub fn vxlan_decap(ctx: TcContext) -> i32 {
    let bytes = ctx.len();
    match try_vxlan_decap(&ctx) {
        Ok(Some(action)) => action,
        // Not ours: continue unchanged.
        Ok(None) => TC_ACT_UNSPEC,
        Err(reason) => {
            count_slot(&VXLAN_DROPS, reason as u32, bytes);
            TC_ACT_SHOT
        }
    }
}

#[inline(always)]
fn try_vxlan_decap(ctx: &TcContext) -> Result<Option<i32>, VxlanDropReason> {
    let config = match VXLAN_CONFIG.get(0) {
        Some(config) if config.peer_ifindex != 0 => *config,
        _ => return Ok(None),
    };
    let frame = Frame::new(ctx);
    if frame.read_be16(12) != Some(ETH_P_IPV4) {
        return Ok(None);
    }
    let Some(ip) = frame.read::<[u8; IPV4_MIN_HLEN]>(ETH_HLEN) else { return Ok(None) };
    if ip[0] >> 4 != 4 || ip[9] != IPPROTO_UDP || [ip[16], ip[17], ip[18], ip[19]] != config.local {
        return Ok(None);
    }
    let fragment = u16::from_be_bytes([ip[6], ip[7]]);
    let header_len = usize::from(ip[0] & 0x0f) * 4;
    // A later fragment has no UDP header; a bad IHL is the classifier's to count.
    if fragment & IPV4_OFFSET_MASK != 0 || header_len < IPV4_MIN_HLEN {
        return Ok(None);
    }
    let udp_offset = ETH_HLEN + header_len;
    let Some(udp) = frame.read::<[u8; UDP_HLEN]>(udp_offset) else { return Ok(None) };
    if u16::from_be_bytes([udp[2], udp[3]]) != VXLAN_UDP_PORT {
        return Ok(None);
    }
    // Addressed to our VTEP port: ours from here on.
    if fragment & IPV4_MF != 0 {
        return Err(VxlanDropReason::Fragmented);
    }
    let total_len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if total_len < header_len + UDP_HLEN + VXLAN_HLEN || ETH_HLEN + total_len > frame.len {
        return Err(VxlanDropReason::TruncatedOuter);
    }
    if usize::from(u16::from_be_bytes([udp[4], udp[5]])) != total_len - header_len {
        return Err(VxlanDropReason::BadUdpLength);
    }
    let vxlan: [u8; VXLAN_HLEN] =
        frame.read(udp_offset + UDP_HLEN).ok_or(VxlanDropReason::TruncatedOuter)?;
    if vxlan[0] & VXLAN_FLAG_I == 0 {
        return Err(VxlanDropReason::BadFlags);
    }
    let vni = u32::from_be_bytes([0, vxlan[4], vxlan[5], vxlan[6]]);
    if vni != config.vni {
        return Ok(None);
    }
    let source = [ip[12], ip[13], ip[14], ip[15]];
    if source == config.local {
        return Err(VxlanDropReason::OwnSource);
    }
    // SAFETY: read by value.
    if unsafe { VXLAN_REMOTE_SET.get(source) }.is_none() {
        return Err(VxlanDropReason::UnknownRemote);
    }
    let inner_offset = udp_offset + UDP_HLEN + VXLAN_HLEN;
    let inner_len = total_len - header_len - UDP_HLEN - VXLAN_HLEN;
    if inner_len < ETH_HLEN {
        return Err(VxlanDropReason::TruncatedInner);
    }
    let inner_eth: [u8; ETH_HLEN] =
        frame.read(inner_offset).ok_or(VxlanDropReason::TruncatedInner)?;
    let inner_source =
        [inner_eth[6], inner_eth[7], inner_eth[8], inner_eth[9], inner_eth[10], inner_eth[11]];
    if inner_source[0] & 1 != 0 || inner_source == [0; 6] {
        return Err(VxlanDropReason::BadInnerSource);
    }
    // Trailing bytes behind the IPv4 packet (padding) are not inner frame.
    if frame.len > ETH_HLEN + total_len {
        // SAFETY: the program's context; flags must be 0.
        let trimmed = unsafe { bpf_skb_change_tail(ctx.skb.skb, (ETH_HLEN + total_len) as u32, 0) };
        if trimmed != 0 {
            return Err(VxlanDropReason::DecapFailed);
        }
    }
    // Bytes [14, inner_offset + 14): outer IPv4, UDP, VXLAN and the inner
    // Ethernet header, i.e. `inner_offset` bytes behind the outer Ethernet.
    let removed = inner_offset as i32;
    ctx.adjust_room(-removed, BPF_ADJ_ROOM_MAC, u64::from(BPF_F_ADJ_ROOM_FIXED_GSO))
        .map_err(|_| VxlanDropReason::DecapFailed)?;
    ctx.store(0, &inner_eth, 0).map_err(|_| VxlanDropReason::DecapFailed)?;
    if config.learning != 0 {
        learn(inner_source, source);
    }
    count_slot(&VXLAN_STATS, VxlanEvent::Decapsulated as u32, inner_len as u32);
    // SAFETY: plain helper call.
    Ok(Some(unsafe { bpf_redirect(config.peer_ifindex, 0) } as i32))
}

/// Records that `mac` lives behind `vtep`, unless a static entry says
/// otherwise.
#[inline(always)]
fn learn(mac: [u8; 6], vtep: [u8; 4]) {
    let key = VxlanMac { addr: mac, _pad: [0; 2] };
    // SAFETY: bpf_ktime_get_ns has no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    if let Some(entry) = VXLAN_FDB.get_ptr_mut(key) {
        // SAFETY: a pointer from a successful lookup, valid for this run;
        // concurrent writers only race on the same values.
        unsafe {
            if (*entry).flags & VXLAN_FDB_STATIC != 0 {
                return;
            }
            if (*entry).vtep != vtep {
                (*entry).vtep = vtep;
                count_slot(&VXLAN_STATS, VxlanEvent::Learned as u32, 0);
            }
            (*entry).last_seen_ns = now;
        }
        return;
    }
    let entry = VxlanFdbEntry { last_seen_ns: now, vtep, flags: 0 };
    // A full table only loses learning: unknown destinations are flooded.
    if VXLAN_FDB.insert(key, entry, u64::from(BPF_NOEXIST)).is_ok() {
        count_slot(&VXLAN_STATS, VxlanEvent::Learned as u32, 0);
    }
}
