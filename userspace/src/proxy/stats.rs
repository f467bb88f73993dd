//! Counters kept by the proxy (lock-free atomics updated on the request
//! path) and the serializable snapshot read from them. Rendering in
//! Prometheus text format lives in [`prometheus`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::balance::Balance;
use super::health::PoolHealth;

pub mod prometheus;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 12] =
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Responses by status class.
#[derive(Debug, Default)]
pub(crate) struct ResponseCounters([AtomicU64; 5]);

impl ResponseCounters {
    pub(crate) fn record(&self, status: u16) {
        if let Some(c) = (status / 100).checked_sub(1).and_then(|i| self.0.get(usize::from(i))) {
            c.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Responses {
        let [one, two, three, four, five] = &self.0;
        Responses {
            informational: one.load(Relaxed),
            success: two.load(Relaxed),
            redirection: three.load(Relaxed),
            client_error: four.load(Relaxed),
            server_error: five.load(Relaxed),
        }
    }
}

/// Current, highest and total of something counted in and out.
#[derive(Debug, Default)]
pub(crate) struct Gauge {
    current: AtomicU64,
    max: AtomicU64,
    total: AtomicU64,
}

impl Gauge {
    pub(crate) fn enter(&self) {
        let now = self.current.fetch_add(1, Relaxed) + 1;
        self.max.fetch_max(now, Relaxed);
        self.total.fetch_add(1, Relaxed);
    }

    pub(crate) fn leave(&self) {
        self.current.fetch_sub(1, Relaxed);
    }

    pub(crate) fn current(&self) -> u64 {
        self.current.load(Relaxed)
    }

    pub(crate) fn snapshot(&self) -> GaugeSnapshot {
        GaugeSnapshot {
            current: self.current.load(Relaxed),
            max: self.max.load(Relaxed),
            total: self.total.load(Relaxed),
        }
    }
}

/// Latency histogram with sum, count and max.
#[derive(Debug, Default)]
pub(crate) struct LatencyCounters {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl LatencyCounters {
    pub(crate) fn record(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
        self.max_us.fetch_max(us, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Latency {
        let mut cumulative = 0;
        let buckets = LATENCY_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(&le, c)| {
                cumulative += c.load(Relaxed);
                (le, cumulative)
            })
            .collect();
        Latency {
            count: self.count.load(Relaxed),
            sum_us: self.sum_us.load(Relaxed),
            max_us: self.max_us.load(Relaxed),
            buckets,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct FrontendCounters {
    pub connections: Gauge,
    pub requests: AtomicU64,
    pub responses: ResponseCounters,
    /// Requests refused by policy and connections that ended in a protocol
    /// error or timeout (hyper's own 400/431/408 included).
    pub errors: AtomicU64,
}

impl FrontendCounters {
    pub(crate) fn snapshot(&self, name: &str, backend: &str) -> FrontendStats {
        FrontendStats {
            name: name.to_owned(),
            backend: backend.to_owned(),
            connections: self.connections.snapshot(),
            requests: self.requests.load(Relaxed),
            responses: self.responses.snapshot(),
            errors: self.errors.load(Relaxed),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct BackendCounters {
    pub requests: AtomicU64,
    pub responses: ResponseCounters,
    /// Requests answered 502/503/504 by the proxy itself.
    pub errors: AtomicU64,
    pub retries: AtomicU64,
    pub redispatches: AtomicU64,
    pub queue: Gauge,
}

impl BackendCounters {
    pub(crate) fn snapshot(
        &self,
        name: &str,
        balance: Balance,
        health: PoolHealth,
        servers: Vec<ServerStats>,
    ) -> BackendStats {
        BackendStats {
            name: name.to_owned(),
            balance,
            health,
            requests: self.requests.load(Relaxed),
            responses: self.responses.snapshot(),
            errors: self.errors.load(Relaxed),
            retries: self.retries.load(Relaxed),
            redispatches: self.redispatches.load(Relaxed),
            queue: self.queue.snapshot(),
            servers,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct ServerCounters {
    /// Requests in flight (a connection to the server is held for each).
    pub active: Gauge,
    pub requests: AtomicU64,
    pub responses: ResponseCounters,
    /// Failed connects, failed or timed-out exchanges, aborted bodies.
    pub errors: AtomicU64,
    /// New TCP connections (the rest reused the idle pool).
    pub connects: AtomicU64,
    /// Time from sending the request to the response head.
    pub latency: LatencyCounters,
    pub checks_failed: AtomicU64,
}

/// Everything the proxy counts, at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    pub frontends: Vec<FrontendStats>,
    pub backends: Vec<BackendStats>,
    /// What the datapath steered to each frontend (filled by the daemon;
    /// empty without VIP steering).
    #[serde(default)]
    pub steering: Vec<crate::steering::FrontendSteering>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontendStats {
    pub name: String,
    pub backend: String,
    pub connections: GaugeSnapshot,
    pub requests: u64,
    pub responses: Responses,
    pub errors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendStats {
    pub name: String,
    pub balance: Balance,
    pub health: PoolHealth,
    pub requests: u64,
    pub responses: Responses,
    pub errors: u64,
    pub retries: u64,
    pub redispatches: u64,
    pub queue: GaugeSnapshot,
    pub servers: Vec<ServerStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerStats {
    pub name: String,
    pub address: String,
    /// `up`, `down`, or `up` without checks (`checked` false).
    pub state: super::health::HealthState,
    pub checked: bool,
    pub weight: u32,
    pub maxconn: u32,
    pub active: GaugeSnapshot,
    pub requests: u64,
    pub responses: Responses,
    pub errors: u64,
    pub connects: u64,
    pub checks_failed: u64,
    pub latency: Latency,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GaugeSnapshot {
    pub current: u64,
    pub max: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Responses {
    pub informational: u64,
    pub success: u64,
    pub redirection: u64,
    pub client_error: u64,
    pub server_error: u64,
}

impl Responses {
    /// `(class label, count)` pairs, `1xx` to `5xx`.
    #[must_use]
    pub fn by_class(&self) -> [(&'static str, u64); 5] {
        [
            ("1xx", self.informational),
            ("2xx", self.success),
            ("3xx", self.redirection),
            ("4xx", self.client_error),
            ("5xx", self.server_error),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub sum_us: u64,
    pub max_us: u64,
    /// Cumulative `(upper bound in seconds, count)`, as Prometheus wants.
    pub buckets: Vec<(f64, u64)>,
}
