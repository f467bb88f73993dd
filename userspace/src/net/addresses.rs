//! Adding and removing IPv4 addresses through rtnetlink (`ip addr add/del`).

use std::net::{IpAddr, Ipv4Addr};

use futures_util::TryStreamExt as _;
use rtnetlink::{packet_route::address::AddressAttribute, Handle};

/// Adds `address/prefix` to interface `index`; already present is fine.
pub async fn add(
    handle: &Handle,
    index: u32,
    address: Ipv4Addr,
    prefix: u8,
) -> Result<(), rtnetlink::Error> {
    match handle.address().add(index, IpAddr::V4(address), prefix).execute().await {
        Ok(()) => Ok(()),
        Err(rtnetlink::Error::NetlinkError(err)) if err.raw_code() == -libc::EEXIST => Ok(()),
        Err(err) => Err(err),
    }
}

/// Removes `address` from interface `index`; already absent is fine.
pub async fn remove(
    handle: &Handle,
    index: u32,
    address: Ipv4Addr,
) -> Result<(), rtnetlink::Error> {
    let mut existing = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .set_address_filter(IpAddr::V4(address))
        .execute();
    while let Some(message) = existing.try_next().await? {
        let matches = message.attributes.iter().any(|attribute| {
            matches!(attribute, AddressAttribute::Local(IpAddr::V4(a)) | AddressAttribute::Address(IpAddr::V4(a)) if *a == address)
        });
        if matches {
            match handle.address().del(message).execute().await {
                Ok(()) => {}
                Err(rtnetlink::Error::NetlinkError(err))
                    if err.raw_code() == -libc::EADDRNOTAVAIL => {}
                Err(err) => return Err(err),
            }
        }
    }
    Ok(())
}

/// Whether interface `index` carries `address`.
pub async fn has(handle: &Handle, index: u32, address: Ipv4Addr) -> Result<bool, rtnetlink::Error> {
    let mut existing = handle.address().get().set_link_index_filter(index).execute();
    while let Some(message) = existing.try_next().await? {
        if message.attributes.iter().any(|attribute| {
            matches!(attribute, AddressAttribute::Local(IpAddr::V4(a)) | AddressAttribute::Address(IpAddr::V4(a)) if *a == address)
        }) {
            return Ok(true);
        }
    }
    Ok(false)
}
