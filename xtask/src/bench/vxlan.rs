//! `cargo xtask bench vxlan`: the same traffic through the kernel's `vxlan` device and through
//! halb's eBPF VXLAN, one after the other on the same two-host topology (prefix
//! `hbench-vx` unless told otherwise), copied from `tests/vxlan.rs`:
//!
//! ```text
//!   P-e0 10.0.0.1 --[vswin]-- P-h0 --[vswout 172.16.1.150]--+
//!    (iperf3 client,           vxlan42 (kernel) or           |  P-sw [br0]
//!     --sender-cpu)            vxl0 (halb)                   |
//!   P-e1 10.0.0.11 -[vswin]-- P-h1 --[vswout 172.16.1.151]--+
//!      (iperf3 server, --receiver-cpu)
//! ```
//!
//! Per tunnel: (1) the highest rate of small UDP datagrams (`iperf3 -u -l 64`) with loss below
//! 0.5 % (doubling, then bisection, at most `--max-steps` steps of `--udp-secs`), (2) TCP
//! goodput with 1 and 4 streams, and, at the end, (3) CPU per packet at one fixed rate both
//! tunnels carried (`--cpu-pps`, default half the lower of the two rates found): the system
//! time of the iperf3 sender and receiver (as iperf3 reports it; on veths the path's softirq
//! work runs in their context), and the whole machine's system + irq + softirq time from
//! /proc/stat minus an idle baseline measured just before (noisy). `perf stat -e cycles` is
//! checked first; it is not supported on this VM, so CPU time it is.
//!
//! Two references without encapsulation follow the tunnels: `flat` (a veth joins each host's
//! internal bridge to its external one: the inner frames cross the same underlay raw) and
//! `wire` (a veth joins the two internal bridges: no underlay). They bound what any tunnel
//! could carry on this path, and the tunnels' own CPU per packet is their path's minus theirs.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, ensure, Context, Result};
use clap::{Args, ValueEnum};
use halb::vxlan::VxlanReport;

use super::proxy_env::{self, argv, fmt_sig, ratio_cell, CpuTimes, Env};
use super::report::{self, Target};
use super::results::{BenchResults, Row};
use super::saved;
use super::vxlan_iperf::{self, RateSearch, Step, TcpResult, UdpResult};
use crate::daemon_build::{self, Profile};
use crate::harness::halb_config::{self, ConfigFile, DaemonSection, HostSection, VxlanSection};
use crate::harness::topology::{self, Veth};
use crate::lab::sys;
use crate::progress::Progress;

const VNI: u32 = 42;
const SERVER_IP: &str = "10.0.0.11";
/// MTU of the inner links: the frames a 1500-byte underlay can carry through the tunnel.
const INNER_MTU: u32 = 1450;
/// The VXLAN targets: packets/s and TCP throughput relative to the kernel.
const PPS_TARGET: f64 = 1.5;
const TCP_TARGET: f64 = 1.0;

#[derive(Args, Debug)]
pub struct VxlanArgs {
    /// Tunnels measured, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "kernel,halb,flat,wire")]
    pub tunnels: Vec<Tunnel>,
    /// UDP payload bytes of the packet-rate search (iperf3 -l; 64 B gives 106-byte inner frames).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(16..=1400))]
    pub udp_len: u32,
    /// Seconds of each step of the packet-rate search.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub udp_secs: u64,
    /// Most steps of the packet-rate search per tunnel.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub max_steps: u32,
    /// First rate of the search, packets/s.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1000..=10_000_000))]
    pub start_pps: u64,
    /// Loss limit of the packet-rate search, percent.
    #[arg(long, default_value_t = 0.5)]
    pub max_loss: f64,
    /// Seconds of each TCP run.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=120))]
    pub tcp_secs: u64,
    /// Fixed rate of the CPU-per-packet measurement, packets/s (default: half the lower of the
    /// rates found).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1000..=10_000_000))]
    pub cpu_pps: Option<u64>,
    /// Seconds of the CPU-per-packet measurement (and of its idle baseline).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=120))]
    pub cpu_secs: u64,
    /// CPU of the iperf3 client (the sender; on veths the whole path runs in its softirq).
    #[arg(long, default_value_t = 0)]
    pub sender_cpu: usize,
    /// CPU of the iperf3 server.
    #[arg(long, default_value_t = 1)]
    pub receiver_cpu: usize,
    /// Namespace prefix (namespaces PREFIX-sw, -h0, -h1, -e0, -e1).
    #[arg(long, default_value = "hbench-vx")]
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Tunnel {
    /// The Linux vxlan device `vxlan42` on both hosts (the lab's classic stack).
    Kernel,
    /// halb's `[host.vxlan]` on both hosts (one daemon per host).
    Halb,
    /// No encapsulation: on each host a veth joins the internal bridge to the external one, so
    /// the inner frames cross the same underlay raw. What a tunnel whose encapsulation cost
    /// nothing could carry here (one veth crossing per host more than the kernel's device).
    Flat,
    /// No tunnel and no underlay: a veth cable joins the two internal bridges directly.
    Wire,
}

impl Tunnel {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Tunnel::Kernel => "kernel",
            Tunnel::Halb => "halb",
            Tunnel::Flat => "flat",
            Tunnel::Wire => "wire",
        }
    }
}

/// The highest small-frame rate with loss below the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pps {
    /// Received packets/s of the best good step.
    pub pps: f64,
    /// The search ended because the sender could not offer more (a lower bound then).
    pub sender_limited: bool,
    pub steps: u32,
}

/// CPU per packet at the fixed rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuPerPacket {
    pub rate: u64,
    /// System CPU seconds of the iperf3 sender and receiver (on veths the path's softirq work
    /// runs in their context and is charged to them): not disturbed by other jobs.
    pub proc_secs: Option<f64>,
    /// The machine's kernel CPU seconds (system + irq + softirq, /proc/stat) over the run
    /// minus an idle baseline's for as long: everything, including other jobs' noise.
    pub net_secs: f64,
    pub packets: u64,
    pub lost_percent: f64,
}

impl CpuPerPacket {
    fn per_packet(&self, secs: f64) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        let n = self.packets as f64;
        (self.packets > 0).then(|| secs * 1e6 / n)
    }

    /// Microseconds of the endpoints' system time per packet.
    #[must_use]
    pub fn micros_per_packet(&self) -> Option<f64> {
        self.per_packet(self.proc_secs?)
    }

    /// Microseconds of the machine's kernel time per packet (baseline subtracted).
    #[must_use]
    pub fn machine_micros_per_packet(&self) -> Option<f64> {
        self.per_packet(self.net_secs)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TunnelResult {
    pub pps: Option<Pps>,
    pub tcp1: Option<TcpResult>,
    pub tcp4: Option<TcpResult>,
    pub cpu: Option<CpuPerPacket>,
    /// Anything that went wrong or looks off (checksum errors, drops, failed runs).
    pub notes: Vec<String>,
    /// Other jobs kept the kernel busy when its runs started: its figures decide nothing.
    pub disturbed: bool,
}

fn cell(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_string(), f)
}

/// The results table: one row per figure, kernel and halb side by side.
#[must_use]
pub fn table(kernel: &TunnelResult, halb: &TunnelResult, udp_len: u32) -> String {
    let pps = |r: &TunnelResult| r.pps.map(|p| p.pps);
    let pps_cell = |r: &TunnelResult| match r.pps {
        Some(p) if p.sender_limited => format!(">= {} (sender-limited)", fmt_sig(p.pps, 3)),
        Some(p) => fmt_sig(p.pps, 3),
        None => "-".into(),
    };
    let gbit = |t: Option<TcpResult>| t.map(|t| t.received_bps / 1e9);
    let tcp_cell = |t: Option<TcpResult>| {
        t.map_or("-".into(), |t| {
            format!("{} ({} retr)", fmt_sig(t.received_bps / 1e9, 3), t.retransmits)
        })
    };
    let cpu = |r: &TunnelResult| r.cpu.and_then(|c| c.micros_per_packet());
    let machine = |r: &TunnelResult| r.cpu.and_then(|c| c.machine_micros_per_packet());
    let rate = kernel.cpu.or(halb.cpu).map_or(String::new(), |c| format!(" at {} pps", c.rate));
    let rows = vec![
        vec![
            format!("UDP {udp_len} B payload, packets/s at < 0.5 % loss"),
            pps_cell(kernel),
            pps_cell(halb),
            ratio_cell(pps(halb), pps(kernel)),
            format!(">= {PPS_TARGET}x"),
        ],
        vec![
            "TCP 1 stream, Gbit/s".into(),
            tcp_cell(kernel.tcp1),
            tcp_cell(halb.tcp1),
            ratio_cell(gbit(halb.tcp1), gbit(kernel.tcp1)),
            format!(">= {TCP_TARGET}x"),
        ],
        vec![
            "TCP 4 streams, Gbit/s".into(),
            tcp_cell(kernel.tcp4),
            tcp_cell(halb.tcp4),
            ratio_cell(gbit(halb.tcp4), gbit(kernel.tcp4)),
            format!(">= {TCP_TARGET}x"),
        ],
        vec![
            format!("sender+receiver system CPU us/packet{rate}"),
            cell(cpu(kernel), |v| fmt_sig(v, 3)),
            cell(cpu(halb), |v| fmt_sig(v, 3)),
            ratio_cell(cpu(halb), cpu(kernel)),
            "(lower is better)".into(),
        ],
        vec![
            format!("machine kernel CPU us/packet{rate} (noisy)"),
            cell(machine(kernel), |v| fmt_sig(v, 3)),
            cell(machine(halb), |v| fmt_sig(v, 3)),
            ratio_cell(machine(halb), machine(kernel)),
            "(lower is better)".into(),
        ],
    ];
    report::table(&["figure", "kernel", "halb", "halb/kernel", "target"], &rows, &[1, 2, 3])
}

/// A path without encapsulation (`flat`, `wire`) against both tunnels: the most a tunnel can
/// reach here, and each tunnel's own CPU per packet (its path's minus the reference's).
#[must_use]
pub fn ceiling(
    kernel: &TunnelResult,
    halb: &TunnelResult,
    reference: &TunnelResult,
    name: &str,
) -> Vec<String> {
    let gbit =
        |t: Option<TcpResult>| t.map_or_else(|| "-".into(), |t| fmt_sig(t.received_bps / 1e9, 3));
    let cpu = |r: &TunnelResult| r.cpu.and_then(|c| c.micros_per_packet());
    let mut out = vec![format!(
        "{name}: {} packets/s{}, TCP 1 stream {} Gbit/s, 4 streams {} Gbit/s, {} us/packet",
        cell(reference.pps.map(|p| p.pps), |v| fmt_sig(v, 3)),
        if reference.pps.is_some_and(|p| p.sender_limited) { " (sender-limited)" } else { "" },
        gbit(reference.tcp1),
        gbit(reference.tcp4),
        cell(cpu(reference), |v| fmt_sig(v, 3)),
    )];
    if let (Some(w), Some(k)) = (reference.pps, kernel.pps) {
        let why = if w.sender_limited {
            " (at least: the load generator's core caps even this path)"
        } else {
            ""
        };
        out.push(format!(
            "{name}/kernel packets/s: {:.2}x{why}",
            w.pps / k.pps.max(f64::MIN_POSITIVE)
        ));
    }
    match (cpu(kernel), cpu(halb), cpu(reference)) {
        (Some(k), Some(h), Some(w)) if k > w && h > w => out.push(format!(
            "the tunnels' CPU per packet beyond {name}'s: kernel {} us, halb {} us -> halb/kernel {:.2}x; that is {:.0} % of the kernel path's cost",
            fmt_sig(k - w, 3),
            fmt_sig(h - w, 3),
            (h - w) / (k - w),
            (k - w) / k * 100.0
        )),
        (Some(_), Some(_), Some(_)) => {
            out.push(format!("the tunnels' CPU per packet is within the noise of {name}'s"));
        }
        _ => {}
    }
    out
}

fn ratio(ours: Option<f64>, theirs: Option<f64>) -> Option<f64> {
    match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

#[must_use]
pub fn targets(kernel: &TunnelResult, halb: &TunnelResult) -> Vec<Target> {
    let mut out = decide(kernel, halb);
    if kernel.disturbed || halb.disturbed {
        for t in &mut out {
            if t.met.is_some() {
                t.met = None;
                t.figure.push_str(" (not decided: other jobs kept the kernel busy)");
            }
        }
    }
    out
}

fn decide(kernel: &TunnelResult, halb: &TunnelResult) -> Vec<Target> {
    let mut out = Vec::new();
    let what = format!("halb >= {PPS_TARGET}x kernel packets/s (small frames, < 0.5 % loss)");
    let (hp, kp) = (halb.pps, kernel.pps);
    out.push(match (hp, kp) {
        (Some(h), Some(k)) => {
            let r = h.pps / k.pps.max(f64::MIN_POSITIVE);
            // A sender-limited halb figure is a lower bound: it can prove the target met, a
            // sender-limited kernel figure only not met.
            let bound = match (h.sender_limited, k.sender_limited) {
                (false, false) => "",
                (true, false) => " (halb sender-limited: a lower bound)",
                (false, true) => " (kernel sender-limited: ratio an upper bound)",
                (true, true) => " (both sender-limited: the load generator's core is the limit)",
            };
            Target {
                what,
                figure: format!(
                    "{r:.2}x ({} vs {} pps){bound}",
                    fmt_sig(h.pps, 3),
                    fmt_sig(k.pps, 3)
                ),
                met: Some(r >= PPS_TARGET),
            }
        }
        _ => Target { what, figure: "needs both tunnels' rates".into(), met: None },
    });
    for (n, h, k) in [(1, halb.tcp1, kernel.tcp1), (4, halb.tcp4, kernel.tcp4)] {
        let what = format!("halb >= {TCP_TARGET}x kernel TCP throughput, {n} stream(s)");
        out.push(match ratio(h.map(|t| t.received_bps), k.map(|t| t.received_bps)) {
            Some(r) => Target {
                what,
                figure: format!(
                    "{r:.2}x ({} vs {} Gbit/s)",
                    fmt_sig(h.map_or(0.0, |t| t.received_bps) / 1e9, 3),
                    fmt_sig(k.map_or(0.0, |t| t.received_bps) / 1e9, 3)
                ),
                met: Some(r >= TCP_TARGET),
            },
            None => Target { what, figure: "needs both tunnels' TCP runs".into(), met: None },
        });
    }
    out
}

/// Each tunnel's figures, for the results file: packets/s of the rate search, TCP goodput
/// with 1 and 4 streams (Gbit/s), CPU per packet at the fixed rate (us).
#[must_use]
pub fn rows(results: &[(Tunnel, TunnelResult)], udp_len: u32) -> Vec<Row> {
    let mut out = Vec::new();
    let udp = format!("UDP {udp_len} B payload");
    for (t, r) in results {
        let one = |v: Option<f64>| v.into_iter().collect::<Vec<_>>();
        let tunnel = t.label();
        out.push(Row::of(&udp, tunnel, "packets/s", "packets/s", one(r.pps.map(|p| p.pps))));
        for (case, tcp) in [("TCP 1 stream", r.tcp1), ("TCP 4 streams", r.tcp4)] {
            let gbit = one(tcp.map(|t| t.received_bps / 1e9));
            out.push(Row::of(case, tunnel, "TCP goodput", "Gbit/s", gbit));
        }
        let cpu = r.cpu.and_then(|c| c.micros_per_packet());
        out.push(Row::of("sender+receiver system CPU", tunnel, "CPU per packet", "us", one(cpu)));
        let machine = r.cpu.and_then(|c| c.machine_micros_per_packet());
        out.push(Row::of("machine kernel CPU", tunnel, "CPU per packet", "us", one(machine)));
    }
    out.retain(|r| r.median.is_some());
    out
}

/// `cargo xtask bench vxlan`
pub fn run(args: &VxlanArgs) -> Result<()> {
    let cpus = proxy_env::cpus();
    ensure!(
        args.sender_cpu < cpus && args.receiver_cpu < cpus,
        "--sender-cpu {} / --receiver-cpu {}: this machine has CPUs 0-{}",
        args.sender_cpu,
        args.receiver_cpu,
        cpus - 1
    );
    ensure!(args.max_loss > 0.0 && args.max_loss < 100.0, "--max-loss is a percentage in (0, 100)");
    let mut tunnels = args.tunnels.clone();
    tunnels.dedup();
    let halb = if tunnels.contains(&Tunnel::Halb) {
        Some(daemon_build::build(Profile::Release, "bench vxlan")?)
    } else {
        None
    };
    let mut env = Env::new(&args.prefix)?;
    let result = Bench { env: &mut env, args, halb, current: None }.run(&tunnels);
    if result.is_err() {
        env.keep_dir();
    }
    drop(env);
    result
}

struct Bench<'a> {
    env: &'a mut Env,
    args: &'a VxlanArgs,
    halb: Option<PathBuf>,
    current: Option<Tunnel>,
}

fn underlay(host: usize) -> String {
    format!("172.16.1.{}", 150 + host)
}

/// halb's config on host `host` (namespace `node`): only the host's VXLAN tunnel, from its
/// external bridge's underlay address to the other host's, into its internal bridge.
fn halb_toml(node: &str, host: usize) -> Result<String> {
    let vxlan = VxlanSection {
        vni: i64::from(VNI),
        local: underlay(host),
        underlay: "vswout".into(),
        bridge: "vswin".into(),
        remotes: vec![underlay(1 - host)],
        ..VxlanSection::default()
    };
    let file = ConfigFile {
        daemon: DaemonSection { log_level: Some("warn".into()), ..halb_config::daemon(node) },
        host: Some(HostSection {
            netns: Some(node.to_string()),
            vxlan: Some(vxlan),
            ..HostSection::default()
        }),
        balancer: Vec::new(),
    };
    halb_config::to_toml("halb for `cargo xtask bench vxlan`", &file)
}

fn endpoint(host: usize) -> (String, String) {
    (format!("10.0.0.{}", 10 * host + 1), format!("02:00:00:00:{host:02x}:01"))
}

impl Bench<'_> {
    #[expect(clippy::too_many_lines, reason = "measures each tunnel in turn, in order")]
    fn run(&mut self, tunnels: &[Tunnel]) -> Result<()> {
        let started = Instant::now();
        let started_at = SystemTime::now();
        let a = self.args;
        // Per tunnel the packet-rate search (at most --max-steps steps) and the TCP runs, then
        // CPU per packet of each (a baseline and a run).
        let search = Duration::from_secs(a.udp_secs + 1) * a.max_steps;
        let tcp = Duration::from_secs(2 * (a.tcp_secs + 1));
        let mut estimates = Vec::new();
        for _ in tunnels {
            estimates.extend([search, tcp]);
        }
        estimates.extend(tunnels.iter().map(|_| Duration::from_secs(2 * a.cpu_secs + 2)));
        let mut progress = Progress::with_estimates(estimates);
        println!(
            "bench vxlan: tunnels {}; UDP {} B at < {} % loss ({} s steps, at most {}), TCP {} s with 1 and 4 streams, CPU per packet {} s; iperf3 client on CPU {}, server on CPU {}",
            tunnels.iter().map(|t| t.label()).collect::<Vec<_>>().join(", "),
            a.udp_len,
            a.max_loss,
            a.udp_secs,
            a.max_steps,
            a.tcp_secs,
            a.cpu_secs,
            a.sender_cpu,
            a.receiver_cpu
        );
        if let Some(h) = &self.halb {
            println!("halb measured: {}", proxy_env::describe_binary(h));
        }
        let perf = perf_cycles_work();
        println!(
            "CPU accounting: {}",
            if perf {
                "perf cycles work here, but CPU time from /proc/stat is used for comparability"
            } else {
                "`perf stat -e cycles` is not supported here (no PMU); kernel CPU time from /proc/stat"
            }
        );
        self.build()?;
        let (server_ip, _) = endpoint(1);
        let server = vec![
            "taskset".to_string(),
            "-c".into(),
            self.args.receiver_cpu.to_string(),
            "iperf3".into(),
            "-s".into(),
            "-B".into(),
            server_ip,
        ];
        let ns = self.env.ns("e1");
        self.env.spawn("iperf3-server", Some(&ns), &server)?;
        std::thread::sleep(Duration::from_millis(300));
        let mut results: Vec<(Tunnel, TunnelResult)> = Vec::new();
        let mut observations = Vec::new();
        for &t in tunnels {
            println!("\n== {} ==", t.label());
            self.switch_to(t)?;
            observations.extend(self.observe(t));
            let mut r = TunnelResult::default();
            let (load, busy) = proxy_env::machine_load(Duration::from_secs(1))?;
            println!("  rest of the machine before the runs: {load}");
            if busy {
                r.disturbed = true;
                r.notes.push(format!(
                    "other jobs kept the kernel busy before its runs ({load}): its figures are unreliable and decide no target"
                ));
            }
            let csum_before = self.receiver_snmp("Tcp", "InCsumErrors");
            let udp_csum_before = self.receiver_snmp("Udp", "InCsumErrors");
            let (rcvbuf_before, backlog_before) =
                (self.receiver_snmp("Udp", "RcvbufErrors"), softnet_drops());
            progress.start(&format!("{}: packet-rate search", t.label()));
            r.pps = self.search_pps(&mut r.notes)?;
            let rcvbuf = self.receiver_snmp("Udp", "RcvbufErrors").saturating_sub(rcvbuf_before);
            let backlog = softnet_drops().saturating_sub(backlog_before);
            observations.push(format!(
                "{}: during the packet-rate search {backlog} packets were dropped at full CPU input backlogs (softnet_stat, whole machine, netdev_max_backlog {}) and {rcvbuf} at the receiver's socket buffer",
                t.label(),
                std::fs::read_to_string("/proc/sys/net/core/netdev_max_backlog")
                    .map_or_else(|_| "?".to_string(), |v| v.trim().to_string())
            ));
            let (backlog_before, retrans_before) =
                (softnet_drops(), self.sender_snmp("Tcp", "RetransSegs"));
            let ext = |b: &Self| {
                [
                    b.netstat("e1", "TCPOFOQueue"),
                    b.netstat("e1", "TCPRcvQDrop"),
                    b.netstat("e0", "TCPTimeouts"),
                    b.netstat("e0", "TCPSACKReorder"),
                ]
            };
            let ext_before = ext(self);
            let frames =
                |b: &Self| (b.halb_event(0, "encapsulated"), b.halb_event(1, "decapsulated"));
            let frames_before = frames(self);
            progress.start(&format!("{}: TCP 1 and 4 streams", t.label()));
            r.tcp1 = self.tcp(1, &mut r.notes)?;
            r.tcp4 = self.tcp(4, &mut r.notes)?;
            let ext_after = ext(self);
            if t == Tunnel::Halb {
                let ((encap, decap), (encap0, decap0)) = (frames(self), frames_before);
                let average = |now: (u64, u64), before: (u64, u64)| {
                    let packets = now.0.saturating_sub(before.0);
                    (packets, now.1.saturating_sub(before.1) / packets.max(1))
                };
                let (encap_n, encap_avg) = average(encap, encap0);
                let (decap_n, decap_avg) = average(decap, decap0);
                observations.push(format!(
                    "halb: during the TCP runs the sender's host encapsulated {encap_n} frames averaging {encap_avg} bytes (GSO frames kept whole) and the receiver's host decapsulated {decap_n} averaging {decap_avg} bytes (the sender's bridge device vswout segments tunnelled GSO frames: a bridge offers no tunnel offloads, for the kernel's vxlan device too)"
                ));
            }
            let d = |i: usize| ext_after[i].saturating_sub(ext_before[i]);
            observations.push(format!(
                "{}: during the TCP runs {} packets were dropped at full CPU input backlogs (softnet_stat, whole machine); the sender retransmitted {} segments (RTO timeouts {}, SACK reordering events {}); the receiver queued {} segments out of order and dropped {} at a full receive queue",
                t.label(),
                softnet_drops().saturating_sub(backlog_before),
                self.sender_snmp("Tcp", "RetransSegs").saturating_sub(retrans_before),
                d(2),
                d(3),
                d(0),
                d(1)
            ));
            let csum = self.receiver_snmp("Tcp", "InCsumErrors").saturating_sub(csum_before)
                + self.receiver_snmp("Udp", "InCsumErrors").saturating_sub(udp_csum_before);
            if csum > 0 {
                r.notes.push(format!("{csum} TCP/UDP checksum errors at the receiver"));
            }
            if t == Tunnel::Halb {
                if let Some(n) = self.halb_drops() {
                    r.notes.push(n);
                }
            }
            results.push((t, r));
        }
        // CPU per packet at one rate both carried; the tunnel that is up goes first.
        let found: Vec<f64> = results.iter().filter_map(|(_, r)| r.pps.map(|p| p.pps)).collect();
        let rate = match self.args.cpu_pps {
            Some(r) => Some(r),
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            None if !found.is_empty() => {
                let low = found.iter().copied().fold(f64::INFINITY, f64::min);
                Some(((low / 2.0) as u64 / 1000 * 1000).max(1000))
            }
            None => None,
        };
        if let Some(rate) = rate {
            println!("\n== CPU per packet at {rate} packets/s ==");
            let mut order: Vec<Tunnel> = tunnels.to_vec();
            order.reverse();
            for t in order {
                progress.start(&format!("{}: CPU per packet at {rate} packets/s", t.label()));
                self.switch_to(t)?;
                let cpu = self.cpu_per_packet(rate, &mut observations)?;
                if let Some((_, r)) = results.iter_mut().find(|(x, _)| *x == t) {
                    if cpu.lost_percent >= self.args.max_loss {
                        r.notes.push(format!(
                            "{:.2} % loss at the fixed rate of {rate} pps",
                            cpu.lost_percent
                        ));
                    }
                    r.cpu = Some(cpu);
                }
            }
        }
        self.switch_off()?;
        let none = TunnelResult::default();
        let get = |t| results.iter().find(|(x, _)| *x == t).map_or(&none, |(_, r)| r);
        let (kernel, halb) = (get(Tunnel::Kernel), get(Tunnel::Halb));
        println!("\nVXLAN VNI {VNI} between two hosts (namespaces), the same traffic through each tunnel:\n");
        print!("{}", table(kernel, halb, self.args.udp_len));
        for (reference, what) in [
            (Tunnel::Flat, "flat: no encapsulation, a veth joins each host's internal and external bridges, the inner frames cross the same underlay raw; what a tunnel whose encapsulation cost nothing could carry"),
            (Tunnel::Wire, "wire: no tunnel and no underlay, a veth cable joins the two internal bridges"),
        ] {
            if tunnels.contains(&reference) {
                println!("\nceiling ({what}):");
                for line in ceiling(kernel, halb, get(reference), reference.label()) {
                    println!("  {line}");
                }
            }
        }
        let mut notes = String::new();
        for (t, r) in &results {
            for n in &r.notes {
                let _ = writeln!(notes, "  {}: {n}", t.label());
            }
        }
        if !notes.is_empty() {
            println!("\nsanity (a figure next to one of these is suspect):\n{notes}");
        }
        println!("\nobserved on this topology:");
        for o in &observations {
            println!("  - {o}");
        }
        println!(
            "  - CPU per packet: (a) system time of the iperf3 sender and receiver as iperf3 reports it (getrusage); with tick-based accounting (no IRQ_TIME_ACCOUNTING here) the softirq work of the path that runs in their context is charged to them, softirq run by ksoftirqd is not; it includes their socket work (the same for both tunnels). (b) the whole machine's system+irq+softirq time minus an idle baseline: includes whatever else ran meanwhile, noisy on a shared 2-CPU machine (can even come out negative).\n  - On veths the sender's core runs the whole path (socket, bridge, encap, switch, decap, receiver's socket) in its softirq: the packet rate is bounded by one core, and 'sender-limited' means that core, not the tunnel alone, is saturated."
        );
        self.save(started_at, tunnels, &results);
        println!("\nbench took {:.0} s", started.elapsed().as_secs_f64());
        Ok(())
    }

    /// The results file of the run.
    fn save(&self, started: SystemTime, tunnels: &[Tunnel], measured: &[(Tunnel, TunnelResult)]) {
        let a = self.args;
        let mut saved = BenchResults::new(
            "vxlan",
            started,
            &[
                ("tunnels", tunnels.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ")),
                ("udp_len", a.udp_len.to_string()),
                ("udp_secs", a.udp_secs.to_string()),
                ("max_steps", a.max_steps.to_string()),
                ("max_loss_percent", a.max_loss.to_string()),
                ("tcp_secs", a.tcp_secs.to_string()),
                ("cpu_secs", a.cpu_secs.to_string()),
            ],
        );
        saved.rows = rows(measured, a.udp_len);
        let none = TunnelResult::default();
        let get = |t| measured.iter().find(|(x, _)| *x == t).map_or(&none, |(_, r)| r);
        saved.set_targets(&targets(get(Tunnel::Kernel), get(Tunnel::Halb)));
        saved::save(&saved);
    }

    /// The topology of tests/vxlan.rs with one endpoint per host.
    fn build(&mut self) -> Result<()> {
        let sw = self.env.add_ns("sw")?;
        topology::add_bridge(&sw, "br0", None, &[])?;
        topology::set_up(&sw, "br0")?;
        for host in 0..2 {
            let ns = self.env.add_ns(&format!("h{host}"))?;
            for bridge in ["vswout", "vswin"] {
                topology::add_bridge(&ns, bridge, None, &[])?;
                topology::set_up(&ns, bridge)?;
            }
            topology::add_address(&ns, &format!("{}/24", underlay(host)), "vswout")?;
            let port = format!("p{host}");
            Veth { ns: &ns, name: "up0", peer: &port, peer_ns: Some(&sw), ..Veth::default() }
                .create()?;
            topology::attach_up(&ns, "up0", "vswout")?;
            topology::attach_up(&sw, &port, "br0")?;
            let (address, mac) = endpoint(host);
            let end = self.env.add_ns(&format!("e{host}"))?;
            Veth {
                ns: &end,
                name: "eth0",
                address: Some(&mac),
                mtu: Some(INNER_MTU),
                peer: "e0",
                peer_mtu: Some(INNER_MTU),
                peer_ns: Some(&ns),
            }
            .create()?;
            topology::attach_up(&ns, "e0", "vswin")?;
            topology::add_address(&end, &format!("{address}/24"), "eth0")?;
            topology::set_up(&end, "eth0")?;
        }
        Ok(())
    }

    fn host(&self, host: usize) -> String {
        self.env.ns(&format!("h{host}"))
    }

    #[expect(clippy::too_many_lines, reason = "one topology, built step by step in order")]
    fn switch_to(&mut self, t: Tunnel) -> Result<()> {
        if self.current == Some(t) {
            return Ok(());
        }
        self.switch_off()?;
        match t {
            Tunnel::Kernel => {
                for host in 0..2 {
                    let ns = self.host(host);
                    let (vni, local) = (VNI.to_string(), underlay(host));
                    sys::ip_ns(
                        &ns,
                        &[
                            "link", "add", "vxlan42", "type", "vxlan", "id", &vni, "dstport",
                            "4789", "local", &local, "dev", "vswout",
                        ],
                    )?;
                    let remote = underlay(1 - host);
                    sys::run(
                        "bridge",
                        &[
                            "-n",
                            &ns,
                            "fdb",
                            "append",
                            "00:00:00:00:00:00",
                            "dev",
                            "vxlan42",
                            "dst",
                            &remote,
                        ],
                    )?;
                    sys::ip_ns(
                        &ns,
                        &["link", "set", "vxlan42", "mtu", "1450", "master", "vswin", "up"],
                    )?;
                }
            }
            Tunnel::Halb => {
                let bin = self.halb.clone().context("no halb binary")?;
                for host in 0..2 {
                    let node = self.host(host);
                    let cfg = self.env.dir.join(format!("h{host}.toml"));
                    std::fs::write(&cfg, halb_toml(&node, host)?)?;
                    self.env.add_pins(PathBuf::from(format!("/sys/fs/bpf/halb/{node}")));
                    let argv = vec![
                        bin.display().to_string(),
                        "run".into(),
                        "--config".into(),
                        cfg.display().to_string(),
                        "--run-dir".into(),
                        self.run_dir(),
                    ];
                    // From the root namespace: the daemon enters PREFIX-hN itself.
                    self.env.spawn(&format!("halb-h{host}"), None, &argv)?;
                }
                for host in 0..2 {
                    let ok = sys::wait_until(
                        Duration::from_secs(20),
                        Duration::from_millis(100),
                        || self.halb_stats(host).is_some_and(|s| s.state == "running"),
                    );
                    ensure!(
                        ok,
                        "halb on h{host} is not running; log: {}",
                        sys::tail(&self.env.log(&format!("halb-h{host}")), 10)
                    );
                }
            }
            Tunnel::Flat => {
                for host in 0..2 {
                    let ns = self.host(host);
                    let flat = Veth {
                        ns: &ns,
                        name: "flat0",
                        mtu: Some(INNER_MTU),
                        peer: "flat1",
                        ..Veth::default()
                    };
                    flat.create()?;
                    topology::attach_up(&ns, "flat0", "vswin")?;
                    topology::attach_up(&ns, "flat1", "vswout")?;
                }
            }
            Tunnel::Wire => {
                let (h0, h1) = (self.host(0), self.host(1));
                Veth {
                    ns: &h0,
                    name: "wire0",
                    mtu: Some(INNER_MTU),
                    peer: "wire1",
                    peer_mtu: Some(INNER_MTU),
                    peer_ns: Some(&h1),
                    ..Veth::default()
                }
                .create()?;
                topology::attach_up(&h0, "wire0", "vswin")?;
                topology::attach_up(&h1, "wire1", "vswin")?;
            }
        }
        self.current = Some(t);
        let e0 = self.env.ns("e0");
        let ok = (0..10).any(|_| sys::ns_exec_ok(&e0, "ping", &["-c", "1", "-W", "1", SERVER_IP]));
        ensure!(ok, "e0 cannot ping {SERVER_IP} through the {} tunnel", t.label());
        Ok(())
    }

    fn switch_off(&mut self) -> Result<()> {
        match self.current.take() {
            None => {}
            Some(Tunnel::Kernel) => {
                for host in 0..2 {
                    sys::ip_ns(&self.host(host), &["link", "del", "vxlan42"])?;
                }
            }
            Some(Tunnel::Halb) => {
                for host in 0..2 {
                    self.env.stop(&format!("halb-h{host}"))?;
                    // A clean stop removes the tunnel port; remove what a failed one left.
                    let ns = self.host(host);
                    if sys::ip_ns(&ns, &["link", "show", "vxl0"]).is_ok() {
                        eprintln!("halb on h{host} left vxl0 behind; removing it");
                        sys::ip_ns(&ns, &["link", "del", "vxl0"])?;
                    }
                }
            }
            // Deleting one end of a veth deletes both.
            Some(Tunnel::Flat) => {
                for host in 0..2 {
                    sys::ip_ns(&self.host(host), &["link", "del", "flat0"])?;
                }
            }
            Some(Tunnel::Wire) => {
                sys::ip_ns(&self.host(0), &["link", "del", "wire0"])?;
            }
        }
        Ok(())
    }

    fn run_dir(&self) -> String {
        self.env.dir.join("halb-run").display().to_string()
    }

    fn halb_stats(&self, host: usize) -> Option<VxlanReport> {
        let bin = self.halb.as_ref()?.display().to_string();
        let node = self.host(host);
        let out = sys::run(
            &bin,
            &["vxlan", "stats", "--json", "--node", &node, "--run-dir", &self.run_dir()],
        )
        .ok()?;
        let reports: Vec<VxlanReport> = serde_json::from_str(&out).ok()?;
        reports.into_iter().next()
    }

    /// halb's (packets, bytes) of `event` ("encapsulated", "decapsulated") on `host`.
    fn halb_event(&self, host: usize, event: &str) -> (u64, u64) {
        self.halb_stats(host)
            .and_then(|s| s.counters.get(event).map(|c| (c.packets, c.bytes)))
            .unwrap_or((0, 0))
    }

    /// Drops halb counted on either host, if any.
    fn halb_drops(&self) -> Option<String> {
        let mut parts = Vec::new();
        for host in 0..2 {
            let stats = self.halb_stats(host)?;
            for (reason, c) in stats.drops.iter().filter(|(_, c)| c.packets > 0) {
                parts.push(format!("h{host} {reason} {}", c.packets));
            }
        }
        (!parts.is_empty()).then(|| format!("halb counted drops: {}", parts.join(", ")))
    }

    /// What limits the figures, as seen on this topology.
    fn observe(&self, t: Tunnel) -> Vec<String> {
        let h0 = self.host(0);
        let mut out = Vec::new();
        let detail = |dev: &str| sys::ip_ns(&h0, &["-d", "link", "show", dev]).unwrap_or_default();
        let word_after = |text: &str, key: &str| {
            let mut it = text.split_whitespace();
            it.find(|w| *w == key).and_then(|_| it.next()).map(str::to_string)
        };
        let features = |ns: &str, dev: &str| {
            let text = sys::ns_exec(ns, "ethtool", &["-k", dev]).unwrap_or_default();
            [
                "tcp-segmentation-offload",
                "generic-segmentation-offload",
                "generic-receive-offload",
                "tx-checksumming",
            ]
            .iter()
            .filter_map(|k| {
                text.lines()
                    .find(|l| l.trim_start().starts_with(&format!("{k}:")))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|v| format!("{k} {}", v.split_whitespace().next().unwrap_or("?")))
            })
            .collect::<Vec<_>>()
            .join(", ")
        };
        match t {
            Tunnel::Kernel => {
                let d = detail("vxlan42");
                let csum = if d.contains("noudpcsum") {
                    "outer UDP checksum off (noudpcsum)"
                } else if d.contains("udpcsum") {
                    "outer UDP checksum on"
                } else {
                    "outer UDP checksum: not shown"
                };
                out.push(format!(
                    "kernel: vxlan42 gso_max_segs {}, {csum}; endpoint veth (e0 in h0): {}; underlay veth up0: {}",
                    word_after(&d, "gso_max_segs").unwrap_or_else(|| "?".into()),
                    features(&h0, "e0"),
                    features(&h0, "up0")
                ));
            }
            Tunnel::Halb => {
                let d = detail("vxl0");
                out.push(format!(
                    "halb: tunnel port vxl0 gso_max_segs {} (encap at its TC egress keeps TSO/GSO frames whole: UDP tunnel GSO), outer UDP checksum 0; vxl0: {}; peer vxl0-dp (decapsulated frames leave through it; TSO off so the veth hands them to vxl0's GRO): {}",
                    word_after(&d, "gso_max_segs").unwrap_or_else(|| "?".into()),
                    features(&h0, "vxl0"),
                    features(&h0, "vxl0-dp")
                ));
            }
            Tunnel::Flat => out.push(format!(
                "flat: veth flat0 (in vswin) - flat1 (in vswout) on each host: {}",
                features(&h0, "flat0")
            )),
            Tunnel::Wire => out.push(format!(
                "wire: veth wire0 (h0) - wire1 (h1) joins the internal bridges: {}",
                features(&h0, "wire0")
            )),
        }
        out
    }

    fn client(&self, extra: &[&str], secs: u64) -> Vec<String> {
        let mut v = argv(&["taskset", "-c"]);
        v.push(self.args.sender_cpu.to_string());
        v.extend(argv(&["iperf3", "-c", SERVER_IP, "--json", "-t"]));
        v.push(secs.to_string());
        v.extend(argv(extra));
        v
    }

    fn udp(&self, pps: u64, secs: u64, tag: &str) -> Result<UdpResult> {
        let bps = pps * u64::from(self.args.udp_len) * 8;
        let argv = self
            .client(&["-u", "-l", &self.args.udp_len.to_string(), "-b", &bps.to_string()], secs);
        let out = self.env.dir.join(format!("iperf-{tag}-{pps}"));
        let f = proxy_env::run_bounded(
            &self.env.ns("e0"),
            &argv,
            Duration::from_secs(secs + 20),
            &out,
        )?;
        if f.timed_out {
            bail!("iperf3 -u at {pps} pps: {}", f.describe());
        }
        vxlan_iperf::parse_udp(&f.stdout)
            .with_context(|| format!("iperf3 -u at {pps} pps ({})", f.describe()))
    }

    #[expect(
        clippy::unnecessary_wraps,
        reason = "same signature as the other measurements, which can fail"
    )]
    fn search_pps(&self, notes: &mut Vec<String>) -> Result<Option<Pps>> {
        let mut search = RateSearch::new(self.args.start_pps, self.args.max_steps);
        let mut best: Option<Pps> = None;
        let mut steps = 0;
        while let Some(rate) = search.next() {
            steps += 1;
            let r = match self.udp(rate, self.args.udp_secs, "udp") {
                Ok(r) => r,
                Err(e) => {
                    notes.push(format!("UDP step at {rate} pps failed: {e:#}"));
                    search.record(rate, Step::Lossy);
                    continue;
                }
            };
            let step = vxlan_iperf::classify(rate, &r, self.args.max_loss);
            println!(
                "  UDP {rate:>8} pps offered: sent {:>8.0} pps, received {:>8.0} pps, loss {:.3} % -> {step:?}",
                r.sent_pps(),
                r.received_pps(),
                r.lost_percent
            );
            search.record(rate, step);
            if step != Step::Lossy && best.is_none_or(|b| r.received_pps() > b.pps) {
                best = Some(Pps {
                    pps: r.received_pps(),
                    sender_limited: step == Step::SenderLimited,
                    steps: 0,
                });
            }
        }
        if best.is_none() {
            notes.push("no rate with loss below the limit".into());
        }
        Ok(best.map(|b| Pps { steps, ..b }))
    }

    fn tcp(&self, streams: u32, notes: &mut Vec<String>) -> Result<Option<TcpResult>> {
        let p = streams.to_string();
        let argv = self.client(&["-P", &p], self.args.tcp_secs);
        let out = self.env.dir.join(format!("iperf-tcp{streams}"));
        let f = proxy_env::run_bounded(
            &self.env.ns("e0"),
            &argv,
            Duration::from_secs(self.args.tcp_secs + 20),
            &out,
        )?;
        match vxlan_iperf::parse_tcp(&f.stdout) {
            Ok(r) => {
                println!(
                    "  TCP {streams} stream(s): {:.3} Gbit/s, {} retransmits",
                    r.received_bps / 1e9,
                    r.retransmits
                );
                Ok(Some(r))
            }
            Err(e) => {
                notes.push(format!("TCP {streams} stream(s) failed: {e:#} ({})", f.describe()));
                Ok(None)
            }
        }
    }

    fn cpu_per_packet(&self, rate: u64, observations: &mut Vec<String>) -> Result<CpuPerPacket> {
        let secs = self.args.cpu_secs;
        // Idle baseline: the machine's kernel time while this bench sends nothing.
        let (b0, t0) = (CpuTimes::now()?, Instant::now());
        std::thread::sleep(Duration::from_secs(secs));
        let (b1, t1) = (CpuTimes::now()?, Instant::now());
        let base_rate = b1.kernel_secs_since(&b0) / (t1 - t0).as_secs_f64();
        let (_, base_kernel) = proxy_env::busy_shares(&b0, &b1);
        if base_kernel > 0.25 {
            observations.push(format!(
                "{}: during the idle baseline of the CPU measurement other jobs kept {:.0} % of all CPUs in the kernel: its CPU figures are unreliable",
                self.current.map_or("?", Tunnel::label),
                base_kernel * 100.0
            ));
        }
        let (c0, s0, rx0) = (CpuTimes::now()?, Instant::now(), net_rx_softirqs());
        let r = self.udp(rate, secs, "cpu")?;
        let (c1, s1, rx1) = (CpuTimes::now()?, Instant::now(), net_rx_softirqs());
        let rx: Vec<String> = rx1
            .iter()
            .zip(rx0.iter().chain(std::iter::repeat(&0)))
            .enumerate()
            .map(|(cpu, (a, b))| format!("CPU{cpu} {}", a.saturating_sub(*b)))
            .collect();
        observations.push(format!(
            "{}: NET_RX softirqs during the {rate} pps run ({} packets): {} (sender on CPU {}, receiver on CPU {})",
            self.current.map_or("?", Tunnel::label),
            r.sent_packets,
            rx.join(", "),
            self.args.sender_cpu,
            self.args.receiver_cpu
        ));
        let load = c1.kernel_secs_since(&c0);
        let net = load - base_rate * (s1 - s0).as_secs_f64();
        let proc_secs = r.client_system_secs.zip(r.server_system_secs).map(|(a, b)| a + b);
        let c = CpuPerPacket {
            rate,
            proc_secs,
            net_secs: net,
            packets: r.sent_packets,
            lost_percent: r.lost_percent,
        };
        println!(
            "  {}: iperf3 system CPU {} s -> {} us/packet; machine kernel CPU {:.2} s over {:.1} s (idle baseline {:.2} s for as long) -> {} us/packet; {} packets, loss {:.3} %",
            self.current.map_or("?", Tunnel::label),
            proc_secs.map_or("-".into(), |s| format!("{s:.2}")),
            c.micros_per_packet().map_or("-".into(), |v| fmt_sig(v, 3)),
            load,
            (s1 - s0).as_secs_f64(),
            base_rate * (s1 - s0).as_secs_f64(),
            c.machine_micros_per_packet().map_or("-".into(), |v| fmt_sig(v, 3)),
            r.sent_packets,
            r.lost_percent,
        );
        Ok(c)
    }

    /// A /proc/net/snmp counter of the receiving endpoint.
    fn receiver_snmp(&self, proto: &str, name: &str) -> u64 {
        self.snmp("e1", proto, name)
    }

    /// A /proc/net/snmp counter of the sending endpoint.
    fn sender_snmp(&self, proto: &str, name: &str) -> u64 {
        self.snmp("e0", proto, name)
    }

    /// A `TcpExt` counter of /proc/net/netstat of an endpoint (same layout as snmp).
    fn netstat(&self, node: &str, name: &str) -> u64 {
        let text =
            sys::ns_exec(&self.env.ns(node), "cat", &["/proc/net/netstat"]).unwrap_or_default();
        parse_snmp(&text, "TcpExt", name).unwrap_or(0)
    }

    fn snmp(&self, node: &str, proto: &str, name: &str) -> u64 {
        let text = sys::ns_exec(&self.env.ns(node), "cat", &["/proc/net/snmp"]).unwrap_or_default();
        parse_snmp(&text, proto, name).unwrap_or(0)
    }
}

/// A counter of /proc/net/snmp, e.g. (`Tcp`, `InCsumErrors`).
#[must_use]
pub fn parse_snmp(snmp: &str, proto: &str, name: &str) -> Option<u64> {
    let tag = format!("{proto}:");
    let mut lines = snmp.lines().filter(|l| l.split_whitespace().next() == Some(tag.as_str()));
    let (names, values) = (lines.next()?, lines.next()?);
    let col = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(col)?.parse().ok()
}

/// Packets dropped because a CPU's input backlog was full (second column of
/// /`proc/net/softnet_stat`, hexadecimal, one line per CPU): the whole machine.
#[must_use]
pub fn parse_softnet_drops(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|v| u64::from_str_radix(v, 16).ok())
        .sum()
}

/// `NET_RX` softirq counts per CPU from /proc/softirqs.
#[must_use]
pub fn parse_net_rx(text: &str) -> Vec<u64> {
    text.lines()
        .find(|l| l.trim_start().starts_with("NET_RX:"))
        .map(|l| l.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_default()
}

fn net_rx_softirqs() -> Vec<u64> {
    std::fs::read_to_string("/proc/softirqs").map_or_else(|_| Vec::new(), |t| parse_net_rx(&t))
}

fn softnet_drops() -> u64 {
    std::fs::read_to_string("/proc/net/softnet_stat").map_or(0, |t| parse_softnet_drops(&t))
}

/// `perf stat -e cycles true` counts cycles (not `<not supported>`).
fn perf_cycles_work() -> bool {
    std::process::Command::new("perf")
        .args(["stat", "-x,", "-e", "cycles", "true"])
        .output()
        .is_ok_and(|o| {
            let err = String::from_utf8_lossy(&o.stderr);
            o.status.success()
                && err.lines().any(|l| {
                    l.contains("cycles")
                        && l.split(',').next().is_some_and(|v| v.trim().parse::<u64>().is_ok())
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halb_config_is_the_tunnel_of_each_host() {
        for host in 0..2 {
            let t = halb_toml(&format!("hbv-h{host}"), host).unwrap();
            let config = halb_config::read_back(&t).unwrap();
            let role = config.host.expect("the host role");
            assert_eq!(role.netns.as_deref(), Some(format!("hbv-h{host}").as_str()));
            let v = role.vxlan.expect("the tunnel");
            assert_eq!(v.vni, VNI);
            assert_eq!(v.local.to_string(), underlay(host));
            assert_eq!(v.remotes, [underlay(1 - host).parse::<std::net::Ipv4Addr>().unwrap()]);
            assert_eq!((v.underlay.as_str(), v.bridge.as_str()), ("vswout", "vswin"));
        }
    }

    #[expect(
        clippy::unnecessary_wraps,
        reason = "the results hold an Option: a run may have no TCP figure"
    )]
    fn tcp(gbit: f64) -> Option<TcpResult> {
        Some(TcpResult { received_bps: gbit * 1e9, retransmits: 2 })
    }

    #[test]
    fn rows_per_tunnel_leave_out_what_was_not_measured() {
        let (kernel, halb) = sample();
        let rows = rows(
            &[
                (Tunnel::Kernel, kernel),
                (Tunnel::Halb, halb),
                (Tunnel::Wire, TunnelResult::default()),
            ],
            64,
        );
        assert!(rows.iter().all(|r| r.stack != "wire"));
        let pps = rows.iter().find(|r| r.stack == "halb" && r.metric == "packets/s").unwrap();
        assert_eq!((pps.case.as_str(), pps.median), ("UDP 64 B payload", Some(320_000.0)));
        let tcp4 = rows.iter().find(|r| r.stack == "kernel" && r.case == "TCP 4 streams").unwrap();
        assert_eq!((tcp4.unit.as_str(), tcp4.median), ("Gbit/s", Some(24.0)));
        let cpu =
            rows.iter().find(|r| r.stack == "kernel" && r.metric == "CPU per packet").unwrap();
        assert_eq!(cpu.median, Some(4.0));
    }

    fn sample() -> (TunnelResult, TunnelResult) {
        let kernel = TunnelResult {
            pps: Some(Pps { pps: 200_000.0, sender_limited: false, steps: 7 }),
            tcp1: tcp(20.0),
            tcp4: tcp(24.0),
            cpu: Some(CpuPerPacket {
                rate: 100_000,
                proc_secs: Some(2.0),
                net_secs: 2.5,
                packets: 500_000,
                lost_percent: 0.0,
            }),
            notes: vec![],
            disturbed: false,
        };
        let halb = TunnelResult {
            pps: Some(Pps { pps: 320_000.0, sender_limited: true, steps: 5 }),
            tcp1: tcp(5.0),
            tcp4: tcp(6.0),
            cpu: Some(CpuPerPacket {
                rate: 100_000,
                proc_secs: Some(1.5),
                net_secs: 3.0,
                packets: 500_000,
                lost_percent: 0.1,
            }),
            notes: vec![],
            disturbed: false,
        };
        (kernel, halb)
    }

    #[test]
    fn table_rows() {
        let (k, h) = sample();
        let t = table(&k, &h, 64);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 7, "{t}");
        assert!(lines[0].starts_with("figure "), "{t}");
        assert!(
            lines[2].starts_with("UDP 64 B payload, packets/s at < 0.5 % loss        |"),
            "{t}"
        );
        assert!(
            lines[2].contains(" 200000 | >= 320000 (sender-limited) |       1.60x | >= 1.5x"),
            "{t}"
        );
        assert!(lines[3].contains("| 20.0 (2 retr) |              5.00 (2 retr) |"), "{t}");
        assert!(lines[3].contains("|       0.25x | >= 1x"), "{t}");
        assert!(lines[5].starts_with("sender+receiver system CPU us/packet at 100000 pps"), "{t}");
        assert!(lines[6].starts_with("machine kernel CPU us/packet at 100000 pps (noisy)"), "{t}");
        assert!(lines[6].contains(" 5.00 |                       6.00 |       1.20x"), "{t}");
        assert!(lines[5].contains(" 4.00 |                       3.00 |"), "{t}");
        assert!(lines[5].contains("|       0.75x | (lower is better)"), "{t}");
        let empty = TunnelResult::default();
        let t = table(&k, &empty, 64);
        assert!(
            t.lines().nth(2).unwrap().ends_with(" 200000 |    - |           - | >= 1.5x"),
            "{t}"
        );
    }

    #[test]
    fn targets_decided() {
        let (k, h) = sample();
        let t = targets(&k, &h);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].met, Some(true));
        assert_eq!(
            t[0].figure,
            "1.60x (320000 vs 200000 pps) (halb sender-limited: a lower bound)"
        );
        assert_eq!(t[1].met, Some(false));
        assert_eq!(t[1].figure, "0.25x (5.00 vs 20.0 Gbit/s)");
        let t = targets(&k, &TunnelResult::default());
        assert!(t.iter().all(|x| x.met.is_none()));
        let disturbed = TunnelResult { disturbed: true, ..h };
        let t = targets(&k, &disturbed);
        assert!(t.iter().all(|x| x.met.is_none()), "{t:?}");
        assert!(t[1].figure.ends_with("(not decided: other jobs kept the kernel busy)"), "{t:?}");
    }

    #[test]
    fn cpu_figures() {
        let (k, _) = sample();
        assert!((k.cpu.unwrap().micros_per_packet().unwrap() - 4.0).abs() < 1e-9);
        assert!((k.cpu.unwrap().machine_micros_per_packet().unwrap() - 5.0).abs() < 1e-9);
        let none = CpuPerPacket {
            rate: 1000,
            proc_secs: None,
            net_secs: 1.0,
            packets: 10,
            lost_percent: 0.0,
        };
        assert_eq!(none.micros_per_packet(), None);
        let none = CpuPerPacket { packets: 0, proc_secs: Some(1.0), ..none };
        assert_eq!(none.micros_per_packet(), None);
        assert_eq!(none.machine_micros_per_packet(), None);
    }

    #[test]
    fn ceiling_against_a_path_without_encapsulation() {
        let (kernel, halb) = sample();
        let mut wire = kernel.clone();
        wire.pps = Some(Pps { pps: 400_000.0, sender_limited: true, steps: 4 });
        wire.cpu = wire.cpu.map(|c| CpuPerPacket { proc_secs: Some(1.0), ..c });
        let lines = ceiling(&kernel, &halb, &wire, "wire");
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("wire: 400000 packets/s (sender-limited), TCP 1 stream 20"),
            "{lines:?}"
        );
        assert!(lines[0].ends_with(", 2.00 us/packet"), "{lines:?}");
        assert!(
            lines[1].starts_with(
                "wire/kernel packets/s: 2.00x (at least: the load generator's core caps"
            ),
            "{lines:?}"
        );
        assert!(
            lines[2].contains(
                "beyond wire's: kernel 2.00 us, halb 1.00 us -> halb/kernel 0.50x; that is 50 %"
            ),
            "{lines:?}"
        );
        // A reference as costly as a tunnel: no per-tunnel figure.
        wire.cpu = wire.cpu.map(|c| CpuPerPacket { proc_secs: Some(1.6), ..c });
        wire.pps = Some(Pps { pps: 250_000.0, sender_limited: false, steps: 4 });
        let lines = ceiling(&kernel, &halb, &wire, "flat");
        assert!(lines[1].ends_with("flat/kernel packets/s: 1.25x"), "{lines:?}");
        assert!(lines[2].contains("within the noise of flat's"), "{lines:?}");
        assert_eq!(ceiling(&kernel, &halb, &TunnelResult::default(), "flat").len(), 1);
    }

    #[test]
    fn snmp() {
        let text = "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm InSegs InCsumErrors OutRsts\nTcp: 1 100 3 0\nUdp: InDatagrams\nUdp: 5\n";
        assert_eq!(parse_snmp(text, "Tcp", "InCsumErrors"), Some(3));
        assert_eq!(parse_snmp(text, "Udp", "InDatagrams"), Some(5));
        assert_eq!(parse_snmp(text, "Udp", "RcvbufErrors"), None);
        assert_eq!(parse_snmp("Ip: x\nIp: 1\n", "Tcp", "InCsumErrors"), None);
        let softnet = "00fa8b23 00000000 00000004\n005c599c 00000125 00000003\n";
        assert_eq!(parse_softnet_drops(softnet), 0x125);
        let softirqs = "                    CPU0       CPU1\n      NET_TX:     100  2\n      NET_RX:    8356497    6271031\n";
        assert_eq!(parse_net_rx(softirqs), [8_356_497, 6_271_031]);
        assert!(parse_net_rx("").is_empty());
    }

    #[test]
    fn cli() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: VxlanArgs,
        }
        let a = Cli::try_parse_from(["x"]).unwrap().args;
        assert_eq!(a.tunnels, [Tunnel::Kernel, Tunnel::Halb, Tunnel::Flat, Tunnel::Wire]);
        assert_eq!((a.udp_len, a.udp_secs, a.max_steps, a.cpu_pps), (64, 3, 8, None));
        let a = Cli::try_parse_from(["x", "--tunnels", "halb", "--cpu-pps", "20000"]).unwrap().args;
        assert_eq!((a.tunnels.as_slice(), a.cpu_pps), ([Tunnel::Halb].as_slice(), Some(20_000)));
        assert!(Cli::try_parse_from(["x", "--udp-len", "8"]).is_err());
        assert!(Cli::try_parse_from(["x", "--tunnels", "ovs"]).is_err());
    }
}
