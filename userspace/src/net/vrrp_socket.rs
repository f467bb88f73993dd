//! The raw IPv4 socket VRRP speaks through: protocol 112, joined to
//! 224.0.0.18 on one interface, sending with TTL 255 (RFC 5798 5.1.1.3) and
//! TOS internetwork control, receiving whole IP packets so TTL and
//! addresses can be checked.

use std::{
    io,
    mem::MaybeUninit,
    net::{Ipv4Addr, SocketAddrV4},
};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

pub const VRRP_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const IPPROTO_VRRP: i32 = 112;
/// Internetwork control, as keepalived and routers send VRRP.
const TOS_INTERNETWORK_CONTROL: u32 = 0xc0;

/// One received VRRP packet: IP fields the protocol checks, and the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
    pub ttl: u8,
    pub payload: Vec<u8>,
}

pub struct VrrpSocket {
    socket: AsyncFd<Socket>,
}

impl VrrpSocket {
    /// Opens the socket on `interface` (index `ifindex`). Must run inside
    /// the interface's namespace, on a tokio runtime.
    pub fn open(interface: &str, ifindex: u32) -> io::Result<Self> {
        let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        socket.bind_device(Some(interface.as_bytes()))?;
        socket.join_multicast_v4_n(&VRRP_GROUP, &InterfaceIndexOrAddress::Index(ifindex))?;
        socket.set_multicast_ttl_v4(255)?;
        socket.set_ttl_v4(255)?;
        socket.set_multicast_loop_v4(false)?;
        socket.set_tos_v4(TOS_INTERNETWORK_CONTROL)?;
        socket.set_nonblocking(true)?;
        // SAFETY: the AsyncFd owns the socket, so the descriptor stays open
        // for as long as it is registered.
        let socket = unsafe { AsyncFd::register(socket) }.map_err(io::Error::from)?;
        Ok(Self { socket })
    }

    /// Sends multicast from `source` (the interface's primary address).
    pub fn set_source(&self, source: Ipv4Addr) -> io::Result<()> {
        self.socket.get_ref().set_multicast_if_v4(&source)
    }

    /// Sends one VRRP message to 224.0.0.18 (the kernel adds the IP header).
    pub async fn send(&self, message: &[u8]) -> io::Result<()> {
        let destination = SockAddr::from(SocketAddrV4::new(VRRP_GROUP, 0));
        loop {
            let mut guard = self.socket.writable().await?;
            match guard.try_io(|socket| socket.get_ref().send_to(message, &destination)) {
                Ok(result) => return result.map(|_| ()),
                Err(_would_block) => {}
            }
        }
    }

    /// Receives the next packet; malformed IP headers are an error the
    /// caller counts and skips.
    pub async fn recv(&self) -> io::Result<Result<Received, &'static str>> {
        let mut buffer = [MaybeUninit::<u8>::uninit(); 2048];
        loop {
            let mut guard = self.socket.readable().await?;
            match guard.try_io(|socket| socket.get_ref().recv_from(&mut buffer)) {
                Ok(Ok((len, _))) => {
                    // SAFETY: recv_from initialised the first `len` bytes.
                    let bytes: Vec<u8> =
                        buffer[..len].iter().map(|byte| unsafe { byte.assume_init() }).collect();
                    return Ok(parse_ipv4(&bytes));
                }
                Ok(Err(err)) => return Err(err),
                Err(_would_block) => {}
            }
        }
    }
}

/// Splits a raw IPv4 packet into the fields VRRP checks and its payload.
pub fn parse_ipv4(packet: &[u8]) -> Result<Received, &'static str> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return Err("not an IPv4 packet");
    }
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if header_len < 20 || header_len > packet.len() {
        return Err("bad IPv4 header length");
    }
    // Raw sockets see the length as sent; trust the smaller of the two.
    let end = total_len.clamp(header_len, packet.len());
    Ok(Received {
        source: Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]),
        destination: Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]),
        ttl: packet[8],
        payload: packet[header_len..end].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_fields_and_payload() {
        let mut packet =
            vec![0x45, 0xc0, 0, 28, 0, 0, 0, 0, 255, 112, 0, 0, 172, 16, 1, 250, 224, 0, 0, 18];
        packet.extend_from_slice(&[0x31, 12, 150, 1, 0, 100, 0, 0]);
        let received = parse_ipv4(&packet).unwrap();
        assert_eq!(received.source, Ipv4Addr::new(172, 16, 1, 250));
        assert_eq!(received.destination, VRRP_GROUP);
        assert_eq!(received.ttl, 255);
        assert_eq!(received.payload, vec![0x31, 12, 150, 1, 0, 100, 0, 0]);
        assert!(parse_ipv4(&packet[..10]).is_err());
        packet[0] = 0x44;
        assert!(parse_ipv4(&packet).is_err());
    }
}
