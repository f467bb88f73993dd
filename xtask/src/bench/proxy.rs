//! `cargo xtask bench proxy`: halb's L7 proxy against haproxy 2.6, side by side in
//! one run, on a topology of its own (prefix `hbench-px` unless told otherwise).
//!
//! ```text
//!   P-client 172.16.1.100 (wrk, CPU --load-cpu)
//!        |
//!   P-sw [br0] -- P-s1 .11, P-s2 .12, P-s3 .13 (nginx, 1 worker each, CPU --load-cpu)
//!        |
//!   P-bal 172.16.1.250: haproxy *:8001 (nbthread 1) and halb *:8000 (proxy_threads = 1),
//!                         both pinned to CPU --balancer-cpu
//! ```
//!
//! Both balancers run the whole time with the same settings (round robin, TCP checks every
//! 2 s with rise 2 / fall 3, retries 3 with redispatch, timeouts connect 5 s, client and
//! server 50 s, http-request 10 s, frontend maxconn 4096, X-Forwarded-For added); the idle
//! one only runs its checks. For each case (connection mode x body size) wrk first warms up
//! (`--warmup` s, not measured), then measures (`--duration` s) haproxy, then halb, so slow
//! drift of the shared machine hits both alike. The balancer's CPU time is utime + stime
//! of its process (/proc/PID/stat, every thread) before and after the measured run.

use std::fmt::{self, Write as _};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{ensure, Context, Result};
use clap::{Args, ValueEnum};

use super::proxy_env::{self, argv, fmt_sig, ratio_cell, Env};
use super::proxy_wrk::{self, WrkResult};
use super::report::{self, Target};
use super::results::{first_seen, median, BenchResults, Row};
use super::saved;
use crate::daemon_build::{self, Profile};
use crate::harness::halb_config::{
    self, duration, BackendSection, BalancerSection, ConfigFile, DaemonSection, FrontendSection,
    ProxySection, ServerSection, TimeoutSection,
};
use crate::harness::topology::{self, Veth};
use crate::lab::sys::{self, Proc};
use crate::progress::Progress;

const BAL_IP: &str = "172.16.1.250";
const CLIENT: (&str, &str) = ("client", "172.16.1.100/24");
const SERVERS: [(&str, &str); 3] =
    [("s1", "172.16.1.11"), ("s2", "172.16.1.12"), ("s3", "172.16.1.13")];
const HAPROXY_PORT: u16 = 8001;
const HALB_PORT: u16 = 8000;
/// halb must beat haproxy's requests/s by this factor...
const TARGET_FACTOR: f64 = 1.3;
/// ... with a p99 no worse; within 5 % counts as equal (wrk prints two decimals, and the
/// machine is shared).
const P99_TOLERANCE: f64 = 1.05;
/// A balancer using less of its core than this was not the only bottleneck.
const SATURATED: f64 = 0.9;
/// How long the balancers may take to answer through every server after starting.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// halb's L7 proxy against haproxy (root; builds its own namespaces, removes them).
#[derive(Args, Debug)]
pub struct ProxyArgs {
    /// Seconds of each measured wrk run (36 runs with the defaults).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub duration: u64,
    /// Seconds of wrk before each measured run, not measured (0: none).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=60))]
    pub warmup: u64,
    /// Connection modes: keep-alive, close (`-H "Connection: close"`, one request per
    /// connection) and paced (keep-alive at the same offered load for both stacks).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "keepalive,close")]
    pub modes: Vec<Mode>,
    /// Response body sizes.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "0,1k,64k")]
    pub bodies: Vec<Body>,
    /// Concurrent wrk connections.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=4000))]
    pub connections: u32,
    /// wrk threads (on --load-cpu).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub wrk_threads: u32,
    /// Balancers measured.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "haproxy,halb")]
    pub stacks: Vec<ProxyStack>,
    /// CPU both balancers are pinned to.
    #[arg(long, default_value_t = 0)]
    pub balancer_cpu: usize,
    /// CPU of wrk and the nginx backends.
    #[arg(long, default_value_t = 1)]
    pub load_cpu: usize,
    /// Rounds: every case is measured this many times per stack, the stacks taking turns;
    /// the table shows each figure's median over the rounds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,
    /// Milliseconds each connection waits between two requests in mode `paced`.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub pace_ms: u64,
    /// Namespace prefix (namespaces PREFIX-client, -bal, -sw, -s1..3).
    #[arg(long, default_value = "hbench-px")]
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Mode {
    /// HTTP/1.1 keep-alive: many requests per connection.
    Keepalive,
    /// `Connection: close`: a TCP connection per request.
    Close,
    /// Keep-alive with each connection waiting `--pace-ms` between requests (wrk's `delay()`):
    /// both stacks get the same offered load while neither saturates, so p99 compares at equal
    /// throughput. Closed-loop runs favour the slower stack's p99: the faster one drives the
    /// backends' and wrk's shared core harder.
    Paced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Body {
    #[value(name = "0")]
    Empty,
    #[value(name = "1k")]
    K1,
    #[value(name = "64k")]
    K64,
}

impl Body {
    #[must_use]
    pub fn bytes(self) -> usize {
        match self {
            Body::Empty => 0,
            Body::K1 => 1024,
            Body::K64 => 64 * 1024,
        }
    }

    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            Body::Empty => "/b0",
            Body::K1 => "/b1k",
            Body::K64 => "/b64k",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Body::Empty => "0 B",
            Body::K1 => "1 KiB",
            Body::K64 => "64 KiB",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum ProxyStack {
    /// haproxy 2.6 (Debian), nbthread 1.
    Haproxy,
    /// halb's proxy, `proxy_threads` = 1.
    Halb,
}

impl ProxyStack {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            ProxyStack::Haproxy => "haproxy",
            ProxyStack::Halb => "halb",
        }
    }

    fn port(self) -> u16 {
        match self {
            ProxyStack::Haproxy => HAPROXY_PORT,
            ProxyStack::Halb => HALB_PORT,
        }
    }
}

/// A case: connection mode and body size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub mode: Mode,
    pub body: Body,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            Mode::Keepalive => "keep-alive",
            Mode::Close => "close",
            Mode::Paced => "paced",
        };
        write!(f, "{mode}, {}", self.body.label())
    }
}

/// One measured run of one stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub case: Case,
    pub stack: ProxyStack,
    /// `Err`: wrk did not produce figures (why).
    pub wrk: Result<WrkResult, String>,
    /// CPU seconds of the balancer process during the run.
    pub cpu_secs: Option<f64>,
}

impl Measured {
    fn ok(&self) -> Option<&WrkResult> {
        self.wrk.as_ref().ok()
    }

    /// CPU seconds per 1000 requests.
    #[must_use]
    pub fn cpu_per_1000(&self) -> Option<f64> {
        let w = self.ok()?;
        #[allow(clippy::cast_precision_loss)]
        let n = w.requests as f64;
        (w.requests > 0).then(|| self.cpu_secs.map(|c| c * 1000.0 / n))?
    }

    /// Balancer CPU use over the run (1.0 = one whole core).
    #[must_use]
    pub fn cpu_share(&self) -> Option<f64> {
        let d = self.ok()?.duration.as_secs_f64();
        (d > 0.0).then(|| self.cpu_secs.map(|c| c / d))?
    }

    /// Failed to measure, or wrk saw errors.
    #[must_use]
    pub fn flagged(&self) -> bool {
        self.ok().is_none_or(|w| w.errors() > 0 || w.requests == 0)
    }
}

fn ms(d: Duration) -> String {
    fmt_sig(d.as_secs_f64() * 1e3, 3)
}

/// One `Measured` per (case, stack), in order of first appearance: each figure the median of
/// that pair's runs (req/s, p50, p99, CPU per 1000 requests), errors summed. A pair with a run
/// that gave no figures is that run (flagged).
#[must_use]
pub fn medians(all: &[Measured]) -> Vec<Measured> {
    first_seen(all.iter().map(|m| (m.case, m.stack)))
        .into_iter()
        .filter_map(|(case, stack)| {
            let runs: Vec<&Measured> =
                all.iter().filter(|m| m.case == case && m.stack == stack).collect();
            if let Some(failed) = runs.iter().find(|m| m.wrk.is_err()) {
                return Some((*failed).clone());
            }
            let oks: Vec<&WrkResult> = runs.iter().filter_map(|m| m.ok()).collect();
            let of = |f: &dyn Fn(&WrkResult) -> f64| {
                median(&oks.iter().map(|w| f(w)).collect::<Vec<_>>())
            };
            let secs = |d: Duration| d.as_secs_f64();
            #[allow(clippy::cast_precision_loss)]
            let requests = of(&|w| w.requests as f64)?;
            let duration = Duration::from_secs_f64(of(&|w| secs(w.duration))?);
            let mut socket_errors = [0; 4];
            for w in &oks {
                for (sum, n) in socket_errors.iter_mut().zip(w.socket_errors) {
                    *sum += n;
                }
            }
            let wrk = WrkResult {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                requests: requests as u64,
                duration,
                requests_per_sec: of(&|w| w.requests_per_sec)?,
                p50: Duration::from_secs_f64(of(&|w| secs(w.p50))?),
                p99: Duration::from_secs_f64(of(&|w| secs(w.p99))?),
                socket_errors,
                non_2xx: oks.iter().map(|w| w.non_2xx).sum(),
            };
            // CPU seconds such that CPU per 1000 requests is the runs' median.
            let cpu_secs =
                median(&runs.iter().filter_map(|m| m.cpu_per_1000()).collect::<Vec<_>>())
                    .map(|per_1000| per_1000 * requests / 1000.0);
            Some(Measured { case, stack, wrk: Ok(wrk), cpu_secs })
        })
        .collect()
}

/// Per case, halb/haproxy of each round (the k-th run of each stack): requests/s and CPU per
/// request, to show how far the ratio moves between rounds.
#[must_use]
pub fn round_ratios(all: &[Measured]) -> Vec<String> {
    let runs = |case: Case, stack: ProxyStack| -> Vec<&Measured> {
        all.iter().filter(|m| m.case == case && m.stack == stack).collect()
    };
    first_seen(all.iter().map(|m| m.case))
        .into_iter()
        .filter_map(|case| {
            let (h, p) = (runs(case, ProxyStack::Halb), runs(case, ProxyStack::Haproxy));
            let pairs: Vec<(&Measured, &Measured)> = h.into_iter().zip(p).collect();
            if pairs.len() < 2 {
                return None;
            }
            let cell = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}x"));
            let rps: Vec<String> = pairs
                .iter()
                .map(|(h, p)| {
                    cell(h.ok().zip(p.ok()).map(|(h, p)| {
                        h.requests_per_sec / p.requests_per_sec.max(f64::MIN_POSITIVE)
                    }))
                })
                .collect();
            let cpu: Vec<String> = pairs
                .iter()
                .map(|(h, p)| cell(h.cpu_per_1000().zip(p.cpu_per_1000()).map(|(h, p)| h / p)))
                .collect();
            Some(format!("{case}: req/s {}; CPU per request {}", rps.join(" "), cpu.join(" ")))
        })
        .collect()
}

/// Every run's figures per (case, stack), for the results file: requests/s, p50 and p99
/// (ms), CPU seconds per 1000 requests; per case the halb/haproxy requests/s of each round,
/// whose median is the ratio of the medians (the table's).
#[must_use]
pub fn rows(all: &[Measured]) -> Vec<Row> {
    let mut out = Vec::new();
    let summary = medians(all);
    for (case, stack) in first_seen(all.iter().map(|m| (m.case, m.stack))) {
        let runs: Vec<&Measured> =
            all.iter().filter(|m| (m.case, m.stack) == (case, stack)).collect();
        let of = |f: &dyn Fn(&Measured) -> Option<f64>| runs.iter().filter_map(|m| f(m)).collect();
        let (c, st) = (case.to_string(), stack.label());
        let secs_ms = |d: Duration| d.as_secs_f64() * 1e3;
        out.extend([
            Row::of(&c, st, "requests/s", "requests/s", of(&|m| Some(m.ok()?.requests_per_sec))),
            Row::of(&c, st, "p50", "ms", of(&|m| Some(secs_ms(m.ok()?.p50)))),
            Row::of(&c, st, "p99", "ms", of(&|m| Some(secs_ms(m.ok()?.p99)))),
            Row::of(&c, st, "CPU per 1000 requests", "s", of(&|m| m.cpu_per_1000())),
        ]);
        if stack == ProxyStack::Halb {
            let rate = |s: ProxyStack| -> Vec<Option<f64>> {
                all.iter()
                    .filter(|m| (m.case, m.stack) == (case, s))
                    .map(|m| m.ok().map(|w| w.requests_per_sec))
                    .collect()
            };
            let values: Vec<f64> = rate(ProxyStack::Halb)
                .into_iter()
                .zip(rate(ProxyStack::Haproxy))
                .filter_map(|(h, p)| Some(h? / p?.max(f64::MIN_POSITIVE)))
                .collect();
            let of_medians = find(&summary, case, ProxyStack::Halb)
                .and_then(Measured::ok)
                .zip(find(&summary, case, ProxyStack::Haproxy).and_then(Measured::ok))
                .map(|(h, p)| h.requests_per_sec / p.requests_per_sec.max(f64::MIN_POSITIVE));
            if !values.is_empty() {
                let mut r = Row::of(&c, "halb/haproxy", "requests/s ratio", "ratio", values);
                r.median = of_medians.or(r.median);
                out.push(r);
            }
        }
    }
    out
}

fn find(all: &[Measured], case: Case, stack: ProxyStack) -> Option<&Measured> {
    all.iter().find(|m| m.case == case && m.stack == stack)
}

/// The results table: a row per (case, stack), then a row of halb/haproxy ratios.
pub fn table(all: &[Measured]) -> String {
    let mut rows = Vec::new();
    for case in first_seen(all.iter().map(|m| m.case)) {
        for stack in [ProxyStack::Haproxy, ProxyStack::Halb] {
            let Some(m) = find(all, case, stack) else { continue };
            let row = match &m.wrk {
                Ok(w) => vec![
                    case.to_string(),
                    stack.label().to_string(),
                    format!("{:.0}", w.requests_per_sec),
                    ms(w.p50),
                    ms(w.p99),
                    m.cpu_per_1000().map_or("-".into(), |c| format!("{c:.4}")),
                    m.cpu_share().map_or("-".into(), |s| format!("{:.0} %", s * 100.0)),
                    if w.errors() == 0 {
                        "0".to_string()
                    } else {
                        format!("FLAGGED: {}", w.error_summary())
                    },
                ],
                Err(e) => vec![
                    case.to_string(),
                    stack.label().to_string(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    format!("FLAGGED: {e}"),
                ],
            };
            rows.push(row);
        }
        if let (Some(h), Some(p)) = (
            find(all, case, ProxyStack::Halb).and_then(Measured::ok),
            find(all, case, ProxyStack::Haproxy).and_then(Measured::ok),
        ) {
            let (mh, mp) = (
                find(all, case, ProxyStack::Halb).and_then(Measured::cpu_per_1000),
                find(all, case, ProxyStack::Haproxy).and_then(Measured::cpu_per_1000),
            );
            rows.push(vec![
                case.to_string(),
                "halb/haproxy".into(),
                ratio_cell(Some(h.requests_per_sec), Some(p.requests_per_sec)),
                ratio_cell(Some(h.p50.as_secs_f64()), Some(p.p50.as_secs_f64())),
                ratio_cell(Some(h.p99.as_secs_f64()), Some(p.p99.as_secs_f64())),
                ratio_cell(mh, mp),
                String::new(),
                String::new(),
            ]);
        }
    }
    report::table(
        &["case", "stack", "req/s", "p50 ms", "p99 ms", "CPU s/1000 req", "balancer CPU", "errors"],
        &rows,
        &[2, 3, 4, 5, 6],
    )
}

/// Per case: halb >= 1.3x haproxy's requests/s (both on one core, one thread) with a p99
/// no worse (within 5 %).
#[must_use]
pub fn targets(all: &[Measured], cases: &[Case], disturbed: &[Case]) -> Vec<Target> {
    cases
        .iter()
        .map(|&case| {
            let what = if case.mode == Mode::Paced {
                format!("{case}: p99 <= haproxy's at the same offered load")
            } else {
                format!("{case}: halb >= {TARGET_FACTOR}x haproxy req/s, p99 <= haproxy's")
            };
            let h = find(all, case, ProxyStack::Halb);
            let p = find(all, case, ProxyStack::Haproxy);
            match (h, p) {
                (Some(h), Some(p)) => match (h.ok(), p.ok()) {
                    (Some(hw), Some(pw)) => {
                        let r = hw.requests_per_sec / pw.requests_per_sec.max(f64::MIN_POSITIVE);
                        let p99_ok = hw.p99.as_secs_f64() <= pw.p99.as_secs_f64() * P99_TOLERANCE;
                        let flagged = if h.flagged() || p.flagged() {
                            " (FLAGGED: wrk saw errors)"
                        } else {
                            ""
                        };
                        Target {
                            what,
                            figure: format!(
                                "{r:.2}x req/s ({:.0} vs {:.0}), p99 {} vs {} ms{flagged}",
                                hw.requests_per_sec,
                                pw.requests_per_sec,
                                ms(hw.p99),
                                ms(pw.p99)
                            ),
                            met: Some(
                                (r >= TARGET_FACTOR || case.mode == Mode::Paced)
                                    && p99_ok
                                    && flagged.is_empty(),
                            ),
                        }
                        .undecided_if(disturbed.contains(&case))
                    }
                    _ => Target { what, figure: "a run gave no figures".into(), met: None },
                },
                _ => Target { what, figure: "needs stacks haproxy and halb".into(), met: None },
            }
        })
        .collect()
}

trait Undecided {
    fn undecided_if(self, disturbed: bool) -> Self;
}

impl Undecided for Target {
    /// Other jobs kept the kernel busy right before the case: its figures decide nothing.
    fn undecided_if(mut self, disturbed: bool) -> Self {
        if disturbed {
            self.met = None;
            self.figure.push_str(" (not decided: other jobs kept the kernel busy)");
        }
        self
    }
}

/// haproxy's configuration, the halb config's counterpart line for line.
#[must_use]
pub fn haproxy_cfg(dir: &str) -> String {
    let mut out = format!(
        "global\n    nbthread 1\n    maxconn 8000\n    pidfile {dir}/haproxy.pid\n\n\
         defaults\n    mode http\n    option http-keep-alive\n    option forwardfor\n    retries 3\n    option redispatch\n\
         \x20   timeout connect 5s\n    timeout client 50s\n    timeout server 50s\n    timeout http-request 10s\n\n\
         frontend www\n    bind *:{HAPROXY_PORT}\n    maxconn 4096\n    default_backend web\n\n\
         backend web\n    balance roundrobin\n"
    );
    for (name, ip) in SERVERS {
        let _ = writeln!(out, "    server {name} {ip}:80 check inter 2s rise 2 fall 3");
    }
    out
}

/// halb's configuration: one balancer with only a proxy, in PREFIX-bal.
pub fn halb_toml(node: &str, ns: &str) -> Result<String> {
    let server = |(name, ip): &(&str, &str)| ServerSection {
        name: (*name).to_string(),
        address: format!("{ip}:80"),
        check: Some(true),
        inter: Some(duration("2s")),
        rise: Some(2),
        fall: Some(3),
        ..ServerSection::default()
    };
    let proxy = ProxySection {
        frontend: vec![FrontendSection {
            name: "www".into(),
            bind: format!("*:{HALB_PORT}"),
            default_backend: "web".into(),
            maxconn: Some(4096),
        }],
        backend: vec![BackendSection {
            name: "web".into(),
            balance: Some("roundrobin".into()),
            server: SERVERS.iter().map(server).collect(),
            ..BackendSection::default()
        }],
        timeout: TimeoutSection {
            connect: Some(duration("5s")),
            client: Some(duration("50s")),
            server: Some(duration("50s")),
            http_request: Some(duration("10s")),
            ..TimeoutSection::default()
        },
        retries: Some(3),
        redispatch: Some(true),
    };
    let file = ConfigFile {
        daemon: DaemonSection { log_level: Some("warn".into()), ..halb_config::daemon(node) },
        host: None,
        balancer: vec![BalancerSection {
            name: "bal".into(),
            netns: ns.to_string(),
            proxy_threads: Some(1),
            proxy: Some(proxy),
            ..BalancerSection::default()
        }],
    };
    halb_config::to_toml("halb for `cargo xtask bench proxy`", &file)
}

fn nginx_conf(dir: &str, name: &str) -> String {
    format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\nuser nobody nogroup;\npid {dir}/nginx-{name}.pid;\nerror_log {dir}/nginx-{name}.err warn;\n\
         events {{ worker_connections 8192; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n  keepalive_timeout 60s;\n\
         \x20 default_type application/octet-stream;\n\
         \x20 client_body_temp_path {dir}/tmp-{name}/body;\n  proxy_temp_path {dir}/tmp-{name}/proxy;\n\
         \x20 fastcgi_temp_path {dir}/tmp-{name}/fastcgi;\n  uwsgi_temp_path {dir}/tmp-{name}/uwsgi;\n  scgi_temp_path {dir}/tmp-{name}/scgi;\n\
         \x20 server {{\n    listen 80 backlog=4096 reuseport;\n    root {dir}/www;\n    add_header X-Server {name};\n  }}\n}}\n"
    )
}

/// wrk's Lua script of mode `paced`: `delay()` is the wait before each request of a connection.
#[must_use]
pub fn pace_script(pace_ms: u64) -> String {
    format!("function delay()\n  return {pace_ms}\nend\n")
}

/// The wrk command of one run; `dir` holds `pace.lua` (mode `paced`).
#[must_use]
pub fn wrk_argv(
    args: &ProxyArgs,
    case: Case,
    stack: ProxyStack,
    secs: u64,
    dir: &Path,
) -> Vec<String> {
    let mut v = argv(&["taskset", "-c"]);
    v.push(args.load_cpu.to_string());
    v.push("wrk".into());
    v.push(format!("-t{}", args.wrk_threads));
    v.push(format!("-c{}", args.connections));
    v.push(format!("-d{secs}s"));
    v.push("--latency".into());
    v.push("--timeout".into());
    v.push("2s".into());
    match case.mode {
        Mode::Keepalive => {}
        Mode::Close => {
            v.push("-H".into());
            v.push("Connection: close".into());
        }
        Mode::Paced => {
            v.push("-s".into());
            v.push(dir.join("pace.lua").display().to_string());
        }
    }
    v.push(format!("http://{BAL_IP}:{}{}", stack.port(), case.body.path()));
    v
}

/// `cargo xtask bench proxy`
pub fn run(args: &ProxyArgs) -> Result<()> {
    let cpus = proxy_env::cpus();
    ensure!(
        args.balancer_cpu < cpus && args.load_cpu < cpus,
        "--balancer-cpu {} / --load-cpu {}: this machine has CPUs 0-{}",
        args.balancer_cpu,
        args.load_cpu,
        cpus - 1
    );
    for tool in ["wrk", "nginx", "taskset"] {
        ensure!(which(tool), "{tool} is not installed (apt-get install {tool})");
    }
    let mut stacks = args.stacks.clone();
    stacks.sort();
    stacks.dedup();
    if stacks.contains(&ProxyStack::Haproxy) {
        ensure!(which("haproxy"), "haproxy is not installed (apt-get install haproxy)");
    }
    let halb = if stacks.contains(&ProxyStack::Halb) {
        Some(daemon_build::build(Profile::Release, "bench proxy")?)
    } else {
        None
    };
    let mut cases = Vec::new();
    for &mode in &args.modes {
        for &body in &args.bodies {
            let c = Case { mode, body };
            if !cases.contains(&c) {
                cases.push(c);
            }
        }
    }
    let mut env = Env::new(&args.prefix)?;
    let result = measure_all(&mut env, args, &stacks, &cases, halb.as_ref());
    if result.is_err() {
        env.keep_dir();
    }
    drop(env);
    result
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(tool).is_file()))
}

#[expect(clippy::too_many_lines, reason = "the run's sequence of cases, in order")]
fn measure_all(
    env: &mut Env,
    args: &ProxyArgs,
    stacks: &[ProxyStack],
    cases: &[Case],
    halb: Option<&PathBuf>,
) -> Result<()> {
    let started = Instant::now();
    let started_at = SystemTime::now();
    println!(
        "bench proxy: {} case(s) x {} stack(s) x {} round(s), wrk {} thread(s) {} connections, {} s (+{} s warm-up) per run; balancers on CPU {}, wrk and nginx on CPU {}",
        cases.len(),
        stacks.len(),
        args.repeat,
        args.wrk_threads,
        args.connections,
        args.duration,
        args.warmup,
        args.balancer_cpu,
        args.load_cpu
    );
    if let Some(h) = halb {
        println!("halb measured: {}", proxy_env::describe_binary(h));
    }
    if stacks.contains(&ProxyStack::Haproxy) {
        let v = sys::run("haproxy", &["-v"]).unwrap_or_default();
        println!("haproxy measured: {}", v.lines().next().unwrap_or("?").trim());
    }
    build(env, args)?;
    let mut procs = Vec::new();
    for &stack in stacks {
        let p = start_stack(env, args, stack, halb)?;
        procs.push((stack, p));
    }
    for &(stack, _) in &procs {
        wait_ready(env, stack)?;
    }
    let mut all = Vec::new();
    let per_run = Duration::from_secs(args.warmup + args.duration + 1);
    let mut progress =
        Progress::with_estimates(vec![per_run; cases.len() * stacks.len() * args.repeat as usize]);
    let mut disturbed = Vec::new();
    let mut disturbed_cases = Vec::new();
    let rounds = (0..args.repeat).flat_map(|round| cases.iter().map(move |&case| (round, case)));
    for (i, (round, case)) in rounds.enumerate() {
        let (load, busy) = proxy_env::machine_load(Duration::from_secs(1))?;
        if busy {
            println!(
                "  rest of the machine before {case} (round {}): {load} (FLAGGED: other jobs' kernel load)",
                round + 1
            );
            disturbed.push(format!("{case} (round {}): {load}", round + 1));
            if !disturbed_cases.contains(&case) {
                disturbed_cases.push(case);
            }
        }
        // Alternate which stack goes first, so drift of the shared machine favours neither.
        let mut order = procs.clone();
        if i % 2 == 1 {
            order.reverse();
        }
        for &(stack, p) in &order {
            progress.start(&format!("{case}, {}, round {}", stack.label(), round + 1));
            if args.warmup > 0 {
                let out = env.dir.join(format!("warmup-{stack:?}"));
                let argv = wrk_argv(args, case, stack, args.warmup, &env.dir);
                proxy_env::run_bounded(&env.ns("client"), &argv, bound(args.warmup), &out)?;
            }
            let m = measure(env, args, case, stack, p)?;
            match &m.wrk {
                Ok(w) => println!(
                    "  {case:<18} {:<8} {:>8.0} req/s  p50 {} ms  p99 {} ms  CPU {} s{}",
                    stack.label(),
                    w.requests_per_sec,
                    ms(w.p50),
                    ms(w.p99),
                    m.cpu_secs.map_or("-".into(), |c| format!("{c:.2}")),
                    if w.errors() > 0 {
                        format!("  FLAGGED: {}", w.error_summary())
                    } else {
                        String::new()
                    }
                ),
                Err(e) => println!("  {case:<18} {:<8} FLAGGED: {e}", stack.label()),
            }
            ensure!(
                p.alive(),
                "{} died during {case}; see {}",
                stack.label(),
                env.log(stack.label()).display()
            );
            all.push(m);
        }
    }
    println!(
        "\nL7 proxy, {} connections, wrk from its own namespace ({} s per run, median of {} round(s); CPU = utime+stime of the balancer process):\n",
        args.connections, args.duration, args.repeat
    );
    let summary = medians(&all);
    print!("{}", table(&summary));
    let per_round = round_ratios(&all);
    if !per_round.is_empty() {
        println!("\nhalb/haproxy in each round:");
        for line in per_round {
            println!("  {line}");
        }
    }
    println!(
        "\ntargets (per core: both balancers have one thread pinned to CPU {}):",
        args.balancer_cpu
    );
    let targets = targets(&summary, cases, &disturbed_cases);
    print!("{}", report::targets(&targets));
    save(args, started_at, stacks, &all, &targets);
    if !disturbed.is_empty() {
        println!(
            "\nother jobs kept the kernel busy (> 25 % of all CPUs) right before: {}; those cases' figures are unreliable.",
            disturbed.join("; ")
        );
    }
    // Paced runs are light by design.
    let closed_loop: Vec<&Measured> = all.iter().filter(|m| m.case.mode != Mode::Paced).collect();
    let unsaturated =
        closed_loop.iter().filter(|m| m.cpu_share().is_some_and(|s| s < SATURATED)).count();
    if unsaturated > 0 {
        println!(
            "\n{unsaturated} of {} runs had the balancer below {:.0} % of its core: there it was not the only bottleneck (wrk and nginx share the other core, and other jobs both), so req/s measures the whole setup; CPU s/1000 req is the per-core efficiency figure.",
            closed_loop.len(),
            SATURATED * 100.0
        );
    }
    println!(
        "\nnote: 2 CPUs shared with whatever else runs on this machine; figures are noisy, compare within one run.\nbench took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The results file of the run.
fn save(
    args: &ProxyArgs,
    started: SystemTime,
    stacks: &[ProxyStack],
    all: &[Measured],
    targets: &[Target],
) {
    let list = |v: Vec<String>| v.join(", ");
    let mut saved = BenchResults::new(
        "proxy",
        started,
        &[
            ("stacks", list(stacks.iter().map(|s| s.label().to_string()).collect())),
            ("modes", list(args.modes.iter().map(|m| format!("{m:?}").to_lowercase()).collect())),
            ("bodies", list(args.bodies.iter().map(|b| b.label().to_string()).collect())),
            ("duration_secs", args.duration.to_string()),
            ("warmup_secs", args.warmup.to_string()),
            ("repeat", args.repeat.to_string()),
            ("connections", args.connections.to_string()),
            ("wrk_threads", args.wrk_threads.to_string()),
            ("pace_ms", args.pace_ms.to_string()),
        ],
    );
    saved.rows = rows(all);
    saved.set_targets(targets);
    saved::save(&saved);
}

/// A wrk run of `secs` may take this long before it is killed.
fn bound(secs: u64) -> Duration {
    Duration::from_secs(secs + 30)
}

fn measure(
    env: &Env,
    args: &ProxyArgs,
    case: Case,
    stack: ProxyStack,
    p: Proc,
) -> Result<Measured> {
    let argv = wrk_argv(args, case, stack, args.duration, &env.dir);
    let before = proxy_env::proc_cpu_secs(p);
    let out = env.dir.join(format!("wrk-{stack:?}-{:?}-{:?}", case.mode, case.body));
    let f = proxy_env::run_bounded(&env.ns("client"), &argv, bound(args.duration), &out)?;
    let after = proxy_env::proc_cpu_secs(p);
    let wrk = if f.ok() {
        proxy_wrk::parse(&f.stdout).map_err(|e| format!("{e:#}"))
    } else {
        Err(format!("wrk: {}", f.describe()))
    };
    let cpu_secs = before.zip(after).map(|(b, a)| a - b);
    Ok(Measured { case, stack, wrk, cpu_secs })
}

/// The namespaces, the switch, the addresses, the per-namespace sysctls and the files.
fn build(env: &mut Env, args: &ProxyArgs) -> Result<()> {
    std::fs::write(env.dir.join("pace.lua"), pace_script(args.pace_ms))?;
    let sw = env.add_ns("sw")?;
    topology::add_bridge(&sw, "br0", None, &[])?;
    topology::set_up(&sw, "br0")?;
    let mut nodes: Vec<(&str, String)> =
        vec![(CLIENT.0, CLIENT.1.to_string()), ("bal", format!("{BAL_IP}/24"))];
    nodes.extend(SERVERS.iter().map(|(n, ip)| (*n, format!("{ip}/24"))));
    for (i, (node, addr)) in nodes.iter().enumerate() {
        let ns = env.add_ns(node)?;
        let port = format!("p{i}");
        Veth { ns: &ns, name: "eth0", peer: &port, peer_ns: Some(&sw), ..Veth::default() }
            .create()?;
        topology::attach_up(&sw, &port, "br0")?;
        topology::add_address(&ns, addr, "eth0")?;
        topology::set_up(&ns, "eth0")?;
        env.sysctl(
            &ns,
            &[
                "net.ipv4.ip_local_port_range=1024 65000",
                "net.ipv4.tcp_tw_reuse=1",
                "net.core.somaxconn=8192",
                "net.ipv4.tcp_max_syn_backlog=8192",
            ],
        )?;
    }
    let www = env.dir.join("www");
    std::fs::create_dir_all(&www)?;
    for body in [Body::Empty, Body::K1, Body::K64] {
        let data: Vec<u8> = (0..body.bytes()).map(|i| b"0123456789abcdef"[i % 16]).collect();
        std::fs::write(www.join(body.path().trim_start_matches('/')), data)?;
    }
    // nobody (nginx's workers) must read the files.
    sys::run("chmod", &["-R", "a+rX", &env.dir.display().to_string()])?;
    let dir = env.dir.display().to_string();
    for (name, _) in SERVERS {
        std::fs::create_dir_all(env.dir.join(format!("tmp-{name}")))?;
        let conf = env.dir.join(format!("nginx-{name}.conf"));
        std::fs::write(&conf, nginx_conf(&dir, name))?;
        let ns = env.ns(name);
        let argv = vec![
            "taskset".to_string(),
            "-c".into(),
            args.load_cpu.to_string(),
            "nginx".into(),
            "-c".into(),
            conf.display().to_string(),
            "-e".into(),
            format!("{dir}/nginx-{name}.err"),
        ];
        env.spawn(&format!("nginx-{name}"), Some(&ns), &argv)?;
    }
    // Every backend answers before any balancer starts.
    for (name, ip) in SERVERS {
        let addr: SocketAddr = format!("{ip}:80").parse()?;
        let ns = env.ns(CLIENT.0);
        let ok = sys::wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
            get(&ns, addr, "/b0").is_ok_and(|(s, _)| s == 200)
        });
        ensure!(
            ok,
            "nginx on {name} does not answer; see {}",
            env.log(&format!("nginx-{name}")).display()
        );
    }
    Ok(())
}

fn start_stack(
    env: &mut Env,
    args: &ProxyArgs,
    stack: ProxyStack,
    halb: Option<&PathBuf>,
) -> Result<Proc> {
    let cpu = args.balancer_cpu.to_string();
    let dir = env.dir.display().to_string();
    match stack {
        ProxyStack::Haproxy => {
            let cfg = env.dir.join("haproxy.cfg");
            std::fs::write(&cfg, haproxy_cfg(&dir))?;
            let ns = env.ns("bal");
            let cfg = cfg.display().to_string();
            sys::ns_exec(&ns, "haproxy", &["-c", "-q", "-f", &cfg])
                .context("haproxy rejects the bench's configuration")?;
            // Directly, no systemd: `-D` daemonizes and writes the `pidfile` of the config;
            // the bench then owns it by that PID (and its start time).
            let pidfile = env.dir.join("haproxy.pid");
            let argv: Vec<String> = vec![
                "taskset".into(),
                "-c".into(),
                cpu,
                "haproxy".into(),
                "-D".into(),
                "-f".into(),
                cfg,
            ];
            let out = env.dir.join("haproxy-start");
            let f = proxy_env::run_bounded(&ns, &argv, Duration::from_secs(10), &out)?;
            std::fs::write(env.log("haproxy"), format!("{}{}", f.stdout, f.stderr))?;
            ensure!(f.ok(), "haproxy -D: {}", f.describe());
            let mut pid = None;
            sys::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
                pid = std::fs::read_to_string(&pidfile)
                    .ok()
                    .and_then(|t| t.trim().parse::<i32>().ok());
                pid.is_some()
            });
            let p = pid
                .and_then(Proc::of_pid)
                .with_context(|| format!("haproxy wrote no live PID to {}", pidfile.display()))?;
            env.adopt("haproxy", p);
            Ok(p)
        }
        ProxyStack::Halb => {
            let bin = halb.context("no halb binary")?;
            let node = env.ns("bal");
            let cfg = env.dir.join("halb.toml");
            std::fs::write(&cfg, halb_toml(&node, &env.ns("bal"))?)?;
            env.add_pins(PathBuf::from(format!("/sys/fs/bpf/halb/{node}")));
            let argv = vec![
                "taskset".into(),
                "-c".into(),
                cpu,
                bin.display().to_string(),
                "run".into(),
                "--config".into(),
                cfg.display().to_string(),
                "--run-dir".into(),
                format!("{dir}/halb-run"),
            ];
            // Started from the root namespace: the daemon enters PREFIX-bal itself.
            env.spawn("halb", None, &argv)
        }
    }
}

/// Ready: six answers in a row through the balancer, from every server.
fn wait_ready(env: &Env, stack: ProxyStack) -> Result<()> {
    let addr: SocketAddr = format!("{BAL_IP}:{}", stack.port()).parse()?;
    let ns = env.ns(CLIENT.0);
    let mut last = String::new();
    let ok = sys::wait_until(READY_TIMEOUT, Duration::from_millis(200), || {
        let mut seen = Vec::new();
        for _ in 0..6 {
            match get(&ns, addr, "/b0") {
                Ok((200, server)) => seen.push(server),
                Ok((status, _)) => {
                    last = format!("HTTP {status}");
                    return false;
                }
                Err(e) => {
                    last = e;
                    return false;
                }
            }
        }
        seen.sort();
        seen.dedup();
        last = format!("answers from {seen:?}");
        seen.len() == SERVERS.len()
    });
    let proc_name = stack.label();
    ensure!(
        ok,
        "{proc_name} on {addr} does not answer through all three servers within {} s ({last}); log: {}",
        READY_TIMEOUT.as_secs(),
        sys::tail(&env.log(proc_name), 10)
    );
    Ok(())
}

/// One `GET path` from `ns`: status and the X-Server header.
fn get(ns: &str, addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let path = path.to_string();
    let r = sys::in_netns(ns, move || {
        let t = Duration::from_secs(1);
        let mut s = TcpStream::connect_timeout(&addr, t)?;
        s.set_read_timeout(Some(t))?;
        s.set_write_timeout(Some(t))?;
        write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    });
    let text = r.map_err(|e| format!("{e:#}"))?;
    parse_head(&text).ok_or_else(|| format!("bad answer {:?}", text.lines().next().unwrap_or("")))
}

/// Status and X-Server of an HTTP answer.
#[must_use]
pub fn parse_head(text: &str) -> Option<(u16, String)> {
    let head = text.split("\r\n\r\n").next()?;
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let server = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("x-server"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    Some((status, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrk(rps: f64, p50_us: u64, p99_us: u64, errors: u64) -> WrkResult {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let requests = (rps * 10.0) as u64;
        WrkResult {
            requests,
            duration: Duration::from_secs(10),
            requests_per_sec: rps,
            p50: Duration::from_micros(p50_us),
            p99: Duration::from_micros(p99_us),
            socket_errors: [0, errors, 0, 0],
            non_2xx: 0,
        }
    }

    fn case(mode: Mode, body: Body) -> Case {
        Case { mode, body }
    }

    #[test]
    fn rows_hold_every_round_and_the_ratio() {
        let ka0 = case(Mode::Keepalive, Body::Empty);
        let run = |stack, rps| Measured {
            case: ka0,
            stack,
            wrk: Ok(wrk(rps, 1000, 3000, 0)),
            cpu_secs: Some(1.0),
        };
        let all = vec![
            run(ProxyStack::Haproxy, 20_000.0),
            run(ProxyStack::Halb, 30_000.0),
            run(ProxyStack::Haproxy, 10_000.0),
            run(ProxyStack::Halb, 20_000.0),
        ];
        let rows = rows(&all);
        let rps = rows.iter().find(|r| r.stack == "halb" && r.metric == "requests/s").unwrap();
        assert_eq!(
            (rps.values.as_slice(), rps.median),
            (&[30_000.0, 20_000.0][..], Some(25_000.0))
        );
        let p99 = rows.iter().find(|r| r.stack == "haproxy" && r.metric == "p99").unwrap();
        assert_eq!((p99.unit.as_str(), p99.values.as_slice()), ("ms", &[3.0, 3.0][..]));
        let ratio = rows.iter().find(|r| r.metric == "requests/s ratio").unwrap();
        assert_eq!(ratio.values, [1.5, 2.0]);
        // The ratio of the medians, as the table shows it.
        assert_eq!(ratio.median, Some(25_000.0 / 15_000.0));
    }

    fn sample() -> Vec<Measured> {
        let ka0 = case(Mode::Keepalive, Body::Empty);
        let cl64 = case(Mode::Close, Body::K64);
        vec![
            Measured {
                case: ka0,
                stack: ProxyStack::Haproxy,
                wrk: Ok(wrk(20_000.0, 2000, 4000, 0)),
                cpu_secs: Some(9.9),
            },
            Measured {
                case: ka0,
                stack: ProxyStack::Halb,
                wrk: Ok(wrk(30_000.0, 1500, 4100, 0)),
                cpu_secs: Some(9.0),
            },
            Measured {
                case: cl64,
                stack: ProxyStack::Haproxy,
                wrk: Ok(wrk(5000.0, 9000, 20_000, 0)),
                cpu_secs: Some(10.0),
            },
            Measured {
                case: cl64,
                stack: ProxyStack::Halb,
                wrk: Ok(wrk(5500.0, 8000, 30_000, 3)),
                cpu_secs: None,
            },
        ]
    }

    #[test]
    fn figures_per_run() {
        let s = sample();
        assert!((s[0].cpu_per_1000().unwrap() - 9.9 / 200.0).abs() < 1e-12);
        assert!((s[0].cpu_share().unwrap() - 0.99).abs() < 1e-12);
        assert_eq!(s[3].cpu_per_1000(), None);
        assert!(!s[0].flagged() && s[3].flagged());
        let failed = Measured { wrk: Err("x".into()), ..s[0].clone() };
        assert!(failed.flagged());
        assert_eq!(failed.cpu_per_1000(), None);
    }

    #[test]
    fn medians_per_case_and_stack() {
        let ka0 = case(Mode::Keepalive, Body::Empty);
        let run = |stack, rps: f64, p99_us, errors, cpu_secs| Measured {
            case: ka0,
            stack,
            wrk: Ok(wrk(rps, 1000, p99_us, errors)),
            cpu_secs: Some(cpu_secs),
        };
        let all = vec![
            run(ProxyStack::Haproxy, 20_000.0, 4000, 0, 10.0),
            run(ProxyStack::Halb, 30_000.0, 9000, 0, 9.0),
            run(ProxyStack::Halb, 10_000.0, 3000, 2, 6.0),
            run(ProxyStack::Haproxy, 10_000.0, 5000, 0, 8.0),
            run(ProxyStack::Halb, 20_000.0, 5000, 0, 8.0),
        ];
        let m = medians(&all);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!((m[0].stack, m[1].stack), (ProxyStack::Haproxy, ProxyStack::Halb));
        let halb = m[1].wrk.as_ref().unwrap();
        assert!((halb.requests_per_sec - 20_000.0).abs() < 1e-9);
        assert_eq!(halb.p99, Duration::from_millis(5));
        assert_eq!(halb.errors(), 2, "errors are summed");
        // CPU per 1000 requests: 9/300, 6/100, 8/200 -> median 0.04.
        assert!((m[1].cpu_per_1000().unwrap() - 0.04).abs() < 1e-9, "{m:?}");
        // An even count: the mean of the two middle values.
        let hap = m[0].wrk.as_ref().unwrap();
        assert!((hap.requests_per_sec - 15_000.0).abs() < 1e-9);
        assert_eq!(hap.p99, Duration::from_micros(4500));
        // A run without figures stands for its pair.
        let mut failed = all.clone();
        failed[2].wrk = Err("wrk: timed out".into());
        let m = medians(&failed);
        assert_eq!(m[1].wrk, Err("wrk: timed out".into()));
        let lines = round_ratios(&all);
        assert_eq!(lines, ["keep-alive, 0 B: req/s 1.50x 1.00x; CPU per request 0.60x 0.75x"]);
        assert!(round_ratios(&all[..2]).is_empty(), "one round: nothing to show");
    }

    #[test]
    fn table_rows_and_ratios() {
        let t = table(&sample());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 8, "{t}");
        assert!(lines[0].starts_with("case            | stack        | req/s |"), "{t}");
        assert_eq!(
            lines[2],
            "keep-alive, 0 B | haproxy      | 20000 |   2.00 |   4.00 |         0.0495 |         99 % | 0"
        );
        assert_eq!(
            lines[4],
            "keep-alive, 0 B | halb/haproxy | 1.50x |  0.75x |  1.03x |          0.61x |              |"
        );
        assert!(lines[6].ends_with("| FLAGGED: read 3"), "{t}");
        assert!(lines[7].contains("| 1.10x |  0.89x |  1.50x |              - |"), "{t}");
    }

    #[test]
    fn targets_per_case() {
        let s = sample();
        let cases = [
            case(Mode::Keepalive, Body::Empty),
            case(Mode::Close, Body::K64),
            case(Mode::Close, Body::K1),
        ];
        let t = targets(&s, &cases, &[]);
        // 1.5x and p99 4.1 ms within 5 % of 4.0 ms.
        assert_eq!(t[0].met, Some(true), "{t:?}");
        assert_eq!(t[0].figure, "1.50x req/s (30000 vs 20000), p99 4.10 vs 4.00 ms");
        assert_eq!(t[1].met, Some(false), "{t:?}");
        assert!(t[1].figure.ends_with("(FLAGGED: wrk saw errors)"), "{t:?}");
        assert_eq!(t[2].met, None);
        assert_eq!(t[0].what, "keep-alive, 0 B: halb >= 1.3x haproxy req/s, p99 <= haproxy's");
        // Paced: only p99 decides (the same offered load gives the same req/s).
        let mut paced = s.clone();
        for m in &mut paced {
            if m.case.mode == Mode::Keepalive {
                m.case.mode = Mode::Paced;
            }
        }
        // halb at haproxy's 20000 req/s, p99 4.1 ms within 5 % of 4.0 ms: met.
        if let Ok(w) = &mut paced[1].wrk {
            w.requests_per_sec = 20_000.0;
        }
        let pc = [case(Mode::Paced, Body::Empty)];
        let t = targets(&paced, &pc, &[]);
        assert_eq!(t[0].what, "paced, 0 B: p99 <= haproxy's at the same offered load");
        assert_eq!(t[0].met, Some(true), "{t:?}");
        if let Ok(w) = &mut paced[1].wrk {
            w.p99 = Duration::from_micros(4300);
        }
        assert_eq!(targets(&paced, &pc, &[])[0].met, Some(false), "p99 5 % + worse");
        let t = targets(&s, &cases, &[cases[0]]);
        assert_eq!(t[0].met, None);
        assert!(t[0].figure.ends_with("(not decided: other jobs kept the kernel busy)"));
        assert_eq!(t[1].met, Some(false));
    }

    #[test]
    fn configs_match() {
        let h = haproxy_cfg("/tmp/hbp");
        assert!(h.contains("nbthread 1\n") && h.contains("maxconn 8000\n"), "{h}");
        assert!(h.contains("server s3 172.16.1.13:80 check inter 2s rise 2 fall 3\n"), "{h}");
        assert!(h.contains("balance roundrobin") && h.contains("bind *:8001"));
        let t = halb_toml("hbp-bal", "hbp-bal").unwrap();
        let config = halb_config::read_back(&t).unwrap();
        assert_eq!(config.node, "hbp-bal");
        let bal = &config.balancers[0];
        assert_eq!((bal.name.as_str(), bal.proxy_threads), ("bal", 1));
        let (section, _) = bal.proxy.as_ref().expect("the proxy");
        assert_eq!(section.timeout.client, Some(duration("50s")));
        let servers = &section.backend[0].server;
        assert_eq!(servers.len(), 3);
        assert_eq!(servers[2].address, "172.16.1.13:80");
        assert_eq!(servers[0].fall, Some(3));
        assert!(nginx_conf("/tmp/hbp", "s2").contains("add_header X-Server s2;"));
    }

    #[test]
    fn wrk_command() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: ProxyArgs,
        }
        let a = Cli::try_parse_from(["x"]).unwrap().args;
        assert_eq!((a.duration, a.warmup, a.connections, a.repeat), (10, 2, 50, 3));
        assert_eq!(a.modes, [Mode::Keepalive, Mode::Close]);
        assert_eq!(a.bodies, [Body::Empty, Body::K1, Body::K64]);
        let dir = Path::new("/tmp/hbp");
        let v = wrk_argv(&a, case(Mode::Close, Body::K1), ProxyStack::Halb, 10, dir);
        assert_eq!(
            v.join(" "),
            "taskset -c 1 wrk -t1 -c50 -d10s --latency --timeout 2s -H Connection: close http://172.16.1.250:8000/b1k"
        );
        let v = wrk_argv(&a, case(Mode::Paced, Body::K64), ProxyStack::Halb, 3, dir);
        assert!(
            v.join(" ").ends_with(
                "-d3s --latency --timeout 2s -s /tmp/hbp/pace.lua http://172.16.1.250:8000/b64k"
            ),
            "{v:?}"
        );
        assert_eq!(pace_script(a.pace_ms), "function delay()\n  return 20\nend\n");
        let v = wrk_argv(&a, case(Mode::Keepalive, Body::Empty), ProxyStack::Haproxy, 3, dir);
        assert!(v.join(" ").ends_with("-d3s --latency --timeout 2s http://172.16.1.250:8001/b0"));
        let a =
            Cli::try_parse_from(["x", "--bodies", "64k", "--modes", "close", "--duration", "3"])
                .unwrap()
                .args;
        assert_eq!(
            (a.bodies.as_slice(), a.modes.as_slice(), a.duration),
            ([Body::K64].as_slice(), [Mode::Close].as_slice(), 3)
        );
        assert!(Cli::try_parse_from(["x", "--bodies", "2k"]).is_err());
    }

    #[test]
    fn answer_heads() {
        assert_eq!(
            parse_head("HTTP/1.1 200 OK\r\nServer: nginx\r\nX-Server: s2\r\n\r\nbody"),
            Some((200, "s2".into()))
        );
        assert_eq!(
            parse_head("HTTP/1.1 503 Service Unavailable\r\n\r\n"),
            Some((503, String::new()))
        );
        assert_eq!(parse_head("garbage"), None);
    }
}
