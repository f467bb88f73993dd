//! halb's STP/RSTP bridges among kernel STP bridges and among themselves,
//! in network namespaces of their own: one namespace per switch, a bridge
//! `br0` in each, veth cables `to-<peer>` between them, an address on each
//! bridge to ping across.
//!
//! Each test uses its own namespace prefix (`hst<pid>-<n>`), so tests run
//! in parallel and never touch a lab a user has up. Kernel bridges and
//! STP-mode tests use fast timers (hello 1 s, max age 6 s, forward delay
//! 4 s); the all-halb RSTP test keeps the defaults (forward delay 15 s) so
//! "did not wait for forward delay" is unmistakable. The reload test adds,
//! changes and removes a bridge in a running daemon (SIGHUP and `halb
//! reload`) while watching for loops. Times are printed and asserted
//! against generous bounds.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use halb_tests::{halb_bin, sh, signal, terminate};
use serde_json::Value;
use xtask::harness::{
    halb_config::{self, strings, BridgeSection, ConfigFile, HostSection, PortSection},
    topology::{self, Namespaces, Veth},
};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Switches, cables and the daemons running some of them.
struct Net {
    prefix: String,
    dir: PathBuf,
    nodes: Vec<String>,
    daemons: Vec<(String, Child)>,
    /// Removed newest first after `Drop` below stopped the daemons.
    namespaces: Namespaces,
}

#[derive(Clone, Copy)]
enum Switch {
    /// Kernel STP with this priority.
    Kernel(u16),
    /// A plain bridge halb will run.
    Halb,
}

impl Net {
    fn new() -> Self {
        let prefix = format!("hst{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            prefix,
            dir,
            nodes: Vec::new(),
            daemons: Vec::new(),
            namespaces: Namespaces::default(),
        }
    }

    fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.prefix)
    }

    /// A switch namespace with bridge br0 holding `address`.
    fn switch(&mut self, node: &str, kind: Switch, address: &str) {
        let ns = self.ns(node);
        self.namespaces.add(&ns).expect("switch namespace");
        self.nodes.push(node.to_owned());
        // Kernel STP in a namespace runs in the kernel (no user-space
        // hand-off outside the initial namespace). The halb bridge starts
        // with kernel STP on too: the daemon must take it over.
        let priority = match kind {
            Switch::Kernel(priority) => priority,
            Switch::Halb => 32768,
        };
        let settings = [
            "stp_state",
            "1",
            "priority",
            &priority.to_string(),
            "hello_time",
            "100",
            "max_age",
            "600",
            "forward_delay",
            "400",
        ]
        .map(str::to_owned);
        topology::add_bridge(&ns, "br0", None, &settings).expect("bridge br0");
        topology::add_address(&ns, address, "br0").expect("bridge address");
        topology::set_up(&ns, "br0").expect("bridge up");
    }

    /// A cable: `to-<b>` in a's bridge, `to-<a>` in b's.
    fn cable(&self, a: &str, b: &str) {
        let (na, nb) = (self.ns(a), self.ns(b));
        let (end_a, end_b) = (format!("to-{b}"), format!("to-{a}"));
        let cable =
            Veth { ns: &na, name: &end_a, peer: &end_b, peer_ns: Some(&nb), ..Veth::default() };
        cable.create().expect("cable");
        topology::attach_up(&na, &end_a, "br0").expect("cable end a on br0");
        topology::attach_up(&nb, &end_b, "br0").expect("cable end b on br0");
    }

    /// Cuts (or restores) a cable by taking one end down: the other end
    /// loses carrier, as with a pulled cable.
    fn set_cable(&self, a: &str, b: &str, up: bool) {
        sh(&[
            "ip",
            "-n",
            &self.ns(a),
            "link",
            "set",
            &format!("to-{b}"),
            if up { "up" } else { "down" },
        ]);
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    fn node_name(&self, node: &str) -> String {
        format!("{}-{node}", self.prefix)
    }

    /// Starts halb on switch `node` running br0 over `ports`.
    /// `path_cost`: every port's, or `None` for halb's default from the
    /// link speed.
    fn start_halb(
        &mut self,
        node: &str,
        protocol: &str,
        priority: u16,
        timers: (u64, u64, u64),
        ports: &[&str],
        path_cost: Option<u32>,
    ) {
        let bridge = bridge_section(protocol, priority, timers, ports, path_cost);
        self.start_daemon(node, &[], &[bridge]);
    }

    /// Writes `node`'s daemon config: its namespace, the `interfaces` its
    /// classifier observes (a daemon needs something to do), then `bridges`
    /// (`[[host.bridge]]` sections, possibly none).
    fn write_config(&self, node: &str, interfaces: &[&str], bridges: &[BridgeSection]) -> PathBuf {
        let config = self.dir.join(format!("{node}.toml"));
        let file = ConfigFile {
            daemon: halb_config::daemon(&self.node_name(node)),
            host: Some(HostSection {
                netns: Some(self.ns(node)),
                interfaces: strings(interfaces),
                bridge: bridges.to_vec(),
                ..HostSection::default()
            }),
            balancer: Vec::new(),
        };
        let text = halb_config::to_toml("halb for the stp test", &file).unwrap();
        std::fs::write(&config, text).unwrap();
        config
    }

    /// Starts halb on switch `node` (see [`Net::write_config`]).
    fn start_daemon(&mut self, node: &str, interfaces: &[&str], bridges: &[BridgeSection]) {
        let config = self.write_config(node, interfaces, bridges);
        let log = std::fs::File::create(self.dir.join(format!("{node}.log"))).unwrap();
        let child = Command::new(halb_bin())
            .args(["run", "--config"])
            .arg(&config)
            .arg("--run-dir")
            .arg(self.run_dir())
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn halb");
        self.daemons.push((node.to_owned(), child));
    }

    fn log(&self, node: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{node}.log"))).unwrap_or_default()
    }

    /// `halb stp show --json` of br0 on `node`, once it answers.
    fn halb_bridge(&self, node: &str) -> Option<Value> {
        let output = Command::new(halb_bin())
            .args(["stp", "show", "--json", "--node", &self.node_name(node), "--run-dir"])
            .arg(self.run_dir())
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        let reports: Value = serde_json::from_slice(&output.stdout).ok()?;
        reports.as_array()?.first().cloned()
    }

    /// The pid of the daemon serving `node` now (`halb status`).
    fn halb_status_pid(&self, node: &str) -> u32 {
        let output = Command::new(halb_bin())
            .args(["status", "--json", "--node", &self.node_name(node), "--run-dir"])
            .arg(self.run_dir())
            .output()
            .unwrap();
        let status: Value = serde_json::from_slice(&output.stdout).unwrap();
        u32::try_from(status[0]["pid"].as_u64().unwrap()).unwrap()
    }

    /// halb's view: port name -> (role, state, mode).
    fn halb_ports(&self, node: &str) -> BTreeMap<String, (String, String, String)> {
        let Some(report) = self.halb_bridge(node) else { return BTreeMap::new() };
        report["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|port| {
                let text = |key: &str| port[key].as_str().unwrap_or_default().to_owned();
                (text("name"), (text("role"), text("state"), text("mode")))
            })
            .collect()
    }

    /// The kernel's view (`bridge -j link show`): port name -> state.
    fn kernel_states(&self, node: &str) -> BTreeMap<String, String> {
        let output = sh(&["bridge", "-n", &self.ns(node), "-j", "link", "show"]);
        let ports: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        ports
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|port| {
                Some((port["ifname"].as_str()?.to_owned(), port["state"].as_str()?.to_owned()))
            })
            .collect()
    }

    /// `ip -d -j link show dev PORT`: the kernel bridge's STP data of a port.
    fn kernel_port_detail(&self, node: &str, port: &str) -> Value {
        let output = sh(&["ip", "-n", &self.ns(node), "-d", "-j", "link", "show", "dev", port]);
        let links: Value = serde_json::from_slice(&output.stdout).unwrap();
        links[0]["linkinfo"]["info_slave_data"].clone()
    }

    fn ping(&self, from: &str, address: &str) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(from), "ping", "-c", "1", "-W", "1", address])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Polls `done` every 50 ms until it holds; how long that took.
    fn wait(&self, what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if done() {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let logs: Vec<String> = self
            .daemons
            .iter()
            .map(|(node, _)| format!("--- {node} log:\n{}", self.log(node)))
            .collect();
        let states: Vec<String> = self
            .nodes
            .iter()
            .map(|node| {
                format!(
                    "{node}: kernel {:?} halb {:?}",
                    self.kernel_states(node),
                    self.halb_ports(node)
                )
            })
            .collect();
        panic!("{what}: not within {timeout:?}\n{}\n{}", states.join("\n"), logs.join("\n"));
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for (_, child) in &mut self.daemons {
            terminate(child, Duration::from_secs(5));
        }
        halb_tests::stop_processes_under(&self.dir);
        for (node, _) in &self.daemons {
            let _ = std::fs::remove_dir_all(format!("/sys/fs/bpf/halb/{}", self.node_name(node)));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const FAST: (u64, u64, u64) = (1, 6, 4);

/// One `[[host.bridge]]` section for br0 over the ports `to-<peer>`.
fn bridge_section(
    protocol: &str,
    priority: u16,
    timers: (u64, u64, u64),
    ports: &[&str],
    path_cost: Option<u32>,
) -> BridgeSection {
    let seconds = |value: u64| Some(i64::try_from(value).unwrap());
    BridgeSection {
        name: "br0".into(),
        protocol: Some(protocol.to_owned()),
        priority: Some(i64::from(priority)),
        hello_time: seconds(timers.0),
        max_age: seconds(timers.1),
        forward_delay: seconds(timers.2),
        port: ports
            .iter()
            .map(|port| PortSection {
                name: format!("to-{port}"),
                path_cost: path_cost.map(i64::from),
                ..PortSection::default()
            })
            .collect(),
        ..BridgeSection::default()
    }
}

/// The lab's triangle: kernel root `k1` (priority 4096), kernel bridge `k2`
/// and a halb bridge `h`, one cable between each pair. Returns the net with
/// h running `protocol` at `h_priority` and `k2` at `k2_priority`. h's
/// ports cost 2, as the kernel's 10G veth ports do: halb's STP default
/// (802.1D-1998 costs) gives that by itself, RSTP's 802.1D-2004 default
/// (2000) would make h's root path look worse than k2's.
fn triangle(protocol: &str, h_priority: u16, k2_priority: u16) -> Net {
    let mut net = Net::new();
    net.switch("k1", Switch::Kernel(4096), "10.77.0.1/24");
    net.switch("k2", Switch::Kernel(k2_priority), "10.77.0.2/24");
    net.switch("h", Switch::Halb, "10.77.0.3/24");
    net.cable("k1", "k2");
    net.cable("k1", "h");
    net.cable("k2", "h");
    let cost = (protocol == "rstp").then_some(2);
    net.start_halb("h", protocol, h_priority, FAST, &["k1", "k2"], cost);
    net
}

fn is_forwarding(states: &BTreeMap<String, String>, port: &str) -> bool {
    states.get(port).map(String::as_str) == Some("forwarding")
}

/// (a) halb in STP mode among kernel STP bridges, priority worse than
/// k2's: 802.1D blocks h's port towards k2 (same root path cost, k2's
/// bridge ID wins the k2-h segment). halb and `bridge link show` agree.
/// Cutting h's root cable re-converges through k2 and the ping recovers.
#[test]
fn stp_bridge_among_kernel_bridges_blocks_where_8021d_says() {
    let net = triangle("stp", 36864, 32768);
    let converged =
        net.wait("802.1D tree with h's port to k2 blocked", Duration::from_secs(40), || {
            let h = net.halb_ports("h");
            let kernel_h = net.kernel_states("h");
            let (k1, k2) = (net.kernel_states("k1"), net.kernel_states("k2"));
            h.get("to-k1").is_some_and(|(role, state, _)| role == "Root" && state == "forwarding")
                && h.get("to-k2")
                    .is_some_and(|(role, state, _)| role == "Alternate" && state == "blocking")
                && is_forwarding(&kernel_h, "to-k1")
                && kernel_h.get("to-k2").map(String::as_str) == Some("disabled")
                && is_forwarding(&k1, "to-k2")
                && is_forwarding(&k1, "to-h")
                && is_forwarding(&k2, "to-k1")
                && is_forwarding(&k2, "to-h")
        });
    println!("STP triangle converged in {converged:?}");
    net.wait("the topology change after start-up to end", Duration::from_secs(20), || {
        net.halb_bridge("h").is_some_and(|report| report["topology_change"] == false)
    });

    // A hitless upgrade of h's daemon: no port of any bridge changes state,
    // h's tree and its topology change count stay as they were.
    let before = net.halb_bridge("h").unwrap();
    let ports_before = net.halb_ports("h");
    let kernel_before: Vec<_> =
        ["h", "k1", "k2"].iter().map(|node| net.kernel_states(node)).collect();
    let old_pid = net.halb_status_pid("h");
    let upgrade = Command::new(halb_bin())
        .args(["upgrade", "--node", &net.node_name("h"), "--run-dir"])
        .arg(net.run_dir())
        .spawn()
        .unwrap();
    let upgrade = std::thread::spawn(move || upgrade.wait_with_output().unwrap());
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(4) {
        let kernel: Vec<_> = ["h", "k1", "k2"].iter().map(|node| net.kernel_states(node)).collect();
        assert_eq!(kernel, kernel_before, "a kernel port state changed during the upgrade");
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(upgrade.join().unwrap().status.success(), "{}", net.log("h"));
    assert_ne!(net.halb_status_pid("h"), old_pid, "a new process serves h");
    let after = net.halb_bridge("h").unwrap();
    assert_eq!(after["topology_change_count"], before["topology_change_count"], "{after:#}");
    assert_eq!(after["root_id"], before["root_id"]);
    assert_eq!(net.halb_ports("h"), ports_before);
    let report = net.halb_bridge("h").unwrap();
    assert!(report["root_id"].as_str().unwrap().starts_with("1000."), "k1 is root: {report}");
    assert_eq!(report["root_port"], "to-k1");
    net.wait("h reaches k1 over the tree", Duration::from_secs(5), || net.ping("h", "10.77.0.1"));
    net.wait("h reaches k2 over the tree (through k1)", Duration::from_secs(5), || {
        net.ping("h", "10.77.0.2")
    });

    // Cut h's root cable: h's port to k2 must take over (listening,
    // learning: twice the forward delay in STP).
    let cut = Instant::now();
    net.set_cable("k1", "h", false);
    let recovered = net.wait("ping from h to k1 through k2", Duration::from_secs(30), || {
        net.ping("h", "10.77.0.1")
    });
    println!("STP re-converged, ping recovered {:?} after the cut", cut.elapsed());
    assert!(recovered >= Duration::from_secs(2 * FAST.2 - 1), "STP waits for forward delay");
    let h = net.halb_ports("h");
    assert_eq!(h["to-k2"].0, "Root");
    assert!(is_forwarding(&net.kernel_states("h"), "to-k2"));
}

/// (b) + (d) halb in RSTP mode next to kernel (STP) bridges: its ports fall
/// back to STP BPDUs. With a better priority than k2, halb is designated on
/// the k2-h segment, k2's port is the blocked one, and the kernel says so:
/// k2 accepted halb's BPDUs (designated bridge = halb, root = k1), and
/// tcpdump on that cable decodes them as 802.1D configuration BPDUs.
#[test]
fn rstp_bridge_falls_back_to_stp_next_to_kernel_bridges() {
    let net = triangle("rstp", 32768, 36864);
    let converged =
        net.wait("k2's port to h blocked, h designated", Duration::from_secs(40), || {
            let h = net.halb_ports("h");
            let k2 = net.kernel_states("k2");
            h.get("to-k1").is_some_and(|(role, state, mode)| {
                role == "Root" && state == "forwarding" && mode == "stp"
            }) && h.get("to-k2").is_some_and(|(role, state, mode)| {
                role == "Designated" && state == "forwarding" && mode == "stp"
            }) && k2.get("to-h").map(String::as_str) == Some("blocking")
                && is_forwarding(&k2, "to-k1")
        });
    println!("RSTP-next-to-STP triangle converged in {converged:?}");
    let report = net.halb_bridge("h").unwrap();
    let bridge_id = report["bridge_id"].as_str().unwrap().to_owned();
    let detail = net.kernel_port_detail("k2", "to-h");
    // "8000.5a:b9:90:0:9:3c" (iproute2) or "8000.5ab99000093c" (halb).
    let strip = |id: &str| {
        let (priority, mac) = id.split_once('.').unwrap();
        let octets: Vec<String> = if mac.contains(':') {
            mac.split(':').map(|octet| format!("{:0>2}", octet.to_lowercase())).collect()
        } else {
            vec![mac.to_lowercase()]
        };
        format!("{priority}.{}", octets.concat())
    };
    assert_eq!(
        strip(detail["bridge_id"].as_str().unwrap()),
        strip(&bridge_id),
        "the kernel took halb's BPDUs: {detail}"
    );
    assert!(strip(detail["root_id"].as_str().unwrap()).starts_with("1000"), "{detail}");

    // (d) On the cable, as tcpdump decodes it.
    let capture = Command::new("ip")
        .args(["netns", "exec", &net.ns("k2"), "timeout", "5", "tcpdump", "-n", "-v", "-c", "2"])
        .args(["-i", "to-h", "ether", "dst", "01:80:c2:00:00:00"])
        .output()
        .expect("tcpdump");
    let text = String::from_utf8_lossy(&capture.stdout);
    println!("tcpdump on k2/to-h:\n{text}");
    assert!(text.contains("STP 802.1d, Config"), "802.1D config BPDUs on the wire: {text}");
    let (priority, mac) = bridge_id.split_once('.').unwrap();
    let mac: Vec<String> =
        mac.as_bytes().chunks(2).map(|pair| String::from_utf8_lossy(pair).into_owned()).collect();
    let tcpdump_id = format!("bridge-id {priority}.{}", mac.join(":"));
    assert!(text.contains(&tcpdump_id), "{tcpdump_id} on the wire: {text}");

    // Cut h's root cable: h must learn the root through k2 (whose port to
    // h turns designated), and the ping recovers.
    net.set_cable("k1", "h", false);
    let recovered = net.wait("ping from h to k1 through k2", Duration::from_secs(40), || {
        net.ping("h", "10.77.0.1")
    });
    println!("re-converged after the cut, ping recovered in {recovered:?}");
    assert_eq!(net.halb_ports("h")["to-k2"].0, "Root");
}

/// (c) Three halb bridges in RSTP (default timers, forward delay 15 s):
/// the tree forms by proposal/agreement, well under 2 x forward delay;
/// when the root port's cable is cut the alternate takes over at once;
/// and no loop ever forms (sampled states, and no duplicate pings).
#[test]
fn three_rstp_bridges_converge_fast_and_never_loop() {
    let mut net = Net::new();
    for (node, address) in [("a", "10.78.0.1/24"), ("b", "10.78.0.2/24"), ("c", "10.78.0.3/24")] {
        net.switch(node, Switch::Halb, address);
    }
    net.cable("a", "b");
    net.cable("a", "c");
    net.cable("b", "c");
    let defaults = (2, 20, 15);
    let started = Instant::now();
    net.start_halb("a", "rstp", 4096, defaults, &["b", "c"], None);
    net.start_halb("b", "rstp", 32768, defaults, &["a", "c"], None);
    net.start_halb("c", "rstp", 36864, defaults, &["a", "b"], None);
    net.wait("three daemons running", Duration::from_secs(20), || {
        ["a", "b", "c"]
            .iter()
            .all(|node| net.halb_bridge(node).is_some_and(|report| report["state"] == "running"))
    });
    let running = started.elapsed();

    // Loop watch: a loop needs all three cables forwarding at both ends.
    let mut loops = 0;
    let mut samples = 0;
    let mut sample = |net: &Net| {
        let views: Vec<_> = ["a", "b", "c"].iter().map(|node| net.halb_ports(node)).collect();
        let forwarding = |view: &BTreeMap<String, (String, String, String)>, port: &str| {
            view.get(port).is_some_and(|(_, state, _)| state == "forwarding")
        };
        let ab = forwarding(&views[0], "to-b") && forwarding(&views[1], "to-a");
        let ac = forwarding(&views[0], "to-c") && forwarding(&views[2], "to-a");
        let bc = forwarding(&views[1], "to-c") && forwarding(&views[2], "to-b");
        samples += 1;
        if ab && ac && bc {
            loops += 1;
        }
        (views, ab, ac, bc)
    };
    let converged = net.wait("RSTP tree: c's port to b alternate", Duration::from_secs(20), || {
        let (views, ab, ac, bc) = sample(&net);
        ab && ac
            && !bc
            && views[2].get("to-b").is_some_and(|(role, _, _)| role == "Alternate")
            && views[1]
                .get("to-c")
                .is_some_and(|(role, state, _)| role == "Designated" && state == "forwarding")
    });
    println!("RSTP: daemons up after {running:?}, tree converged {converged:?} later");
    assert!(
        converged < Duration::from_secs(defaults.2),
        "RSTP converged in {converged:?}; 2 x forward delay would be {} s",
        2 * defaults.2
    );
    net.wait("c reaches a", Duration::from_secs(5), || net.ping("c", "10.78.0.1"));
    net.wait("c reaches b (through a)", Duration::from_secs(5), || net.ping("c", "10.78.0.2"));

    // Cut c's root cable: the alternate (c's port to b) takes over.
    net.set_cable("a", "c", false);
    let takeover = net.wait("c's port to b root and forwarding", Duration::from_secs(10), || {
        let (views, ..) = sample(&net);
        views[2].get("to-b").is_some_and(|(role, state, _)| role == "Root" && state == "forwarding")
    });
    println!("RSTP: alternate took over {takeover:?} after the cut");
    assert!(takeover < Duration::from_secs(3), "alternate took {takeover:?}");
    let recovered = net
        .wait("ping from c to a through b", Duration::from_secs(10), || net.ping("c", "10.78.0.1"));
    println!("RSTP: ping recovered {recovered:?} after the takeover");

    // Restore the cable: the tree goes back, still without a loop.
    net.set_cable("a", "c", true);
    net.wait("c's root port back to a", Duration::from_secs(20), || {
        let (views, ..) = sample(&net);
        views[2].get("to-a").is_some_and(|(role, state, _)| role == "Root" && state == "forwarding")
            && views[2].get("to-b").is_some_and(|(role, _, _)| role == "Alternate")
            && views[0]
                .get("to-c")
                .is_some_and(|(role, state, _)| role == "Designated" && state == "forwarding")
    });
    net.wait("c reaches a again", Duration::from_secs(5), || net.ping("c", "10.78.0.1"));
    for _ in 0..20 {
        sample(&net);
    }
    println!("RSTP: {samples} samples of all port states, {loops} with a loop");
    assert_eq!(loops, 0, "a loop formed in {loops} of {samples} samples");

    for target in ["10.78.0.1", "10.78.0.2"] {
        let ping = Command::new("ip")
            .args(["netns", "exec", &net.ns("c"), "ping", "-c", "20", "-i", "0.05", target])
            .output()
            .expect("ping");
        let text = String::from_utf8_lossy(&ping.stdout);
        let duplicates = text.lines().filter(|line| line.contains("(DUP!)")).count();
        let replies = text.lines().filter(|line| line.contains("bytes from")).count();
        assert_eq!((replies, duplicates), (20, 0), "ping {target} from c: {text}");
    }
    for node in ["a", "b", "c"] {
        let report = net.halb_bridge(node).unwrap();
        for port in report["ports"].as_array().unwrap() {
            assert_eq!(port["bpdus_malformed"], 0, "{node}: {port}");
            assert!(port["datapath"]["bpdu_in"].as_u64().unwrap_or(0) > 0, "{node}: {port}");
        }
    }
}

/// Cables of `net` forwarding at both ends, by the kernels' port states
/// (halb keeps them in line: its discarding ports are `disabled` there,
/// and it opens the kernel port before its datapath, closes it after).
fn open_cables(net: &Net, cables: &[(&str, &str)]) -> usize {
    let views: BTreeMap<&str, BTreeMap<String, String>> = cables
        .iter()
        .flat_map(|(a, b)| [*a, *b])
        .map(|node| (node, net.kernel_states(node)))
        .collect();
    cables
        .iter()
        .filter(|(a, b)| {
            is_forwarding(&views[a], &format!("to-{b}"))
                && is_forwarding(&views[b], &format!("to-{a}"))
        })
        .count()
}

/// halb's role and state of `port` on `node`, as `"Role/state"`.
fn role_state(net: &Net, node: &str, port: &str) -> String {
    net.halb_ports(node)
        .get(port)
        .map(|(role, state, _)| format!("{role}/{state}"))
        .unwrap_or_default()
}

/// Reloading `[[host.bridge]]` (SIGHUP and `halb reload`) adds, changes
/// and removes a bridge's STP without restarting the daemon, and no loop
/// opens at any point. A triangle: halb RSTP on `a` (root, 4096) and `b`
/// (32768); `c` (36864) starts with kernel STP under a daemon that runs no
/// bridge. Reload 1 adds br0 to c's daemon (it takes the bridge from the
/// kernel; c's port to b stays the blocked one); reload 2 changes c's
/// priority to 0 (c becomes root, the block moves to b's port to a);
/// reload 3 removes the block (the kernel's STP takes c back; cutting c's
/// cable to a then re-converges through b: the kernel uses the port halb
/// had blocked). Throughout, c pings a every 20 ms: a duplicated reply
/// means a loop; and the three cables are never all forwarding.
#[test]
#[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
fn reload_adds_changes_and_removes_a_bridge_without_a_loop() {
    let mut net = Net::new();
    net.switch("a", Switch::Halb, "10.79.0.1/24");
    net.switch("b", Switch::Halb, "10.79.0.2/24");
    net.switch("c", Switch::Kernel(36864), "10.79.0.3/24");
    net.cable("a", "b");
    net.cable("a", "c");
    net.cable("b", "c");
    // Cost 2 everywhere, as the kernel's 10G veth ports: c's root path
    // cost is the same under either STP, so b wins the b-c segment.
    let halb_c = |priority| bridge_section("rstp", priority, FAST, &["a", "b"], Some(2));
    net.start_halb("a", "rstp", 4096, FAST, &["b", "c"], Some(2));
    net.start_halb("b", "rstp", 32768, FAST, &["a", "c"], Some(2));
    // c's daemon observes its ports (classifier only) and runs no bridge.
    let observed = ["to-a", "to-b"];
    net.start_daemon("c", &observed, &[]);
    let c_pid = net.daemons.last().map(|(_, child)| child.id()).unwrap();
    let cables = [("a", "b"), ("a", "c"), ("b", "c")];
    let mut samples = 0;
    let mut loops = 0;
    let mut watch = |net: &Net| {
        samples += 1;
        if open_cables(net, &cables) == cables.len() {
            loops += 1;
        }
    };

    net.wait("kernel c blocks its port to b, a is root", Duration::from_secs(40), || {
        watch(&net);
        let c = net.kernel_states("c");
        is_forwarding(&c, "to-a")
            && c.get("to-b").map(String::as_str) == Some("blocking")
            && role_state(&net, "b", "to-c") == "Designated/forwarding"
            && role_state(&net, "b", "to-a") == "Root/forwarding"
            && role_state(&net, "a", "to-c") == "Designated/forwarding"
    });
    assert!(net.halb_bridge("c").is_none(), "c's daemon runs no bridge yet");
    // The first ping also resolves b's address; give it a few tries.
    net.wait("c reaches b through a", Duration::from_secs(5), || net.ping("c", "10.79.0.2"));
    // Bounded by a count (5 minutes): with `-w` ping would stop at the first
    // error notification (the cut below).
    let ping_log = net.dir.join("ping.log");
    let mut pinger = Command::new("ip")
        .args(["netns", "exec", &net.ns("c"), "ping", "-n", "-i", "0.02", "-c", "15000"])
        .arg("10.79.0.1")
        .stdout(std::fs::File::create(&ping_log).unwrap())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .expect("ping");

    // 1. Add: c's daemon takes br0 over from the kernel (`halb reload`).
    net.write_config("c", &observed, &[halb_c(36864)]);
    let reload = |net: &Net| {
        let out = Command::new(halb_bin())
            .args(["reload", "--node", &net.node_name("c"), "--run-dir"])
            .arg(net.run_dir())
            .output()
            .expect("halb reload");
        assert!(out.status.success(), "reload: {}", String::from_utf8_lossy(&out.stderr));
    };
    reload(&net);
    let took =
        net.wait("halb runs c: port to a root, to b alternate", Duration::from_secs(40), || {
            watch(&net);
            net.halb_bridge("c").is_some_and(|r| r["state"] == "running")
                && role_state(&net, "c", "to-a") == "Root/forwarding"
                && role_state(&net, "c", "to-b").starts_with("Alternate/")
        });
    println!("reload 1 (add): c under halb after {took:?}");
    let stp_state =
        sh(&["ip", "netns", "exec", &net.ns("c"), "cat", "/sys/class/net/br0/bridge/stp_state"]);
    assert_eq!(String::from_utf8_lossy(&stp_state.stdout).trim(), "0", "kernel STP off on c");

    // 2. Change: c's priority 0 makes it root (SIGHUP).
    net.write_config("c", &observed, &[halb_c(0)]);
    // SAFETY: kill(2) on the pid of our own child, still running.
    assert_eq!(unsafe { libc::kill(i32::try_from(c_pid).unwrap(), libc::SIGHUP) }, 0);
    let took = net.wait("c root, b's port to a alternate", Duration::from_secs(40), || {
        watch(&net);
        net.halb_bridge("c").is_some_and(|r| {
            r["state"] == "running"
                && r["root_id"].as_str().is_some_and(|id| id.starts_with("0000."))
        }) && role_state(&net, "c", "to-a") == "Designated/forwarding"
            && role_state(&net, "c", "to-b") == "Designated/forwarding"
            && role_state(&net, "a", "to-c") == "Root/forwarding"
            && role_state(&net, "b", "to-a").starts_with("Alternate/")
    });
    println!("reload 2 (change): c root after {took:?}");
    // And back (SIGHUP again): c's port to b is the blocked one when the
    // bridge is handed back to the kernel below.
    net.write_config("c", &observed, &[halb_c(36864)]);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(i32::try_from(c_pid).unwrap(), libc::SIGHUP) }, 0);
    let took = net.wait("a root again, c's port to b alternate", Duration::from_secs(40), || {
        watch(&net);
        role_state(&net, "c", "to-a") == "Root/forwarding"
            && role_state(&net, "c", "to-b").starts_with("Alternate/")
            && role_state(&net, "b", "to-a") == "Root/forwarding"
    });
    println!("reload 3 (change back): a root after {took:?}");

    // 3. Remove: the kernel's STP runs c again (`halb reload`).
    net.write_config("c", &observed, &[]);
    reload(&net);
    let took = net.wait("kernel STP back on c, a root again", Duration::from_secs(40), || {
        watch(&net);
        let stp = Command::new("ip")
            .args(["netns", "exec", &net.ns("c"), "cat", "/sys/class/net/br0/bridge/stp_state"])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default();
        let c = net.kernel_states("c");
        stp == "1"
            && net.halb_bridge("c").is_none()
            && is_forwarding(&c, "to-a")
            && role_state(&net, "b", "to-a") == "Root/forwarding"
    });
    println!("reload 4 (remove): kernel STP on c after {took:?}");
    // The kernel uses every port again: without c's cable to a, c
    // reaches a through its port to b.
    net.set_cable("a", "c", false);
    let took = net.wait("c reaches a through b", Duration::from_secs(40), || {
        watch(&net);
        net.ping("c", "10.79.0.1")
    });
    println!("kernel c re-converged through b {took:?} after the cut");
    net.set_cable("a", "c", true);
    net.wait("c's kernel tree back: port to b blocking", Duration::from_secs(40), || {
        watch(&net);
        net.kernel_states("c").get("to-b").map(String::as_str) == Some("blocking")
    });

    signal(&pinger, libc::SIGINT);
    let _ = pinger.wait();
    let text = std::fs::read_to_string(&ping_log).unwrap_or_default();
    let replies = text.lines().filter(|line| line.contains("bytes from")).count();
    let duplicates = text.lines().filter(|line| line.contains("(DUP!)")).count();
    println!("{samples} samples of the cables, {loops} with a loop; ping: {replies} replies, {duplicates} duplicated");
    assert!(replies > 100, "c kept reaching a: {text}");
    assert_eq!(duplicates, 0, "a loop duplicated replies: {text}");
    assert_eq!(loops, 0, "all three cables forwarding in {loops} of {samples} samples");
    let log = net.log("c");
    assert_eq!(log.matches("daemon ready").count(), 1, "c's daemon never restarted:\n{log}");
    assert!(
        net.daemons.iter_mut().all(|(_, child)| child.try_wait().unwrap().is_none()),
        "a daemon exited"
    );
}
