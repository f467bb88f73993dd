//! `AF_PACKET` raw sockets, the one place halb opens them (BPDUs on bridge
//! ports, gratuitous ARP): socket2 creates them (close-on-exec), binds,
//! sends, receives, marks and filters; libc fills in only what socket2 has
//! no type or call for, the link-layer address (`sockaddr_ll`) and
//! `PACKET_IGNORE_OUTGOING`.

use std::{io, os::fd::AsRawFd as _};

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

/// `ETH_P_ALL`: every protocol, for a socket that filters for itself.
pub const ETH_P_ALL: u16 = 0x0003;

/// A raw packet socket in the calling thread's namespace. `protocol`
/// (an `EtherType`) is what it receives once bound; `None` receives
/// nothing before `bind`.
pub fn open(protocol: Option<u16>, nonblocking: bool) -> io::Result<Socket> {
    let kind = if nonblocking { Type::RAW.nonblocking() } else { Type::RAW };
    // The protocol field is in network byte order, as for bind(2).
    let protocol = protocol.map(|p| Protocol::from(i32::from(p.to_be())));
    Socket::new(Domain::PACKET, kind, protocol)
}

/// The link-layer address of interface `ifindex` for `protocol`, with
/// `destination` as the hardware address when sending.
pub fn link_address(
    ifindex: i32,
    protocol: u16,
    destination: Option<[u8; 6]>,
) -> io::Result<SockAddr> {
    let mut storage = SockAddrStorage::zeroed();
    // socket2 has no sockaddr_ll constructor: write one into its storage.
    // SAFETY: sockaddr_ll is a sockaddr type of this platform (view_as
    // checks it fits); the storage starts zeroed.
    let address = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    address.sll_family = u16::try_from(libc::AF_PACKET).map_err(io::Error::other)?;
    address.sll_protocol = protocol.to_be();
    address.sll_ifindex = ifindex;
    if let Some(destination) = destination {
        address.sll_halen = 6;
        address.sll_addr[..6].copy_from_slice(&destination);
    }
    let length = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_ll>())
        .map_err(io::Error::other)?;
    // SAFETY: the first `length` bytes hold the sockaddr_ll written above.
    Ok(unsafe { SockAddr::new(storage, length) })
}

/// Stops the socket reading back the frames it sends itself.
pub fn ignore_outgoing(socket: &Socket) -> io::Result<()> {
    let on: libc::c_int = 1;
    // socket2 has no call for PACKET_IGNORE_OUTGOING: setsockopt(2) with an int.
    // SAFETY: an int option, passed by pointer with its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            (&raw const on).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>())
                .map_err(io::Error::other)?,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::link_address;

    #[test]
    fn a_link_address_is_a_packet_address_of_sockaddr_ll_size() {
        let address = link_address(7, 0x0806, Some([0xff; 6])).unwrap();
        assert_eq!(address.domain(), socket2::Domain::PACKET);
        assert_eq!(
            usize::try_from(address.len()).unwrap(),
            std::mem::size_of::<libc::sockaddr_ll>()
        );
        // SAFETY: the pointer is to the address's own storage, which holds
        // a sockaddr_ll.
        let ll = unsafe { &*address.as_ptr().cast::<libc::sockaddr_ll>() };
        assert_eq!((ll.sll_ifindex, u16::from_be(ll.sll_protocol), ll.sll_halen), (7, 0x0806, 6));
        assert_eq!(ll.sll_addr[..6], [0xff; 6]);
    }
}
