//! The packet socket STP speaks through, one per bridge port: `AF_PACKET`
//! `SOCK_RAW` bound to the port, receiving only frames to the Bridge Group
//! Address (a classic BPF socket filter, attached before the socket is
//! bound so nothing else is ever queued), and sending BPDUs as 802.3
//! frames: destination 01:80:c2:00:00:00, the port's MAC as source, the
//! length field, then the LLC PDU [`Bpdu::encode`] builds.
//!
//! Sent frames carry [`STP_BPDU_MARK`] (`SO_MARK`): the `stp_port_out`
//! program passes BPDUs only with that mark. Our own frames are not read
//! back (`PACKET_IGNORE_OUTGOING`). Packet taps run before TC ingress, so
//! this socket sees BPDUs the `stp_port_in` program then drops.

use std::{
    io,
    mem::MaybeUninit,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
};

use halb_common::stp::STP_BPDU_MARK;
use tokio::io::unix::AsyncFd;

use crate::stp::bpdu::{Bpdu, DecodeError, BRIDGE_GROUP_ADDRESS, LLC_HEADER};

const ETH_P_ALL: u16 = 0x0003;
const ETH_HLEN: usize = 14;
/// Shortest Ethernet frame without FCS; shorter BPDUs are zero-padded.
const ETH_ZLEN: usize = 60;
/// `EtherType` values below this are 802.3 lengths.
const ETH_P_802_3_MIN: u16 = 0x0600;

/// Why a received frame is not a BPDU the protocol can use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {0} bytes is shorter than an 802.3 header and LLC")]
    Short(usize),
    #[error("not to the Bridge Group Address")]
    NotGroupAddress,
    #[error("EtherType {0:#06x} where an 802.3 length belongs")]
    NotLengthField(u16),
    #[error("LLC header {0:02x?} is not the spanning tree LSAP")]
    NotStpLlc([u8; 3]),
    #[error(transparent)]
    Bpdu(#[from] DecodeError),
}

/// One received BPDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub source: [u8; 6],
    pub bpdu: Bpdu,
}

pub struct BpduSocket {
    socket: AsyncFd<OwnedFd>,
    ifindex: i32,
}

impl BpduSocket {
    /// Opens the socket on interface `ifindex`, in the calling thread's
    /// namespace, on a tokio runtime.
    pub fn open(ifindex: u32) -> io::Result<Self> {
        let ifindex = i32::try_from(ifindex).map_err(io::Error::other)?;
        // Protocol 0: the socket receives nothing until bound below, after
        // the filter is in place.
        // SAFETY: plain socket(2); the result is checked before use.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor nobody else owns.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        attach_group_address_filter(&socket)?;
        set_option(&socket, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, 1)?;
        let mark = libc::c_int::from_ne_bytes(STP_BPDU_MARK.to_ne_bytes());
        set_option(&socket, libc::SOL_SOCKET, libc::SO_MARK, mark)?;
        let address = link_address(ifindex, ETH_P_ALL, None)?;
        // SAFETY: the address is a valid sockaddr_ll of the given length.
        let rc = unsafe {
            libc::bind(socket.as_raw_fd(), (&raw const address).cast(), sockaddr_ll_len()?)
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the AsyncFd owns the descriptor, so it stays open for as
        // long as it is registered.
        let socket = unsafe { AsyncFd::register(socket) }.map_err(io::Error::from)?;
        Ok(Self { socket, ifindex })
    }

    /// Sends `bpdu` out of the port, from `source` (the port's MAC).
    pub fn send(&self, source: [u8; 6], bpdu: &Bpdu) -> io::Result<()> {
        let frame = frame(source, bpdu);
        let address = link_address(self.ifindex, ETH_P_ALL, Some(BRIDGE_GROUP_ADDRESS))?;
        // SAFETY: buffer and address are valid for the given lengths.
        let sent = unsafe {
            libc::sendto(
                self.socket.get_ref().as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                libc::MSG_DONTWAIT,
                (&raw const address).cast(),
                sockaddr_ll_len()?,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The next frame: a BPDU, or why the frame is not one (the caller
    /// counts and skips it).
    pub async fn recv(&self) -> io::Result<Result<Received, FrameError>> {
        let mut buffer = [MaybeUninit::<u8>::uninit(); 1536];
        loop {
            let mut guard = self.socket.readable().await?;
            let received = guard.try_io(|socket| {
                // SAFETY: the buffer is valid for its length; recv writes
                // at most that many bytes.
                let len = unsafe {
                    libc::recv(
                        socket.get_ref().as_raw_fd(),
                        buffer.as_mut_ptr().cast(),
                        buffer.len(),
                        0,
                    )
                };
                usize::try_from(len).map_err(|_| io::Error::last_os_error())
            });
            match received {
                Ok(Ok(len)) => {
                    // SAFETY: recv initialised the first `len` bytes.
                    let bytes: Vec<u8> = buffer[..len.min(buffer.len())]
                        .iter()
                        .map(|byte| unsafe { byte.assume_init() })
                        .collect();
                    return Ok(parse(&bytes));
                }
                Ok(Err(err)) => return Err(err),
                Err(_would_block) => {}
            }
        }
    }
}

/// The 802.3 frame carrying `bpdu` from `source`, padded to 60 bytes.
#[must_use]
pub fn frame(source: [u8; 6], bpdu: &Bpdu) -> Vec<u8> {
    let pdu = bpdu.encode();
    let mut frame = Vec::with_capacity(ETH_ZLEN.max(ETH_HLEN + pdu.len()));
    frame.extend_from_slice(&BRIDGE_GROUP_ADDRESS);
    frame.extend_from_slice(&source);
    // An LLC PDU is at most 39 bytes, far below any limit of the field.
    frame.extend_from_slice(&u16::try_from(pdu.len()).unwrap_or(u16::MAX).to_be_bytes());
    frame.extend_from_slice(&pdu);
    frame.resize(ETH_ZLEN.max(frame.len()), 0);
    frame
}

/// Takes a received frame apart: 802.3 header, the LLC PDU its length
/// field covers (padding ignored), then the BPDU.
pub fn parse(frame: &[u8]) -> Result<Received, FrameError> {
    if frame.len() < ETH_HLEN + LLC_HEADER.len() {
        return Err(FrameError::Short(frame.len()));
    }
    if frame[0..6] != BRIDGE_GROUP_ADDRESS {
        return Err(FrameError::NotGroupAddress);
    }
    let length = u16::from_be_bytes([frame[12], frame[13]]);
    if length >= ETH_P_802_3_MIN {
        return Err(FrameError::NotLengthField(length));
    }
    let llc = [frame[14], frame[15], frame[16]];
    if llc[..2] != LLC_HEADER[..2] {
        return Err(FrameError::NotStpLlc(llc));
    }
    let end = (ETH_HLEN + usize::from(length)).min(frame.len());
    let bpdu = Bpdu::decode(&frame[ETH_HLEN..end])?;
    let mut source = [0; 6];
    source.copy_from_slice(&frame[6..12]);
    Ok(Received { source, bpdu })
}

/// Classic BPF: accept frames whose destination is 01:80:c2:00:00:00.
fn attach_group_address_filter(socket: &OwnedFd) -> io::Result<()> {
    const LD_W_ABS: u16 = 0x20;
    const LD_H_ABS: u16 = 0x28;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let group = BRIDGE_GROUP_ADDRESS;
    let mut program = [
        op(LD_W_ABS, 0, 0, 0),
        op(JEQ_K, 0, 3, u32::from_be_bytes([group[0], group[1], group[2], group[3]])),
        op(LD_H_ABS, 0, 0, 4),
        op(JEQ_K, 0, 1, u32::from(u16::from_be_bytes([group[4], group[5]]))),
        op(RET_K, 0, 0, 0x0004_0000),
        op(RET_K, 0, 0, 0),
    ];
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len()).map_err(io::Error::other)?,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: the program outlives the call; the kernel copies it.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&raw const fprog).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::sock_fprog>())
                .map_err(io::Error::other)?,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn set_option(
    socket: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: an int option, passed by pointer with its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>())
                .map_err(io::Error::other)?,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn link_address(
    ifindex: i32,
    protocol: u16,
    destination: Option<[u8; 6]>,
) -> io::Result<libc::sockaddr_ll> {
    // SAFETY: sockaddr_ll is plain data; zeroed then filled.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = u16::try_from(libc::AF_PACKET).map_err(io::Error::other)?;
    address.sll_protocol = protocol.to_be();
    address.sll_ifindex = ifindex;
    if let Some(destination) = destination {
        address.sll_halen = 6;
        address.sll_addr[..6].copy_from_slice(&destination);
    }
    Ok(address)
}

fn sockaddr_ll_len() -> io::Result<libc::socklen_t> {
    libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_ll>()).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stp::bpdu::TYPE_TCN;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

    #[test]
    fn frame_round_trips_and_is_padded() {
        let bpdu = Bpdu::Tcn;
        let bytes = frame(MAC, &bpdu);
        assert_eq!(bytes.len(), 60);
        assert_eq!(&bytes[0..6], &BRIDGE_GROUP_ADDRESS);
        assert_eq!(&bytes[6..12], &MAC);
        assert_eq!(u16::from_be_bytes([bytes[12], bytes[13]]), 7);
        assert_eq!(&bytes[14..17], &LLC_HEADER);
        assert_eq!(bytes[20], TYPE_TCN);
        assert_eq!(parse(&bytes), Ok(Received { source: MAC, bpdu }));
    }

    #[test]
    fn rejects_what_is_not_a_bpdu() {
        let good = frame(MAC, &Bpdu::Tcn);
        assert_eq!(parse(&good[..10]), Err(FrameError::Short(10)));
        let mut other = good.clone();
        other[5] = 0x0e;
        assert_eq!(parse(&other), Err(FrameError::NotGroupAddress));
        let mut typed = good.clone();
        typed[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        assert_eq!(parse(&typed), Err(FrameError::NotLengthField(0x0800)));
        let mut llc = good.clone();
        llc[14] = 0xaa;
        assert!(matches!(parse(&llc), Err(FrameError::NotStpLlc(_))));
        let mut version = good;
        version[17] = 0x12;
        assert!(matches!(parse(&version), Err(FrameError::Bpdu(_))));
    }
}
