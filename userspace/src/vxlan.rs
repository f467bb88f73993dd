//! VXLAN as the daemon sees it: the eBPF tables it shares with the
//! `vxlan_encap`/`vxlan_decap` programs ([`tables`], through the pinned
//! maps), the forwarding-table policy (static entries, ageing of learned
//! ones: [`fdb`], pure functions of `now`), and what `halb vxlan fdb|stats`
//! shows ([`report`]).
//!
//! The kernel side and its measured behaviour are described in
//! `ebpf/halb-ebpf/src/vxlan_encap.rs` and `vxlan_decap.rs`; the daemon's
//! wiring (veth tunnel port, attach, reload) in `daemon/vxlan_sync.rs`.

pub mod fdb;
pub mod report;
pub mod tables;

pub use report::{FdbRow, VxlanReport};
pub use tables::{Tables, TablesError};
