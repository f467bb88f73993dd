//! `cargo xtask bench ...`: measurements of halb against the classic tool it replaces, on
//! the scenario lab. A benchmark is not a test: it prints figures and halb's targets
//! (met / not met) and fails only when it cannot measure.
//!
//! One subcommand per component: `vrrp` ([`vrrp`]) and `stp` ([`stp`]) on the scenario lab,
//! `proxy` ([`proxy`]) and `vxlan` ([`vxlan`]) on small topologies of their own. Shared
//! pieces: [`sampler`] (open-loop HTTP sampling from inside a lab namespace), [`outage`]
//! (gaps between answers, run statistics), [`report`] (the table), [`results`] (the JSON
//! results file every bench writes) and [`chart`] (its SVG chart), [`proxy_env`]
//! (namespaces, processes by PID, bounded commands and CPU accounting of the throughput
//! benches).

pub mod chart;
pub mod outage;
pub mod proxy;
pub mod proxy_env;
pub mod proxy_wrk;
pub mod report;
pub mod results;
pub mod sampler;
pub mod saved;
pub mod soak;
pub mod stp;
pub mod stp_loops;
pub mod stp_plan;
pub mod stp_results;
pub mod vrrp;
pub mod vxlan;
pub mod vxlan_iperf;

use anyhow::Result;
use clap::{Args, Subcommand};

/// Benchmarks on the scenario lab (root only; each brings up its own lab and removes it).
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub bench: BenchCommand,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// VRRP failover as a client sees it: keepalived, halb with the same settings, halb fast
    /// (v3, 10 ms adverts), on link loss, crash and graceful stop of the master.
    Vrrp(vrrp::VrrpArgs),
    /// L7 proxy throughput: haproxy 2.6 and halb's proxy, one thread each on the same core,
    /// same nginx backends, wrk keep-alive, close and paced, bodies 0 B / 1 KiB / 64 KiB.
    Proxy(proxy::ProxyArgs),
    /// STP re-convergence as a client sees it: kernel STP, halb STP and halb RSTP (standard
    /// timers) on a forwarding link and on the root bridge failing, and duplicated frames
    /// (loops).
    Stp(stp::StpArgs),
    /// VXLAN: the kernel's vxlan device and halb's eBPF tunnel between two hosts: small-frame
    /// packets/s at < 0.5 % loss, TCP throughput (1 and 4 streams), CPU per packet.
    Vxlan(vxlan::VxlanArgs),
    /// Draws the SVG chart of a saved results file again (target/bench/<bench>-*.json), without
    /// measuring.
    Chart(chart::ChartArgs),
}

/// `cargo xtask bench ...`
pub fn main(args: BenchArgs) -> Result<()> {
    if let BenchCommand::Chart(a) = &args.bench {
        return chart::redraw(a);
    }
    crate::setup::ensure()?;
    match args.bench {
        BenchCommand::Vrrp(a) => vrrp::run(&a),
        BenchCommand::Stp(a) => stp::run(&a),
        BenchCommand::Proxy(a) => proxy::run(&a),
        BenchCommand::Vxlan(a) => vxlan::run(&a),
        BenchCommand::Chart(a) => chart::redraw(&a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: Top,
    }

    #[derive(Subcommand)]
    enum Top {
        Bench(BenchArgs),
    }

    #[test]
    fn unknown_benchmarks_are_clear_errors() {
        for name in ["nonsense", "mstp"] {
            let Err(err) = Cli::try_parse_from(["xtask", "bench", name]) else {
                panic!("bench {name} parsed")
            };
            let text = err.to_string();
            assert!(text.contains(&format!("unrecognized subcommand '{name}'")), "{text}");
        }
        for name in ["vrrp", "stp", "proxy", "vxlan"] {
            assert!(Cli::try_parse_from(["xtask", "bench", name]).is_ok(), "{name}");
        }
    }
}
