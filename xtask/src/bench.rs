//! `cargo xtask bench ...`: measurements of halb against the classic tool it replaces, on
//! the scenario lab. A benchmark is not a test: it prints figures and the targets
//! (met / not met) and fails only when it cannot measure.
//!
//! One subcommand per component: `vrrp` ([`vrrp`], on the scenario lab), `proxy` ([`proxy`])
//! and `vxlan` ([`vxlan`]), the last two on small topologies of their own; `stp` joins when
//! its halb implementation does, as one more arm of [`BenchCommand`]. Shared pieces:
//! [`sampler`] (open-loop HTTP sampling from inside a lab namespace), [`outage`] (gaps
//! between answers, run statistics), [`report`] (the table), [`proxy_env`] (namespaces,
//! processes by PID, bounded commands and CPU accounting of the throughput benches).

pub mod outage;
pub mod proxy;
pub mod proxy_env;
pub mod proxy_wrk;
pub mod report;
pub mod sampler;
pub mod soak;
pub mod vrrp;
pub mod vxlan;
pub mod vxlan_iperf;

use anyhow::Result;
use clap::{Args, Subcommand};

/// Benchmarks on the scenario lab (root only; each brings up its own lab and removes it).
#[derive(Args, Debug)]
#[command(
    after_help = "`vrrp`, `proxy` and `vxlan` exist today; the benchmark of halb's STP (#5) comes with that implementation."
)]
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
    /// same nginx backends, wrk keep-alive and close, bodies 0 B / 1 KiB / 64 KiB.
    Proxy(proxy::ProxyArgs),
    /// VXLAN: the kernel's vxlan device and halb's eBPF tunnel between two hosts: small-frame
    /// packets/s at < 0.5 % loss, TCP throughput (1 and 4 streams), CPU per packet.
    Vxlan(vxlan::VxlanArgs),
}

/// `cargo xtask bench ...`
pub fn main(args: BenchArgs) -> Result<()> {
    match args.bench {
        BenchCommand::Vrrp(a) => vrrp::run(&a),
        BenchCommand::Proxy(a) => proxy::run(&a),
        BenchCommand::Vxlan(a) => vxlan::run(&a),
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
        for name in ["stp", "nonsense"] {
            let Err(err) = Cli::try_parse_from(["xtask", "bench", name]) else {
                panic!("bench {name} parsed")
            };
            let text = err.to_string();
            assert!(text.contains(&format!("unrecognized subcommand '{name}'")), "{text}");
        }
        for name in ["vrrp", "proxy", "vxlan"] {
            assert!(Cli::try_parse_from(["xtask", "bench", name]).is_ok(), "{name}");
        }
    }
}
