//! One server of a backend at run time: its configuration, health, counters
//! and idle keep-alive connections. Shared (`Arc`) by the backend's list,
//! its checker task and every request in flight, so a server removed from
//! the pool lives until its last request ends.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use hyper::client::conn::http1;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::body::ProxyBody;
use super::config::ServerConfig;
use super::health::{HealthMachine, HealthState};
use super::stats::{ServerCounters, ServerStats};

/// One HTTP/1.1 connection to a server, ready for a request.
pub(crate) type Sender = http1::SendRequest<ProxyBody>;

/// Idle keep-alive connections kept per server; more are closed.
pub const MAX_IDLE_PER_SERVER: usize = 32;

#[derive(Debug)]
pub(crate) struct ServerRuntime {
    pub id: u64,
    pub config: ServerConfig,
    weight: AtomicU32,
    maxconn: AtomicU32,
    up: AtomicBool,
    removed: AtomicBool,
    pub health: Mutex<Option<HealthMachine>>,
    pub counters: ServerCounters,
    idle: Mutex<Vec<Sender>>,
    checker: Mutex<Option<AbortHandle>>,
}

impl ServerRuntime {
    pub fn new(id: u64, config: ServerConfig) -> Self {
        Self {
            id,
            weight: AtomicU32::new(config.weight),
            maxconn: AtomicU32::new(config.maxconn),
            up: AtomicBool::new(true),
            removed: AtomicBool::new(false),
            health: Mutex::new(config.check.map(HealthMachine::new)),
            counters: ServerCounters::default(),
            idle: Mutex::new(Vec::new()),
            checker: Mutex::new(None),
            config,
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn weight(&self) -> u32 {
        self.weight.load(Relaxed)
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Relaxed)
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Relaxed);
    }

    /// Applies the parts of a new configuration that change in place.
    pub fn retune(&self, config: &ServerConfig) {
        self.weight.store(config.weight, Relaxed);
        self.maxconn.store(config.maxconn, Relaxed);
    }

    /// Whether another request fits under `maxconn`.
    pub fn has_room(&self) -> bool {
        let max = self.maxconn.load(Relaxed);
        max == 0 || self.counters.active.current() < u64::from(max)
    }

    pub fn active(&self) -> u32 {
        u32::try_from(self.counters.active.current()).unwrap_or(u32::MAX)
    }

    /// Takes the server out: no pooling, no checks. Requests in flight end
    /// normally.
    pub fn retire(&self) {
        self.removed.store(true, Relaxed);
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
        if let Some(h) = self.checker.lock().unwrap_or_else(PoisonError::into_inner).take() {
            h.abort();
        }
    }

    pub fn set_checker(&self, handle: AbortHandle) {
        *self.checker.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
    }

    /// The most recently used idle connection that is still open.
    pub fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    /// Returns a connection whose exchange completed to the idle pool.
    pub fn put_idle(&self, sender: Sender) {
        if self.removed.load(Relaxed) || sender.is_closed() || !self.is_up() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.retain(|s| !s.is_closed());
        if idle.len() < MAX_IDLE_PER_SERVER {
            idle.push(sender);
        }
    }

    pub fn drop_idle(&self) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    pub fn snapshot(&self) -> ServerStats {
        let c = &self.counters;
        ServerStats {
            name: self.config.name.clone(),
            address: self.config.address.to_string(),
            state: if self.is_up() { HealthState::Up } else { HealthState::Down },
            checked: self.config.check.is_some(),
            weight: self.weight(),
            maxconn: self.maxconn.load(Relaxed),
            active: c.active.snapshot(),
            requests: c.requests.load(Relaxed),
            responses: c.responses.snapshot(),
            errors: c.errors.load(Relaxed),
            connects: c.connects.load(Relaxed),
            checks_failed: c.checks_failed.load(Relaxed),
            latency: c.latency.snapshot(),
        }
    }
}

/// A claimed slot on a server: counted in `active` (maxconn, leastconn)
/// until dropped, which wakes requests queued on the backend.
#[derive(Debug)]
pub(crate) struct Slot {
    pub server: Arc<ServerRuntime>,
    released: Arc<Notify>,
}

impl Slot {
    pub fn new(server: Arc<ServerRuntime>, released: Arc<Notify>) -> Self {
        server.counters.active.enter();
        Self { server, released }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.server.counters.active.leave();
        self.released.notify_waiters();
    }
}
