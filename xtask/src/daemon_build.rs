//! Where the halb daemon binary is, and building it before a command needs it.
//!
//! Every xtask entry point that runs the daemon (`lab up`, the benches) calls
//! [`build`] first: with `$HALB_BIN` set it uses that binary as it is, otherwise it runs
//! `cargo build` for the daemon in the profile the command measures with (a no-op when the
//! build is fresh) and says so in one line. The lab and the benches then find the binary
//! with [`locate`], which never builds.

use std::{path::PathBuf, process::Command};

use anyhow::{bail, Context as _, Result};

pub use crate::workspace::workspace_root;

/// The cargo profile a command runs the daemon in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// The lab, the tests and the failover benches (VRRP, STP), whose figures are timers.
    Debug,
    /// The throughput benches (proxy, VXLAN) and `cargo xtask run`.
    Release,
}

impl Profile {
    /// The directory under the target dir (`debug` or `release`).
    #[must_use]
    pub fn dir_name(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

/// cargo's target dir: `$CARGO_TARGET_DIR` (relative to the workspace) or `target/`.
#[must_use]
pub fn target_dir() -> PathBuf {
    let root = workspace_root();
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// The workspace's own build of the daemon in `profile` (which may not exist yet).
#[must_use]
pub fn workspace_binary(profile: Profile) -> PathBuf {
    target_dir().join(profile.dir_name()).join("halb")
}

/// `$HALB_BIN` when it is set, else the workspace's build in `profile`; fails when that
/// file does not exist, naming the command that makes it.
pub fn locate(profile: Profile) -> Result<PathBuf> {
    if let Some(path) = halb_bin_env() {
        if !path.is_file() {
            bail!(
                "HALB_BIN={} does not exist; unset it to use the workspace's build",
                path.display()
            );
        }
        return Ok(path);
    }
    let path = workspace_binary(profile);
    if !path.is_file() {
        bail!(
            "the halb daemon is not built at {}; build it with `{}`",
            path.display(),
            build_command(profile)
        );
    }
    Ok(path.canonicalize().unwrap_or(path))
}

/// Makes sure the daemon `who` needs exists: `$HALB_BIN` as it is when set, else builds the
/// workspace's daemon in `profile` (saying so in one line) and returns its path.
pub fn build(profile: Profile, who: &str) -> Result<PathBuf> {
    if let Some(path) = halb_bin_env() {
        println!("{who}: using the halb daemon in HALB_BIN={}", path.display());
        return locate(profile);
    }
    let command = build_command(profile);
    println!("{who}: building the halb daemon first ({command})");
    let status = Command::new("cargo")
        .current_dir(workspace_root())
        .args(build_args(profile))
        .status()
        .context("starting cargo")?;
    if !status.success() {
        bail!("`{command}` failed ({status}); its errors are above");
    }
    locate(profile)
}

fn halb_bin_env() -> Option<PathBuf> {
    std::env::var_os("HALB_BIN").filter(|p| !p.is_empty()).map(PathBuf::from)
}

fn build_args(profile: Profile) -> Vec<&'static str> {
    let mut args = vec!["build", "--quiet"];
    if profile == Profile::Release {
        args.push("--release");
    }
    args.extend(["--package", "halb", "--bins"]);
    args
}

/// The command line a user would type for [`build`]'s build, for messages.
#[must_use]
pub fn build_command(profile: Profile) -> String {
    let args: Vec<&str> = build_args(profile).into_iter().filter(|a| *a != "--quiet").collect();
    format!("cargo {}", args.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_commands_name_the_profile() {
        assert_eq!(build_command(Profile::Debug), "cargo build --package halb --bins");
        assert_eq!(build_command(Profile::Release), "cargo build --release --package halb --bins");
        assert!(build_args(Profile::Debug).contains(&"--quiet"));
    }

    #[test]
    fn the_workspace_binary_lives_under_the_profile_dir() {
        let path = workspace_binary(Profile::Release);
        assert!(path.ends_with("release/halb"), "{}", path.display());
        assert!(
            path.starts_with(workspace_root()) || std::env::var_os("CARGO_TARGET_DIR").is_some()
        );
    }
}
