//! One backend at run time: the server list (replaced whole on update, so
//! readers never lock for long), the balancer, the queue of requests waiting
//! for a server slot, and the pool health published on a `watch`.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

use tokio::runtime::Handle as Runtime;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tracing::info;

use super::balance::{Balancer, Candidate};
use super::check::{self, CheckSettings, PoolHealthSink};
use super::config::{BackendConfig, CheckKind, ServerConfig, Timeouts};
use super::health::PoolHealth;
use super::server::{ServerRuntime, Slot};
use super::stats::{BackendCounters, BackendStats};

/// Why no server slot could be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoSlot {
    /// No server is up (or all have weight 0).
    NoServer,
    /// Every server is full and the queue is too.
    QueueFull,
    /// Every server stayed full for `timeout queue`.
    QueueTimeout,
}

pub(crate) struct Backend {
    pub config: BackendConfig,
    pub timeouts: Timeouts,
    servers: RwLock<Arc<Vec<Arc<ServerRuntime>>>>,
    balancer: Mutex<Balancer>,
    released: Arc<Notify>,
    health: watch::Sender<PoolHealth>,
    pub counters: BackendCounters,
    next_id: AtomicU64,
    runtime: Runtime,
}

impl Backend {
    /// Builds the backend and starts its checkers (needs a tokio runtime).
    pub fn start(config: BackendConfig, timeouts: Timeouts) -> Arc<Self> {
        let seed = RandomState::new().hash_one(&config.name);
        let backend = Arc::new(Self {
            balancer: Mutex::new(Balancer::new(config.balance, seed)),
            servers: RwLock::new(Arc::new(Vec::new())),
            released: Arc::new(Notify::new()),
            health: watch::channel(PoolHealth::default()).0,
            counters: BackendCounters::default(),
            next_id: AtomicU64::new(0),
            runtime: Runtime::current(),
            timeouts,
            config,
        });
        backend.replace_servers(backend.config.servers.clone());
        backend
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn servers(&self) -> Arc<Vec<Arc<ServerRuntime>>> {
        Arc::clone(&self.servers.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn check_kind(&self) -> &CheckKind {
        &self.config.check
    }

    pub fn health(&self) -> watch::Receiver<PoolHealth> {
        self.health.subscribe()
    }

    /// Installs a new server list. Servers kept by name and address keep
    /// their connections, counters and health (weight and maxconn are
    /// updated in place); new ones start up, with their checker; removed
    /// ones stop receiving requests and finish those in flight.
    pub fn replace_servers(self: &Arc<Self>, configs: Vec<ServerConfig>) {
        let mut guard = self.servers.write().unwrap_or_else(PoisonError::into_inner);
        let old = Arc::clone(&guard);
        let mut next = Vec::with_capacity(configs.len());
        for config in configs {
            let same = old.iter().find(|s| {
                s.config.name == config.name
                    && s.config.address == config.address
                    && s.config.check == config.check
            });
            if let Some(server) = same {
                server.retune(&config);
                next.push(Arc::clone(server));
            } else {
                let id = self.next_id.fetch_add(1, Relaxed);
                let server = Arc::new(ServerRuntime::new(id, config));
                if !old.is_empty() {
                    info!(backend = %self.name(), server = %server.name(),
                        address = %server.config.address, "server added");
                }
                if server.config.check.is_some() {
                    let settings = CheckSettings {
                        kind: self.check_kind().clone(),
                        timeout: self.timeouts.check,
                        backend_name: self.name().to_owned(),
                    };
                    let sink: Weak<Self> = Arc::downgrade(self);
                    let task = self.runtime.spawn(check::run(sink, settings, Arc::clone(&server)));
                    server.set_checker(task.abort_handle());
                }
                next.push(server);
            }
        }
        for server in old.iter().filter(|s| !next.iter().any(|n| Arc::ptr_eq(n, s))) {
            info!(backend = %self.name(), server = %server.name(), "server removed");
            server.retire();
        }
        *guard = Arc::new(next);
        drop(guard);
        self.publish_health();
    }

    /// A slot on the server the balancer picks, skipping `excluded` servers
    /// while others are usable; waits in the queue while all are full.
    pub async fn acquire(&self, excluded: &[u64]) -> Result<Slot, NoSlot> {
        let mut queued: Option<QueueMark<'_>> = None;
        let deadline = Instant::now() + self.timeouts.queue;
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            match self.try_acquire(excluded) {
                Ok(slot) => return Ok(slot),
                Err(NoSlot::QueueFull) => {}
                Err(other) => return Err(other),
            }
            if queued.is_none() {
                if self.counters.queue.current() >= u64::from(self.config.maxqueue) {
                    return Err(NoSlot::QueueFull);
                }
                queued = Some(QueueMark::new(&self.counters));
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return Err(NoSlot::QueueTimeout);
            }
        }
    }

    /// One pick without waiting; `QueueFull` here means "all full".
    fn try_acquire(&self, excluded: &[u64]) -> Result<Slot, NoSlot> {
        let servers = self.servers();
        let usable = |s: &ServerRuntime| s.is_up() && s.weight() > 0;
        if !servers.iter().any(|s| usable(s)) {
            return Err(NoSlot::NoServer);
        }
        let any_unexcluded = servers.iter().any(|s| usable(s) && !excluded.contains(&s.id));
        // Candidates are read and the slot claimed under the balancer lock,
        // so concurrent picks cannot both take a server's last slot.
        let mut balancer = self.balancer.lock().unwrap_or_else(PoisonError::into_inner);
        let candidates: Vec<Candidate> = servers
            .iter()
            .map(|s| Candidate {
                id: s.id,
                weight: s.weight(),
                active: s.active(),
                in_service: usable(s),
                eligible: usable(s)
                    && s.has_room()
                    && !(any_unexcluded && excluded.contains(&s.id)),
            })
            .collect();
        match balancer.pick(&candidates) {
            Some(i) => Ok(Slot::new(Arc::clone(&servers[i]), Arc::clone(&self.released))),
            None => Err(NoSlot::QueueFull),
        }
    }

    pub fn snapshot(&self) -> BackendStats {
        let servers = self.servers().iter().map(|s| s.snapshot()).collect();
        self.counters.snapshot(self.name(), self.config.balance, *self.health.borrow(), servers)
    }

    /// Stops checkers and closes idle connections (shutdown).
    pub fn stop(&self) {
        for server in self.servers().iter() {
            server.retire();
        }
    }
}

/// Counts a request in the backend queue while alive.
struct QueueMark<'a>(&'a BackendCounters);

impl<'a> QueueMark<'a> {
    fn new(counters: &'a BackendCounters) -> Self {
        counters.queue.enter();
        Self(counters)
    }
}

impl Drop for QueueMark<'_> {
    fn drop(&mut self) {
        self.0.queue.leave();
    }
}

impl PoolHealthSink for Backend {
    /// Recomputes the pool health; wakes queued requests when it changed.
    fn publish_health(&self) {
        let servers = self.servers();
        let up = servers.iter().filter(|s| s.is_up());
        let health = PoolHealth {
            servers_up: up.clone().count(),
            servers_total: servers.len(),
            weight_up: up.map(|s| u64::from(s.weight())).sum(),
        };
        self.health.send_if_modified(|h| std::mem::replace(h, health) != health);
        self.released.notify_waiters();
    }
}
