//! The scenario lab: SCENARIO.md's eleven nodes as network namespaces on this machine.
//!
//! `cargo xtask lab up` builds the topology (namespaces `P-<node>`, bridges, veth cables,
//! VXLAN), starts the classic stack (nginx, keepalived, haproxy, kernel STP and VXLAN) or,
//! per component and instance, halb's (VRRP, proxy, VXLAN in the hosts' daemons) and
//! waits until it is healthy; `fail`/`heal` break and repair links, bridges and nodes;
//! `check` measures the four checkpoints; `down` removes everything. Run files live in
//! `/run/halb-lab/P/`. Every command that changes a lab holds that prefix's lock.
//!
//! Modules: [`topo`] (the topology as data), [`plan`] (which implementation runs each
//! component), [`stp`] (802.1D prediction), [`kernel`] (reading live state), [`sys`]
//! (commands, namespaces, processes), [`rundir`] (run dir, lock), [`configs`] (every config
//! file), [`services`] and [`daemon`] (processes), [`up`], [`down`], [`faults`], [`health`],
//! [`status`], [`handover`] (upgrade through halb's CLI), [`probe`] (HTTP probing), [`reports`] (halb's `--json` reports), [`vrrp`] (keepalived's and halb's VRRP state and
//! transitions), [`check`] (the checkpoints), [`demo`].

pub mod check;
pub mod configs;
pub mod daemon;
pub mod demo;
pub mod down;
pub mod faults;
pub mod handover;
pub mod health;
pub mod kernel;
pub mod plan;
pub mod probe;
pub mod reports;
pub mod rundir;
pub mod services;
pub mod status;
pub mod stp;
pub mod sys;
pub mod topo;
pub mod up;
pub mod vrrp;

use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

pub use check::CheckResult;
pub use demo::{demo, DemoArgs};
pub use faults::Fault;
pub use plan::{Stack, StackKind, StackSpec, StpProtocol, StpTimers, VrrpTiming};
pub use rundir::{Lab, LabConfig};

/// The scenario lab in network namespaces (root only).
#[derive(Args, Debug)]
pub struct LabArgs {
    /// Lab prefix: namespaces are PREFIX-<node>, run files under /run/halb-lab/PREFIX/.
    #[arg(long, global = true, default_value = "halb", env = "HALB_LAB_PREFIX")]
    pub prefix: String,
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Subcommand, Debug)]
pub enum LabCommand {
    /// Build the topology, start the stack, wait until healthy.
    Up(UpArgs),
    /// Remove everything of the lab (idempotent).
    Down,
    /// Namespaces, processes, STP ports, VRRP master, failed items.
    Status,
    /// Run a command inside a node: `lab exec swout1 -- bridge link show`.
    Exec(ExecArgs),
    /// Break a link, a bridge or a node (a node's processes are killed with SIGKILL, as a
    /// crash would: no VRRP priority-0 advert, the VIP stays on the interface). For a
    /// balancer with halb VRRP or proxy this kills its host's daemon (every halb role of
    /// that host).
    Fail(FaultArgs),
    /// Stop a node's processes gracefully: SIGTERM (5 s, then SIGKILL), VRRP first, so a
    /// master resigns with priority 0 and the backup takes over after its skew time. For a
    /// balancer with halb VRRP or proxy this stops its host's daemon. `lab heal node N`
    /// restarts.
    Stop(StopArgs),
    /// Repair what `fail` or `stop` broke.
    Heal(FaultArgs),
    /// Measure the four checkpoints of SCENARIO.md; non-zero exit if any fails.
    Check,
    /// Hitless upgrade of a node's halb daemon: `halb upgrade --node N --binary PATH`
    /// (the running daemon hands its listeners and state to the new process).
    Upgrade(UpgradeArgs),
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// Daemon node: host1, host2 (swout1, swout2 when they run halb STP).
    pub host: String,
    /// The new binary (default: `$HALB_BIN` or `target/debug/halb`, as `lab up` runs).
    #[arg(long)]
    pub binary: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Default implementation of all four components; `--stack halb --stp kernel` runs
    /// everything but STP on halb.
    #[arg(long, value_enum, default_value = "classic")]
    pub stack: StackKind,
    /// STP: kernel|halb, or per bridge: vswout1=halb,vswout2=kernel,... halb's bridge runs
    /// kernel STP off, its tree in the daemon of the bridge's node (`[[host.bridge]]`; swout1
    /// and swout2 get a daemon of their own).
    #[arg(long)]
    pub stp: Option<String>,
    /// What halb's STP bridges speak: rstp (802.1D-2004; falls back to STP per port towards
    /// kernel bridges) or stp (802.1D-1998). Default: rstp when every bridge runs halb, stp
    /// when a kernel bridge takes part.
    #[arg(long, value_enum)]
    pub stp_protocol: Option<StpProtocol>,
    /// VRRP: keepalived|halb, or per balancer: bal1=halb,bal2=keepalived. halb's instance
    /// runs in the balancer's host daemon.
    #[arg(long)]
    pub vrrp: Option<String>,
    /// L7 proxy: haproxy|halb, or per balancer: bal1=halb,bal2=haproxy. halb's proxy is
    /// the balancer's `[balancer.proxy]` in its host's daemon, haproxy's config key for key
    /// (admin listener 127.0.0.1:9100 in the balancer).
    #[arg(long)]
    pub proxy: Option<String>,
    /// VXLAN: kernel|halb, or per host: host1=halb,host2=kernel. halb: no `vxlan42` device;
    /// the host's daemon runs `[host.vxlan]` (VNI 42, tunnel port vxl42 in vswinN).
    #[arg(long)]
    pub vxlan: Option<String>,
    /// STP timers: standard (hello 2 s, max age 20 s, forward delay 15 s) or fast (1/6/4 s).
    #[arg(long, value_enum, default_value = "standard")]
    pub stp_timers: StpTimers,
    /// Also run the halb daemon on host1 and host2 (`$HALB_BIN` or `target/debug/halb`).
    /// Without it the daemon runs only on hosts that have a halb component (a balancer's
    /// halb VRRP and proxy run in its host's daemon, a host's halb VXLAN in its own).
    #[arg(long)]
    pub daemon: bool,
    /// VRRP version of every instance, halb's and keepalived's: 2 (RFC 3768, keepalived's
    /// default) or 3 (RFC 5798).
    #[arg(long, default_value_t = 2)]
    pub vrrp_version: u8,
    /// VRRP advert interval in seconds, for every instance: v2 whole seconds 1-255, v3
    /// 0.01-40.95 in 0.01 steps (keepalived 2.2.7 takes the same).
    #[arg(long, default_value = "1")]
    pub vrrp_advert_int: String,
}

impl UpArgs {
    pub fn config(&self) -> Result<LabConfig> {
        let spec = StackSpec {
            stack: Some(self.stack),
            stp: self.stp.as_deref(),
            vrrp: self.vrrp.as_deref(),
            proxy: self.proxy.as_deref(),
            vxlan: self.vxlan.as_deref(),
        };
        let stack = Stack::parse(&spec)?;
        Ok(LabConfig {
            stp_protocol: self.stp_protocol.unwrap_or_else(|| StpProtocol::default_for(&stack)),
            stack,
            timers: self.stp_timers,
            daemon: self.daemon,
            vrrp: VrrpTiming::new(self.vrrp_version, &self.vrrp_advert_int)?,
        })
    }
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Node: user, user2, swout1, swout2, host1, host2, bal1, bal2, serv1, serv2, serv3.
    pub node: String,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub cmd: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    #[command(subcommand)]
    pub target: StopTarget,
}

#[derive(Subcommand, Debug)]
pub enum StopTarget {
    /// A node's processes, stopped gracefully (`lab heal node N` restarts them).
    Node { name: String },
}

#[derive(Args, Debug)]
pub struct FaultArgs {
    #[command(subcommand)]
    pub target: FaultTarget,
}

#[derive(Subcommand, Debug)]
pub enum FaultTarget {
    /// A cable, both ends down/up. Ends are nodes, bridges or node:ifname
    /// (`swout1 swout2`, `swout1 vswout1`, `bal1:ext host1`).
    Link { a: String, b: String },
    /// A whole switch: the bridge and all its ports (peers lose carrier).
    Bridge { name: String },
    /// A node's processes (nginx, keepalived, haproxy, halb), killed / restarted.
    Node { name: String },
}

impl FaultTarget {
    pub fn fault(&self) -> Result<Fault> {
        match self {
            FaultTarget::Link { a, b } => Fault::link(a, b),
            FaultTarget::Bridge { name } => Fault::bridge(name),
            FaultTarget::Node { name } => Fault::node(name),
        }
    }
}

const LOCK_WAIT: Duration = Duration::from_mins(10);

/// `cargo xtask lab ...`
pub fn main(args: LabArgs) -> Result<()> {
    let lab = Lab::new(&args.prefix)?;
    match args.command {
        LabCommand::Up(up) => {
            let config = up.config()?;
            crate::setup::ensure()?;
            up::up(&lab, &config)
        }
        LabCommand::Down => down::down(&lab),
        LabCommand::Status => status::status(&lab),
        LabCommand::Exec(e) => {
            let code = exec(&lab, &e.node, &e.cmd)?;
            if code != 0 {
                std::process::exit(code);
            }
            Ok(())
        }
        LabCommand::Fail(f) => fail(&lab, &f.target.fault()?),
        LabCommand::Stop(StopArgs { target: StopTarget::Node { name } }) => {
            stop(&lab, &Fault::node(&name)?)
        }
        LabCommand::Heal(f) => heal(&lab, &f.target.fault()?),
        LabCommand::Upgrade(u) => {
            operate(&lab, || handover::upgrade(&lab, &u.host, u.binary.as_deref()))
        }
        LabCommand::Check => {
            let results = check(&lab)?;
            let failed = results.iter().filter(|r| !r.pass).count();
            if failed > 0 {
                bail!("{failed} of {} checkpoints failed", results.len());
            }
            Ok(())
        }
    }
}

/// Runs `cmd` in the node's namespace with the terminal attached; returns its exit code
/// (128 + signal if it was killed).
pub fn exec(lab: &Lab, node: &str, cmd: &[String]) -> Result<i32> {
    use std::os::unix::process::ExitStatusExt;
    if !topo::is_node(node) {
        bail!("no node {node:?} (nodes: {})", topo::NODES.join(", "));
    }
    let ns = lab.ns(node);
    if !sys::ns_exists(&ns) {
        bail!(
            "namespace {ns} does not exist: lab {:?} is not up; start it with `cargo xtask lab up --prefix {}`",
            lab.prefix,
            lab.prefix
        );
    }
    let Some((program, rest)) = cmd.split_first() else { bail!("no command given") };
    let status = std::process::Command::new("ip")
        .args(["netns", "exec", &ns, program])
        .args(rest)
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run ip netns exec: {e}"))?;
    Ok(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

pub fn fail(lab: &Lab, fault: &Fault) -> Result<()> {
    sys::require_root()?;
    lab.config()?;
    let _lock = lab.lock(LOCK_WAIT)?;
    faults::fail(lab, fault)
}

/// `lab stop node N`: like `fail node N`, but SIGTERM instead of SIGKILL.
pub fn stop(lab: &Lab, fault: &Fault) -> Result<()> {
    sys::require_root()?;
    lab.config()?;
    let _lock = lab.lock(LOCK_WAIT)?;
    faults::fail_with(lab, fault, services::Kill::Graceful)
}

/// A planned operation on a daemon, under the lab's lock; prints what halb answered.
fn operate(lab: &Lab, op: impl FnOnce() -> Result<String>) -> Result<()> {
    sys::require_root()?;
    lab.config()?;
    let _lock = lab.lock(LOCK_WAIT)?;
    let out = op()?;
    print!("{out}");
    if !out.is_empty() && !out.ends_with('\n') {
        println!();
    }
    Ok(())
}

pub fn heal(lab: &Lab, fault: &Fault) -> Result<()> {
    sys::require_root()?;
    lab.config()?;
    let _lock = lab.lock(LOCK_WAIT)?;
    faults::heal(lab, fault)
}

/// Runs the four checkpoints and prints the table.
pub fn check(lab: &Lab) -> Result<Vec<CheckResult>> {
    check_with(lab, &|_| {})
}

/// Only the checkpoints whose name (`"2 VRRP"`, ...) satisfies `want`.
pub fn check_only(lab: &Lab, want: &dyn Fn(&str) -> bool) -> Result<Vec<CheckResult>> {
    sys::require_root()?;
    lab.config()?;
    let _lock = lab.lock(LOCK_WAIT)?;
    let results = check::run_some(lab, &|_| {}, want)?;
    println!("\n{}", check::table(&results));
    Ok(results)
}

/// Same, calling `intro` before each checkpoint (the demo narrates there).
pub fn check_with(lab: &Lab, intro: &dyn Fn(&str)) -> Result<Vec<CheckResult>> {
    sys::require_root()?;
    // Refuse before creating a lock file for a lab that does not exist.
    lab.config()?;
    let _lock = lab.lock(LOCK_WAIT)?;
    let results = check::run_all(lab, intro)?;
    println!("\n{}", check::table(&results));
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: Top,
    }

    #[derive(Subcommand)]
    enum Top {
        Lab(LabArgs),
    }

    fn parse(args: &[&str]) -> Result<LabArgs, clap::Error> {
        let mut all = vec!["xtask", "lab"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|c| match c.cmd {
            Top::Lab(l) => l,
        })
    }

    #[test]
    fn cli_shapes() {
        let args = parse(&[
            "up",
            "--vrrp",
            "bal1=halb,bal2=keepalived",
            "--stp-timers",
            "fast",
            "--prefix",
            "hlt-x",
        ])
        .unwrap();
        assert_eq!(args.prefix, "hlt-x");
        let LabCommand::Up(up_args) = args.command else { panic!("not up") };
        let config = up_args.config().unwrap();
        assert_eq!(config.timers, StpTimers::Fast);
        assert_eq!(config.stack.get(plan::Component::Vrrp, "bal1"), plan::Impl::Halb);
        assert_eq!(config.vrrp, VrrpTiming::default());
        let args =
            parse(&["up", "--vrrp", "halb", "--vrrp-version", "3", "--vrrp-advert-int", "0.01"])
                .unwrap();
        let LabCommand::Up(up_args) = args.command else { panic!("not up") };
        let config = up_args.config().unwrap();
        assert_eq!(config.vrrp, VrrpTiming::new(3, "0.01").unwrap());
        assert!(config.runs_daemon("host1") && config.runs_daemon("host2"));
        let args = parse(&["up", "--vrrp-advert-int", "0.01"]).unwrap();
        let LabCommand::Up(up_args) = args.command else { panic!("not up") };
        assert!(format!("{:#}", up_args.config().unwrap_err()).contains("VRRPv2"));
        let args = parse(&["up", "--stp", "halb"]).unwrap();
        let LabCommand::Up(up_args) = args.command else { panic!("not up") };
        let config = up_args.config().unwrap();
        assert_eq!(config.stp_protocol, StpProtocol::Rstp, "every bridge runs halb");
        let args = parse(&["up", "--stp", "halb", "--stp-protocol", "stp"]).unwrap();
        let LabCommand::Up(up_args) = args.command else { panic!("not up") };
        assert_eq!(up_args.config().unwrap().stp_protocol, StpProtocol::Stp, "asked for");
        let args = parse(&["up", "--stp", "swout1=halb,swout2=kernel"]).unwrap();
        let LabCommand::Up(up_args) = args.command else { panic!("not up") };
        assert_eq!(up_args.config().unwrap().stp_protocol, StpProtocol::Stp, "kernel bridges");
        assert!(config.runs_daemon("swout1") && config.runs_daemon("host2"));
        assert!(!config.runs_daemon("user") && !config.runs_daemon("bal1"));
        let args = parse(&["up", "--stack", "halb", "--stp-protocol", "rstp"]).unwrap();
        let LabCommand::Up(up_args) = args.command else { panic!("not up") };
        let config = up_args.config().unwrap();
        assert_eq!(config.stack.to_string(), "stp=halb vrrp=halb proxy=halb vxlan=halb");
        assert_eq!(config.stp_protocol, StpProtocol::Rstp);
        let args = parse(&["up", "--stack", "halb", "--stp", "kernel"]).unwrap();
        let LabCommand::Up(up_args) = args.command else { panic!("not up") };
        let config = up_args.config().unwrap();
        assert_eq!(config.stack.to_string(), "stp=kernel vrrp=halb proxy=halb vxlan=halb");
        let args = parse(&[
            "up",
            "--vxlan",
            "host1=halb,host2=kernel",
            "--proxy",
            "bal1=halb,bal2=haproxy",
            "--vrrp",
            "halb",
        ])
        .unwrap();
        let LabCommand::Up(up_args) = args.command else { panic!("not up") };
        let config = up_args.config().unwrap();
        assert_eq!(config.stack.get(plan::Component::Proxy, "bal2"), plan::Impl::Classic);
        assert_eq!(config.stack.get(plan::Component::Vxlan, "host1"), plan::Impl::Halb);
        let args = parse(&["stop", "node", "bal1"]).unwrap();
        let LabCommand::Stop(StopArgs { target: StopTarget::Node { name } }) = args.command else {
            panic!("not stop")
        };
        assert_eq!(name, "bal1");
        assert!(parse(&["stop", "link", "swout1", "swout2"]).is_err());
        let args = parse(&["fail", "link", "swout1", "swout2", "--prefix", "p"]).unwrap();
        assert_eq!(args.prefix, "p");
        let LabCommand::Fail(fail_args) = args.command else { panic!("not fail") };
        assert_eq!(fail_args.target.fault().unwrap(), Fault::Link(0));
        let args = parse(&["exec", "swout1", "--", "bridge", "-d", "link"]).unwrap();
        let LabCommand::Exec(exec_args) = args.command else { panic!("not exec") };
        assert_eq!(exec_args.cmd, ["bridge", "-d", "link"]);
        assert!(parse(&["up", "--stack", "weird"]).is_err());
        assert!(parse(&["exec", "swout1"]).is_err());
        let args = parse(&["upgrade", "host1", "--binary", "/tmp/halb-new"]).unwrap();
        let LabCommand::Upgrade(u) = args.command else { panic!("not upgrade") };
        assert_eq!(
            (u.host.as_str(), u.binary.as_deref()),
            ("host1", Some(Path::new("/tmp/halb-new")))
        );
        let args = parse(&["upgrade", "host2"]).unwrap();
        let LabCommand::Upgrade(u) = args.command else { panic!("not upgrade") };
        assert!(u.binary.is_none());
        assert!(parse(&["upgrade"]).is_err());
        let args = parse(&["heal", "bridge", "nope"]).unwrap();
        let LabCommand::Heal(heal_args) = args.command else { panic!("not heal") };
        assert!(heal_args.target.fault().is_err());
    }
}
