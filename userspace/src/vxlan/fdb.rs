//! Forwarding-table policy, without I/O: which entries the daemon writes
//! (static ones from the config) and removes (learned entries older than
//! the ageing time or pointing at a VTEP no longer configured, static
//! entries no longer configured). `now_ns` is `CLOCK_MONOTONIC`, the clock
//! of the programs' `bpf_ktime_get_ns`.

use std::{collections::BTreeMap, net::Ipv4Addr, time::Duration};

use halb_common::vxlan::{VxlanFdbEntry, VxlanMac, VXLAN_FDB_STATIC};

/// A MAC address as written in configs and output: `02:00:00:00:00:01`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    #[must_use]
    pub const fn key(self) -> VxlanMac {
        VxlanMac { addr: self.0, _pad: [0; 2] }
    }

    /// Unicast and not all zeros: usable as an FDB entry.
    #[must_use]
    pub fn is_unicast(self) -> bool {
        self.0[0] & 1 == 0 && self.0 != [0; 6]
    }
}

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, byte) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Mac {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(format!(
                "{text:?} is not a MAC address (six hex bytes, e.g. 02:00:00:00:00:01)"
            ));
        }
        let mut bytes = [0u8; 6];
        for (byte, part) in bytes.iter_mut().zip(&parts) {
            if part.len() != 2 {
                return Err(format!("{text:?} is not a MAC address (two hex digits per byte)"));
            }
            *byte = u8::from_str_radix(part, 16)
                .map_err(|_| format!("{text:?} is not a MAC address ({part:?} is not hex)"))?;
        }
        Ok(Mac(bytes))
    }
}

/// What to change in the forwarding table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FdbPlan {
    pub insert: Vec<(Mac, VxlanFdbEntry)>,
    pub remove: Vec<Mac>,
}

/// Compares the table with the config at `now_ns`.
#[must_use]
pub fn plan(
    current: &BTreeMap<Mac, VxlanFdbEntry>,
    statics: &[(Mac, Ipv4Addr)],
    remotes: &[Ipv4Addr],
    ageing: Duration,
    now_ns: u64,
) -> FdbPlan {
    let mut plan = FdbPlan::default();
    let ageing_ns = u64::try_from(ageing.as_nanos()).unwrap_or(u64::MAX);
    for (mac, entry) in current {
        let configured = statics.iter().any(|(static_mac, _)| static_mac == mac);
        let stale = if entry.flags & VXLAN_FDB_STATIC != 0 {
            !configured
        } else {
            let remote_known = remotes.contains(&Ipv4Addr::from(entry.vtep));
            // A static entry replaces a learned one (the insert below).
            !remote_known || now_ns.saturating_sub(entry.last_seen_ns) > ageing_ns
        };
        if stale && !configured {
            plan.remove.push(*mac);
        }
    }
    for (mac, vtep) in statics {
        let wanted =
            VxlanFdbEntry { last_seen_ns: 0, vtep: vtep.octets(), flags: VXLAN_FDB_STATIC };
        if current.get(mac) != Some(&wanted) {
            plan.insert.push((*mac, wanted));
        }
    }
    plan
}

/// Age of a learned entry at `now_ns`; `None` for static entries.
#[must_use]
pub fn age(entry: &VxlanFdbEntry, now_ns: u64) -> Option<Duration> {
    (entry.flags & VXLAN_FDB_STATIC == 0)
        .then(|| Duration::from_nanos(now_ns.saturating_sub(entry.last_seen_ns)))
}

/// `CLOCK_MONOTONIC` in nanoseconds.
#[must_use]
pub fn monotonic_ns() -> u64 {
    // SAFETY: clock_gettime writes the zeroed timespec.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut now) };
    u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(now.tv_nsec).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Mac = Mac([2, 0, 0, 0, 0, 1]);
    const B: Mac = Mac([2, 0, 0, 0, 0, 2]);
    const C: Mac = Mac([2, 0, 0, 0, 0, 3]);
    const VTEP1: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 151);
    const VTEP2: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 152);
    const SECOND: u64 = 1_000_000_000;

    fn learned(vtep: Ipv4Addr, at: u64) -> VxlanFdbEntry {
        VxlanFdbEntry { last_seen_ns: at, vtep: vtep.octets(), flags: 0 }
    }

    #[test]
    fn macs_parse_and_print() {
        let mac: Mac = "02:AB:cd:00:00:01".parse().unwrap();
        assert_eq!(mac.to_string(), "02:ab:cd:00:00:01");
        assert!(mac.is_unicast());
        assert!(!"ff:ff:ff:ff:ff:ff".parse::<Mac>().unwrap().is_unicast());
        assert!("02:00:00:00:00".parse::<Mac>().is_err());
        assert!("02:00:00:00:00:zz".parse::<Mac>().is_err());
        assert!("020:00:00:00:00:1".parse::<Mac>().is_err());
    }

    #[test]
    fn learned_entries_age_out_and_static_ones_stay() {
        let ageing = Duration::from_mins(5);
        let now = 1000 * SECOND;
        let mut current = BTreeMap::new();
        current.insert(A, learned(VTEP1, now - 299 * SECOND));
        current.insert(B, learned(VTEP1, now - 301 * SECOND));
        current.insert(C, VxlanFdbEntry { last_seen_ns: 0, vtep: VTEP2.octets(), flags: 1 });
        let plan = plan(&current, &[(C, VTEP2)], &[VTEP1, VTEP2], ageing, now);
        assert_eq!(plan.remove, vec![B]);
        assert!(plan.insert.is_empty(), "the static entry is already there");
    }

    #[test]
    fn removed_remotes_and_statics_go_and_new_statics_replace_learned() {
        let now = 10 * SECOND;
        let mut current = BTreeMap::new();
        current.insert(A, learned(VTEP2, now));
        current.insert(B, VxlanFdbEntry { last_seen_ns: 0, vtep: VTEP1.octets(), flags: 1 });
        current.insert(C, learned(VTEP1, now));
        let plan = plan(&current, &[(C, VTEP2)], &[VTEP1], Duration::from_mins(5), now);
        assert_eq!(plan.remove, vec![A, B], "A's VTEP is gone, B is no longer configured");
        assert_eq!(
            plan.insert,
            vec![(C, VxlanFdbEntry { last_seen_ns: 0, vtep: VTEP2.octets(), flags: 1 })]
        );
    }

    #[test]
    fn ages_are_reported_for_learned_entries_only() {
        assert_eq!(age(&learned(VTEP1, SECOND), 3 * SECOND), Some(Duration::from_secs(2)));
        let fixed = VxlanFdbEntry { last_seen_ns: 0, vtep: VTEP1.octets(), flags: 1 };
        assert_eq!(age(&fixed, 3 * SECOND), None);
    }
}
