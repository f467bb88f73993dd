//! `cargo xtask`: one entry point for everything a developer or a demo runs.

use std::process::ExitCode;

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
    /// The scenario lab in network namespaces (`lab up` installs what is missing and builds the daemon first).
    Lab(xtask::lab::LabArgs),
    /// Set up, bring the lab up, walk through the four checkpoints, tear down.
    Demo(xtask::lab::DemoArgs),
    /// Benchmarks against the classic tools: `cargo xtask bench vrrp|proxy|vxlan|stp` (each builds what it runs first).
    Bench(xtask::bench::BenchArgs),
    /// Install halb as a systemd service: the release binary, the config (checked), the unit.
    Install(xtask::install::InstallArgs),
    /// Fuzz what halb parses itself (HTTP heads, BPDUs, VRRP adverts) with cargo fuzz.
    Fuzz(xtask::fuzz::FuzzArgs),
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Setup => xtask::setup::run(),
        Command::Run(args) => xtask::suite::run(&args),
        Command::Test(args) => xtask::suite::test(&args),
        Command::Lab(args) => xtask::lab::main(args),
        Command::Demo(args) => xtask::lab::demo(&args),
        Command::Bench(args) => xtask::bench::main(args),
        Command::Install(args) => xtask::install::run(&args),
        Command::Fuzz(args) => {
            xtask::setup::ensure()?;
            xtask::fuzz::run(&args)
        }
    }
}

/// Errors end the command as one line, `error: what failed: why`, whatever
/// `RUST_BACKTRACE` says: every error carries its context, and a backtrace of xtask
/// tells a user nothing they can act on.
fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
