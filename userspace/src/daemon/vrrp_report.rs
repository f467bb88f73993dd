//! What `halb vrrp status` shows of one instance.

use std::{collections::BTreeMap, net::Ipv4Addr, time::Instant};

use serde::{Deserialize, Serialize};

use crate::{config::VrrpInstance, vrrp::Status};

/// One logged transition.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransitionRecord {
    pub unix_ms: u64,
    pub from: String,
    pub to: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VrrpReport {
    pub instance: String,
    pub balancer: String,
    pub interface: String,
    pub vrid: u8,
    pub version: u8,
    pub state: String,
    pub primary_address: Option<Ipv4Addr>,
    pub virtual_addresses: Vec<String>,
    pub configured_priority: u8,
    pub effective_priority: u8,
    pub master_address: Option<Ipv4Addr>,
    pub master_priority: Option<u8>,
    /// Seconds since the last advert the machine saw, if any.
    pub last_advert_age_secs: Option<f64>,
    pub advert_interval_ms: u64,
    pub master_down_interval_ms: u64,
    pub transitions: u64,
    pub last_reason: Option<String>,
    pub history: Vec<TransitionRecord>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub adverts_discarded: u64,
    pub invalid_packets: u64,
    pub errors: u64,
    /// Fast-path verdicts and drops by reason (`None`: fast path off).
    pub fast_path: Option<BTreeMap<String, u64>>,
}

impl VrrpReport {
    /// Before the instance has read its interface.
    #[must_use]
    pub fn starting(config: &VrrpInstance, balancer: &str) -> Self {
        Self {
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
            ..Self::default()
        }
    }

    #[expect(clippy::too_many_arguments, reason = "one snapshot assembled from the driver's parts")]
    #[must_use]
    pub fn new(
        config: &VrrpInstance,
        balancer: &str,
        status: &Status,
        primary: Ipv4Addr,
        history: &[TransitionRecord],
        errors: u64,
        invalid_packets: u64,
        fast_path: Option<BTreeMap<String, u64>>,
    ) -> Self {
        let now = Instant::now();
        Self {
            instance: config.name.clone(),
            balancer: balancer.to_owned(),
            interface: config.interface.clone(),
            vrid: config.vrid,
            version: config.version.number(),
            state: status.state.to_string(),
            primary_address: Some(primary),
            virtual_addresses: addresses(config),
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
        }
    }
}

fn addresses(config: &VrrpInstance) -> Vec<String> {
    config.virtual_addresses.iter().map(|(address, prefix)| format!("{address}/{prefix}")).collect()
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
