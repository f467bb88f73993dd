//! Fills in what `halb vrrp status` shows of one instance
//! ([`VrrpReport`], a control-protocol type) from its config and the
//! machine's [`Status`].

use std::{collections::BTreeMap, net::Ipv4Addr, time::Instant};

use crate::{
    config::VrrpInstance,
    control::vrrp::{TransitionRecord, VrrpReport},
    vrrp::Status,
};

/// Before the instance has read its interface.
#[must_use]
pub fn starting(config: &VrrpInstance, balancer: &str) -> VrrpReport {
    VrrpReport {
        instance: config.name.clone(),
        balancer: balancer.to_owned(),
        interface: config.interface.clone(),
        vrid: config.vrid,
        version: config.version.number(),
        state: "STARTING".to_owned(),
        virtual_addresses: addresses(config),
        configured_priority: config.priority,
        effective_priority: config.priority,
        advert_interval_ms: millis(config.advert_interval),
        ..VrrpReport::default()
    }
}

/// A running instance, as it is now.
#[expect(clippy::too_many_arguments, reason = "one snapshot assembled from the driver's parts")]
#[must_use]
pub fn running(
    config: &VrrpInstance,
    balancer: &str,
    status: &Status,
    primary: Ipv4Addr,
    history: &[TransitionRecord],
    errors: u64,
    invalid_packets: u64,
    fast_path: Option<BTreeMap<String, u64>>,
) -> VrrpReport {
    let now = Instant::now();
    VrrpReport {
        state: status.state.to_string(),
        primary_address: Some(primary),
        configured_priority: status.configured_priority,
        effective_priority: status.effective_priority,
        master_address: status.master.map(|master| master.address),
        master_priority: status.master.map(|master| master.priority),
        last_advert_age_secs: status
            .last_advert
            .map(|at| now.saturating_duration_since(at).as_secs_f64()),
        advert_interval_ms: millis(status.master_adver_interval),
        master_down_interval_ms: millis(status.master_down_interval),
        transitions: status.transitions,
        last_reason: status.last_transition.as_ref().map(|(_, reason)| reason.to_string()),
        history: history.to_vec(),
        adverts_sent: status.adverts_sent,
        adverts_received: status.adverts_received,
        adverts_discarded: status.adverts_discarded,
        invalid_packets,
        errors,
        fast_path,
        ..starting(config, balancer)
    }
}

fn addresses(config: &VrrpInstance) -> Vec<String> {
    config.virtual_addresses.iter().map(|(address, prefix)| format!("{address}/{prefix}")).collect()
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
