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
        message: one_line(text, &err),
    })?;
    Config::try_from(raw)
}

/// toml's error as one line, "line L, column C (`the line`): what": its own text spans
/// several lines with the quoted source and a caret, and its message alone does not always
/// name the key (a wrong type), which the quoted line does.
fn one_line(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim_end().replace('\n', "; ");
    let Some(span) = err.span() else { return message };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.len() - line_start + 1;
    let source = text[line_start..].lines().next().unwrap_or_default().trim();
    format!("line {line}, column {column} (`{source}`): {message}")
}
