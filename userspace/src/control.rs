//! The control socket (`<run_dir>/<node>.sock`): `halb status`, `halb
//! reload` and the other client commands talk to a running daemon through
//! it. One request line in ([`Request`]), one JSON line out ([`Response`]),
//! then the connection closes.
//!
//! This module holds the protocol and every type it carries ([`stp`],
//! [`vrrp`] reports, [`DaemonStatus`]); the daemon fills them in and the CLI
//! prints them, so both depend on it and it depends on neither.

mod request;
mod response;
mod socket;
pub mod stp;
pub mod vrrp;

pub use request::{Request, RequestError};
pub use response::{DaemonStatus, PortStatus, ProgramStatus, Response};
pub use socket::{
    bind, daemon_alive, read_request, request, write_response, ControlError, MAX_REQUEST_BYTES,
    REQUEST_TIMEOUT,
};

#[cfg(test)]
mod tests;
