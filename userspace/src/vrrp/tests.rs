//! Tests of the VRRP core: wire fixtures ([`packet`]), settings
//! ([`config`]), single-instance RFC transitions ([`backup`], [`master`],
//! [`lifecycle`], helpers in [`machine`]) and
//! multi-router scenarios ([`network`]) on a simulated network ([`sim`]).

mod backup;
mod config;
mod handover;
mod lifecycle;
mod machine;
mod master;
mod network;
mod packet;
mod sim;

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use super::{Action, Config, Params, Version, VirtualRouter};

/// The lab's virtual address and VRID.
pub(super) const VIP: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 254);
pub(super) const VRID: u8 = 12;
pub(super) const BAL1: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 250);
pub(super) const BAL2: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 251);
pub(super) const BAL3: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 252);

pub(super) fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Version 3 settings (the tests use sub-second adverts; the default is 2).
pub(super) fn params(priority: u8, primary: Ipv4Addr) -> Params {
    Params { version: Version::V3, ..Params::new(VRID, priority, primary, vec![VIP]) }
}

pub(super) fn router(params: Params) -> VirtualRouter {
    VirtualRouter::new(Config::try_from(params).expect("valid test config"))
}

pub(super) fn drain(router: &mut VirtualRouter) -> Vec<Action> {
    std::iter::from_fn(|| router.poll_action()).collect()
}

/// Asserts `a` and `b` are within one millisecond ("one tick").
#[track_caller]
pub(super) fn assert_near(a: Duration, b: Duration) {
    let diff = a.abs_diff(b);
    assert!(diff <= ms(1), "{a:?} is not within 1 ms of {b:?}");
}

/// A fixed origin for manual clocks.
pub(super) fn origin() -> Instant {
    Instant::now()
}
