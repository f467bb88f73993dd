//! keepalived's statements onto halb's `[[balancer.vrrp]]`: each
//! `vrrp_instance` key for key, `global_defs` defaults (`vrrp_version`,
//! `vrrp_garp_master_*`, `vrrp_rt_priority`) into every instance, and a
//! `track_script` whose `vrrp_script` checks haproxy into `track_backend`
//! (halb runs the proxy itself and tracks its pool). `authentication` is
//! refused: RFC 5798 removed it. Every statement goes to the report once.

use std::net::Ipv4Addr;

use serde::Serialize;

use super::error::ImportError;
use super::keepalived::Node;
use super::keepalived_reasons::{global_reason, instance_reason, section_reason};
use super::keepalived_track::Tracking;
use super::report::{Location, Report};

/// One `vrrp_instance`, as `[[balancer.vrrp]]` keys (serialized in this order).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Instance {
    pub instance: String,
    pub interface: String,
    pub vrid: i64,
    pub priority: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advert_int: Option<f64>,
    pub virtual_ipaddress: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preempt: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preempt_delay: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_delay: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_repeat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_backend: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_weight: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realtime_priority: Option<i64>,
}

/// What keepalived.conf gave.
#[derive(Debug, Default)]
pub struct Imported {
    pub instances: Vec<Instance>,
    /// `global_defs { router_id }`: the default balancer name.
    pub router_id: Option<String>,
}

/// keepalived's default priority when an instance gives none.
pub const KEEPALIVED_DEFAULT_PRIORITY: i64 = 100;
/// Why `authentication` is refused.
pub const AUTHENTICATION_REFUSED: &str = "RFC 5798 (VRRPv3, section 9) removed authentication: VRRPv2's password travels in clear and protects against nothing, and halb neither sends nor checks it; remove the block";

/// Maps the statements of `file`; `track` is the backend a haproxy check
/// becomes (the proxy's first frontend's default backend), if a proxy was imported.
pub fn map(
    file: &str,
    nodes: &[Node],
    track: Option<&str>,
    report: &mut Report,
) -> Result<Imported, ImportError> {
    let mut mapper = Mapper {
        file,
        report,
        globals: Globals::default(),
        tracking: Tracking::new(file, nodes, track),
    };
    let mut imported = Imported::default();
    for node in nodes {
        match node.word(0) {
            "global_defs" => imported.router_id = mapper.global_defs(node),
            "vrrp_script" => {}
            "vrrp_instance" => {
                if let Some(instance) = mapper.instance(node)? {
                    imported.instances.push(instance);
                }
            }
            keyword => match section_reason(keyword) {
                Some(why) => mapper.report.unsupported(mapper.block(node), title(node), why),
                None => {
                    return Err(ImportError::syntax(file, node.line, format!(
                        "unknown section `{keyword}` (keepalived's are global_defs, vrrp_script, vrrp_instance, vrrp_sync_group, virtual_server, ...)"
                    )))
                }
            },
        }
    }
    mapper.tracking.finish(mapper.report);
    Ok(imported)
}

fn title(node: &Node) -> String {
    node.words.join(" ")
}

#[derive(Debug, Default)]
struct Globals {
    version: Option<i64>,
    garp_master_delay: Option<f64>,
    garp_master_repeat: Option<i64>,
    realtime_priority: Option<i64>,
}

struct Mapper<'a> {
    file: &'a str,
    report: &'a mut Report,
    globals: Globals,
    tracking: Tracking<'a>,
}

impl Mapper<'_> {
    fn at(&self, line: usize) -> Location {
        Location::line(self.file, line)
    }

    fn block(&self, node: &Node) -> Location {
        Location { file: self.file.to_owned(), line: node.line, end_line: node.end_line }
    }

    fn unsupported(&mut self, node: &Node, why: impl Into<String>) {
        let location = self.block(node);
        self.report.unsupported(location, title(node), why);
    }

    fn number<T: std::str::FromStr>(&mut self, node: &Node) -> Option<T> {
        let parsed = node.word(1).parse().ok();
        match parsed {
            Some(_) => self.report.mapped(self.at(node.line), node.word(0)),
            None => self.unsupported(node, format!("`{}` is not a number", node.word(1))),
        }
        parsed
    }

    fn global_defs(&mut self, node: &Node) -> Option<String> {
        self.report.mapped(self.at(node.line), "global_defs");
        let mut router_id = None;
        for child in node.children() {
            match child.word(0) {
                "router_id" => {
                    router_id = Some(child.word(1).to_owned());
                    self.report.note(
                        self.at(child.line),
                        "router_id",
                        "the balancer's name unless --balancer gives one",
                    );
                }
                "vrrp_version" => self.globals.version = self.number(child),
                "vrrp_garp_master_delay" => self.globals.garp_master_delay = self.number(child),
                "vrrp_garp_master_repeat" => self.globals.garp_master_repeat = self.number(child),
                "vrrp_rt_priority" => self.globals.realtime_priority = self.number(child),
                keyword => self.unsupported(child, global_reason(keyword)),
            }
        }
        router_id
    }

    fn instance(&mut self, node: &Node) -> Result<Option<Instance>, ImportError> {
        let name = node.word(1).to_owned();
        let mut instance = Instance {
            instance: name.clone(),
            version: self.globals.version,
            garp_master_delay: self.globals.garp_master_delay,
            garp_master_repeat: self.globals.garp_master_repeat,
            realtime_priority: self.globals.realtime_priority,
            ..Instance::default()
        };
        let (mut interface, mut vrid, mut priority) = (None, None, None);
        let mut devices = Vec::new();
        let mut advert = None;
        let mut bonus = 0;
        self.report.mapped(self.at(node.line), format!("vrrp_instance {name}"));
        for child in node.children() {
            match child.word(0) {
                "authentication" => {
                    return Err(ImportError::Refused {
                        file: self.file.to_owned(),
                        line: child.line,
                        directive: "authentication".to_owned(),
                        reason: AUTHENTICATION_REFUSED.to_owned(),
                    })
                }
                "state" => self.report.note(
                    self.at(child.line),
                    format!("state {}", child.word(1)),
                    "halb derives the state from the priority: the highest becomes master (keepalived's state only picks the start state)",
                ),
                "interface" => {
                    interface = Some(child.word(1).to_owned());
                    self.report.mapped(self.at(child.line), "interface");
                }
                "virtual_router_id" => vrid = self.number(child),
                "priority" => priority = self.number(child),
                "advert_int" => advert = self.number::<f64>(child).map(|secs| (secs, child.line)),
                "version" => instance.version = self.number(child),
                "nopreempt" => {
                    instance.preempt = Some(false);
                    self.report.mapped(self.at(child.line), "nopreempt");
                }
                "preempt_delay" => instance.preempt_delay = self.number(child),
                "garp_master_delay" => instance.garp_master_delay = self.number(child),
                "garp_master_repeat" => instance.garp_master_repeat = self.number(child),
                "virtual_ipaddress" => {
                    self.report.mapped(self.at(child.line), "virtual_ipaddress");
                    for address in child.children() {
                        if let Some(text) = self.virtual_address(address, &mut devices) {
                            instance.virtual_ipaddress.push(text);
                        }
                    }
                }
                "track_script" => {
                    let tracked = instance.track_backend.is_some();
                    if let Some(found) = self.tracking.track_script(child, tracked, self.report) {
                        instance.track_backend = Some(found.backend);
                        instance.track_weight = found.weight;
                        bonus += found.bonus;
                    }
                }
                keyword => self.unsupported(child, instance_reason(keyword)),
            }
        }
        let missing = match (&interface, vrid, instance.virtual_ipaddress.is_empty()) {
            (None, _, _) => Some("no `interface`"),
            (_, None, _) => Some("no `virtual_router_id`"),
            (_, _, true) => Some("no usable `virtual_ipaddress`"),
            _ => None,
        };
        if let Some(missing) = missing {
            self.unsupported(node, format!("{missing}: keepalived refuses such an instance too"));
            return Ok(None);
        }
        instance.interface = interface.unwrap_or_default();
        instance.vrid = vrid.unwrap_or_default();
        instance.priority = priority.unwrap_or_else(|| {
            self.report.remark(
                self.at(node.line),
                &format!("vrrp_instance {name}"),
                "no priority: keepalived's default, 100",
            );
            KEEPALIVED_DEFAULT_PRIORITY
        });
        if bonus > 0 {
            // keepalived caps a tracked priority at 254 (255 is the address owner's).
            instance.priority = (instance.priority + bonus).min(254);
        }
        self.other_devices(&devices, &instance.interface);
        if let Some((secs, line)) = advert {
            instance.advert_int = Some(self.advert_int(secs, line, instance.version.unwrap_or(2)));
        }
        Ok(Some(instance))
    }

    /// Lists each `dev` of a virtual address that is not the instance's `interface`.
    fn other_devices(&mut self, devices: &[(usize, String)], interface: &str) {
        for (line, device) in devices.iter().filter(|(_, device)| device != interface) {
            self.report.unsupported(
                self.at(*line),
                format!("dev {device}"),
                format!(
                    "halb adds the virtual addresses on the instance's interface `{interface}`"
                ),
            );
        }
    }

    /// The advert interval the version allows: whole seconds 1-255 for v2,
    /// centiseconds 0.01-40.95 for v3; another value is rounded and noted.
    fn advert_int(&mut self, secs: f64, line: usize, version: i64) -> f64 {
        let fitted = if version == 2 {
            secs.round().clamp(1.0, 255.0)
        } else {
            ((secs * 100.0).round() / 100.0).clamp(0.01, 40.95)
        };
        if (fitted - secs).abs() > 1e-9 {
            let why = if version == 2 {
                format!("VRRPv2 adverts are whole seconds (1-255): imported as {fitted}; set vrrp_version 3 for sub-second adverts")
            } else {
                format!("VRRPv3 adverts are centiseconds (0.01-40.95 s): imported as {fitted}")
            };
            // The line was reported mapped by `number`; say what changed.
            self.report.remark(self.at(line), "advert_int", why);
        }
        fitted
    }

    /// One line of `virtual_ipaddress`: the address, and each option.
    fn virtual_address(
        &mut self,
        node: &Node,
        devices: &mut Vec<(usize, String)>,
    ) -> Option<String> {
        let text = node.word(0);
        let (address, prefix) = text.split_once('/').unwrap_or((text, "32"));
        let usable =
            address.parse::<Ipv4Addr>().is_ok() && prefix.parse::<u8>().is_ok_and(|len| len <= 32);
        if !usable {
            let why = if address.contains(':') {
                "halb's VRRP carries IPv4 addresses only".to_owned()
            } else {
                format!("`{text}` is not an IPv4 address or a.b.c.d/len")
            };
            self.unsupported(node, why);
            return None;
        }
        self.report.mapped(self.at(node.line), text);
        let mut options = node.words[1..].iter();
        while let Some(option) = options.next() {
            let value = options.next().cloned().unwrap_or_default();
            match option.as_str() {
                "dev" => devices.push((node.line, value)),
                "label" => self.report.unsupported(
                    self.at(node.line),
                    format!("label {value}"),
                    "halb adds virtual addresses without a label",
                ),
                other => self.report.unsupported(
                    self.at(node.line),
                    format!("{other} {value}"),
                    "halb adds virtual addresses with their prefix length only",
                ),
            }
        }
        Some(text.to_owned())
    }
}
