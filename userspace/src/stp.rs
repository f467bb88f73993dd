//! STP/RSTP (IEEE 802.1D-2004 clause 17, with 802.1D-1998 STP as the
//! `Protocol::Stp` mode and as the per-port fallback) for one bridge with N
//! ports, as a pure protocol core: no sockets, clocks or tasks live here.
//!
//! Data flow, one [`Bridge`] per STP-enabled Linux bridge:
//!
//! ```text
//!  AF_PACKET (01:80:c2:00:00:00) ──LLC PDU──▶ bpdu::Bpdu::decode
//!                                                   │ Bpdu
//!                                                   ▼
//!  driver clock ──now──▶ Bridge::handle_bpdu(now, port, &bpdu)
//!                        Bridge::handle_timeout(now)
//!                        port_up(now, port, p2p) / port_down / mcheck
//!                                                   │
//!             poll_action() ◀───────────────────────┤ SendBpdu, SetPortState,
//!                                                   │ FlushFdb, Transition
//!             poll_timeout() ◀──────────────────────┘ next deadline
//! ```
//!
//! Inside, every input updates per-port variables and ends in one loop
//! (`bridge`) that plays the standard's state machines to a fixed point:
//! port information (`information`, and `receive` for BPDUs), role
//! selection (`select`), role transitions with the proposal/agreement
//! handshake (`transitions`), topology change (`topology`), then reports
//! port states and transmits (`transmit`). Identifiers and priority vectors
//! are in [`id`], the wire format in [`bpdu`], validated settings in
//! [`config`]; `action` and `status` are what the bridge reports.
//! [`kernel_ports`] is the policy that keeps the kernel bridge's port
//! states in line with the bridge's, for the driver.
//!
//! Deliberate departures from the letter of 802.1D-2004:
//! - Timers are deadlines, not one-second ticks; a timer the standard pins
//!   while a role lasts (`fdWhile` in Alternate/Disabled, `rrWhile` on the
//!   root port, `rbWhile` on a backup port) starts counting when the role
//!   ends. A port entering Root/Designated from Alternate, Backup or
//!   Disabled waits `FwdDelay` (as 802.1Q-2005 corrected), and
//!   `DESIGNATED_DISCARD` also restarts the full `FwdDelay`.
//! - An STP bridge (`Protocol::Stp`) behaves as an 802.1D-1998 bridge where
//!   2004's `ForceProtocolVersion` 0 would not: it drops RST BPDUs (1998
//!   does not know the type), so RSTP neighbours must fall back, and it
//!   ages received information after max age minus message age; RSTP
//!   uses three hello times.
//! - `allSynced` ignores the root port's `synced` (it is forwarding towards
//!   the root by construction); the root port sends a TCN in STP mode only
//!   while `tcWhile` runs.
//! - Topology changes flush per port ([`Action::FlushFdb`]) in both modes,
//!   the 2004 replacement for 1998's fast ageing.
//! - BPDU guard trips on any BPDU on a port that has it, edge or not; the
//!   port stays disabled until its link goes down and up.

mod action;
pub mod bpdu;
mod bridge;
pub mod config;
pub mod id;
mod information;
pub mod kernel_ports;
mod port;
mod receive;
mod select;
mod status;
mod topology;
mod transitions;
mod transmit;

#[cfg(test)]
mod tests;

pub use action::{Action, Cause, Event};
pub use bpdu::{Bpdu, BpduInfo, BpduRole, DecodeError, Flags};
pub use bridge::Bridge;
pub use config::{Config, ConfigError, Params, PortParams, Protocol};
pub use id::{BridgeId, PortId, PriorityVector, Times};
pub use port::{Mode, PortState, Role};
pub use status::{PortStatus, Status};
