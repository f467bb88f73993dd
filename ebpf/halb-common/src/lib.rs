//! Types shared by halb's eBPF programs and its daemon.
//!
//! Everything here is `#[repr(C)]`, `Copy`, built from explicit-width integers
//! with no hidden padding, so what `bpftool map dump` prints (through BTF) is
//! exactly what the daemon reads. Map and program names are defined once here;
//! the daemon looks maps up by these constants, never by scattered literals.
#![no_std]
// Padding is spelled out as `_pad` fields (STYLE: what bpftool prints must
// match what Rust reads), and they are public so both sides can build values.
#![allow(clippy::pub_underscore_fields)]

#[macro_use]
mod keyed_enum;

pub mod checksum;
pub mod classify;
pub mod forward;
pub mod names;
pub mod steering;
pub mod stp;
pub mod vrrp;
pub mod vxlan;

pub use classify::{FrameClass, MalformedReason, PortClassKey, TrafficCounter};
