//! `cargo xtask bench stp`: how long a client loses the service when the spanning tree
//! re-converges, with kernel STP and with halb's STP and RSTP, and whether a
//! frame was ever duplicated (a loop).
//!
//! For each stack a lab comes up (prefix `hbench-stp` unless told otherwise, standard
//! 802.1D timers: hello 2 s, max age 20 s, forward delay 15 s) with the STP of all four
//! external bridges by the stack, and the rest classic (keepalived, haproxy, the kernel's
//! vxlan): the service path is the lab's reference one, so the figures differ by the
//! spanning tree alone. Then each scenario runs `--repeat` times:
//!
//! - `link`: `lab fail link swout1 swout2`. That link carries user's traffic (user -
//!   swout1 - swout2 - vswout1 - bal1); without it swout1 must reach the root through
//!   vswout1, whose port towards swout1 was blocked and has to start forwarding.
//! - `bridge`: `lab fail bridge swout2`, the root bridge, the only switch on user's path
//!   whose loss leaves user a path (swout1 is user's only switch; vswout1 is bal1's, its
//!   loss is a VRRP failover, `bench vrrp`). swout1 becomes root, vswout1 and vswout2 move
//!   their root ports to swout1, and the ports that blocked towards swout1 open.
//!
//! After the fault, the run waits until the tree is the 802.1D prediction for it (every
//! port forwarding or blocking as predicted, the failed bridge left out) and user gets
//! answers again; then it heals and waits for the original tree and answers again.
//!
//! user requests `GET /` from the VIP through bal1's haproxy every `--probe-interval-ms`
//! (open loop, see [`super::sampler`]). Outage = the longest gap between successful answers
//! from the fault until the heal; heal outage = the same from the heal until the end of the
//! run (in 802.1D the old path blocks at once when a link comes back while the new one
//! listens and learns, so healing costs an outage too). Meanwhile user pings the VIP every
//! 10 ms; a duplicated reply means a loop ([`super::stp_loops`]).

use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, ensure, Context, Result};
use clap::Args;

use super::outage::{self, ms};
use super::report;
use super::results::BenchResults;
use super::sampler::{self, Sample, Sampler};
use super::saved;
use super::stp_loops::{LoopWatch, PING_INTERVAL};
pub use super::stp_plan::{BenchStack, Scenario};
use super::stp_results::{rows, table, targets, Run, Series};
use super::vrrp::{restore, LabDown};
use crate::lab::{
    self, faults, health, kernel, stp, sys, topo, up, Fault, Lab, LabConfig, StpTimers,
};
use crate::progress::Progress;

/// Consecutive answers that end a phase.
const SETTLED: usize = 5;
/// The client that probes, on swout1.
const CLIENT: &str = "user";
/// Time allowed, on top of the timers' settle bound, for answers after the tree settled.
const ANSWER_SLACK: Duration = Duration::from_secs(20);

/// Spanning-tree re-convergence as a client sees it (root; brings up its own lab per stack,
/// removes it).
#[derive(Args, Debug)]
pub struct StpArgs {
    /// Stacks to measure, in order (one lab each).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "kernel,halb-stp,halb-rstp")]
    pub stacks: Vec<BenchStack>,
    /// Scenarios to run on each stack.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "link,bridge")]
    pub scenarios: Vec<Scenario>,
    /// Runs of each scenario per stack (the table shows median, min and max). An 802.1D run
    /// (kernel, halb-stp) takes about a minute and a half with standard timers.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,
    /// Milliseconds between the starts of two requests of user (the outage's resolution).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub probe_interval_ms: u64,
    /// STP timers of every bridge (the targets are about standard timers).
    #[arg(long, value_enum, default_value = "standard")]
    pub stp_timers: StpTimers,
    /// Lab prefix of the bench labs (namespaces PREFIX-<node>).
    #[arg(long, default_value = "hbench-stp")]
    pub prefix: String,
}

impl StpArgs {
    fn interval(&self) -> Duration {
        Duration::from_millis(self.probe_interval_ms)
    }
}

/// `cargo xtask bench stp`
pub fn run(args: &StpArgs) -> Result<()> {
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
    if stacks.iter().any(|s| *s != BenchStack::Kernel) {
        crate::daemon_build::build(crate::daemon_build::Profile::Debug, "bench stp")?;
    }
    let runs = u32::try_from(scenarios.len()).unwrap_or(u32::MAX).saturating_mul(args.repeat);
    let estimate: Duration = stacks
        .iter()
        .map(|s| s.run_estimate(args.stp_timers) * runs + Duration::from_mins(1))
        .sum();
    let started = Instant::now();
    let mut saved = BenchResults::new(
        "stp",
        SystemTime::now(),
        &[
            ("stacks", stacks.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ")),
            ("scenarios", scenarios.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ")),
            ("repeat", args.repeat.to_string()),
            ("probe_interval_ms", args.probe_interval_ms.to_string()),
            ("stp_timers", args.stp_timers.name().to_string()),
        ],
    );
    // One estimate per run, in the order they run.
    let mut progress = Progress::with_estimates(
        stacks
            .iter()
            .flat_map(|s| std::iter::repeat_n(s.run_estimate(args.stp_timers), runs as usize))
            .collect(),
    );
    println!(
        "bench stp: stacks {}; scenarios {}; {} run(s) each; {} timers; {CLIENT} -> http://{} every {} ms ({} ms timeouts), ping every {} ms for duplicates; expect about {} min",
        stacks.iter().map(|s| s.label()).collect::<Vec<_>>().join(", "),
        scenarios.iter().map(|s| s.label()).collect::<Vec<_>>().join(", "),
        args.repeat,
        args.stp_timers.name(),
        health::vip_addr(),
        args.probe_interval_ms,
        sampler::REQUEST_TIMEOUT.as_millis(),
        PING_INTERVAL.as_millis(),
        estimate.as_secs().div_ceil(60)
    );
    let mut all = Vec::new();
    for &stack in &stacks {
        let config = stack.config(args.stp_timers)?;
        println!("\n== {} ==", stack.label());
        let guard = LabDown(&lab);
        up::up(&lab, &config)
            .with_context(|| format!("bringing the lab up for {}", stack.label()))?;
        for &scenario in &scenarios {
            let mut series = Series { stack, scenario, runs: Vec::new() };
            for i in 1..=args.repeat {
                progress.start(&format!("{}, {}, run {i}", stack.label(), scenario.label()));
                let r = measure(&lab, &config, scenario, args.interval()).with_context(|| {
                    format!("{}, {} (run {i})", stack.label(), scenario.label())
                })?;
                println!(
                    "  {} run {i}: outage {} ms, heal outage {} ms, {}/{} requests failed, {} duplicated of {} ping replies",
                    scenario.label(),
                    ms(r.outage),
                    ms(r.heal_outage),
                    r.failed,
                    r.requests,
                    r.echoes.duplicates,
                    r.echoes.replies
                );
                series.runs.push(r);
            }
            all.push(series);
        }
        drop(guard);
    }
    println!(
        "\nSTP re-convergence, client-visible outage seen by {CLIENT} (longest gap between answers, {} ms sampling; {} timers):\n",
        args.probe_interval_ms,
        args.stp_timers.name()
    );
    print!("{}", table(&all));
    println!("\ntargets:");
    let targets = targets(&all);
    print!("{}", report::targets(&targets));
    saved.rows = rows(&all);
    saved.set_targets(&targets);
    saved::save(&saved);
    println!("\nbench took {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Differences between the live tree and the 802.1D prediction with `failed` applied,
/// leaving out failed bridges (a bridge that is down has no tree to compare).
fn tree_diffs(lab: &Lab, failed: &[Fault]) -> Result<Vec<String>> {
    let down: Vec<&str> = failed
        .iter()
        .filter_map(|f| if let Fault::Bridge(b) = f { Some(*b) } else { None })
        .collect();
    let mut states = kernel::read_stp(lab)?;
    states.retain(|s| !down.contains(&s.name.as_str()));
    let inactive = faults::inactive_ports(failed);
    let tree = stp::predict(&kernel::net_from(&states, &inactive))?;
    Ok(kernel::compare(&states, &tree, &inactive))
}

/// The last `k` requests started at or after `since` all got answers.
fn answering(samples: &[Sample], since: Duration, k: usize) -> bool {
    let after: Vec<&Sample> = samples.iter().filter(|s| s.start >= since).collect();
    after.len() >= k && after[after.len() - k..].iter().all(|s| s.ok)
}

/// Waits until the tree is the prediction for `failed`, then until the client answers again
/// from that moment on.
fn settle(lab: &Lab, sampler: &Sampler, failed: &[Fault], bound: Duration) -> Result<()> {
    let mut why = String::new();
    let converged =
        sys::wait_until(bound, Duration::from_millis(200), || match tree_diffs(lab, failed) {
            Ok(d) if d.is_empty() => true,
            Ok(d) => {
                why = d.join("; ");
                false
            }
            Err(e) => {
                why = format!("{e:#}");
                false
            }
        });
    ensure!(converged, "the tree did not settle within {}s: {why}", bound.as_secs());
    let since = sampler.elapsed();
    let back = sys::wait_until(ANSWER_SLACK, Duration::from_millis(50), || {
        answering(&sampler.snapshot(), since, SETTLED)
    });
    ensure!(
        back,
        "{CLIENT} gets no answers from the VIP within {}s of the tree settling (VIP on [{}])",
        ANSWER_SLACK.as_secs(),
        kernel::vip_holders(lab).join(", ")
    );
    Ok(())
}

fn measure(lab: &Lab, config: &LabConfig, scenario: Scenario, interval: Duration) -> Result<Run> {
    restore(lab, config)?;
    let fault = scenario.fault()?;
    let bound = config.timers.settle_bound();
    let run_bound = 2 * (bound + ANSWER_SLACK) + Duration::from_secs(10);
    let ns = lab.ns(CLIENT);
    let watch = LoopWatch::start(&ns, topo::VIP, run_bound, &lab.log(CLIENT, "bench-ping"))?;
    let sampler = Sampler::start(&ns, health::vip_addr(), interval, run_bound)?;
    std::thread::sleep(Duration::from_secs(1));
    ensure!(
        sampler.snapshot().iter().any(|s| s.ok),
        "{CLIENT} gets no answer from the VIP before the fault"
    );
    let fault_at = sampler.elapsed();
    lab::fail(lab, &fault)?;
    settle(lab, &sampler, std::slice::from_ref(&fault), bound)
        .with_context(|| format!("after failing {fault}"))?;
    let heal_at = sampler.elapsed();
    lab::heal(lab, &fault)?;
    settle(lab, &sampler, &[], bound).with_context(|| format!("after healing {fault}"))?;
    let end = sampler.elapsed();
    let samples = sampler.finish()?;
    let echoes = watch.finish()?;
    let outage = outage::longest_gap(&samples, fault_at, heal_at)
        .context("no answer around the fault to measure from")?;
    let heal_outage = outage::longest_gap(&samples, heal_at, end)
        .context("no answer around the heal to measure from")?;
    let (failed, requests) = outage::failures(&samples, fault_at, end);
    Ok(Run { outage, heal_outage, failed, requests, echoes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answering_needs_the_last_k_requests_after_since() {
        let s = |start: u64, ok: bool| Sample {
            start: Duration::from_millis(start),
            end: Duration::from_millis(start + 1),
            via: ok.then(|| "10.0.0.250".to_string()),
            ok,
        };
        let samples = vec![s(0, true), s(5, false), s(10, true), s(15, true)];
        assert!(answering(&samples, Duration::from_millis(6), 2));
        assert!(!answering(&samples, Duration::from_millis(0), 3));
        assert!(!answering(&samples, Duration::from_millis(12), 2), "only one after 12 ms");
    }

    #[test]
    fn cli() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: StpArgs,
        }
        let a = Cli::try_parse_from(["x"]).unwrap().args;
        assert_eq!(a.stacks, [BenchStack::Kernel, BenchStack::HalbStp, BenchStack::HalbRstp]);
        assert_eq!(a.scenarios, [Scenario::Link, Scenario::Bridge]);
        assert_eq!((a.repeat, a.probe_interval_ms, a.stp_timers), (2, 5, StpTimers::Standard));
        assert_eq!(a.prefix, "hbench-stp");
        let a = Cli::try_parse_from(["x", "--stacks", "halb-rstp", "--scenarios", "link"])
            .unwrap()
            .args;
        assert_eq!(
            (a.stacks.as_slice(), a.scenarios.as_slice()),
            (&[BenchStack::HalbRstp][..], &[Scenario::Link][..])
        );
        assert!(Cli::try_parse_from(["x", "--repeat", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--stacks", "mstp"]).is_err());
    }
}
