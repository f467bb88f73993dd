//! Loop detection for `bench stp`: a frame delivered twice means it went round a loop.
//!
//! While a run's faults and heals happen, a client pings the VIP every [`PING_INTERVAL`]
//! (`ping -i 0.01`, bounded by a count). In a loop-free tree every echo request arrives once
//! and gets one reply; a loop (two paths forwarding at once) floods the request or the reply
//! round the loop and the client receives copies, which ping marks `(DUP!)`. The watcher
//! counts replies and duplicates from ping's output when the run ends; ping is stopped by
//! PID (and ends by itself after its count).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::sys::{self, Proc};

/// Interval between echo requests of the watcher (root may ping faster than 200 ms).
pub const PING_INTERVAL: Duration = Duration::from_millis(10);
/// Grace between SIGTERM and SIGKILL when the watcher stops ping.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// What ping saw over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Echoes {
    /// Replies, duplicates included.
    pub replies: usize,
    /// Replies ping marked `(DUP!)`.
    pub duplicates: usize,
}

/// Counts the replies and the duplicates in ping's output.
#[must_use]
pub fn parse(output: &str) -> Echoes {
    let replies: Vec<&str> = output.lines().filter(|l| l.contains(" bytes from ")).collect();
    Echoes {
        replies: replies.len(),
        duplicates: replies.iter().filter(|l| l.contains("(DUP!)")).count(),
    }
}

/// A running `ping` in a lab namespace, its output in a file.
pub struct LoopWatch {
    proc: Option<Proc>,
    log: PathBuf,
}

impl LoopWatch {
    /// Pings `target` from namespace `ns` for about `bound` at most, output to `log`
    /// (replaced).
    pub fn start(ns: &str, target: &str, bound: Duration, log: &Path) -> Result<LoopWatch> {
        // spawn_logged appends: every run starts from an empty file.
        std::fs::write(log, "").with_context(|| format!("cannot create {}", log.display()))?;
        let interval = format!("{:.3}", PING_INTERVAL.as_secs_f64());
        // Bounded by a count, not `-w`: with a deadline ping exits at the first
        // error notification (a "Destination Host Unreachable" during the
        // outage), and the rest of the run would go unwatched.
        let count = (bound.as_millis() / PING_INTERVAL.as_millis()).max(1).to_string();
        let argv: Vec<String> = ["ping", "-n", "-i", &interval, "-c", &count, target]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        let proc = sys::spawn_logged(Some(ns), &argv, log)
            .with_context(|| format!("starting the loop watch (ping) in {ns}"))?;
        Ok(LoopWatch { proc: Some(proc), log: log.to_path_buf() })
    }

    /// Stops ping and counts what it printed.
    pub fn finish(mut self) -> Result<Echoes> {
        if let Some(p) = self.proc.take() {
            p.terminate(STOP_GRACE).context("stopping the loop watch (ping)")?;
        }
        let text = std::fs::read_to_string(&self.log)
            .with_context(|| format!("cannot read {}", self.log.display()))?;
        Ok(parse(&text))
    }
}

impl Drop for LoopWatch {
    fn drop(&mut self) {
        if let Some(p) = self.proc.take() {
            if let Err(e) = p.terminate(STOP_GRACE) {
                eprintln!("stopping the loop watch (ping, pid {}): {e:#}", p.pid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_replies_and_duplicates() {
        let out = "PING 172.16.1.254 (172.16.1.254) 56(84) bytes of data.\n\
            64 bytes from 172.16.1.254: icmp_seq=1 ttl=64 time=0.061 ms\n\
            64 bytes from 172.16.1.254: icmp_seq=2 ttl=64 time=0.052 ms\n\
            64 bytes from 172.16.1.254: icmp_seq=2 ttl=64 time=0.090 ms (DUP!)\n\
            From 172.16.1.100 icmp_seq=9 Destination Host Unreachable\n\
            \n\
            --- 172.16.1.254 ping statistics ---\n\
            9 packets transmitted, 2 received, +1 duplicates, 77.7778% packet loss, time 80ms\n";
        assert_eq!(parse(out), Echoes { replies: 3, duplicates: 1 });
        assert_eq!(parse(""), Echoes::default());
    }
}
