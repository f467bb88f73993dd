//! Bridge and port settings: [`Params`] / [`PortParams`] as the caller fills
//! them in (the daemon's config layer maps its TOML onto them), and
//! [`Config`], the validated form built by `TryFrom` that the bridge runs
//! on. Every [`ConfigError`] names the field (`ports[2].priority`) and why.
//!
//! Ranges are 802.1D-2004 Table 17-1 (timers, whole seconds) and 17.13/17.14
//! (priorities, path costs); default path costs follow Table 17-3.

use std::time::Duration;

use super::id::{BridgeId, PortId, BRIDGE_PRIORITY_STEP, MAX_PORT_NUMBER, PORT_PRIORITY_STEP};

pub const DEFAULT_BRIDGE_PRIORITY: u16 = 32768;
pub const DEFAULT_PORT_PRIORITY: u8 = 128;
pub const DEFAULT_HELLO_TIME: Duration = Duration::from_secs(2);
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(20);
pub const DEFAULT_FORWARD_DELAY: Duration = Duration::from_secs(15);
pub const DEFAULT_TX_HOLD_COUNT: u32 = 6;
pub const HELLO_TIME_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(2));
pub const MAX_AGE_RANGE: (Duration, Duration) = (Duration::from_secs(6), Duration::from_secs(40));
pub const FORWARD_DELAY_RANGE: (Duration, Duration) =
    (Duration::from_secs(4), Duration::from_secs(30));
pub const TX_HOLD_COUNT_RANGE: (u32, u32) = (1, 10);
pub const MAX_BRIDGE_PRIORITY: u16 = 61440;
pub const MAX_PORT_PRIORITY: u8 = 240;
pub const PATH_COST_RANGE: (u32, u32) = (1, 200_000_000);
/// `MigrateTime` (17.13.9): how long a port holds its protocol choice.
pub const MIGRATE_TIME: Duration = Duration::from_secs(3);

/// Which protocol the bridge runs (`ForceProtocolVersion`, 17.13.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Protocol {
    /// 802.1D-1998 behaviour: Configuration/TCN BPDUs, timer-driven
    /// transitions (blocking, listening, learning, forwarding).
    Stp,
    /// 802.1D-2004 RSTP, falling back to STP per port when it hears STP.
    Rstp,
}

/// 802.1D-2004 Table 17-3 recommended path cost for a link speed in Mb/s
/// (20 000 000 / speed, clamped to 1..=200 000 000).
#[must_use]
pub fn default_path_cost(speed_mbps: u32) -> u32 {
    (20_000_000 / u64::from(speed_mbps.max(1)))
        .clamp(u64::from(PATH_COST_RANGE.0), u64::from(PATH_COST_RANGE.1))
        .try_into()
        .unwrap_or(PATH_COST_RANGE.1)
}

/// The 16-bit costs of 802.1D-1998 (Table 8-5) that kernel STP uses.
#[must_use]
pub fn legacy_path_cost(speed_mbps: u32) -> u32 {
    match speed_mbps {
        0..=4 => 250,
        5..=10 => 100,
        11..=16 => 62,
        17..=100 => 19,
        101..=1000 => 4,
        _ => 2,
    }
}

/// One port as configured.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[expect(clippy::struct_excessive_bools, reason = "independent per-port switches")]
pub struct PortParams {
    /// Interface name, for status and logs.
    pub name: String,
    /// Port number, 1-4095, unique on the bridge.
    pub number: u16,
    /// 0-240 in steps of 16.
    pub priority: u8,
    pub path_cost: u32,
    /// `AdminEdgePort`: the port starts as an edge port (forwards at once).
    pub admin_edge: bool,
    /// `AutoEdgePort`: a designated port that hears no BPDU for the edge
    /// delay while proposing becomes an edge port.
    pub auto_edge: bool,
    /// Disable the port when any BPDU arrives on it.
    pub bpdu_guard: bool,
    /// `restrictedRole`: never root port; superior BPDUs make the port
    /// root-inconsistent (discarding) until they stop.
    pub root_guard: bool,
}

impl PortParams {
    /// Defaults: priority 128, Table 17-3 cost for `speed_mbps`, not edge,
    /// no guards.
    #[must_use]
    pub fn new(name: impl Into<String>, number: u16, speed_mbps: u32) -> Self {
        PortParams {
            name: name.into(),
            number,
            priority: DEFAULT_PORT_PRIORITY,
            path_cost: default_path_cost(speed_mbps),
            admin_edge: false,
            auto_edge: false,
            bpdu_guard: false,
            root_guard: false,
        }
    }
}

/// Bridge settings as given.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Params {
    pub protocol: Protocol,
    /// 0-61440 in steps of 4096.
    pub priority: u16,
    pub mac: [u8; 6],
    pub hello_time: Duration,
    pub max_age: Duration,
    pub forward_delay: Duration,
    /// BPDUs a port may send per second.
    pub tx_hold_count: u32,
    pub ports: Vec<PortParams>,
}

impl Params {
    /// RSTP, priority 32768, 2/20/15 s timers, hold count 6.
    #[must_use]
    pub fn new(mac: [u8; 6], ports: Vec<PortParams>) -> Self {
        Params {
            protocol: Protocol::Rstp,
            priority: DEFAULT_BRIDGE_PRIORITY,
            mac,
            hello_time: DEFAULT_HELLO_TIME,
            max_age: DEFAULT_MAX_AGE,
            forward_delay: DEFAULT_FORWARD_DELAY,
            tx_hold_count: DEFAULT_TX_HOLD_COUNT,
            ports,
        }
    }
}

/// Validated settings (read-only).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Config {
    params: Params,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stp `{field}`: {reason}")]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError { field: field.into(), reason: reason.into() }
}

fn check_seconds(
    field: &'static str,
    value: Duration,
    (low, high): (Duration, Duration),
) -> Result<(), ConfigError> {
    if value.subsec_nanos() != 0 || value < low || value > high {
        return Err(invalid(
            field,
            format!("{value:?} is not whole seconds in {}-{} s", low.as_secs(), high.as_secs()),
        ));
    }
    Ok(())
}

impl TryFrom<Params> for Config {
    type Error = ConfigError;

    fn try_from(params: Params) -> Result<Self, ConfigError> {
        if params.priority > MAX_BRIDGE_PRIORITY
            || !params.priority.is_multiple_of(BRIDGE_PRIORITY_STEP)
        {
            return Err(invalid(
                "priority",
                format!("{} is not a multiple of 4096 in 0-61440", params.priority),
            ));
        }
        if params.mac[0] & 1 != 0 || params.mac == [0; 6] {
            return Err(invalid("mac", format!("{:02x?} is not a unicast address", params.mac)));
        }
        check_seconds("hello_time", params.hello_time, HELLO_TIME_RANGE)?;
        check_seconds("max_age", params.max_age, MAX_AGE_RANGE)?;
        check_seconds("forward_delay", params.forward_delay, FORWARD_DELAY_RANGE)?;
        let second = Duration::from_secs(1);
        if params.max_age > params.forward_delay.saturating_sub(second) * 2 {
            return Err(invalid(
                "max_age",
                format!(
                    "{:?} breaks 2 * (forward_delay - 1 s) >= max_age with forward_delay {:?}",
                    params.max_age, params.forward_delay
                ),
            ));
        }
        if params.max_age < (params.hello_time + second) * 2 {
            return Err(invalid(
                "max_age",
                format!(
                    "{:?} breaks max_age >= 2 * (hello_time + 1 s) with hello_time {:?}",
                    params.max_age, params.hello_time
                ),
            ));
        }
        let (low, high) = TX_HOLD_COUNT_RANGE;
        if !(low..=high).contains(&params.tx_hold_count) {
            return Err(invalid(
                "tx_hold_count",
                format!("{} is not in {low}-{high}", params.tx_hold_count),
            ));
        }
        check_ports(&params.ports)?;
        Ok(Config { params })
    }
}

fn check_ports(ports: &[PortParams]) -> Result<(), ConfigError> {
    if ports.is_empty() {
        return Err(invalid("ports", "a bridge needs at least one port"));
    }
    for (index, port) in ports.iter().enumerate() {
        let field = |name: &str| format!("ports[{index}].{name}");
        if port.number == 0 || port.number > MAX_PORT_NUMBER {
            return Err(invalid(field("number"), format!("{} is not in 1-4095", port.number)));
        }
        if ports[..index].iter().any(|other| other.number == port.number) {
            return Err(invalid(field("number"), format!("{} is used twice", port.number)));
        }
        if port.priority > MAX_PORT_PRIORITY || !port.priority.is_multiple_of(PORT_PRIORITY_STEP) {
            return Err(invalid(
                field("priority"),
                format!("{} is not a multiple of 16 in 0-240", port.priority),
            ));
        }
        let (low, high) = PATH_COST_RANGE;
        if !(low..=high).contains(&port.path_cost) {
            return Err(invalid(
                field("path_cost"),
                format!("{} is not in {low}-{high}", port.path_cost),
            ));
        }
    }
    Ok(())
}

impl Config {
    #[must_use]
    pub fn protocol(&self) -> Protocol {
        self.params.protocol
    }
    #[must_use]
    pub fn bridge_id(&self) -> BridgeId {
        BridgeId::new(self.params.priority, self.params.mac)
    }
    #[must_use]
    pub fn hello_time(&self) -> Duration {
        self.params.hello_time
    }
    #[must_use]
    pub fn max_age(&self) -> Duration {
        self.params.max_age
    }
    #[must_use]
    pub fn forward_delay(&self) -> Duration {
        self.params.forward_delay
    }
    #[must_use]
    pub fn tx_hold_count(&self) -> u32 {
        self.params.tx_hold_count
    }
    #[must_use]
    pub fn ports(&self) -> &[PortParams] {
        &self.params.ports
    }
    #[must_use]
    pub fn port_id(&self, index: usize) -> PortId {
        let port = &self.params.ports[index];
        PortId::new(port.priority, port.number)
    }
    /// The settings as given.
    #[must_use]
    pub fn params(&self) -> &Params {
        &self.params
    }
}
