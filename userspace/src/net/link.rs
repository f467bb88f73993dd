//! Interface facts and link events through rtnetlink.

use std::net::Ipv4Addr;

use futures_util::TryStreamExt as _;
use rtnetlink::{
    packet_route::{
        address::AddressAttribute,
        link::{LinkAttribute, LinkFlags, LinkMessage},
        AddressFamily, RouteNetlinkMessage,
    },
    Handle, MulticastGroup,
};

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("interface {0:?} not found")]
    NotFound(String),
    #[error("rtnetlink: {0}")]
    Netlink(#[from] rtnetlink::Error),
    #[error("netlink socket: {0}")]
    Socket(#[from] std::io::Error),
    #[error("interface {interface:?}: {reason}")]
    Invalid { interface: String, reason: String },
}

/// What the protocols need to know about an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub mac: [u8; 6],
    /// Administratively up and with carrier (`IFF_UP` and `IFF_LOWER_UP`).
    pub running: bool,
}

/// A netlink connection in the calling thread's namespace; its I/O task is
/// spawned on the current tokio runtime.
pub fn connect() -> Result<Handle, LinkError> {
    let (connection, handle, _) = rtnetlink::new_connection()?;
    tokio::spawn(connection);
    Ok(handle)
}

/// Looks an interface up by name.
pub async fn info(handle: &Handle, name: &str) -> Result<LinkInfo, LinkError> {
    let mut links = handle.link().get().match_name(name.to_owned()).execute();
    match links.try_next().await {
        Ok(Some(message)) => link_info(name, &message),
        Ok(None) => Err(LinkError::NotFound(name.to_owned())),
        // The kernel answers ENODEV for an unknown name.
        Err(rtnetlink::Error::NetlinkError(err)) if err.raw_code() == -libc::ENODEV => {
            Err(LinkError::NotFound(name.to_owned()))
        }
        Err(err) => Err(err.into()),
    }
}

fn link_info(name: &str, message: &LinkMessage) -> Result<LinkInfo, LinkError> {
    let mac = message
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::Address(bytes) => <[u8; 6]>::try_from(bytes.as_slice()).ok(),
            _ => None,
        })
        .ok_or_else(|| LinkError::Invalid {
            interface: name.to_owned(),
            reason: "no Ethernet address".to_owned(),
        })?;
    Ok(LinkInfo { index: message.header.index, mac, running: is_running(message) })
}

/// `IFF_UP` and `IFF_LOWER_UP` (carrier).
#[must_use]
pub fn is_running(message: &LinkMessage) -> bool {
    message.header.flags.contains(LinkFlags::Up)
        && message.header.flags.contains(LinkFlags::LowerUp)
}

/// The first IPv4 address of interface `index` (its primary address).
pub async fn primary_ipv4(handle: &Handle, index: u32) -> Result<Option<Ipv4Addr>, LinkError> {
    let mut addresses = handle.address().get().set_link_index_filter(index).execute();
    while let Some(message) = addresses.try_next().await? {
        if message.header.family != AddressFamily::Inet {
            continue;
        }
        // Secondary addresses (such as a VIP we added) carry IFA_F_SECONDARY.
        if message
            .header
            .flags
            .contains(rtnetlink::packet_route::address::AddressHeaderFlags::Secondary)
        {
            continue;
        }
        for attribute in &message.attributes {
            if let AddressAttribute::Local(std::net::IpAddr::V4(address))
            | AddressAttribute::Address(std::net::IpAddr::V4(address)) = attribute
            {
                return Ok(Some(*address));
            }
        }
    }
    Ok(None)
}

/// A stream of (ifindex, running) for every link change in the calling
/// thread's namespace (`ip monitor link`).
pub fn watch() -> Result<tokio::sync::mpsc::UnboundedReceiver<(u32, bool)>, LinkError> {
    let (connection, _handle, mut messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Link])?;
    tokio::spawn(connection);
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        use futures_util::StreamExt as _;
        while let Some((message, _)) = messages.next().await {
            if let rtnetlink::packet_core::NetlinkPayload::InnerMessage(
                RouteNetlinkMessage::NewLink(link) | RouteNetlinkMessage::DelLink(link),
            ) = message.payload
            {
                if sender.send((link.header.index, is_running(&link))).is_err() {
                    break;
                }
            }
        }
    });
    Ok(receiver)
}
