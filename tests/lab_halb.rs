//! halb's VRRP, L7 proxy and VXLAN together in the scenario lab with kernel STP (halb's
//! STP: `lab_halb_stp.rs`): `lab up --stack halb --stp kernel` passes the four
//! checkpoints with no keepalived, haproxy or kernel `vxlan42` anywhere; then the interop
//! mix `--vxlan host1=halb,host2=kernel --proxy bal1=halb,bal2=haproxy --vrrp halb` passes
//! checkpoints 3 and 4. Node faults of a balancer with halb's proxy act on its host's
//! daemon; `lab down` leaves no namespace, process, pin or tunnel port.
//!
//! Needs root and the daemon (`$HALB_BIN` or `target/debug/halb`). The lab runs under its
//! own prefix (`hlt-halb`) with fast STP timers; a guard brings it down even when an
//! assertion fails. Takes about two and a half minutes.

use std::net::SocketAddr;
use std::time::Duration;

use halb_tests::{fresh_lab, lab_namespaces, LabGuard};
use xtask::lab::{
    self, down, health, kernel,
    plan::{StackKind, StackSpec},
    probe, sys, up, Fault, Lab, LabConfig, Stack, StpTimers,
};

const PREFIX: &str = "hlt-halb";

fn config(spec: &StackSpec) -> LabConfig {
    LabConfig::new(Stack::parse(spec).unwrap(), StpTimers::Fast, false)
}

fn services(lab: &Lab) -> Vec<(String, String)> {
    lab.recorded().into_iter().map(|(n, s, _)| (n, s)).collect()
}

/// Names of the interfaces of `kind` (`vxlan`, `veth`, ...) in a node's namespace.
fn links(lab: &Lab, node: &str, kind: &str) -> Vec<String> {
    let out = sys::ip_ns(&lab.ns(node), &["-o", "link", "show", "type", kind]).unwrap();
    out.lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

/// One request to `ip:8000` from user: does a proxy answer there?
fn proxy_answers(lab: &Lab, ip: [u8; 4]) -> bool {
    let addr = SocketAddr::from((ip, 8000));
    probe::requests(&lab.ns("user"), addr, 1).is_ok_and(|mut v| v.pop().is_some_and(|r| r.is_ok()))
}

fn assert_gone(lab: &Lab, procs: &[sys::Proc]) {
    assert!(lab_namespaces(PREFIX).is_empty(), "namespaces left: {:?}", lab_namespaces(PREFIX));
    assert!(!lab.dir.exists(), "run dir {} left", lab.dir.display());
    for host in ["host1", "host2"] {
        let pins = std::path::Path::new("/sys/fs/bpf/halb").join(lab.daemon_node(host));
        assert!(!pins.exists(), "pins {} left", pins.display());
    }
    for p in procs {
        assert!(!p.alive(), "process {} survived lab down", p.pid);
    }
    // halb's tunnel ports lived in the hosts' namespaces; none escaped to the root one.
    let root = sys::ip(&["-o", "link", "show"]).unwrap();
    assert!(!root.contains(": vxl42"), "a tunnel port in the root namespace:\n{root}");
}

fn assert_checks_pass(results: &[lab::CheckResult], want: usize) {
    assert_eq!(results.len(), want);
    for r in results {
        assert!(r.pass, "checkpoint {} failed: {:#?}", r.name, r.figures);
    }
}

#[test]
fn halb_stack_without_stp_and_mixed_with_the_classic_tools() {
    let lab = fresh_lab(PREFIX);

    // Everything but STP on halb: the hosts' daemons are the only processes besides nginx.
    let guard = LabGuard(lab.clone());
    let all = config(&StackSpec {
        stack: Some(StackKind::Halb),
        stp: Some("kernel"),
        ..StackSpec::default()
    });
    up::up(&lab, &all).unwrap();
    let running = services(&lab);
    for s in ["keepalived", "haproxy"] {
        assert!(!running.iter().any(|(_, r)| r == s), "{s} runs: {running:?}");
    }
    for host in ["host1", "host2"] {
        assert!(running.contains(&(host.into(), "halb".into())), "{running:?}");
        assert!(links(&lab, host, "vxlan").is_empty(), "kernel VXLAN device on {host}");
        let veths = links(&lab, host, "veth");
        assert!(veths.iter().any(|v| v == "vxl42") && veths.iter().any(|v| v == "vxl42-dp"));
        let toml =
            std::fs::read_to_string(lab.dir.join("halb").join(format!("{host}.toml"))).unwrap();
        for block in ["[host.vxlan]", "[[balancer.vrrp]]", "[balancer.proxy]", "admin_bind"] {
            assert!(toml.contains(block), "{block} missing in {host}'s config:\n{toml}");
        }
    }

    // A crash of bal1 kills host1's daemon: bal1's VRRP and proxy go, bal2 serves.
    let node = Fault::node("bal1").unwrap();
    let daemon = lab.recorded_proc("host1", "halb").unwrap();
    assert!(proxy_answers(&lab, [172, 16, 1, 250]), "bal1's proxy does not answer");
    lab::fail(&lab, &node).unwrap();
    assert!(!daemon.alive(), "host1's daemon survived `fail node bal1`");
    assert!(!proxy_answers(&lab, [172, 16, 1, 250]), "bal1's proxy answers after the crash");
    let took_over = sys::wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        kernel::vip_holders(&lab).contains(&"bal2") && proxy_answers(&lab, [172, 16, 1, 251])
    });
    assert!(took_over, "bal2 did not take over: {:?}", kernel::vip_holders(&lab));
    lab::heal(&lab, &node).unwrap();
    health::wait_healthy(&lab, StpTimers::Fast.settle_bound()).unwrap();

    let results = lab::check(&lab).unwrap();
    assert_checks_pass(&results, 4);
    let l7 = results[2].figures.join("\n");
    assert!(l7.contains("halb's proxy on bal1 (host1's daemon)"), "{l7}");
    let vxlan = results[3].figures.join("\n");
    assert!(vxlan.contains("host1 halb vxl42, host2 halb vxl42"), "{vxlan}");
    assert!(vxlan.contains("halb VXLAN on host2 (vxl42): running"), "{vxlan}");
    let procs: Vec<sys::Proc> = lab.recorded().into_iter().map(|(_, _, p)| p).collect();
    drop(guard);
    assert_gone(&lab, &procs);

    // Interop: halb's VXLAN on host1 against the kernel device on host2, halb's proxy on
    // bal1 and haproxy on bal2, halb's VRRP on both.
    let guard = LabGuard(lab.clone());
    let mixed = config(&StackSpec {
        vrrp: Some("halb"),
        proxy: Some("bal1=halb,bal2=haproxy"),
        vxlan: Some("host1=halb,host2=kernel"),
        ..StackSpec::default()
    });
    up::up(&lab, &mixed).unwrap();
    let running = services(&lab);
    for want in [("host1", "halb"), ("host2", "halb"), ("bal2", "haproxy")] {
        assert!(running.contains(&(want.0.into(), want.1.into())), "{want:?}: {running:?}");
    }
    assert!(!running.iter().any(|(n, s)| n == "bal1" || s == "keepalived"), "{running:?}");
    assert!(links(&lab, "host1", "vxlan").is_empty());
    assert_eq!(links(&lab, "host2", "vxlan"), ["vxlan42"]);
    assert!(!links(&lab, "host2", "veth").iter().any(|v| v.starts_with("vxl42")));
    let host2 = std::fs::read_to_string(lab.dir.join("halb/host2.toml")).unwrap();
    assert!(!host2.contains("[host.vxlan]") && !host2.contains("[balancer.proxy]"), "{host2}");

    // A graceful stop of bal1 stops host1's daemon (VRRP resigns, the proxy goes); bal2's
    // haproxy serves through the VIP.
    lab::stop(&lab, &node).unwrap();
    assert!(!proxy_answers(&lab, [172, 16, 1, 250]), "bal1's proxy answers after the stop");
    let handed = sys::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        kernel::vip_holders(&lab) == ["bal2"] && proxy_answers(&lab, [172, 16, 1, 254])
    });
    assert!(handed, "bal2 does not serve the VIP: {:?}", kernel::vip_holders(&lab));
    lab::heal(&lab, &node).unwrap();
    health::wait_healthy(&lab, StpTimers::Fast.settle_bound()).unwrap();

    let results =
        lab::check_only(&lab, &|name| name.starts_with("3 ") || name.starts_with("4 ")).unwrap();
    assert_checks_pass(&results, 2);
    let l7 = results[0].figures.join("\n");
    assert!(l7.contains("halb's proxy on bal1") && l7.contains("haproxy on bal2"), "{l7}");
    let vxlan = results[1].figures.join("\n");
    assert!(vxlan.contains("host1 halb vxl42, host2 kernel vxlan42"), "{vxlan}");
    let procs: Vec<sys::Proc> = lab.recorded().into_iter().map(|(_, _, p)| p).collect();
    drop(guard);
    assert_gone(&lab, &procs);
    down::down(&lab).unwrap();
}
