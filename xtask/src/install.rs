//! `cargo xtask install`: halb as a systemd service on a VM.
//!
//! Builds the release daemon, installs it as `PREFIX/sbin/halb`, checks and installs the
//! config (`/etc/halb/halb.toml`), and writes the unit `halb.service`: SIGTERM stops it
//! (the daemon finishes requests in flight and detaches its datapath before exiting, so
//! the unit gives it longer than the proxy's drain), `systemctl reload` sends SIGHUP (the
//! daemon re-reads its config), and a daemon that fails is restarted. With `--enable` and
//! a running systemd it is enabled and started; otherwise the commands to do so are printed.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};
use clap::Args;

use crate::daemon_build::{self, Profile};
use crate::setup::run_status;

/// The unit's name.
pub const UNIT_NAME: &str = "halb.service";
/// How long systemd waits for the daemon to stop before SIGKILL: the proxy's drain
/// (5 s for connections, 6 s for its runtime) plus detaching the datapath, with margin.
pub const STOP_TIMEOUT_SECS: u32 = 30;

/// Where `cargo xtask install` puts things.
#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Config to install as `CONFIG_DIR/halb.toml`, checked with `halb check` first (an
    /// existing different one is replaced only with --force). Without it the one there
    /// stays.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The binary goes to PREFIX/sbin/halb.
    #[arg(long, default_value = "/usr/local")]
    pub prefix: PathBuf,
    /// Directory of the config file.
    #[arg(long, default_value = "/etc/halb")]
    pub config_dir: PathBuf,
    /// Directory of the systemd unit.
    #[arg(long, default_value = "/etc/systemd/system")]
    pub unit_dir: PathBuf,
    /// Replace an existing config that differs from --config.
    #[arg(long)]
    pub force: bool,
    /// Enable and start the service now (`systemctl enable --now halb`); needs a running systemd.
    #[arg(long)]
    pub enable: bool,
}

/// The paths an install writes, derived from its arguments.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    pub binary: PathBuf,
    pub config: PathBuf,
    pub unit: PathBuf,
}

impl Layout {
    #[must_use]
    pub fn new(args: &InstallArgs) -> Self {
        Self {
            binary: args.prefix.join("sbin/halb"),
            config: args.config_dir.join("halb.toml"),
            unit: args.unit_dir.join(UNIT_NAME),
        }
    }

    /// The systemd unit for this layout.
    #[must_use]
    pub fn unit(&self) -> String {
        let binary = self.binary.display();
        let config = self.config.display();
        format!(
            "# Written by `cargo xtask install`.\n\
             [Unit]\n\
             Description=halb: high-availability load balancing with an eBPF datapath\n\
             After=network-online.target\n\
             Wants=network-online.target\n\
             RequiresMountsFor=/sys/fs/bpf\n\
             \n\
             [Service]\n\
             Type=exec\n\
             # A bad config fails the start with halb's own message, before anything is attached.\n\
             ExecStartPre={binary} check --config {config}\n\
             ExecStart={binary} run --config {config}\n\
             # SIGHUP: the daemon re-reads its config without a restart.\n\
             ExecReload=/bin/kill -HUP $MAINPID\n\
             # `halb upgrade`: the new process tells systemd it is the main one now.\n\
             NotifyAccess=all\n\
             # SIGTERM: requests in flight finish, the datapath is detached and unpinned.\n\
             KillSignal=SIGTERM\n\
             KillMode=mixed\n\
             TimeoutStopSec={STOP_TIMEOUT_SECS}\n\
             Restart=on-failure\n\
             RestartSec=2\n\
             # One descriptor per proxied connection and two per upstream one.\n\
             LimitNOFILE=1048576\n\
             LimitMEMLOCK=infinity\n\
             \n\
             [Install]\n\
             WantedBy=multi-user.target\n"
        )
    }
}

/// `cargo xtask install`.
pub fn run(args: &InstallArgs) -> Result<()> {
    crate::setup::ensure()?;
    let layout = Layout::new(args);
    let built = daemon_build::build(Profile::Release, "install")?;
    if let Some(config) = &args.config {
        check_config(&built, config)?;
    }
    install_file(&built, &layout.binary, 0o755)?;
    println!("install: {}", layout.binary.display());
    let config_present = match &args.config {
        Some(config) => install_config(config, &layout.config, args.force)?,
        None => layout.config.is_file(),
    };
    write_file(&layout.unit, layout.unit().as_bytes(), 0o644)?;
    println!("install: {}", layout.unit.display());
    let systemd = Path::new("/run/systemd/system").is_dir();
    if systemd {
        run_status(Command::new("systemctl").arg("daemon-reload"))?;
    }
    if !config_present {
        println!(
            "install: no config at {}; put one there (examples: userspace/examples/host1.toml), \
             check it with `{} check --config {}`",
            layout.config.display(),
            layout.binary.display(),
            layout.config.display()
        );
    }
    match (args.enable, systemd, config_present) {
        (true, true, true) => {
            run_status(Command::new("systemctl").args(["enable", "--now", UNIT_NAME]))?;
            println!("install: {UNIT_NAME} enabled and started; `systemctl status halb` shows it");
        }
        (true, false, _) => {
            bail!(
                "--enable needs a running systemd (no /run/systemd/system); the files are in place"
            )
        }
        (true, true, false) => bail!("--enable needs a config at {}", layout.config.display()),
        (false, ..) => println!("install: start it with `systemctl enable --now halb`"),
    }
    Ok(())
}

fn check_config(binary: &Path, config: &Path) -> Result<()> {
    let output = Command::new(binary)
        .args(["check", "--config"])
        .arg(config)
        .output()
        .with_context(|| format!("starting {}", binary.display()))?;
    if !output.status.success() {
        bail!(
            "{} is not a valid config, nothing installed: {}",
            config.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Installs `config` at `target`; returns whether a config is in place.
fn install_config(config: &Path, target: &Path, force: bool) -> Result<bool> {
    let text = std::fs::read(config).with_context(|| format!("reading {}", config.display()))?;
    match std::fs::read(target) {
        Ok(existing) if existing == text => {
            println!("install: {} already holds this config", target.display());
            return Ok(true);
        }
        Ok(_) if !force => bail!(
            "{} exists and differs from {}; pass --force to replace it",
            target.display(),
            config.display()
        ),
        _ => {}
    }
    write_file(target, &text, 0o644)?;
    println!("install: {} (from {})", target.display(), config.display());
    Ok(true)
}

fn install_file(from: &Path, to: &Path, mode: u32) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    write_file(to, &bytes, mode)
}

/// Writes through a temporary file and a rename, so a running binary or a unit systemd
/// reads is never seen half written.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = path.parent().with_context(|| format!("{} has no directory", path.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let temporary = dir.join(format!(
        ".{}.new",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    ));
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("moving {} to {}", temporary.display(), path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &Path) -> InstallArgs {
        InstallArgs {
            config: None,
            prefix: dir.join("usr"),
            config_dir: dir.join("etc/halb"),
            unit_dir: dir.join("etc/systemd/system"),
            force: false,
            enable: false,
        }
    }

    #[test]
    fn the_unit_runs_the_installed_binary_on_the_installed_config() {
        let layout = Layout::new(&args(Path::new("/x")));
        assert_eq!(layout.binary, Path::new("/x/usr/sbin/halb"));
        let unit = layout.unit();
        assert!(unit.contains("\nExecStart=/x/usr/sbin/halb run --config /x/etc/halb/halb.toml\n"));
        assert!(
            unit.contains("\nExecStartPre=/x/usr/sbin/halb check --config /x/etc/halb/halb.toml\n")
        );
        assert!(unit.contains("\nRestart=on-failure\n"));
        assert!(unit.contains("\nKillSignal=SIGTERM\n"));
        assert!(unit.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"));
        assert!(unit.contains("\nNotifyAccess=all\n"));
        assert!(unit.contains(&format!("\nTimeoutStopSec={STOP_TIMEOUT_SECS}\n")));
    }

    #[test]
    fn a_different_config_is_replaced_only_with_force() {
        let dir = std::env::temp_dir().join(format!("halb-install-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (old, new, target) =
            (dir.join("old.toml"), dir.join("new.toml"), dir.join("etc/halb.toml"));
        std::fs::write(&old, "old").unwrap();
        std::fs::write(&new, "new").unwrap();
        assert!(install_config(&old, &target, false).unwrap());
        assert!(install_config(&old, &target, false).unwrap(), "the same config again is fine");
        let err = install_config(&new, &target, false).unwrap_err().to_string();
        assert!(err.contains("pass --force to replace it"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        assert!(install_config(&new, &target, true).unwrap());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
