//! A running VXLAN tunnel of the host role, as the daemon holds it: its
//! config, namespace, pinned maps, interfaces and ageing task. Building,
//! updating and stopping it is `vxlan_sync`'s.

use std::path::PathBuf;

use tokio::{sync::watch, task::JoinHandle};

use crate::{
    config::{vxlan::Vxlan, AttachPoint, HOST_INSTANCE},
    netns::Netns,
};

/// Role name of the VXLAN attach points (distinct from the host's
/// classifier points, so detaching one never detaches the other).
const VXLAN_ROLE: &str = "host vxlan";

/// A running tunnel.
pub struct VxlanHost {
    pub config: Vxlan,
    pub(super) netns_name: Option<String>,
    pub(super) netns: Option<Netns>,
    pub(super) pin_dir: PathBuf,
    pub(super) underlay_ifindex: u32,
    pub(super) tunnel_ifindex: u32,
    pub(super) peer_ifindex: u32,
    pub(super) wanted: watch::Sender<Vxlan>,
    pub(super) ageing: JoinHandle<()>,
    /// Why the last map update failed, if it did.
    pub(super) error: Option<String>,
}

impl VxlanHost {
    pub(super) fn point(&self, interface: &str) -> AttachPoint {
        point(self.netns_name.as_ref(), interface)
    }
}

fn point(netns: Option<&String>, interface: &str) -> AttachPoint {
    AttachPoint {
        instance: HOST_INSTANCE.to_owned(),
        role: VXLAN_ROLE.to_owned(),
        netns: netns.cloned(),
        interface: interface.to_owned(),
    }
}
