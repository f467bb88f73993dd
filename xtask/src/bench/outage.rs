//! What the samples say: the client-visible outage, and statistics over repeated runs.
//!
//! Outage = the longest gap between two consecutive successful answers (ordered by the time
//! each answer arrived) that overlaps the window of interest. With requests every few
//! milliseconds, a healthy service shows gaps of about one interval; that is the
//! resolution of the figure.

use std::time::Duration;

use super::sampler::Sample;

/// Longest gap between consecutive successful answers that overlaps `[from, to)`. `None` if
/// no answer came before `from` (nothing to measure from) or none at or after `from` (the
/// service never came back).
#[must_use]
pub fn longest_gap(samples: &[Sample], from: Duration, to: Duration) -> Option<Duration> {
    let mut ends: Vec<Duration> = samples.iter().filter(|s| s.ok).map(|s| s.end).collect();
    ends.sort_unstable();
    let first_after = ends.iter().position(|&e| e >= from)?;
    if first_after == 0 {
        return None;
    }
    ends.windows(2).filter(|w| w[1] >= from && w[0] < to).map(|w| w[1].saturating_sub(w[0])).max()
}

/// Failed requests that started in `[from, to)`, and all requests that did.
#[must_use]
pub fn failures(samples: &[Sample], from: Duration, to: Duration) -> (usize, usize) {
    let window: Vec<&Sample> = samples.iter().filter(|s| s.start >= from && s.start < to).collect();
    (window.iter().filter(|s| !s.ok).count(), window.len())
}

/// Median (the lower middle for an even count), minimum and maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub median: Duration,
    pub min: Duration,
    pub max: Duration,
    pub n: usize,
}

impl Stats {
    #[must_use]
    pub fn of(values: &[Duration]) -> Option<Stats> {
        let mut v = values.to_vec();
        v.sort_unstable();
        let n = v.len();
        let median = *v.get(n.checked_sub(1)? / 2)?;
        Some(Stats { median, min: v[0], max: v[n - 1], n })
    }
}

#[must_use]
pub fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// (end ms, ok); requests take 1 ms.
    fn samples(spec: &[(u64, bool)]) -> Vec<Sample> {
        spec.iter()
            .map(|&(end, ok)| Sample {
                start: at(end.saturating_sub(1)),
                end: at(end),
                via: ok.then(|| "10.0.0.250".to_string()),
                ok,
            })
            .collect()
    }

    #[test]
    fn gap_across_a_failover() {
        let s = samples(&[
            (0, true),
            (5, true),
            (10, true),
            (15, false),
            (20, false),
            (310, false),
            (48, true), // out of order on purpose: answers are sorted by arrival
            (53, true),
        ]);
        // The fault at 12 ms: last answer at 10, next at 48.
        assert_eq!(longest_gap(&s, at(12), at(100)), Some(at(38)));
        assert_eq!(failures(&s, at(12), at(100)), (2, 4));
        // The window is where the gap must overlap, not where it must lie.
        assert_eq!(longest_gap(&s, at(40), at(100)), Some(at(38)));
        // Before the fault: only normal gaps.
        assert_eq!(longest_gap(&s, at(1), at(9)), Some(at(5)));
        // No gap of the window: after the last answer.
        assert_eq!(longest_gap(&s, at(60), at(100)), None);
    }

    #[test]
    fn no_answer_before_or_after() {
        let s = samples(&[(10, false), (20, true), (30, true)]);
        assert_eq!(longest_gap(&s, at(5), at(50)), None, "nothing before the window");
        let s = samples(&[(10, true), (20, false), (30, false)]);
        assert_eq!(longest_gap(&s, at(15), at(50)), None, "never came back");
        assert_eq!(longest_gap(&[], at(0), at(1)), None);
    }

    #[test]
    fn no_outage_is_the_sampling_interval() {
        let s: Vec<(u64, bool)> = (0..20).map(|i| (i * 5, true)).collect();
        assert_eq!(longest_gap(&samples(&s), at(30), at(60)), Some(at(5)));
    }

    #[test]
    fn stats() {
        let s = Stats::of(&[at(30), at(10), at(20)]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (at(20), at(10), at(30), 3));
        let s = Stats::of(&[at(40), at(10), at(20), at(30)]).unwrap();
        assert_eq!(s.median, at(20));
        assert_eq!(Stats::of(&[at(7)]).unwrap().median, at(7));
        assert_eq!(Stats::of(&[]), None);
        assert_eq!(ms(Duration::from_micros(3_612_400)), 3612);
    }
}
