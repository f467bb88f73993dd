//! The import as one function: parse each file, map it (haproxy first, so
//! keepalived's haproxy checks can track its backend), put the balancer
//! together, render it, and validate the text with halb's own config
//! validation, so what comes out is what `halb check --config` accepts.

use super::error::ImportError;
use super::output::{render, Balancer};
use super::report::Report;
use super::{haproxy, haproxy_map, keepalived, keepalived_map};

/// The balancer's name when neither `--balancer` nor keepalived's `router_id` gives one.
pub const DEFAULT_BALANCER: &str = "bal1";

/// One input file: its name as the user gave it (for `FILE:LINE`), and its text.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// The command line's choices.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `daemon.node` (`--node`, default: the host name).
    pub node: String,
    /// `balancer.name` (`--balancer`; default: keepalived's `router_id`, else [`DEFAULT_BALANCER`]).
    pub balancer: Option<String>,
    /// `balancer.netns` (`--netns`; default: the balancer's name).
    pub netns: Option<String>,
}

/// A finished import: the config text and what became of each directive.
#[derive(Debug)]
pub struct Imported {
    pub config: String,
    pub report: Report,
}

/// Imports the given files into one balancer of node `options.node`.
pub fn import(
    haproxy: Option<Source<'_>>,
    keepalived: Option<Source<'_>>,
    options: &Options,
) -> Result<Imported, ImportError> {
    let mut report = Report::default();
    let proxy_part = match haproxy {
        Some(source) => {
            let sections = haproxy::parse(source.name, source.text)?;
            haproxy_map::map(source.name, &sections, &mut report)
        }
        None => haproxy_map::Imported::default(),
    };
    let track = proxy_part
        .proxy
        .as_ref()
        .and_then(|proxy| proxy.frontend.first())
        .map(|frontend| frontend.default_backend.clone());
    let vrrp_part = match keepalived {
        Some(source) => {
            let nodes = keepalived::parse(source.name, source.text)?;
            keepalived_map::map(source.name, &nodes, track.as_deref(), &mut report)?
        }
        None => keepalived_map::Imported::default(),
    };
    if proxy_part.proxy.is_none() && vrrp_part.instances.is_empty() {
        return Err(ImportError::Nothing(
            "no frontend with a bind and a default_backend, and no vrrp_instance with interface, virtual_router_id and virtual_ipaddress".to_owned(),
        ));
    }
    let name = options
        .balancer
        .clone()
        .or(vrrp_part.router_id)
        .unwrap_or_else(|| DEFAULT_BALANCER.to_owned());
    let netns = options.netns.clone().unwrap_or_else(|| name.clone());
    let mut interfaces: Vec<String> = Vec::new();
    for instance in &vrrp_part.instances {
        if !interfaces.contains(&instance.interface) {
            interfaces.push(instance.interface.clone());
        }
    }
    let balancer = Balancer {
        name: &name,
        netns: &netns,
        interfaces,
        proxy_threads: proxy_part.threads,
        vrrp: &vrrp_part.instances,
        proxy: proxy_part.proxy.as_ref(),
    };
    let sources: Vec<&str> = [haproxy, keepalived].iter().flatten().map(|s| s.name).collect();
    let listed = report.listed().count();
    let header = vec![
        format!("halb config imported by `halb import` from {}.", sources.join(" and ")),
        format!(
            "{} directives imported as they are; {listed} listed on stderr (not imported, or imported differently).",
            report.mapped_count()
        ),
        "The host roles (bridges, STP, VXLAN) are not in these files: add [host] by hand.".to_owned(),
        "Every key: docs/configuration.md; the import: docs/import.md.".to_owned(),
    ];
    let config = render(&options.node, &balancer, &header).map_err(|err| {
        ImportError::Nothing(format!("the config cannot be written as TOML: {err}"))
    })?;
    crate::config::parse(&config)?;
    Ok(Imported { config, report })
}
