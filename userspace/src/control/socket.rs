//! The socket itself: the client's [`request`], and the daemon's side
//! ([`bind`], [`read_request`], [`write_response`]). One request line in,
//! one JSON line out, then the connection closes.

use std::{path::Path, time::Duration};

use tokio::{
    io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader},
    net::{UnixListener, UnixStream},
};

use super::{Request, RequestError, Response};

/// Longest request line accepted; anything longer is an error reply.
pub const MAX_REQUEST_BYTES: u64 = 256;
/// A client that sends nothing for this long is dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a client waits for the daemon's answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(
        "no daemon answers on {path}: {cause}; start it with `halb run --config FILE`, or name the running one with --node and --run-dir"
    )]
    Connect { path: String, cause: std::io::Error },
    #[error("control socket {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("control socket {path}: bad reply: {reason}")]
    Reply { path: String, reason: String },
    #[error("daemon refused: {0}")]
    Refused(String),
}

/// How long `halb upgrade` waits for the daemon's answer: longer than the
/// daemon's own bounds on the new process (30 s + 60 s + 30 s).
const UPGRADE_REPLY_TIMEOUT: Duration = Duration::from_secs(150);

/// Sends one request to the daemon behind `socket` and returns its answer.
pub async fn request(socket: &Path, request: Request) -> Result<Response, ControlError> {
    let path = socket.display().to_string();
    let io_error = |cause| ControlError::Io { path: path.clone(), cause };
    let mut stream = UnixStream::connect(socket)
        .await
        .map_err(|cause| ControlError::Connect { path: path.clone(), cause })?;
    stream.write_all(format!("{}\n", request.line()).as_bytes()).await.map_err(io_error)?;
    let mut reply = String::new();
    // An upgrade answers once the new process has taken over (it loads and
    // verifies its eBPF programs first).
    let timeout = if matches!(request, Request::Upgrade { .. }) {
        UPGRADE_REPLY_TIMEOUT
    } else {
        REPLY_TIMEOUT
    };
    tokio::time::timeout(timeout, stream.read_to_string(&mut reply))
        .await
        .map_err(|_| ControlError::Reply { path: path.clone(), reason: "timed out".into() })?
        .map_err(io_error)?;
    let response: Response = serde_json::from_str(&reply)
        .map_err(|err| ControlError::Reply { path: path.clone(), reason: err.to_string() })?;
    match response {
        Response::Error(message) => Err(ControlError::Refused(message)),
        other => Ok(other),
    }
}

/// Reads one request line from a client, bounded in size and time.
pub async fn read_request(stream: &mut UnixStream) -> Result<Request, RequestError> {
    let mut line = String::new();
    let mut reader = BufReader::new(stream).take(MAX_REQUEST_BYTES);
    match tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await {
        Err(_) => Err(RequestError::Timeout),
        Ok(Err(err)) => Err(RequestError::Read(err.to_string())),
        Ok(Ok(_)) if !line.ends_with('\n') => Err(RequestError::TooLong { max: MAX_REQUEST_BYTES }),
        Ok(Ok(_)) => Request::parse(&line),
    }
}

/// Writes one response line.
pub async fn write_response(stream: &mut UnixStream, response: &Response) -> std::io::Result<()> {
    let mut text = serde_json::to_string(response).map_err(std::io::Error::other)?;
    text.push('\n');
    stream.write_all(text.as_bytes()).await?;
    stream.shutdown().await
}

/// Binds the control socket, replacing a stale socket file (the caller has
/// checked that no daemon answers on it).
pub fn bind(socket: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(socket) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    UnixListener::bind(socket)
}

/// True when a daemon answers on `socket` (used to refuse a second daemon
/// for the same node, and to tell stale pins from live ones).
#[must_use]
pub fn daemon_alive(socket: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(socket).is_ok()
}
