//! A small, pure 802.1D spanning tree computation: what the converged tree must look like.
//!
//! Input: bridges (bridge id = priority << 48 | MAC), their ports (port id = priority << 8 |
//! port number, path cost) and the point-to-point segments between ports. Ports on no
//! segment lead to end stations (they are designated). Output: per bridge its root and root
//! path cost, per port its role. Per connected component: root = lowest bridge id; root
//! path cost = cheapest sum of receiving-port costs; root port = lowest (root path cost via
//! the port, designated bridge id, designated port id, own port id); on each segment the
//! end with the lower (root path cost, bridge id, port id) is designated; the rest block.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Context, Result};

pub type BridgeId = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub name: String,
    pub id: u16,
    pub cost: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSpec {
    pub name: String,
    pub id: BridgeId,
    pub ports: Vec<PortSpec>,
}

/// (bridge name, port name)
pub type PortRef = (String, String);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Net {
    pub bridges: Vec<BridgeSpec>,
    pub segments: Vec<(PortRef, PortRef)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Root,
    Designated,
    /// Alternate or backup: blocking.
    Blocked,
}

impl Role {
    #[must_use]
    pub fn forwards(self) -> bool {
        self != Role::Blocked
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Root => "root",
            Role::Designated => "designated",
            Role::Blocked => "blocked",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// bridge -> (root bridge name, root path cost)
    pub bridges: BTreeMap<String, (String, u32)>,
    pub roles: BTreeMap<PortRef, Role>,
}

impl Tree {
    #[must_use]
    pub fn blocked(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter(|(_, r)| **r == Role::Blocked)
            .map(|((b, p), _)| format!("{b}:{p}"))
            .collect()
    }

    #[must_use]
    pub fn root_of(&self, bridge: &str) -> Option<&str> {
        self.bridges.get(bridge).map(|(r, _)| r.as_str())
    }
}

/// Parses a kernel bridge id (`8000.024c41000001`).
pub fn parse_bridge_id(s: &str) -> Result<BridgeId> {
    let (prio, mac) = s.trim().split_once('.').with_context(|| format!("bad bridge id {s:?}"))?;
    let prio =
        u64::from_str_radix(prio, 16).with_context(|| format!("bad bridge priority in {s:?}"))?;
    let mac = u64::from_str_radix(mac, 16).with_context(|| format!("bad bridge MAC in {s:?}"))?;
    if prio > 0xffff || mac > 0xffff_ffff_ffff {
        bail!("bridge id {s:?} out of range");
    }
    Ok(prio << 48 | mac)
}

#[must_use]
pub fn format_bridge_id(id: BridgeId) -> String {
    format!("{:04x}.{:012x}", id >> 48, id & 0xffff_ffff_ffff)
}

struct Idx {
    bridge: usize,
    port: usize,
}

/// `peer[bridge][port]` = the (bridge, port) at the other end of the port's segment.
type Peers = Vec<Vec<Option<(usize, usize)>>>;

fn peers(net: &Net) -> Result<Peers> {
    let find = |(b, p): &PortRef| -> Result<Idx> {
        let bi = net
            .bridges
            .iter()
            .position(|x| &x.name == b)
            .with_context(|| format!("unknown bridge {b}"))?;
        let pi = net.bridges[bi]
            .ports
            .iter()
            .position(|x| &x.name == p)
            .with_context(|| format!("unknown port {b}:{p}"))?;
        Ok(Idx { bridge: bi, port: pi })
    };
    let mut peer: Peers = net.bridges.iter().map(|b| vec![None; b.ports.len()]).collect();
    for (x, y) in &net.segments {
        let (x, y) = (find(x)?, find(y)?);
        for (s, o) in [(&x, &y), (&y, &x)] {
            if peer[s.bridge][s.port].is_some() {
                bail!(
                    "port {}:{} is on two segments",
                    net.bridges[s.bridge].name,
                    net.bridges[s.bridge].ports[s.port].name
                );
            }
            peer[s.bridge][s.port] = Some((o.bridge, o.port));
        }
    }
    Ok(peer)
}

/// Per bridge, the root of its connected component: the lowest bridge id in it.
fn roots(net: &Net, peer: &Peers) -> Vec<usize> {
    let n = net.bridges.len();
    let mut root = vec![usize::MAX; n];
    for start in 0..n {
        if root[start] != usize::MAX {
            continue;
        }
        let mut members = vec![start];
        let mut stack = vec![start];
        root[start] = start;
        while let Some(b) = stack.pop() {
            for &(nb, _) in peer[b].iter().flatten() {
                if root[nb] == usize::MAX {
                    root[nb] = start;
                    members.push(nb);
                    stack.push(nb);
                }
            }
        }
        let best = *members.iter().min_by_key(|&&m| net.bridges[m].id).unwrap_or(&start);
        for m in members {
            root[m] = best;
        }
    }
    root
}

pub fn predict(net: &Net) -> Result<Tree> {
    let peer = peers(net)?;
    let root = roots(net, &peer);
    let n = net.bridges.len();
    // Root path costs (Bellman-Ford; costs are positive and the graph is small).
    let mut cost: Vec<Option<u32>> = (0..n).map(|b| (root[b] == b).then_some(0)).collect();
    for _ in 0..n {
        let mut changed = false;
        for b in 0..n {
            for (p, pr) in peer[b].iter().enumerate() {
                if let Some((nb, _)) = *pr {
                    if let Some(c) = cost[nb] {
                        let via = c.saturating_add(net.bridges[b].ports[p].cost);
                        if cost[b].is_none_or(|cur| via < cur) {
                            cost[b] = Some(via);
                            changed = true;
                        }
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    let cost: Vec<u32> = cost.into_iter().map(|c| c.unwrap_or(u32::MAX)).collect();
    // Root ports.
    let mut root_port = vec![None; n];
    for b in 0..n {
        if root[b] == b {
            continue;
        }
        root_port[b] = peer[b]
            .iter()
            .enumerate()
            .filter_map(|(p, pr)| {
                pr.map(|(nb, np)| {
                    let key = (
                        cost[nb].saturating_add(net.bridges[b].ports[p].cost),
                        net.bridges[nb].id,
                        net.bridges[nb].ports[np].id,
                        net.bridges[b].ports[p].id,
                    );
                    (key, p)
                })
            })
            .min()
            .map(|(_, p)| p);
    }
    let mut tree = Tree { bridges: BTreeMap::new(), roles: BTreeMap::new() };
    for b in 0..n {
        let br = &net.bridges[b];
        tree.bridges.insert(br.name.clone(), (net.bridges[root[b]].name.clone(), cost[b]));
        for (p, port) in br.ports.iter().enumerate() {
            let role = if root_port[b] == Some(p) {
                Role::Root
            } else if let Some((nb, np)) = peer[b][p] {
                let mine = (cost[b], br.id, port.id);
                let theirs = (cost[nb], net.bridges[nb].id, net.bridges[nb].ports[np].id);
                if mine < theirs {
                    Role::Designated
                } else {
                    Role::Blocked
                }
            } else {
                Role::Designated
            };
            tree.roles.insert((br.name.clone(), port.name.clone()), role);
        }
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge(name: &str, id: BridgeId, ports: &[(&str, u16, u32)]) -> BridgeSpec {
        BridgeSpec {
            name: name.into(),
            id,
            ports: ports
                .iter()
                .map(|&(n, i, c)| PortSpec { name: n.into(), id: i, cost: c })
                .collect(),
        }
    }

    fn seg(a: &str, ap: &str, b: &str, bp: &str) -> (PortRef, PortRef) {
        ((a.into(), ap.into()), (b.into(), bp.into()))
    }

    fn role(t: &Tree, b: &str, p: &str) -> Role {
        t.roles[&(b.to_string(), p.to_string())]
    }

    /// The lab: swout2 root (priority 4096), cost 100 everywhere, ports numbered in the
    /// order `lab up` enslaves them.
    pub(crate) fn lab_net() -> Net {
        let id = |prio: u64, last: u64| prio << 48 | 0x024c_4100_0000 | last;
        Net {
            bridges: vec![
                bridge(
                    "swout1",
                    id(0x8000, 1),
                    &[
                        ("swout2", 0x8001, 100),
                        ("host1", 0x8002, 100),
                        ("host2", 0x8003, 100),
                        ("user", 0x8004, 100),
                    ],
                ),
                bridge(
                    "swout2",
                    id(0x1000, 2),
                    &[
                        ("swout1", 0x8001, 100),
                        ("host1", 0x8002, 100),
                        ("host2", 0x8003, 100),
                        ("user2", 0x8004, 100),
                    ],
                ),
                bridge(
                    "vswout1",
                    id(0x8000, 3),
                    &[("swout1", 0x8001, 100), ("swout2", 0x8002, 100), ("bal1-ext", 0x8003, 100)],
                ),
                bridge(
                    "vswout2",
                    id(0x8000, 4),
                    &[("swout1", 0x8001, 100), ("swout2", 0x8002, 100), ("bal2-ext", 0x8003, 100)],
                ),
            ],
            segments: vec![
                seg("swout1", "swout2", "swout2", "swout1"),
                seg("swout1", "host1", "vswout1", "swout1"),
                seg("swout1", "host2", "vswout2", "swout1"),
                seg("swout2", "host1", "vswout1", "swout2"),
                seg("swout2", "host2", "vswout2", "swout2"),
            ],
        }
    }

    #[test]
    fn lab_tree() {
        let t = predict(&lab_net()).unwrap();
        for b in ["swout1", "swout2", "vswout1", "vswout2"] {
            assert_eq!(t.root_of(b), Some("swout2"));
        }
        assert_eq!(t.bridges["swout1"].1, 100);
        assert_eq!(t.blocked(), ["vswout1:swout1", "vswout2:swout1"]);
        assert_eq!(role(&t, "swout1", "swout2"), Role::Root);
        assert_eq!(role(&t, "swout1", "host1"), Role::Designated);
        assert_eq!(role(&t, "vswout1", "swout2"), Role::Root);
        assert_eq!(role(&t, "vswout1", "bal1-ext"), Role::Designated);
        assert_eq!(role(&t, "swout2", "user2"), Role::Designated);
    }

    #[test]
    fn lab_tree_without_swout1_swout2() {
        let mut net = lab_net();
        net.segments.remove(0);
        let t = predict(&net).unwrap();
        assert_eq!(t.bridges["swout1"], ("swout2".to_string(), 200));
        // swout1 reaches the root through vswout1 (lower bridge id than vswout2).
        assert_eq!(role(&t, "swout1", "host1"), Role::Root);
        assert_eq!(role(&t, "vswout1", "swout1"), Role::Designated);
        assert_eq!(t.blocked(), ["swout1:host2"]);
    }

    #[test]
    fn partitioned_network_has_two_roots() {
        let mut net = lab_net();
        // Cut everything to swout1.
        net.segments.retain(|(a, b)| a.0 != "swout1" && b.0 != "swout1");
        let t = predict(&net).unwrap();
        assert_eq!(t.root_of("swout1"), Some("swout1"));
        assert_eq!(t.root_of("vswout1"), Some("swout2"));
        assert!(t.blocked().is_empty());
    }

    /// Textbook triangle: B1 root; B2 and B3 both one hop away; on the B2-B3 segment the
    /// lower bridge id (B2) is designated, B3's port blocks.
    #[test]
    fn textbook_triangle() {
        let net = Net {
            bridges: vec![
                bridge("B3", 3, &[("a", 0x8001, 19), ("b", 0x8002, 19)]),
                bridge("B1", 1, &[("a", 0x8001, 19), ("b", 0x8002, 19)]),
                bridge("B2", 2, &[("a", 0x8001, 19), ("b", 0x8002, 19)]),
            ],
            segments: vec![
                seg("B1", "a", "B2", "a"),
                seg("B1", "b", "B3", "a"),
                seg("B2", "b", "B3", "b"),
            ],
        };
        let t = predict(&net).unwrap();
        assert_eq!(t.root_of("B3"), Some("B1"));
        assert_eq!(t.blocked(), ["B3:b"]);
        assert_eq!(role(&t, "B2", "b"), Role::Designated);
        assert_eq!(role(&t, "B3", "a"), Role::Root);
    }

    /// Cheaper two-hop path beats an expensive direct link; parallel links are broken by
    /// the designated (sender's) port id, not the receiver's own port id.
    #[test]
    fn textbook_costs_and_parallel_links() {
        let net = Net {
            bridges: vec![
                bridge(
                    "R",
                    0x1000 << 48,
                    &[("p1", 0x8001, 4), ("p2", 0x8002, 4), ("p3", 0x8003, 4)],
                ),
                bridge(
                    "X",
                    0x8000 << 48 | 5,
                    &[("q1", 0x8001, 4), ("q2", 0x8002, 4), ("q3", 0x8003, 4)],
                ),
                bridge("Y", 0x8000 << 48 | 9, &[("slow", 0x8001, 100), ("fast", 0x8002, 4)]),
            ],
            segments: vec![
                // X has two links to R: q1 to R:p2, q2 to R:p1. Root port must be q2 (R:p1 < R:p2).
                seg("X", "q1", "R", "p2"),
                seg("X", "q2", "R", "p1"),
                seg("Y", "slow", "R", "p3"),
                seg("Y", "fast", "X", "q3"),
            ],
        };
        let t = predict(&net).unwrap();
        assert_eq!(role(&t, "X", "q2"), Role::Root);
        assert_eq!(role(&t, "X", "q1"), Role::Blocked);
        assert_eq!(t.bridges["Y"].1, 8);
        assert_eq!(role(&t, "Y", "fast"), Role::Root);
        assert_eq!(role(&t, "Y", "slow"), Role::Blocked);
        assert_eq!(role(&t, "R", "p3"), Role::Designated);
        assert_eq!(t.blocked(), ["X:q1", "Y:slow"]);
    }

    #[test]
    fn bridge_ids() {
        let id = parse_bridge_id("8000.024c41000001").unwrap();
        assert_eq!(id, 0x8000 << 48 | 0x024c_4100_0001);
        assert_eq!(format_bridge_id(id), "8000.024c41000001");
        assert!(parse_bridge_id("8000024c41000001").is_err());
        assert!(parse_bridge_id("10000.024c41000001").is_err());
        assert!(parse_bridge_id("8000.zz").is_err());
    }

    #[test]
    fn unknown_ports_are_errors() {
        let mut net = lab_net();
        net.segments.push(seg("swout1", "nope", "swout2", "user2"));
        assert!(predict(&net).is_err());
        let mut net = lab_net();
        net.segments.push(seg("swout1", "user", "swout2", "swout1"));
        assert!(predict(&net).unwrap_err().to_string().contains("two segments"));
    }
}
