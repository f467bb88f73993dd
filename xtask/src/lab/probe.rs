//! HTTP probing from inside a lab namespace, and what the samples say (outage, switch-over).
//!
//! A probe is a thread that joined the client's namespace and issues one `GET /` (std
//! `TcpStream`, connect and read timeouts) every `interval`, recording each result with its
//! time since the probe started. Everything is bounded: per request by the timeouts, per
//! probe by `max_duration`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::sys;

pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// One server answer: `serv1 10.0.0.1 client 10.0.0.250`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub server: String,
    pub server_addr: String,
    pub client: String,
}

impl Reply {
    #[must_use]
    pub fn parse(body: &str) -> Option<Reply> {
        let f: Vec<&str> = body.split_whitespace().collect();
        match f.as_slice() {
            [server, addr, "client", client] => Some(Reply {
                server: (*server).into(),
                server_addr: (*addr).into(),
                client: (*client).into(),
            }),
            _ => None,
        }
    }
}

/// One `GET /` with `Connection: close`; the body on HTTP 200, else an error text.
pub fn http_get(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(timeout))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let req = format!(
        "GET / HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: halb-lab\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).map_err(|e| format!("send: {e}"))?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timeout".into());
        }
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > 64 * 1024 {
                    return Err("response too large".into());
                }
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    parse_response(&String::from_utf8_lossy(&buf))
}

fn parse_response(text: &str) -> Result<String, String> {
    let (head, body) = text.split_once("\r\n\r\n").ok_or("truncated response")?;
    let status = head.lines().next().unwrap_or_default();
    match status.split_whitespace().nth(1) {
        Some("200") => Ok(body.trim().to_string()),
        Some(code) => Err(format!("HTTP {code}")),
        None => Err(format!("bad status line {status:?}")),
    }
}

/// `n` requests from namespace `ns`, one after the other.
pub fn requests(ns: &str, addr: SocketAddr, n: usize) -> Result<Vec<Result<String, String>>> {
    sys::in_netns(ns, move || Ok((0..n).map(|_| http_get(addr, REQUEST_TIMEOUT)).collect()))
}

#[derive(Debug, Clone)]
pub struct Sample {
    /// Start of the request, since the probe started.
    pub at: Duration,
    pub outcome: Result<String, String>,
}

impl Sample {
    fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    fn body(&self) -> Option<&str> {
        self.outcome.as_deref().ok()
    }
}

/// A running probe.
pub struct Prober {
    start: Instant,
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    handle: JoinHandle<Result<()>>,
}

impl Prober {
    pub fn start(
        ns: &str,
        addr: SocketAddr,
        interval: Duration,
        max_duration: Duration,
    ) -> Result<Prober> {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let start = Instant::now();
        let (stop2, samples2) = (stop.clone(), samples.clone());
        let handle = sys::spawn_in_netns(ns, move || {
            while !stop2.load(Ordering::Relaxed) && start.elapsed() < max_duration {
                let t = Instant::now();
                let outcome = http_get(addr, REQUEST_TIMEOUT.min(Duration::from_secs(1)));
                if let Ok(mut s) = samples2.lock() {
                    s.push(Sample { at: t.saturating_duration_since(start), outcome });
                }
                if let Some(rest) = interval.checked_sub(t.elapsed()) {
                    thread::sleep(rest);
                }
            }
            Ok(())
        })?;
        Ok(Prober { start, stop, samples, handle })
    }

    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    #[must_use]
    pub fn snapshot(&self) -> Vec<Sample> {
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until, after `since`, the last `k` samples all satisfy `want`; false on timeout
    /// or when the probe ended.
    pub fn wait_for(
        &self,
        since: Duration,
        k: usize,
        timeout: Duration,
        want: &dyn Fn(&str) -> bool,
    ) -> bool {
        sys::wait_until(timeout, Duration::from_millis(20), || {
            self.handle.is_finished() || self.settled(since, k, want)
        });
        self.settled(since, k, want)
    }

    fn settled(&self, since: Duration, k: usize, want: &dyn Fn(&str) -> bool) -> bool {
        let s = self.snapshot();
        let after: Vec<&Sample> = s.iter().filter(|x| x.at >= since).collect();
        after.len() >= k && after[after.len() - k..].iter().all(|x| x.body().is_some_and(want))
    }

    pub fn finish(self) -> Result<Vec<Sample>> {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.join() {
            Ok(r) => r?,
            Err(_) => bail!("probe thread panicked"),
        }
        Ok(self.samples.lock().map(|s| s.clone()).unwrap_or_default())
    }
}

/// What a probe saw around a fault at `fault_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub total: usize,
    pub failed: usize,
    /// Longest client-visible outage touching the time after the fault: from the last
    /// success before a run of failures to the first success after it (or to the last
    /// sample if it never recovered).
    pub outage: Duration,
    pub recovered: bool,
    /// First success after the fault whose body satisfies `want`, measured from the fault.
    pub switched_after: Option<Duration>,
    /// When answers came back for good: the first success after the last failure (zero
    /// if nothing failed after the fault), measured from the fault.
    pub back_after: Option<Duration>,
}

pub fn analyze(samples: &[Sample], fault_at: Duration, want: &dyn Fn(&str) -> bool) -> Outcome {
    let failed = samples.iter().filter(|s| !s.ok()).count();
    let mut outage = Duration::ZERO;
    let mut recovered = true;
    let mut last_ok: Option<Duration> = None;
    let mut run_start: Option<Duration> = None;
    for s in samples {
        if s.ok() {
            if let Some(start) = run_start.take() {
                let from = last_ok.unwrap_or(start);
                if s.at >= fault_at {
                    outage = outage.max(s.at.saturating_sub(from));
                }
            }
            last_ok = Some(s.at);
        } else if run_start.is_none() {
            run_start = Some(s.at);
        }
    }
    if let (Some(start), Some(last)) = (run_start, samples.last()) {
        recovered = false;
        outage = outage.max(last.at.saturating_sub(last_ok.unwrap_or(start)));
    }
    let switched_after = samples
        .iter()
        .find(|s| s.at >= fault_at && s.body().is_some_and(want))
        .map(|s| s.at.saturating_sub(fault_at));
    let last_fail = samples.iter().rposition(|s| !s.ok() && s.at >= fault_at);
    let back_after = match last_fail {
        None => Some(Duration::ZERO),
        Some(i) => samples[i..].iter().find(|s| s.ok()).map(|s| s.at.saturating_sub(fault_at)),
    };
    Outcome { total: samples.len(), failed, outage, recovered, switched_after, back_after }
}

#[must_use]
pub fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn samples(spec: &[(u64, Option<&str>)]) -> Vec<Sample> {
        spec.iter()
            .map(|&(t, body)| Sample {
                at: ms(t),
                outcome: body.map(String::from).ok_or_else(|| "connect: refused".to_string()),
            })
            .collect()
    }

    const B1: &str = "serv1 10.0.0.1 client 10.0.0.250";
    const B2: &str = "serv3 10.0.0.3 client 10.0.0.251";

    #[test]
    fn outage_is_gap_between_successes() {
        let s = samples(&[
            (0, Some(B1)),
            (20, Some(B1)),
            (40, None),
            (60, None),
            (1040, None),
            (3000, Some(B2)),
            (3020, Some(B2)),
        ]);
        let o = analyze(&s, ms(30), &|b| b.contains("10.0.0.251"));
        assert_eq!(o.total, 7);
        assert_eq!(o.failed, 3);
        assert_eq!(o.outage, ms(2980));
        assert!(o.recovered);
        assert_eq!(o.switched_after, Some(ms(2970)));
        assert_eq!(o.back_after, Some(ms(2970)));
    }

    #[test]
    fn no_outage_and_switch() {
        let s = samples(&[(0, Some(B2)), (20, Some(B2)), (40, Some(B1)), (60, Some(B1))]);
        let o = analyze(&s, ms(10), &|b| b.contains("10.0.0.250"));
        assert_eq!(o.outage, Duration::ZERO);
        assert_eq!(o.failed, 0);
        assert_eq!(o.switched_after, Some(ms(30)));
        assert_eq!(o.back_after, Some(Duration::ZERO));
    }

    #[test]
    fn never_recovered() {
        let s = samples(&[(0, Some(B1)), (20, None), (500, None)]);
        let o = analyze(&s, ms(10), &|_| true);
        assert!(!o.recovered);
        assert_eq!(o.outage, ms(500));
        assert_eq!(o.switched_after, None);
        assert_eq!(o.back_after, None);
    }

    #[test]
    fn failures_before_the_fault_do_not_count_as_outage() {
        let s = samples(&[(0, None), (20, Some(B1)), (40, Some(B1))]);
        let o = analyze(&s, ms(30), &|_| true);
        assert_eq!(o.outage, Duration::ZERO);
        assert_eq!(o.failed, 1);
    }

    #[test]
    fn replies_and_responses() {
        let r = Reply::parse("serv2 10.0.0.2 client 10.0.0.250\n").unwrap();
        assert_eq!((r.server.as_str(), r.client.as_str()), ("serv2", "10.0.0.250"));
        assert_eq!(Reply::parse("<html>"), None);
        assert_eq!(
            parse_response("HTTP/1.1 200 OK\r\nA: b\r\n\r\nserv1 x client y\n"),
            Ok("serv1 x client y".into())
        );
        assert_eq!(
            parse_response("HTTP/1.1 503 Service Unavailable\r\n\r\n<html>"),
            Err("HTTP 503".into())
        );
        assert!(parse_response("HTTP/1.1 200 OK\r\n").is_err());
    }

    #[test]
    fn http_get_against_a_local_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut buf = [0u8; 512];
            let _ = c.read(&mut buf).unwrap();
            c.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 33\r\n\r\nserv9 10.0.0.9 client 10.0.0.250\n",
            )
            .unwrap();
        });
        assert_eq!(
            http_get(addr, Duration::from_secs(2)),
            Ok("serv9 10.0.0.9 client 10.0.0.250".into())
        );
        server.join().unwrap();
        // Nothing listens there any more.
        assert!(http_get(addr, Duration::from_millis(500)).is_err());
    }
}
