//! Helpers for the single-instance tests ([`super::backup`],
//! [`super::master`], [`super::lifecycle`]): one instance driven by hand,
//! checking the actions each RFC 5798 §6.4 transition queues and the
//! deadline it arms.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use super::{drain, router, VIP, VRID};
use crate::vrrp::{Action, Advertisement, Auth, Params, Reason, State, Version, VirtualRouter};

pub(super) const SECOND: Duration = Duration::from_secs(1);
pub(super) const LOWER: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 249);

pub(super) fn advert(priority: u8) -> Advertisement {
    Advertisement {
        version: Version::V3,
        vrid: VRID,
        priority,
        interval: SECOND,
        addresses: vec![VIP],
        auth: Auth::None,
    }
}

pub(super) fn transition(at: Instant, from: State, to: State, reason: Reason) -> Action {
    Action::Transition { at, from, to, reason }
}

/// A started backup (bal1 at `priority`), its actions drained.
pub(super) fn backup(t0: Instant, params: Params) -> VirtualRouter {
    let mut router = router(params);
    router.startup(t0);
    drain(&mut router);
    assert_eq!(router.state(), State::Backup);
    router
}

/// A master: a backup whose `Master_Down_Timer` ran out, actions drained.
pub(super) fn master(t0: Instant, params: Params) -> (VirtualRouter, Instant) {
    let mut router = backup(t0, params);
    let at = router.poll_timeout().unwrap();
    router.handle_timeout(at);
    drain(&mut router);
    assert_eq!(router.state(), State::Master);
    (router, at)
}

pub(super) fn sent_priorities(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::SendAdvert(advert) => Some(advert.priority),
            _ => None,
        })
        .collect()
}
