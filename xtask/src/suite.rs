//! `cargo xtask test` (the README's test command) and `cargo xtask run`.

use std::{path::Path, process::Command};

use anyhow::{bail, Context as _};

use crate::daemon_build::{self, Profile};
use crate::setup::{self, run_status};
use crate::workspace::workspace_root;

/// Arguments passed to `halb run`, e.g. `cargo xtask run -- --config host1.toml`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Arguments for `halb run` (after `--`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Options of the test suite.
#[derive(clap::Args)]
pub struct TestArgs {
    /// Skip the setup step (only when you know nothing is missing).
    #[arg(long)]
    pub no_setup: bool,
    /// Extra arguments for `cargo test` (after `--`), e.g. a test name filter.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub cargo_args: Vec<String>,
}

/// Setup, formatting and lints, build (the eBPF object included), then every test of the
/// workspace: unit tests, eBPF program tests on fixture packets
/// (`BPF_PROG_TEST_RUN`), daemon and lab integration tests; then the fuzz
/// targets on a fixed number of inputs.
pub fn test(args: &TestArgs) -> anyhow::Result<()> {
    if !args.no_setup {
        setup::run()?;
    }
    let root = workspace_root();
    lint(&root)?;
    let halb = daemon_build::build(Profile::Debug, "test")?;
    println!("test: running the test suite");
    // halb-ebpf is left out: it only builds for the bpfel target (userspace's
    // build.rs builds it, and its programs are tested through the daemon's
    // loader in userspace/tests).
    run_status(
        Command::new("cargo")
            .current_dir(&root)
            .args(["test", "--workspace", "--exclude", "halb-ebpf", "--no-fail-fast"])
            .args(&args.cargo_args)
            .env("HALB_BIN", halb),
    )
    .context("the test suite failed")?;
    println!("test: fuzz targets, a fixed number of inputs each (deterministic)");
    crate::fuzz::run(&crate::fuzz::FuzzArgs::default()).context("the fuzz targets failed")?;
    println!("test: all tests passed");
    Ok(())
}

/// Formatting and clippy (the workspace's lints, warnings as errors) over
/// every crate but the eBPF one, which only builds for the bpfel target:
/// rustc's own lints still apply to it when userspace's build.rs builds it.
fn lint(root: &Path) -> anyhow::Result<()> {
    println!("test: checking formatting (cargo fmt --check)");
    run_status(Command::new("cargo").current_dir(root).args(["fmt", "--all", "--check"]))
        .context("formatting differs: run `cargo fmt --all`")?;
    println!("test: checking lints (cargo clippy, warnings are errors)");
    run_status(Command::new("cargo").current_dir(root).args([
        "clippy",
        "--workspace",
        "--exclude",
        "halb-ebpf",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
    .context("clippy found warnings")
}

/// Setup, release build, then `halb run ARGS` in the foreground.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    setup::run()?;
    let binary = daemon_build::build(Profile::Release, "run")?;
    let status = Command::new(&binary)
        .arg("run")
        .args(&args.args)
        .status()
        .with_context(|| format!("starting {}", binary.display()))?;
    if !status.success() {
        bail!("halb run exited with {status}");
    }
    Ok(())
}
