//! What the bridge asks its driver to do, drained with
//! [`Bridge::poll_action`](super::Bridge::poll_action) in the order queued.
//! Within one input, ports that close are queued before ports that open,
//! so applying the actions in order never opens a loop the protocol has
//! already closed.

use std::{fmt, time::Instant};

use super::{
    bpdu::Bpdu,
    id::BridgeId,
    port::{Mode, PortState, Role},
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Encode `bpdu` and send it on `port` (index into the config's ports)
    /// to the bridge group address.
    SendBpdu { port: usize, bpdu: Bpdu },
    /// Set the kernel bridge port state.
    SetPortState { port: usize, state: PortState },
    /// Remove the dynamic FDB entries learned on `port` (topology change).
    FlushFdb { port: usize },
    /// Something worth logging; `port` is `None` for bridge-wide events.
    Transition { at: Instant, port: Option<usize>, event: Event },
}

/// Why a role selection ran: the input that changed port information.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Cause {
    PortUp,
    PortDown,
    /// Better (or changed) information from this designated bridge.
    SuperiorInfo(BridgeId),
    /// Received information aged out (no BPDU for 3 hellos / max age).
    InfoAged,
    BpduGuard,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::PortUp => f.write_str("port up"),
            Cause::PortDown => f.write_str("port down"),
            Cause::SuperiorInfo(from) => write!(f, "superior information from {from}"),
            Cause::InfoAged => f.write_str("received information aged out"),
            Cause::BpduGuard => f.write_str("BPDU guard"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The bridge's root (or its way there) changed.
    Root {
        root: BridgeId,
        root_port: Option<usize>,
        cost: u32,
        cause: Cause,
    },
    RoleChanged {
        from: Role,
        to: Role,
        cause: Cause,
    },
    StateChanged {
        from: PortState,
        to: PortState,
    },
    /// The port now sends this kind of BPDU (migration or mcheck).
    ModeChanged {
        to: Mode,
    },
    /// `operEdge` changed (auto edge, or a BPDU on an edge port).
    EdgeChanged {
        edge: bool,
    },
    /// A BPDU arrived on a port with BPDU guard: the port is disabled until
    /// its link goes down and up again.
    BpduGuardTripped {
        from: Option<BridgeId>,
    },
    /// Root guard: superior information arrived (`true`) or aged out.
    RootInconsistent {
        active: bool,
        from: BridgeId,
    },
    /// A topology change was detected or heard of on this port.
    TopologyChange,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Root { root, root_port: Some(port), cost, cause } => {
                write!(f, "root {root} via port {port} cost {cost} ({cause})")
            }
            Event::Root { root, root_port: None, cause, .. } => {
                write!(f, "this bridge {root} is root ({cause})")
            }
            Event::RoleChanged { from, to, cause } => write!(f, "role {from} -> {to} ({cause})"),
            Event::StateChanged { from, to } => write!(f, "state {from} -> {to}"),
            Event::ModeChanged { to } => write!(f, "now sending {to} BPDUs"),
            Event::EdgeChanged { edge: true } => f.write_str("became an edge port"),
            Event::EdgeChanged { edge: false } => f.write_str("BPDU received: no longer edge"),
            Event::BpduGuardTripped { from: Some(from) } => {
                write!(f, "BPDU guard: BPDU from {from}, port disabled")
            }
            Event::BpduGuardTripped { from: None } => f.write_str("BPDU guard: TCN, port disabled"),
            Event::RootInconsistent { active: true, from } => {
                write!(f, "root guard: superior BPDU from {from}, root-inconsistent")
            }
            Event::RootInconsistent { active: false, from } => {
                write!(f, "root guard: {from} gone, consistent again")
            }
            Event::TopologyChange => f.write_str("topology change"),
        }
    }
}
