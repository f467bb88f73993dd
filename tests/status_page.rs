//! Each daemon's status page and `/metrics` in the scenario lab with halb on all four
//! levels: every daemon's metrics pass Debian's `promtool check metrics` and carry its
//! levels; `/status.json` holds what `halb ... --json` reports; host1's page, loaded in
//! headless Chromium (Debian's `chromium`), shows those reports, and a screenshot of it is
//! saved under `target/status-page/`; the listener refuses writes.
//!
//! Needs root and the daemon (`$HALB_BIN` or `target/debug/halb`). The lab runs under its
//! own prefix (`hlt-page`) with fast STP timers; a guard brings it down even when an
//! assertion fails. Takes about half a minute.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use halb::observe::Snapshot;
use halb_tests::{fresh_lab, LabGuard};
use xtask::lab::{
    configs::halb::STATUS_BIND, plan::StackKind, reports, sys, topo, up, Lab, LabConfig, Stack,
    StackSpec, StpTimers,
};

const PREFIX: &str = "hlt-page";

fn get(lab: &Lab, node: &str, path: &str) -> String {
    let url = format!("http://{STATUS_BIND}{path}");
    sys::ns_exec(&lab.ns(node), "curl", &["-sf", "--max-time", "5", &url])
        .unwrap_or_else(|err| panic!("GET {url} in {node}: {err:#}"))
}

fn promtool_check(metrics: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; `cargo xtask setup` installs it)");
    child.stdin.take().unwrap().write_all(metrics.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool: {text}");
    text
}

/// Chromium, headless, in `node`'s namespace, with time for the page's script to fetch and
/// draw; `mode` is `--dump-dom` or `--screenshot=PATH`.
fn chromium(lab: &Lab, node: &str, mode: &str) -> String {
    let url = format!("http://{STATUS_BIND}/");
    let profile = std::env::temp_dir().join(format!("halb-status-page-{}", std::process::id()));
    let profile_arg = format!("--user-data-dir={}", profile.display());
    let output = Command::new("ip")
        .args(["netns", "exec", &lab.ns(node), "chromium", "--headless", "--no-sandbox"])
        .args(["--disable-gpu", "--virtual-time-budget=5000", "--window-size=1300,1500"])
        .args([&profile_arg, mode, &url])
        .stdin(Stdio::null())
        .output()
        .expect("chromium (Debian package chromium; `cargo xtask setup` installs it)");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium {mode}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/status-page")
}

#[test]
fn each_daemon_serves_its_page_and_metrics_of_every_level() {
    let lab = fresh_lab(PREFIX);
    let _guard = LabGuard(lab.clone());
    let spec = StackSpec { stack: Some(StackKind::Halb), ..StackSpec::default() };
    up::up(&lab, &LabConfig::new(Stack::parse(&spec).unwrap(), StpTimers::Fast, false)).unwrap();

    // Metrics: valid for promtool on every daemon, with the levels each one runs.
    for node in topo::DAEMON_NODES {
        let metrics = get(&lab, node, "/metrics");
        promtool_check(&metrics);
        let daemon = lab.daemon_node(node);
        for want in [
            format!("halb_daemon_info{{node=\"{daemon}\","),
            "halb_stp_port_state{bridge=\"".to_string(),
            "halb_stp_port_bpdus_sent_total{bridge=\"".to_string(),
        ] {
            assert!(metrics.contains(&want), "{node}: no {want} in\n{metrics}");
        }
    }
    let metrics = get(&lab, "host1", "/metrics");
    assert!(metrics.contains("halb_vrrp_state{balancer=\"bal1\",instance=\""), "{metrics}");
    for want in [
        "interface=\"ext\",state=\"MASTER\"} 1",
        "halb_vrrp_adverts_sent_total{balancer=\"bal1\"",
        "halb_vrrp_fast_path_adverts_total{balancer=\"bal1\",interface=\"ext\",verdict=\"absorbed\"}",
        "halb_vxlan_remotes{vni=\"42\"} 1",
        "halb_vxlan_packets_total{vni=\"42\",counter=\"",
        "halb_proxy_frontend_requests_total{balancer=\"bal1\",frontend=\"",
        "halb_proxy_server_up{balancer=\"bal1\",backend=\"",
        "halb_datapath_frames_total{role=\"",
    ] {
        assert!(metrics.contains(want), "host1: no {want} in\n{metrics}");
    }

    // status.json holds the reports the commands print.
    let snapshot: Snapshot = serde_json::from_str(&get(&lab, "host1", "/status.json")).unwrap();
    assert_eq!(snapshot.status.node, lab.daemon_node("host1"));
    let stp = reports::stp(&lab, "host1").unwrap();
    let ports = |bridges: &[halb::control::stp::StpReport]| -> Vec<(String, String, String)> {
        bridges
            .iter()
            .flat_map(|b| {
                b.ports.iter().map(|p| (b.bridge.clone(), p.name.clone(), p.role.clone()))
            })
            .collect()
    };
    assert_eq!(ports(&snapshot.stp), ports(&stp));
    let vrrp = reports::vrrp(&lab, "host1").unwrap();
    let states = |v: &[halb::control::vrrp::VrrpReport]| -> Vec<(String, String)> {
        v.iter().map(|i| (i.instance.clone(), i.state.clone())).collect()
    };
    assert_eq!(states(&snapshot.vrrp), states(&vrrp));
    let vxlan = reports::vxlan(&lab, "host1").unwrap();
    let tunnel = snapshot.vxlan.as_ref().expect("host1's tunnel in status.json");
    assert_eq!((tunnel.vni, &tunnel.remotes), (vxlan[0].vni, &vxlan[0].remotes));
    let proxy = reports::proxy(&lab, "host1").unwrap();
    let servers = |p: &[(String, halb::proxy::StatsSnapshot)]| -> Vec<String> {
        p.iter()
            .flat_map(|(_, s)| {
                s.backends.iter().flat_map(|b| b.servers.iter().map(|s| s.name.clone()))
            })
            .collect()
    };
    assert_eq!(servers(&snapshot.proxy), servers(&proxy));

    // The page, as a browser draws it, shows the same.
    let dom = chromium(&lab, "host1", "--dump-dom");
    assert!(dom.contains("data-loaded=\"1\""), "the page never loaded status.json:\n{dom}");
    assert!(dom.contains(&format!("<span id=\"node\">{}</span>", lab.daemon_node("host1"))));
    for (bridge, port, role) in ports(&stp) {
        for text in [bridge, format!("<td>{port}</td>"), format!("<td>{role}</td>")] {
            assert!(dom.contains(&text), "page lacks {text}:\n{dom}");
        }
    }
    for (instance, state) in states(&vrrp) {
        assert!(dom.contains(&format!("<td>{instance}</td>")), "page lacks {instance}");
        assert!(dom.contains(&format!(">{state}</span>")), "page lacks state {state}");
    }
    assert!(dom.contains(&format!("VNI {}", vxlan[0].vni)), "page lacks the VNI");
    if proxy.iter().any(|(_, s)| !s.steering.is_empty()) {
        assert!(dom.contains("VIP steering (sk_lookup)"), "page lacks the steering counters");
    }
    for server in servers(&proxy) {
        assert!(dom.contains(&format!("<td>{server}</td>")), "page lacks server {server}");
    }
    std::fs::create_dir_all(screenshot_dir()).unwrap();
    let png = screenshot_dir().join("host1.png");
    let _ = std::fs::remove_file(&png);
    chromium(&lab, "host1", &format!("--screenshot={}", png.display()));
    let bytes = std::fs::read(&png).expect("the screenshot was written");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{} bytes", bytes.len());

    // Read-only.
    let status = sys::ns_exec(
        &lab.ns("host1"),
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "POST",
            &format!("http://{STATUS_BIND}/"),
        ],
    )
    .unwrap();
    assert_eq!(status.trim(), "405");
}
