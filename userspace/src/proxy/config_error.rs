//! The error of a proxy configuration value, shared by [`super::config`]
//! and the checks of its parts (e.g. [`super::client_headers`]).

/// A configuration value that cannot be used, and the key that holds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}
