//! halb's eBPF datapath (bpfel-unknown-none).
//!
//! One file per attach point; the packet parser and the maps have their own
//! modules:
//! - `packet`: the one bounds-checked reader every program uses;
//! - `maps`: every map, declared once;
//! - `port_classifier`: TC ingress on every datapath interface;
//! - `vrrp_advert`: TC ingress on a balancer's VRRP interface;
//! - `stp_port`: TC ingress and egress on every port of a bridge whose
//!   spanning tree halb runs;
//! - `segment_forward`: TC ingress on a balancer's VRRP interface (after
//!   a planned VIP move, segments of the previous master's connections go
//!   to it);
//! - `vip_steering`: `SK_LOOKUP` on a balancer's network namespace (new
//!   TCP connections to a frontend address go to the proxy's socket);
//! - `vxlan_encap`: TC egress on the VXLAN tunnel port and ingress on its
//!   veth peer;
//! - `vxlan_decap`: TC ingress on the VXLAN underlay (external bridge);
//! - `vxlan_header`: the outer headers both share (build and checks);
//! - `vxlan_push`, `vxlan_segment`: encapsulation (GSO-aware) and the
//!   wire size of a GSO frame's segments.
#![no_std]
#![no_main]

mod maps;
mod packet;
mod port_classifier;
mod segment_forward;
mod stp_port;
mod vip_steering;
mod vrrp_advert;
mod vxlan_decap;
mod vxlan_encap;
mod vxlan_header;
mod vxlan_push;
mod vxlan_segment;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any program that could reach a panic, so this is
    // never executed; the loop only satisfies the type.
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
