//! The halb daemon's config files as the lab and the benches write them: values of the
//! daemon's own file types ([`halb::config::file`]), written with the toml crate. A key
//! the daemon does not know cannot be written (the types are the schema, and they are
//! `deny_unknown_fields` when read back), and the tests read every written config with the
//! daemon's own parser and validator ([`halb::config::parse`]).

use anyhow::{Context as _, Result};

pub use halb::config::file::{
    BalancerSection, ConfigFile, DaemonSection, HostSection, VrrpSection,
};
pub use halb::config::stp::{BridgeSection, PortSection};
pub use halb::config::vxlan::VxlanSection;
pub use halb::proxy::section::{
    BackendSection, DurationValue, FrontendSection, ProxySection, ServerSection, TimeoutSection,
};

/// `[daemon]` of node `node`; the other keys are the daemon's defaults.
#[must_use]
pub fn daemon(node: &str) -> DaemonSection {
    DaemonSection { node: node.to_string(), ..DaemonSection::default() }
}

/// A duration key of the proxy (`"5s"`), as haproxy writes it.
#[must_use]
pub fn duration(text: &str) -> DurationValue {
    DurationValue::Text(text.to_string())
}

/// Strings for a list key.
#[must_use]
pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// The config file's text: `header` as a comment line, then the TOML.
pub fn to_toml(header: &str, file: &ConfigFile) -> Result<String> {
    let body = toml::to_string(file).context("cannot write the halb config as TOML")?;
    Ok(format!("# {header}\n{body}"))
}

/// Reads `text` as the daemon does (parse, then validate); the tests of every config
/// writer call it on what they write.
pub fn read_back(text: &str) -> Result<halb::config::Config> {
    halb::config::parse(text).with_context(|| format!("halb refuses the config:\n{text}"))
}
