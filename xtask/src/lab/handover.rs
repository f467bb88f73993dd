//! Planned operations on the lab's halb daemons, through the daemon's own command line:
//! `lab upgrade HOST` runs `halb upgrade --node N --binary PATH` (the running daemon hands
//! its listeners and state to a new process). The daemon's node and run dir are the ones
//! the lab started it with ([`super::daemon`]). When halb refuses, the error is halb's own
//! first line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::daemon;
use super::rundir::Lab;
use super::sys::{self, Proc};
use super::topo;

/// How long a new daemon may take after `halb upgrade` returned to show up in /proc.
const SUCCESSOR_WAIT: Duration = Duration::from_secs(10);
/// The same after `halb upgrade` failed (the old daemon usually keeps serving then).
const FAILED_SUCCESSOR_WAIT: Duration = Duration::from_secs(2);

/// The arguments of `halb upgrade` for the daemon `node`.
#[must_use]
pub fn upgrade_argv(node: &str, run_dir: &Path, binary: &Path) -> Vec<String> {
    vec![
        "upgrade".into(),
        "--node".into(),
        node.into(),
        "--run-dir".into(),
        run_dir.display().to_string(),
        "--binary".into(),
        binary.display().to_string(),
    ]
}

/// The first line of halb's complaint: clap's `error: ...` line, else the first non-empty.
#[must_use]
pub fn first_error_line(stderr: &str) -> String {
    let mut lines = stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.clone().next().unwrap_or("no message on stderr").to_string();
    lines.find(|l| l.starts_with("error")).map_or(first, String::from)
}

/// Runs `halb ARGS`; its stdout on success, halb's one-line error otherwise.
pub fn run_halb(args: &[String]) -> Result<String> {
    let bin = daemon::binary()?;
    let out = Command::new(&bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "`halb {}` failed: {}",
            args.join(" "),
            first_error_line(&String::from_utf8_lossy(&out.stderr))
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn require_daemon(lab: &Lab, host: &str) -> Result<()> {
    if !topo::DAEMON_NODES.contains(&host) {
        bail!("no daemon node {host:?} (daemon nodes: {})", topo::DAEMON_NODES.join(", "));
    }
    if !lab.config()?.runs_daemon(host) {
        bail!(
            "{host} runs no halb daemon in lab {:?} (bring it up with a halb component there or --daemon)",
            lab.prefix
        );
    }
    Ok(())
}

/// `lab upgrade HOST [--binary PATH]`: hitless upgrade of the host's daemon to `binary`
/// (default: the lab's daemon binary), then records the new process so `lab down` and
/// `lab stop` find it.
pub fn upgrade(lab: &Lab, host: &str, binary: Option<&Path>) -> Result<String> {
    require_daemon(lab, host)?;
    let binary = match binary {
        Some(b) => b.to_path_buf(),
        None => daemon::binary()?,
    };
    let old = lab.recorded_proc(host, "halb");
    let config = daemon::config_path(lab, host);
    let before = daemons_of(&config);
    let answer = run_halb(&upgrade_argv(&lab.daemon_node(host), &daemon::run_dir(lab), &binary));
    // The successor is the daemon with this config that did not run before. Even when
    // halb reports an error the new process may have taken over: record it
    // either way, or `lab down` would leave it running.
    let wait = if answer.is_ok() { SUCCESSOR_WAIT } else { FAILED_SUCCESSOR_WAIT };
    let mut successor = None;
    sys::wait_until(wait, Duration::from_millis(100), || {
        successor = daemons_of(&config).into_iter().find(|p| !before.contains(p));
        successor.is_some()
    });
    if let Some(new) = successor {
        lab.record(host, "halb", new)?;
    }
    let old_pid = old.map_or(0, |p| p.pid);
    match (answer, successor) {
        (Ok(out), Some(new)) => {
            Ok(format!("{out}{host}: daemon upgraded, pid {old_pid} -> {}", new.pid))
        }
        (Ok(_), None) => bail!(
            "`halb upgrade` for {host} succeeded but no new daemon with config {} runs",
            config.display()
        ),
        (Err(e), Some(new)) => Err(e.context(format!(
            "{host}: the new daemon (pid {}) took over from pid {old_pid} all the same",
            new.pid
        ))),
        (Err(e), None) => Err(e),
    }
}

/// Live processes whose command line runs the daemon with `config`.
fn daemons_of(config: &Path) -> Vec<Proc> {
    let want = config.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let path = PathBuf::from(format!("/proc/{pid}/cmdline"));
            std::fs::read(path).is_ok_and(|c| {
                let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
                args.contains(&"run".as_bytes()) && args.contains(&want)
            })
        })
        .filter_map(Proc::of_pid)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_of_the_daemon_commands() {
        let dir = Path::new("/run/halb-lab/hd/halb-run");
        assert_eq!(
            upgrade_argv("hd-host1", dir, Path::new("/tmp/halb")).join(" "),
            "upgrade --node hd-host1 --run-dir /run/halb-lab/hd/halb-run --binary /tmp/halb"
        );
    }

    #[test]
    fn halbs_error_is_one_line() {
        let clap = "error: unrecognized subcommand 'upgrade'\n\nUsage: halb <COMMAND>\n\nFor more information, try '--help'.\n";
        assert_eq!(first_error_line(clap), "error: unrecognized subcommand 'upgrade'");
        assert_eq!(first_error_line("\n  no daemon on node x\nmore\n"), "no daemon on node x");
        assert_eq!(first_error_line(""), "no message on stderr");
    }
}
