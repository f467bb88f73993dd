//! Open-loop HTTP sampling of the VIP from inside a lab namespace.
//!
//! A request starts every `interval` whether or not earlier ones have answered: a pool of
//! worker threads (each joined the client's namespace) takes the next slot of a shared
//! schedule, sleeps until its time and issues one `GET /` through the balancer's proxy with
//! short timeouts. A request stuck on a lost SYN therefore does not delay the next one, and
//! the first answer after a failover is seen within one interval. Slots that every worker
//! was too busy to take are skipped, not sent in a burst. Bounded by `max_duration`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::lab::probe::{http_get, Reply};
use crate::lab::sys;

/// Connect and whole-request timeout of one sample: far above the lab's sub-millisecond
/// answers, short enough that few workers are needed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(300);
/// Most worker threads of one sampler.
const MAX_WORKERS: usize = 128;

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// When it started and when it ended, since the sampler started.
    pub start: Duration,
    pub end: Duration,
    /// On success, the client address the server saw (which balancer proxied it).
    pub via: Option<String>,
    pub ok: bool,
}

pub struct Sampler {
    start: Instant,
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    workers: Vec<JoinHandle<Result<()>>>,
}

/// Workers needed so that a slot is free every `interval` while requests time out.
#[must_use]
pub fn workers_for(interval: Duration) -> usize {
    let per = interval.as_micros().max(1);
    let n = REQUEST_TIMEOUT.as_micros().div_ceil(per) + 2;
    usize::try_from(n).unwrap_or(MAX_WORKERS).min(MAX_WORKERS)
}

impl Sampler {
    pub fn start(
        ns: &str,
        addr: SocketAddr,
        interval: Duration,
        max_duration: Duration,
    ) -> Result<Sampler> {
        if interval.is_zero() {
            bail!("sampling interval must be positive");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..workers_for(interval) {
            let (stop2, samples2, next2) = (stop.clone(), samples.clone(), next.clone());
            let worker = sys::spawn_in_netns(ns, move || {
                work(start, interval, max_duration, addr, &stop2, &next2, &samples2);
                Ok(())
            });
            match worker {
                Ok(w) => workers.push(w),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    for w in workers {
                        let _ = w.join();
                    }
                    return Err(e.context("starting the sampler's workers"));
                }
            }
        }
        Ok(Sampler { start, stop, samples, workers })
    }

    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    #[must_use]
    pub fn snapshot(&self) -> Vec<Sample> {
        let mut v = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        v.sort_by_key(|s| s.end);
        v
    }

    /// Waits until `k` consecutive answers (by end time) after `since` came through `via`;
    /// false on timeout or when the sampler ran out of time.
    #[must_use]
    pub fn wait_for_via(&self, since: Duration, via: &str, k: usize, timeout: Duration) -> bool {
        sys::wait_until(timeout, Duration::from_millis(10), || {
            self.workers.iter().all(JoinHandle::is_finished) || self.settled(since, via, k)
        });
        self.settled(since, via, k)
    }

    fn settled(&self, since: Duration, via: &str, k: usize) -> bool {
        let s = self.snapshot();
        let after: Vec<&Sample> = s.iter().filter(|x| x.start >= since).collect();
        after.len() >= k
            && after[after.len() - k..].iter().all(|x| x.ok && x.via.as_deref() == Some(via))
    }

    /// Stops the workers and returns every sample, ordered by end time.
    pub fn finish(self) -> Result<Vec<Sample>> {
        self.stop.store(true, Ordering::Relaxed);
        let mut panicked = false;
        for w in self.workers {
            match w.join() {
                Ok(r) => r?,
                Err(_) => panicked = true,
            }
        }
        if panicked {
            bail!("a sampler thread panicked");
        }
        let mut v = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        v.sort_by_key(|s| s.end);
        Ok(v)
    }
}

fn work(
    start: Instant,
    interval: Duration,
    max_duration: Duration,
    addr: SocketAddr,
    stop: &AtomicBool,
    next: &AtomicU64,
    samples: &Mutex<Vec<Sample>>,
) {
    let interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    while !stop.load(Ordering::Relaxed) && start.elapsed() < max_duration {
        let slot = next.fetch_add(1, Ordering::Relaxed);
        let at = Duration::from_nanos(slot.saturating_mul(interval_ns));
        let now = start.elapsed();
        if now > at + interval {
            // Every worker was busy at that slot's time: skip it rather than burst.
            continue;
        }
        if let Some(wait) = at.checked_sub(now) {
            thread::sleep(wait);
        }
        let begin = start.elapsed();
        let outcome = http_get(addr, REQUEST_TIMEOUT);
        let end = start.elapsed();
        let via = outcome.as_ref().ok().and_then(|b| Reply::parse(b)).map(|r| r.client);
        let sample = Sample { start: begin, end, ok: via.is_some(), via };
        if let Ok(mut s) = samples.lock() {
            s.push(sample);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enough_workers_for_the_interval() {
        assert_eq!(workers_for(Duration::from_millis(5)), 62);
        assert_eq!(workers_for(Duration::from_millis(100)), 5);
        assert_eq!(workers_for(Duration::from_micros(1)), MAX_WORKERS);
        assert_eq!(workers_for(Duration::ZERO), MAX_WORKERS);
    }
}
