//! halb's STP in the scenario lab: `lab up --stack halb` (fast timers) runs all four
//! external bridges' spanning tree in halb's daemons (swout1 and swout2 get a daemon of
//! their own, host1 and host2 run vswout1/vswout2 next to VRRP, proxy and VXLAN), with
//! kernel STP off on those bridges; the tree is the 802.1D prediction read from
//! `halb stp show`, the four checkpoints pass, and `lab down` leaves no namespace, process
//! or pin.
//!
//! Needs root and the daemon (`$HALB_BIN` or `target/debug/halb`). The lab runs under its
//! own prefix (`hlt-hstp`); a guard brings it down even when an assertion fails. Takes
//! about a minute and a half.

use halb_tests::{fresh_lab, lab_namespaces, LabGuard};
use xtask::lab::{
    self, down, kernel,
    plan::{StackKind, StackSpec},
    sys, topo, up, LabConfig, Stack, StpTimers,
};

const PREFIX: &str = "hlt-hstp";

#[test]
fn halb_stack_with_halb_stp_passes_the_four_checkpoints() {
    let lab = fresh_lab(PREFIX);

    let guard = LabGuard(lab.clone());
    let spec = StackSpec { stack: Some(StackKind::Halb), ..StackSpec::default() };
    let config = LabConfig::new(Stack::parse(&spec).unwrap(), StpTimers::Fast, false);
    up::up(&lab, &config).unwrap();

    // A daemon on each switch and host; nothing classic but nginx.
    let running: Vec<(String, String)> =
        lab.recorded().into_iter().map(|(n, s, _)| (n, s)).collect();
    for node in topo::DAEMON_NODES {
        assert!(running.contains(&(node.into(), "halb".into())), "{node}: {running:?}");
    }
    assert!(running.iter().all(|(_, s)| s == "halb" || s == "nginx"), "{running:?}");
    for br in topo::stp_bridges() {
        // Kernel STP off: the daemon runs the tree.
        let state = sys::ns_exec(
            &lab.ns(br.node),
            "cat",
            &[&format!("/sys/class/net/{}/bridge/stp_state", br.name)],
        )
        .unwrap();
        assert_eq!(state.trim(), "0", "kernel STP on {}", br.name);
        let toml = std::fs::read_to_string(lab.dir.join("halb").join(format!("{}.toml", br.node)))
            .unwrap();
        // Every bridge runs halb: RSTP unless asked otherwise.
        let block = format!("[[host.bridge]]\nname = {:?}\nprotocol = \"rstp\"", br.name);
        assert!(toml.contains(&block), "{block} missing:\n{toml}");
        let st = kernel::read_bridge(&lab, br).unwrap();
        assert_eq!(st.by, "halb rstp", "{}", br.name);
    }

    let results = lab::check(&lab).unwrap();
    assert_eq!(results.len(), 4);
    for r in &results {
        assert!(r.pass, "checkpoint {} failed: {:#?}", r.name, r.figures);
    }
    let stp = results[0].figures.join("\n");
    assert!(stp.contains("root swout2") && stp.contains("= 802.1D prediction"), "{stp}");

    let procs: Vec<sys::Proc> = lab.recorded().into_iter().map(|(_, _, p)| p).collect();
    drop(guard);
    assert!(lab_namespaces(PREFIX).is_empty(), "namespaces left: {:?}", lab_namespaces(PREFIX));
    assert!(!lab.dir.exists(), "run dir {} left", lab.dir.display());
    for node in topo::DAEMON_NODES {
        let pins = std::path::Path::new("/sys/fs/bpf/halb").join(lab.daemon_node(node));
        assert!(!pins.exists(), "pins {} left", pins.display());
    }
    for p in &procs {
        assert!(!p.alive(), "process {} survived lab down", p.pid);
    }
    down::down(&lab).unwrap();
}
