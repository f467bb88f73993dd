//! `cargo xtask bench ...`: measurements of halb against the classic tool it replaces, on
//! the scenario lab. A benchmark is not a test: it prints figures and the targets
//! (met / not met) and fails only when it cannot measure.
//!
//! One subcommand per component. `vrrp` ([`vrrp`]) exists; the others (`vxlan`, `stp`,
//! `proxy`) join when their halb implementation does, each as one more arm of
//! [`BenchCommand`]. Shared pieces: [`sampler`] (open-loop HTTP sampling from inside a lab
//! namespace), [`outage`] (gaps between answers, run statistics), [`report`] (the table).

pub mod outage;
pub mod report;
pub mod sampler;
pub mod soak;
pub mod vrrp;

use anyhow::Result;
use clap::{Args, Subcommand};

/// Benchmarks on the scenario lab (root only; each brings up its own lab and removes it).
#[derive(Args, Debug)]
#[command(
    after_help = "Only `vrrp` exists today; benchmarks of halb's VXLAN (#3), STP (#5) and L7 proxy (#6) come with those implementations."
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
}

/// `cargo xtask bench ...`
pub fn main(args: BenchArgs) -> Result<()> {
    match args.bench {
        BenchCommand::Vrrp(a) => vrrp::run(&a),
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
        for name in ["vxlan", "stp", "proxy", "nonsense"] {
            let Err(err) = Cli::try_parse_from(["xtask", "bench", name]) else {
                panic!("bench {name} parsed")
            };
            let text = err.to_string();
            assert!(text.contains(&format!("unrecognized subcommand '{name}'")), "{text}");
        }
        assert!(Cli::try_parse_from(["xtask", "bench", "vrrp"]).is_ok());
    }
}
