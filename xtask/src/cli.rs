//! The `cargo xtask` command line (clap derive; the doc comments are the help). In the
//! library so that tests can parse documented command lines with the real parser.

use clap::{Parser, Subcommand};

/// halb's developer commands (run as root on Debian 12).
#[derive(Parser)]
#[command(name = "cargo xtask")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Install what is missing: Debian packages, rust-src, bpf-linker, cargo-fuzz, bpffs.
    Setup,
    /// Build halb and run it: `cargo xtask run -- --config FILE` (arguments go to `halb run`).
    Run(crate::suite::RunArgs),
    /// Run the whole test suite (setup first): formatting and lints, unit, eBPF program and lab integration tests.
    Test(crate::suite::TestArgs),
    /// The scenario lab in network namespaces (`lab up` installs what is missing and builds the daemon first).
    Lab(crate::lab::LabArgs),
    /// Set up, bring the lab up, walk through the four checkpoints, tear down.
    Demo(crate::lab::DemoArgs),
    /// Benchmarks against the classic tools: `cargo xtask bench vrrp|proxy|vxlan|stp` (each builds what it runs first).
    Bench(crate::bench::BenchArgs),
    /// Install halb as a systemd service: the release binary, the config (checked), the unit.
    Install(crate::install::InstallArgs),
    /// Fuzz what halb parses itself (HTTP heads, BPDUs, VRRP adverts) with cargo fuzz.
    Fuzz(crate::fuzz::FuzzArgs),
}

impl Cli {
    /// Runs the parsed command.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Setup => crate::setup::run(),
            Command::Run(args) => crate::suite::run(&args),
            Command::Test(args) => crate::suite::test(&args),
            Command::Lab(args) => crate::lab::main(args),
            Command::Demo(args) => crate::lab::demo(&args),
            Command::Bench(args) => crate::bench::main(args),
            Command::Install(args) => crate::install::run(&args),
            Command::Fuzz(args) => {
                crate::setup::ensure()?;
                crate::fuzz::run(&args)
            }
        }
    }
}
