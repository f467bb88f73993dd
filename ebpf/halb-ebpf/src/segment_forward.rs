//! Segment forwarding after a planned VIP move, TC ingress on a balancer's
//! VRRP interface (after the port classifier and the VRRP fast path in the
//! TCX chain).
//!
//! On the new master, a TCP segment to a VIP whose entry in `FORWARD_VIPS`
//! names a previous master (a halb balancer still draining) is sent to it
//! when it is not a SYN and no local connection socket holds it
//! (`bpf_skc_lookup_tcp`; a listener does not count): the destination MAC
//! becomes the previous master's, the source MAC our own (the frame's
//! destination), and the frame leaves by the interface it came in on. A
//! frame whose source MAC is a halb peer's (`FORWARD_PEERS`) is never
//! forwarded: it was forwarded once already. On the previous master, ARP
//! requests for a VIP it drains are dropped, so it keeps the address for
//! its connections without claiming it. Everything else passes unchanged.
//! Outcomes are counted in `FORWARD_COUNTERS` (`ForwardOutcome`).
//!
//! TC rather than XDP: the same reasons as `vrrp_advert` (partial
//! checksums on veth), and `bpf_skc_lookup_tcp` wants an skb.

use aya_ebpf::{
    bindings::{bpf_sock_tuple, TC_ACT_SHOT, TC_ACT_UNSPEC},
    helpers::{bpf_redirect, bpf_sk_release, bpf_skc_lookup_tcp},
    macros::classifier,
    programs::TcContext,
};
use halb_common::forward::{
    forward_outcome, local_socket, ForwardEntry, ForwardOutcome, ForwardPeer, LocalSocket,
    VIP_DRAINING,
};

use crate::{
    maps::{count_slot, FORWARD_COUNTERS, FORWARD_PEERS, FORWARD_VIPS},
    packet::{Frame, ETH_HLEN, ETH_P_ARP, ETH_P_IPV4, IPV4_MIN_HLEN},
};

const IPPROTO_TCP: u8 = 6;
const TCP_FLAG_SYN: u8 = 0x02;
const TCP_FLAG_ACK: u8 = 0x10;
const ARP_OP_REQUEST: u16 = 1;
/// `BPF_F_CURRENT_NETNS`: look the socket up in the skb's namespace.
const CURRENT_NETNS: u64 = u64::MAX;
/// Size of the IPv4 half of `bpf_sock_tuple`.
const TUPLE_V4_LEN: u32 = 12;

#[classifier]
pub fn segment_forward(ctx: TcContext) -> i32 {
    let bytes = ctx.len();
    let Some((outcome, verdict)) = try_segment_forward(&ctx) else { return TC_ACT_UNSPEC };
    count_slot(&FORWARD_COUNTERS, outcome as u32, bytes);
    verdict
}

/// The outcome to count and the TC verdict, or `None` for a frame that is
/// not ours (not TCP or ARP to a VIP).
#[inline(always)]
fn try_segment_forward(ctx: &TcContext) -> Option<(ForwardOutcome, i32)> {
    let frame = Frame::new(ctx);
    match frame.read_be16(12)? {
        ETH_P_IPV4 => tcp_segment(ctx, &frame),
        ETH_P_ARP => arp_request(&frame),
        _ => None,
    }
}

#[inline(always)]
fn tcp_segment(ctx: &TcContext, frame: &Frame) -> Option<(ForwardOutcome, i32)> {
    let ip = frame.read::<[u8; IPV4_MIN_HLEN]>(ETH_HLEN)?;
    if ip[0] >> 4 != 4 || ip[9] != IPPROTO_TCP {
        return None;
    }
    let daddr = [ip[16], ip[17], ip[18], ip[19]];
    // SAFETY: plain value read from a hash map the daemon writes.
    let entry: ForwardEntry = unsafe { FORWARD_VIPS.get(&daddr) }.copied()?;
    let tcp = ETH_HLEN + usize::from(ip[0] & 0x0f) * 4;
    let ports = frame.read::<[u8; 4]>(tcp)?;
    let flags = frame.read::<u8>(tcp + 13)?;
    let syn = flags & TCP_FLAG_SYN != 0 && flags & TCP_FLAG_ACK == 0;
    let socket = if syn { LocalSocket::None } else { socket_seen(ctx, &ip, ports) };
    let eth = frame.read::<[u8; 12]>(0)?;
    let source = [eth[6], eth[7], eth[8], eth[9], eth[10], eth[11]];
    // SAFETY: plain value read from a hash map the daemon writes.
    let from_peer = unsafe { FORWARD_PEERS.get(&ForwardPeer::new(source)) }.is_some();
    let outcome = forward_outcome(entry, syn, socket, from_peer);
    if outcome != ForwardOutcome::Forwarded {
        return Some((outcome, TC_ACT_UNSPEC));
    }
    let own = [eth[0], eth[1], eth[2], eth[3], eth[4], eth[5]];
    let mut rewritten = [0u8; 12];
    rewritten[..6].copy_from_slice(&entry.mac);
    rewritten[6..].copy_from_slice(&own);
    if ctx.store(0, &rewritten, 0).is_err() {
        return Some((ForwardOutcome::RedirectFailed, TC_ACT_UNSPEC));
    }
    // SAFETY: the skb is valid for the run; bpf_redirect takes any
    // ifindex, flags 0 is egress of the interface the frame came in on.
    let verdict = unsafe { bpf_redirect((*ctx.skb.skb).ifindex, 0) } as i32;
    if verdict == TC_ACT_SHOT {
        return Some((ForwardOutcome::RedirectFailed, TC_ACT_SHOT));
    }
    Some((ForwardOutcome::Forwarded, verdict))
}

/// Whether a local socket holds the segment's connection.
#[inline(always)]
fn socket_seen(ctx: &TcContext, ip: &[u8; IPV4_MIN_HLEN], ports: [u8; 4]) -> LocalSocket {
    // SAFETY: bpf_sock_tuple is plain data; zero is a valid value.
    let mut tuple: bpf_sock_tuple = unsafe { core::mem::zeroed() };
    // Addresses and ports in network order, as they are in the packet.
    tuple.__bindgen_anon_1.ipv4.saddr = u32::from_ne_bytes([ip[12], ip[13], ip[14], ip[15]]);
    tuple.__bindgen_anon_1.ipv4.daddr = u32::from_ne_bytes([ip[16], ip[17], ip[18], ip[19]]);
    tuple.__bindgen_anon_1.ipv4.sport = u16::from_ne_bytes([ports[0], ports[1]]);
    tuple.__bindgen_anon_1.ipv4.dport = u16::from_ne_bytes([ports[2], ports[3]]);
    // SAFETY: the skb and the tuple are valid for the call; a non-null
    // result is a referenced socket we release below.
    let sock = unsafe {
        bpf_skc_lookup_tcp(ctx.skb.skb.cast(), &raw mut tuple, TUPLE_V4_LEN, CURRENT_NETNS, 0)
    };
    if sock.is_null() {
        return LocalSocket::None;
    }
    // SAFETY: `sock` is a valid socket reference until released.
    let state = unsafe { (*sock).state };
    // SAFETY: releases the reference bpf_skc_lookup_tcp took.
    unsafe { bpf_sk_release(sock.cast()) };
    local_socket(Some(state))
}

#[inline(always)]
fn arp_request(frame: &Frame) -> Option<(ForwardOutcome, i32)> {
    if frame.read_be16(ETH_HLEN + 6)? != ARP_OP_REQUEST {
        return None;
    }
    let target = frame.read::<[u8; 4]>(ETH_HLEN + 24)?;
    // SAFETY: plain value read from a hash map the daemon writes.
    let entry = unsafe { FORWARD_VIPS.get(&target) }?;
    (entry.mode == VIP_DRAINING).then_some((ForwardOutcome::ArpSilenced, TC_ACT_SHOT))
}
