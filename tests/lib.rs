//! Helpers shared by halb's integration tests: the daemon binary under
//! test, running commands that must succeed, and stopping child processes
//! the way an operator would (SIGTERM, then SIGKILL after a grace period).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output},
    time::{Duration, Instant},
};

/// The `halb` binary: `$HALB_BIN` (set by `cargo xtask test`) or the
/// workspace's debug build.
#[must_use]
pub fn halb_bin() -> PathBuf {
    let path = std::env::var_os("HALB_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/halb"),
        PathBuf::from,
    );
    assert!(path.exists(), "{} missing: run the suite with `cargo xtask test`", path.display());
    path
}

/// Runs a command that must succeed; panics with its stderr otherwise.
pub fn sh(args: &[&str]) -> Output {
    let output = Command::new(args[0]).args(&args[1..]).output().expect("spawn");
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Sends `signal` to a child we spawned and still own.
pub fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).expect("pid fits i32");
    // SAFETY: kill(2) on the pid of a child that has not been reaped.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill({pid}, {signal})");
}

/// SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status if
/// the child stopped by itself.
pub fn terminate(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    if let Some(status) = child.try_wait().ok().flatten() {
        return Some(status);
    }
    signal(child, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().ok().flatten() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
