//! Reading the lab's live state: bridge STP state from sysfs (inside each namespace) or, for
//! a bridge whose STP is halb's, from `halb stp show --json` (the kernel shows halb's
//! blocked ports as `disabled`); who holds the VIP, haproxy's view of its servers.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use halb::control::stp::StpReport;

use super::plan::{Component, Impl};
use super::reports;
use super::rundir::Lab;
use super::stp::{self, BridgeId, BridgeSpec, Net, PortSpec, Role, Tree};
use super::sys;
use super::topo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortStateKind {
    Disabled,
    Listening,
    Learning,
    Forwarding,
    Blocking,
}

impl PortStateKind {
    fn from_sysfs(v: u32) -> Result<Self> {
        Ok(match v {
            0 => PortStateKind::Disabled,
            1 => PortStateKind::Listening,
            2 => PortStateKind::Learning,
            3 => PortStateKind::Forwarding,
            4 => PortStateKind::Blocking,
            _ => bail!("unknown bridge port state {v}"),
        })
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            PortStateKind::Disabled => "disabled",
            PortStateKind::Listening => "listening",
            PortStateKind::Learning => "learning",
            PortStateKind::Forwarding => "forwarding",
            PortStateKind::Blocking => "blocking",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PortState {
    pub name: String,
    pub id: u16,
    pub no: u16,
    pub cost: u32,
    pub state: PortStateKind,
    pub designated_bridge: BridgeId,
    pub designated_port: u16,
    /// The role halb reports (`root`, `designated`, `alternate`, `backup`, `disabled`);
    /// `None` for a kernel bridge, whose role is derived from its state.
    pub halb_role: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct BridgeState {
    pub name: String,
    pub id: BridgeId,
    pub root_id: BridgeId,
    pub root_port: u16,
    pub root_cost: u32,
    pub ports: Vec<PortState>,
    /// Who runs the tree: `kernel`, `halb stp` or `halb rstp`.
    pub by: String,
}

impl BridgeState {
    /// The role the kernel's state implies (802.1D has no explicit role field).
    #[must_use]
    pub fn role(&self, port: &PortState) -> &'static str {
        if let Some(role) = port.halb_role {
            role
        } else if port.state == PortStateKind::Disabled {
            "disabled"
        } else if self.root_port != 0 && port.no == self.root_port {
            "root"
        } else if port.designated_bridge == self.id && port.designated_port == port.id {
            "designated"
        } else {
            "alternate"
        }
    }
}

fn parse_num(s: &str) -> Result<u32> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse(),
    }
    .with_context(|| format!("bad number {s:?}"))
}

/// Parses `grep -H . FILES` output of one bridge's sysfs attributes.
pub fn parse_sysfs(bridge: &str, text: &str) -> Result<BridgeState> {
    let mut br: BTreeMap<&str, &str> = BTreeMap::new();
    let mut ports: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    let base = format!("/sys/class/net/{bridge}/");
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(&base) else { continue };
        let Some((path, value)) = rest.split_once(':') else { continue };
        let segs: Vec<&str> = path.split('/').collect();
        match segs.as_slice() {
            ["bridge", attr] => {
                br.insert(attr, value);
            }
            ["brif", port, attr] => {
                ports.entry(port).or_default().insert(attr, value);
            }
            _ => {}
        }
    }
    let get = |m: &BTreeMap<&str, &str>, k: &str, what: &str| -> Result<String> {
        m.get(k).map(|v| (*v).to_string()).with_context(|| format!("{what}: {k} missing in sysfs"))
    };
    let mut out = BridgeState {
        name: bridge.to_string(),
        id: stp::parse_bridge_id(&get(&br, "bridge_id", bridge)?)?,
        root_id: stp::parse_bridge_id(&get(&br, "root_id", bridge)?)?,
        root_port: u16::try_from(parse_num(&get(&br, "root_port", bridge)?)?)?,
        root_cost: parse_num(&get(&br, "root_path_cost", bridge)?)?,
        ports: Vec::new(),
        by: "kernel".to_string(),
    };
    for (name, attrs) in &ports {
        let what = format!("{bridge}:{name}");
        out.ports.push(PortState {
            name: (*name).to_string(),
            id: u16::try_from(parse_num(&get(attrs, "port_id", &what)?)?)?,
            no: u16::try_from(parse_num(&get(attrs, "port_no", &what)?)?)?,
            cost: parse_num(&get(attrs, "path_cost", &what)?)?,
            state: PortStateKind::from_sysfs(parse_num(&get(attrs, "state", &what)?)?)?,
            designated_bridge: stp::parse_bridge_id(&get(attrs, "designated_bridge", &what)?)?,
            designated_port: u16::try_from(parse_num(&get(attrs, "designated_port", &what)?)?)?,
            halb_role: None,
        });
    }
    out.ports.sort_by_key(|p| p.no);
    Ok(out)
}

const BRIDGE_ATTRS: [&str; 4] = ["bridge_id", "root_id", "root_port", "root_path_cost"];
const PORT_ATTRS: [&str; 6] =
    ["port_id", "port_no", "path_cost", "state", "designated_bridge", "designated_port"];

/// Reads one bridge's STP state: from halb's daemon when its STP is halb's, else from sysfs.
pub fn read_bridge(lab: &Lab, bridge: &topo::Bridge) -> Result<BridgeState> {
    let halb = lab.config().is_ok_and(|c| c.stack.get(Component::Stp, bridge.name) == Impl::Halb);
    if halb {
        parse_halb(bridge.name, &reports::stp(lab, bridge.node)?)
    } else {
        read_sysfs(lab, bridge)
    }
}

/// `halb stp show --json` port ids (`8.001`: priority / 16, port number) as the kernel's
/// 16-bit port id (0x8001).
fn parse_halb_port_id(s: &str) -> Result<u16> {
    let (prio, number) = s.split_once('.').with_context(|| format!("bad port id {s:?}"))?;
    let prio = u16::from_str_radix(prio, 16).with_context(|| format!("bad port id {s:?}"))?;
    let number = u16::from_str_radix(number, 16).with_context(|| format!("bad port id {s:?}"))?;
    if prio > 0xf || number > 0xfff {
        bail!("bad port id {s:?}");
    }
    Ok(prio << 12 | number)
}

/// One bridge of `halb stp show --json` in the kernel's terms. halb's role is kept; its
/// state becomes the kernel's: a discarding alternate or backup port is `blocking`, a
/// discarding root or designated port is on its way (`listening`), a disabled role is
/// `disabled` (link down).
pub fn parse_halb(bridge: &str, reports: &[StpReport]) -> Result<BridgeState> {
    let r = reports
        .iter()
        .find(|r| r.bridge == bridge)
        .with_context(|| format!("halb reports no STP bridge {bridge}"))?;
    if r.state != "running" {
        bail!("halb's STP on {bridge} is {}", r.state);
    }
    let mut out = BridgeState {
        name: bridge.to_string(),
        id: stp::parse_bridge_id(&r.bridge_id)?,
        root_id: stp::parse_bridge_id(&r.root_id)?,
        root_port: 0,
        root_cost: r.root_path_cost,
        ports: Vec::new(),
        by: format!("halb {}", r.protocol),
    };
    for p in &r.ports {
        let name = p.name.clone();
        let id = parse_halb_port_id(&p.port_id)?;
        let role: &'static str = match p.role.as_str() {
            "Root" => "root",
            "Designated" => "designated",
            "Alternate" => "alternate",
            "Backup" => "backup",
            "Disabled" => "disabled",
            other => bail!("{bridge}:{name}: unknown role {other:?}"),
        };
        let state = match (p.state.as_str(), role) {
            ("forwarding", _) => PortStateKind::Forwarding,
            ("learning", _) => PortStateKind::Learning,
            (_, "disabled") | ("disabled", _) => PortStateKind::Disabled,
            (_, "alternate" | "backup") => PortStateKind::Blocking,
            _ => PortStateKind::Listening,
        };
        let no = id & 0xfff;
        if r.root_port.as_deref() == Some(name.as_str()) {
            out.root_port = no;
        }
        out.ports.push(PortState {
            name,
            id,
            no,
            cost: p.path_cost,
            state,
            designated_bridge: stp::parse_bridge_id(&p.designated_bridge)?,
            designated_port: parse_halb_port_id(&p.designated_port)?,
            halb_role: Some(role),
        });
    }
    out.ports.sort_by_key(|p| p.no);
    Ok(out)
}

/// Reads one bridge's STP state from sysfs inside its namespace (`ip netns exec` mounts the
/// namespace's own /sys).
fn read_sysfs(lab: &Lab, bridge: &topo::Bridge) -> Result<BridgeState> {
    let mut files: Vec<String> =
        BRIDGE_ATTRS.iter().map(|a| format!("/sys/class/net/{}/bridge/{a}", bridge.name)).collect();
    for (port, _) in topo::bridge_ports(bridge.name) {
        files.extend(
            PORT_ATTRS.iter().map(|a| format!("/sys/class/net/{}/brif/{port}/{a}", bridge.name)),
        );
    }
    let mut args: Vec<&str> = vec!["-H", "."];
    args.extend(files.iter().map(String::as_str));
    let out = sys::ns_exec(&lab.ns(bridge.node), "grep", &args).with_context(|| {
        format!("reading STP state of {} in {}", bridge.name, lab.ns(bridge.node))
    })?;
    parse_sysfs(bridge.name, &out)
}

pub fn read_stp(lab: &Lab) -> Result<Vec<BridgeState>> {
    topo::stp_bridges().map(|b| read_bridge(lab, b)).collect()
}

/// Builds the predictor's input from the kernel's ids and costs, keeping only `active`
/// ports, and links them along the cable table.
#[must_use]
pub fn net_from(states: &[BridgeState], inactive: &BTreeSet<(String, String)>) -> Net {
    let active = |b: &str, p: &str| !inactive.contains(&(b.to_string(), p.to_string()));
    let bridges = states
        .iter()
        .map(|b| BridgeSpec {
            name: b.name.clone(),
            id: b.id,
            ports: b
                .ports
                .iter()
                .filter(|p| active(&b.name, &p.name))
                .map(|p| PortSpec { name: p.name.clone(), id: p.id, cost: p.cost })
                .collect(),
        })
        .collect();
    let segments = topo::CABLES
        .iter()
        .filter(|c| topo::is_inter_switch(c))
        .filter_map(|c| {
            let a = (c.a.bridge?.to_string(), c.a.ifname.to_string());
            let b = (c.b.bridge?.to_string(), c.b.ifname.to_string());
            (active(&a.0, &a.1) && active(&b.0, &b.1)).then_some((a, b))
        })
        .collect();
    Net { bridges, segments }
}

/// Differences between the kernel and the predicted tree; empty when they agree and every
/// port has settled (no listening/learning).
#[must_use]
pub fn compare(
    states: &[BridgeState],
    tree: &Tree,
    inactive: &BTreeSet<(String, String)>,
) -> Vec<String> {
    let mut diffs = Vec::new();
    for b in states {
        if let Some((root, _)) = tree.bridges.get(&b.name) {
            if let Some(rs) = states.iter().find(|s| &s.name == root) {
                if b.root_id != rs.id {
                    diffs.push(format!(
                        "{} sees root {} (expected {root})",
                        b.name,
                        stp::format_bridge_id(b.root_id)
                    ));
                }
            }
        }
        for p in &b.ports {
            let key = (b.name.clone(), p.name.clone());
            if inactive.contains(&key) {
                if p.state != PortStateKind::Disabled {
                    diffs.push(format!(
                        "{}:{} is {} (expected disabled)",
                        b.name,
                        p.name,
                        p.state.name()
                    ));
                }
                continue;
            }
            let want = match tree.roles.get(&key) {
                Some(Role::Blocked) => PortStateKind::Blocking,
                Some(_) => PortStateKind::Forwarding,
                None => continue,
            };
            if p.state != want {
                diffs.push(format!(
                    "{}:{} is {} (expected {})",
                    b.name,
                    p.name,
                    p.state.name(),
                    want.name()
                ));
            }
        }
    }
    diffs
}

/// Which balancers hold the VIP on `ext`.
#[must_use]
pub fn vip_holders(lab: &Lab) -> Vec<&'static str> {
    topo::BALANCERS
        .iter()
        .filter(|b| {
            sys::ip_ns(&lab.ns(b.name), &["-4", "-o", "addr", "show", "dev", "ext"])
                .is_ok_and(|out| out.contains(&format!("{}/", topo::VIP)))
        })
        .map(|b| b.name)
        .collect()
}

/// haproxy's server states (`UP`, `DOWN`, `UP 1/2`, ...) from its stats socket.
pub fn haproxy_servers(lab: &Lab, bal: &str) -> Result<BTreeMap<String, String>> {
    let path = super::configs::classic::haproxy_socket(lab, bal);
    let mut s = UnixStream::connect(&path)
        .with_context(|| format!("haproxy stats socket {}", path.display()))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(b"show stat\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text).context("reading haproxy stats")?;
    parse_haproxy_stat(&text)
}

pub fn parse_haproxy_stat(text: &str) -> Result<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header =
        lines.next().and_then(|h| h.strip_prefix("# ")).context("haproxy stats without header")?;
    let cols: Vec<&str> = header.split(',').collect();
    let col = |name: &str| {
        cols.iter().position(|c| *c == name).with_context(|| format!("no {name} column"))
    };
    let (px, sv, st) = (col("pxname")?, col("svname")?, col("status")?);
    let mut out = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() > st && f[px] == super::configs::PROXY.backend && f[sv] != "BACKEND" {
            out.insert(f[sv].to_string(), f[st].to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_halb_stp_show() {
        use halb::control::stp::StpPortReport;
        let port =
            |name: &str, id: &str, role: &str, state: &str, bridge: &str, designated: &str| {
                StpPortReport {
                    name: name.into(),
                    port_id: id.into(),
                    role: role.into(),
                    state: state.into(),
                    path_cost: 100,
                    designated_bridge: bridge.into(),
                    designated_port: designated.into(),
                    ..StpPortReport::default()
                }
            };
        let json = [StpReport {
            bridge: "swout1".into(),
            state: "running".into(),
            protocol: "stp".into(),
            bridge_id: "8000.024c41000001".into(),
            root_id: "1000.024c41000002".into(),
            root_port: Some("swout2".into()),
            root_path_cost: 100,
            ports: vec![
                port("host1", "8.002", "Alternate", "blocking", "8000.024c41000003", "8.001"),
                port("swout2", "8.001", "Root", "forwarding", "1000.024c41000002", "8.001"),
                port("user", "8.004", "Disabled", "disabled", "8000.024c41000001", "8.004"),
                port("host2", "8.003", "Designated", "listening", "8000.024c41000001", "8.003"),
            ],
            ..StpReport::default()
        }];
        let b = parse_halb("swout1", &json).unwrap();
        assert_eq!(b.by, "halb stp");
        assert_eq!(b.root_port, 1);
        let names: Vec<&str> = b.ports.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["swout2", "host1", "host2", "user"]);
        assert_eq!((b.ports[0].id, b.role(&b.ports[0])), (0x8001, "root"));
        assert_eq!((b.ports[1].state, b.role(&b.ports[1])), (PortStateKind::Blocking, "alternate"));
        assert_eq!(b.ports[2].state, PortStateKind::Listening);
        assert_eq!(b.ports[3].state, PortStateKind::Disabled);
        assert_eq!(b.ports[1].designated_port, 0x8001);
        assert!(parse_halb("swout2", &json).is_err());
    }

    const SYSFS: &str = "/sys/class/net/swout1/bridge/bridge_id:8000.024c41000001
/sys/class/net/swout1/bridge/root_id:1000.024c41000002
/sys/class/net/swout1/bridge/root_port:1
/sys/class/net/swout1/bridge/root_path_cost:100
/sys/class/net/swout1/brif/swout2/port_id:0x8001
/sys/class/net/swout1/brif/swout2/port_no:0x1
/sys/class/net/swout1/brif/swout2/path_cost:100
/sys/class/net/swout1/brif/swout2/state:3
/sys/class/net/swout1/brif/swout2/designated_bridge:1000.024c41000002
/sys/class/net/swout1/brif/swout2/designated_port:32769
/sys/class/net/swout1/brif/host1/port_id:0x8002
/sys/class/net/swout1/brif/host1/port_no:0x2
/sys/class/net/swout1/brif/host1/path_cost:100
/sys/class/net/swout1/brif/host1/state:4
/sys/class/net/swout1/brif/host1/designated_bridge:8000.024c41000003
/sys/class/net/swout1/brif/host1/designated_port:32769
";

    #[test]
    fn parses_sysfs_and_derives_roles() {
        let b = parse_sysfs("swout1", SYSFS).unwrap();
        assert_eq!(b.root_port, 1);
        assert_eq!(b.ports.len(), 2);
        assert_eq!(b.ports[0].name, "swout2");
        assert_eq!(b.ports[0].id, 0x8001);
        assert_eq!(b.role(&b.ports[0]), "root");
        assert_eq!(b.ports[1].state, PortStateKind::Blocking);
        assert_eq!(b.role(&b.ports[1]), "alternate");
        assert!(parse_sysfs("swout1", "/sys/class/net/swout1/bridge/bridge_id:8000.0\n").is_err());
    }

    #[test]
    fn compare_flags_wrong_and_unsettled_ports() {
        let b = parse_sysfs("swout1", SYSFS).unwrap();
        let tree = Tree {
            bridges: [("swout1".to_string(), ("swout1".to_string(), 0))].into_iter().collect(),
            roles: [
                (("swout1".to_string(), "swout2".to_string()), Role::Designated),
                (("swout1".to_string(), "host1".to_string()), Role::Designated),
            ]
            .into_iter()
            .collect(),
        };
        let diffs = compare(std::slice::from_ref(&b), &tree, &BTreeSet::new());
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert!(diffs[0].contains("sees root 1000.024c41000002"));
        assert!(diffs[1].contains("swout1:host1 is blocking (expected forwarding)"));
        let inactive: BTreeSet<_> =
            [("swout1".to_string(), "swout2".to_string())].into_iter().collect();
        let diffs = compare(std::slice::from_ref(&b), &tree, &inactive);
        assert!(diffs
            .iter()
            .any(|d| d.contains("swout1:swout2 is forwarding (expected disabled)")));
    }

    #[test]
    fn parses_haproxy_stats() {
        let text = "# pxname,svname,qcur,status,weight\nmiservidor,FRONTEND,,OPEN,\nmisServidores,serv1,0,UP,1\nmisServidores,serv2,0,DOWN,1\nmisServidores,BACKEND,0,UP,2\n";
        let m = parse_haproxy_stat(text).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m["serv2"], "DOWN");
        assert!(parse_haproxy_stat("nothing").is_err());
    }
}
