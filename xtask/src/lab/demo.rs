//! `cargo xtask demo`: set up, bring the classic lab up, walk through the four checkpoints
//! showing what a user would type, print the table, tear down (unless `--keep`). A guard
//! tears the lab down on every exit path, errors and panics included.

use anyhow::{bail, Result};

use super::plan::{Stack, StpTimers};
use super::rundir::{Lab, LabConfig};
use super::{down, sys, up};

/// Set up, bring the lab up, walk through the four checkpoints, tear down.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Leave the lab running at the end (remove it with `cargo xtask lab down`).
    #[arg(long)]
    pub keep: bool,
    /// Lab prefix (namespaces PREFIX-<node>).
    #[arg(long, default_value = "halb")]
    pub prefix: String,
    /// STP timers: standard (802.1D defaults, about 4 minutes in all) or fast.
    #[arg(long, value_enum, default_value = "standard")]
    pub stp_timers: StpTimers,
}

/// Brings the lab down when dropped, unless told to keep it.
struct Teardown<'a> {
    lab: &'a Lab,
    keep: bool,
}

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        if self.keep {
            println!(
                "\nthe lab stays up (--keep): try `cargo xtask lab status --prefix {p}`; remove it with `cargo xtask lab down --prefix {p}`",
                p = self.lab.prefix
            );
            return;
        }
        println!("\ntearing the lab down ...");
        if let Err(e) = down::down(self.lab) {
            eprintln!("lab down failed: {e:#}");
        }
    }
}

fn show(lab: &Lab, node: &str, cmd: &[&str]) {
    let prefix =
        if lab.prefix == "halb" { String::new() } else { format!(" --prefix {}", lab.prefix) };
    println!("\n$ cargo xtask lab exec{prefix} {node} -- {}", cmd.join(" "));
    let (program, args) = cmd.split_first().unwrap_or((&"true", &[]));
    match sys::ns_exec(&lab.ns(node), program, args) {
        Ok(out) => print!("{out}"),
        Err(e) => println!("({e:#})"),
    }
}

fn intro(lab: &Lab, checkpoint: &str) {
    let p = if lab.prefix == "halb" { String::new() } else { format!(" --prefix {}", lab.prefix) };
    let text = match checkpoint.split_whitespace().next() {
        Some("1") => format!(
            "STP: four bridges (swout1, swout2, vswout1, vswout2) and five links form loops; swout2 has\n\
             the lowest priority and becomes root. The check predicts the tree with 802.1D from the kernel's\n\
             bridge and port ids, compares, then cuts a forwarding link and times the recovery.\n\
             Try: cargo xtask lab status{p}; cargo xtask lab exec{p} swout1 -- bridge link show;\n\
             \x20    cargo xtask lab fail{p} link swout1 swout2 (and heal)"
        ),
        Some("2") => format!(
            "VRRP: keepalived on bal1 (priority 150) and bal2 (100), VRID 12, VIP 172.16.1.254. Failing the\n\
             whole switch vswout1 cuts bal1 off; bal2 stops hearing adverts and takes the VIP; on heal\n\
             bal1 preempts. user2 probes the VIP every 20 ms to time what a client sees.\n\
             Try: cargo xtask lab exec{p} bal1 -- ip addr show dev ext; cargo xtask lab fail{p} bridge vswout1"
        ),
        Some("3") => format!(
            "L7: haproxy on the master spreads requests round robin over serv1-3 and health-checks them;\n\
             the servers see the balancer's internal address as client.\n\
             Try: cargo xtask lab exec{p} user -- curl -s http://172.16.1.254:8000/; cargo xtask lab fail{p} node serv2"
        ),
        _ => format!(
            "VXLAN: vxlan42 (VNI 42, UDP 4789) joins vswin1 and vswin2 across the STP network, so serv3\n\
             on host2 is in the same subnet as bal1.\n\
             Try: cargo xtask lab exec{p} host1 -- tcpdump -i swout2 -nn -c 4 udp port 4789"
        ),
    };
    println!("{text}");
}

pub fn demo(args: &DemoArgs) -> Result<()> {
    sys::require_root()?;
    crate::setup::ensure()?;
    let lab = Lab::new(&args.prefix)?;
    let config = LabConfig::new(Stack::classic(), args.stp_timers, false);
    println!("== halb demo: the classic stack of SCENARIO.md in namespaces {}-* ==\n", lab.prefix);
    // The guard exists before `up` so that a lab left up unhealthy is removed too; `up`
    // refuses (without touching anything) when a lab with this prefix already runs, so
    // the guard is disarmed in that case.
    if lab.dir.exists() || !lab.existing_namespaces().is_empty() {
        bail!("lab {:?} is already up; `cargo xtask lab down --prefix {}` first, or pick another --prefix", lab.prefix, lab.prefix);
    }
    let _guard = Teardown { lab: &lab, keep: args.keep };
    up::up(&lab, &config)?;
    println!("\n== what is running ==");
    show(&lab, "swout2", &["bridge", "link", "show"]);
    show(&lab, "bal1", &["ip", "-br", "addr", "show", "dev", "ext"]);
    show(&lab, "bal2", &["ip", "-br", "addr", "show", "dev", "ext"]);
    show(&lab, "user", &["curl", "-s", "--max-time", "3", "http://172.16.1.254:8000/"]);
    println!("\n== the four checkpoints ==");
    let results = super::check_with(&lab, &|name| intro(&lab, name))?;
    let failed = results.iter().filter(|r| !r.pass).count();
    if failed > 0 {
        bail!("{failed} of {} checkpoints failed", results.len());
    }
    println!("all four checkpoints pass");
    Ok(())
}
