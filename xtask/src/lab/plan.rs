//! Which implementation runs each component of the scenario: the typed `Stack` plan.
//!
//! `--stack classic|halb` sets the default; `--stp`, `--vrrp`, `--proxy`, `--vxlan` override
//! it, either for every instance (`--vrrp keepalived`) or per instance
//! (`--vrrp bal1=halb,bal2=keepalived`). The plan is pure data; `lab up` refuses plans that
//! need a halb component that does not exist yet, before it creates anything.
//!
//! [`VrrpTiming`] (`--vrrp-version`, `--vrrp-advert-int`) is the protocol version and advert
//! interval every VRRP instance of the lab uses, whichever implementation runs it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};

use super::topo;

/// The four replaceable components of the classic stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    Stp,
    Vrrp,
    Proxy,
    Vxlan,
}

impl Component {
    pub const ALL: [Component; 4] =
        [Component::Stp, Component::Vrrp, Component::Proxy, Component::Vxlan];

    /// The command-line flag (and plan-file key) of the component.
    #[must_use]
    pub fn flag(self) -> &'static str {
        match self {
            Component::Stp => "stp",
            Component::Vrrp => "vrrp",
            Component::Proxy => "proxy",
            Component::Vxlan => "vxlan",
        }
    }

    /// The name of the classic implementation on the command line.
    #[must_use]
    pub fn classic_name(self) -> &'static str {
        match self {
            Component::Stp | Component::Vxlan => "kernel",
            Component::Vrrp => "keepalived",
            Component::Proxy => "haproxy",
        }
    }

    /// The node whose processes run an instance: a balancer's VRRP and proxy, a host's VXLAN,
    /// a bridge's STP run where the balancer or bridge lives.
    #[must_use]
    pub fn node_of(self, instance: &str) -> Option<&'static str> {
        match self {
            Component::Vrrp | Component::Proxy => topo::balancer(instance).map(|b| b.name),
            Component::Vxlan => topo::HOSTS.iter().copied().find(|h| *h == instance),
            Component::Stp => topo::bridge(instance).map(|b| b.node),
        }
    }

    /// The instances a per-instance spec may name.
    #[must_use]
    pub fn instances(self) -> &'static [&'static str] {
        match self {
            Component::Stp => &["swout1", "swout2", "vswout1", "vswout2"],
            Component::Vrrp | Component::Proxy => &["bal1", "bal2"],
            Component::Vxlan => &["host1", "host2"],
        }
    }

    /// Human name and the issue tracking halb's implementation.
    fn halb_status(self) -> (&'static str, u32) {
        match self {
            Component::Stp => ("STP", 5),
            Component::Vrrp => ("VRRP", 4),
            Component::Proxy => ("L7 proxy", 6),
            Component::Vxlan => ("VXLAN", 3),
        }
    }
}

/// Classic tool or halb for one component instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    Classic,
    Halb,
}

impl Impl {
    fn parse(component: Component, s: &str) -> Result<Self> {
        if s == component.classic_name() {
            Ok(Impl::Classic)
        } else if s == "halb" {
            Ok(Impl::Halb)
        } else {
            bail!("--{} {s:?}: expected {} or halb", component.flag(), component.classic_name())
        }
    }

    #[must_use]
    pub fn name(self, component: Component) -> &'static str {
        match self {
            Impl::Classic => component.classic_name(),
            Impl::Halb => "halb",
        }
    }
}

/// `--stack`: the default of all four components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StackKind {
    Classic,
    Halb,
}

/// STP timers of the four STP bridges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StpTimers {
    /// 802.1D defaults: hello 2 s, max age 20 s, forward delay 15 s.
    Standard,
    /// For tests: hello 1 s, max age 6 s, forward delay 4 s.
    Fast,
}

impl StpTimers {
    /// (hello, max age, forward delay) in seconds.
    #[must_use]
    pub fn seconds(self) -> (u32, u32, u32) {
        match self {
            StpTimers::Standard => (2, 20, 15),
            StpTimers::Fast => (1, 6, 4),
        }
    }

    /// Upper bound for the tree to settle after a change: a stale root's information ages out
    /// (max age), then a port walks listening and learning (2 x forward delay); doubled,
    /// plus slack for BPDU timing.
    #[must_use]
    pub fn settle_bound(self) -> std::time::Duration {
        let (hello, max_age, fwd) = self.seconds();
        std::time::Duration::from_secs(u64::from(2 * (max_age + 2 * fwd) + 4 * hello + 10))
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StpTimers::Standard => "standard",
            StpTimers::Fast => "fast",
        }
    }
}

impl FromStr for StpTimers {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "standard" => Ok(StpTimers::Standard),
            "fast" => Ok(StpTimers::Fast),
            _ => bail!("unknown STP timers {s:?} (standard|fast)"),
        }
    }
}

/// The resolved plan: one implementation per component instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    choices: BTreeMap<(Component, &'static str), Impl>,
}

/// The raw options as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct StackSpec<'a> {
    pub stack: Option<StackKind>,
    pub stp: Option<&'a str>,
    pub vrrp: Option<&'a str>,
    pub proxy: Option<&'a str>,
    pub vxlan: Option<&'a str>,
}

impl Stack {
    /// Everything classic.
    #[must_use]
    pub fn classic() -> Self {
        Self::uniform(Impl::Classic)
    }

    fn uniform(imp: Impl) -> Self {
        let mut choices = BTreeMap::new();
        for c in Component::ALL {
            for &i in c.instances() {
                choices.insert((c, i), imp);
            }
        }
        Stack { choices }
    }

    pub fn parse(spec: &StackSpec<'_>) -> Result<Self> {
        let default = match spec.stack.unwrap_or(StackKind::Classic) {
            StackKind::Classic => Impl::Classic,
            StackKind::Halb => Impl::Halb,
        };
        let mut stack = Self::uniform(default);
        let per = [
            (Component::Stp, spec.stp),
            (Component::Vrrp, spec.vrrp),
            (Component::Proxy, spec.proxy),
            (Component::Vxlan, spec.vxlan),
        ];
        for (component, text) in per {
            if let Some(text) = text {
                stack.apply(component, text)?;
            }
        }
        Ok(stack)
    }

    /// Applies one component's spec: `IMPL` or `inst=IMPL,inst=IMPL`.
    fn apply(&mut self, component: Component, text: &str) -> Result<()> {
        let text = text.trim();
        if text.is_empty() {
            bail!("--{} needs a value", component.flag());
        }
        if !text.contains('=') {
            let imp = Impl::parse(component, text)?;
            for &i in component.instances() {
                self.choices.insert((component, i), imp);
            }
            return Ok(());
        }
        let mut seen = Vec::new();
        for item in text.split(',') {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| anyhow!("--{} {item:?}: expected NAME=IMPL", component.flag()))?;
            let (key, value) = (key.trim(), value.trim());
            let inst =
                component.instances().iter().find(|&&i| i == key).copied().ok_or_else(|| {
                    anyhow!(
                        "--{}: unknown instance {key:?} (expected one of {})",
                        component.flag(),
                        component.instances().join(", ")
                    )
                })?;
            if seen.contains(&inst) {
                bail!("--{}: {inst} given twice", component.flag());
            }
            seen.push(inst);
            self.choices.insert((component, inst), Impl::parse(component, value)?);
        }
        Ok(())
    }

    #[must_use]
    pub fn get(&self, component: Component, instance: &str) -> Impl {
        self.choices
            .iter()
            .find(|((c, i), _)| *c == component && *i == instance)
            .map_or(Impl::Classic, |(_, imp)| *imp)
    }

    /// Fails, naming every missing piece, when the plan needs a halb component that does not
    /// exist yet. Called before anything is created.
    pub fn ensure_implemented(&self) -> Result<()> {
        let mut missing = Vec::new();
        for c in Component::ALL {
            let halb: Vec<&str> =
                c.instances().iter().copied().filter(|i| self.get(c, i) == Impl::Halb).collect();
            if !halb.is_empty() && !halb_implemented(c) {
                let (name, issue) = c.halb_status();
                missing.push(format!(
                    "halb's {name} is not implemented yet (issue #{issue}); use --{} {} (asked for {})",
                    c.flag(),
                    c.classic_name(),
                    halb.join(", ")
                ));
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        // `--stack halb` asks for all four: say how to get every halb component that exists.
        let absent: Vec<Component> =
            Component::ALL.into_iter().filter(|c| !halb_implemented(*c)).collect();
        let everything = Component::ALL
            .iter()
            .all(|c| c.instances().iter().all(|i| self.get(*c, i) == Impl::Halb));
        if everything {
            let flags: Vec<String> =
                absent.iter().map(|c| format!("--{} {}", c.flag(), c.classic_name())).collect();
            missing.push(format!("for everything else on halb: --stack halb {}", flags.join(" ")));
        }
        bail!("{}", missing.join("\n"))
    }

    /// `stp.swout1=kernel` lines, for the run dir.
    #[must_use]
    pub fn to_lines(&self) -> Vec<String> {
        self.choices
            .iter()
            .map(|((c, i), imp)| format!("{}.{i}={}", c.flag(), imp.name(*c)))
            .collect()
    }

    pub fn from_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Result<Self> {
        let mut stack = Self::classic();
        for line in lines {
            let (key, value) =
                line.split_once('=').with_context(|| format!("bad plan line {line:?}"))?;
            let (flag, inst) =
                key.split_once('.').with_context(|| format!("bad plan key {key:?}"))?;
            let component = Component::ALL
                .into_iter()
                .find(|c| c.flag() == flag)
                .with_context(|| format!("unknown component {flag:?}"))?;
            stack.apply(component, &format!("{inst}={value}"))?;
        }
        Ok(stack)
    }
}

/// Whether halb ships an implementation of the component, one line each: the gate every
/// plan passes before `lab up` creates anything. VRRP and the proxy run in the balancer's
/// host daemon (`[[balancer.vrrp]]`, `[balancer.proxy]`), VXLAN in the host's
/// (`[host.vxlan]`), STP in the daemon of the bridge's node (`[[host.bridge]]`: a host's
/// own daemon for vswout1/vswout2, a switch-only daemon for swout1/swout2); see
/// `configs::halb::config_toml`.
fn halb_implemented(component: Component) -> bool {
    match component {
        Component::Vrrp | Component::Proxy | Component::Vxlan | Component::Stp => true,
    }
}

/// `--stp-protocol`: what halb's STP bridges speak. By default RSTP (802.1D-2004, tens of
/// milliseconds to re-converge) when every external bridge runs halb, and STP
/// (802.1D-1998) as soon as a kernel bridge takes part, so the tree converges the way the
/// kernel's does and on the lab's 802.1D prediction. `Default` (STP) is what a run dir
/// written before the protocol was recorded meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StpProtocol {
    #[default]
    Stp,
    Rstp,
}

impl StpProtocol {
    /// What halb's bridges speak when `--stp-protocol` is not given.
    #[must_use]
    pub fn default_for(stack: &Stack) -> Self {
        if topo::stp_bridges().all(|b| stack.get(Component::Stp, b.name) == Impl::Halb) {
            StpProtocol::Rstp
        } else {
            StpProtocol::Stp
        }
    }

    /// Why [`StpProtocol::default_for`] chose what it did, for `lab up` and `lab status`.
    #[must_use]
    pub fn default_reason(self) -> &'static str {
        match self {
            StpProtocol::Rstp => "every bridge runs halb",
            StpProtocol::Stp => "a kernel bridge takes part",
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StpProtocol::Stp => "stp",
            StpProtocol::Rstp => "rstp",
        }
    }
}

impl FromStr for StpProtocol {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "stp" => Ok(StpProtocol::Stp),
            "rstp" => Ok(StpProtocol::Rstp),
            _ => bail!("unknown STP protocol {s:?} (stp|rstp)"),
        }
    }
}

impl Stack {
    /// Whether some halb component runs in `host`'s daemon: the node's own (VXLAN, STP of
    /// its bridges; a switch has only STP) and its balancers' (VRRP, proxy: the daemon
    /// serves the balancers of its host).
    #[must_use]
    pub fn halb_on_host(&self, host: &str) -> bool {
        self.choices.iter().any(|((c, i), imp)| {
            *imp == Impl::Halb
                && match *c {
                    Component::Vrrp | Component::Proxy => {
                        topo::balancer(i).is_some_and(|b| b.host == host)
                    }
                    Component::Stp | Component::Vxlan => c.node_of(i) == Some(host),
                }
        })
    }
}

/// Shortest and longest `VRRPv3` advert interval, in centiseconds (RFC 5798: 12-bit field).
const V3_ADVERT_CS: std::ops::RangeInclusive<u32> = 1..=4095;
/// `VRRPv2` advert interval in whole seconds (RFC 3768: 8-bit field).
const V2_ADVERT_S: std::ops::RangeInclusive<u32> = 1..=255;

/// `--vrrp-version` and `--vrrp-advert-int`: what every VRRP instance of the lab speaks,
/// keepalived's and halb's alike. Defaults are keepalived's: version 2, one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VrrpTiming {
    version: u8,
    /// Advert interval in centiseconds (the unit of the `VRRPv3` field).
    advert_cs: u32,
}

impl Default for VrrpTiming {
    fn default() -> Self {
        VrrpTiming { version: 2, advert_cs: 100 }
    }
}

impl VrrpTiming {
    /// Validates the pair as halb's config and keepalived 2.2.7 do: v2 takes whole seconds
    /// 1-255, v3 0.01-40.95 s in 0.01 s steps.
    pub fn new(version: u8, advert_int: &str) -> Result<Self> {
        let advert_cs = parse_centiseconds(advert_int)
            .with_context(|| format!("--vrrp-advert-int {advert_int:?}"))?;
        match version {
            2 => {
                if advert_cs % 100 != 0 || !V2_ADVERT_S.contains(&(advert_cs / 100)) {
                    bail!("--vrrp-advert-int {advert_int}: VRRPv2 takes whole seconds 1-255 (use --vrrp-version 3 for shorter intervals)");
                }
            }
            3 => {
                if !V3_ADVERT_CS.contains(&advert_cs) {
                    bail!("--vrrp-advert-int {advert_int}: VRRPv3 takes 0.01-40.95 seconds");
                }
            }
            v => bail!("--vrrp-version {v}: expected 2 or 3"),
        }
        Ok(VrrpTiming { version, advert_cs })
    }

    #[must_use]
    pub fn version(self) -> u8 {
        self.version
    }

    #[must_use]
    pub fn advert_interval(self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.advert_cs) * 10)
    }

    /// Seconds as keepalived and halb's TOML write them: `1`, `0.01`, `2.5`.
    #[must_use]
    pub fn advert_int_text(self) -> String {
        let (s, cs) = (self.advert_cs / 100, self.advert_cs % 100);
        match cs {
            0 => s.to_string(),
            cs if cs % 10 == 0 => format!("{s}.{}", cs / 10),
            cs => format!("{s}.{cs:02}"),
        }
    }
}

impl fmt::Display for VrrpTiming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRRPv{} advert {}s", self.version, self.advert_int_text())
    }
}

/// `1`, `0.01`, `2.5` -> centiseconds; more than two decimals, signs and exponents are errors.
fn parse_centiseconds(text: &str) -> Result<u32> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(frac.is_empty() || digits(frac)) || text.ends_with('.') {
        bail!("expected seconds such as 1 or 0.01");
    }
    if frac.len() > 2 {
        bail!("at most two decimals (centiseconds)");
    }
    let whole: u32 = whole.parse().context("seconds out of range")?;
    let frac: u32 = format!("{frac:0<2}").parse().context("bad fraction")?;
    whole.checked_mul(100).and_then(|w| w.checked_add(frac)).context("seconds out of range")
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for c in Component::ALL {
            let imps: Vec<Impl> = c.instances().iter().map(|i| self.get(c, i)).collect();
            if imps.iter().all(|&x| x == imps[0]) {
                parts.push(format!("{}={}", c.flag(), imps[0].name(c)));
            } else {
                let each: Vec<String> = c
                    .instances()
                    .iter()
                    .map(|i| format!("{i}:{}", self.get(c, i).name(c)))
                    .collect();
                parts.push(format!("{}=[{}]", c.flag(), each.join(" ")));
            }
        }
        write!(f, "{}", parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>() -> StackSpec<'a> {
        StackSpec::default()
    }

    #[test]
    fn default_is_classic_and_implemented() {
        let s = Stack::parse(&spec()).unwrap();
        assert_eq!(s, Stack::classic());
        assert_eq!(s.get(Component::Vrrp, "bal2"), Impl::Classic);
        s.ensure_implemented().unwrap();
        assert_eq!(s.to_string(), "stp=kernel vrrp=keepalived proxy=haproxy vxlan=kernel");
    }

    #[test]
    fn stack_halb_with_overrides() {
        let s = Stack::parse(&StackSpec {
            stack: Some(StackKind::Halb),
            proxy: Some("haproxy"),
            ..spec()
        })
        .unwrap();
        assert_eq!(s.get(Component::Stp, "vswout2"), Impl::Halb);
        assert_eq!(s.get(Component::Proxy, "bal1"), Impl::Classic);
        s.ensure_implemented().unwrap();
        assert_eq!(s.to_string(), "stp=halb vrrp=halb proxy=haproxy vxlan=halb");
    }

    #[test]
    fn stack_halb_selects_halb_stp_and_keeps_the_kernel_on_request() {
        let s = Stack::parse(&StackSpec { stack: Some(StackKind::Halb), ..spec() }).unwrap();
        s.ensure_implemented().unwrap();
        assert_eq!(s.to_string(), "stp=halb vrrp=halb proxy=halb vxlan=halb");
        // Switches run a daemon of their own for their bridge.
        assert!(s.halb_on_host("swout1") && s.halb_on_host("swout2"));
        let s = Stack::parse(&StackSpec {
            stack: Some(StackKind::Halb),
            stp: Some("kernel"),
            ..spec()
        })
        .unwrap();
        s.ensure_implemented().unwrap();
        assert_eq!(s.to_string(), "stp=kernel vrrp=halb proxy=halb vxlan=halb");
        assert!(s.halb_on_host("host1") && s.halb_on_host("host2"));
        assert!(!s.halb_on_host("swout1") && !s.halb_on_host("swout2"));
    }

    #[test]
    fn halb_proxy_and_vxlan_per_node() {
        let s = Stack::parse(&StackSpec {
            proxy: Some("bal1=halb,bal2=haproxy"),
            vxlan: Some("host1=halb,host2=kernel"),
            vrrp: Some("halb"),
            ..spec()
        })
        .unwrap();
        s.ensure_implemented().unwrap();
        assert_eq!(s.get(Component::Proxy, "bal1"), Impl::Halb);
        assert_eq!(s.get(Component::Proxy, "bal2"), Impl::Classic);
        assert_eq!(s.get(Component::Vxlan, "host1"), Impl::Halb);
        assert_eq!(s.get(Component::Vxlan, "host2"), Impl::Classic);
        assert_eq!(
            s.to_string(),
            "stp=kernel vrrp=halb proxy=[bal1:halb bal2:haproxy] vxlan=[host1:halb host2:kernel]"
        );
        // The proxy of a balancer and the VXLAN of a host each bring their host's daemon.
        let only_proxy = Stack::parse(&StackSpec { proxy: Some("bal2=halb"), ..spec() }).unwrap();
        assert!(only_proxy.halb_on_host("host2") && !only_proxy.halb_on_host("host1"));
        let only_vxlan = Stack::parse(&StackSpec { vxlan: Some("host1=halb"), ..spec() }).unwrap();
        assert!(only_vxlan.halb_on_host("host1") && !only_vxlan.halb_on_host("host2"));
        for (proxy, needle) in
            [("keepalived", "expected haproxy or halb"), ("host1=halb", "unknown instance")]
        {
            let err =
                Stack::parse(&StackSpec { proxy: Some(proxy), ..spec() }).unwrap_err().to_string();
            assert!(err.contains(needle), "{proxy}: {err}");
        }
        let err = Stack::parse(&StackSpec { vxlan: Some("bal1=halb"), ..spec() })
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected one of host1, host2"), "{err}");
    }

    #[test]
    fn halb_vrrp_is_implemented_and_runs_in_the_host_daemon() {
        for vrrp in ["halb", "bal1=halb,bal2=keepalived", "bal1=keepalived,bal2=halb"] {
            let s = Stack::parse(&StackSpec { vrrp: Some(vrrp), ..spec() }).unwrap();
            s.ensure_implemented().unwrap();
            assert_eq!(s.halb_on_host("host1"), s.get(Component::Vrrp, "bal1") == Impl::Halb);
            assert_eq!(s.halb_on_host("host2"), s.get(Component::Vrrp, "bal2") == Impl::Halb);
        }
        assert!(!Stack::classic().halb_on_host("host1"));
        let s = Stack::parse(&StackSpec { vxlan: Some("host2=halb"), ..spec() }).unwrap();
        assert!(s.halb_on_host("host2") && !s.halb_on_host("host1"));
        assert_eq!(Component::Stp.node_of("vswout1"), Some("host1"));
        assert_eq!(Component::Vrrp.node_of("bal2"), Some("bal2"));
        assert_eq!(Component::Vxlan.node_of("bal2"), None);
    }

    #[test]
    fn vrrp_timing() {
        let d = VrrpTiming::default();
        assert_eq!((d.version(), d.advert_int_text()), (2, "1".to_string()));
        assert_eq!(VrrpTiming::new(2, "1").unwrap(), d);
        let fast = VrrpTiming::new(3, "0.01").unwrap();
        assert_eq!(fast.advert_interval(), std::time::Duration::from_millis(10));
        assert_eq!(fast.advert_int_text(), "0.01");
        assert_eq!(fast.to_string(), "VRRPv3 advert 0.01s");
        assert_eq!(VrrpTiming::new(3, "2.5").unwrap().advert_int_text(), "2.5");
        assert_eq!(VrrpTiming::new(3, "40.95").unwrap().advert_int_text(), "40.95");
        assert_eq!(VrrpTiming::new(2, "255").unwrap().advert_int_text(), "255");
        for (version, text, needle) in [
            (2, "0.5", "whole seconds"),
            (2, "0", "whole seconds"),
            (2, "256", "whole seconds"),
            (3, "0.005", "two decimals"),
            (3, "0", "0.01-40.95"),
            (3, "41", "0.01-40.95"),
            (4, "1", "expected 2 or 3"),
            (3, "-1", "seconds such as"),
            (3, "1e-2", "seconds such as"),
            (3, "1.", "seconds such as"),
            (3, ".5", "seconds such as"),
            (3, "99999999999", "out of range"),
        ] {
            let err = VrrpTiming::new(version, text).unwrap_err();
            let err = format!("{err:#}");
            assert!(err.contains(needle), "v{version} {text:?}: {err}");
        }
    }

    #[test]
    fn per_instance_mix() {
        let s =
            Stack::parse(&StackSpec { vrrp: Some("bal1=halb,bal2=keepalived"), ..spec() }).unwrap();
        assert_eq!(s.get(Component::Vrrp, "bal1"), Impl::Halb);
        assert_eq!(s.get(Component::Vrrp, "bal2"), Impl::Classic);
        assert_eq!(
            s.to_string(),
            "stp=kernel vrrp=[bal1:halb bal2:keepalived] proxy=haproxy vxlan=kernel"
        );
        let s = Stack::parse(&StackSpec { stp: Some("vswout1=halb, swout2=kernel"), ..spec() })
            .unwrap();
        assert_eq!(s.get(Component::Stp, "vswout1"), Impl::Halb);
        assert_eq!(s.get(Component::Stp, "swout1"), Impl::Classic);
        s.ensure_implemented().unwrap();
        assert!(s.halb_on_host("host1") && !s.halb_on_host("swout2"));
        let s = Stack::parse(&StackSpec { vxlan: Some("host2=halb"), ..spec() }).unwrap();
        assert_eq!(s.get(Component::Vxlan, "host2"), Impl::Halb);
        assert_eq!(s.get(Component::Vxlan, "host1"), Impl::Classic);
    }

    #[test]
    fn rejects_bad_specs() {
        for (vrrp, needle) in [
            ("haproxy", "expected keepalived or halb"),
            ("bal3=halb", "unknown instance"),
            ("bal1=halb,bal1=keepalived", "given twice"),
            ("bal1", "expected keepalived or halb"),
            ("bal1=halb,", "expected NAME=IMPL"),
            ("", "needs a value"),
        ] {
            let err =
                Stack::parse(&StackSpec { vrrp: Some(vrrp), ..spec() }).unwrap_err().to_string();
            assert!(err.contains(needle), "{vrrp:?}: {err}");
        }
        assert!(Stack::parse(&StackSpec { stp: Some("bal1=halb"), ..spec() }).is_err());
    }

    #[test]
    fn plan_lines_round_trip() {
        let s = Stack::parse(&StackSpec { proxy: Some("bal2=halb"), ..spec() }).unwrap();
        let lines = s.to_lines();
        assert!(lines.contains(&"proxy.bal2=halb".to_string()));
        let back = Stack::from_lines(lines.iter().map(String::as_str)).unwrap();
        assert_eq!(back, s);
        assert!(Stack::from_lines(["nonsense"].into_iter()).is_err());
    }

    #[test]
    fn timers() {
        assert_eq!(StpTimers::Standard.seconds(), (2, 20, 15));
        assert_eq!(StpTimers::Fast.seconds(), (1, 6, 4));
        assert_eq!("fast".parse::<StpTimers>().unwrap(), StpTimers::Fast);
        assert!("slow".parse::<StpTimers>().is_err());
    }
}
