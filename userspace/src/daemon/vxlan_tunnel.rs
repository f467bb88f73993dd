//! The tunnel port of the VXLAN datapath: a veth pair created by the daemon
//! in the host namespace through rtnetlink. `<tunnel_port>` joins the
//! internal bridge; `<tunnel_port>-dp` carries the `vxlan_encap` program.
//!
//! Why these settings:
//! - `gso_max_segs 1` on both ends: the kernel segments GSO frames (TSO'd
//!   TCP from the endpoints' veths) before handing them to the tunnel port,
//!   so the encap program only sees wire-sized frames and never has to fix
//!   up segmentation metadata under the outer headers;
//! - MTU [`TUNNEL_LINK_MTU`] on both ends: the bridge hands every frame to
//!   the program, which drops and counts (`too_big`) what exceeds the
//!   configured VXLAN MTU, instead of the bridge dropping it silently;
//! - IPv6 off on both ends: they are plumbing, not hosts, and must not send
//!   router solicitations or DAD probes into the internal network.

use futures_util::TryStreamExt as _;
use rtnetlink::{
    packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute},
    Handle, LinkMessageBuilder, LinkUnspec, LinkVeth,
};

use crate::{config::vxlan::Vxlan, net::link, netns::Netns};

/// MTU of both veth ends: large enough that the bridge forwards anything
/// its other ports accept, so oversize frames reach the program and are
/// counted there.
pub const TUNNEL_LINK_MTU: u32 = 65_535;

#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    #[error("{what}: {cause}")]
    Netlink { what: String, cause: String },
    #[error(transparent)]
    Netns(#[from] crate::netns::NetnsError),
}

fn netlink_error(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> TunnelError {
    let what = what.into();
    move |cause| TunnelError::Netlink { what, cause: cause.to_string() }
}

/// A netlink handle inside `netns` (the socket keeps the namespace).
pub fn handle(netns: Option<&Netns>) -> Result<Handle, TunnelError> {
    let _guard = netns.map(Netns::enter).transpose()?;
    link::connect()
        .map_err(|err| TunnelError::Netlink { what: "rtnetlink".into(), cause: err.to_string() })
}

async fn index_of(handle: &Handle, name: &str) -> Result<Option<u32>, TunnelError> {
    let mut links = handle.link().get().match_name(name.to_owned()).execute();
    match links.try_next().await {
        Ok(Some(message)) => Ok(Some(message.header.index)),
        Ok(None) => Ok(None),
        Err(rtnetlink::Error::NetlinkError(err)) if err.raw_code() == -libc::ENODEV => Ok(None),
        Err(err) => Err(netlink_error(format!("looking up {name}"))(err)),
    }
}

/// Creates the veth pair (replacing one left by a daemon that crashed),
/// enslaves the tunnel port to the bridge and brings both ends up.
pub async fn create(
    handle: &Handle,
    netns: Option<&Netns>,
    config: &Vxlan,
) -> Result<(), TunnelError> {
    let bridge = index_of(handle, &config.bridge).await?.ok_or_else(|| TunnelError::Netlink {
        what: format!("bridge {}", config.bridge),
        cause: "no such interface".into(),
    })?;
    if let Some(stale) = index_of(handle, &config.tunnel_port).await? {
        tracing::warn!(port = %config.tunnel_port, "removing a tunnel port left by an earlier run");
        handle
            .link()
            .del(stale)
            .execute()
            .await
            .map_err(netlink_error(format!("deleting {}", config.tunnel_port)))?;
    }
    let peer = LinkMessageBuilder::<LinkUnspec>::new()
        .name(config.tunnel_peer.clone())
        .mtu(TUNNEL_LINK_MTU)
        .append_extra_attribute(LinkAttribute::GsoMaxSegs(1))
        .build();
    let pair = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
        .name(config.tunnel_port.clone())
        .mtu(TUNNEL_LINK_MTU)
        .append_extra_attribute(LinkAttribute::GsoMaxSegs(1))
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
        .build();
    handle.link().add(pair).execute().await.map_err(netlink_error(format!(
        "creating veth {} / {}",
        config.tunnel_port, config.tunnel_peer
    )))?;
    disable_ipv6(netns, &[&config.tunnel_port, &config.tunnel_peer])?;
    let port = index_of(handle, &config.tunnel_port).await?.unwrap_or(0);
    let peer = index_of(handle, &config.tunnel_peer).await?.unwrap_or(0);
    handle
        .link()
        .set(LinkUnspec::new_with_index(port).controller(bridge).up().build())
        .execute()
        .await
        .map_err(netlink_error(format!(
            "adding {} to bridge {}",
            config.tunnel_port, config.bridge
        )))?;
    handle
        .link()
        .set(LinkUnspec::new_with_index(peer).up().build())
        .execute()
        .await
        .map_err(netlink_error(format!("bringing {} up", config.tunnel_peer)))?;
    Ok(())
}

/// Deletes the veth pair (both ends go together); absent is fine.
pub async fn delete(handle: &Handle, port: &str) -> Result<(), TunnelError> {
    if let Some(index) = index_of(handle, port).await? {
        handle
            .link()
            .del(index)
            .execute()
            .await
            .map_err(netlink_error(format!("deleting {port}")))?;
    }
    Ok(())
}

/// `net.ipv6.conf.<dev>.disable_ipv6 = 1` inside `netns`; a namespace
/// without IPv6 has no such file, which is fine.
fn disable_ipv6(netns: Option<&Netns>, devices: &[&str]) -> Result<(), TunnelError> {
    let _guard = netns.map(Netns::enter).transpose()?;
    for device in devices {
        let path = format!("/proc/sys/net/ipv6/conf/{device}/disable_ipv6");
        if let Err(err) = std::fs::write(&path, "1") {
            tracing::debug!(%path, %err, "IPv6 not disabled");
        }
    }
    Ok(())
}
