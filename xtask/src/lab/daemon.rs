//! The halb daemon on host1 and host2: with `lab up --daemon` on both (observer datapath),
//! and on every host that runs a halb component. A balancer's halb VRRP and proxy run in its
//! host's daemon, as a `[[balancer.vrrp]]` block that is the lab's keepalived block key for
//! key and a `[balancer.proxy]` block that is its haproxy config key for key; a host's halb
//! VXLAN is the daemon's `[host.vxlan]`, the kernel `vxlan42` device's settings (the config
//! files: [`super::configs::halb`]).
//!
//! Contract with the daemon: `halb run --config FILE --run-dir DIR`, started from the root
//! namespace with `[host] netns = "P-host1"` in its config (the daemon enters the namespaces
//! itself; under `ip netns exec` it would see a fresh /sys without the bpffs mount); ready
//! when `halb status --node NODE --run-dir DIR` exits 0; SIGTERM removes its
//! bpffs pins under `/sys/fs/bpf/halb/NODE` (the lab removes what a killed daemon leaves).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Result};

use super::rundir::Lab;
use super::sys::{self, Proc};
use crate::daemon_build::{self, Profile};

const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// halb's VXLAN tunnel port in the internal bridge (its peer is `vxl42-dp`). Not named
/// `vxlan42`, so `ip link` tells it from the kernel device of the classic stack.
pub const TUNNEL_PORT: &str = "vxl42";

/// The daemon the lab runs: `$HALB_BIN`, else the workspace's debug build (never builds;
/// `lab up` builds it first with [`crate::daemon_build::build`]).
pub fn binary() -> Result<PathBuf> {
    daemon_build::locate(Profile::Debug)
}

#[must_use]
pub fn run_dir(lab: &Lab) -> PathBuf {
    lab.dir.join("halb-run")
}

#[must_use]
pub fn config_path(lab: &Lab, host: &str) -> PathBuf {
    lab.dir.join("halb").join(format!("{host}.toml"))
}

pub fn argv(lab: &Lab, host: &str) -> Result<Vec<String>> {
    Ok(vec![
        binary()?.display().to_string(),
        "run".into(),
        "--config".into(),
        config_path(lab, host).display().to_string(),
        "--run-dir".into(),
        run_dir(lab).display().to_string(),
    ])
}

fn status_ok(bin: &Path, node: &str, dir: &Path) -> bool {
    Command::new(bin)
        .args(["status", "--node", node, "--run-dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Polls `halb status` until it answers, the process dies, or 20 s pass.
pub fn wait_ready(lab: &Lab, host: &str, proc: Proc) -> Result<()> {
    let bin = binary()?;
    let node = lab.daemon_node(host);
    let dir = run_dir(lab);
    let mut dead = false;
    let ok = sys::wait_until(READY_TIMEOUT, Duration::from_millis(200), || {
        dead = !proc.alive();
        dead || status_ok(&bin, &node, &dir)
    });
    let log = lab.log(host, "halb");
    if dead {
        bail!("halb on {host} exited before it was ready:\n{}", sys::tail(&log, 20));
    }
    if !ok {
        bail!(
            "halb on {host} not ready after {}s (`halb status --node {node}` fails):\n{}",
            READY_TIMEOUT.as_secs(),
            sys::tail(&log, 20)
        );
    }
    Ok(())
}

/// Removes `/sys/fs/bpf/halb/NODE` if a killed daemon left it. With the default prefix the
/// node names are plain `host1`/`host2`, so only when this lab ran the daemon.
pub fn remove_pins(lab: &Lab, host: &str) {
    let ours = lab.prefix != "halb" || lab.config().is_ok_and(|c| c.runs_daemon(host));
    if !ours {
        return;
    }
    let dir = Path::new("/sys/fs/bpf/halb").join(lab.daemon_node(host));
    if dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            eprintln!("warning: cannot remove {}: {e}", dir.display());
        }
    }
}
