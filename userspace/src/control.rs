//! The control socket (`<run_dir>/<node>.sock`): `halb status` and
//! `halb reload` talk to a running daemon through it. One request line in,
//! one JSON line out, then the connection closes.

use std::{path::Path, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader},
    net::{UnixListener, UnixStream},
};

use crate::datapath::counters::PortCounters;

/// Longest request line accepted; anything longer is an error reply.
pub const MAX_REQUEST_BYTES: u64 = 256;
/// A client that sends nothing for this long is dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// What a client may ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Status,
    Reload,
    Vrrp,
    Proxy,
    Vxlan,
    Stp,
}

impl Request {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Reload => "reload",
            Request::Vrrp => "vrrp",
            Request::Proxy => "proxy",
            Request::Vxlan => "vxlan",
            Request::Stp => "stp",
        }
    }

    pub fn parse(line: &str) -> Result<Self, String> {
        match line.trim() {
            "status" => Ok(Request::Status),
            "reload" => Ok(Request::Reload),
            "vrrp" => Ok(Request::Vrrp),
            "proxy" => Ok(Request::Proxy),
            "vxlan" => Ok(Request::Vxlan),
            "stp" => Ok(Request::Stp),
            other => Err(format!(
                "unknown request {other:?} (expected status, reload, vrrp, proxy, vxlan or stp)"
            )),
        }
    }
}

/// The daemon's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Status(Box<DaemonStatus>),
    Reloaded {
        attached: Vec<String>,
        detached: Vec<String>,
    },
    Vrrp(Vec<crate::daemon::vrrp_report::VrrpReport>),
    /// Statistics of each balancer's proxy, by balancer name.
    Proxy(Vec<(String, crate::proxy::StatsSnapshot)>),
    /// The VXLAN tunnel (`None`: no `[host.vxlan]`).
    Vxlan(Option<Box<crate::vxlan::VxlanReport>>),
    /// Every configured STP bridge.
    Stp(Vec<crate::daemon::stp_report::StpReport>),
    Error(String),
}

/// What a running daemon does.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub node: String,
    pub pid: u32,
    pub config: String,
    pub started_unix_secs: u64,
    pub pin_dir: String,
    pub pinned_maps: Vec<String>,
    pub programs: Vec<ProgramStatus>,
    pub ports: Vec<PortStatus>,
}

/// A loaded program and how it is attached.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProgramStatus {
    pub name: String,
    /// The datapath instance (`host` or a balancer's name) it belongs to.
    pub instance: String,
    /// Kernel program id (`bpftool prog show id N`).
    pub id: u32,
    pub attach: String,
}

/// One datapath interface.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PortStatus {
    pub role: String,
    pub instance: String,
    pub netns: Option<String>,
    pub interface: String,
    pub ifindex: u32,
    pub program: String,
    pub program_id: u32,
    pub counters: PortCounters,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no daemon answers on {path}: {cause}")]
    Connect { path: String, cause: std::io::Error },
    #[error("control socket {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("control socket {path}: bad reply: {reason}")]
    Reply { path: String, reason: String },
    #[error("daemon refused: {0}")]
    Refused(String),
}

/// Sends one request to the daemon behind `socket` and returns its answer.
pub async fn request(socket: &Path, request: Request) -> Result<Response, ControlError> {
    let path = socket.display().to_string();
    let io_error = |cause| ControlError::Io { path: path.clone(), cause };
    let mut stream = UnixStream::connect(socket)
        .await
        .map_err(|cause| ControlError::Connect { path: path.clone(), cause })?;
    stream.write_all(format!("{}\n", request.as_str()).as_bytes()).await.map_err(io_error)?;
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut reply))
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
pub async fn read_request(stream: &mut UnixStream) -> Result<Request, String> {
    let mut line = String::new();
    let mut reader = BufReader::new(stream).take(MAX_REQUEST_BYTES);
    match tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await {
        Err(_) => Err("no request within 2 s".to_owned()),
        Ok(Err(err)) => Err(format!("reading request: {err}")),
        Ok(Ok(_)) if !line.ends_with('\n') => {
            Err(format!("request longer than {MAX_REQUEST_BYTES} bytes or not newline-terminated"))
        }
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
