//! Reading the config: a file or text, parsed ([`super::file`]) then
//! validated into [`Config`], and the command-line overrides applied on top.

use std::path::{Path, PathBuf};

use super::file;
use super::validate::Config;
use super::ConfigError;

/// Values from the command line that replace the file's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `halb run --run-dir`: replaces `daemon.run_dir`.
    pub run_dir: Option<PathBuf>,
}

impl Config {
    /// Applies command-line overrides (kept by the daemon for reloads).
    #[must_use]
    pub fn with_overrides(mut self, overrides: &Overrides) -> Self {
        if let Some(run_dir) = &overrides.run_dir {
            self.run_dir.clone_from(run_dir);
        }
        self
    }
}

/// Reads, parses and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|cause| ConfigError::Read { path: path.to_owned(), cause })?;
    parse(&text).map_err(|err| match err {
        ConfigError::Parse { message, .. } => ConfigError::Parse { path: path.to_owned(), message },
        other => other,
    })
}

/// Parses and validates config text.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let raw: file::ConfigFile = toml::from_str(text).map_err(|err| ConfigError::Parse {
        path: PathBuf::new(),
        message: err.to_string().trim_end().replace('\n', " | "),
    })?;
    Config::try_from(raw)
}
