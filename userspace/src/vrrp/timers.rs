//! RFC timer arithmetic and the deadlines one instance keeps.
//!
//! - Version 3 (RFC 5798 §6.1): `Skew_Time = ((256 - Priority) *
//!   Master_Adver_Interval) / 256`, computed in whole centiseconds (the unit
//!   the RFC counts in; the division truncates).
//! - Version 2 (RFC 3768 §6.1): `Skew_Time = (256 - Priority) / 256` seconds,
//!   exact (1 s / 256 is a whole number of nanoseconds).
//! - Both: `Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time`.
//!
//! Deadlines are plain `Option<Instant>`s; the machine arms and cancels them
//! and `next()` is what `poll_timeout` reports.

use std::time::{Duration, Instant};

use super::packet::Version;

const CENTISECOND_NANOS: u128 = 10_000_000;

/// `Skew_Time` for a router of `priority` whose master advertises every
/// `master_adver_interval`.
#[must_use]
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let weight = 256 - u32::from(priority);
    match version {
        Version::V3 => {
            let cs = master_adver_interval.as_nanos() / CENTISECOND_NANOS;
            let skew_cs = cs * u128::from(weight) / 256;
            let nanos = skew_cs * CENTISECOND_NANOS;
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        }
        Version::V2 => Duration::from_secs(1) * weight / 256,
    }
}

/// `Master_Down_Interval`: how long a backup waits without adverts.
#[must_use]
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Duration,
) -> Duration {
    master_adver_interval * 3 + skew_time(version, priority, master_adver_interval)
}

/// Deadlines of one instance. `None` = not armed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Timers {
    /// Master: next advert.
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) adver: Option<Instant>,
    /// Backup: the master is presumed down at this time.
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) master_down: Option<Instant>,
    /// Master: next repeated burst of gratuitous ARPs.
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) garp: Option<Instant>,
    /// Bursts still to send at `garp`.
    pub(crate) garp_left: u32,
}

impl Timers {
    pub(crate) fn cancel_all(&mut self) {
        *self = Timers::default();
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        [self.adver, self.master_down, self.garp].into_iter().flatten().min()
    }
}

/// Takes the deadline out of `slot` if it has passed at `now`.
pub(crate) fn expired(slot: &mut Option<Instant>, now: Instant) -> bool {
    if slot.is_some_and(|deadline| deadline <= now) {
        *slot = None;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn v3_skew_is_whole_centiseconds() {
        // 106 * 100 cs / 256 = 41.4 -> 41 cs.
        assert_eq!(skew_time(Version::V3, 150, SECOND), Duration::from_millis(410));
        // 156 * 100 / 256 = 60.9 -> 60 cs.
        assert_eq!(skew_time(Version::V3, 100, SECOND), Duration::from_millis(600));
        assert_eq!(skew_time(Version::V3, 255, SECOND), Duration::ZERO);
        // 255 * 4095 / 256 = 4079.0 -> 4079 cs.
        assert_eq!(
            skew_time(Version::V3, 1, Duration::from_millis(40_950)),
            Duration::from_millis(40_790)
        );
    }

    #[test]
    fn v3_master_down_scales_with_learned_interval() {
        assert_eq!(master_down_interval(Version::V3, 100, SECOND), Duration::from_millis(3_600));
        // 50 cs: 3 * 50 + 156 * 50 / 256 (= 30.47 -> 30) = 180 cs.
        assert_eq!(
            master_down_interval(Version::V3, 100, Duration::from_millis(500)),
            Duration::from_millis(1_800)
        );
    }

    #[test]
    fn v2_skew_ignores_interval() {
        let skew = Duration::from_micros(609_375); // 156 / 256 s
        assert_eq!(skew_time(Version::V2, 100, SECOND), skew);
        assert_eq!(skew_time(Version::V2, 100, SECOND * 3), skew);
        assert_eq!(master_down_interval(Version::V2, 100, SECOND * 3), SECOND * 9 + skew);
        assert_eq!(skew_time(Version::V2, 150, SECOND), Duration::from_nanos(414_062_500));
    }

    #[test]
    fn timers_next_is_the_earliest() {
        let base = Instant::now();
        let mut timers = Timers::default();
        assert_eq!(timers.next(), None);
        timers.adver = Some(base + SECOND);
        timers.garp = Some(base + SECOND / 2);
        assert_eq!(timers.next(), Some(base + SECOND / 2));
        assert!(!expired(&mut timers.garp, base));
        assert!(expired(&mut timers.garp, base + SECOND));
        assert_eq!(timers.garp, None);
    }
}
