//! `lab down`: idempotent teardown. Recorded processes by PID (SIGTERM, 5 s, SIGKILL), then
//! anything still inside the lab's namespaces, the daemons' bpffs pins, the namespaces (their
//! veths and bridges die with them), the run dir and the lock file.

use std::time::Duration;

use anyhow::{bail, Result};

use super::rundir::{Lab, LabLock};
use super::sys::{self, Proc};
use super::{daemon, topo};

pub fn down(lab: &Lab) -> Result<()> {
    sys::require_root()?;
    let lock = lab.lock(Duration::from_mins(10))?;
    let had = lab.dir.exists() || !lab.existing_namespaces().is_empty();
    teardown(lab, &lock)?;
    lock.remove_file();
    if had {
        println!("lab {} is down", lab.prefix);
    } else {
        println!("lab {} was not up; nothing to remove", lab.prefix);
    }
    Ok(())
}

/// Removes everything of the lab; the caller holds the lock. Keeps going after errors and
/// reports them all at the end.
pub fn teardown(lab: &Lab, _lock: &LabLock) -> Result<()> {
    let mut errors = Vec::new();
    for (node, service, p) in lab.recorded() {
        if let Err(e) = p.terminate(Duration::from_secs(5)) {
            errors.push(format!("{service} on {node}: {e:#}"));
        }
    }
    for ns in lab.existing_namespaces() {
        let left: Vec<Proc> = sys::netns_pids(&ns).into_iter().filter_map(Proc::of_pid).collect();
        for p in left {
            if let Err(e) = p.terminate(Duration::from_secs(5)) {
                errors.push(format!("pid {} in {ns}: {e:#}", p.pid));
            }
        }
    }
    for host in topo::DAEMON_NODES {
        daemon::remove_pins(lab, host);
    }
    for ns in lab.existing_namespaces() {
        if let Err(e) = sys::ip(&["netns", "del", &ns]) {
            errors.push(format!("{e:#}"));
        }
    }
    if lab.dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&lab.dir) {
            errors.push(format!("removing {}: {e}", lab.dir.display()));
        }
    }
    if !errors.is_empty() {
        bail!("lab {} teardown incomplete:\n  {}", lab.prefix, errors.join("\n  "));
    }
    Ok(())
}
