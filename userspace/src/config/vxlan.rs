//! `[host.vxlan]`: the VXLAN tunnel of the host role, as written
//! ([`VxlanSection`]) and validated ([`Vxlan`]). Every error names its key,
//! e.g. `host.vxlan.remotes[1]`.

use std::{net::Ipv4Addr, time::Duration};

use serde::{Deserialize, Serialize};

use super::{ConfigError, MAX_INTERFACE_NAME};
use crate::vxlan::fdb::Mac;

/// Default inner MTU: a Linux vxlan device's default on a 1500-byte
/// underlay (1500 - 50 bytes of outer headers).
pub const DEFAULT_VXLAN_MTU: u16 = 1450;
/// Smallest inner MTU (IPv4's minimum) and the largest (a 9000-byte jumbo
/// underlay).
pub const VXLAN_MTU_RANGE: std::ops::RangeInclusive<i64> = 68..=8950;
pub const DEFAULT_VXLAN_TTL: u8 = 64;
pub const DEFAULT_VXLAN_AGEING: Duration = Duration::from_mins(5);
/// Longest ageing time accepted (one day).
pub const MAX_VXLAN_AGEING_SECS: i64 = 86_400;
pub const DEFAULT_TUNNEL_PORT: &str = "vxl0";
/// The tunnel port's veth peer is named `<tunnel_port><suffix>`.
pub const TUNNEL_PEER_SUFFIX: &str = "-dp";

/// `[host.vxlan]` as written.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VxlanSection {
    /// VXLAN network identifier, 0-16777215.
    pub vni: i64,
    /// Local VTEP address (held by the underlay device).
    pub local: String,
    /// Underlay device: the external bridge that holds `local`.
    pub underlay: String,
    /// Internal bridge the tunnel port joins.
    pub bridge: String,
    /// Name of the tunnel port (a veth end in `bridge`; default `vxl0`).
    pub tunnel_port: Option<String>,
    /// Remote VTEP addresses (head-end replication list).
    #[serde(default)]
    pub remotes: Vec<String>,
    /// Static forwarding entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fdb: Vec<StaticFdbSection>,
    /// Outer TTL (default 64).
    pub ttl: Option<i64>,
    /// Inner MTU (default 1450).
    pub mtu: Option<i64>,
    /// Seconds a learned entry lives without traffic (default 300).
    pub ageing: Option<i64>,
}

/// `[[host.vxlan.fdb]]`: one static forwarding entry.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaticFdbSection {
    pub mac: String,
    pub vtep: String,
}

/// A validated VXLAN tunnel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vxlan {
    pub vni: u32,
    pub local: Ipv4Addr,
    pub underlay: String,
    pub bridge: String,
    pub tunnel_port: String,
    /// The veth end the programs run on: `<tunnel_port>-dp`.
    pub tunnel_peer: String,
    pub remotes: Vec<Ipv4Addr>,
    pub static_fdb: Vec<(Mac, Ipv4Addr)>,
    pub ttl: u8,
    pub mtu: u16,
    pub ageing: Duration,
}

impl Vxlan {
    /// True when `other` differs only in what the maps carry (VNI, local
    /// address, remotes, FDB, TTL, MTU, ageing), so a reload rewrites maps
    /// instead of rebuilding the tunnel port.
    #[must_use]
    pub fn same_plumbing(&self, other: &Vxlan) -> bool {
        self.underlay == other.underlay
            && self.bridge == other.bridge
            && self.tunnel_port == other.tunnel_port
    }
}

pub(super) fn vxlan(section: VxlanSection) -> Result<Vxlan, ConfigError> {
    let key = |name: &str| format!("host.vxlan.{name}");
    let vni = u32::try_from(section.vni)
        .ok()
        .filter(|vni| *vni <= halb_common::vxlan::VXLAN_MAX_VNI)
        .ok_or_else(|| {
            ConfigError::invalid(key("vni"), format!("{} is outside 0-16777215", section.vni))
        })?;
    let local = unicast_address(&key("local"), &section.local)?;
    for (name, value) in [("underlay", &section.underlay), ("bridge", &section.bridge)] {
        interface_name(&key(name), value, MAX_INTERFACE_NAME)?;
    }
    if section.underlay == section.bridge {
        return Err(ConfigError::invalid(key("bridge"), "must not be the underlay device"));
    }
    let tunnel_port = section.tunnel_port.unwrap_or_else(|| DEFAULT_TUNNEL_PORT.to_owned());
    interface_name(
        &key("tunnel_port"),
        &tunnel_port,
        MAX_INTERFACE_NAME - TUNNEL_PEER_SUFFIX.len(),
    )?;
    if tunnel_port == section.underlay || tunnel_port == section.bridge {
        return Err(ConfigError::invalid(
            key("tunnel_port"),
            "must be a name of its own (halb creates it)",
        ));
    }
    let remotes = remotes(&section.remotes, local)?;
    let static_fdb = static_fdb(&section.fdb, &remotes)?;
    let ttl = match section.ttl {
        None => DEFAULT_VXLAN_TTL,
        Some(ttl) => u8::try_from(ttl)
            .ok()
            .filter(|ttl| *ttl > 0)
            .ok_or_else(|| ConfigError::invalid(key("ttl"), format!("{ttl} is outside 1-255")))?,
    };
    let mtu = match section.mtu {
        None => DEFAULT_VXLAN_MTU,
        Some(mtu) if VXLAN_MTU_RANGE.contains(&mtu) => {
            u16::try_from(mtu).unwrap_or(DEFAULT_VXLAN_MTU)
        }
        Some(mtu) => {
            return Err(ConfigError::invalid(
                key("mtu"),
                format!("{mtu} is outside {}-{}", VXLAN_MTU_RANGE.start(), VXLAN_MTU_RANGE.end()),
            ))
        }
    };
    let ageing = match section.ageing {
        None => DEFAULT_VXLAN_AGEING,
        Some(secs) if (1..=MAX_VXLAN_AGEING_SECS).contains(&secs) => {
            Duration::from_secs(secs.unsigned_abs())
        }
        Some(secs) => {
            return Err(ConfigError::invalid(
                key("ageing"),
                format!("{secs} s is outside 1-{MAX_VXLAN_AGEING_SECS}"),
            ))
        }
    };
    let tunnel_peer = format!("{tunnel_port}{TUNNEL_PEER_SUFFIX}");
    Ok(Vxlan {
        vni,
        local,
        underlay: section.underlay,
        bridge: section.bridge,
        tunnel_port,
        tunnel_peer,
        remotes,
        static_fdb,
        ttl,
        mtu,
        ageing,
    })
}

fn unicast_address(key: &str, text: &str) -> Result<Ipv4Addr, ConfigError> {
    let address: Ipv4Addr = text
        .parse()
        .map_err(|_| ConfigError::invalid(key, format!("{text:?} is not an IPv4 address")))?;
    if address.is_unspecified() || address.is_multicast() || address.is_broadcast() {
        return Err(ConfigError::invalid(key, format!("{address} is not a unicast address")));
    }
    Ok(address)
}

fn interface_name(key: &str, name: &str, max: usize) -> Result<(), ConfigError> {
    if name.is_empty() || name.len() > max {
        return Err(ConfigError::invalid(
            key,
            format!("interface name {name:?} must be 1-{max} bytes"),
        ));
    }
    if name == "."
        || name == ".."
        || name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        return Err(ConfigError::invalid(key, format!("{name:?} is not a valid interface name")));
    }
    Ok(())
}

fn remotes(texts: &[String], local: Ipv4Addr) -> Result<Vec<Ipv4Addr>, ConfigError> {
    let mut remotes = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        let remote_key = vxlan_key(&format!("remotes[{index}]"));
        let remote = unicast_address(&remote_key, text)?;
        if remote == local {
            return Err(ConfigError::invalid(remote_key, "is the local VTEP address"));
        }
        if remotes.contains(&remote) {
            return Err(ConfigError::invalid(remote_key, format!("{remote} is listed twice")));
        }
        remotes.push(remote);
    }
    if remotes.len() > halb_common::vxlan::VXLAN_MAX_REMOTES as usize {
        return Err(ConfigError::invalid(
            vxlan_key("remotes"),
            format!(
                "{} remotes; at most {} are supported",
                remotes.len(),
                halb_common::vxlan::VXLAN_MAX_REMOTES
            ),
        ));
    }
    Ok(remotes)
}

fn static_fdb(
    entries: &[StaticFdbSection],
    remotes: &[Ipv4Addr],
) -> Result<Vec<(Mac, Ipv4Addr)>, ConfigError> {
    let mut static_fdb: Vec<(Mac, Ipv4Addr)> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let mac_key = vxlan_key(&format!("fdb[{index}].mac"));
        let mac: Mac =
            entry.mac.parse().map_err(|reason| ConfigError::invalid(&mac_key, reason))?;
        if !mac.is_unicast() {
            return Err(ConfigError::invalid(mac_key, format!("{mac} is not a unicast address")));
        }
        if static_fdb.iter().any(|(other, _)| *other == mac) {
            return Err(ConfigError::invalid(mac_key, format!("{mac} is listed twice")));
        }
        let vtep_key = vxlan_key(&format!("fdb[{index}].vtep"));
        let vtep = unicast_address(&vtep_key, &entry.vtep)?;
        if !remotes.contains(&vtep) {
            return Err(ConfigError::invalid(
                vtep_key,
                format!("{vtep} is not one of host.vxlan.remotes"),
            ));
        }
        static_fdb.push((mac, vtep));
    }
    Ok(static_fdb)
}

fn vxlan_key(name: &str) -> String {
    format!("host.vxlan.{name}")
}

#[cfg(test)]
mod tests {
    use crate::config::{parse, ConfigError};

    const BASE: &str = "[daemon]\nnode = \"h1\"\n\n[host]\n\n[host.vxlan]\nvni = 42\nlocal = \"172.16.1.150\"\nunderlay = \"vswout1\"\nbridge = \"vswin1\"\nremotes = [\"172.16.1.151\"]\n";

    fn error_key(extra: &str) -> String {
        match parse(&format!("{BASE}{extra}")) {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("expected an invalid key, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_documented_values() {
        let config = parse(BASE).unwrap();
        let vxlan = config.host.unwrap().vxlan.unwrap();
        assert_eq!((vxlan.vni, vxlan.mtu, vxlan.ttl), (42, 1450, 64));
        assert_eq!(vxlan.ageing.as_secs(), 300);
        assert_eq!((vxlan.tunnel_port.as_str(), vxlan.tunnel_peer.as_str()), ("vxl0", "vxl0-dp"));
        assert_eq!(vxlan.remotes, ["172.16.1.151".parse::<std::net::Ipv4Addr>().unwrap()]);
    }

    #[test]
    fn static_entries_parse() {
        let config = parse(&format!(
            "{BASE}\n[[host.vxlan.fdb]]\nmac = \"02:00:00:00:00:03\"\nvtep = \"172.16.1.151\"\n"
        ))
        .unwrap();
        let vxlan = config.host.unwrap().vxlan.unwrap();
        assert_eq!(vxlan.static_fdb.len(), 1);
        assert_eq!(vxlan.static_fdb[0].0.to_string(), "02:00:00:00:00:03");
    }

    #[test]
    fn errors_name_the_key() {
        let replace = |from: &str, to: &str| match parse(&BASE.replace(from, to)) {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("expected an invalid key, got {other:?}"),
        };
        assert_eq!(replace("vni = 42", "vni = 16777216"), "host.vxlan.vni");
        assert_eq!(
            replace("local = \"172.16.1.150\"", "local = \"224.0.0.1\""),
            "host.vxlan.local"
        );
        assert_eq!(
            replace("\"172.16.1.151\"]", "\"172.16.1.151\", \"172.16.1.151\"]"),
            "host.vxlan.remotes[1]"
        );
        assert_eq!(replace("\"172.16.1.151\"]", "\"172.16.1.150\"]"), "host.vxlan.remotes[0]");
        assert_eq!(replace("bridge = \"vswin1\"", "bridge = \"vswout1\""), "host.vxlan.bridge");
        assert_eq!(error_key("ttl = 0\n"), "host.vxlan.ttl");
        assert_eq!(error_key("mtu = 9000\n"), "host.vxlan.mtu");
        assert_eq!(error_key("ageing = 0\n"), "host.vxlan.ageing");
        assert_eq!(error_key("tunnel_port = \"a-very-long-nm\"\n"), "host.vxlan.tunnel_port");
        assert_eq!(
            error_key(
                "\n[[host.vxlan.fdb]]\nmac = \"ff:ff:ff:ff:ff:ff\"\nvtep = \"172.16.1.151\"\n"
            ),
            "host.vxlan.fdb[0].mac"
        );
        assert_eq!(
            error_key(
                "\n[[host.vxlan.fdb]]\nmac = \"02:00:00:00:00:01\"\nvtep = \"172.16.1.152\"\n"
            ),
            "host.vxlan.fdb[0].vtep"
        );
    }
}
