//! VIP steering of one running proxy: binds the listeners of the steered
//! frontends where the plan says (inside the balancer's namespace), puts
//! them in the steering program's socket map, and reports the program's
//! counters per frontend.

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
};

use crate::{
    datapath::{steering::SteeringMaps, DatapathError},
    steering::{BalancerSteering, FrontendSteering, SteeringPlan, VipOwnership},
};

/// What a proxy with steering keeps: the plan, the tables, and where each
/// steered frontend's listener ended up (the kernel picks VIP listeners' ports).
#[derive(Clone, Debug)]
pub struct ProxySteering {
    pub plan: SteeringPlan,
    pub maps: SteeringMaps,
    listeners: HashMap<String, SocketAddr>,
}

/// A steered frontend's listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SteeringListenerError {
    #[error("frontend {frontend}: cannot listen on {address}: {cause}")]
    Bind { frontend: String, address: SocketAddr, cause: std::io::Error },
    #[error(transparent)]
    Datapath(#[from] DatapathError),
}

/// Backlog of a steered listener (tokio's `TcpListener::bind` default).
const BACKLOG: i32 = 1024;

impl ProxySteering {
    /// Applies `plan` to the tables and binds a listener for each steered
    /// frontend in the calling thread's namespace (or takes the one
    /// `inherited` from a daemon handing over), each in its socket slot.
    pub fn bind(
        plan: SteeringPlan,
        maps: SteeringMaps,
        inherited: &super::handover_state::Inherited,
    ) -> Result<(Self, BTreeMap<String, std::net::TcpListener>), SteeringListenerError> {
        maps.apply(&plan)?;
        let mut bound = BTreeMap::new();
        let mut listeners = HashMap::new();
        for frontend in &plan.frontends {
            let bind_error = |cause| SteeringListenerError::Bind {
                frontend: frontend.name.clone(),
                address: frontend.listen,
                cause,
            };
            let listener = match inherited.listeners.get(&frontend.name) {
                Some(listener) => listener.try_clone().map_err(bind_error)?,
                None => listen(frontend.listen).map_err(bind_error)?,
            };
            let address = listener.local_addr().map_err(bind_error)?;
            maps.set_socket(frontend.slot, &listener)?;
            listeners.insert(frontend.name.clone(), address);
            bound.insert(frontend.name.clone(), listener);
        }
        Ok((Self { plan, maps, listeners }, bound))
    }

    /// Each steered frontend with its counters (zero when unreadable).
    #[must_use]
    pub fn report(&self) -> Vec<FrontendSteering> {
        self.plan
            .frontends
            .iter()
            .map(|frontend| {
                let counters = self.maps.slot_counters(frontend.slot).unwrap_or_else(|err| {
                    tracing::debug!(frontend = %frontend.name, %err, "steering counters unreadable");
                    halb_common::steering::SteeringCounters::default()
                });
                FrontendSteering {
                    frontend: frontend.name.clone(),
                    slot: frontend.slot,
                    addresses: frontend.keys.iter().map(ToString::to_string).collect(),
                    listener: self
                        .listeners
                        .get(&frontend.name)
                        .map_or_else(|| frontend.listen.to_string(), ToString::to_string),
                    steered: counters.steered,
                    no_socket: counters.no_socket,
                    refused: counters.refused,
                    assign_failed: counters.assign_failed,
                }
            })
            .collect()
    }
}

impl ProxySteering {
    /// The balancer's steering for `halb status`: program, frontends, VIPs.
    #[must_use]
    pub fn balancer_report(&self, balancer: &str, program_id: u32) -> BalancerSteering {
        let vips = self.maps.owned().unwrap_or_else(|err| {
            tracing::debug!(%balancer, %err, "steering ownership unreadable");
            Vec::new()
        });
        BalancerSteering {
            balancer: balancer.to_owned(),
            program_id,
            frontends: self.report(),
            vips: vips
                .into_iter()
                .map(|(address, owned)| VipOwnership { address: address.to_string(), owned })
                .collect(),
        }
    }
}

/// A listening TCP socket on `address` with `SO_REUSEADDR`, as tokio binds.
fn listen(address: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}
