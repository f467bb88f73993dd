//! Configuration: the TOML file as written ([`file`]) and the validated form
//! the daemon runs on ([`Config`], built by `TryFrom`). Every error names the
//! key and the reason; nothing touches the system before validation passes.
//! [`load`] and [`parse`] (in `read`) run the two steps.
//!
//! This module holds what the others share (the error type and the limits)
//! and re-exports their public items; it uses none of them itself.

pub mod file;
mod read;
pub mod stp;
mod validate;
mod vrrp;
pub mod vxlan;

use std::path::PathBuf;

pub use read::{load, parse, Overrides};
pub use validate::{AttachPoint, Balancer, Config, HostRole, LogLevel, HOST_INSTANCE};
pub use vrrp::VrrpInstance;

/// Where the daemon pins maps unless `daemon.bpffs` says otherwise.
pub const DEFAULT_BPFFS: &str = "/sys/fs/bpf";
/// Where the daemon puts its control socket unless `daemon.run_dir` says otherwise.
pub const DEFAULT_RUN_DIR: &str = "/run/halb";
/// Linux interface names are at most 15 bytes (IFNAMSIZ - 1).
pub const MAX_INTERFACE_NAME: usize = 15;
/// Upper bound on datapath interfaces per daemon (sizes the BPF maps).
pub const MAX_INTERFACES: usize = 64;
/// Node names become directory and socket names: keep them short.
pub const MAX_NODE_NAME: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key `{key}`: {reason}")]
    Invalid { key: String, reason: String },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid { key: key.into(), reason: reason.into() }
    }
}

#[cfg(test)]
mod tests;
