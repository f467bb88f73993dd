//! Progress of long commands: one line per case as it starts, `[n/m] <what> — elapsed 1m20s,
//! about 3m left`, and the phase lines of `lab up` (`[2/3] services`).
//!
//! The estimate of the time left is pure ([`time_left`]): from the cases finished so far,
//! scaled by their own estimates when the command has them (an 802.1D STP run takes minutes,
//! an RSTP run seconds), else from their average; before the first case ends, from the
//! estimates alone. [`Progress`] is the thin driver that reads the clock and prints.

use std::time::{Duration, Instant};

/// `45s`, `1m20s`, `1h05m`: whole seconds, the two largest units.
#[must_use]
pub fn duration_text(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_millis() >= 500);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Time left with `done` of the cases finished after `elapsed`.
///
/// `estimates` (one per case, or empty when the command has none): with some cases done,
/// the rest's estimates scaled by how the finished ones compared with theirs; with none
/// done, the estimates' sum. Without estimates: the average finished case times the cases
/// left, and `None` before the first one ends.
#[must_use]
pub fn time_left(
    done: usize,
    total: usize,
    elapsed: Duration,
    estimates: &[Duration],
) -> Option<Duration> {
    let left = total.saturating_sub(done);
    if left == 0 {
        return Some(Duration::ZERO);
    }
    if estimates.len() == total {
        let (past, rest) = estimates.split_at(done.min(total));
        let rest: Duration = rest.iter().sum();
        let past: Duration = past.iter().sum();
        if done == 0 || past.is_zero() {
            return Some(rest);
        }
        return Some(rest.mul_f64(elapsed.as_secs_f64() / past.as_secs_f64()));
    }
    if done == 0 {
        return None;
    }
    let per_case = elapsed / u32::try_from(done).unwrap_or(u32::MAX);
    Some(per_case * u32::try_from(left).unwrap_or(u32::MAX))
}

/// `[n/m] what — elapsed 1m20s, about 3m05s left` (`time left unknown` before any
/// estimate exists).
#[must_use]
pub fn case_line(
    n: usize,
    total: usize,
    what: &str,
    elapsed: Duration,
    left: Option<Duration>,
) -> String {
    let left = left.map_or_else(
        || "time left unknown".to_string(),
        |l| format!("about {} left", duration_text(l)),
    );
    format!("[{n}/{total}] {what} — elapsed {}, {left}", duration_text(elapsed))
}

/// `[i/m] what`: a phase of a command with a fixed number of phases.
#[must_use]
pub fn phase_line(i: usize, total: usize, what: &str) -> String {
    format!("[{i}/{total}] {what}")
}

/// Counts the cases of one command run and prints a [`case_line`] as each starts.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    started: usize,
    since: Instant,
    estimates: Vec<Duration>,
}

impl Progress {
    /// `total` cases, no estimates: the time left is known once the first case ends.
    #[must_use]
    pub fn new(total: usize) -> Self {
        Self { total, started: 0, since: Instant::now(), estimates: Vec::new() }
    }

    /// One estimate per case, in the order they run.
    #[must_use]
    pub fn with_estimates(estimates: Vec<Duration>) -> Self {
        Self { total: estimates.len(), started: 0, since: Instant::now(), estimates }
    }

    /// The next case starts: prints its line (the cases before it are done).
    pub fn start(&mut self, what: &str) {
        let done = self.started;
        self.started += 1;
        let elapsed = self.since.elapsed();
        let left = time_left(done, self.total, elapsed, &self.estimates);
        println!("{}", case_line(self.started, self.total, what, elapsed, left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn durations_read_as_minutes_and_seconds() {
        assert_eq!(duration_text(Duration::from_millis(400)), "0s");
        assert_eq!(duration_text(Duration::from_millis(44_600)), "45s");
        assert_eq!(duration_text(s(80)), "1m20s");
        assert_eq!(duration_text(s(185)), "3m05s");
        assert_eq!(duration_text(s(3900)), "1h05m");
    }

    #[test]
    fn time_left_from_the_average_case() {
        assert_eq!(time_left(0, 4, s(10), &[]), None);
        assert_eq!(time_left(1, 4, s(20), &[]), Some(s(60)));
        assert_eq!(time_left(2, 4, s(50), &[]), Some(s(50)));
        assert_eq!(time_left(4, 4, s(100), &[]), Some(Duration::ZERO));
    }

    #[test]
    fn time_left_from_estimates() {
        // Two slow 802.1D runs, then two fast RSTP ones.
        let est = [s(95), s(95), s(15), s(15)];
        assert_eq!(time_left(0, 4, s(0), &est), Some(s(220)));
        // The first run took twice its estimate: the rest is expected to as well.
        assert_eq!(time_left(1, 4, s(190), &est), Some(s(250)));
        assert_eq!(time_left(3, 4, s(205), &est), Some(s(15)));
        // Estimates that do not cover every case are ignored.
        assert_eq!(time_left(1, 4, s(10), &est[..2]), Some(s(30)));
    }

    #[test]
    fn lines() {
        assert_eq!(
            case_line(3, 9, "halb fast, master killed, run 1", s(80), Some(s(180))),
            "[3/9] halb fast, master killed, run 1 — elapsed 1m20s, about 3m00s left"
        );
        assert_eq!(case_line(1, 2, "x", s(0), None), "[1/2] x — elapsed 0s, time left unknown");
        assert_eq!(phase_line(2, 3, "services"), "[2/3] services");
    }
}
