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

use std::{io, mem::MaybeUninit};

use halb_common::stp::STP_BPDU_MARK;
use socket2::{SockFilter, Socket};
use tokio::io::unix::AsyncFd;

use super::packet_socket::{self, link_address, ETH_P_ALL};
use crate::stp::bpdu::{Bpdu, DecodeError, BRIDGE_GROUP_ADDRESS, LLC_HEADER};

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
    socket: AsyncFd<Socket>,
    ifindex: i32,
}

impl BpduSocket {
    /// Opens the socket on interface `ifindex`, in the calling thread's
    /// namespace, on a tokio runtime.
    pub fn open(ifindex: u32) -> io::Result<Self> {
        let ifindex = i32::try_from(ifindex).map_err(io::Error::other)?;
        // No protocol: the socket receives nothing until bound below, after
        // the filter is in place.
        let socket = packet_socket::open(None, true)?;
        attach_group_address_filter(&socket)?;
        packet_socket::ignore_outgoing(&socket)?;
        socket.set_mark(STP_BPDU_MARK)?;
        socket.bind(&link_address(ifindex, ETH_P_ALL, None)?)?;
        // SAFETY: the AsyncFd owns the descriptor, so it stays open for as
        // long as it is registered.
        let socket = unsafe { AsyncFd::register(socket) }.map_err(io::Error::from)?;
        Ok(Self { socket, ifindex })
    }

    /// Sends `bpdu` out of the port, from `source` (the port's MAC).
    pub fn send(&self, source: [u8; 6], bpdu: &Bpdu) -> io::Result<()> {
        let frame = frame(source, bpdu);
        let address = link_address(self.ifindex, ETH_P_ALL, Some(BRIDGE_GROUP_ADDRESS))?;
        self.socket.get_ref().send_to_with_flags(&frame, &address, libc::MSG_DONTWAIT)?;
        Ok(())
    }

    /// The next frame: a BPDU, or why the frame is not one (the caller
    /// counts and skips it).
    pub async fn recv(&self) -> io::Result<Result<Received, FrameError>> {
        let mut buffer = [MaybeUninit::<u8>::uninit(); 1536];
        loop {
            let mut guard = self.socket.readable().await?;
            let received = guard.try_io(|socket| socket.get_ref().recv(&mut buffer));
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
fn attach_group_address_filter(socket: &Socket) -> io::Result<()> {
    const LD_W_ABS: u16 = 0x20;
    const LD_H_ABS: u16 = 0x28;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    let group = BRIDGE_GROUP_ADDRESS;
    socket.attach_filter(&[
        SockFilter::new(LD_W_ABS, 0, 0, 0),
        SockFilter::new(JEQ_K, 0, 3, u32::from_be_bytes([group[0], group[1], group[2], group[3]])),
        SockFilter::new(LD_H_ABS, 0, 0, 4),
        SockFilter::new(JEQ_K, 0, 1, u32::from(u16::from_be_bytes([group[4], group[5]]))),
        SockFilter::new(RET_K, 0, 0, 0x0004_0000),
        SockFilter::new(RET_K, 0, 0, 0),
    ])
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
