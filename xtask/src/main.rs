//! `cargo xtask`: one entry point for everything a developer or a demo runs.

use clap::{Parser, Subcommand};

/// halb's developer commands (run as root on Debian 12).
#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing: Debian packages, rust-src, bpf-linker, cargo-fuzz, bpffs.
    Setup,
    /// Build halb and run it: `cargo xtask run -- --config FILE` (arguments go to `halb run`).
    Run(xtask::suite::RunArgs),
    /// Run the whole test suite (setup first): formatting and lints, unit, eBPF program and lab integration tests.
    Test(xtask::suite::TestArgs),
    /// The scenario lab in network namespaces.
    Lab(xtask::lab::LabArgs),
    /// Set up, bring the lab up, walk through the four checkpoints, tear down.
    Demo(xtask::lab::DemoArgs),
    /// Benchmarks against the classic tools: `cargo xtask bench vrrp|proxy|vxlan|stp`.
    Bench(xtask::bench::BenchArgs),
    /// Fuzz what halb parses itself (HTTP heads, BPDUs, VRRP adverts) with cargo fuzz.
    Fuzz(xtask::fuzz::FuzzArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Setup => xtask::setup::run(),
        Command::Run(args) => xtask::suite::run(&args),
        Command::Test(args) => xtask::suite::test(&args),
        Command::Lab(args) => xtask::lab::main(args),
        Command::Demo(args) => xtask::lab::demo(&args),
        Command::Bench(args) => xtask::bench::main(args),
        Command::Fuzz(args) => xtask::fuzz::run(&args),
    }
}
