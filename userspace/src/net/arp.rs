//! Gratuitous ARP: announces that an IPv4 address now lives at this
//! interface's MAC, so hosts and switches update their caches (what a new
//! VRRP master does for its virtual addresses).

use std::{io, net::Ipv4Addr};

use socket2::Socket;

use super::packet_socket::{self, link_address};

const ETH_P_ARP: u16 = 0x0806;
const ARP_FRAME_LEN: usize = 42;

/// The announcement frame: broadcast ARP request whose sender and target
/// address are both `address` (RFC 5227 section 3).
#[must_use]
pub fn gratuitous_frame(mac: [u8; 6], address: Ipv4Addr) -> [u8; ARP_FRAME_LEN] {
    let mut frame = [0u8; ARP_FRAME_LEN];
    frame[0..6].copy_from_slice(&[0xff; 6]);
    frame[6..12].copy_from_slice(&mac);
    frame[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    frame[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    frame[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    frame[18] = 6;
    frame[19] = 4;
    frame[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    frame[22..28].copy_from_slice(&mac);
    frame[28..32].copy_from_slice(&address.octets());
    // target hardware address stays zero
    frame[38..42].copy_from_slice(&address.octets());
    frame
}

/// A packet socket bound to one interface, for sending ARP frames.
pub struct ArpSender {
    socket: Socket,
    ifindex: i32,
}

impl ArpSender {
    /// Opens the socket in the calling thread's namespace.
    pub fn open(ifindex: u32) -> io::Result<Self> {
        let ifindex = i32::try_from(ifindex).map_err(io::Error::other)?;
        let socket = packet_socket::open(Some(ETH_P_ARP), false)?;
        Ok(Self { socket, ifindex })
    }

    /// Sends one frame out of the interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let address = link_address(self.ifindex, ETH_P_ARP, Some([0xff; 6]))?;
        self.socket.send_to_with_flags(frame, &address, libc::MSG_DONTWAIT)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gratuitous_frame_layout() {
        let mac = [0x02, 0, 0, 0, 0, 0x0a];
        let frame = gratuitous_frame(mac, Ipv4Addr::new(172, 16, 1, 254));
        assert_eq!(&frame[0..6], &[0xff; 6]);
        assert_eq!(&frame[6..12], &mac);
        assert_eq!(&frame[12..14], &[0x08, 0x06]);
        assert_eq!(&frame[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&frame[22..28], &mac);
        assert_eq!(&frame[28..32], &[172, 16, 1, 254]);
        assert_eq!(&frame[32..38], &[0; 6]);
        assert_eq!(&frame[38..42], &[172, 16, 1, 254]);
    }
}
