//! The tunnel port of the VXLAN datapath: a veth pair created by the daemon
//! in the host namespace through rtnetlink. `<tunnel_port>` joins the
//! internal bridge and carries `vxlan_encap` at TC egress (frames the
//! bridge sends to the remote hosts are encapsulated there, GSO frames
//! whole) and receives the decapsulated frames into its ingress;
//! `<tunnel_port>-dp` carries `vxlan_encap` at TC ingress for the frames
//! that must cross the veth once (encapsulated non-IP frames).
//!
//! Why these settings:
//! - default GSO limits: the endpoints' TSO/GSO frames reach the program
//!   whole and are encapsulated as UDP tunnel GSO frames (one program run
//!   per 64 KB of TCP instead of one per segment);
//! - GRO on the tunnel port, TSO off on the peer: decapsulated frames are
//!   sent out of the peer, and a veth hands a frame to the receiving end's
//!   NAPI (where GRO merges a flow's consecutive TCP segments again) only
//!   when GRO is on there and the sending end has no TSO. The sender's
//!   bridge device segments tunnelled GSO frames (a bridge offers no
//!   tunnel offloads), so without this the endpoints would get one
//!   1450-byte segment at a time where the kernel's vxlan device, with its
//!   GRO cells, hands them 64 KB;
//! - MTU [`TUNNEL_LINK_MTU`] on both ends: the bridge hands every frame to
//!   the program, which drops and counts (`too_big`) what exceeds the
//!   configured VXLAN MTU, instead of the bridge dropping it silently;
//! - IPv6 off on both ends: they are plumbing, not hosts, and must not send
//!   router solicitations or DAD probes into the internal network.

use futures_util::TryStreamExt as _;
use rtnetlink::{
    packet_route::link::{InfoData, InfoKind, InfoVeth},
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
    Netlink { what: String, cause: Box<rtnetlink::Error> },
    #[error("rtnetlink: {0}")]
    Connect(crate::net::link::LinkError),
    #[error("bridge {0}: no such interface")]
    NoBridge(String),
    #[error("offloads of {device}: {cause}")]
    Offload { device: String, cause: std::io::Error },
    #[error("offloads of {0}: name too long")]
    NameTooLong(String),
    #[error(transparent)]
    Netns(#[from] crate::netns::NetnsError),
}

fn netlink_error(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> TunnelError {
    let what = what.into();
    move |cause| TunnelError::Netlink { what, cause: Box::new(cause) }
}

/// A netlink handle inside `netns` (the socket keeps the namespace).
pub fn handle(netns: Option<&Netns>) -> Result<Handle, TunnelError> {
    let _guard = netns.map(Netns::enter).transpose()?;
    link::connect().map_err(TunnelError::Connect)
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
    taking_over: bool,
) -> Result<(), TunnelError> {
    let bridge = index_of(handle, &config.bridge)
        .await?
        .ok_or_else(|| TunnelError::NoBridge(config.bridge.clone()))?;
    let existing = index_of(handle, &config.tunnel_port).await?;
    if taking_over && existing.is_some() && index_of(handle, &config.tunnel_peer).await?.is_some() {
        // The daemon handing over made it: keep it, its bridge port and
        // every frame on it.
        tracing::info!(port = %config.tunnel_port, "tunnel port taken over as it is");
        return Ok(());
    }
    if let Some(stale) = existing {
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
        .build();
    let pair = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
        .name(config.tunnel_port.clone())
        .mtu(TUNNEL_LINK_MTU)
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
        .build();
    handle.link().add(pair).execute().await.map_err(netlink_error(format!(
        "creating veth {} / {}",
        config.tunnel_port, config.tunnel_peer
    )))?;
    disable_ipv6(netns, &[&config.tunnel_port, &config.tunnel_peer])?;
    for (device, offload, on) in
        [(&config.tunnel_port, Offload::Gro, true), (&config.tunnel_peer, Offload::Tso, false)]
    {
        // Only the receive path's batching depends on it: the tunnel works
        // without, so a refusal is reported, not fatal.
        if let Err(err) = set_offload(netns, device, offload, on) {
            tracing::warn!(%device, ?offload, on, %err, "offload not set; decapsulated TCP reaches the bridge unmerged");
        }
    }
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

/// The offloads the tunnel sets, as legacy ethtool commands
/// (`linux/ethtool.h`: `ETHTOOL_SGRO`, `ETHTOOL_STSO`; STSO covers every TSO
/// flavour).
#[derive(Clone, Copy, Debug)]
enum Offload {
    Gro = 0x2c,
    Tso = 0x1f,
}

/// `struct ethtool_value`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// `ethtool -K <device> gro|tso on|off` inside `netns` (SIOCETHTOOL).
fn set_offload(
    netns: Option<&Netns>,
    device: &str,
    offload: Offload,
    on: bool,
) -> Result<(), TunnelError> {
    use std::os::fd::AsRawFd as _;
    let error = |cause: std::io::Error| TunnelError::Offload { device: device.to_owned(), cause };
    let _guard = netns.map(Netns::enter).transpose()?;
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).map_err(error)?;
    let name = device.as_bytes();
    if name.len() >= libc::IFNAMSIZ {
        return Err(TunnelError::NameTooLong(device.to_owned()));
    }
    let mut value = EthtoolValue { cmd: offload as u32, data: u32::from(on) };
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(name) {
        *slot = libc::c_char::from_ne_bytes([*byte]);
    }
    request.ifr_ifru.ifru_data = std::ptr::from_mut(&mut value).cast();
    // SAFETY: SIOCETHTOOL reads the NUL-terminated name and the
    // ethtool_value `ifru_data` points to, both alive for the call.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCETHTOOL, &mut request) };
    if rc != 0 {
        return Err(error(std::io::Error::last_os_error()));
    }
    Ok(())
}
