//! `cargo xtask bench vrrp`: how long a client loses the service when the VRRP master goes
//! away, with keepalived and with halb.
//!
//! For each stack a lab comes up (prefix `halb-bench` unless told otherwise, fast STP
//! timers, haproxy on both balancers), then each scenario runs `--repeat` times:
//!
//! - `link`: `lab fail bridge vswout1` (bal1 loses the external network), wait until bal2
//!   serves, heal, wait until bal1 serves again (preemption);
//! - `kill`: `lab fail node bal1` (SIGKILL of bal1's VRRP speaker and haproxy: a crash),
//!   heal (restart), wait for preemption;
//! - `stop`: `lab stop node bal1` (SIGTERM, VRRP first: the master resigns with priority
//!   0), heal, wait for preemption.
//!
//! user2 requests `GET /` from the VIP through the balancers' haproxy on :8000 every
//! `--probe-interval-ms` (open loop, 300 ms timeouts, see [`super::sampler`]). Outage = the
//! longest gap between successful answers from the fault until the heal; heal outage = the
//! same from the heal until bal1 serves again. Before each run the lab must be healthy and
//! both haproxies must see every server up.

use std::fmt::{self, Write as _};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, ensure, Context, Result};
use clap::{Args, ValueEnum};

use super::outage::{self, ms, Stats};
use super::report::{self, Target};
use super::results::{BenchResults, Row};
use super::sampler::{self, Sampler};
use super::saved;
use super::soak::{self, Load, SoakResult};
use crate::lab::{
    self, down, faults, health, kernel, plan::StackSpec, services::Kill, sys, topo, up, vrrp,
    Fault, Lab, LabConfig, Stack, StpTimers, VrrpTiming,
};
use crate::progress::Progress;

/// Consecutive answers through the expected balancer that end a phase.
const SETTLED: usize = 5;
/// How long the backup may take to serve after a fault before the run fails.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a single run may last (the sampler stops by itself after it).
const RUN_BOUND: Duration = Duration::from_mins(3);
/// Tolerance of "no worse than keepalived": halb's median may exceed keepalived's by 5 %
/// plus two sampling intervals (the resolution of either figure).
const NO_WORSE_FACTOR: f64 = 1.05;
/// Targets of the fast setting.
const FAST_LINK_TARGET: Duration = Duration::from_millis(100);
const FAST_STOP_TARGET: Duration = Duration::from_millis(50);

/// VRRP failover as a client sees it (root; brings up its own lab per stack, removes it).
#[derive(Args, Debug)]
pub struct VrrpArgs {
    /// Stacks to measure, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "keepalived,halb,halb-fast")]
    pub stacks: Vec<BenchStack>,
    /// Scenarios to run on each stack.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "link,kill,stop")]
    pub scenarios: Vec<Scenario>,
    /// Runs of each scenario per stack (the table shows median, min and max).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,
    /// Milliseconds between the starts of two requests of user2 (the outage's resolution).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub probe_interval_ms: u64,
    /// Also soak the fast setting under CPU load for --soak-secs (default 300 s).
    #[arg(long)]
    pub soak: bool,
    /// Soak length in seconds (implies --soak).
    #[arg(long, value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub soak_secs: Option<u64>,
    /// STP timers of the bench labs (fast keeps the heal phases short).
    #[arg(long, value_enum, default_value = "fast")]
    pub stp_timers: StpTimers,
    /// Lab prefix of the bench labs (namespaces PREFIX-<node>).
    #[arg(long, default_value = "halb-bench")]
    pub prefix: String,
    /// Write every run's samples to DIR/<stack>-<scenario>-<run>.csv (`start_ms`, `end_ms`, ok,
    /// via), with the fault and heal times in the header.
    #[arg(long, value_name = "DIR")]
    pub save_samples: Option<std::path::PathBuf>,
}

impl VrrpArgs {
    #[must_use]
    pub fn soak_secs(&self) -> Option<u64> {
        self.soak_secs.or(self.soak.then_some(300))
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(self.probe_interval_ms)
    }
}

/// The VRRP stacks compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum BenchStack {
    /// keepalived on both balancers, the lab's settings (v2, `advert_int` 1).
    Keepalived,
    /// halb on both balancers with the same settings.
    Halb,
    /// halb on both balancers, `VRRPv3` with 10 ms adverts.
    HalbFast,
}

impl BenchStack {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            BenchStack::Keepalived => "keepalived (v2, 1 s)",
            BenchStack::Halb => "halb (v2, 1 s)",
            BenchStack::HalbFast => "halb fast (v3, 10 ms)",
        }
    }

    /// `lab up --vrrp ... --vrrp-version ... --vrrp-advert-int ...`
    pub fn config(self, timers: StpTimers) -> Result<LabConfig> {
        let (vrrp, version, advert) = match self {
            BenchStack::Keepalived => ("keepalived", 2, "1"),
            BenchStack::Halb => ("halb", 2, "1"),
            BenchStack::HalbFast => ("halb", 3, "0.01"),
        };
        let stack = Stack::parse(&StackSpec { vrrp: Some(vrrp), ..StackSpec::default() })?;
        let mut config = LabConfig::new(stack, timers, false);
        config.vrrp = VrrpTiming::new(version, advert)?;
        Ok(config)
    }
}

/// What happens to the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Scenario {
    /// `lab fail bridge vswout1`: bal1 loses the external network.
    Link,
    /// `lab fail node bal1`: bal1's VRRP speaker and haproxy `SIGKILLed`.
    Kill,
    /// `lab stop node bal1`: SIGTERM, the master resigns with priority 0.
    Stop,
}

impl Scenario {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Link => "link down (vswout1)",
            Scenario::Kill => "master killed",
            Scenario::Stop => "master stopped",
        }
    }

    fn fault(self) -> Result<Fault> {
        match self {
            Scenario::Link => Fault::bridge("vswout1"),
            Scenario::Kill | Scenario::Stop => Fault::node("bal1"),
        }
    }

    fn apply(self, lab: &Lab) -> Result<()> {
        let fault = self.fault()?;
        match self {
            Scenario::Link | Scenario::Kill => lab::fail(lab, &fault),
            Scenario::Stop => {
                sys::require_root()?;
                let _lock = lab.lock(Duration::from_mins(1))?;
                faults::fail_with(lab, &fault, Kill::Graceful)
            }
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One measured run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Longest gap between answers from the fault until the heal.
    pub outage: Duration,
    /// Same from the heal until bal1 serves again.
    pub heal_outage: Duration,
    /// bal1 served user2 again within the bound after the heal (else `heal_outage` is the
    /// gap so far: a lower bound).
    pub healed: bool,
    /// Failed requests of the fault phase, of all its requests.
    pub failed: usize,
    pub requests: usize,
}

/// All runs of one (stack, scenario).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub stack: BenchStack,
    pub scenario: Scenario,
    pub runs: Vec<Run>,
}

impl Series {
    #[must_use]
    pub fn outage(&self) -> Option<Stats> {
        Stats::of(&self.runs.iter().map(|r| r.outage).collect::<Vec<_>>())
    }

    #[must_use]
    pub fn heal_outage(&self) -> Option<Stats> {
        Stats::of(&self.runs.iter().map(|r| r.heal_outage).collect::<Vec<_>>())
    }

    /// Runs after whose heal bal1 did not serve again within the bound.
    #[must_use]
    pub fn unhealed(&self) -> usize {
        self.runs.iter().filter(|r| !r.healed).count()
    }
}

/// Median outage of `stack` over keepalived's in the same scenario.
#[must_use]
pub fn ratio(all: &[Series], stack: BenchStack, scenario: Scenario) -> Option<f64> {
    let median = |s: BenchStack| {
        all.iter().find(|x| x.stack == s && x.scenario == scenario).and_then(Series::outage)
    };
    let (ours, theirs) = (median(stack)?.median, median(BenchStack::Keepalived)?.median);
    (!theirs.is_zero()).then(|| ours.as_secs_f64() / theirs.as_secs_f64())
}

/// A statistics cell pair: median, and `min-max` (`-` when nothing was measured).
#[must_use]
pub fn stats_cell(s: Option<Stats>) -> (String, String) {
    match s {
        Some(s) => (ms(s.median).to_string(), format!("{}-{}", ms(s.min), ms(s.max))),
        None => ("-".into(), "-".into()),
    }
}

/// The results table: one row per (stack, scenario).
#[must_use]
pub fn table(all: &[Series]) -> String {
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|s| {
            let (median, range) = stats_cell(s.outage());
            let (mut heal, _) = stats_cell(s.heal_outage());
            if let (n @ 1.., Some(h)) = (s.unhealed(), s.heal_outage()) {
                // The longest gap so far is the figure that is known to be exceeded.
                heal = format!(">={} ({n} of {} not back)", ms(h.max), s.runs.len());
            }
            let failed: usize = s.runs.iter().map(|r| r.failed).sum();
            let requests: usize = s.runs.iter().map(|r| r.requests).sum();
            let ratio = match (s.stack, ratio(all, s.stack, s.scenario)) {
                (BenchStack::Keepalived, _) => "1 (ref)".to_string(),
                (_, Some(r)) => format!("{r:.3}"),
                (_, None) => "-".to_string(),
            };
            vec![
                s.stack.label().to_string(),
                s.scenario.label().to_string(),
                s.runs.len().to_string(),
                median,
                range,
                heal,
                format!("{failed}/{requests}"),
                ratio,
            ]
        })
        .collect();
    report::table(
        &[
            "stack",
            "scenario",
            "runs",
            "outage ms (median)",
            "min-max",
            "heal outage ms",
            "failed/requests",
            "halb/keepalived",
        ],
        &rows,
        &[2, 3, 4, 5, 6, 7],
    )
}

/// The VRRP targets, decided by the measured figures.
pub fn targets(all: &[Series], interval: Duration, soak: Option<&SoakResult>) -> Vec<Target> {
    let find = |stack, scenario| all.iter().find(|s| s.stack == stack && s.scenario == scenario);
    let mut out = Vec::new();
    for scenario in [Scenario::Link, Scenario::Kill, Scenario::Stop] {
        let what = format!("halb v2 1 s no worse than keepalived, {}", scenario.label());
        let pair = find(BenchStack::Halb, scenario)
            .and_then(Series::outage)
            .zip(find(BenchStack::Keepalived, scenario).and_then(Series::outage));
        out.push(match pair {
            Some((h, k)) => {
                let bound = k.median.mul_f64(NO_WORSE_FACTOR) + 2 * interval;
                Target {
                    what,
                    figure: format!(
                        "median {} ms vs {} ms (allowed {} ms: +5 % + 2 intervals)",
                        ms(h.median),
                        ms(k.median),
                        ms(bound)
                    ),
                    met: Some(h.median <= bound),
                }
            }
            None => Target { what, figure: "needs stacks halb and keepalived".into(), met: None },
        });
    }
    for (scenario, limit, name) in [
        (Scenario::Link, FAST_LINK_TARGET, "link failure"),
        (Scenario::Stop, FAST_STOP_TARGET, "graceful stop"),
    ] {
        let what = format!("halb fast: {name} < {} ms", limit.as_millis());
        out.push(match find(BenchStack::HalbFast, scenario).and_then(Series::outage) {
            Some(s) => Target {
                what,
                figure: format!("worst {} ms (median {} ms)", ms(s.max), ms(s.median)),
                met: Some(s.max < limit),
            },
            None => Target { what, figure: "needs stack halb-fast".into(), met: None },
        });
    }
    let what = "halb fast under CPU load: 0 transitions".to_string();
    out.push(match soak {
        Some(r) => Target {
            what,
            figure: format!(
                "{} transitions in {} s with {} busy threads ({}); VIP not on bal1 alone in {}/{} samples",
                r.total_transitions(),
                r.secs,
                r.threads,
                r.transitions.iter().map(|(b, n)| format!("{b} {n}")).collect::<Vec<_>>().join(", "),
                r.holder_glitches,
                r.holder_samples
            ),
            met: Some(r.passed()),
        },
        None => Target { what, figure: "soak not run (--soak)".into(), met: None },
    });
    out
}

/// Every figure of every run, for the results file: outage and heal outage (ms), failed and
/// all requests of the fault phase.
#[must_use]
pub fn rows(all: &[Series]) -> Vec<Row> {
    let mut out = Vec::new();
    for s in all {
        let (case, stack) = (s.scenario.label(), s.stack.label());
        let runs = |f: fn(&Run) -> Duration| s.runs.iter().map(f).collect::<Vec<_>>();
        let counts = |f: fn(&Run) -> usize| s.runs.iter().map(f).collect::<Vec<_>>();
        out.extend([
            Row::of_ms(case, stack, "outage", &runs(|r| r.outage)),
            Row::of_ms(case, stack, "heal outage", &runs(|r| r.heal_outage)),
            Row::of_counts(case, stack, "failed requests", "requests", &counts(|r| r.failed)),
            Row::of_counts(case, stack, "requests", "requests", &counts(|r| r.requests)),
        ]);
    }
    out
}

/// The results file's header: what this run measures.
fn saved_header(
    args: &VrrpArgs,
    stacks: &[BenchStack],
    scenarios: &[Scenario],
    soak_secs: Option<u64>,
) -> BenchResults {
    BenchResults::new(
        "vrrp",
        SystemTime::now(),
        &[
            ("stacks", stacks.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ")),
            ("scenarios", scenarios.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ")),
            ("repeat", args.repeat.to_string()),
            ("probe_interval_ms", args.probe_interval_ms.to_string()),
            ("stp_timers", args.stp_timers.name().to_string()),
            ("soak_secs", soak_secs.map_or_else(|| "-".into(), |s| s.to_string())),
        ],
    )
}

/// Brings the bench lab down when dropped.
pub struct LabDown<'a>(pub &'a Lab);

impl Drop for LabDown<'_> {
    fn drop(&mut self) {
        println!("\nbringing lab {} down ...", self.0.prefix);
        if let Err(e) = down::down(self.0) {
            eprintln!(
                "lab down failed: {e:#}; run `cargo xtask lab down --prefix {}`",
                self.0.prefix
            );
        }
    }
}

/// `cargo xtask bench vrrp`
pub fn run(args: &VrrpArgs) -> Result<()> {
    sys::require_root()?;
    let lab = Lab::new(&args.prefix)?;
    if lab.dir.exists() || !lab.existing_namespaces().is_empty() {
        bail!(
            "lab {:?} exists; the bench brings up its own: `cargo xtask lab down --prefix {}` first, or pick another --prefix",
            lab.prefix,
            lab.prefix
        );
    }
    let mut stacks = args.stacks.clone();
    stacks.dedup();
    let mut scenarios = args.scenarios.clone();
    scenarios.dedup();
    let soak_secs = args.soak_secs();
    if soak_secs.is_some() && !stacks.contains(&BenchStack::HalbFast) {
        stacks.push(BenchStack::HalbFast);
    }
    if stacks.iter().any(|s| *s != BenchStack::Keepalived) {
        crate::daemon_build::build(crate::daemon_build::Profile::Debug, "bench vrrp")?;
    }
    if let Some(dir) = &args.save_samples {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let started = Instant::now();
    let mut saved = saved_header(args, &stacks, &scenarios, soak_secs);
    let measured = stacks.iter().filter(|s| args.stacks.contains(s)).count();
    let mut progress = Progress::new(measured * scenarios.len() * args.repeat as usize);
    println!(
        "bench vrrp: stacks {}; scenarios {}; {} run(s) each; user2 -> http://{} every {} ms ({} ms timeouts){}",
        stacks.iter().map(|s| s.label()).collect::<Vec<_>>().join(", "),
        scenarios.iter().map(|s| s.label()).collect::<Vec<_>>().join(", "),
        args.repeat,
        health::vip_addr(),
        args.probe_interval_ms,
        sampler::REQUEST_TIMEOUT.as_millis(),
        soak_secs.map(|s| format!("; soak {s} s")).unwrap_or_default()
    );
    let mut all = Vec::new();
    let mut soaked = None;
    for &stack in &stacks {
        let config = stack.config(args.stp_timers)?;
        println!("\n== {} ==", stack.label());
        let guard = LabDown(&lab);
        up::up(&lab, &config)
            .with_context(|| format!("bringing the lab up for {}", stack.label()))?;
        let only_soak = soak_secs.is_some() && !args.stacks.contains(&stack);
        if !only_soak {
            for &scenario in &scenarios {
                let mut series = Series { stack, scenario, runs: Vec::new() };
                for i in 1..=args.repeat {
                    progress.start(&format!("{}, {}, run {i}", stack.label(), scenario.label()));
                    let save = args.save_samples.as_ref().map(|d| {
                        let stack = stack
                            .to_possible_value()
                            .map_or_else(|| format!("{stack:?}"), |v| v.get_name().to_string());
                        let scenario = format!("{scenario:?}").to_lowercase();
                        d.join(format!("{stack}-{scenario}-{i}.csv"))
                    });
                    let r = measure(&lab, &config, scenario, args.interval(), save.as_deref())
                        .with_context(|| {
                            format!("{}, {} (run {i})", stack.label(), scenario.label())
                        })?;
                    println!(
                        "  {} run {i}: outage {} ms, heal outage {} ms, {}/{} requests failed",
                        scenario.label(),
                        ms(r.outage),
                        ms(r.heal_outage),
                        r.failed,
                        r.requests
                    );
                    series.runs.push(r);
                }
                all.push(series);
            }
        }
        if stack == BenchStack::HalbFast {
            if let Some(secs) = soak_secs {
                soaked = Some(run_soak(&lab, &config, secs).context("soak")?);
            }
        }
        drop(guard);
    }
    println!("\nVRRP failover, client-visible outage seen by user2 (longest gap between answers, {} ms sampling):\n", args.probe_interval_ms);
    print!("{}", table(&all));
    println!("\ntargets:");
    let targets = targets(&all, args.interval(), soaked.as_ref());
    print!("{}", report::targets(&targets));
    saved.rows = rows(&all);
    saved.set_targets(&targets);
    saved::save(&saved);
    println!("\nbench took {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Heals what is failed, forgets the clients' neighbour entries (every run starts with the
/// clients resolving the VIP afresh, and a client left pointing at a balancer that gave the
/// VIP up does not spoil the next run), waits for health and for every server up on both
/// haproxies.
pub fn restore(lab: &Lab, config: &LabConfig) -> Result<()> {
    for f in faults::failed(lab) {
        lab::heal(lab, &f)?;
    }
    for client in ["user", "user2"] {
        sys::ip_ns(&lab.ns(client), &["neigh", "flush", "dev", "eth0"])
            .with_context(|| format!("flushing {client}'s neighbour table"))?;
    }
    health::wait_healthy(lab, config.timers.settle_bound())?;
    for bal in &topo::BALANCERS {
        let ok = sys::wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
            kernel::haproxy_servers(lab, bal.name).is_ok_and(|m| {
                topo::SERVERS.iter().all(|(s, _)| m.get(*s).is_some_and(|v| v == "UP"))
            })
        });
        ensure!(ok, "haproxy on {} does not see every server up", bal.name);
    }
    Ok(())
}

/// Samples as CSV, with the fault and heal times (ms since the sampler started) on top.
#[must_use]
pub fn samples_csv(samples: &[sampler::Sample], fault_at: Duration, heal_at: Duration) -> String {
    let mut out = format!(
        "# fault_ms={:.3} heal_ms={:.3}\nstart_ms,end_ms,ok,via\n",
        fault_at.as_secs_f64() * 1e3,
        heal_at.as_secs_f64() * 1e3
    );
    for s in samples {
        let _ = writeln!(
            out,
            "{:.3},{:.3},{},{}",
            s.start.as_secs_f64() * 1e3,
            s.end.as_secs_f64() * 1e3,
            u8::from(s.ok),
            s.via.as_deref().unwrap_or("")
        );
    }
    out
}

fn measure(
    lab: &Lab,
    config: &LabConfig,
    scenario: Scenario,
    interval: Duration,
    save: Option<&std::path::Path>,
) -> Result<Run> {
    restore(lab, config)?;
    let (b1, b2) = (&topo::BALANCERS[0], &topo::BALANCERS[1]);
    let sampler = Sampler::start(&lab.ns("user2"), health::vip_addr(), interval, RUN_BOUND)?;
    std::thread::sleep(Duration::from_secs(1));
    ensure!(
        sampler.snapshot().iter().any(|s| s.ok),
        "user2 gets no answer from the VIP before the fault"
    );
    let fault_at = sampler.elapsed();
    scenario.apply(lab)?;
    ensure!(
        sampler.wait_for_via(fault_at, b2.int_ip, SETTLED, FAILOVER_TIMEOUT),
        "user2 not served through bal2 within {}s (VIP on [{}])",
        FAILOVER_TIMEOUT.as_secs(),
        kernel::vip_holders(lab).join(", ")
    );
    let heal_at = sampler.elapsed();
    lab::heal(lab, &scenario.fault()?)?;
    let bound = config.timers.settle_bound() + Duration::from_secs(20);
    let healed = sampler.wait_for_via(heal_at, b1.int_ip, SETTLED, bound)
        && sys::wait_until(bound, Duration::from_millis(100), || {
            kernel::vip_holders(lab) == [b1.name]
        });
    let end = sampler.elapsed();
    let samples = sampler.finish()?;
    if let Some(path) = save {
        std::fs::write(path, samples_csv(&samples, fault_at, heal_at))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let outage = outage::longest_gap(&samples, fault_at, heal_at)
        .context("no answer around the fault to measure from")?;
    let heal_outage = if healed {
        outage::longest_gap(&samples, heal_at, end)
            .context("no answer around the heal to measure from")?
    } else {
        // Not back: the gap so far, from the last answer (a lower bound of the outage).
        let last = samples.iter().filter(|s| s.ok).map(|s| s.end).max().unwrap_or(heal_at);
        println!(
            "  bal1 did not serve user2 again within {}s after the heal (VIP on [{}]); the run counts with a lower bound",
            bound.as_secs(),
            kernel::vip_holders(lab).join(", ")
        );
        end.saturating_sub(last)
    };
    let (failed, requests) = outage::failures(&samples, fault_at, heal_at);
    Ok(Run { outage, heal_outage, healed, failed, requests })
}

fn run_soak(lab: &Lab, config: &LabConfig, secs: u64) -> Result<SoakResult> {
    restore(lab, config)?;
    let threads = soak::cpus();
    println!("  soak: {secs} s, {threads} busy threads in {}, {} ...", lab.ns("user"), config.vrrp);
    let before = vrrp::halb_transition_counts(lab, config)?;
    let duration = Duration::from_secs(secs);
    let load = Load::start(&lab.ns("user"), threads, duration)?;
    let start = Instant::now();
    let (mut glitches, mut samples) = (0, 0);
    // Threads that stopped before the last second of the soak (they should all spin on).
    let mut fewest = threads;
    while start.elapsed() < duration {
        samples += 1;
        if kernel::vip_holders(lab) != [topo::BALANCERS[0].name] {
            glitches += 1;
        }
        if start.elapsed() + Duration::from_secs(1) < duration {
            fewest = fewest.min(load.running());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(load);
    let after = vrrp::halb_transition_counts(lab, config)?;
    let r = SoakResult {
        secs,
        threads,
        transitions: soak::delta(&before, &after),
        holder_glitches: glitches,
        holder_samples: samples,
    };
    println!(
        "  soak: {} transitions, VIP not on bal1 alone in {glitches}/{samples} samples{}",
        r.total_transitions(),
        if fewest < threads {
            format!(" ({} load threads ended early)", threads - fewest)
        } else {
            String::new()
        }
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn series(stack: BenchStack, scenario: Scenario, outages: &[u64]) -> Series {
        Series {
            stack,
            scenario,
            runs: outages
                .iter()
                .map(|&o| Run {
                    outage: ms_(o),
                    heal_outage: ms_(5),
                    healed: true,
                    failed: 3,
                    requests: 100,
                })
                .collect(),
        }
    }

    fn sample() -> Vec<Series> {
        vec![
            series(BenchStack::Keepalived, Scenario::Link, &[3600, 3620, 3610]),
            series(BenchStack::Keepalived, Scenario::Stop, &[640]),
            series(BenchStack::Halb, Scenario::Link, &[3700, 3790, 3650]),
            series(BenchStack::Halb, Scenario::Stop, &[700]),
            series(BenchStack::HalbFast, Scenario::Link, &[40, 120, 45]),
            series(BenchStack::HalbFast, Scenario::Stop, &[12]),
        ]
    }

    #[test]
    fn ratios_use_medians_against_keepalived() {
        let all = sample();
        let r = ratio(&all, BenchStack::Halb, Scenario::Link).unwrap();
        assert!((r - 3700.0 / 3610.0).abs() < 1e-9, "{r}");
        assert!(ratio(&all, BenchStack::Halb, Scenario::Kill).is_none());
    }

    #[test]
    fn table_rows() {
        let t = table(&sample());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 8, "{t}");
        assert!(
            lines[0].starts_with("stack                 | scenario            | runs |"),
            "{t}"
        );
        assert!(lines[2].contains("keepalived (v2, 1 s)  | link down (vswout1) |    3 |               3610 | 3600-3620 |"), "{t}");
        assert!(lines[2].ends_with("|           9/300 |         1 (ref)"), "{t}");
        assert!(lines[4].ends_with("1.025"), "{t}");
        assert!(lines[6].contains("halb fast (v3, 10 ms) | link down (vswout1) |    3 |                 45 |    40-120 |"), "{t}");
        assert!(lines[6].ends_with("0.012"), "{t}");
        let mut partly = series(BenchStack::HalbFast, Scenario::Link, &[40, 50]);
        partly.runs[1].healed = false;
        partly.runs[1].heal_outage = ms_(62_000);
        assert_eq!(partly.unhealed(), 1);
        let t = table(&[partly]);
        assert!(t.contains("| >=62000 (1 of 2 not back) |"), "{t}");
    }

    #[test]
    fn targets_are_decided_by_the_figures() {
        let soak = SoakResult {
            secs: 300,
            threads: 2,
            transitions: vec![("bal1", 0), ("bal2", 0)],
            holder_glitches: 0,
            holder_samples: 2990,
        };
        let t = targets(&sample(), ms_(5), Some(&soak));
        assert_eq!(t.len(), 6);
        // 3700 <= 3610 * 1.05 + 10 = 3800.5
        assert_eq!(t[0].met, Some(true), "{t:?}");
        assert!(t[0].figure.starts_with("median 3700 ms vs 3610 ms"), "{t:?}");
        assert_eq!(t[1].met, None, "no kill runs: {t:?}");
        // 700 > 640 * 1.05 + 10 = 682
        assert_eq!(t[2].met, Some(false), "{t:?}");
        // The worst fast link run (120 ms) misses 100 ms.
        assert_eq!(t[3].met, Some(false), "{t:?}");
        assert_eq!(t[3].figure, "worst 120 ms (median 45 ms)");
        assert_eq!(t[4].met, Some(true), "{t:?}");
        assert_eq!(t[5].met, Some(true), "{t:?}");
        assert!(t[5]
            .figure
            .starts_with("0 transitions in 300 s with 2 busy threads (bal1 0, bal2 0)"));
        let t = targets(&[], ms_(5), None);
        assert!(t.iter().all(|x| x.met.is_none()));
    }

    #[test]
    fn every_run_is_a_value_of_its_rows() {
        let rows = rows(&sample());
        assert_eq!(rows.len(), 6 * 4);
        let r = &rows[0];
        assert_eq!(
            (r.case.as_str(), r.stack.as_str()),
            ("link down (vswout1)", "keepalived (v2, 1 s)")
        );
        assert_eq!((r.metric.as_str(), r.unit.as_str(), r.median), ("outage", "ms", Some(3610.0)));
        assert_eq!(r.values, [3600.0, 3620.0, 3610.0]);
        assert_eq!(rows[2].values, [3.0, 3.0, 3.0]);
    }

    #[test]
    fn csv_of_samples() {
        let s = vec![
            sampler::Sample {
                start: ms_(1),
                end: ms_(2),
                via: Some("10.0.0.250".into()),
                ok: true,
            },
            sampler::Sample { start: ms_(6), end: ms_(306), via: None, ok: false },
        ];
        assert_eq!(
            samples_csv(&s, ms_(5), ms_(900)),
            "# fault_ms=5.000 heal_ms=900.000\nstart_ms,end_ms,ok,via\n1.000,2.000,1,10.0.0.250\n6.000,306.000,0,\n"
        );
    }

    #[test]
    fn stacks_map_to_lab_configs() {
        let k = BenchStack::Keepalived.config(StpTimers::Fast).unwrap();
        assert_eq!(k.stack, Stack::classic());
        assert_eq!(k.vrrp, VrrpTiming::default());
        let f = BenchStack::HalbFast.config(StpTimers::Fast).unwrap();
        assert_eq!(f.vrrp.advert_interval(), ms_(10));
        assert!(f.runs_daemon("host1") && f.runs_daemon("host2"));
        assert!(!BenchStack::Halb.config(StpTimers::Fast).unwrap().daemon);
    }

    #[test]
    fn cli() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: VrrpArgs,
        }
        let a = Cli::try_parse_from(["x"]).unwrap().args;
        assert_eq!(a.stacks, [BenchStack::Keepalived, BenchStack::Halb, BenchStack::HalbFast]);
        assert_eq!(a.scenarios, [Scenario::Link, Scenario::Kill, Scenario::Stop]);
        assert_eq!((a.repeat, a.soak_secs()), (3, None));
        let a =
            Cli::try_parse_from(["x", "--soak", "--stacks", "halb-fast", "--scenarios", "stop"])
                .unwrap()
                .args;
        assert_eq!(a.soak_secs(), Some(300));
        assert_eq!(a.stacks, [BenchStack::HalbFast]);
        let a = Cli::try_parse_from(["x", "--soak-secs", "20"]).unwrap().args;
        assert_eq!(a.soak_secs(), Some(20));
        assert!(Cli::try_parse_from(["x", "--repeat", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--stacks", "vrrpd"]).is_err());
        assert!(Cli::try_parse_from(["x", "--probe-interval-ms", "0"]).is_err());
    }
}
