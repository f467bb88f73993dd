//! Is the lab healthy? STP converged to the predicted tree, bal1 alone holds the VIP, and
//! user gets an HTTP answer from the VIP.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::faults::{self, Fault};
use super::kernel;
use super::probe;
use super::rundir::Lab;
use super::stp::{self, Tree};
use super::topo;

#[must_use]
pub fn vip_addr() -> SocketAddr {
    SocketAddr::from(([172, 16, 1, 254], topo::SERVICE_PORT))
}

/// Reads the kernel, predicts the tree for the current faults, and lists the differences.
pub fn stp_diffs(lab: &Lab, failed: &[Fault]) -> Result<(Tree, Vec<String>)> {
    let states = kernel::read_stp(lab)?;
    let inactive = faults::inactive_ports(failed);
    let tree = stp::predict(&kernel::net_from(&states, &inactive))?;
    let diffs = kernel::compare(&states, &tree, &inactive);
    Ok((tree, diffs))
}

/// One look at the lab; `Ok(())` when healthy, else what is wrong.
fn check_once(lab: &Lab) -> Result<(), String> {
    let (tree, diffs) = stp_diffs(lab, &[]).map_err(|e| format!("{e:#}"))?;
    if tree.root_of(topo::ROOT_BRIDGE) != Some(topo::ROOT_BRIDGE) {
        return Err(format!("predicted root is not {}", topo::ROOT_BRIDGE));
    }
    if !diffs.is_empty() {
        return Err(format!("STP not converged: {}", diffs.join("; ")));
    }
    let holders = kernel::vip_holders(lab);
    if holders != ["bal1"] {
        return Err(format!("VIP held by [{}] (expected bal1 alone)", holders.join(", ")));
    }
    let ns = lab.ns("user");
    match probe::requests(&ns, vip_addr(), 1).map_err(|e| format!("{e:#}"))?.pop() {
        Some(Ok(body)) if probe::Reply::parse(&body).is_some() => Ok(()),
        Some(Ok(body)) => Err(format!("user got an unexpected page from the VIP: {body:?}")),
        Some(Err(e)) => Err(format!("user cannot fetch http://{}/: {e}", vip_addr())),
        None => Err("no request made".into()),
    }
}

/// Waits until healthy; returns how long it took, or an error naming what did not come up.
pub fn wait_healthy(lab: &Lab, timeout: Duration) -> Result<Duration> {
    let failed = faults::failed(lab);
    if !failed.is_empty() {
        let names: Vec<String> = failed.iter().map(ToString::to_string).collect();
        bail!(
            "failed items: {} (heal them first with `cargo xtask lab heal ...`)",
            names.join(", ")
        );
    }
    let start = Instant::now();
    loop {
        match check_once(lab) {
            Ok(()) => return Ok(start.elapsed()),
            Err(why) => {
                if start.elapsed() >= timeout {
                    bail!("not healthy after {}s: {why}", timeout.as_secs());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
