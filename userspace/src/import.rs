//! `halb import`: haproxy.cfg and keepalived.conf into a halb config.
//!
//! Each file is read in two steps: its syntax ([`haproxy`]: sections of
//! directive lines; [`keepalived`]: a tree of statements and blocks), then
//! its meaning ([`haproxy_map`] onto `[balancer.proxy]`, [`keepalived_map`]
//! onto `[[balancer.vrrp]]`). Every directive lands in the [`Report`] once:
//! mapped, mapped with a remark, or not imported with the reason, so
//! nothing is dropped silently. [`import`] (in `convert`) runs it all,
//! renders the TOML ([`output`]) and validates it as `halb check` does.
//! keepalived's `authentication` is refused: RFC 5798 removed it.

mod convert;
mod error;
pub mod haproxy;
mod haproxy_bind;
mod haproxy_check;
mod haproxy_forward;
pub mod haproxy_map;
mod haproxy_reasons;
mod haproxy_server;
mod haproxy_shared;
pub mod keepalived;
pub mod keepalived_map;
mod keepalived_reasons;
mod keepalived_track;
mod output;
pub mod report;
pub(crate) mod words;

pub use convert::{import, Imported, Options, Source, DEFAULT_BALANCER};
pub use error::ImportError;
pub use keepalived_map::AUTHENTICATION_REFUSED;
pub use report::{Entry, Location, Outcome, Report};
