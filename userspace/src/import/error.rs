//! Why an import failed: a file that cannot be read as haproxy's or
//! keepalived's syntax, a directive halb refuses, nothing to import, or a
//! result halb's own validation rejects. Each names the file and line
//! where there is one.

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file does not parse: an unterminated block, an unknown section.
    #[error("{file}:{line}: {message}")]
    Syntax { file: String, line: usize, message: String },
    /// A directive halb will not carry over, with the reason.
    #[error("{file}:{line}: {directive}: refused: {reason}")]
    Refused { file: String, line: usize, directive: String, reason: String },
    /// Neither a usable frontend nor a usable `vrrp_instance`.
    #[error("nothing to import: {0}")]
    Nothing(String),
    /// A command-line value halb cannot use (`--node`, `--balancer`, `--netns`).
    #[error("{option}: {reason}")]
    Option { option: &'static str, reason: String },
    /// The generated config fails `halb check`'s validation.
    #[error("the imported config does not validate: {0}")]
    Invalid(#[from] ConfigError),
}

impl ImportError {
    pub(crate) fn syntax(file: &str, line: usize, message: impl Into<String>) -> Self {
        ImportError::Syntax { file: file.to_owned(), line, message: message.into() }
    }
}
