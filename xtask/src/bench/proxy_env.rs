//! The small world a throughput benchmark builds for itself (used by `bench proxy` and
//! `bench vxlan`): network namespaces under its own prefix, the processes it starts
//! (recorded by PID and start time, stopped by PID), commands bounded in time, and CPU
//! accounting from /proc.
//!
//! Nothing is created in the root namespace: every namespace is `PREFIX-<name>`, every veth
//! is created inside one of them with its peer moved straight into another, and every
//! program that sends traffic runs under `ip netns exec` in one of them (the halb daemon is
//! started from the root namespace but enters the namespaces named in its config itself).
//! Dropping the [`Env`] stops the processes (SIGTERM, 5 s, SIGKILL), kills whatever is
//! left inside its namespaces, deletes the namespaces and the daemons' bpffs pins.

use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::harness::topology::Namespaces;
use crate::lab::sys::{self, Proc};

/// Grace between SIGTERM and SIGKILL when stopping a process of the bench.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub struct Env {
    pub prefix: String,
    /// Configs, logs and outputs: `/tmp/<prefix>` (kept when the bench fails).
    pub dir: PathBuf,
    namespaces: Namespaces,
    procs: Vec<(String, Proc)>,
    pins: Vec<PathBuf>,
    keep_dir: bool,
}

/// Namespace prefixes: short (interface and namespace names stay short), plain characters.
pub fn check_prefix(prefix: &str) -> Result<()> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 16
        && prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        bail!("prefix {prefix:?}: 1-16 characters of letters, digits, '-' and '_'");
    }
    Ok(())
}

impl Env {
    /// Refuses when a namespace `PREFIX-*` exists (a run still up, or someone else's).
    pub fn new(prefix: &str) -> Result<Env> {
        sys::require_root()?;
        check_prefix(prefix)?;
        let taken: Vec<String> = sys::ip(&["netns", "list"])?
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with(&format!("{prefix}-")))
            .map(str::to_string)
            .collect();
        if !taken.is_empty() {
            bail!(
                "namespaces of prefix {prefix:?} exist ({}): an earlier run left them or another bench runs; pick another --prefix or delete them",
                taken.join(", ")
            );
        }
        let dir = std::env::temp_dir().join(prefix);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Env {
            prefix: prefix.to_string(),
            dir,
            namespaces: Namespaces::default(),
            procs: Vec::new(),
            pins: Vec::new(),
            keep_dir: false,
        })
    }

    #[must_use]
    pub fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// Creates `PREFIX-name` with loopback up and IPv6 off (no DAD or solicitations).
    pub fn add_ns(&mut self, name: &str) -> Result<String> {
        let ns = self.ns(name);
        self.namespaces.add(&ns)?;
        Ok(ns)
    }

    /// `sysctl -w` inside one of the bench's namespaces (per-namespace keys only).
    pub fn sysctl(&self, ns: &str, keys: &[&str]) -> Result<()> {
        if !self.namespaces.contains(ns) {
            bail!("{ns} is not a namespace of this bench");
        }
        for key in keys {
            sys::ns_exec(ns, "sysctl", &["-qw", key])?;
        }
        Ok(())
    }

    #[must_use]
    pub fn log(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    /// Starts a long-running process (in `ns` if given), output to `<dir>/<name>.log`.
    pub fn spawn(&mut self, name: &str, ns: Option<&str>, argv: &[String]) -> Result<Proc> {
        let p = sys::spawn_logged(ns, argv, &self.log(name))?;
        self.procs.push((name.to_string(), p));
        Ok(p)
    }

    /// Records a process this bench started indirectly (a daemon that forked; its PID from
    /// its pid file), to be stopped like the others.
    pub fn adopt(&mut self, name: &str, p: Proc) {
        self.procs.push((name.to_string(), p));
    }

    /// Stops the process recorded as `name` (SIGTERM, 5 s, SIGKILL).
    pub fn stop(&mut self, name: &str) -> Result<()> {
        let mut result = Ok(());
        self.procs.retain(|(n, p)| {
            if n == name {
                if let Err(e) = p.terminate(STOP_GRACE) {
                    result = Err(e);
                }
                false
            } else {
                true
            }
        });
        result
    }

    #[must_use]
    pub fn proc(&self, name: &str) -> Option<Proc> {
        self.procs.iter().find(|(n, _)| n == name).map(|(_, p)| *p)
    }

    /// A bpffs directory to remove at the end (a killed daemon leaves its pins).
    pub fn add_pins(&mut self, path: PathBuf) {
        self.pins.push(path);
    }

    /// Keep `dir` (logs, configs) after the bench: it failed.
    pub fn keep_dir(&mut self) {
        self.keep_dir = true;
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for (name, p) in self.procs.drain(..).rev() {
            if let Err(e) = p.terminate(STOP_GRACE) {
                eprintln!("stopping {name} (pid {}): {e:#}", p.pid);
            }
        }
        // Anything still inside our namespaces was started by this bench (e.g. a client a
        // timeout killed the parent of): the guard kills it, then removes the namespaces.
        self.namespaces.remove_all();
        for pin in &self.pins {
            let _ = std::fs::remove_dir_all(pin);
        }
        if self.keep_dir {
            eprintln!("logs and configs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// What a bounded command left behind.
#[derive(Debug)]
pub struct Finished {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    /// Killed at the deadline.
    pub timed_out: bool,
}

impl Finished {
    #[must_use]
    pub fn ok(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    /// One line for error messages.
    #[must_use]
    pub fn describe(&self) -> String {
        let how = if self.timed_out {
            "killed at its deadline".to_string()
        } else {
            self.status.map_or_else(|| "no status".into(), |s| s.to_string())
        };
        let err = self.stderr.trim();
        let err = if err.is_empty() { self.stdout.trim() } else { err };
        let tail: Vec<&str> = err.lines().rev().take(3).collect();
        format!("{how}: {}", tail.into_iter().rev().collect::<Vec<_>>().join(" / "))
    }
}

/// Runs `argv` inside `ns` (`ip netns exec`, so the PID is the program's) to completion or
/// until `limit` (then SIGKILL by PID). Output goes to `<out>.out` / `<out>.err` (no pipe to
/// fill), read back when done.
pub fn run_bounded(ns: &str, argv: &[String], limit: Duration, out: &Path) -> Result<Finished> {
    let (stdout_path, stderr_path) = (out.with_extension("out"), out.with_extension("err"));
    let stdout = File::create(&stdout_path)
        .with_context(|| format!("cannot create {}", stdout_path.display()))?;
    let stderr = File::create(&stderr_path)
        .with_context(|| format!("cannot create {}", stderr_path.display()))?;
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(argv)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run {} in {ns}", argv.join(" ")))?;
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Finished {
        status,
        stdout: std::fs::read_to_string(&stdout_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
        timed_out,
    })
}

/// Strings for an argv.
#[must_use]
pub fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// Clock ticks per second of /proc's CPU times.
#[must_use]
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        #[allow(clippy::cast_precision_loss)]
        let t = t as f64;
        t
    } else {
        100.0
    }
}

/// utime + stime (ticks) from the text of /proc/PID/stat: every thread, live or exited.
#[must_use]
pub fn parse_proc_cpu(stat: &str) -> Option<u64> {
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// utime + stime of a process, in seconds.
#[must_use]
pub fn proc_cpu_secs(p: Proc) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{}/stat", p.pid)).ok()?;
    #[allow(clippy::cast_precision_loss)]
    parse_proc_cpu(&text).map(|t| t as f64 / clock_ticks())
}

/// The machine's CPU time by kind (ticks, all CPUs), from the `cpu` line of /proc/stat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub system: u64,
    pub idle: u64,
    pub irq: u64,
    pub softirq: u64,
    pub total: u64,
}

impl CpuTimes {
    #[must_use]
    pub fn parse(proc_stat: &str) -> Option<CpuTimes> {
        let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> =
            line.split_whitespace().skip(1).map(|x| x.parse().ok()).collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal ...
        let get = |i: usize| v.get(i).copied().unwrap_or(0);
        Some(CpuTimes {
            user: get(0) + get(1),
            system: get(2),
            idle: get(3) + get(4),
            irq: get(5),
            softirq: get(6),
            total: v.iter().take(8).sum(),
        })
    }

    pub fn now() -> Result<CpuTimes> {
        let text = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
        CpuTimes::parse(&text).context("no cpu line in /proc/stat")
    }

    /// Kernel time (system + irq + softirq) since `before`, in seconds.
    #[must_use]
    pub fn kernel_secs_since(&self, before: &CpuTimes) -> f64 {
        let t = (self.system + self.irq + self.softirq)
            .saturating_sub(before.system + before.irq + before.softirq);
        #[allow(clippy::cast_precision_loss)]
        let t = t as f64;
        t / clock_ticks()
    }
}

/// Shares of all CPUs' time since `before` spent in user code and in the kernel (system,
/// irq, softirq): (user, kernel), each 0.0-1.0.
#[must_use]
pub fn busy_shares(before: &CpuTimes, after: &CpuTimes) -> (f64, f64) {
    let total = after.total.saturating_sub(before.total);
    if total == 0 {
        return (0.0, 0.0);
    }
    #[allow(clippy::cast_precision_loss)]
    let share = |a: u64, b: u64| a.saturating_sub(b) as f64 / total as f64;
    (
        share(after.user, before.user),
        share(
            after.system + after.irq + after.softirq,
            before.system + before.irq + before.softirq,
        ),
    )
}

/// What the rest of the machine does while this bench is idle, sampled for `d`: "user 85 %,
/// kernel 3 % of 2 CPUs", and whether the kernel share alone (other namespaces' traffic,
/// softirq storms) is high enough to distort network figures (> 25 %).
pub fn machine_load(d: Duration) -> Result<(String, bool)> {
    let before = CpuTimes::now()?;
    std::thread::sleep(d);
    let after = CpuTimes::now()?;
    let (user, kernel) = busy_shares(&before, &after);
    Ok((
        format!("user {:.0} %, kernel {:.0} % of {} CPUs", user * 100.0, kernel * 100.0, cpus()),
        kernel > 0.25,
    ))
}

/// "path (release build, built 2025-01-01 10:00 UTC, 3 h ago)" for the report.
#[must_use]
pub fn describe_binary(path: &Path) -> String {
    let profile = if path.components().any(|c| c.as_os_str() == "release") {
        "release build"
    } else if path.components().any(|c| c.as_os_str() == "debug") {
        "DEBUG build"
    } else {
        "build profile unknown"
    };
    let mut out = format!("{} ({profile}", path.display());
    if let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) {
        if let Ok(age) = modified.elapsed() {
            let mins = age.as_secs() / 60;
            let _ = write!(out, ", built {} h {} min ago", mins / 60, mins % 60);
        }
    }
    let head = Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(head) = head {
        let _ = write!(out, "; workspace HEAD {head}, plus any uncommitted changes at build time");
    }
    out.push(')');
    out
}

/// CPUs this machine has (the pinning options must name existing ones).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// `x` with `sig` significant decimals for tables (1234.5 -> "1234", 0.01234 -> "0.0123").
#[must_use]
pub fn fmt_sig(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    #[allow(clippy::cast_possible_truncation)]
    let magnitude = x.abs().log10().floor() as i64;
    let decimals = i64::try_from(sig).unwrap_or(3) - 1 - magnitude;
    let decimals = usize::try_from(decimals.max(0)).unwrap_or(0);
    format!("{x:.decimals$}")
}

/// A ratio for tables: "1.23x", or "-" when either side is missing or zero.
#[must_use]
pub fn ratio_cell(ours: Option<f64>, theirs: Option<f64>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(check_prefix("hbp").is_ok());
        assert!(check_prefix("halb-bench_2").is_ok());
        assert!(check_prefix("").is_err());
        assert!(check_prefix("a b").is_err());
        assert!(check_prefix("../x").is_err());
        assert!(check_prefix("abcdefghijklmnopq").is_err());
    }

    #[test]
    fn proc_stat_cpu() {
        // A comm with blanks and parentheses; utime 1234, stime 56.
        let stat =
            "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 3 0 777 0 0";
        assert_eq!(parse_proc_cpu(stat), Some(1290));
        assert_eq!(parse_proc_cpu("4242 (x) S 1"), None);
    }

    #[test]
    fn proc_stat_machine() {
        let text = "cpu  387489 9071 104726 488065 5976 7 5259 344 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1\n";
        let c = CpuTimes::parse(text).unwrap();
        assert_eq!(
            c,
            CpuTimes {
                user: 387_489 + 9071,
                system: 104_726,
                idle: 488_065 + 5976,
                irq: 7,
                softirq: 5259,
                total: 387_489 + 9071 + 104_726 + 488_065 + 5976 + 7 + 5259 + 344,
            }
        );
        let later = CpuTimes { system: c.system + 50, softirq: c.softirq + 50, ..c };
        let ticks = clock_ticks();
        assert!((later.kernel_secs_since(&c) - 100.0 / ticks).abs() < 1e-9);
        assert_eq!(CpuTimes::parse("intr 1\n"), None);
        let before = CpuTimes { total: 1000, user: 100, system: 10, ..CpuTimes::default() };
        let after = CpuTimes { total: 1200, user: 250, system: 40, softirq: 10, ..before };
        let (u, k) = busy_shares(&before, &after);
        assert!((u - 0.75).abs() < 1e-12 && (k - 0.2).abs() < 1e-12, "{u} {k}");
        assert_eq!(busy_shares(&after, &after), (0.0, 0.0));
    }

    #[test]
    fn number_cells() {
        assert_eq!(fmt_sig(1234.5, 3), "1234");
        assert_eq!(fmt_sig(12.345, 3), "12.3");
        assert_eq!(fmt_sig(0.012_345, 3), "0.0123");
        assert_eq!(fmt_sig(0.0, 3), "0");
        assert_eq!(fmt_sig(f64::NAN, 3), "-");
        assert_eq!(ratio_cell(Some(3.0), Some(2.0)), "1.50x");
        assert_eq!(ratio_cell(Some(3.0), Some(0.0)), "-");
        assert_eq!(ratio_cell(None, Some(2.0)), "-");
    }

    #[test]
    fn bounded_command_arguments() {
        assert_eq!(argv(&["wrk", "-t1"]), vec!["wrk".to_string(), "-t1".to_string()]);
        let f = Finished {
            status: None,
            stdout: "a\nb".into(),
            stderr: String::new(),
            timed_out: true,
        };
        assert!(!f.ok());
        assert_eq!(f.describe(), "killed at its deadline: a / b");
    }
}
