//! The steering plan of one balancer, a pure function of its config.
//!
//! Each IPv4 frontend gets a slot (its position among the frontends) and
//! keys: its own bind address and port, and for a `*:PORT` frontend the
//! wildcard 0.0.0.0 (any local address) plus every VRRP virtual address on
//! that port that no frontend binds explicitly, so the table says in
//! `bpftool map dump` what each VIP goes to.
//!
//! Listener address: a frontend bound to one of the balancer's VIPs listens
//! on 127.0.0.1 with a port the kernel picks. That socket exists whether or
//! not the VIP is on the interface, so the proxy never rebinds when the VIP
//! arrives or leaves and needs no `ip_nonlocal_bind`; VIP connections reach
//! it only through steering. Every other frontend (wildcard, the balancer's
//! own address, loopback, IPv6) binds what the config says.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use crate::proxy::FrontendConfig;

/// Where a frontend bound to a VIP listens: loopback, kernel-chosen port.
pub const VIP_LISTENER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));

/// One frontend as steering sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SteeredFrontend {
    pub name: String,
    /// Slot in the socket and counter maps.
    pub slot: u32,
    /// Where its listener binds.
    pub listen: SocketAddr,
    /// Destinations steered to it (0.0.0.0: any local address).
    pub keys: Vec<SocketAddrV4>,
}

/// Every steered frontend of a balancer and its virtual addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SteeringPlan {
    pub frontends: Vec<SteeredFrontend>,
    /// The balancer's VRRP virtual addresses: entries of the ownership map.
    pub vips: Vec<Ipv4Addr>,
}

impl SteeringPlan {
    /// Where frontend `name` listens: the plan's address if it is steered.
    #[must_use]
    pub fn listen_address(&self, name: &str, configured: SocketAddr) -> SocketAddr {
        self.frontends.iter().find(|f| f.name == name).map_or(configured, |f| f.listen)
    }
}

/// The plan for `frontends` on a balancer whose VRRP instances hold `vips`.
/// Frontends past `max_frontends` (the map's size) are not steered.
#[must_use]
pub fn plan(frontends: &[FrontendConfig], vips: &[Ipv4Addr], max_frontends: u32) -> SteeringPlan {
    let vips: Vec<Ipv4Addr> = vips.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    let explicit: BTreeSet<SocketAddrV4> = frontends
        .iter()
        .filter_map(|f| match f.bind {
            SocketAddr::V4(bind) if !bind.ip().is_unspecified() => Some(bind),
            _ => None,
        })
        .collect();
    let mut steered = Vec::new();
    for (slot, frontend) in (0..max_frontends).zip(frontends) {
        let SocketAddr::V4(bind) = frontend.bind else { continue };
        let (listen, keys) = if bind.ip().is_unspecified() {
            let mut keys = vec![bind];
            keys.extend(
                vips.iter()
                    .map(|vip| SocketAddrV4::new(*vip, bind.port()))
                    .filter(|key| !explicit.contains(key)),
            );
            (frontend.bind, keys)
        } else if vips.contains(bind.ip()) {
            (VIP_LISTENER, vec![bind])
        } else {
            (frontend.bind, vec![bind])
        };
        steered.push(SteeredFrontend { name: frontend.name.clone(), slot, listen, keys });
    }
    SteeringPlan { frontends: steered, vips }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frontend(name: &str, bind: &str) -> FrontendConfig {
        FrontendConfig {
            name: name.to_owned(),
            bind: bind.parse().unwrap(),
            backend: "web".to_owned(),
            maxconn: 10,
        }
    }

    const VIP: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 254);

    #[test]
    fn wildcard_frontend_keeps_its_bind_and_lists_the_vips() {
        let plan = plan(&[frontend("www", "0.0.0.0:8000")], &[VIP, VIP], 64);
        assert_eq!(plan.vips, vec![VIP]);
        let www = &plan.frontends[0];
        assert_eq!(www.listen, "0.0.0.0:8000".parse().unwrap());
        assert_eq!(
            www.keys,
            vec!["0.0.0.0:8000".parse().unwrap(), "172.16.1.254:8000".parse().unwrap()]
        );
    }

    #[test]
    fn vip_frontend_listens_on_loopback_and_wins_its_key() {
        let plan =
            plan(&[frontend("any", "0.0.0.0:80"), frontend("vip", "172.16.1.254:80")], &[VIP], 64);
        assert_eq!(plan.frontends[0].keys, vec!["0.0.0.0:80".parse().unwrap()]);
        let vip = &plan.frontends[1];
        assert_eq!((vip.slot, vip.listen), (1, VIP_LISTENER));
        assert_eq!(vip.keys, vec!["172.16.1.254:80".parse().unwrap()]);
        assert_eq!(plan.listen_address("vip", "172.16.1.254:80".parse().unwrap()), VIP_LISTENER);
        assert_eq!(plan.listen_address("gone", VIP_LISTENER), VIP_LISTENER);
    }

    #[test]
    fn own_address_and_ipv6_frontends() {
        let plan =
            plan(&[frontend("own", "172.16.1.250:80"), frontend("v6", "[::]:80")], &[VIP], 64);
        assert_eq!(plan.frontends.len(), 1, "IPv6 is not steered");
        assert_eq!(plan.frontends[0].listen, "172.16.1.250:80".parse().unwrap());
    }

    #[test]
    fn frontends_past_the_map_size_are_not_steered() {
        let many: Vec<_> = (0..3).map(|i| frontend(&format!("f{i}"), "0.0.0.0:80")).collect();
        assert_eq!(plan(&many, &[], 2).frontends.len(), 2);
    }
}
