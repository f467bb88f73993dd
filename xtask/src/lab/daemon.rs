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

use anyhow::Context as _;
use serde_json::Value;

use super::rundir::Lab;
use super::sys::{self, Proc};
use super::{configs, topo};

const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a `halb ... --json` query may take before the lab gives up on it.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// halb's VXLAN tunnel port in the internal bridge (its peer is `vxl42-dp`). Not named
/// `vxlan42`, so `ip link` tells it from the kernel device of the classic stack.
pub const TUNNEL_PORT: &str = "vxl42";

/// `$HALB_BIN`, else `<workspace>/target/debug/halb`.
pub fn binary() -> Result<PathBuf> {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target/debug/halb");
    let default = default.canonicalize().unwrap_or(default);
    match std::env::var_os("HALB_BIN") {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_file() {
                Ok(p)
            } else {
                bail!("HALB_BIN={} does not exist; unset it to use {}, or build it with `cargo build -p halb`", p.display(), default.display())
            }
        }
        None if default.is_file() => Ok(default),
        None => bail!("the halb daemon is not built: neither $HALB_BIN is set nor {} exists; build it with `cargo build -p halb`", default.display()),
    }
}

#[must_use]
pub fn run_dir(lab: &Lab) -> PathBuf {
    lab.dir.join("halb-run")
}

fn config_path(lab: &Lab, host: &str) -> PathBuf {
    lab.dir.join("halb").join(format!("{host}.toml"))
}

/// Runs `halb ARGS --json --node NODE --run-dir DIR` against `host`'s daemon, bounded in
/// time, and parses its answer.
pub fn query_json(lab: &Lab, host: &str, args: &[&str]) -> Result<Value> {
    let bin = binary()?;
    let node = lab.daemon_node(host);
    let what = format!("`halb {} --node {node}`", args.join(" "));
    let mut child = Command::new(&bin)
        .args(args)
        .args(["--json", "--node", &node, "--run-dir"])
        .arg(run_dir(lab))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    // Bounded: a daemon that hangs must not hang the lab.
    let done = sys::wait_until(QUERY_TIMEOUT, Duration::from_millis(20), || {
        child.try_wait().is_ok_and(|s| s.is_some())
    });
    if !done {
        let _ = child.kill();
        let _ = child.wait();
        bail!("{what} did not answer within {QUERY_TIMEOUT:?}");
    }
    let out = child.wait_with_output().with_context(|| format!("reading {what}"))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("{what}: not JSON"))
}

/// halb's VXLAN tunnel on `host` as `lab status` and `lab check` show it: state and
/// packets encapsulated / decapsulated / flooded, drops by reason (`halb vxlan stats --json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VxlanSummary {
    pub state: String,
    pub encapsulated: u64,
    pub decapsulated: u64,
    pub flooded: u64,
    pub drops: Vec<(String, u64)>,
}

impl std::fmt::Display for VxlanSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, {} encapsulated, {} decapsulated, {} flooded",
            self.state, self.encapsulated, self.decapsulated, self.flooded
        )?;
        if self.drops.is_empty() {
            write!(f, ", no drops")
        } else {
            let d: Vec<String> = self.drops.iter().map(|(r, n)| format!("{r} {n}")).collect();
            write!(f, ", drops: {}", d.join(" "))
        }
    }
}

pub fn vxlan_summary(lab: &Lab, host: &str) -> Result<VxlanSummary> {
    parse_vxlan_summary(&query_json(lab, host, &["vxlan", "stats"])?)
}

pub fn parse_vxlan_summary(stats: &Value) -> Result<VxlanSummary> {
    let report =
        stats.as_array().and_then(|a| a.first()).context("halb reports no VXLAN tunnel")?;
    let packets = |m: &Value, k: &str| m[k]["packets"].as_u64().unwrap_or(0);
    let counters = &report["counters"];
    let drops = report["drops"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    v["packets"].as_u64().filter(|n| *n > 0).map(|n| (k.clone(), n))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(VxlanSummary {
        state: report["state"].as_str().unwrap_or("?").to_string(),
        encapsulated: packets(counters, "encapsulated"),
        decapsulated: packets(counters, "decapsulated"),
        flooded: packets(counters, "flooded"),
        drops,
    })
}

/// A balancer's server states as halb's proxy sees them (`halb proxy stats --json` of its
/// host's daemon: `[[balancer, {backends: [{name, servers: [{name, state}]}]}]]`), in
/// haproxy's words: `UP` or `DOWN`.
pub fn proxy_servers(
    lab: &Lab,
    bal: &topo::Balancer,
) -> Result<std::collections::BTreeMap<String, String>> {
    let stats = query_json(lab, bal.host, &["proxy", "stats"])?;
    parse_proxy_servers(&stats, bal.name)
}

pub fn parse_proxy_servers(
    stats: &Value,
    balancer: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    let snapshot = stats
        .as_array()
        .and_then(|all| all.iter().find(|p| p[0].as_str() == Some(balancer)))
        .map(|p| &p[1])
        .with_context(|| format!("halb reports no proxy of {balancer}"))?;
    let backend = snapshot["backends"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["name"].as_str() == Some(configs::PROXY.backend)))
        .with_context(|| {
            format!("halb's proxy of {balancer} has no backend {}", configs::PROXY.backend)
        })?;
    let servers = backend["servers"].as_array().context("backend without servers")?;
    Ok(servers
        .iter()
        .filter_map(|s| {
            let state = s["state"].as_str()?.to_ascii_uppercase();
            Some((s["name"].as_str()?.to_string(), state))
        })
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_halb_stats() {
        let stats: Value = serde_json::from_str(
            r#"[["bal1",{"frontends":[],"backends":[{"name":"misServidores","servers":[
                {"name":"serv1","state":"up"},{"name":"serv2","state":"down"}]}]}]]"#,
        )
        .unwrap();
        let m = parse_proxy_servers(&stats, "bal1").unwrap();
        assert_eq!(m["serv1"], "UP");
        assert_eq!(m["serv2"], "DOWN");
        assert!(parse_proxy_servers(&stats, "bal2").unwrap_err().to_string().contains("no proxy"));
        let vx: Value = serde_json::from_str(
            r#"[{"node":"host1","state":"running",
                 "counters":{"encapsulated":{"packets":5,"bytes":1},"decapsulated":{"packets":4,"bytes":1},"flooded":{"packets":2,"bytes":1},"learned":{"packets":1,"bytes":1}},
                 "drops":{"too_big":{"packets":0,"bytes":0},"unknown_remote":{"packets":3,"bytes":9}}}]"#,
        )
        .unwrap();
        let v = parse_vxlan_summary(&vx).unwrap();
        assert_eq!((v.encapsulated, v.decapsulated, v.flooded), (5, 4, 2));
        assert_eq!(
            v.to_string(),
            "running, 5 encapsulated, 4 decapsulated, 2 flooded, drops: unknown_remote 3"
        );
        assert!(parse_vxlan_summary(&serde_json::json!([])).is_err());
    }
}
