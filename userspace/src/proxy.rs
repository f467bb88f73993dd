//! The L7 reverse proxy (haproxy's role in the lab): HTTP/1.1 on each
//! frontend, every request balanced over a backend's healthy servers.
//!
//! Data flow: [`frontend`] accepts a client connection and runs a hyper
//! server on it; each request goes to [`forward`], which checks and
//! rewrites the head ([`headers`]; size limits in `head_limits`; [`intermediary`] for
//! what RFC 9110 asks of a gateway: Host, Via, Max-Forwards), asks the [`backend`] for a slot on a
//! server chosen by the pure [`balance`] policy, takes a pooled or new
//! connection ([`upstream`]) and streams both bodies ([`body`]); a 101 to
//! an `Upgrade` request turns the exchange into a [`tunnel`]. Health
//! [`check`] tasks feed the pure [`health`] machine per server; the backend
//! publishes the pool's health on a `watch`. Counters ([`stats`]) are
//! atomics read into a serde snapshot or Prometheus text.
//!
//! Configuration: [`ProxySection`] mirrors haproxy's blocks, and
//! `Config::try_from(section)` validates it. Running: [`start`] returns a
//! [`Handle`]; [`run`] runs until a shutdown future completes.

mod backend;
pub mod balance;
pub mod body;
mod check;
pub mod client_headers;
pub mod config;
mod config_error;
mod forward;
mod frontend;
mod handle;
mod head_limits;
pub mod head_tap;
pub mod headers;
pub mod health;
mod idle_io;
pub mod intermediary;
pub mod section;
mod server;
pub mod stats;
mod tunnel;
mod upstream;

use std::net::SocketAddr;

pub use balance::Balance;
pub use config::{
    BackendConfig, CheckKind, CheckTiming, Config, ConfigError, FrontendConfig, ServerConfig,
    Timeouts,
};
pub use handle::{run, start, start_with, Handle};
pub use head_limits::{MAX_HEADERS, MAX_HEADER_BYTES};
pub use health::PoolHealth;
pub use section::{
    BackendSection, DurationValue, FrontendSection, HttpCheckSection, ProxySection, ServerSection,
    TimeoutSection,
};
pub use stats::StatsSnapshot;

/// What can go wrong running the proxy.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("frontend {frontend}: cannot listen on {address}")]
    Bind {
        frontend: String,
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("no backend named {0:?}")]
    UnknownBackend(String),
    #[error("server {0:?} appears twice")]
    DuplicateServer(String),
}
