//! Runs one balancer's L7 proxy inside the balancer's network namespace.
//!
//! Every socket the proxy opens (listeners, server connections, health
//! checks, the admin listener) must belong to the balancer's namespace, and
//! tokio tasks migrate between worker threads. So each proxy gets a tokio
//! runtime of its own ([`ProxyRuntime`]) whose threads all enter the
//! namespace when they start and never leave it.
//!
//! With VIP steering, the steered frontends' listeners are bound by
//! [`ProxySteering`] on the same runtime and handed to the proxy.

use std::{fs::File, sync::Arc, time::Duration};

use tokio::sync::watch;

use super::admin;
use super::handover_state::Inherited;
use super::proxy_runtime::ProxyRuntime;
use super::proxy_steering::ProxySteering;
use crate::{
    datapath::steering::SteeringMaps,
    netns::Netns,
    proxy::{self, Handle, PoolHealth, ProxySection, ServerConfig, StatsSnapshot},
    steering::SteeringPlan,
};

/// How long in-flight requests may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(6);

/// What a failed start step says about itself.
type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ProxyHostError {
    #[error("balancer {balancer}: {what}: {cause}")]
    Start { balancer: String, what: &'static str, cause: Cause },
    #[error("proxy stopped")]
    Stopped,
    #[error(transparent)]
    Update(#[from] proxy::ProxyError),
}

impl ProxyHostError {
    /// Whether setting up VIP steering is what failed.
    #[must_use]
    pub fn is_steering(&self) -> bool {
        matches!(self, Self::Start { what, .. } if what.starts_with("steering"))
    }
}

/// The admin listener's address could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("{address}: {cause}")]
struct AdminBindError {
    address: std::net::SocketAddr,
    cause: std::io::Error,
}

/// A proxy's listening sockets for a handover: frontends by name, and the
/// admin listener.
pub type HandedListeners = (Vec<(String, std::os::fd::OwnedFd)>, Option<std::os::fd::OwnedFd>);

/// A running proxy and the runtime it lives on.
pub struct ProxyHost {
    pub balancer: String,
    /// The section it runs, to tell on reload what changed.
    pub section: ProxySection,
    pub admin_bind: Option<std::net::SocketAddr>,
    pub threads: usize,
    /// Bumped on every (re)start, so trackers know to resubscribe.
    pub generation: u64,
    /// VIP steering into this proxy's listeners, when on.
    pub steering: Option<ProxySteering>,
    runtime: Option<ProxyRuntime>,
    handle: Option<Arc<Handle>>,
    admin_stop: Option<watch::Sender<bool>>,
    /// A duplicate of the admin listener's socket, for a handover.
    admin_listener: Option<std::os::fd::OwnedFd>,
}

impl ProxyHost {
    /// Builds the runtime in `netns` and starts the proxy (and the admin
    /// listener) on it; with `steering`, its steered frontends listen where
    /// the plan says and sit in the steering tables.
    #[expect(clippy::too_many_arguments, reason = "one per setting of the balancer's proxy")]
    pub async fn start(
        balancer: &str,
        netns: Option<&Netns>,
        section: ProxySection,
        config: proxy::Config,
        admin_bind: Option<std::net::SocketAddr>,
        threads: usize,
        generation: u64,
        steering: Option<(SteeringPlan, SteeringMaps)>,
        inherited: &Inherited,
    ) -> Result<Self, ProxyHostError> {
        let fail = |what: &'static str| {
            let balancer = balancer.to_owned();
            move |cause: Cause| ProxyHostError::Start { balancer, what, cause }
        };
        let namespace: Option<Arc<File>> = netns
            .map(|netns| netns.file().try_clone().map(Arc::new))
            .transpose()
            .map_err(|err| fail("netns")(err.into()))?;
        let runtime = ProxyRuntime::start(&format!("proxy-{balancer}"), threads, namespace)
            .map_err(|err| fail("runtime")(err.into()))?;
        let owned =
            inherited_clones(inherited).map_err(|err| fail("inherited listener")(err.into()))?;
        let (steering, mut bound) = match steering {
            None => (None, std::collections::BTreeMap::new()),
            Some((plan, maps)) => {
                let from = inherited_clones(inherited)
                    .map_err(|err| fail("inherited listener")(err.into()))?;
                let (steering, bound) = runtime
                    .handle()
                    .spawn(async move { ProxySteering::bind(plan, maps, &from) })
                    .await
                    .map_err(|err| fail("steering task")(err.into()))?
                    .map_err(|err| fail("steering")(err.into()))?;
                (Some(steering), bound)
            }
        };
        for (frontend, listener) in owned.listeners {
            bound.entry(frontend).or_insert(listener);
        }
        let handle = runtime
            .handle()
            .spawn(proxy::start_with(config, bound))
            .await
            .map_err(|err| fail("proxy task")(err.into()))?
            .map_err(|err| fail("proxy")(err.into()))?;
        let handle = Arc::new(handle);
        let mut admin_listener = None;
        let admin_stop = match admin_bind {
            None => None,
            Some(address) => {
                let (stop, stopped) = watch::channel(false);
                let inherited_admin = owned.admin;
                let listener = runtime
                    .handle()
                    .spawn(async move {
                        match inherited_admin {
                            Some(listener) => listener
                                .set_nonblocking(true)
                                .and_then(|()| tokio::net::TcpListener::from_std(listener)),
                            None => tokio::net::TcpListener::bind(address).await,
                        }
                    })
                    .await
                    .map_err(|err| fail("admin task")(err.into()))?
                    .map_err(|cause| {
                        fail("admin listener")(AdminBindError { address, cause }.into())
                    })?;
                admin_listener = Some(
                    std::os::fd::AsFd::as_fd(&listener)
                        .try_clone_to_owned()
                        .map_err(|err| fail("admin listener")(err.into()))?,
                );
                runtime.handle().spawn(admin::serve(listener, Arc::clone(&handle), stopped));
                Some(stop)
            }
        };
        tracing::info!(%balancer, threads, admin = ?admin_bind, steering = steering.is_some(), "proxy running");
        Ok(Self {
            balancer: balancer.to_owned(),
            section,
            admin_bind,
            threads,
            generation,
            steering,
            runtime: Some(runtime),
            handle: Some(handle),
            admin_stop,
            admin_listener,
        })
    }

    /// Every listening socket of this proxy (new descriptors of the same
    /// sockets) for a daemon taking over: frontends by name, and the admin
    /// listener.
    pub fn listeners(&self) -> std::io::Result<HandedListeners> {
        let frontends = match &self.handle {
            Some(handle) => handle.listeners()?,
            None => Vec::new(),
        };
        let admin =
            self.admin_listener.as_ref().map(std::os::fd::OwnedFd::try_clone).transpose()?;
        Ok((frontends, admin))
    }

    /// Hands the proxy over: stops accepting and the admin listener, lets
    /// the client connections finish their exchange (`Connection: close`)
    /// for at most `grace`, then stops as [`Self::stop`] does.
    pub async fn drain_and_stop(mut self, grace: Duration) {
        if let Some(stop) = self.admin_stop.take() {
            let _ = stop.send(true);
        }
        if let (Some(runtime), Some(handle)) = (&self.runtime, &self.handle) {
            let handle = Arc::clone(handle);
            let drained = runtime.handle().spawn(async move { handle.drain(grace).await }).await;
            match drained {
                Ok(0) => tracing::info!(balancer = %self.balancer, "proxy drained"),
                Ok(open) => {
                    tracing::info!(balancer = %self.balancer, open, ?grace, "drain time over; closing the connections left");
                }
                Err(err) => tracing::warn!(balancer = %self.balancer, %err, "drain task failed"),
            }
        }
        self.stop().await;
    }

    #[must_use]
    pub fn stats(&self) -> Option<StatsSnapshot> {
        let mut stats = self.handle.as_ref().map(|handle| handle.stats())?;
        stats.steering = self.steering.as_ref().map(ProxySteering::report).unwrap_or_default();
        Some(stats)
    }

    #[must_use]
    pub fn pool_health(&self, backend: &str) -> Option<watch::Receiver<PoolHealth>> {
        self.handle.as_ref().and_then(|handle| handle.pool_health(backend))
    }

    /// Replaces a backend's servers without a restart.
    pub fn update_servers(
        &self,
        backend: &str,
        servers: Vec<ServerConfig>,
    ) -> Result<(), ProxyHostError> {
        let (Some(runtime), Some(handle)) = (&self.runtime, &self.handle) else {
            return Err(ProxyHostError::Stopped);
        };
        // Checker tasks of new servers are spawned on the proxy's runtime.
        let _entered = runtime.handle().enter();
        Ok(handle.update_servers(backend, servers)?)
    }

    /// Stops accepting, lets requests in flight finish (bounded), stops the
    /// runtime.
    pub async fn stop(mut self) {
        if let Some(stop) = self.admin_stop.take() {
            let _ = stop.send(true);
        }
        let Some(runtime) = self.runtime.take() else { return };
        if let Some(handle) = self.handle.take() {
            // The admin server holds a clone until it has seen the stop.
            let mut handle = handle;
            for _ in 0..50 {
                match Arc::try_unwrap(handle) {
                    Ok(owned) => {
                        let _ = tokio::time::timeout(
                            SHUTDOWN_GRACE,
                            runtime.handle().spawn(owned.shutdown()),
                        )
                        .await;
                        break;
                    }
                    Err(shared) => {
                        handle = shared;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }
        // Dropping a runtime blocks; do it off the async threads.
        let _ = tokio::task::spawn_blocking(move || runtime.shutdown(Duration::from_secs(2))).await;
        tracing::info!(balancer = %self.balancer, "proxy stopped");
    }
}

/// New descriptors of the inherited listeners, so a failed start can be
/// retried with the same sockets.
fn inherited_clones(inherited: &Inherited) -> std::io::Result<Inherited> {
    Ok(Inherited {
        listeners: inherited
            .listeners
            .iter()
            .map(|(name, listener)| Ok((name.clone(), listener.try_clone()?)))
            .collect::<std::io::Result<_>>()?,
        admin: inherited.admin.as_ref().map(std::net::TcpListener::try_clone).transpose()?,
    })
}
