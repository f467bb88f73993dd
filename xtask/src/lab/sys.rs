//! Running commands, entering namespaces from a thread, and managing processes by PID.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Runs a command to completion; returns stdout, or an error with the command and stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    let out =
        Command::new(program).args(args).stdin(Stdio::null()).output().with_context(|| {
            format!("cannot run {program} (is it installed? try `cargo xtask setup`)")
        })?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ip ARGS...`
pub fn ip(args: &[&str]) -> Result<String> {
    run("ip", args)
}

/// `ip -n NS ARGS...`
pub fn ip_ns(ns: &str, args: &[&str]) -> Result<String> {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    run("ip", &all)
}

/// `ip netns exec NS PROGRAM ARGS...` to completion.
pub fn ns_exec(ns: &str, program: &str, args: &[&str]) -> Result<String> {
    let mut all = vec!["netns", "exec", ns, program];
    all.extend_from_slice(args);
    run("ip", &all)
}

/// Same, but only reports success (for probes like ping).
#[must_use]
pub fn ns_exec_ok(ns: &str, program: &str, args: &[&str]) -> bool {
    Command::new("ip")
        .args(["netns", "exec", ns, program])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[must_use]
pub fn netns_path(ns: &str) -> PathBuf {
    Path::new("/run/netns").join(ns)
}

#[must_use]
pub fn ns_exists(ns: &str) -> bool {
    netns_path(ns).exists()
}

/// Runs `f` on a fresh thread that has joined network namespace `ns` (setns affects only
/// that thread), so sockets it opens live in the lab, with no fork per request.
pub fn spawn_in_netns<T, F>(ns: &str, f: F) -> Result<thread::JoinHandle<Result<T>>>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let file = File::open(netns_path(ns))
        .with_context(|| format!("network namespace {ns} does not exist"))?;
    let name = ns.to_string();
    thread::Builder::new()
        .name(format!("netns-{ns}"))
        .spawn(move || {
            // SAFETY: setns on a valid namespace fd; it only changes this thread's netns.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                bail!("setns into {name}: {}", std::io::Error::last_os_error());
            }
            drop(file);
            f()
        })
        .context("cannot spawn a thread")
}

pub fn in_netns<T, F>(ns: &str, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match spawn_in_netns(ns, f)?.join() {
        Ok(r) => r,
        Err(_) => bail!("thread in namespace {ns} panicked"),
    }
}

/// A process the lab started: PID plus its start time, so a recycled PID is never signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub start: u64,
}

impl Proc {
    #[must_use]
    pub fn to_line(self) -> String {
        format!("{} {}", self.pid, self.start)
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Proc> {
        let mut it = s.split_whitespace();
        let pid = it.next()?.parse().ok()?;
        let start = it.next()?.parse().ok()?;
        Some(Proc { pid, start })
    }

    #[must_use]
    pub fn of_pid(pid: i32) -> Option<Proc> {
        let (_, start) = stat(pid)?;
        Some(Proc { pid, start })
    }

    /// Alive and still the same process. Reaps it if it is our exited child.
    #[must_use]
    pub fn alive(self) -> bool {
        let mut status = 0;
        // SAFETY: plain waitpid with WNOHANG; ECHILD when not our child.
        let r = unsafe { libc::waitpid(self.pid, &raw mut status, libc::WNOHANG) };
        if r == self.pid {
            return false;
        }
        matches!(stat(self.pid), Some((state, start)) if start == self.start && state != 'Z' && state != 'X')
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL (and wait 2 s more).
    pub fn terminate(self, grace: Duration) -> Result<()> {
        if !self.alive() {
            return Ok(());
        }
        self.signal(libc::SIGTERM);
        if wait_until(grace, Duration::from_millis(50), || !self.alive()) {
            return Ok(());
        }
        self.signal(libc::SIGKILL);
        if wait_until(Duration::from_secs(2), Duration::from_millis(50), || !self.alive()) {
            return Ok(());
        }
        bail!("process {} does not die", self.pid)
    }

    /// SIGKILL (a crash: no clean-up by the process), then wait up to 2 s for it to die.
    pub fn kill(self) -> Result<()> {
        if !self.alive() {
            return Ok(());
        }
        self.signal(libc::SIGKILL);
        if wait_until(Duration::from_secs(2), Duration::from_millis(10), || !self.alive()) {
            return Ok(());
        }
        bail!("process {} does not die", self.pid)
    }

    /// SIGSTOP: the process stops where it is until killed or continued.
    pub fn freeze(self) {
        if self.alive() {
            self.signal(libc::SIGSTOP);
        }
    }

    fn signal(self, sig: i32) {
        // SAFETY: kill() on a PID we verified (start time) just before.
        unsafe {
            libc::kill(self.pid, sig);
        }
    }
}

/// (state, start time in clock ticks) from /proc/PID/stat.
fn stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); start time is field 22.
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

#[must_use]
pub fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Starts `argv` detached (own process group, stdin null, output appended to `log`), inside
/// namespace `ns` when given (`ip netns exec` execs the program, so the PID is the
/// program's), else in the current namespaces.
pub fn spawn_logged(ns: Option<&str>, argv: &[String], log: &Path) -> Result<Proc> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open log {}", log.display()))?;
    let err = out.try_clone().context("cannot duplicate log fd")?;
    let (program, rest) = argv.split_first().context("empty command")?;
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, program]);
            c
        }
        None => Command::new(program),
    };
    let where_ = ns.unwrap_or("the root namespace");
    let child = cmd
        .args(rest)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {} in {where_}", argv.join(" ")))?;
    let pid = i32::try_from(child.id()).context("pid out of range")?;
    Proc::of_pid(pid).with_context(|| {
        format!("{} in {where_} exited at once; see {}", argv.join(" "), log.display())
    })
}

/// Polls `cond` every `step` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, step: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(step);
    }
}

/// Last `n` lines of a file, for error messages.
#[must_use]
pub fn tail(path: &Path, n: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(s) => {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// PIDs of the processes inside namespace `ns`.
#[must_use]
pub fn netns_pids(ns: &str) -> Vec<i32> {
    ip(&["netns", "pids", ns])
        .map(|out| out.split_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default()
}

pub fn require_root() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the lab needs root (network namespaces, bridges); run as root");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_lines_round_trip_and_self_is_alive() {
        let me = Proc::of_pid(i32::try_from(std::process::id()).unwrap()).unwrap();
        assert_eq!(Proc::parse(&me.to_line()), Some(me));
        assert!(me.alive());
        assert!(!Proc { pid: me.pid, start: me.start + 1 }.alive());
        assert_eq!(Proc::parse("12"), None);
        assert_eq!(Proc::parse("x 1"), None);
    }

    #[test]
    fn terminate_a_child() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let p = Proc::of_pid(i32::try_from(child.id()).unwrap()).unwrap();
        assert!(p.alive());
        p.terminate(Duration::from_secs(5)).unwrap();
        assert!(!p.alive());
        // terminate() reaped it already; wait() must not find it again.
        assert!(child.wait().is_err());
    }

    #[test]
    fn kill_a_child() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let p = Proc::of_pid(i32::try_from(child.id()).unwrap()).unwrap();
        p.kill().unwrap();
        assert!(!p.alive());
        assert!(child.wait().is_err());
        // Killing what is gone is fine.
        p.kill().unwrap();
    }

    #[test]
    fn wait_until_times_out() {
        assert!(!wait_until(Duration::from_millis(30), Duration::from_millis(10), || false));
        let mut n = 0;
        assert!(wait_until(Duration::from_secs(1), Duration::from_millis(1), || {
            n += 1;
            n > 2
        }));
    }
}
