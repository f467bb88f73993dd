//! What `bench stp` measures: the stacks that run the spanning tree ([`BenchStack`], each
//! with its lab config) and the faults ([`Scenario`]). Shared by the driver (`bench::stp`)
//! and the results (`bench::stp_results`), which depend on it and not on each other.

use std::fmt;
use std::time::Duration;

use anyhow::Result;
use clap::ValueEnum;

use crate::lab::{plan::StackSpec, topo, Fault, LabConfig, Stack, StpProtocol, StpTimers};

/// Who runs the spanning tree of the four external bridges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum BenchStack {
    /// The kernel bridges' STP (802.1D-1998).
    Kernel,
    /// halb's daemons in STP mode (802.1D-1998 BPDUs and ageing), same timers.
    HalbStp,
    /// halb's daemons in RSTP mode (802.1D-2004), same timers.
    HalbRstp,
}

impl BenchStack {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            BenchStack::Kernel => "kernel STP",
            BenchStack::HalbStp => "halb STP",
            BenchStack::HalbRstp => "halb RSTP",
        }
    }

    /// `lab up --stp kernel|halb --stp-protocol stp|rstp --stp-timers T`, the rest classic.
    pub fn config(self, timers: StpTimers) -> Result<LabConfig> {
        let (stp, protocol) = match self {
            BenchStack::Kernel => ("kernel", StpProtocol::Stp),
            BenchStack::HalbStp => ("halb", StpProtocol::Stp),
            BenchStack::HalbRstp => ("halb", StpProtocol::Rstp),
        };
        let stack = Stack::parse(&StackSpec { stp: Some(stp), ..StackSpec::default() })?;
        let mut config = LabConfig::new(stack, timers, false);
        config.stp_protocol = protocol;
        Ok(config)
    }

    /// Rough length of one run: 802.1D waits for max age and twice the forward delay after
    /// the fault and twice the forward delay after the heal; RSTP needs seconds.
    #[must_use]
    pub fn run_estimate(self, timers: StpTimers) -> Duration {
        let (_, max_age, fwd) = timers.seconds();
        match self {
            BenchStack::Kernel | BenchStack::HalbStp => {
                Duration::from_secs(u64::from(max_age + 4 * fwd) + 15)
            }
            BenchStack::HalbRstp => Duration::from_secs(15),
        }
    }
}

/// What fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Scenario {
    /// `lab fail link swout1 swout2`: the forwarding link on user's path.
    Link,
    /// `lab fail bridge swout2`: the root bridge, on user's path.
    Bridge,
}

impl Scenario {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Link => "link down (swout1-swout2)",
            Scenario::Bridge => "bridge down (swout2, root)",
        }
    }

    pub fn fault(self) -> Result<Fault> {
        match self {
            Scenario::Link => Fault::link("swout1", "swout2"),
            Scenario::Bridge => Fault::bridge(topo::ROOT_BRIDGE),
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_map_to_lab_configs() {
        use crate::lab::plan::{Component, Impl};
        let k = BenchStack::Kernel.config(StpTimers::Standard).unwrap();
        assert_eq!(k.stack, Stack::classic());
        assert_eq!(k.timers, StpTimers::Standard);
        for (stack, protocol) in
            [(BenchStack::HalbStp, StpProtocol::Stp), (BenchStack::HalbRstp, StpProtocol::Rstp)]
        {
            let c = stack.config(StpTimers::Standard).unwrap();
            assert_eq!(c.stp_protocol, protocol);
            for br in topo::stp_bridges() {
                assert_eq!(c.stack.get(Component::Stp, br.name), Impl::Halb, "{}", br.name);
            }
            // Only STP changes: the service path stays classic.
            assert_eq!(c.stack.get(Component::Vrrp, "bal1"), Impl::Classic);
            assert_eq!(c.stack.get(Component::Proxy, "bal2"), Impl::Classic);
            assert!(c.runs_daemon("swout1") && c.runs_daemon("host1"));
        }
    }

    #[test]
    fn scenarios_fail_the_forwarding_link_and_the_root() {
        let Fault::Link(i) = Scenario::Link.fault().unwrap() else { panic!("not a link") };
        assert_eq!(topo::CABLES[i].short(), "swout1-swout2");
        assert_eq!(Scenario::Bridge.fault().unwrap(), Fault::Bridge("swout2"));
    }

    #[test]
    fn estimates() {
        assert_eq!(BenchStack::Kernel.run_estimate(StpTimers::Standard), Duration::from_secs(95));
        assert!(BenchStack::HalbRstp.run_estimate(StpTimers::Standard) < Duration::from_secs(20));
    }
}
