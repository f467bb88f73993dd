//! VRRP (RFC 5798 version 3, RFC 3768 version 2) for IPv4, as a pure protocol
//! core: no sockets, clocks or tasks live here.
//!
//! Data flow, one [`VirtualRouter`] per `vrrp_instance`:
//!
//! ```text
//!  raw socket / XDP ──bytes + IP src,dst,TTL──▶ packet::Advertisement::decode
//!                                                    │ Advertisement
//!                                                    ▼
//!  driver clock ──now──▶ VirtualRouter::handle_advert(now, src, &advert)
//!                        VirtualRouter::handle_timeout(now)
//!                        startup / shutdown / interface_up / interface_down /
//!                        set_priority_offset (all take `now`)
//!                                                    │
//!              poll_action() ◀───────────────────────┤ queued Action values
//!              poll_timeout() ◀──────────────────────┘ next deadline
//! ```
//!
//! The driver (tokio, elsewhere) turns socket reads into `handle_advert`,
//! sleeps until `poll_timeout()` and calls `handle_timeout`, then drains
//! `poll_action()` and applies each [`Action`]: encode and send an advert,
//! add or remove the virtual addresses (rtnetlink), send gratuitous ARPs, log
//! a transition. Because time is an argument, the same code runs under the
//! simulated network in the tests with a virtual clock.
//!
//! Files: [`packet`] (wire format and checksum, the sum from
//! `halb_common::checksum`), [`config`] (validated
//! instance settings), [`timers`] (RFC timer arithmetic and deadlines),
//! `machine` (the instance and its outputs), `events` (lifecycle inputs and
//! timeouts), `receive` (adverts), `reason`/`action`/`status` (what the
//! machine reports). Tests, including the simulated network, are in
//! `tests/`.

mod action;
pub mod config;
mod events;
mod machine;
pub mod packet;
mod reason;
mod receive;
mod status;
pub mod timers;

#[cfg(test)]
mod tests;

pub use action::Action;
pub use config::{Config, ConfigError, Params};
pub use machine::VirtualRouter;
pub use packet::{Advertisement, Auth, DecodeError, EncodeError, IpMeta, Version};
pub use reason::{Reason, State};
pub use receive::{Discard, Verdict};
pub use status::{KnownMaster, Status};
