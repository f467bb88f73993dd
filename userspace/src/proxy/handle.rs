//! Starting and steering a running proxy: [`start`] binds every frontend
//! and starts every backend's checkers; the [`Handle`] it returns reads
//! statistics and pool health, replaces server lists, and shuts down.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::{AsFd as _, OwnedFd};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, Instrument};

use super::backend::Backend;
use super::config::{first_duplicate, Config, ServerConfig};
use super::forward::Forwarder;
use super::frontend::Frontend;
use super::health::PoolHealth;
use super::stats::FrontendCounters;
use super::stats::{prometheus, StatsSnapshot};
use super::ProxyError;

/// A running proxy.
pub struct Handle {
    frontends: Vec<(Arc<Frontend>, SocketAddr)>,
    backends: HashMap<String, Arc<Backend>>,
    /// Backend names in configuration order, for stable output.
    order: Vec<String>,
    shutdown: watch::Sender<bool>,
    /// Turns true when the proxy drains: no more accepting.
    draining: watch::Sender<bool>,
    /// A duplicate of each frontend's listening socket, by frontend name,
    /// for handing to a new process.
    listeners: Vec<(String, OwnedFd)>,
    tasks: JoinSet<()>,
}

/// Binds the frontends and starts serving. Must run inside a tokio runtime
/// with time and I/O enabled.
pub async fn start(config: Config) -> Result<Handle, ProxyError> {
    start_with(config, BTreeMap::new()).await
}

/// [`start`], with the listeners of some frontends bound by the caller (by
/// frontend name; listening, e.g. steered into by the datapath): those are
/// served as they are, the others bound from the config.
pub async fn start_with(
    config: Config,
    mut bound: BTreeMap<String, std::net::TcpListener>,
) -> Result<Handle, ProxyError> {
    let mut backends = HashMap::new();
    let mut order = Vec::new();
    for b in config.backends {
        order.push(b.name.clone());
        backends.insert(b.name.clone(), Backend::start(b, config.timeouts));
    }
    let (shutdown, _) = watch::channel(false);
    let (draining, _) = watch::channel(false);
    let mut listeners = Vec::new();
    let mut duplicates = Vec::new();
    for f in config.frontends {
        let listener = match bound.remove(&f.name) {
            Some(listener) => {
                listener.set_nonblocking(true).and_then(|()| TcpListener::from_std(listener))
            }
            None => TcpListener::bind(f.bind).await,
        };
        let listener = match listener {
            Ok(listener) => listener,
            Err(source) => {
                for b in backends.values() {
                    b.stop();
                }
                return Err(ProxyError::Bind { frontend: f.name, address: f.bind, source });
            }
        };
        let address = listener.local_addr().map_err(|source| ProxyError::Bind {
            frontend: f.name.clone(),
            address: f.bind,
            source,
        })?;
        let backend = Arc::clone(&backends[&f.backend]);
        let frontend = Arc::new(Frontend {
            name: f.name,
            counters: FrontendCounters::default(),
            forwarder: Forwarder {
                backend,
                retries: config.retries,
                redispatch: config.redispatch,
            },
            maxconn: f.maxconn,
            client_timeout: config.timeouts.client,
            http_request_timeout: config.timeouts.http_request,
            draining: std::sync::atomic::AtomicBool::new(false),
        });
        let duplicate = listener.as_fd().try_clone_to_owned().map_err(|source| {
            ProxyError::Bind { frontend: frontend.name.clone(), address: f.bind, source }
        })?;
        duplicates.push((frontend.name.clone(), duplicate));
        listeners.push((frontend, listener, address));
    }
    let mut tasks = JoinSet::new();
    let mut frontends = Vec::new();
    for (frontend, listener, address) in listeners {
        info!(frontend = %frontend.name, %address, backend = %frontend.forwarder.backend.name(), "listening");
        let span = tracing::info_span!("frontend", name = %frontend.name);
        tasks.spawn(
            Arc::clone(&frontend)
                .serve(listener, shutdown.subscribe(), draining.subscribe())
                .instrument(span),
        );
        frontends.push((frontend, address));
    }
    Ok(Handle { frontends, backends, order, shutdown, draining, listeners: duplicates, tasks })
}

/// Runs `config` until `shutdown` completes, then stops cleanly.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ProxyError> {
    let handle = start(config).await?;
    shutdown.await;
    handle.shutdown().await;
    Ok(())
}

impl Handle {
    /// The address a frontend listens on (the real port when bound to 0).
    #[must_use]
    pub fn local_addr(&self, frontend: &str) -> Option<SocketAddr> {
        self.frontends.iter().find(|(f, _)| f.name == frontend).map(|(_, a)| *a)
    }

    /// Each frontend's listening socket (a new descriptor of the same
    /// socket), by frontend name.
    pub fn listeners(&self) -> std::io::Result<Vec<(String, OwnedFd)>> {
        self.listeners.iter().map(|(name, fd)| Ok((name.clone(), fd.try_clone()?))).collect()
    }

    /// Stops accepting (the listening sockets stay open for whoever else
    /// holds them), answers every further request with `Connection:
    /// close`, and waits until the client connections are gone or `grace`
    /// has passed. Returns the connections still open then.
    pub async fn drain(&self, grace: Duration) -> u64 {
        for (frontend, _) in &self.frontends {
            frontend.draining.store(true, Relaxed);
        }
        let _ = self.draining.send(true);
        let deadline = Instant::now() + grace;
        loop {
            let open: u64 =
                self.frontends.iter().map(|(f, _)| f.counters.connections.snapshot().current).sum();
            if open == 0 || Instant::now() >= deadline {
                return open;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Replaces a backend's servers while running. Servers kept (same name,
    /// address and check settings) keep their connections and health;
    /// requests in flight on removed servers complete.
    pub fn update_servers(
        &self,
        backend: &str,
        servers: Vec<ServerConfig>,
    ) -> Result<(), ProxyError> {
        let b = self
            .backends
            .get(backend)
            .ok_or_else(|| ProxyError::UnknownBackend(backend.to_owned()))?;
        if let Some(i) = first_duplicate(&servers) {
            return Err(ProxyError::DuplicateServer(servers[i].name.clone()));
        }
        b.replace_servers(servers);
        Ok(())
    }

    /// Servers up, total, and weight up, updated on every transition.
    #[must_use]
    pub fn pool_health(&self, backend: &str) -> Option<watch::Receiver<PoolHealth>> {
        self.backends.get(backend).map(|b| b.health())
    }

    #[must_use]
    pub fn stats(&self) -> StatsSnapshot {
        StatsSnapshot {
            frontends: self
                .frontends
                .iter()
                .map(|(f, _)| f.counters.snapshot(&f.name, f.forwarder.backend.name()))
                .collect(),
            backends: self.order.iter().map(|name| self.backends[name].snapshot()).collect(),
            steering: Vec::new(),
        }
    }

    /// [`Self::stats`] in Prometheus text format.
    #[must_use]
    pub fn prometheus(&self) -> String {
        prometheus::render(&self.stats())
    }

    /// Stops accepting, lets open requests finish (bounded), stops checks.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
        for backend in self.backends.values() {
            backend.stop();
        }
        info!("proxy stopped");
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for backend in self.backends.values() {
            backend.stop();
        }
    }
}
