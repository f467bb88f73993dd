//! VRRP advertisement fast path: the per-VRID tables it shares with the
//! daemon's VRRP state machine, and why it drops adverts.
//!
//! The TC program validates every advert (RFC 5798 / RFC 3768 checks) and
//! records the current master of each configured VRID in
//! [`VrrpMasterInfo`]. An advert that says nothing new (same master, same
//! priority, same interval) only refreshes `last_seen_ns` and is absorbed;
//! an advert that changes something (new master, priority change, priority
//! 0, interval change) is passed up to the daemon's raw socket. So the state
//! machine wakes on changes and on its own timers, not on every advert.

/// IPv4 multicast group of VRRP (224.0.0.18), network byte order octets.
pub const VRRP_GROUP: [u8; 4] = [224, 0, 0, 18];
/// Most virtual addresses the fast path checks in-kernel; adverts with more
/// are passed to the daemon, which validates them itself.
pub const VRRP_FAST_MAX_ADDRS: u8 = 8;
/// Longest VRRP message the fast path handles: header, 8 addresses, v2 auth.
pub const VRRP_FAST_MAX_LEN: usize = 8 + 4 * VRRP_FAST_MAX_ADDRS as usize + 8;
/// Most VRIDs one datapath instance tracks.
pub const VRRP_MAX_INSTANCES: u32 = 64;

/// Per-VRID configuration written by the daemon (key: VRID as u32).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VrrpInstanceConfig {
    /// 2 or 3: adverts of the other version are dropped (`BadVersion`).
    pub version: u8,
    pub _pad: [u8; 3],
    /// Our own primary address (network order octets): our adverts looping
    /// back are ignored.
    pub own_addr: [u8; 4],
}

/// What the fast path knows about a VRID's master (key: VRID as u32).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VrrpMasterInfo {
    /// `CLOCK_MONOTONIC` time of the last valid advert, in nanoseconds.
    pub last_seen_ns: u64,
    /// Valid adverts seen (absorbed or passed).
    pub adverts: u64,
    /// Adverts passed up to the daemon because something changed.
    pub changes: u64,
    /// Source address of the last valid advert (network order octets).
    pub master_addr: [u8; 4],
    pub priority: u8,
    pub version: u8,
    /// Advert interval in centiseconds (v2's seconds converted).
    pub interval_cs: u16,
}

keyed_enum! {
    /// Why the fast path dropped an advert. Discriminants index the drop map.
    pub enum VrrpDropReason {
        /// IP packet shorter than a VRRP header or than its own length.
        Truncated = 0 => "truncated",
        /// IP TTL is not 255 (RFC 5798 7.1).
        BadTtl = 1 => "bad_ttl",
        /// Not the configured VRRP version.
        BadVersion = 2 => "bad_version",
        /// Type is not 1 (ADVERTISEMENT).
        BadType = 3 => "bad_type",
        /// VRID not configured on this interface.
        UnknownVrid = 4 => "unknown_vrid",
        /// Checksum does not verify.
        BadChecksum = 5 => "bad_checksum",
        /// Address count does not match the length.
        BadAddressCount = 6 => "bad_address_count",
        /// Advertisement interval of zero.
        ZeroInterval = 7 => "zero_interval",
        /// Not sent to 224.0.0.18.
        BadDestination = 8 => "bad_destination",
        /// Fragmented or with IP options the fast path does not parse.
        Unparsed = 9 => "unparsed",
    }
}

keyed_enum! {
    /// Verdict counters of the fast path (index of the `VRRP_VERDICTS` array).
    pub enum VrrpVerdict {
        /// Valid, nothing new: absorbed in-kernel.
        Absorbed = 0 => "absorbed",
        /// Valid and something changed: passed to the daemon.
        PassedChange = 1 => "passed_change",
        /// Too many addresses for the fast path: passed to the daemon unchecked.
        PassedUnchecked = 2 => "passed_unchecked",
        /// Our own advert seen on the wire: ignored (passed, the socket drops it).
        Own = 3 => "own",
        /// Dropped; the reason is in `VRRP_DROPS`.
        Dropped = 4 => "dropped",
    }
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: repr(C), plain integers and byte arrays, explicit padding.
    unsafe impl aya::Pod for super::VrrpInstanceConfig {}
    // SAFETY: as above (8+8+8+4+1+1+2 = 32 bytes, no padding).
    unsafe impl aya::Pod for super::VrrpMasterInfo {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_have_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<VrrpInstanceConfig>(), 8);
        assert_eq!(core::mem::size_of::<VrrpMasterInfo>(), 32);
        assert_eq!(VRRP_FAST_MAX_LEN, 48);
    }

    #[test]
    fn reasons_round_trip() {
        for reason in VrrpDropReason::ALL {
            assert_eq!(VrrpDropReason::from_u32(reason as u32), Some(reason));
        }
        assert_eq!(VrrpDropReason::from_u32(10), None);
    }
}
