//! A request for the run loop, with where to send its answer: how the control socket's
//! clients and the status listener reach the daemon's state, which only the run loop
//! touches.

use tokio::sync::oneshot;

use crate::control::{Request, Response};

/// A request and the channel its answer goes back on.
pub(super) type Pending = (Request, oneshot::Sender<Response>);
