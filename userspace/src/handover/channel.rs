//! One end of the handover's `SOCK_SEQPACKET` socket pair: each
//! [`Message`] is one record, with file descriptors attached as
//! `SCM_RIGHTS`. Blocking, with a deadline on every receive: a handover is
//! a handful of messages, and a peer that stops answering must not hang
//! either process.

use std::{
    io::{IoSlice, IoSliceMut},
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
    time::Duration,
};

use nix::{
    cmsg_space,
    poll::{poll, PollFd, PollFlags, PollTimeout},
    sys::socket::{
        recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
        SockFlag, SockType,
    },
};

use super::Message;

/// Largest record accepted (the state of a few hundred ports fits easily).
const MAX_RECORD: usize = 1 << 20;
/// Most descriptors one record carries.
const MAX_FDS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("handover socket: {0}")]
    Io(#[from] nix::Error),
    #[error("the other process closed the handover socket")]
    Closed,
    #[error("no answer from the other process within {0:?}")]
    Timeout(Duration),
    #[error("handover record: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "handover record longer than {MAX_RECORD} bytes or with more than {MAX_FDS} descriptors"
    )]
    Truncated,
    #[error("handover descriptor {0} is not a valid descriptor")]
    BadDescriptor(RawFd),
}

/// One end of the pair.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    /// A connected pair; both ends close on exec, so whoever hands one to a
    /// child clears the flag on that end alone ([`Self::inheritable`]).
    pub fn pair() -> Result<(Channel, Channel), ChannelError> {
        let (a, b) =
            socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    /// Takes over an inherited descriptor (the new process's end).
    ///
    /// # Safety
    /// `fd` must be an open descriptor this process owns and nothing else
    /// uses.
    pub unsafe fn from_raw_fd(fd: RawFd) -> Result<Channel, ChannelError> {
        // SAFETY: fcntl on a descriptor only reads its flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(ChannelError::BadDescriptor(fd));
        }
        // SAFETY: the caller vouches the descriptor is ours alone; set it
        // close-on-exec so a later child does not inherit it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: fcntl on an open descriptor.
        unsafe { libc::fcntl(owned.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        Ok(Channel { fd: owned })
    }

    /// Clears close-on-exec so a child started next inherits this end, and
    /// returns its number.
    pub fn inheritable(&self) -> Result<RawFd, ChannelError> {
        let fd = self.fd.as_raw_fd();
        // SAFETY: fcntl on an open descriptor we own.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
            return Err(ChannelError::Io(nix::Error::last()));
        }
        Ok(fd)
    }

    /// Sends `message` with `fds` attached.
    pub fn send(&self, message: &Message, fds: &[BorrowedFd<'_>]) -> Result<(), ChannelError> {
        if fds.len() > MAX_FDS {
            return Err(ChannelError::Truncated);
        }
        let body = serde_json::to_vec(message)?;
        if body.len() > MAX_RECORD {
            return Err(ChannelError::Truncated);
        }
        let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let rights = [ControlMessage::ScmRights(&raw)];
        let cmsgs: &[ControlMessage<'_>] = if raw.is_empty() { &[] } else { &rights };
        sendmsg::<()>(
            self.fd.as_raw_fd(),
            &[IoSlice::new(&body)],
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )?;
        Ok(())
    }

    /// Waits at most `timeout` for the next record.
    pub fn receive(&self, timeout: Duration) -> Result<(Message, Vec<OwnedFd>), ChannelError> {
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut polled = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut polled, PollTimeout::from(millis))? == 0 {
            return Err(ChannelError::Timeout(timeout));
        }
        let mut body = vec![0u8; MAX_RECORD];
        let mut space = cmsg_space!([RawFd; MAX_FDS]);
        let (length, fds, truncated) = {
            let mut iov = [IoSliceMut::new(&mut body)];
            let received = recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            )?;
            let mut fds = Vec::new();
            for cmsg in received.cmsgs()? {
                if let ControlMessageOwned::ScmRights(raw) = cmsg {
                    // SAFETY: the kernel just installed these descriptors
                    // in this process for us alone.
                    fds.extend(raw.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
                }
            }
            let truncated = received.flags.intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
            (received.bytes, fds, truncated)
        };
        if truncated {
            return Err(ChannelError::Truncated);
        }
        if length == 0 {
            return Err(ChannelError::Closed);
        }
        Ok((serde_json::from_slice(&body[..length])?, fds))
    }
}

#[cfg(test)]
mod tests {
    use std::{io::Read as _, io::Write as _, os::fd::AsFd as _, time::Duration};

    use super::{Channel, ChannelError};
    use crate::handover::Message;

    #[test]
    fn a_message_and_its_descriptors_arrive_together() {
        let (old, new) = Channel::pair().unwrap();
        let (mut writer, reader) = std::os::unix::net::UnixStream::pair().unwrap();
        old.send(&Message::Ready, &[reader.as_fd()]).unwrap();
        drop(reader);
        let (message, fds) = new.receive(Duration::from_secs(1)).unwrap();
        assert!(matches!(message, Message::Ready));
        assert_eq!(fds.len(), 1);
        let mut received = std::os::unix::net::UnixStream::from(fds.into_iter().next().unwrap());
        writer.write_all(b"same socket").unwrap();
        let mut text = [0u8; 11];
        received.read_exact(&mut text).unwrap();
        assert_eq!(&text, b"same socket");
    }

    #[test]
    fn a_silent_peer_times_out_and_a_gone_peer_is_closed() {
        let (old, new) = Channel::pair().unwrap();
        let timeout = Duration::from_millis(50);
        assert!(matches!(new.receive(timeout), Err(ChannelError::Timeout(_))));
        drop(old);
        assert!(matches!(new.receive(timeout), Err(ChannelError::Closed)));
    }

    #[test]
    fn garbage_is_a_json_error_not_a_panic() {
        let (old, new) = Channel::pair().unwrap();
        nix::sys::socket::send(
            std::os::fd::AsRawFd::as_raw_fd(&old.fd),
            b"{not json",
            nix::sys::socket::MsgFlags::empty(),
        )
        .unwrap();
        assert!(matches!(new.receive(Duration::from_secs(1)), Err(ChannelError::Json(_))));
    }
}
