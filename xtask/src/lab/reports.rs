//! What the lab reads of halb's daemons: `halb ... --json`, bounded in time, as the
//! daemon's own report types (`halb::control` for status, VRRP and STP, `halb::vxlan` and
//! `halb::proxy::stats` for the tunnel and the proxy), so a renamed or retyped field is a
//! clear error here instead of a silent default. Also what `lab status` and `lab check`
//! make of them: [`VxlanSummary`], a balancer's server states in haproxy's words.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use halb::control::{stp::StpReport, vrrp::VrrpReport};
use halb::proxy::health::HealthState;
use halb::proxy::StatsSnapshot;
use halb::vxlan::VxlanReport;
use serde::de::DeserializeOwned;

use super::configs::PROXY;
use super::daemon::{binary, run_dir};
use super::rundir::Lab;
use super::sys;
use super::topo;

/// How long a `halb ... --json` query may take before the lab gives up on it.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// `halb vrrp status --json` of `host`'s daemon: every instance it runs.
pub fn vrrp(lab: &Lab, host: &str) -> Result<Vec<VrrpReport>> {
    query(lab, host, &["vrrp", "status"])
}

/// `halb stp show --json` of `node`'s daemon: every bridge whose tree it runs.
pub fn stp(lab: &Lab, node: &str) -> Result<Vec<StpReport>> {
    query(lab, node, &["stp", "show"])
}

/// `halb vxlan stats --json` of `host`'s daemon: its tunnel, if any.
pub fn vxlan(lab: &Lab, host: &str) -> Result<Vec<VxlanReport>> {
    query(lab, host, &["vxlan", "stats"])
}

/// `halb proxy stats --json` of `host`'s daemon: each balancer's proxy, by balancer name.
pub fn proxy(lab: &Lab, host: &str) -> Result<Vec<(String, StatsSnapshot)>> {
    query(lab, host, &["proxy", "stats"])
}

/// Runs `halb ARGS --json --node NODE --run-dir DIR` against `host`'s daemon, bounded in
/// time, and reads its answer as `T`.
fn query<T: DeserializeOwned>(lab: &Lab, host: &str, args: &[&str]) -> Result<T> {
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
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{what}: not the report this xtask was built with"))
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
    summarize_vxlan(&vxlan(lab, host)?)
}

pub fn summarize_vxlan(reports: &[VxlanReport]) -> Result<VxlanSummary> {
    let report = reports.first().context("halb reports no VXLAN tunnel")?;
    let packets = |k: &str| report.counters.get(k).map_or(0, |c| c.packets);
    let drops = report
        .drops
        .iter()
        .filter(|(_, c)| c.packets > 0)
        .map(|(reason, c)| (reason.clone(), c.packets))
        .collect();
    Ok(VxlanSummary {
        state: report.state.clone(),
        encapsulated: packets("encapsulated"),
        decapsulated: packets("decapsulated"),
        flooded: packets("flooded"),
        drops,
    })
}

/// A balancer's server states as halb's proxy sees them (`halb proxy stats --json` of its
/// host's daemon), in haproxy's words: `UP` or `DOWN`.
pub fn proxy_servers(lab: &Lab, bal: &topo::Balancer) -> Result<BTreeMap<String, String>> {
    proxy_server_states(&proxy(lab, bal.host)?, bal.name)
}

pub fn proxy_server_states(
    stats: &[(String, StatsSnapshot)],
    balancer: &str,
) -> Result<BTreeMap<String, String>> {
    let (_, snapshot) = stats
        .iter()
        .find(|(name, _)| name == balancer)
        .with_context(|| format!("halb reports no proxy of {balancer}"))?;
    let backend =
        snapshot.backends.iter().find(|b| b.name == PROXY.backend).with_context(|| {
            format!("halb's proxy of {balancer} has no backend {}", PROXY.backend)
        })?;
    Ok(backend
        .servers
        .iter()
        .map(|s| {
            let state = match s.state {
                HealthState::Up => "UP",
                HealthState::Down => "DOWN",
            };
            (s.name.clone(), state.to_string())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    use halb::datapath::counters::Counter;
    use halb::proxy::stats::{BackendStats, GaugeSnapshot, Latency, Responses, ServerStats};
    use halb::proxy::{Balance, PoolHealth};

    fn server(name: &str, state: HealthState) -> ServerStats {
        ServerStats {
            name: name.to_string(),
            address: "10.0.0.1:80".into(),
            state,
            checked: true,
            weight: 1,
            maxconn: 0,
            active: GaugeSnapshot::default(),
            requests: 0,
            responses: Responses::default(),
            errors: 0,
            connects: 0,
            checks_failed: 0,
            latency: Latency { count: 0, sum_us: 0, max_us: 0, buckets: Vec::new() },
        }
    }

    #[test]
    fn reads_halbs_proxy_stats() {
        let backend = BackendStats {
            name: PROXY.backend.to_string(),
            balance: Balance::RoundRobin,
            health: PoolHealth::default(),
            requests: 0,
            responses: Responses::default(),
            errors: 0,
            retries: 0,
            redispatches: 0,
            queue: GaugeSnapshot::default(),
            servers: vec![server("serv1", HealthState::Up), server("serv2", HealthState::Down)],
        };
        let stats = vec![(
            "bal1".to_string(),
            StatsSnapshot { frontends: Vec::new(), backends: vec![backend], steering: Vec::new() },
        )];
        // What `halb proxy stats --json` prints reads back as the same types.
        let json = serde_json::to_string(&stats).unwrap();
        let stats: Vec<(String, StatsSnapshot)> = serde_json::from_str(&json).unwrap();
        let m = proxy_server_states(&stats, "bal1").unwrap();
        assert_eq!(m["serv1"], "UP");
        assert_eq!(m["serv2"], "DOWN");
        let err = proxy_server_states(&stats, "bal2").unwrap_err().to_string();
        assert!(err.contains("no proxy"), "{err}");
    }

    #[test]
    fn summarizes_halbs_vxlan_stats() {
        let counter = |packets| Counter { packets, bytes: 1 };
        let report = VxlanReport {
            node: "host1".into(),
            state: "running".into(),
            counters: [("encapsulated", 5), ("decapsulated", 4), ("flooded", 2), ("learned", 1)]
                .into_iter()
                .map(|(k, n)| (k.to_string(), counter(n)))
                .collect(),
            drops: [("too_big", 0), ("unknown_remote", 3)]
                .into_iter()
                .map(|(k, n)| (k.to_string(), counter(n)))
                .collect(),
            ..VxlanReport::default()
        };
        let v = summarize_vxlan(&[report]).unwrap();
        assert_eq!((v.encapsulated, v.decapsulated, v.flooded), (5, 4, 2));
        assert_eq!(
            v.to_string(),
            "running, 5 encapsulated, 4 decapsulated, 2 flooded, drops: unknown_remote 3"
        );
        assert!(summarize_vxlan(&[]).is_err());
    }
}
