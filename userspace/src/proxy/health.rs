//! The health of one server as a pure state machine, haproxy's model: a
//! counter from 0 to `rise + fall - 1`; the server is up while the counter
//! is at least `rise`. A success climbs one step (reaching `rise` from below
//! brings the server up and fills the counter); a failure drops one step
//! while up (falling below `rise` takes it down and empties the counter) and
//! empties it while down, so `rise` consecutive successes bring a server
//! back and `fall` consecutive failures take it out.
//!
//! A server starts up but at the edge (counter = `rise`), like haproxy's
//! default `init-state up`: it serves at once and its first failed check
//! takes it out. Between the two extremes checks run at `fastinter`; fully
//! down at `downinter`; fully up at `inter`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::CheckTiming;

/// Up or down, as the pool sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    Up,
    Down,
}

/// A change of state caused by one check result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    WentUp,
    WentDown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthMachine {
    timing: CheckTiming,
    counter: u32,
}

impl HealthMachine {
    #[must_use]
    pub fn new(timing: CheckTiming) -> Self {
        Self { timing, counter: timing.rise }
    }

    fn max(&self) -> u32 {
        self.timing.rise + self.timing.fall - 1
    }

    #[must_use]
    pub fn state(&self) -> HealthState {
        if self.counter >= self.timing.rise {
            HealthState::Up
        } else {
            HealthState::Down
        }
    }

    /// Feeds one check result; returns the transition it caused, if any.
    pub fn record(&mut self, success: bool) -> Option<Transition> {
        let was = self.state();
        if success {
            if self.counter < self.max() {
                self.counter += 1;
                if self.counter == self.timing.rise && was == HealthState::Down {
                    self.counter = self.max();
                }
            }
        } else if self.counter > self.timing.rise {
            self.counter -= 1;
        } else {
            self.counter = 0;
        }
        match (was, self.state()) {
            (HealthState::Down, HealthState::Up) => Some(Transition::WentUp),
            (HealthState::Up, HealthState::Down) => Some(Transition::WentDown),
            _ => None,
        }
    }

    /// How long to wait before the next check.
    #[must_use]
    pub fn interval(&self) -> Duration {
        if self.counter == 0 {
            self.timing.downinter
        } else if self.counter == self.max() {
            self.timing.inter
        } else {
            self.timing.fastinter
        }
    }
}

/// What the pool looks like to VRRP tracking and the control socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolHealth {
    pub servers_up: usize,
    pub servers_total: usize,
    /// Sum of the weights of the servers that are up.
    pub weight_up: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(rise: u32, fall: u32) -> CheckTiming {
        CheckTiming {
            inter: Duration::from_secs(2),
            fastinter: Duration::from_millis(500),
            downinter: Duration::from_secs(5),
            rise,
            fall,
        }
    }

    #[test]
    fn starts_up_and_first_failure_takes_it_down() {
        let mut h = HealthMachine::new(timing(2, 3));
        assert_eq!(h.state(), HealthState::Up);
        assert_eq!(h.record(false), Some(Transition::WentDown));
        assert_eq!(h.interval(), Duration::from_secs(5), "fully down: downinter");
    }

    #[test]
    fn fall_consecutive_failures_take_a_healthy_server_down() {
        let mut h = HealthMachine::new(timing(2, 3));
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(true), None);
        assert_eq!(h.interval(), Duration::from_secs(2), "fully up: inter");
        assert_eq!(h.record(false), None);
        assert_eq!(h.interval(), Duration::from_millis(500), "in transition: fastinter");
        assert_eq!(h.record(false), None);
        // A success in between refills one step only.
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), Some(Transition::WentDown));
        assert_eq!(h.state(), HealthState::Down);
    }

    #[test]
    fn rise_consecutive_successes_bring_it_back() {
        let mut h = HealthMachine::new(timing(2, 3));
        h.record(false);
        assert_eq!(h.record(true), None);
        assert_eq!(h.interval(), Duration::from_millis(500));
        // A failure while down resets the count.
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(true), Some(Transition::WentUp));
        // Back up with a full counter: it takes `fall` failures again.
        assert_eq!(h.interval(), Duration::from_secs(2));
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), Some(Transition::WentDown));
    }

    #[test]
    fn rise_one_fall_one_flips_on_every_result() {
        let mut h = HealthMachine::new(timing(1, 1));
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(false), Some(Transition::WentDown));
        assert_eq!(h.record(true), Some(Transition::WentUp));
        assert_eq!(h.record(false), Some(Transition::WentDown));
    }
}
