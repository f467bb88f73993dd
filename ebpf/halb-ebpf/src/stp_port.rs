//! STP port enforcement, TC ingress (`stp_port_in`) and egress
//! (`stp_port_out`) on every port of a bridge whose spanning tree halb runs.
//!
//! The kernel bridge runs with STP off (stp_state 0), so on its own it would
//! flood BPDUs and forward through every port with carrier. These programs
//! make the daemon's view authoritative (see `halb_common::stp` for the
//! table): a port forwards only once `STP_PORT_STATE[ifindex]` says so, and
//! a missing entry is discarding, so nothing crosses a port right after
//! link-up or before the daemon has opened it.
//!
//! Ingress BPDUs are dropped here: the daemon's AF_PACKET socket has
//! already seen them, because packet taps (`ptype_all`) run before TC
//! ingress in `__netif_receive_skb_core` (checked by the namespace tests:
//! the daemon hears its neighbours while `bpdu_in` counts the drops).
//! Egress passes only BPDUs marked by the daemon's socket.
//!
//! Verdicts: pass is `TC_ACT_UNSPEC` (the next program in the TCX chain, or
//! the stack, decides), drop is `TC_ACT_SHOT`.

use aya_ebpf::{
    bindings::{TC_ACT_SHOT, TC_ACT_UNSPEC},
    macros::classifier,
    programs::TcContext,
};
use halb_common::{
    classify::BPDU_DEST_MAC,
    stp::{egress_verdict, ingress_verdict, StpPortCounters, StpVerdict, STP_BPDU_MARK},
};

use crate::{
    maps::{STP_PORT_COUNTERS, STP_PORT_STATE},
    packet::{Frame, ETH_HLEN, ETH_P_802_3_MIN, LLC_SAP_BPDU},
};

#[classifier]
pub fn stp_port_in(ctx: TcContext) -> i32 {
    let ifindex = port_ifindex(&ctx);
    let verdict = ingress_verdict(is_bpdu(&ctx), state_of(ifindex));
    finish(ifindex, verdict)
}

#[classifier]
pub fn stp_port_out(ctx: TcContext) -> i32 {
    let ifindex = port_ifindex(&ctx);
    // SAFETY: reading a field of the skb the program was given.
    let mark = unsafe { (*ctx.skb.skb).mark };
    let verdict = egress_verdict(is_bpdu(&ctx), mark == STP_BPDU_MARK, state_of(ifindex));
    finish(ifindex, verdict)
}

/// `skb->dev`'s index: the port the program is attached to, at ingress
/// and at egress alike (and the `ifindex` a `BPF_PROG_TEST_RUN` context
/// names, which `ingress_ifindex` is not).
#[inline(always)]
fn port_ifindex(ctx: &TcContext) -> u32 {
    // SAFETY: reading a field of the skb the program was given.
    unsafe { (*ctx.skb.skb).ifindex }
}

/// The port's state from the daemon's map; `None` when it has no entry.
#[inline(always)]
fn state_of(ifindex: u32) -> Option<u32> {
    // SAFETY: the value is copied out; the daemon writes whole entries.
    unsafe { STP_PORT_STATE.get(ifindex) }.map(|entry| entry.state)
}

/// An 802.3 frame to the Bridge Group Address with the spanning tree LSAP
/// (DSAP and SSAP 0x42).
#[inline(always)]
fn is_bpdu(ctx: &TcContext) -> bool {
    let frame = Frame::new(ctx);
    let Some(header) = frame.read::<[u8; ETH_HLEN + 2]>(0) else { return false };
    header[0..6] == BPDU_DEST_MAC
        && u16::from_be_bytes([header[12], header[13]]) < ETH_P_802_3_MIN
        && header[14] == LLC_SAP_BPDU
        && header[15] == LLC_SAP_BPDU
}

#[inline(always)]
fn finish(ifindex: u32, verdict: StpVerdict) -> i32 {
    count(ifindex, verdict);
    match verdict {
        StpVerdict::BpduOut | StpVerdict::PassedIngress | StpVerdict::PassedEgress => TC_ACT_UNSPEC,
        StpVerdict::BpduIn | StpVerdict::DroppedIngress | StpVerdict::DroppedEgress => TC_ACT_SHOT,
    }
}

#[inline(always)]
fn count(ifindex: u32, verdict: StpVerdict) {
    if let Some(counters) = STP_PORT_COUNTERS.get_ptr_mut(ifindex) {
        // SAFETY: a per-CPU map slot of this CPU, valid for the program's run.
        let counters = unsafe { &mut *counters };
        match verdict {
            StpVerdict::BpduIn => counters.bpdu_in += 1,
            StpVerdict::BpduOut => counters.bpdu_out += 1,
            StpVerdict::DroppedIngress => counters.dropped_ingress += 1,
            StpVerdict::DroppedEgress => counters.dropped_egress += 1,
            StpVerdict::PassedIngress => counters.passed_ingress += 1,
            StpVerdict::PassedEgress => counters.passed_egress += 1,
        }
        return;
    }
    let mut first = StpPortCounters::default();
    match verdict {
        StpVerdict::BpduIn => first.bpdu_in = 1,
        StpVerdict::BpduOut => first.bpdu_out = 1,
        StpVerdict::DroppedIngress => first.dropped_ingress = 1,
        StpVerdict::DroppedEgress => first.dropped_egress = 1,
        StpVerdict::PassedIngress => first.passed_ingress = 1,
        StpVerdict::PassedEgress => first.passed_egress = 1,
    }
    // A full map loses the count (sized for STP_MAX_PORTS ports).
    let _ = STP_PORT_COUNTERS.insert(ifindex, first, 0);
}
