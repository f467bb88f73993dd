//! What `wrk --latency` prints (wrk 4.1, Debian 12), as numbers.
//!
//! ```text
//! Running 10s test @ http://172.16.1.250:8000/b0
//!   1 threads and 50 connections
//!   Thread Stats   Avg      Stdev     Max   +/- Stdev
//!     Latency     1.23ms  456.00us  12.34ms   90.00%
//!     Req/Sec    40.00k     2.00k   45.00k    80.00%
//!   Latency Distribution
//!      50%    1.10ms
//!      99%    3.00ms
//!   400000 requests in 10.00s, 50.00MB read
//!   Socket errors: connect 0, read 2, write 0, timeout 1
//!   Non-2xx or 3xx responses: 12
//! Requests/sec:  40000.00
//! Transfer/sec:      5.00MB
//! ```

use std::time::Duration;

use anyhow::{Context, Result};

/// One wrk run.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkResult {
    pub requests: u64,
    pub duration: Duration,
    pub requests_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// Socket errors: connect, read, write, timeout.
    pub socket_errors: [u64; 4],
    /// Answers with a status outside 2xx/3xx.
    pub non_2xx: u64,
}

impl WrkResult {
    #[must_use]
    pub fn errors(&self) -> u64 {
        self.socket_errors.iter().sum::<u64>() + self.non_2xx
    }

    /// "3 non-2xx/3xx, read 2, timeout 1", or "" when clean.
    #[must_use]
    pub fn error_summary(&self) -> String {
        let mut parts = Vec::new();
        if self.non_2xx > 0 {
            parts.push(format!("{} non-2xx/3xx", self.non_2xx));
        }
        for (name, n) in ["connect", "read", "write", "timeout"].iter().zip(self.socket_errors) {
            if n > 0 {
                parts.push(format!("{name} {n}"));
            }
        }
        parts.join(", ")
    }
}

/// wrk's time figures: `12us`, `1.23ms`, `2.00s`, `1.00m`, `1.00h`.
#[must_use]
pub fn parse_time(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let secs = match unit {
        "us" => v / 1e6,
        "ms" => v / 1e3,
        "s" => v,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

pub fn parse(text: &str) -> Result<WrkResult> {
    let mut requests = None;
    let mut duration = None;
    let mut rps = None;
    let mut p50 = None;
    let mut p99 = None;
    let mut socket_errors = [0; 4];
    let mut non_2xx = 0;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            rps = rest.trim().parse::<f64>().ok();
        } else if let Some(rest) = line.strip_prefix("50%") {
            p50 = parse_time(rest);
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99 = parse_time(rest);
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            non_2xx = rest.trim().parse().context("Non-2xx count")?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            for part in rest.split(',') {
                let mut it = part.split_whitespace();
                let (Some(name), Some(n)) = (it.next(), it.next()) else { continue };
                let n: u64 = n.parse().context("socket error count")?;
                let i = match name {
                    "connect" => 0,
                    "read" => 1,
                    "write" => 2,
                    "timeout" => 3,
                    _ => continue,
                };
                socket_errors[i] = n;
            }
        } else if line.contains(" requests in ") {
            // "400000 requests in 10.00s, 50.00MB read"
            let mut it = line.split_whitespace();
            requests = it.next().and_then(|n| n.parse::<u64>().ok());
            duration = it.nth(2).map(|d| d.trim_end_matches(',')).and_then(parse_time);
        }
    }
    let missing = |what: &str| format!("no {what} in wrk's output:\n{text}");
    Ok(WrkResult {
        requests: requests.with_context(|| missing("request count"))?,
        duration: duration.with_context(|| missing("duration"))?,
        requests_per_sec: rps.with_context(|| missing("Requests/sec"))?,
        p50: p50.with_context(|| missing("50th percentile (--latency)"))?,
        p99: p99.with_context(|| missing("99th percentile (--latency)"))?,
        socket_errors,
        non_2xx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = "Running 10s test @ http://172.16.1.250:8000/b1k
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  456.00us  12.34ms   90.00%
    Req/Sec    40.00k     2.00k   45.00k    80.00%
  Latency Distribution
     50%    1.10ms
     75%    1.30ms
     90%    1.50ms
     99%  812.00us
  400000 requests in 10.00s, 50.00MB read
Requests/sec:  40001.50
Transfer/sec:      5.00MB
";

    #[test]
    fn clean_run() {
        let r = parse(CLEAN).unwrap();
        assert_eq!(r.requests, 400_000);
        assert_eq!(r.duration, Duration::from_secs(10));
        assert!((r.requests_per_sec - 40_001.5).abs() < 1e-9);
        assert_eq!(r.p50, Duration::from_micros(1100));
        assert_eq!(r.p99, Duration::from_micros(812));
        assert_eq!((r.errors(), r.error_summary()), (0, String::new()));
    }

    #[test]
    fn errors_are_counted() {
        let text = CLEAN.replace(
            "Requests/sec:",
            "  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 12\nRequests/sec:",
        );
        let r = parse(&text).unwrap();
        assert_eq!(r.socket_errors, [0, 2, 0, 1]);
        assert_eq!(r.non_2xx, 12);
        assert_eq!(r.errors(), 15);
        assert_eq!(r.error_summary(), "12 non-2xx/3xx, read 2, timeout 1");
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("12us"), Some(Duration::from_micros(12)));
        assert_eq!(parse_time(" 1.50ms"), Some(Duration::from_micros(1500)));
        assert_eq!(parse_time("2.00s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_time("1.00m"), Some(Duration::from_mins(1)));
        assert_eq!(parse_time("1.5x"), None);
        assert_eq!(parse_time("ms"), None);
    }

    #[test]
    fn incomplete_output_is_an_error() {
        let err = parse("unable to connect to 172.16.1.250:8000 Connection refused").unwrap_err();
        assert!(err.to_string().contains("no request count"), "{err}");
        // Without --latency there is no distribution.
        let text: String = CLEAN
            .lines()
            .filter(|l| !l.contains('%') || l.contains("Stdev"))
            .flat_map(|l| [l, "\n"])
            .collect();
        assert!(parse(&text).unwrap_err().to_string().contains("50th percentile"));
    }
}
