//! Validation of `[[balancer.vrrp]]` sections into [`VrrpInstance`], and
//! the one mapping of an instance onto the protocol core's [`Params`]
//! ([`VrrpInstance::params`]). Defaults the protocol core also has
//! (version, advert interval, gratuitous ARPs) come from its constants, so
//! the two cannot drift apart.
//!
//! Keys and defaults (`[[balancer.vrrp]]`, keepalived's names):
//! `version` 2 or 3, default 2 as keepalived ([`DEFAULT_VERSION`], why
//! there); `advert_int` 1 s; `garp_master_repeat` 5; `garp_master_delay`
//! 5 s; `preempt` true; `fast_path` true; `realtime_priority` 1.

use std::{net::Ipv4Addr, time::Duration};

use super::{file::VrrpSection, ConfigError};
use crate::vrrp::{
    config::{DEFAULT_ADVERT_INTERVAL, DEFAULT_GARP_COUNT, DEFAULT_GARP_DELAY, DEFAULT_VERSION},
    Params, Version,
};

/// Most virtual addresses per instance (the fast path checks up to 8
/// in-kernel; more are validated by the daemon).
pub const MAX_VIRTUAL_ADDRESSES: usize = 20;
/// Longest preempt delay and gratuitous-ARP delay accepted, as keepalived.
pub const MAX_DELAY_SECS: f64 = 1000.0;
/// `SCHED_FIFO` priority of VRRP threads unless configured: the lowest
/// real-time level, enough to run ahead of any normal process.
pub const DEFAULT_REALTIME_PRIORITY: i64 = 1;
/// Most gratuitous ARPs per burst.
pub const MAX_GARP_REPEAT: i64 = 100;

/// One validated virtual router instance.
#[derive(Clone, Debug, PartialEq)]
pub struct VrrpInstance {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub priority: u8,
    pub advert_interval: Duration,
    pub version: Version,
    pub virtual_addresses: Vec<(Ipv4Addr, u8)>,
    pub preempt: bool,
    pub preempt_delay: Option<Duration>,
    pub garp_count: u32,
    pub garp_repeat: u32,
    pub garp_delay: Duration,
    pub fast_path: bool,
    /// Backend whose pool health this instance tracks.
    pub track: Option<Track>,
    /// `SCHED_FIFO` priority of the instance's thread; `None`: normal.
    pub realtime_priority: Option<u8>,
}

impl VrrpInstance {
    /// The protocol core's settings for this instance, once the driver
    /// knows the interface's `primary` address (the adverts' source).
    #[must_use]
    pub fn params(&self, primary: Ipv4Addr) -> Params {
        Params {
            advert_interval: self.advert_interval,
            version: self.version,
            preempt: self.preempt,
            preempt_delay: self.preempt_delay,
            garp_count: self.garp_count,
            garp_repeat: self.garp_repeat,
            garp_delay: self.garp_delay,
            ..Params::new(
                self.vrid,
                self.priority,
                primary,
                self.virtual_addresses.iter().map(|(address, _)| *address).collect(),
            )
        }
    }
}

/// Tracking of a proxy backend's pool health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    pub backend: String,
    /// Priority change while no server is up; `None`: FAULT instead.
    pub weight: Option<i16>,
}

pub(super) fn vrrp_instance(
    prefix: &str,
    section: VrrpSection,
    interfaces: &[String],
) -> Result<VrrpInstance, ConfigError> {
    let key = |name: &str| format!("{prefix}.{name}");
    if section.instance.is_empty() {
        return Err(ConfigError::invalid(key("instance"), "must not be empty"));
    }
    if !interfaces.contains(&section.interface) {
        return Err(ConfigError::invalid(
            key("interface"),
            format!(
                "{:?} is not one of this balancer's interfaces {interfaces:?}",
                section.interface
            ),
        ));
    }
    let vrid = in_range(&key("vrid"), section.vrid, 1, 255)?;
    let priority = in_range(&key("priority"), section.priority, 1, 255)?;
    let version = match section.version {
        None => DEFAULT_VERSION,
        Some(2) => Version::V2,
        Some(3) => Version::V3,
        Some(other) => {
            return Err(ConfigError::invalid(key("version"), format!("{other} is not 2 or 3")))
        }
    };
    let advert_interval = advert_interval(&key("advert_int"), section.advert_int, version)?;
    let virtual_addresses =
        virtual_addresses(&key("virtual_ipaddress"), &section.virtual_ipaddress)?;
    let preempt_delay = match section.preempt_delay {
        None => None,
        Some(secs) => Some(seconds(&key("preempt_delay"), secs)?).filter(|delay| !delay.is_zero()),
    };
    let garp_delay = seconds(
        &key("garp_master_delay"),
        section.garp_master_delay.unwrap_or(DEFAULT_GARP_DELAY.as_secs_f64()),
    )?;
    let garp_count = in_range(
        &key("garp_master_repeat"),
        section.garp_master_repeat.unwrap_or(i64::from(DEFAULT_GARP_COUNT)),
        1,
        MAX_GARP_REPEAT,
    )?;
    Ok(VrrpInstance {
        name: section.instance,
        interface: section.interface,
        vrid,
        priority,
        advert_interval,
        version,
        virtual_addresses,
        preempt: section.preempt.unwrap_or(true),
        preempt_delay,
        garp_count,
        garp_repeat: u32::from(!garp_delay.is_zero()),
        garp_delay,
        fast_path: section.fast_path.unwrap_or(true),
        track: track(prefix, section.track_backend, section.track_weight)?,
        realtime_priority: match section.realtime_priority.unwrap_or(DEFAULT_REALTIME_PRIORITY) {
            0 => None,
            value => Some(in_range(&key("realtime_priority"), value, 1, 99)?),
        },
    })
}

fn track(
    prefix: &str,
    backend: Option<String>,
    weight: Option<i64>,
) -> Result<Option<Track>, ConfigError> {
    let weight = match weight {
        None => None,
        Some(0) => {
            return Err(ConfigError::invalid(
                format!("{prefix}.track_weight"),
                "0 would track nothing; leave it out to go to FAULT instead",
            ))
        }
        Some(value) => Some(in_range(&format!("{prefix}.track_weight"), value, -254, 254)?),
    };
    match backend {
        Some(backend) => Ok(Some(Track { backend, weight })),
        None if weight.is_some() => {
            Err(ConfigError::invalid(format!("{prefix}.track_weight"), "needs track_backend"))
        }
        None => Ok(None),
    }
}

fn in_range<T: TryFrom<i64>>(key: &str, value: i64, min: i64, max: i64) -> Result<T, ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::invalid(key, format!("{value} is outside {min}-{max}")));
    }
    T::try_from(value).map_err(|_| ConfigError::invalid(key, format!("{value} does not fit")))
}

fn seconds(key: &str, secs: f64) -> Result<Duration, ConfigError> {
    if !secs.is_finite() || !(0.0..=MAX_DELAY_SECS).contains(&secs) {
        return Err(ConfigError::invalid(key, format!("{secs} s is outside 0-{MAX_DELAY_SECS} s")));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn advert_interval(
    key: &str,
    secs: Option<f64>,
    version: Version,
) -> Result<Duration, ConfigError> {
    let secs = secs.unwrap_or(DEFAULT_ADVERT_INTERVAL.as_secs_f64());
    let centis = (secs * 100.0).round();
    let whole_centis = secs.is_finite() && (secs * 100.0 - centis).abs() < 1e-6;
    match version {
        Version::V2 => {
            if !whole_centis || centis % 100.0 != 0.0 || !(1.0..=255.0).contains(&secs) {
                return Err(ConfigError::invalid(
                    key,
                    format!("{secs} s: VRRPv2 needs whole seconds, 1-255 (use version = 3 for sub-second adverts)"),
                ));
            }
        }
        Version::V3 => {
            if !whole_centis || !(1.0..=4095.0).contains(&centis) {
                return Err(ConfigError::invalid(
                    key,
                    format!("{secs} s: VRRPv3 needs whole centiseconds, 0.01-40.95 s"),
                ));
            }
        }
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "`centis` is a whole number in 1..=25500 here"
    )]
    let centis = centis as u64;
    Ok(Duration::from_millis(centis * 10))
}

fn virtual_addresses(key: &str, values: &[String]) -> Result<Vec<(Ipv4Addr, u8)>, ConfigError> {
    if values.is_empty() {
        return Err(ConfigError::invalid(key, "at least one virtual address is needed"));
    }
    if values.len() > MAX_VIRTUAL_ADDRESSES {
        return Err(ConfigError::invalid(
            key,
            format!("at most {MAX_VIRTUAL_ADDRESSES} addresses"),
        ));
    }
    let mut addresses: Vec<(Ipv4Addr, u8)> = Vec::new();
    for (index, value) in values.iter().enumerate() {
        let key = format!("{key}[{index}]");
        let (address, prefix) = match value.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (value.as_str(), None),
        };
        let address: Ipv4Addr = address
            .parse()
            .map_err(|_| ConfigError::invalid(&key, format!("{value:?} is not an IPv4 address")))?;
        // keepalived's default for a virtual address without a mask: /32.
        let prefix = match prefix {
            None => 32,
            Some(text) => text.parse::<u8>().ok().filter(|len| *len <= 32).ok_or_else(|| {
                ConfigError::invalid(&key, format!("{value:?}: prefix must be 0-32"))
            })?,
        };
        if address.is_unspecified() || address.is_multicast() || address.is_broadcast() {
            return Err(ConfigError::invalid(
                &key,
                format!("{address} cannot be a virtual address"),
            ));
        }
        if addresses.iter().any(|(existing, _)| *existing == address) {
            return Err(ConfigError::invalid(&key, format!("{address} is listed twice")));
        }
        addresses.push((address, prefix));
    }
    Ok(addresses)
}
