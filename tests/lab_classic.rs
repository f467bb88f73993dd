//! The classic stack in the scenario lab, for real: `lab up` with fast STP timers, the four
//! checkpoints of SCENARIO.md, a link failure and repair, and `lab down` leaving nothing.
//!
//! Needs root. The lab runs under its own prefix (`hlt-classic`), so a user's `halb` lab is
//! never touched; everything that shares that prefix runs in one test, in order. A guard
//! brings the lab down even when an assertion fails. Takes about two minutes.

use std::time::Duration;

use halb_tests::{lab_namespaces, LabGuard};
use xtask::lab::{
    self, down, faults, health, kernel, sys, up, Fault, Lab, LabConfig, Stack, StpTimers,
};

const PREFIX: &str = "hlt-classic";

fn require_root() {
    assert!(sys::require_root().is_ok(), "the lab tests need root (network namespaces)");
}

fn fast_classic() -> LabConfig {
    LabConfig::new(Stack::classic(), StpTimers::Fast, false)
}

#[test]
fn classic_lab_passes_the_four_checkpoints_and_leaves_nothing() {
    require_root();
    let lab = Lab::new(PREFIX).unwrap();
    // Leftovers of an aborted earlier run.
    down::down(&lab).unwrap();

    let guard = LabGuard(lab.clone());
    up::up(&lab, &fast_classic()).unwrap();
    assert_eq!(lab_namespaces(PREFIX).len(), 11);
    let again = up::up(&lab, &fast_classic()).unwrap_err().to_string();
    assert!(again.contains("already up"), "{again}");

    // A link between switches: the tree re-converges to the 802.1D prediction without it,
    // the fault is recorded, and healing restores the original tree.
    let fault = Fault::link("swout2", "vswout1").unwrap();
    lab::fail(&lab, &fault).unwrap();
    assert_eq!(faults::failed(&lab), std::slice::from_ref(&fault));
    let bound = StpTimers::Fast.settle_bound();
    let converged = sys::wait_until(bound, Duration::from_millis(250), || {
        health::stp_diffs(&lab, std::slice::from_ref(&fault)).is_ok_and(|(_, d)| d.is_empty())
    });
    let (tree, diffs) = health::stp_diffs(&lab, std::slice::from_ref(&fault)).unwrap();
    assert!(converged, "no convergence without swout2-vswout1: {diffs:?}");
    // Without its root port, vswout1 reaches the root through swout1.
    assert_eq!(tree.bridges["vswout1"], ("swout2".to_string(), 200));
    let states = kernel::read_stp(&lab).unwrap();
    let vsw = states.iter().find(|b| b.name == "vswout1").unwrap();
    let port = vsw.ports.iter().find(|p| p.name == "swout2").unwrap();
    assert_eq!(port.state, kernel::PortStateKind::Disabled);
    lab::heal(&lab, &fault).unwrap();
    assert!(faults::failed(&lab).is_empty());
    health::wait_healthy(&lab, bound).unwrap();

    // The four checkpoints.
    let results = lab::check(&lab).unwrap();
    assert_eq!(results.len(), 4);
    for r in &results {
        assert!(r.pass, "checkpoint {} failed: {:#?}", r.name, r.figures);
    }

    // Down leaves no namespace, no run dir, no process.
    let procs: Vec<sys::Proc> = lab.recorded().into_iter().map(|(_, _, p)| p).collect();
    assert!(procs.len() >= 7, "expected nginx x3, keepalived x2, haproxy x2: {procs:?}");
    drop(guard);
    assert!(lab_namespaces(PREFIX).is_empty(), "namespaces left: {:?}", lab_namespaces(PREFIX));
    assert!(!lab.dir.exists(), "run dir {} left", lab.dir.display());
    for p in procs {
        assert!(!p.alive(), "process {} survived lab down", p.pid);
    }
    // And a second down is a no-op.
    down::down(&lab).unwrap();
}

#[test]
fn commands_on_a_lab_that_is_not_up_fail_cleanly() {
    require_root();
    let lab = Lab::new("hlt-absent").unwrap();
    let err = lab::exec(&lab, "user", &["true".to_string()]).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
    assert!(lab::exec(&lab, "nobody", &["true".to_string()]).is_err());
    let err = lab::fail(&lab, &Fault::bridge("vswout1").unwrap()).unwrap_err().to_string();
    assert!(err.contains("is not up"), "{err}");
    let err = lab::check(&lab).unwrap_err().to_string();
    assert!(err.contains("is not up"), "{err}");
    down::down(&lab).unwrap();
    assert!(!lab.dir.exists());
}
