//! The host side of the protocols: sockets and rtnetlink requests the
//! protocol drivers use to act on the system. Each piece works in the
//! network namespace of the thread that creates it (see [`crate::netns`]);
//! sockets keep their namespace for their whole life.
//!
//! - [`vrrp_socket`]: raw IPv4 protocol-112 socket joined to 224.0.0.18;
//! - [`arp`]: gratuitous ARP announcements on an interface;
//! - [`addresses`]: adding and removing IPv4 addresses (rtnetlink);
//! - [`link`]: interface index, MAC, carrier, and link change events;
//! - [`bpdu_socket`]: packet socket sending and receiving BPDUs on a bridge port;
//! - [`packet_socket`]: opening, addressing and options of those packet sockets;
//! - [`bridge`]: bridge ports, kernel port states, FDB flush, `stp_state`.

pub mod addresses;
pub mod arp;
pub mod bpdu_socket;
pub mod bridge;
pub mod link;
pub mod packet_socket;
pub mod vrrp_socket;
