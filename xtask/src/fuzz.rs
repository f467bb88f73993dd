//! `cargo xtask fuzz`: the coverage-guided fuzz targets of
//! `userspace/fuzz` (cargo fuzz, libFuzzer, nightly) over what halb parses
//! itself: raw HTTP request heads (head tap and header policy, checked
//! against httparse), BPDUs and VRRP adverts (decode never panics, decode
//! and encode round-trip).
//!
//! Each target starts from the committed seeds (`userspace/fuzz/seeds/T`)
//! plus the corpus it grew before (`target/fuzz-corpus/T`, kept between
//! runs). By default a run is deterministic (fixed seed, fixed number of
//! inputs), which is how the test suite runs it; `--secs` fuzzes for a time
//! instead, with a random seed, to look for new findings. A crash or a
//! failed check stops with the reproducer libFuzzer saved under
//! `userspace/fuzz/artifacts/T/`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};

use crate::setup::run_status;
use crate::workspace::workspace_root;

/// Inputs per target in a deterministic run.
const DEFAULT_RUNS: u64 = 300_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Raw request heads: head tap and header policy against httparse.
    HttpRequestHead,
    /// LLC PDUs as BPDUs: decode, encode, decode.
    StpBpdu,
    /// VRRP packets (TTL, addresses, payload): decode, encode, decode.
    VrrpAdvert,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::HttpRequestHead => "http_request_head",
            Target::StpBpdu => "stp_bpdu",
            Target::VrrpAdvert => "vrrp_advert",
        }
    }
}

#[derive(Args, Debug)]
pub struct FuzzArgs {
    /// Targets to run, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "http-request-head,stp-bpdu,vrrp-advert"
    )]
    pub targets: Vec<Target>,
    /// Inputs per target in a deterministic run (fixed seed).
    #[arg(long, default_value_t = DEFAULT_RUNS)]
    pub runs: u64,
    /// Fuzz each target for this many seconds with a random seed instead.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub secs: Option<u64>,
}

impl Default for FuzzArgs {
    /// What the test suite runs: every target, deterministic.
    fn default() -> Self {
        Self {
            targets: vec![Target::HttpRequestHead, Target::StpBpdu, Target::VrrpAdvert],
            runs: DEFAULT_RUNS,
            secs: None,
        }
    }
}

/// Builds the targets (sanitizers on) and runs each one.
pub fn run(args: &FuzzArgs) -> Result<()> {
    let root = workspace_root();
    let fuzz_dir = root.join("userspace/fuzz");
    println!("fuzz: building the fuzz targets (nightly, AddressSanitizer)");
    run_status(cargo_fuzz(&fuzz_dir).args(["build", "-O"])).context("building the fuzz targets")?;
    for target in &args.targets {
        let name = target.name();
        let corpus = root.join("target/fuzz-corpus").join(name);
        std::fs::create_dir_all(&corpus)
            .with_context(|| format!("creating {}", corpus.display()))?;
        let seeds = fuzz_dir.join("seeds").join(name);
        let mut command = cargo_fuzz(&fuzz_dir);
        command.args(["run", "-O", name]).arg(&corpus).arg(&seeds).arg("--");
        if let Some(secs) = args.secs {
            println!("fuzz: {name} for {secs} s");
            command.arg(format!("-max_total_time={secs}"));
        } else {
            println!("fuzz: {name}, {} inputs (seed 1)", args.runs);
            command.args(["-seed=1".to_owned(), format!("-runs={}", args.runs)]);
        }
        command.args(["-print_final_stats=1", "-rss_limit_mb=2048"]);
        run_status(&mut command).with_context(|| {
            format!(
                "fuzz target {name} found a crash or a failed check (reproducer in {})",
                fuzz_dir.join("artifacts").join(name).display()
            )
        })?;
    }
    println!("fuzz: no crash, no failed check");
    Ok(())
}

fn cargo_fuzz(fuzz_dir: &Path) -> Command {
    let mut command = Command::new("cargo");
    command.current_dir(fuzz_dir.parent().unwrap_or(fuzz_dir)).args(["+nightly", "fuzz"]);
    command
}
