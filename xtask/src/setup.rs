//! `cargo xtask setup`: installs what a fresh Debian 12 machine lacks, and
//! takes a second when nothing is missing. Every step either confirms its
//! piece is present or installs it; a failure names the missing piece.
//!
//! The recipe for the eBPF toolchain is the one measured in
//! ../shared/TOOLCHAIN.md: nightly + rust-src, and bpf-linker built against
//! the nightly's own libLLVM (a plain `cargo install bpf-linker` cannot find
//! libLLVM on these machines).

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{bail, Context as _};

/// Debian packages: the lab's tools and the classic stack halb is compared with.
pub const DEBIAN_PACKAGES: &[&str] = &[
    "bpftool",
    "iproute2",
    "iputils-ping",
    "tcpdump",
    "ethtool",
    "procps",
    "curl",
    "haproxy",
    "keepalived",
    "nginx-light",
    "wrk",
    "iperf3",
    // systemd-analyze checks the unit `cargo xtask install` writes.
    "systemd",
    // promtool checks the metrics halb exports.
    "prometheus",
    // Headless, it loads the status page in the tests.
    "chromium",
];

/// bpf-linker's version and LLVM flavour, matching the installed nightly.
const BPF_LINKER_VERSION: &str = "0.13.0";
const BPF_LINKER_LLVM_FEATURE: &str = "llvm-22";
/// Where the nightly's libLLVM is exposed to bpf-linker's build.
const LLVM_PREFIX: &str = "/opt/rustc-llvm";
const BPFFS: &str = "/sys/fs/bpf";
/// cargo-fuzz, for the fuzz targets (`cargo xtask fuzz`, part of the suite).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// `cargo xtask setup`: every step says what it found or installed.
pub fn run() -> anyhow::Result<()> {
    install_missing(Report::EveryStep)?;
    println!("setup: everything is in place");
    Ok(())
}

/// What the other entry points run first: installs what is missing like [`run`], but
/// prints only what it installs, so a machine that has everything sees no output.
pub fn ensure() -> anyhow::Result<()> {
    install_missing(Report::InstallsOnly)
}

/// Which of the setup steps print a line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Report {
    EveryStep,
    InstallsOnly,
}

impl Report {
    /// Prints "setup: WHAT" for a piece that was already there, when every step reports.
    fn present(self, what: &str) {
        if self == Report::EveryStep {
            println!("setup: {what}");
        }
    }
}

fn install_missing(report: Report) -> anyhow::Result<()> {
    check_root()?;
    debian_packages(report).context("setup: Debian packages")?;
    rust_src(report).context("setup: nightly rust-src")?;
    lint_tools(report).context("setup: clippy and rustfmt")?;
    bpf_linker(report).context("setup: bpf-linker")?;
    cargo_fuzz(report).context("setup: cargo-fuzz")?;
    bpffs(report).context("setup: bpffs")
}

fn check_root() -> anyhow::Result<()> {
    let out = Command::new("id").arg("-u").output().context("running `id -u`")?;
    if String::from_utf8_lossy(&out.stdout).trim() != "0" {
        bail!("setup: must run as root (network namespaces, BPF, apt)");
    }
    Ok(())
}

fn debian_packages(report: Report) -> anyhow::Result<()> {
    let missing = missing_packages(DEBIAN_PACKAGES)?;
    if missing.is_empty() {
        report.present(&format!("Debian packages present ({})", DEBIAN_PACKAGES.len()));
        return Ok(());
    }
    println!("setup: installing Debian packages: {}", missing.join(" "));
    // No init system here: keep package scripts from trying to start the
    // services (we start our own instances inside namespaces). policy-rc.d
    // is Debian's mechanism for exactly this; we only add it if absent.
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let added_policy = !policy.exists();
    if added_policy {
        std::fs::write(policy, "#!/bin/sh\nexit 101\n").context("writing policy-rc.d")?;
        run_status(Command::new("chmod").args(["755", "/usr/sbin/policy-rc.d"]))?;
    }
    let result = (|| {
        run_status(
            Command::new("apt-get").args(["update", "-q"]).env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        run_status(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    })();
    if added_policy {
        let _ = std::fs::remove_file(policy);
    }
    result.with_context(|| format!("apt-get install {}", missing.join(" ")))?;
    let still = missing_packages(DEBIAN_PACKAGES)?;
    if !still.is_empty() {
        bail!("still missing after apt-get install: {}", still.join(" "));
    }
    Ok(())
}

fn missing_packages(packages: &[&str]) -> anyhow::Result<Vec<String>> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${db:Status-Status}\n"])
        .args(packages)
        .stderr(Stdio::null())
        .output()
        .context("running dpkg-query (is this Debian?)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let installed: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, status)| *status == "installed")
        .map(|(name, _)| name)
        .collect();
    Ok(packages
        .iter()
        .filter(|pkg| !installed.contains(pkg))
        .map(|pkg| (*pkg).to_owned())
        .collect())
}

fn nightly_sysroot() -> anyhow::Result<PathBuf> {
    let out = Command::new("rustc")
        .args(["+nightly", "--print", "sysroot"])
        .output()
        .context("running `rustc +nightly` (is the nightly toolchain installed with rustup?)")?;
    if !out.status.success() {
        bail!("the nightly toolchain is missing: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn rust_src(report: Report) -> anyhow::Result<()> {
    let library = nightly_sysroot()?.join("lib/rustlib/src/rust/library/core");
    if library.exists() {
        report.present("nightly rust-src present");
        return Ok(());
    }
    println!("setup: installing rust-src for nightly");
    run_status(Command::new("rustup").args([
        "component",
        "add",
        "rust-src",
        "--toolchain",
        "nightly",
    ]))
}

/// clippy and rustfmt for the default toolchain: the test suite checks
/// lints and formatting first.
fn lint_tools(report: Report) -> anyhow::Result<()> {
    let answers = |tool: &str| {
        Command::new("cargo")
            .args([tool, "--version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if answers("clippy") && answers("fmt") {
        report.present("clippy and rustfmt present");
        return Ok(());
    }
    println!("setup: installing clippy and rustfmt");
    run_status(Command::new("rustup").args(["component", "add", "clippy", "rustfmt"]))
}

/// bpf-linker links against the nightly's own libLLVM, which only the
/// nightly's environment puts on the library path; aya-build runs it the
/// same way (`rustup run nightly`), so that is how we check it.
fn bpf_linker_version() -> Option<String> {
    let out =
        Command::new("rustup").args(["run", "nightly", "bpf-linker", "--version"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn bpf_linker(report: Report) -> anyhow::Result<()> {
    if let Some(version) = bpf_linker_version() {
        report.present(&format!("{version} present"));
        return Ok(());
    }
    let lib_dir = nightly_sysroot()?.join("lib");
    let libllvm = std::fs::read_dir(&lib_dir)
        .with_context(|| format!("reading {}", lib_dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("libLLVM.so.") && name.contains("-rust-")
        })
        .with_context(|| format!("no libLLVM.so.*-rust-* in {}", lib_dir.display()))?;
    let link_dir = Path::new(LLVM_PREFIX).join("lib");
    std::fs::create_dir_all(&link_dir)
        .with_context(|| format!("creating {}", link_dir.display()))?;
    let link = link_dir.join("libLLVM.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&libllvm, &link)
        .with_context(|| format!("linking {} -> {}", link.display(), libllvm.display()))?;
    println!(
        "setup: building bpf-linker {BPF_LINKER_VERSION} against {} (a few minutes)",
        libllvm.display()
    );
    run_status(
        Command::new("cargo")
            .args(["+nightly", "install", "bpf-linker", "--version", BPF_LINKER_VERSION])
            .args(["--no-default-features", "--features", BPF_LINKER_LLVM_FEATURE])
            .env("LLVM_PREFIX", LLVM_PREFIX),
    )?;
    bpf_linker_version()
        .map(|_| ())
        .context("bpf-linker was installed but `rustup run nightly bpf-linker --version` fails; is ~/.cargo/bin on PATH?")
}

fn cargo_fuzz_version() -> Option<String> {
    let out = Command::new("cargo").args(["+nightly", "fuzz", "--version"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn cargo_fuzz(report: Report) -> anyhow::Result<()> {
    if let Some(version) = cargo_fuzz_version() {
        report.present(&format!("{version} present"));
        return Ok(());
    }
    println!("setup: installing cargo-fuzz {CARGO_FUZZ_VERSION} (a minute or two)");
    run_status(Command::new("cargo").args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))?;
    cargo_fuzz_version()
        .map(|_| ())
        .context("cargo-fuzz was installed but `cargo +nightly fuzz --version` fails; is ~/.cargo/bin on PATH?")
}

fn bpffs(report: Report) -> anyhow::Result<()> {
    let mounted =
        Command::new("mountpoint").args(["-q", BPFFS]).status().is_ok_and(|s| s.success());
    if mounted {
        report.present(&format!("bpffs mounted at {BPFFS}"));
        return Ok(());
    }
    println!("setup: mounting bpffs at {BPFFS}");
    run_status(Command::new("mount").args(["-t", "bpf", "bpf", BPFFS]))
}

/// Runs a command with inherited output; fails naming it.
pub fn run_status(command: &mut Command) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
