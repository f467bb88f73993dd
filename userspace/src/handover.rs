//! Handing a running daemon over to a new process without a gap (`halb
//! upgrade`): what the two processes say to each other ([`message`]), how
//! they say it, file descriptors included ([`channel`]), and how protocol
//! state that holds deadlines crosses the process boundary ([`clock`]).
//!
//! The sequence, old process `O`, new process `N` (both on one
//! `SOCK_SEQPACKET` socket pair that `O` creates and `N` inherits):
//!
//! 1. `N` validates its config and says [`Message::Hello`] with the state
//!    versions it knows;
//! 2. `O` picks a version both know and sends [`Message::Offer`] with the
//!    proxies' listening sockets and its status listener attached, and its
//!    datapath links pinned for `N` to take;
//! 3. `N` loads its eBPF object on the pinned maps, swaps each link to its
//!    own programs atomically, starts its proxies on the inherited
//!    listeners, and says [`Message::Ready`];
//! 4. `O` stops its STP and VRRP drivers without a word on the wire and
//!    sends their state in [`Message::Resume`];
//! 5. `N` resumes them, takes the control socket and says [`Message::Done`];
//! 6. `O` lets go of its datapath, stops accepting, drains and exits.
//!
//! Any failure before step 5 leaves `O` serving: before step 4 it never
//! stopped anything, after it `O` resumes its own drivers from the state it
//! sent.

pub mod channel;
pub mod clock;
pub mod message;

pub use channel::{Channel, ChannelError};
pub use message::{Message, STATE_VERSION};
