//! Which implementation runs each component of the scenario: the typed `Stack` plan.
//!
//! `--stack classic|halb` sets the default; `--stp`, `--vrrp`, `--proxy`, `--vxlan` override
//! it, either for every instance (`--vrrp keepalived`) or per instance
//! (`--vrrp bal1=halb,bal2=keepalived`). The plan is pure data; `lab up` refuses plans that
//! need a halb component that does not exist yet, before it creates anything.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};

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
    pub fn flag(self) -> &'static str {
        match self {
            Component::Stp => "stp",
            Component::Vrrp => "vrrp",
            Component::Proxy => "proxy",
            Component::Vxlan => "vxlan",
        }
    }

    /// The name of the classic implementation on the command line.
    pub fn classic_name(self) -> &'static str {
        match self {
            Component::Stp | Component::Vxlan => "kernel",
            Component::Vrrp => "keepalived",
            Component::Proxy => "haproxy",
        }
    }

    /// The instances a per-instance spec may name.
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
    pub fn seconds(self) -> (u32, u32, u32) {
        match self {
            StpTimers::Standard => (2, 20, 15),
            StpTimers::Fast => (1, 6, 4),
        }
    }

    /// Upper bound for the tree to settle after a change: a stale root's information ages out
    /// (max age), then a port walks listening and learning (2 x forward delay); doubled,
    /// plus slack for BPDU timing.
    pub fn settle_bound(self) -> std::time::Duration {
        let (hello, max_age, fwd) = self.seconds();
        std::time::Duration::from_secs(u64::from(2 * (max_age + 2 * fwd) + 4 * hello + 10))
    }

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
            Ok(())
        } else {
            bail!("{}", missing.join("\n"))
        }
    }

    /// `stp.swout1=kernel` lines, for the run dir.
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

/// Whether halb ships an implementation of the component. Flip to `true` together with the
/// start-up arm in `services.rs` when it lands.
fn halb_implemented(component: Component) -> bool {
    match component {
        Component::Stp | Component::Vrrp | Component::Proxy | Component::Vxlan => false,
    }
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
        let err = s.ensure_implemented().unwrap_err().to_string();
        assert!(
            err.contains("halb's VRRP is not implemented yet (issue #4); use --vrrp keepalived"),
            "{err}"
        );
        assert!(err.contains("issue #5") && err.contains("issue #3"), "{err}");
        assert!(!err.contains("issue #6"), "{err}");
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
        let err = s.ensure_implemented().unwrap_err().to_string();
        assert!(err.contains("STP") && err.contains("vswout1"), "{err}");
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
