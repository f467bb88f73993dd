//! iperf3 (3.12) `--json` results as numbers, and the search for the highest UDP packet
//! rate with loss below a limit.

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// A UDP run, both ends' view (the client prints the server's figures in `sum_received`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UdpResult {
    pub sent_packets: u64,
    pub sent_secs: f64,
    /// Packets the receiver counted (highest sequence number seen) and lost among them.
    pub packets: u64,
    pub lost_packets: u64,
    pub lost_percent: f64,
    pub received_secs: f64,
    /// System CPU time of the client and of the server over the test (getrusage, as iperf3
    /// reports it), seconds. On veths this includes the softirq work of the path that ran in
    /// their context (tick-based accounting charges it to the interrupted task).
    pub client_system_secs: Option<f64>,
    pub server_system_secs: Option<f64>,
}

impl UdpResult {
    /// Packets per second the sender managed.
    #[must_use]
    pub fn sent_pps(&self) -> f64 {
        per_sec(self.sent_packets, self.sent_secs)
    }

    /// Packets per second that arrived.
    #[must_use]
    pub fn received_pps(&self) -> f64 {
        per_sec(self.packets.saturating_sub(self.lost_packets), self.received_secs)
    }
}

/// A TCP run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TcpResult {
    /// Goodput the receiver saw.
    pub received_bps: f64,
    pub retransmits: u64,
}

fn per_sec(n: u64, secs: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let n = n as f64;
    if secs > 0.0 {
        n / secs
    } else {
        0.0
    }
}

fn document(text: &str) -> Result<Value> {
    let v: Value = serde_json::from_str(text).with_context(|| {
        format!("iperf3 did not print JSON: {}", text.chars().take(300).collect::<String>())
    })?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        bail!("iperf3: {e}");
    }
    Ok(v)
}

fn field<'a>(v: &'a Value, path: &[&str]) -> Result<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key).with_context(|| format!("iperf3 JSON has no {}", path.join(".")))?;
    }
    Ok(cur)
}

fn u(v: &Value, path: &[&str]) -> Result<u64> {
    field(v, path)?.as_u64().with_context(|| format!("{} is not a count", path.join(".")))
}

fn f(v: &Value, path: &[&str]) -> Result<f64> {
    field(v, path)?.as_f64().with_context(|| format!("{} is not a number", path.join(".")))
}

pub fn parse_udp(text: &str) -> Result<UdpResult> {
    let v = document(text)?;
    let secs = f(&v, &["end", "sum_sent", "seconds"])?;
    let cpu = |key: &str| {
        f(&v, &["end", "cpu_utilization_percent", key]).ok().map(|pct| pct / 100.0 * secs)
    };
    Ok(UdpResult {
        client_system_secs: cpu("host_system"),
        server_system_secs: cpu("remote_system"),
        sent_packets: u(&v, &["end", "sum_sent", "packets"])?,
        sent_secs: secs,
        packets: u(&v, &["end", "sum_received", "packets"])?,
        lost_packets: u(&v, &["end", "sum_received", "lost_packets"])?,
        lost_percent: f(&v, &["end", "sum_received", "lost_percent"])?,
        received_secs: f(&v, &["end", "sum_received", "seconds"])?,
    })
}

pub fn parse_tcp(text: &str) -> Result<TcpResult> {
    let v = document(text)?;
    Ok(TcpResult {
        received_bps: f(&v, &["end", "sum_received", "bits_per_second"])?,
        retransmits: u(&v, &["end", "sum_sent", "retransmits"]).unwrap_or(0),
    })
}

/// How one step of the rate search went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Sent at the requested rate, loss below the limit.
    Good,
    /// Loss at or above the limit.
    Lossy,
    /// No loss to speak of, but the sender could not reach the requested rate (below 90 %):
    /// the sending core is saturated (on veths the whole path runs in its softirq).
    SenderLimited,
}

/// The sender reached the requested rate when it sent at least this share of it.
pub const SENDER_SHARE: f64 = 0.9;

#[must_use]
pub fn classify(requested_pps: u64, r: &UdpResult, max_loss_percent: f64) -> Step {
    #[allow(clippy::cast_precision_loss)]
    let requested = requested_pps as f64;
    if r.lost_percent >= max_loss_percent {
        Step::Lossy
    } else if r.sent_pps() < requested * SENDER_SHARE {
        Step::SenderLimited
    } else {
        Step::Good
    }
}

/// Doubling from `start` until a step fails, then bisection between the highest good and the
/// lowest failed rate until they are within `resolution` (e.g. 0.1 = 10 %), at most
/// `max_steps` steps. A sender-limited step ends the search (no higher rate can be offered).
#[derive(Debug, Clone)]
pub struct RateSearch {
    start: u64,
    min: u64,
    max: u64,
    resolution: f64,
    max_steps: u32,
    steps: u32,
    good: Option<u64>,
    bad: Option<u64>,
    limited: bool,
}

impl RateSearch {
    #[must_use]
    pub fn new(start: u64, max_steps: u32) -> RateSearch {
        RateSearch {
            start: start.max(1),
            min: 1000,
            max: 20_000_000,
            resolution: 0.1,
            max_steps,
            steps: 0,
            good: None,
            bad: None,
            limited: false,
        }
    }

    /// The next rate to try, packets/s; `None` when done.
    #[must_use]
    pub fn next(&self) -> Option<u64> {
        if self.limited || self.steps >= self.max_steps {
            return None;
        }
        match (self.good, self.bad) {
            (None, None) => Some(self.start),
            (Some(g), None) => Some(g.saturating_mul(2)).filter(|r| *r <= self.max),
            (None, Some(b)) => Some(b / 2).filter(|r| *r >= self.min),
            (Some(g), Some(b)) => {
                #[allow(clippy::cast_precision_loss)]
                let close = b as f64 <= g as f64 * (1.0 + self.resolution);
                (!close).then_some(g + (b - g) / 2)
            }
        }
    }

    pub fn record(&mut self, rate: u64, step: Step) {
        self.steps += 1;
        match step {
            Step::Good => self.good = Some(self.good.map_or(rate, |g| g.max(rate))),
            Step::Lossy => self.bad = Some(self.bad.map_or(rate, |b| b.min(rate))),
            Step::SenderLimited => self.limited = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UDP: &str = r#"{"start":{},"intervals":[],"end":{"streams":[],
        "sum":{"start":0,"end":1.000217,"seconds":1.000217,"bytes":1245248,"bits_per_second":9961784.7,"jitter_ms":0.001,"lost_packets":11,"packets":19457,"lost_percent":0.0565,"sender":true},
        "sum_sent":{"start":0,"end":1.00002,"seconds":1.00002,"bytes":1245248,"bits_per_second":9961784.7,"jitter_ms":0,"lost_packets":0,"packets":19457,"lost_percent":0,"sender":true},
        "sum_received":{"start":0,"end":1.000217,"seconds":1.000217,"bytes":1244544,"bits_per_second":9954191.9,"jitter_ms":0.001,"lost_packets":11,"packets":19457,"lost_percent":0.0565,"sender":false},
        "cpu_utilization_percent":{"host_total":37.9,"host_user":2.9,"host_system":35.0,"remote_total":50.0,"remote_user":10.0,"remote_system":40.0}}}"#;

    const TCP: &str = r#"{"end":{"streams":[],
        "sum_sent":{"start":0,"end":1.001401,"seconds":1.001401,"bytes":1698693120,"bits_per_second":13570532643.7,"retransmits":14,"sender":true},
        "sum_received":{"start":0,"end":1.004099,"seconds":1.004099,"bytes":1696071680,"bits_per_second":13513182903.2,"sender":true}}}"#;

    #[test]
    fn udp() {
        let r = parse_udp(UDP).unwrap();
        assert_eq!((r.sent_packets, r.packets, r.lost_packets), (19457, 19457, 11));
        assert!((r.sent_pps() - 19457.0 / 1.00002).abs() < 1e-6);
        assert!((r.received_pps() - 19446.0 / 1.000_217).abs() < 1e-6);
        assert!((r.lost_percent - 0.0565).abs() < 1e-12);
        assert!((r.client_system_secs.unwrap() - 0.35 * 1.00002).abs() < 1e-9);
        assert!((r.server_system_secs.unwrap() - 0.40 * 1.00002).abs() < 1e-9);
        let no_cpu = UDP.replace("cpu_utilization_percent", "x");
        assert_eq!(parse_udp(&no_cpu).unwrap().client_system_secs, None);
    }

    #[test]
    fn tcp() {
        let r = parse_tcp(TCP).unwrap();
        assert!((r.received_bps - 13_513_182_903.2).abs() < 1e-3);
        assert_eq!(r.retransmits, 14);
    }

    #[test]
    fn errors() {
        let e =
            parse_udp(r#"{"start":{},"error":"unable to connect to server: Connection refused"}"#)
                .unwrap_err();
        assert_eq!(e.to_string(), "iperf3: unable to connect to server: Connection refused");
        assert!(parse_tcp("iperf3: error").unwrap_err().to_string().contains("did not print JSON"));
        assert!(parse_udp(TCP).unwrap_err().to_string().contains("end.sum_sent.packets"));
    }

    #[test]
    fn steps() {
        let r = parse_udp(UDP).unwrap();
        assert_eq!(classify(19_000, &r, 0.5), Step::Good);
        assert_eq!(classify(19_000, &r, 0.05), Step::Lossy);
        assert_eq!(classify(25_000, &r, 0.5), Step::SenderLimited);
    }

    #[test]
    fn search_doubles_then_bisects() {
        let mut s = RateSearch::new(50_000, 10);
        let mut tried = Vec::new();
        // The path carries 330 kpps.
        while let Some(rate) = s.next() {
            tried.push(rate);
            s.record(rate, if rate <= 330_000 { Step::Good } else { Step::Lossy });
        }
        assert_eq!(tried, [50_000, 100_000, 200_000, 400_000, 300_000, 350_000, 325_000]);
        // 325k good, 350k bad: within 10 %, done after 7 steps.
    }

    #[test]
    fn search_is_bounded_and_stops_when_the_sender_is_the_limit() {
        let mut s = RateSearch::new(50_000, 3);
        let mut n = 0;
        while let Some(rate) = s.next() {
            n += 1;
            s.record(rate, Step::Good);
        }
        assert_eq!(n, 3);
        let mut s = RateSearch::new(50_000, 10);
        s.record(50_000, Step::Good);
        assert_eq!(s.next(), Some(100_000));
        s.record(100_000, Step::SenderLimited);
        assert_eq!(s.next(), None);
        // Too lossy from the start: halves down to the floor.
        let mut s = RateSearch::new(4000, 10);
        let mut tried = Vec::new();
        while let Some(rate) = s.next() {
            tried.push(rate);
            s.record(rate, Step::Lossy);
        }
        assert_eq!(tried, [4000, 2000, 1000]);
    }
}
