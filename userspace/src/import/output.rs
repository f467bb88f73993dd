//! The imported config as TOML text: `[daemon]` with the node, one
//! `[[balancer]]` with its VRRP instances and proxy, keys in the order the
//! configuration reference gives them, under a header saying where it
//! came from. Written with the toml crate from serde structs, so quoting
//! is toml's own.

use serde::Serialize;

use super::keepalived_map::Instance;
use crate::proxy::section::ProxySection;

/// What one `[[balancer]]` holds.
#[derive(Debug, Serialize)]
pub struct Balancer<'a> {
    pub name: &'a str,
    pub netns: &'a str,
    pub interfaces: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_threads: Option<i64>,
    #[serde(skip_serializing_if = "<[Instance]>::is_empty")]
    pub vrrp: &'a [Instance],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<&'a ProxySection>,
}

#[derive(Debug, Serialize)]
struct Daemon<'a> {
    node: &'a str,
}

#[derive(Debug, Serialize)]
struct File<'a> {
    daemon: Daemon<'a>,
    balancer: [&'a Balancer<'a>; 1],
}

/// The config text: `header` lines as comments, then the tables.
pub fn render(
    node: &str,
    balancer: &Balancer<'_>,
    header: &[String],
) -> Result<String, toml::ser::Error> {
    let body = toml::to_string(&File { daemon: Daemon { node }, balancer: [balancer] })?;
    let mut text = String::new();
    for line in header {
        text.push_str("# ");
        text.push_str(line);
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&body);
    Ok(text)
}
