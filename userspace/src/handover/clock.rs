//! Deadlines across processes. An [`Instant`] is `CLOCK_MONOTONIC` on
//! Linux, one clock for every process since boot, but its value is opaque.
//! These serde helpers write an `Instant` as nanoseconds of that clock and
//! read it back as the same moment in the reading process, so a timer armed
//! by the old process fires at the same time in the new one.

use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Nanoseconds of `CLOCK_MONOTONIC` now, and the `Instant` of (nearly) the
/// same moment.
fn clock_pair() -> (Instant, u128) {
    let mut spec = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut spec) };
    let instant = Instant::now();
    let secs = u128::try_from(spec.tv_sec).unwrap_or(0);
    let nanos = u128::try_from(spec.tv_nsec).unwrap_or(0);
    (instant, secs * 1_000_000_000 + nanos)
}

/// `instant` as nanoseconds of `CLOCK_MONOTONIC`.
#[must_use]
pub fn to_monotonic_nanos(instant: Instant) -> u64 {
    let (now, now_nanos) = clock_pair();
    let nanos = if instant <= now {
        now_nanos.saturating_sub((now - instant).as_nanos())
    } else {
        now_nanos + (instant - now).as_nanos()
    };
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

/// The `Instant` at `nanos` of `CLOCK_MONOTONIC` (clamped to what an
/// `Instant` can hold).
#[must_use]
pub fn from_monotonic_nanos(nanos: u64) -> Instant {
    let (now, now_nanos) = clock_pair();
    let nanos = u128::from(nanos);
    if nanos <= now_nanos {
        let back = Duration::from_nanos(u64::try_from(now_nanos - nanos).unwrap_or(u64::MAX));
        now.checked_sub(back).unwrap_or(now)
    } else {
        let ahead = Duration::from_nanos(u64::try_from(nanos - now_nanos).unwrap_or(u64::MAX));
        now.checked_add(ahead).unwrap_or(now)
    }
}

/// `#[serde(with = "crate::handover::clock::instant")]`
pub mod instant {
    use super::{Deserialize, Deserializer, Instant, Serialize, Serializer};

    pub fn serialize<S: Serializer>(instant: &Instant, serializer: S) -> Result<S::Ok, S::Error> {
        super::to_monotonic_nanos(*instant).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Instant, D::Error> {
        u64::deserialize(deserializer).map(super::from_monotonic_nanos)
    }
}

/// `#[serde(with = "crate::handover::clock::optional")]`
pub mod optional {
    use super::{Deserialize, Deserializer, Instant, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        instant: &Option<Instant>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        instant.map(super::to_monotonic_nanos).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Instant>, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.map(super::from_monotonic_nanos))
    }
}

/// `#[serde(with = "crate::handover::clock::optional_at")]` for an
/// `Option<(Instant, T)>`: a moment and what happened then.
pub mod optional_at {
    use super::{Deserialize, Deserializer, Instant, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        value: &Option<(Instant, T)>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value
            .as_ref()
            .map(|(at, what)| (super::to_monotonic_nanos(*at), what))
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<(Instant, T)>, D::Error> {
        Ok(Option::<(u64, T)>::deserialize(deserializer)?
            .map(|(at, what)| (super::from_monotonic_nanos(at), what)))
    }
}

/// `#[serde(with = "crate::handover::clock::optional_at_pair")]` for an
/// `Option<(Instant, A, B)>`.
pub mod optional_at_pair {
    use super::{Deserialize, Deserializer, Instant, Serialize, Serializer};

    pub fn serialize<S: Serializer, A: Serialize, B: Serialize>(
        value: &Option<(Instant, A, B)>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value
            .as_ref()
            .map(|(at, a, b)| (super::to_monotonic_nanos(*at), a, b))
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, A: Deserialize<'de>, B: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<(Instant, A, B)>, D::Error> {
        Ok(Option::<(u64, A, B)>::deserialize(deserializer)?
            .map(|(at, a, b)| (super::from_monotonic_nanos(at), a, b)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{from_monotonic_nanos, to_monotonic_nanos};

    fn close(a: Instant, b: Instant) -> bool {
        let gap = if a > b { a - b } else { b - a };
        gap < Duration::from_millis(1)
    }

    #[test]
    fn past_and_future_instants_come_back_as_the_same_moment() {
        let now = Instant::now();
        let past = now.checked_sub(Duration::from_secs(3)).expect("up for 3 s");
        for instant in [now, past, now + Duration::from_millis(1500)] {
            let back = from_monotonic_nanos(to_monotonic_nanos(instant));
            assert!(close(back, instant), "{instant:?} came back as {back:?}");
        }
    }

    #[test]
    fn the_nanos_follow_the_clock_other_processes_read() {
        let mut spec = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime fills the timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut spec) };
        let clock = u64::try_from(spec.tv_sec).unwrap() * 1_000_000_000
            + u64::try_from(spec.tv_nsec).unwrap();
        let ours = to_monotonic_nanos(Instant::now());
        assert!(ours >= clock && ours - clock < 1_000_000, "clock {clock} ours {ours}");
    }
}
