//! The kernel bridge as the STP driver sees it, through rtnetlink (and one
//! ethtool ioctl): which ports a bridge has, the bridge's own STP switch
//! (`stp_state`), each port's state, flushing what a port learned, and a
//! port's speed and duplex for default path costs and point-to-point.
//!
//! Port states: with `stp_state` 0 the kernel flips a port set to BLOCKING
//! back to FORWARDING, while LISTENING, LEARNING and DISABLED stay as set
//! on a bridge that never ran kernel STP ([`kernel_state`] maps around it,
//! [`reset_kernel_port`] clears what kernel STP left behind). The kernel state is what `bridge link
//! show` prints and what makes the kernel learn; the `stp_port_*` programs
//! enforce the daemon's state whatever the kernel does (carrier-up puts a
//! port straight into FORWARDING).

use std::{io, os::fd::AsRawFd as _};

use futures_util::TryStreamExt as _;
use rtnetlink::{
    packet_core::DefaultNla,
    packet_route::{
        link::{
            BridgePortState, BridgeStpState, InfoBridge, InfoData, LinkAttribute, LinkInfo,
            LinkMessage, LinkProtoInfoBridge,
        },
        AddressFamily,
    },
    Handle, LinkBridge, LinkMessageBuilder, LinkUnspec,
};

use super::link;
use crate::stp::PortState;

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("bridge {bridge:?}: {source}")]
    Link { bridge: String, source: link::LinkError },
    #[error("{what}: rtnetlink: {source}")]
    Netlink { what: String, source: rtnetlink::Error },
    #[error("{0:?} is not a bridge")]
    NotBridge(String),
}

/// One port of a bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgePort {
    pub index: u32,
    pub name: String,
    pub mac: [u8; 6],
    /// Up with carrier.
    pub running: bool,
}

/// The bridge `name`: its link facts and its `stp_state` (0 off, 1 kernel,
/// 2 user space).
pub async fn bridge(handle: &Handle, name: &str) -> Result<(link::LinkInfo, u32), BridgeError> {
    let mut links = handle.link().get().match_name(name.to_owned()).execute();
    let message = match links.try_next().await {
        Ok(Some(message)) => message,
        Ok(None) => {
            return Err(BridgeError::Link {
                bridge: name.to_owned(),
                source: link::LinkError::NotFound(name.to_owned()),
            })
        }
        Err(source) => return Err(netlink(format!("looking up bridge {name}"), source)),
    };
    let stp_state = message
        .attributes
        .iter()
        .filter_map(|attribute| match attribute {
            LinkAttribute::LinkInfo(infos) => Some(infos),
            _ => None,
        })
        .flatten()
        .find_map(|info| match info {
            LinkInfo::Data(InfoData::Bridge(options)) => {
                options.iter().find_map(|option| match option {
                    InfoBridge::StpState(state) => Some(u32::from(*state)),
                    _ => None,
                })
            }
            _ => None,
        })
        .ok_or_else(|| BridgeError::NotBridge(name.to_owned()))?;
    let info = link::info(handle, name)
        .await
        .map_err(|source| BridgeError::Link { bridge: name.to_owned(), source })?;
    Ok((info, stp_state))
}

/// Every port of the bridge with index `bridge_index`.
pub async fn ports(handle: &Handle, bridge_index: u32) -> Result<Vec<BridgePort>, BridgeError> {
    let mut links = handle.link().get().execute();
    let mut ports = Vec::new();
    while let Some(message) =
        links.try_next().await.map_err(|source| netlink("listing links".to_owned(), source))?
    {
        let mut controller = None;
        let mut name = None;
        let mut mac = None;
        for attribute in &message.attributes {
            match attribute {
                LinkAttribute::Controller(index) => controller = Some(*index),
                LinkAttribute::IfName(text) => name = Some(text.clone()),
                LinkAttribute::Address(bytes) => mac = <[u8; 6]>::try_from(bytes.as_slice()).ok(),
                _ => {}
            }
        }
        if controller != Some(bridge_index) {
            continue;
        }
        if let (Some(name), Some(mac)) = (name, mac) {
            ports.push(BridgePort {
                index: message.header.index,
                name,
                mac,
                running: link::is_running(&message),
            });
        }
    }
    Ok(ports)
}

/// Sets the bridge's `stp_state` (`ip link set NAME type bridge stp_state N`).
pub async fn set_stp_state(handle: &Handle, bridge: &str, state: u32) -> Result<(), BridgeError> {
    let message = LinkMessageBuilder::<LinkBridge>::new(bridge)
        .stp_state(BridgeStpState::from(state))
        .build();
    handle
        .link()
        .set_port(message)
        .execute()
        .await
        .map_err(|source| netlink(format!("setting stp_state {state} on bridge {bridge}"), source))
}

/// `IFLA_BRPORT_FLUSH` inside `IFLA_PROTINFO`.
const IFLA_BRPORT_FLUSH: u16 = 24;

/// Sets a port's kernel state (`bridge link set dev PORT state N`).
pub async fn set_port_state(
    handle: &Handle,
    port: u32,
    state: BridgePortState,
) -> Result<(), BridgeError> {
    bridge_setlink(handle, port, IFLA_BRPORT_STATE, vec![u8::from(state)])
        .await
        .map_err(|source| netlink(format!("setting port {port} to {state:?}"), source))
}

/// Removes the dynamic FDB entries learned on a port
/// (`bridge link set dev PORT flush`).
pub async fn flush_port_fdb(handle: &Handle, port: u32) -> Result<(), BridgeError> {
    bridge_setlink(handle, port, IFLA_BRPORT_FLUSH, Vec::new())
        .await
        .map_err(|source| netlink(format!("flushing the FDB of port {port}"), source))
}

/// One bridge port attribute through the bridge's own setlink (`AF_BRIDGE`
/// `RTM_SETLINK` with `IFLA_PROTINFO`), as `bridge link set` does. Not the
/// generic `RTM_NEWLINK` with slave data (`ip link set type bridge_slave`):
/// that path ends in a `NETDEV_CHANGE`, on which the bridge re-enables a
/// DISABLED port as FORWARDING.
async fn bridge_setlink(
    handle: &Handle,
    port: u32,
    attribute: u16,
    value: Vec<u8>,
) -> Result<(), rtnetlink::Error> {
    let mut message = LinkMessage::default();
    message.header.interface_family = AddressFamily::Bridge;
    message.header.index = port;
    message.attributes.push(LinkAttribute::ProtoInfoBridge(vec![LinkProtoInfoBridge::Other(
        DefaultNla::new(attribute, value),
    )]));
    handle.link().set(message).execute().await
}

/// Makes the kernel forget what its own STP learned on a port (after
/// `stp_state` went from 1 to 0, a port keeps its stale designated
/// information and forward-delay timer, and every port state change runs
/// the kernel's port state selection on that stale information, which can
/// block a port halb opened). The port must be DISABLED: toggling a
/// harmless flag (`dynamic`) sends `NETDEV_CHANGE`, and the bridge's carrier
/// check then re-initialises a DISABLED port that is up (designated for
/// itself, timers reset), leaving it FORWARDING; the caller sets the state
/// it wants afterwards.
pub async fn reset_kernel_port(handle: &Handle, port: u32) -> Result<(), BridgeError> {
    for dynamic in [true, false] {
        let message = LinkUnspec::new_with_index(port).dynamic(dynamic).build();
        handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(|source| netlink(format!("re-initialising bridge port {port}"), source))?;
    }
    Ok(())
}

/// One link notification: carrier, and the bridge port state when the
/// message is the bridge's own (`AF_BRIDGE`, sent on every port state change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortEvent {
    pub ifindex: u32,
    /// Up with carrier.
    pub running: bool,
    pub bridge_state: Option<BridgePortState>,
}

/// `IFLA_BRPORT_STATE` inside `IFLA_PROTINFO`.
const IFLA_BRPORT_STATE: u16 = 1;

/// Every link notification in the calling thread's namespace, with the
/// kernel bridge port state when the kernel reports one.
pub fn watch() -> Result<tokio::sync::mpsc::UnboundedReceiver<PortEvent>, BridgeError> {
    use futures_util::StreamExt as _;
    use rtnetlink::{
        packet_core::{NetlinkPayload, Nla as _},
        packet_route::RouteNetlinkMessage,
    };
    let socket_error = |source: io::Error| BridgeError::Link {
        bridge: String::new(),
        source: link::LinkError::Socket(source),
    };
    let (connection, _handle, mut messages) =
        rtnetlink::new_multicast_connection(&[rtnetlink::MulticastGroup::Link])
            .map_err(socket_error)?;
    tokio::spawn(connection);
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((message, _)) = messages.next().await {
            let NetlinkPayload::InnerMessage(
                RouteNetlinkMessage::NewLink(link) | RouteNetlinkMessage::DelLink(link),
            ) = message.payload
            else {
                continue;
            };
            let bridge_state = (link.header.interface_family == AddressFamily::Bridge)
                .then(|| {
                    link.attributes.iter().find_map(|attribute| match attribute {
                        LinkAttribute::ProtoInfoBridge(infos) => {
                            infos.iter().find_map(|info| match info {
                                LinkProtoInfoBridge::Other(nla)
                                    if nla.kind() == IFLA_BRPORT_STATE && nla.value_len() == 1 =>
                                {
                                    let mut value = [0u8; 1];
                                    nla.emit_value(&mut value);
                                    Some(BridgePortState::from(value[0]))
                                }
                                _ => None,
                            })
                        }
                        _ => None,
                    })
                })
                .flatten();
            let event = PortEvent {
                ifindex: link.header.index,
                running: link::is_running(&link),
                bridge_state,
            };
            if sender.send(event).is_err() {
                break;
            }
        }
    });
    Ok(receiver)
}

fn netlink(what: String, source: rtnetlink::Error) -> BridgeError {
    BridgeError::Netlink { what, source }
}

/// The kernel state for a protocol state. Every state that discards
/// (Disabled, Blocking, Listening, Discarding) becomes DISABLED: BLOCKING
/// cannot be used (the kernel, with its STP off, turns it back into
/// FORWARDING), and LISTENING does not hold either on a bridge that ran
/// kernel STP before (a forward-delay timer left running moves it on to
/// LEARNING and FORWARDING, and the kernel's port state selection, which
/// runs on every state change, skips only DISABLED ports). So `bridge link
/// show` prints `disabled` for a port the tree blocks; the exact state is
/// in the `STP_PORT_STATE` map and in `halb stp show`.
#[must_use]
pub fn kernel_state(state: PortState) -> BridgePortState {
    match state {
        PortState::Disabled
        | PortState::Blocking
        | PortState::Listening
        | PortState::Discarding => BridgePortState::Disabled,
        PortState::Learning => BridgePortState::Learning,
        PortState::Forwarding => BridgePortState::Forwarding,
    }
}

/// Speed (Mb/s) and duplex as ethtool reports them, each `None` when
/// unknown (`ETHTOOL_GSET` in the calling thread's namespace).
pub fn speed_and_duplex(interface: &str) -> io::Result<(Option<u32>, Option<bool>)> {
    const SIOCETHTOOL: libc::c_ulong = 0x8946;
    const ETHTOOL_GSET: u32 = 0x0000_0001;
    const SPEED_UNKNOWN: u32 = u32::MAX;
    const DUPLEX_HALF: u8 = 0;
    const DUPLEX_FULL: u8 = 1;
    /// `struct ethtool_cmd` (<linux/ethtool.h>).
    #[repr(C)]
    #[derive(Default)]
    struct EthtoolCmd {
        cmd: u32,
        supported: u32,
        advertising: u32,
        speed: u16,
        duplex: u8,
        port: u8,
        phy_address: u8,
        transceiver: u8,
        autoneg: u8,
        mdio_support: u8,
        maxtxpkt: u32,
        maxrxpkt: u32,
        speed_hi: u16,
        eth_tp_mdix: u8,
        eth_tp_mdix_ctrl: u8,
        lp_advertising: u32,
        reserved: [u32; 2],
    }
    let name = interface.as_bytes();
    // SAFETY: ifreq is plain data; zeroed then filled.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= request.ifr_name.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "interface name too long"));
    }
    for (slot, byte) in request.ifr_name.iter_mut().zip(name) {
        *slot = libc::c_char::from_ne_bytes([*byte]);
    }
    let mut command = EthtoolCmd { cmd: ETHTOOL_GSET, ..EthtoolCmd::default() };
    request.ifr_ifru.ifru_data = (&raw mut command).cast();
    // Any socket carries the ioctl; socket2 makes it close-on-exec.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    // SAFETY: SIOCETHTOOL with an ifreq whose data points at `command`,
    // which lives until the call returns.
    if unsafe { libc::ioctl(socket.as_raw_fd(), SIOCETHTOOL, &raw mut request) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let speed = u32::from(command.speed) | (u32::from(command.speed_hi) << 16);
    let speed =
        (speed != 0 && speed != SPEED_UNKNOWN && speed != u32::from(u16::MAX)).then_some(speed);
    let duplex = match command.duplex {
        DUPLEX_FULL => Some(true),
        DUPLEX_HALF => Some(false),
        _ => None,
    };
    Ok((speed, duplex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discarding_states_avoid_blocking() {
        for state in
            [PortState::Disabled, PortState::Blocking, PortState::Listening, PortState::Discarding]
        {
            assert_eq!(kernel_state(state), BridgePortState::Disabled);
        }
        assert_eq!(kernel_state(PortState::Learning), BridgePortState::Learning);
        assert_eq!(kernel_state(PortState::Forwarding), BridgePortState::Forwarding);
    }
}
