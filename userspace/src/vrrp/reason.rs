//! States and the typed reason attached to each transition. Reasons render
//! as the one-line explanation the daemon logs and `halb status` prints,
//! e.g. `master down timer expired (last advert 3.61 s ago from
//! 172.16.1.250 prio 150)`.

use std::{fmt, net::Ipv4Addr, time::Duration};

/// RFC 5798 §6.4 states plus `Fault` (keepalived's FAULT: the interface is
/// down; the instance neither sends nor holds the addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum State {
    Initialize,
    Backup,
    Master,
    Fault,
}

impl State {
    /// Every state, for exporting the state as a state set.
    pub const ALL: [State; 4] = [State::Initialize, State::Backup, State::Master, State::Fault];
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// Why a transition happened.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reason {
    /// Initialize -> Backup.
    Startup,
    /// Initialize/Fault -> Master with priority 255.
    StartupAsOwner,
    /// Backup -> Master: no advert accepted for `Master_Down_Interval`.
    /// `last` is the last accepted advert, if any: how long before the
    /// expiry, from whom, at what priority.
    MasterDown { last: Option<(Duration, Ipv4Addr, u8)> },
    /// Backup -> Master after `Skew_Time`, because the master sent priority 0.
    MasterResigned { master: Ipv4Addr },
    /// Backup -> Master: the master's priority is below ours (preemption).
    PreemptLowerPriority { master: Ipv4Addr, priority: u8 },
    /// Backup -> Master: same priority, but our primary address is higher.
    PreemptLowerAddress { master: Ipv4Addr, priority: u8 },
    /// Master -> Backup: an advert with a higher priority.
    HigherPriority { from: Ipv4Addr, priority: u8 },
    /// Master -> Backup: same priority from a higher primary address.
    HigherAddress { from: Ipv4Addr, priority: u8 },
    /// Any -> Fault.
    InterfaceDown,
    /// Fault -> Backup (or Master for the owner).
    InterfaceUp,
    /// Any -> Fault: a tracked object (e.g. a backend pool) is down.
    TrackedDown(String),
    /// Fault -> Backup (or Master): the tracked object is up again.
    TrackedUp(String),
    /// Any -> Initialize.
    Shutdown,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::StartupAsOwner => f.write_str("startup as address owner"),
            Reason::MasterDown { last: Some((ago, from, priority)) } => write!(
                f,
                "master down timer expired (last advert {:.2} s ago from {from} prio {priority})",
                ago.as_secs_f64()
            ),
            Reason::MasterDown { last: None } => {
                f.write_str("master down timer expired (no advert heard)")
            }
            Reason::MasterResigned { master } => write!(f, "priority 0 from master {master}"),
            Reason::PreemptLowerPriority { master, priority } => {
                write!(f, "preempting lower priority master {master} prio {priority}")
            }
            Reason::PreemptLowerAddress { master, priority } => {
                write!(
                    f,
                    "preempting equal priority master {master} prio {priority} (lower address)"
                )
            }
            Reason::HigherPriority { from, priority } => {
                write!(f, "higher priority advert from {from} prio {priority}")
            }
            Reason::HigherAddress { from, priority } => {
                write!(f, "equal priority advert from higher address {from} prio {priority}")
            }
            Reason::InterfaceDown => f.write_str("interface down"),
            Reason::InterfaceUp => f.write_str("interface up"),
            Reason::TrackedDown(what) => write!(f, "tracked {what} is down"),
            Reason::TrackedUp(what) => write!(f, "tracked {what} is up again"),
            Reason::Shutdown => f.write_str("shutdown"),
        }
    }
}
