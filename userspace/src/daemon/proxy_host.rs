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
        let (steering, bound) = match steering {
            None => (None, std::collections::BTreeMap::new()),
            Some((plan, maps)) => {
                let (steering, bound) = runtime
                    .handle()
                    .spawn(async move { ProxySteering::bind(plan, maps) })
                    .await
                    .map_err(|err| fail("steering task")(err.into()))?
                    .map_err(|err| fail("steering")(err.into()))?;
                (Some(steering), bound)
            }
        };
        let handle = runtime
            .handle()
            .spawn(proxy::start_with(config, bound))
            .await
            .map_err(|err| fail("proxy task")(err.into()))?
            .map_err(|err| fail("proxy")(err.into()))?;
        let handle = Arc::new(handle);
        let admin_stop = match admin_bind {
            None => None,
            Some(address) => {
                let (stop, stopped) = watch::channel(false);
                let listener = runtime
                    .handle()
                    .spawn(async move { tokio::net::TcpListener::bind(address).await })
                    .await
                    .map_err(|err| fail("admin task")(err.into()))?
                    .map_err(|cause| {
                        fail("admin listener")(AdminBindError { address, cause }.into())
                    })?;
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
        })
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
