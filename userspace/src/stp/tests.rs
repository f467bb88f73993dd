//! Tests of the STP core: wire fixtures ([`bpdu`]), settings ([`config`]),
//! single-bridge behaviour fed by hand ([`roles`], [`handshake`],
//! [`guards`], [`topology`]) and whole topologies ([`network`]) on a
//! simulated network with a virtual clock ([`sim`]).

mod bpdu;
mod config;
mod guards;
mod handshake;
mod network;
mod roles;
mod sim;
mod topology;

use std::time::{Duration, Instant};

use super::{
    Action, Bpdu, BpduInfo, Bridge, BridgeId, Config, Flags, Params, PortId, PortParams, Times,
};

pub(super) const SECOND: Duration = Duration::from_secs(1);

/// `02:00:00:00:00:nn`.
pub(super) fn mac(n: u8) -> [u8; 6] {
    [2, 0, 0, 0, 0, n]
}

/// A bridge with `ports` 100 Mb/s ports numbered 1..=ports.
pub(super) fn params(n: u8, priority: u16, ports: u16) -> Params {
    let ports = (1..=ports).map(|i| PortParams::new(format!("p{i}"), i, 100)).collect();
    Params { priority, ..Params::new(mac(n), ports) }
}

pub(super) fn bridge(params: Params) -> Bridge {
    Bridge::new(Config::try_from(params).expect("valid test config"))
}

pub(super) fn drain(bridge: &mut Bridge) -> Vec<Action> {
    std::iter::from_fn(|| bridge.poll_action()).collect()
}

pub(super) fn sent(actions: &[Action]) -> Vec<(usize, Bpdu)> {
    (actions.iter())
        .filter_map(|a| match a {
            Action::SendBpdu { port, bpdu } => Some((*port, *bpdu)),
            _ => None,
        })
        .collect()
}

pub(super) fn default_times() -> Times {
    Times {
        message_age: Duration::ZERO,
        max_age: SECOND * 20,
        hello_time: SECOND * 2,
        forward_delay: SECOND * 15,
    }
}

/// Information a designated port of bridge `n` (priority `priority`) sends
/// about `root` at `cost`.
pub(super) fn info(root: BridgeId, cost: u32, n: u8, priority: u16, port: u16) -> BpduInfo {
    BpduInfo {
        flags: Flags::default().with_role(super::BpduRole::Designated),
        root,
        root_path_cost: cost,
        bridge: BridgeId::new(priority, mac(n)),
        port: PortId::new(128, port),
        times: default_times(),
    }
}

pub(super) fn origin() -> Instant {
    Instant::now()
}
