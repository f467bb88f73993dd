//! halb's VRRP in the scenario lab: `lab up --vrrp halb` passes the four checkpoints, and
//! mixed pairs (`--vrrp bal1=halb,bal2=keepalived` in v2, the reverse in v3) fail over and
//! preempt (checkpoint 2);
//! node faults act on the host daemon that holds a balancer's halb instance.
//!
//! Needs root and the daemon (`$HALB_BIN` or `target/debug/halb`). The lab runs under its
//! own prefix (`hlt-hvrrp`) with fast STP timers; a guard brings it down even when an
//! assertion fails. Takes about three minutes.

use std::time::Duration;

use halb_tests::{fresh_lab, lab_namespaces, LabGuard};
use xtask::lab::{
    self, down, faults, health, kernel,
    plan::{StackSpec, VrrpTiming},
    sys, up, vrrp, Fault, Lab, LabConfig, Stack, StpTimers,
};

const PREFIX: &str = "hlt-hvrrp";

fn config(vrrp: &str) -> LabConfig {
    let stack = Stack::parse(&StackSpec { vrrp: Some(vrrp), ..StackSpec::default() }).unwrap();
    LabConfig::new(stack, StpTimers::Fast, false)
}

fn pins(lab: &Lab, host: &str) -> std::path::PathBuf {
    std::path::Path::new("/sys/fs/bpf/halb").join(lab.daemon_node(host))
}

fn assert_gone(lab: &Lab, procs: &[sys::Proc]) {
    assert!(lab_namespaces(PREFIX).is_empty(), "namespaces left: {:?}", lab_namespaces(PREFIX));
    assert!(!lab.dir.exists(), "run dir {} left", lab.dir.display());
    for host in ["host1", "host2"] {
        assert!(!pins(lab, host).exists(), "pins {} left", pins(lab, host).display());
    }
    for p in procs {
        assert!(!p.alive(), "process {} survived lab down", p.pid);
    }
}

#[test]
fn halb_vrrp_in_the_lab_alone_and_mixed_with_keepalived() {
    let lab = fresh_lab(PREFIX);

    // halb on both balancers: no keepalived anywhere, the daemons hold the instances.
    let guard = LabGuard(lab.clone());
    let all_halb = config("halb");
    up::up(&lab, &all_halb).unwrap();
    let services: Vec<(String, String)> =
        lab.recorded().into_iter().map(|(n, s, _)| (n, s)).collect();
    assert!(!services.iter().any(|(_, s)| s == "keepalived"), "{services:?}");
    for host in ["host1", "host2"] {
        assert!(services.contains(&(host.to_string(), "halb".to_string())), "{services:?}");
        let toml =
            std::fs::read_to_string(lab.dir.join("halb").join(format!("{host}.toml"))).unwrap();
        assert!(toml.contains("[[balancer.vrrp]]\ninstance = \"vrrpext\""), "{toml}");
    }
    let states: Vec<(&str, String)> =
        vrrp::summaries(&lab, &all_halb).into_iter().map(|s| (s.balancer, s.state)).collect();
    assert_eq!(states, [("bal1", "MASTER".to_string()), ("bal2", "BACKUP".to_string())]);

    // A crash of bal1's VRRP is a SIGKILL of host1's daemon: the backup takes over after
    // its master-down timer; healing restarts the daemon and bal1 preempts.
    let node = Fault::node("bal1").unwrap();
    let daemon = lab.recorded_proc("host1", "halb").unwrap();
    lab::fail(&lab, &node).unwrap();
    assert!(!daemon.alive(), "host1's daemon survived `fail node bal1`");
    let took_over = sys::wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        kernel::vip_holders(&lab).contains(&"bal2")
    });
    assert!(took_over, "bal2 did not take the VIP: {:?}", kernel::vip_holders(&lab));
    lab::heal(&lab, &node).unwrap();
    assert!(faults::failed(&lab).is_empty());
    health::wait_healthy(&lab, StpTimers::Fast.settle_bound()).unwrap();

    // A graceful stop: host1's daemon resigns with priority 0, bal2 says so.
    lab::stop(&lab, &node).unwrap();
    let handed = sys::wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        kernel::vip_holders(&lab) == ["bal2"]
    });
    assert!(handed, "no hand-over after a graceful stop: {:?}", kernel::vip_holders(&lab));
    let bal2 = vrrp::halb_status(&lab, "host2").unwrap();
    let reason =
        vrrp::halb_instance(&bal2, "bal2").unwrap().last_reason.clone().unwrap_or_default();
    assert!(reason.contains("priority 0"), "{reason}");
    lab::heal(&lab, &node).unwrap();
    health::wait_healthy(&lab, StpTimers::Fast.settle_bound()).unwrap();

    let results = lab::check(&lab).unwrap();
    assert_eq!(results.len(), 4);
    for r in &results {
        assert!(r.pass, "checkpoint {} failed: {:#?}", r.name, r.figures);
    }
    let vrrp_details = results[1].details.join("\n");
    assert!(vrrp_details.contains("halb: vrid 12 BACKUP -> MASTER"), "{vrrp_details}");
    let procs: Vec<sys::Proc> = lab.recorded().into_iter().map(|(_, _, p)| p).collect();
    drop(guard);
    assert_gone(&lab, &procs);

    // bal1 on halb, bal2 on keepalived: the daemon runs on host1 only.
    let guard = LabGuard(lab.clone());
    let mixed = config("bal1=halb,bal2=keepalived");
    up::up(&lab, &mixed).unwrap();
    let services: Vec<(String, String)> =
        lab.recorded().into_iter().map(|(n, s, _)| (n, s)).collect();
    for want in [("host1", "halb"), ("bal2", "keepalived"), ("bal1", "haproxy")] {
        assert!(services.contains(&(want.0.into(), want.1.into())), "{want:?}: {services:?}");
    }
    assert!(!services.iter().any(|(n, s)| n == "host2" || (n == "bal1" && s == "keepalived")));
    let results = lab::check_only(&lab, &|name| name.starts_with("2 ")).unwrap();
    assert_eq!(results.len(), 1);
    let cp2 = &results[0];
    assert!(cp2.pass, "checkpoint 2 failed: {:#?}", cp2.figures);
    let details = cp2.details.join("\n");
    assert!(details.contains("bal1: ") && details.contains("halb: vrid 12"), "{details}");
    assert!(details.contains("bal2: ") && details.contains("Entering MASTER STATE"), "{details}");
    let procs: Vec<sys::Proc> = lab.recorded().into_iter().map(|(_, _, p)| p).collect();
    drop(guard);
    assert_gone(&lab, &procs);

    // The reverse pair, in VRRPv3: keepalived on bal1 (master), halb on bal2.
    let guard = LabGuard(lab.clone());
    let mut reverse = config("bal1=keepalived,bal2=halb");
    reverse.vrrp = VrrpTiming::new(3, "1").unwrap();
    up::up(&lab, &reverse).unwrap();
    let services: Vec<(String, String)> =
        lab.recorded().into_iter().map(|(n, s, _)| (n, s)).collect();
    for want in [("host2", "halb"), ("bal1", "keepalived")] {
        assert!(services.contains(&(want.0.into(), want.1.into())), "{want:?}: {services:?}");
    }
    let toml = std::fs::read_to_string(lab.dir.join("halb").join("host2.toml")).unwrap();
    assert!(toml.contains("version = 3"), "{toml}");
    let results = lab::check_only(&lab, &|name| name.starts_with("2 ")).unwrap();
    let cp2 = &results[0];
    assert!(cp2.pass, "checkpoint 2 (v3, reverse) failed: {:#?}", cp2.figures);
    let details = cp2.details.join("\n");
    assert!(
        details.contains("bal2: ") && details.contains("halb: vrid 12 BACKUP -> MASTER"),
        "{details}"
    );
    assert!(details.contains("bal1: ") && details.contains("Entering MASTER STATE"), "{details}");
    let procs: Vec<sys::Proc> = lab.recorded().into_iter().map(|(_, _, p)| p).collect();
    drop(guard);
    assert_gone(&lab, &procs);
    down::down(&lab).unwrap();
}
