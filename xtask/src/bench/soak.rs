//! Soak: the fast VRRP setting under CPU load must not fail over falsely.
//!
//! Load = one busy-looping thread per CPU, each joined to a lab namespace (so it belongs to
//! the lab, and dies with this process); every thread stops by itself at its deadline, and
//! earlier when the [`Load`] is dropped. Meanwhile the VIP holder is sampled; the verdict
//! is the number of VRRP transitions the daemons report over the soak (must be 0).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::lab::sys;

/// Busy threads, stopped at their deadline or on drop.
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Result<u64>>>,
}

impl Load {
    /// `n` threads in namespace `ns`, each spinning until `duration` has passed.
    pub fn start(ns: &str, n: usize, duration: Duration) -> Result<Load> {
        Self::start_with(n, |stop| {
            sys::spawn_in_netns(ns, move || Ok(spin(&stop, duration)))
                .context("starting a load thread")
        })
    }

    fn start_with(
        n: usize,
        spawn: impl Fn(Arc<AtomicBool>) -> Result<JoinHandle<Result<u64>>>,
    ) -> Result<Load> {
        let stop = Arc::new(AtomicBool::new(false));
        // Dropping `load` on an early return stops the threads already running.
        let mut load = Load { stop: stop.clone(), threads: Vec::new() };
        for _ in 0..n {
            load.threads.push(spawn(stop.clone())?);
        }
        Ok(load)
    }

    /// How many threads still spin.
    #[must_use]
    pub fn running(&self) -> usize {
        self.threads.iter().filter(|t| !t.is_finished()).count()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Spins until `stop` or `duration`; returns the work done (so it is not optimised away).
fn spin(stop: &AtomicBool, duration: Duration) -> u64 {
    let deadline = Instant::now() + duration;
    let mut spins = 0u64;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        for _ in 0..10_000 {
            spins = black_box(spins.wrapping_add(1));
        }
    }
    spins
}

/// The CPUs to load: what the scheduler lets this process use.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// What a soak saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoakResult {
    pub secs: u64,
    pub threads: usize,
    /// Transitions reported by the daemons during the soak, per balancer.
    pub transitions: Vec<(&'static str, u64)>,
    /// Samples of the VIP holder that were not "bal1 alone", of all samples.
    pub holder_glitches: usize,
    pub holder_samples: usize,
}

impl SoakResult {
    #[must_use]
    pub fn total_transitions(&self) -> u64 {
        self.transitions.iter().map(|(_, n)| n).sum()
    }

    #[must_use]
    pub fn passed(&self) -> bool {
        self.total_transitions() == 0 && self.holder_glitches == 0
    }
}

/// Transitions between two readings of the per-balancer counters.
#[must_use]
pub fn delta(
    before: &[(&'static str, u64)],
    after: &[(&'static str, u64)],
) -> Vec<(&'static str, u64)> {
    after
        .iter()
        .map(|(b, n)| {
            let was = before.iter().find(|(x, _)| x == b).map_or(0, |(_, v)| *v);
            // A restarted daemon counts from zero again: then all of `n` are new.
            (*b, if *n >= was { n - was } else { *n })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_stops_by_itself_and_on_drop() {
        // Plain threads stand in for ones in a lab namespace.
        let plain = |d: Duration| {
            move |stop: Arc<AtomicBool>| Ok(std::thread::spawn(move || Ok(spin(&stop, d))))
        };
        let load = Load::start_with(1, plain(Duration::from_millis(50))).unwrap();
        assert!(sys::wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            load.running() == 0
        }));
        let load = Load::start_with(2, plain(Duration::from_mins(10))).unwrap();
        assert_eq!(load.running(), 2);
        let t = Instant::now();
        drop(load);
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn transition_deltas() {
        assert_eq!(
            delta(&[("bal1", 2), ("bal2", 3)], &[("bal1", 2), ("bal2", 5)]),
            [("bal1", 0), ("bal2", 2)]
        );
        assert_eq!(delta(&[("bal1", 7)], &[("bal1", 1)]), [("bal1", 1)]);
        assert_eq!(delta(&[], &[("bal2", 4)]), [("bal2", 4)]);
        let r = SoakResult {
            secs: 300,
            threads: 2,
            transitions: vec![("bal1", 0), ("bal2", 0)],
            holder_glitches: 0,
            holder_samples: 3000,
        };
        assert!(r.passed());
        assert!(!SoakResult { transitions: vec![("bal2", 1)], ..r.clone() }.passed());
        assert!(!SoakResult { holder_glitches: 1, ..r }.passed());
    }
}
