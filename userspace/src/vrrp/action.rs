//! What the machine asks its driver to do, drained with
//! [`VirtualRouter::poll_action`](super::VirtualRouter::poll_action) in the
//! order queued.

use std::{net::Ipv4Addr, time::Instant};

use super::{
    packet::Advertisement,
    reason::{Reason, State},
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Encode `advert` (source = the primary address) and multicast it.
    /// `advert.priority` is 0 when resigning.
    SendAdvert(Advertisement),
    /// Configure the virtual addresses on the interface.
    AddAddresses(Vec<Ipv4Addr>),
    /// Remove the virtual addresses from the interface.
    RemoveAddresses(Vec<Ipv4Addr>),
    /// Send `count` gratuitous ARPs for every virtual address.
    SendGratuitousArp { count: u32 },
    /// Log the change; queued before the actions it causes.
    Transition { at: Instant, from: State, to: State, reason: Reason },
}
