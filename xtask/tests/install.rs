//! `cargo xtask install` into a scratch prefix: the binary, the checked config and a unit
//! that systemd's own checker accepts; a bad config installs nothing.
//!
//! Needs root (the setup step checks the machine) and the daemon (`$HALB_BIN`, set by
//! `cargo xtask test`, or the workspace's debug build).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn install(root: &Path, config: &Path) -> Output {
    let halb = xtask::daemon_build::locate(xtask::daemon_build::Profile::Debug)
        .expect("the daemon is built (cargo xtask test builds it)");
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("install")
        .arg("--config")
        .arg(config)
        .arg("--prefix")
        .arg(root.join("usr"))
        .arg("--config-dir")
        .arg(root.join("etc/halb"))
        .arg("--unit-dir")
        .arg(root.join("etc/systemd/system"))
        .env("HALB_BIN", halb)
        .output()
        .expect("run cargo xtask install")
}

#[test]
fn install_puts_binary_config_and_a_valid_unit_in_place() {
    let root = Scratch(std::env::temp_dir().join(format!("halb-install-{}", std::process::id())));
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../userspace/examples/host1.toml");
    let output = install(&root.0, &example);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let binary = root.0.join("usr/sbin/halb");
    let version = Command::new(&binary).arg("--version").output().expect("installed binary runs");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("halb "));
    assert_eq!(
        std::fs::read(root.0.join("etc/halb/halb.toml")).unwrap(),
        std::fs::read(&example).unwrap()
    );
    let unit = root.0.join("etc/systemd/system/halb.service");
    let verify = Command::new("systemd-analyze").arg("verify").arg(&unit).output();
    match verify {
        Ok(verify) => assert!(
            verify.status.success() && verify.stderr.is_empty(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&verify.stderr)
        ),
        Err(err) => panic!("systemd-analyze (Debian's systemd package) is needed: {err}"),
    }

    let bad = root.0.join("bad.toml");
    std::fs::write(&bad, "[daemon]\nnode = \"h\"\nnmae = 1\n").unwrap();
    let other = Scratch(root.0.join("second"));
    let output = install(&other.0, &bad);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("is not a valid config, nothing installed"), "{stderr}");
    assert!(stderr.contains("unknown field `nmae`"), "{stderr}");
    assert!(!other.0.join("usr/sbin/halb").exists());
}
