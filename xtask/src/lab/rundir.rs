//! The lab's run directory `/run/halb-lab/P/` (configs, logs, PID files, state) and the
//! per-prefix lock that keeps two commands on one lab from interleaving.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::plan::{Stack, StpProtocol, StpTimers, VrrpTiming};
use super::sys::Proc;
use super::topo;

pub const BASE: &str = "/run/halb-lab";

/// One lab instance, named by its prefix.
#[derive(Debug, Clone)]
pub struct Lab {
    pub prefix: String,
    pub dir: PathBuf,
}

/// What `lab up` was asked for, kept in the run dir for later commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabConfig {
    pub stack: Stack,
    pub timers: StpTimers,
    /// What halb's STP bridges speak (`--stp-protocol`).
    pub stp_protocol: StpProtocol,
    /// `--daemon`: the halb daemon on both hosts even where no halb component needs it.
    pub daemon: bool,
    pub vrrp: VrrpTiming,
}

impl LabConfig {
    /// The classic stack with keepalived's VRRP defaults.
    #[must_use]
    pub fn new(stack: Stack, timers: StpTimers, daemon: bool) -> Self {
        LabConfig {
            stp_protocol: StpProtocol::default_for(&stack),
            stack,
            timers,
            daemon,
            vrrp: VrrpTiming::default(),
        }
    }

    /// What halb's bridges speak and why: `rstp (default: every bridge runs halb)` or
    /// `stp (--stp-protocol)`.
    #[must_use]
    pub fn stp_protocol_note(&self) -> String {
        let protocol = self.stp_protocol;
        if protocol == StpProtocol::default_for(&self.stack) {
            format!("{} (default: {})", protocol.name(), protocol.default_reason())
        } else {
            format!("{} (--stp-protocol)", protocol.name())
        }
    }

    /// Whether the halb daemon runs on `host`: asked for with `--daemon`, or needed by a
    /// halb component there (a balancer's halb VRRP runs in its host's daemon).
    /// Whether `node` runs a halb daemon: a host with `--daemon` or a halb component, a
    /// switch (swout1, swout2) when its bridge's STP is halb's.
    #[must_use]
    pub fn runs_daemon(&self, node: &str) -> bool {
        topo::DAEMON_NODES.contains(&node)
            && ((self.daemon && topo::HOSTS.contains(&node)) || self.stack.halb_on_host(node))
    }

    #[must_use]
    pub fn to_text(&self) -> String {
        let mut lines = vec![
            format!("timers={}", self.timers.name()),
            format!("stp_protocol={}", self.stp_protocol.name()),
            format!("daemon={}", self.daemon),
            format!("vrrp_version={}", self.vrrp.version()),
            format!("vrrp_advert_int={}", self.vrrp.advert_int_text()),
        ];
        lines.extend(self.stack.to_lines());
        lines.join("\n") + "\n"
    }

    pub fn parse(text: &str) -> Result<Self> {
        let mut timers = StpTimers::Standard;
        let mut stp_protocol = StpProtocol::default();
        let mut daemon = false;
        let (mut version, mut advert) = (2, "1".to_string());
        let mut stack_lines = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(v) = line.strip_prefix("timers=") {
                timers = v.parse()?;
            } else if let Some(v) = line.strip_prefix("stp_protocol=") {
                stp_protocol = v.parse()?;
            } else if let Some(v) = line.strip_prefix("daemon=") {
                daemon = v == "true";
            } else if let Some(v) = line.strip_prefix("vrrp_version=") {
                version = v.parse().with_context(|| format!("bad line {line:?}"))?;
            } else if let Some(v) = line.strip_prefix("vrrp_advert_int=") {
                advert = v.to_string();
            } else {
                stack_lines.push(line);
            }
        }
        Ok(LabConfig {
            stack: Stack::from_lines(stack_lines.into_iter())?,
            timers,
            stp_protocol,
            daemon,
            vrrp: VrrpTiming::new(version, &advert)?,
        })
    }
}

impl Lab {
    pub fn new(prefix: &str) -> Result<Self> {
        topo::check_prefix(prefix)?;
        Ok(Lab { prefix: prefix.to_string(), dir: Path::new(BASE).join(prefix) })
    }

    #[must_use]
    pub fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.prefix)
    }

    /// The daemon's node name: `host1` for the default prefix, `P-host1` otherwise, so bpffs
    /// pins of two labs never collide.
    #[must_use]
    pub fn daemon_node(&self, host: &str) -> String {
        if self.prefix == "halb" {
            host.to_string()
        } else {
            self.ns(host)
        }
    }

    #[must_use]
    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.dir.join(node)
    }

    #[must_use]
    pub fn log(&self, node: &str, service: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{node}-{service}.log"))
    }

    fn pid_dir(&self) -> PathBuf {
        self.dir.join("pids")
    }

    #[must_use]
    pub fn is_up(&self) -> bool {
        self.dir.join("lab.conf").exists()
    }

    /// Namespaces of this lab that currently exist.
    #[must_use]
    pub fn existing_namespaces(&self) -> Vec<String> {
        topo::NODES.iter().map(|n| self.ns(n)).filter(|ns| super::sys::ns_exists(ns)).collect()
    }

    pub fn create_dirs(&self) -> Result<()> {
        for d in [self.dir.clone(), self.dir.join("logs"), self.pid_dir()] {
            fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
        }
        Ok(())
    }

    pub fn write(&self, rel: impl AsRef<Path>, text: &str) -> Result<PathBuf> {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    pub fn config(&self) -> Result<LabConfig> {
        let path = self.dir.join("lab.conf");
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "lab {:?} is not up ({} missing); run `cargo xtask lab up --prefix {}`",
                self.prefix,
                path.display(),
                self.prefix
            )
        })?;
        LabConfig::parse(&text).with_context(|| format!("corrupt {}", path.display()))
    }

    pub fn save_config(&self, config: &LabConfig) -> Result<()> {
        self.write("lab.conf", &config.to_text()).map(|_| ())
    }

    /// Records a started process as `pids/NODE.SERVICE`.
    pub fn record(&self, node: &str, service: &str, p: Proc) -> Result<()> {
        self.write(Path::new("pids").join(format!("{node}.{service}")), &p.to_line()).map(|_| ())
    }

    pub fn forget(&self, node: &str, service: &str) {
        let _ = fs::remove_file(self.pid_dir().join(format!("{node}.{service}")));
    }

    /// Every recorded process: (node, service, process).
    pub fn recorded(&self) -> Vec<(String, String, Proc)> {
        let mut out = Vec::new();
        let Ok(entries) = fs::read_dir(self.pid_dir()) else { return out };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((node, service)) = name.split_once('.') else { continue };
            if let Some(p) = fs::read_to_string(e.path()).ok().as_deref().and_then(Proc::parse) {
                out.push((node.to_string(), service.to_string(), p));
            }
        }
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }

    pub fn recorded_proc(&self, node: &str, service: &str) -> Option<Proc> {
        fs::read_to_string(self.pid_dir().join(format!("{node}.{service}")))
            .ok()
            .as_deref()
            .and_then(Proc::parse)
    }

    /// Lines of a state file (empty when missing).
    #[must_use]
    pub fn read_lines(&self, rel: &str) -> Vec<String> {
        fs::read_to_string(self.dir.join(rel))
            .map(|s| s.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
            .unwrap_or_default()
    }

    pub fn write_lines(&self, rel: &str, lines: &[String]) -> Result<()> {
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        self.write(rel, &text).map(|_| ())
    }

    fn lock_path(&self) -> PathBuf {
        Path::new(BASE).join(format!(".{}.lock", self.prefix))
    }

    /// Takes the exclusive lock of this prefix, waiting up to `wait` for another command.
    pub fn lock(&self, wait: Duration) -> Result<LabLock> {
        let path = self.lock_path();
        let deadline = Instant::now() + wait;
        let mut told = false;
        loop {
            fs::create_dir_all(BASE).with_context(|| format!("cannot create {BASE}"))?;
            // Another prefix's `lab down` removes BASE when it looks empty; if that happens
            // between create_dir_all and open, create it again.
            let file = match OpenOptions::new().create(true).truncate(false).write(true).open(&path)
            {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && Instant::now() < deadline => {
                    continue;
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot open lock {}", path.display()))
                }
            };
            // SAFETY: flock on an fd we own.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                // The previous holder may have unlinked the file (lab down): only a lock on
                // the file still at `path` counts.
                let same = match (file.metadata(), fs::metadata(&path)) {
                    (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                    _ => false,
                };
                if same {
                    return Ok(LabLock { _file: file, path });
                }
                continue;
            }
            if Instant::now() >= deadline {
                bail!(
                    "another lab command holds {} (prefix {:?}); try again when it is done",
                    path.display(),
                    self.prefix
                );
            }
            if !told {
                eprintln!("waiting for another lab command on prefix {:?} ...", self.prefix);
                told = true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Held while a command changes the lab; the flock is released when the file closes.
pub struct LabLock {
    _file: File,
    path: PathBuf,
}

impl LabLock {
    /// Removes the lock file (lab down), while still holding the lock.
    pub fn remove_file(&self) {
        let _ = fs::remove_file(&self.path);
        // Remove /run/halb-lab when no lab is left.
        let _ = fs::remove_dir(BASE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::plan::StackSpec;

    #[test]
    fn config_round_trip() {
        let stack =
            Stack::parse(&StackSpec { vrrp: Some("bal1=halb"), ..StackSpec::default() }).unwrap();
        let mut c = LabConfig::new(stack, StpTimers::Fast, true);
        assert_eq!(LabConfig::parse(&c.to_text()).unwrap(), c);
        c.vrrp = VrrpTiming::new(3, "0.01").unwrap();
        assert!(c.to_text().contains("vrrp_version=3\nvrrp_advert_int=0.01\n"));
        assert_eq!(LabConfig::parse(&c.to_text()).unwrap(), c);
        assert!(LabConfig::parse("timers=slow\n").is_err());
        assert!(LabConfig::parse("vrrp_version=2\nvrrp_advert_int=0.5\n").is_err());
        // A run dir written before the VRRP options existed reads as keepalived's defaults.
        let old = LabConfig::parse("timers=fast\ndaemon=false\n").unwrap();
        assert_eq!(old.vrrp, VrrpTiming::default());
    }

    #[test]
    fn daemon_where_needed() {
        let classic = LabConfig::new(Stack::classic(), StpTimers::Fast, false);
        assert!(!classic.runs_daemon("host1") && !classic.runs_daemon("host2"));
        let observer = LabConfig { daemon: true, ..classic.clone() };
        assert!(observer.runs_daemon("host1") && observer.runs_daemon("host2"));
        assert!(!observer.runs_daemon("bal1"));
        let stack =
            Stack::parse(&StackSpec { vrrp: Some("bal2=halb"), ..StackSpec::default() }).unwrap();
        let mixed = LabConfig::new(stack, StpTimers::Fast, false);
        assert!(!mixed.runs_daemon("host1") && mixed.runs_daemon("host2"));
    }

    #[test]
    fn names() {
        let lab = Lab::new("hlt-x").unwrap();
        assert_eq!(lab.ns("bal1"), "hlt-x-bal1");
        assert_eq!(lab.dir, Path::new("/run/halb-lab/hlt-x"));
        assert_eq!(lab.daemon_node("host1"), "hlt-x-host1");
        assert_eq!(Lab::new("halb").unwrap().daemon_node("host2"), "host2");
        assert!(Lab::new("../x").is_err());
    }
}
