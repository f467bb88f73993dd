//! Settings of one virtual router: [`Params`] as the caller fills them in
//! (the daemon's config layer maps its TOML section onto it), and [`Config`],
//! the validated form built by `TryFrom` that the state machine runs on.
//! Every [`ConfigError`] names the field and the reason.

use std::{collections::HashSet, net::Ipv4Addr, time::Duration};

use super::packet::{interval_to_wire, Version};

/// Priority of the router that owns the virtual addresses.
pub const OWNER_PRIORITY: u8 = 255;
/// Highest priority a non-owner can have, configured or after tracking.
pub const MAX_BACKUP_PRIORITY: u8 = 254;
/// The version an instance speaks unless told otherwise: 2, keepalived's
/// default (`vrrp_version`). halb reads keepalived's keys, and a keepalived
/// user who leaves `version` out expects the adverts keepalived would send:
/// a v2 router ignores v3 adverts, so defaulting to v3 would split the
/// virtual router between halb and keepalived peers. The config layer
/// (`version` in `[[balancer.vrrp]]`) and [`Params::new`] both take it from
/// here.
pub const DEFAULT_VERSION: Version = Version::V2;
/// RFC default `Advertisement_Interval` (1 s, both versions).
pub const DEFAULT_ADVERT_INTERVAL: Duration = Duration::from_secs(1);
/// Gratuitous ARPs per burst (keepalived `garp_master_repeat`).
pub const DEFAULT_GARP_COUNT: u32 = 5;
/// Bursts after the first (keepalived sends one more set).
pub const DEFAULT_GARP_REPEAT: u32 = 1;
/// Delay between bursts (keepalived `garp_master_delay`).
pub const DEFAULT_GARP_DELAY: Duration = Duration::from_secs(5);
/// Longest preempt delay accepted (keepalived's limit too).
pub const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);
/// Upper bound on gratuitous ARPs per burst, to catch typos.
pub const MAX_GARP_COUNT: u32 = 100;

/// Unvalidated settings; see [`Params::new`] for the defaults.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Params {
    /// Virtual router id, 1-255.
    pub vrid: u8,
    /// 1-255; 255 means this router owns the virtual addresses.
    pub priority: u8,
    /// `Advertisement_Interval`: whole seconds (v2) or centiseconds (v3).
    pub advert_interval: Duration,
    /// Whether a higher priority backup takes over from a lower master.
    pub preempt: bool,
    /// Wait this long after entering Backup (startup, interface up) before
    /// preempting a lower priority master; see `events` for the details.
    pub preempt_delay: Option<Duration>,
    pub version: Version,
    /// This router's own address on the interface: source of adverts and
    /// the tie-breaker between equal priorities.
    pub primary_address: Ipv4Addr,
    pub virtual_addresses: Vec<Ipv4Addr>,
    /// Gratuitous ARPs per burst on becoming master.
    pub garp_count: u32,
    /// Further bursts after the first, each `garp_delay` after the previous.
    pub garp_repeat: u32,
    pub garp_delay: Duration,
}

impl Params {
    /// Settings with keepalived's defaults: [`DEFAULT_VERSION`] (v2), 1 s
    /// adverts, preempt on without delay, 5 gratuitous ARPs and one more
    /// burst 5 s later.
    #[must_use]
    pub fn new(
        vrid: u8,
        priority: u8,
        primary_address: Ipv4Addr,
        virtual_addresses: Vec<Ipv4Addr>,
    ) -> Self {
        Params {
            vrid,
            priority,
            advert_interval: DEFAULT_ADVERT_INTERVAL,
            preempt: true,
            preempt_delay: None,
            version: DEFAULT_VERSION,
            primary_address,
            virtual_addresses,
            garp_count: DEFAULT_GARP_COUNT,
            garp_repeat: DEFAULT_GARP_REPEAT,
            garp_delay: DEFAULT_GARP_DELAY,
        }
    }
}

/// Validated settings (read-only).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Config {
    params: Params,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("vrrp `{field}`: {reason}")]
pub struct ConfigError {
    pub field: &'static str,
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { field, reason: reason.into() }
}

impl TryFrom<Params> for Config {
    type Error = ConfigError;

    fn try_from(params: Params) -> Result<Self, ConfigError> {
        if params.vrid == 0 {
            return Err(invalid("vrid", "must be 1-255, got 0"));
        }
        if params.priority == 0 {
            return Err(invalid("priority", "must be 1-255, got 0 (0 is reserved for resigning)"));
        }
        if interval_to_wire(params.version, params.advert_interval).is_err() {
            let reason = match params.version {
                Version::V2 => "VRRPv2 needs whole seconds, 1-255 s",
                Version::V3 => "VRRPv3 needs whole centiseconds, 10 ms-40.95 s",
            };
            return Err(invalid(
                "advert_interval",
                format!("{:?}: {reason}", params.advert_interval),
            ));
        }
        check_addresses(&params)?;
        if let Some(delay) = params.preempt_delay {
            if delay > MAX_PREEMPT_DELAY {
                return Err(invalid(
                    "preempt_delay",
                    format!("{delay:?} is longer than {MAX_PREEMPT_DELAY:?}"),
                ));
            }
        }
        if params.garp_count > MAX_GARP_COUNT {
            return Err(invalid(
                "garp_count",
                format!("{} is more than {MAX_GARP_COUNT}", params.garp_count),
            ));
        }
        if params.garp_repeat > 0 && params.garp_delay.is_zero() {
            return Err(invalid("garp_delay", "must be non-zero when garp_repeat is set"));
        }
        Ok(Config { params })
    }
}

fn check_addresses(params: &Params) -> Result<(), ConfigError> {
    let primary = params.primary_address;
    if primary.is_unspecified() || primary.is_multicast() || primary.is_broadcast() {
        return Err(invalid("primary_address", format!("{primary} is not a unicast address")));
    }
    if params.virtual_addresses.is_empty() {
        return Err(invalid("virtual_addresses", "at least one address is needed"));
    }
    if params.virtual_addresses.len() > usize::from(u8::MAX) {
        return Err(invalid("virtual_addresses", "at most 255 addresses fit an advert"));
    }
    let mut seen = HashSet::new();
    for address in &params.virtual_addresses {
        if address.is_unspecified() || address.is_multicast() || address.is_broadcast() {
            return Err(invalid("virtual_addresses", format!("{address} is not unicast")));
        }
        if !seen.insert(address) {
            return Err(invalid("virtual_addresses", format!("{address} is listed twice")));
        }
    }
    // RFC 5798 §5.2.4: the owner, and only the owner, has priority 255.
    if seen.contains(&primary) && params.priority != OWNER_PRIORITY {
        return Err(invalid(
            "priority",
            format!("{primary} is both primary and virtual: the address owner needs 255"),
        ));
    }
    Ok(())
}

impl Config {
    #[must_use]
    pub fn vrid(&self) -> u8 {
        self.params.vrid
    }
    #[must_use]
    pub fn priority(&self) -> u8 {
        self.params.priority
    }
    #[must_use]
    pub fn is_owner(&self) -> bool {
        self.params.priority == OWNER_PRIORITY
    }
    #[must_use]
    pub fn advert_interval(&self) -> Duration {
        self.params.advert_interval
    }
    /// Preemption is on, or this is the owner (which always preempts).
    #[must_use]
    pub fn preempt(&self) -> bool {
        self.params.preempt || self.is_owner()
    }
    #[must_use]
    pub fn preempt_delay(&self) -> Option<Duration> {
        self.params.preempt_delay.filter(|delay| !delay.is_zero())
    }
    #[must_use]
    pub fn version(&self) -> Version {
        self.params.version
    }
    #[must_use]
    pub fn primary_address(&self) -> Ipv4Addr {
        self.params.primary_address
    }
    #[must_use]
    pub fn virtual_addresses(&self) -> &[Ipv4Addr] {
        &self.params.virtual_addresses
    }
    #[must_use]
    pub fn garp_count(&self) -> u32 {
        self.params.garp_count
    }
    #[must_use]
    pub fn garp_repeat(&self) -> u32 {
        self.params.garp_repeat
    }
    #[must_use]
    pub fn garp_delay(&self) -> Duration {
        self.params.garp_delay
    }
    /// The settings as given.
    #[must_use]
    pub fn params(&self) -> &Params {
        &self.params
    }
}
