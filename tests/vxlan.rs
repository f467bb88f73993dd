//! halb's VXLAN against the Linux `vxlan` device and against itself, in
//! network namespaces of its own. Each "host" has an external bridge
//! `vswout` holding the underlay address 172.16.1.15N/24 (joined to the
//! other hosts through a switch namespace) and an internal bridge `vswin`
//! with two endpoint namespaces (10.0.0.N/24, MTU 1450, as the lab).
//!
//! Each test uses its own namespace prefix (`hvx<pid>-<n>`), so tests run
//! in parallel and never touch a lab a user has up.

use std::{
    io::{Read as _, Write as _},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use halb_tests::{halb_bin, sh, terminate};
use xtask::harness::{
    halb_config::{self, ConfigFile, HostSection, VxlanSection},
    topology::{self, Namespaces, Veth},
};

static NEXT: AtomicU32 = AtomicU32::new(0);
const VNI: u32 = 42;
/// Bytes of each TCP transfer.
const TRANSFER: usize = 10 * 1024 * 1024;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Impl {
    Halb,
    Kernel,
}

struct Lab {
    prefix: String,
    dir: PathBuf,
    hosts: Vec<Impl>,
    /// Removed newest first after `Drop` below stopped the daemons.
    namespaces: Namespaces,
    daemons: Vec<(usize, Child)>,
}

fn underlay(host: usize) -> String {
    format!("172.16.1.{}", 150 + host)
}

/// Endpoint `index` (0 or 1) of `host`: its address and MAC.
fn endpoint(host: usize, index: usize) -> (String, String) {
    (
        format!("10.0.0.{}", 10 * host + index + 1),
        format!("02:00:00:00:{host:02x}:{:02x}", index + 1),
    )
}

impl Lab {
    fn new(hosts: &[Impl]) -> Self {
        let prefix = format!("hvx{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(dir.join("run")).unwrap();
        let mut lab = Self {
            prefix,
            dir,
            hosts: hosts.to_vec(),
            namespaces: Namespaces::default(),
            daemons: Vec::new(),
        };
        let sw = lab.add_ns("sw");
        topology::add_bridge(&sw, "br0", None, &[]).expect("switch bridge");
        topology::set_up(&sw, "br0").expect("switch bridge up");
        for host in 0..hosts.len() {
            let ns = lab.add_ns(&format!("h{host}"));
            for bridge in ["vswout", "vswin"] {
                topology::add_bridge(&ns, bridge, None, &[]).expect("host bridge");
                topology::set_up(&ns, bridge).expect("host bridge up");
            }
            topology::add_address(&ns, &format!("{}/24", underlay(host)), "vswout")
                .expect("underlay address");
            let port = format!("p{host}");
            let uplink =
                Veth { ns: &ns, name: "up0", peer: &port, peer_ns: Some(&sw), ..Veth::default() };
            uplink.create().expect("uplink");
            topology::attach_up(&ns, "up0", "vswout").expect("uplink on vswout");
            topology::attach_up(&sw, &port, "br0").expect("uplink on the switch");
            for index in 0..2 {
                let (address, mac) = endpoint(host, index);
                let end = lab.add_ns(&format!("e{host}{index}"));
                let side = format!("e{index}");
                let cable = Veth {
                    ns: &end,
                    name: "eth0",
                    address: Some(&mac),
                    mtu: Some(1450),
                    peer: &side,
                    peer_mtu: Some(1450),
                    peer_ns: Some(&ns),
                };
                cable.create().expect("endpoint cable");
                topology::attach_up(&ns, &side, "vswin").expect("endpoint on vswin");
                topology::add_address(&end, &format!("{address}/24"), "eth0")
                    .expect("endpoint address");
                topology::set_up(&end, "eth0").expect("endpoint up");
            }
        }
        for (host, kind) in hosts.iter().enumerate() {
            match kind {
                Impl::Kernel => lab.kernel_vxlan(host),
                Impl::Halb => lab.start_halb(host, &lab.remotes(host)),
            }
        }
        for (host, kind) in hosts.iter().enumerate() {
            if *kind == Impl::Halb {
                lab.wait_running(host);
            }
        }
        lab
    }

    /// Namespace `<prefix>-<name>` (IPv6 off: no DAD or router solicitations in the counters).
    fn add_ns(&mut self, name: &str) -> String {
        let ns = format!("{}-{name}", self.prefix);
        self.namespaces.add(&ns).expect("namespace");
        ns
    }

    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    fn remotes(&self, host: usize) -> Vec<String> {
        (0..self.hosts.len()).filter(|other| *other != host).map(underlay).collect()
    }

    /// A Linux vxlan device as the lab's classic stack builds it, with one
    /// all-zeros FDB entry per remote (head-end replication).
    fn kernel_vxlan(&self, host: usize) {
        let ns = self.ns(&format!("h{host}"));
        sh(&[
            "ip",
            "-n",
            &ns,
            "link",
            "add",
            "vxlan42",
            "type",
            "vxlan",
            "id",
            &VNI.to_string(),
            "dstport",
            "4789",
            "local",
            &underlay(host),
            "dev",
            "vswout",
        ]);
        for remote in self.remotes(host) {
            sh(&[
                "bridge",
                "-n",
                &ns,
                "fdb",
                "append",
                "00:00:00:00:00:00",
                "dev",
                "vxlan42",
                "dst",
                &remote,
            ]);
        }
        sh(&["ip", "-n", &ns, "link", "set", "vxlan42", "mtu", "1450", "master", "vswin", "up"]);
    }

    fn node(&self, host: usize) -> String {
        format!("{}-h{host}", self.prefix)
    }

    fn config_path(&self, host: usize) -> PathBuf {
        self.dir.join(format!("h{host}.toml"))
    }

    fn write_config(&self, host: usize, remotes: &[String]) {
        let vxlan = VxlanSection {
            vni: i64::from(VNI),
            local: underlay(host),
            underlay: "vswout".into(),
            bridge: "vswin".into(),
            remotes: remotes.to_vec(),
            ..VxlanSection::default()
        };
        let file = ConfigFile {
            daemon: halb_config::daemon(&self.node(host)),
            host: Some(HostSection {
                netns: Some(self.ns(&format!("h{host}"))),
                vxlan: Some(vxlan),
                ..HostSection::default()
            }),
            balancer: Vec::new(),
        };
        let text = halb_config::to_toml("halb for the vxlan test", &file).unwrap();
        std::fs::write(self.config_path(host), text).unwrap();
    }

    fn start_halb(&mut self, host: usize, remotes: &[String]) {
        self.write_config(host, remotes);
        let log = std::fs::File::create(self.dir.join(format!("h{host}.log"))).unwrap();
        let child = Command::new(halb_bin())
            .args(["run", "--config"])
            .arg(self.config_path(host))
            .arg("--run-dir")
            .arg(self.dir.join("run"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn halb");
        self.daemons.push((host, child));
    }

    fn log(&self, host: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("h{host}.log"))).unwrap_or_default()
    }

    fn halb(&self, args: &[&str]) -> std::process::Output {
        Command::new(halb_bin())
            .args(args)
            .arg("--run-dir")
            .arg(self.dir.join("run"))
            .output()
            .unwrap()
    }

    /// `halb vxlan stats --json` of `host`'s daemon.
    fn stats(&self, host: usize) -> Option<serde_json::Value> {
        let output = self.halb(&["vxlan", "stats", "--json", "--node", &self.node(host)]);
        if !output.status.success() {
            return None;
        }
        let reports: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        reports.get(0).cloned()
    }

    fn counter(&self, host: usize, group: &str, name: &str) -> u64 {
        let stats = self.stats(host).expect("daemon answers");
        stats[group][name]["packets"]
            .as_u64()
            .unwrap_or_else(|| panic!("no {group}.{name} in {stats}"))
    }

    fn wait_running(&self, host: usize) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if self.stats(host).is_some_and(|stats| stats["state"] == "running") {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("halb on h{host} not running: {:?}\n--- log:\n{}", self.stats(host), self.log(host));
    }

    /// Pings `to` from endpoint namespace `from` (a few tries: ARP first).
    fn ping(&self, from: &str, to: &str) -> bool {
        (0..3).any(|_| {
            Command::new("ip")
                .args(["netns", "exec", &self.ns(from), "ping", "-c", "1", "-W", "1", to])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
    }

    fn endpoints(&self) -> Vec<(String, String)> {
        (0..self.hosts.len())
            .flat_map(|host| {
                (0..2).map(move |index| (format!("e{host}{index}"), endpoint(host, index).0))
            })
            .collect()
    }

    /// Every endpoint pings every other one.
    fn assert_all_pairs_ping(&self) {
        let endpoints = self.endpoints();
        for (from, _) in &endpoints {
            for (to_ns, to) in &endpoints {
                if from != to_ns {
                    assert!(
                        self.ping(from, to),
                        "{from} cannot ping {to_ns} ({to})\n{}",
                        self.logs()
                    );
                }
            }
        }
    }

    fn logs(&self) -> String {
        (0..self.hosts.len())
            .filter(|host| self.hosts[*host] == Impl::Halb)
            .map(|host| {
                format!(
                    "--- h{host} stats: {:?}\n--- h{host} log:\n{}",
                    self.stats(host),
                    self.log(host)
                )
            })
            .collect::<Vec<_>>()
            .concat()
    }

    /// Sends `TRANSFER` pseudo-random bytes over TCP from endpoint `from`
    /// to endpoint `to` (address `to_address`); asserts they arrive intact,
    /// without checksum errors, and merged on the way in: the receiving
    /// tunnel (halb's veth GRO, the kernel device's GRO cells) hands the
    /// endpoint far fewer TCP segments than the 1398-byte segments on the
    /// wire.
    fn tcp_transfer(&self, from: &str, to: &str, to_address: &str) {
        let segments_before = self.snmp(to, "Tcp", "InSegs");
        let data = pattern(TRANSFER);
        let expected = fnv1a(&data);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let bind = format!("{to_address}:5001");
        let server_ns = self.ns(to);
        let server = std::thread::spawn(move || {
            enter(&server_ns);
            let listener = std::net::TcpListener::bind(&bind).expect("bind");
            ready_tx.send(()).unwrap();
            let (mut stream, _) = listener.accept().expect("accept");
            stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut received = Vec::with_capacity(TRANSFER);
            stream.read_to_end(&mut received).expect("read the transfer");
            received
        });
        ready_rx.recv_timeout(Duration::from_secs(5)).expect("server up");
        let client_ns = self.ns(from);
        let address = format!("{to_address}:5001");
        let started = Instant::now();
        std::thread::spawn(move || {
            enter(&client_ns);
            let target = address.parse().unwrap();
            let mut stream = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(5))
                .expect("connect");
            stream.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
            stream.write_all(&data).expect("send the transfer");
        })
        .join()
        .expect("client");
        let received = server.join().expect("server");
        println!("{from} -> {to}: {} bytes in {:?}", received.len(), started.elapsed());
        assert_eq!(received.len(), TRANSFER, "{from} -> {to}: length");
        assert_eq!(fnv1a(&received), expected, "{from} -> {to}: content differs");
        assert_eq!(self.snmp(to, "Tcp", "InCsumErrors"), 0, "{to} saw TCP checksum errors");
        let received_segments = self.snmp(to, "Tcp", "InSegs") - segments_before;
        let wire_segments = (TRANSFER / 1398) as u64;
        assert!(
            received_segments < wire_segments / 4,
            "{to} received {received_segments} TCP segments for {wire_segments} on the wire: not merged (GRO)\n{}",
            self.logs()
        );
    }

    /// Counter `name` of `proto` (e.g. `Tcp: InCsumErrors`) of an endpoint
    /// namespace (/proc/net/snmp).
    fn snmp(&self, node: &str, proto: &str, name: &str) -> u64 {
        let output = sh(&["ip", "netns", "exec", &self.ns(node), "cat", "/proc/net/snmp"]);
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let prefix = format!("{proto}:");
        let mut lines = text.lines().filter(|line| line.starts_with(&prefix));
        let (names, values) = (lines.next().unwrap(), lines.next().unwrap());
        let column = names.split_whitespace().position(|column| column == name).unwrap();
        values.split_whitespace().nth(column).unwrap().parse().unwrap()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.daemons {
            terminate(child, Duration::from_secs(5));
        }
        for host in 0..self.hosts.len() {
            let _ = std::fs::remove_dir_all(format!("/sys/fs/bpf/halb/{}", self.node(host)));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Moves this (short-lived test) thread into namespace `ns`.
fn enter(ns: &str) {
    use std::os::fd::AsRawFd as _;
    let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("namespace file");
    // SAFETY: setns on a thread of the test's own; the fd is open.
    assert_eq!(unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) }, 0, "setns {ns}");
}

fn pattern(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Both directions of a two-host tunnel: pings, 10 MB each way over TCP,
/// the halb side's counters and learned FDB.
fn two_hosts(a: Impl, b: Impl) {
    let lab = Lab::new(&[a, b]);
    lab.assert_all_pairs_ping();
    lab.tcp_transfer("e00", "e10", "10.0.0.11");
    lab.tcp_transfer("e11", "e01", "10.0.0.2");
    for host in [0, 1] {
        if lab.hosts[host] != Impl::Halb {
            continue;
        }
        let other = 1 - host;
        let encapsulated = lab.counter(host, "counters", "encapsulated");
        assert!(encapsulated > 0);
        // TSO'd TCP is encapsulated whole (UDP tunnel GSO), not per
        // 1450-byte segment: 20 MB took far fewer encapsulations.
        let encapsulated_bytes =
            lab.stats(host).unwrap()["counters"]["encapsulated"]["bytes"].as_u64().unwrap();
        assert!(
            encapsulated_bytes / encapsulated > 2 * 1514,
            "{encapsulated_bytes} bytes in {encapsulated} encapsulations: GSO frames were not kept whole"
        );
        assert!(lab.counter(host, "counters", "decapsulated") > 0);
        let drops: u64 = lab.stats(host).unwrap()["drops"]
            .as_object()
            .unwrap()
            .values()
            .map(|counter| counter["packets"].as_u64().unwrap())
            .sum();
        assert_eq!(drops, 0, "nothing dropped\n{}", lab.logs());
        let fdb = lab.halb(&["vxlan", "fdb", "--json", "--node", &lab.node(host)]);
        let fdb: serde_json::Value = serde_json::from_slice(&fdb.stdout).unwrap();
        for index in 0..2 {
            let (_, mac) = endpoint(other, index);
            let row = fdb[0]["fdb"]
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["mac"] == mac.as_str())
                .unwrap_or_else(|| panic!("{mac} not learned: {fdb}"));
            assert_eq!(row["vtep"], underlay(other).as_str());
            assert_eq!(row["kind"], "learned");
        }
    }
}

#[test]
fn halb_to_kernel_vxlan() {
    two_hosts(Impl::Halb, Impl::Kernel);
}

#[test]
fn kernel_to_halb_vxlan() {
    two_hosts(Impl::Kernel, Impl::Halb);
}

#[test]
fn halb_on_both_sides() {
    two_hosts(Impl::Halb, Impl::Halb);
}

/// Three hosts: a broadcast from host 0 reaches both remote VTEPs
/// (head-end replication), then everyone reaches everyone.
#[test]
fn flooding_reaches_two_remote_vteps() {
    let lab = Lab::new(&[Impl::Halb, Impl::Halb, Impl::Halb]);
    let before: Vec<u64> =
        (1..3).map(|host| lab.counter(host, "counters", "decapsulated")).collect();
    // An address nobody has: its ARP requests are broadcast and flooded.
    assert!(!lab.ping("e00", "10.0.0.99"));
    assert!(lab.counter(0, "counters", "flooded") >= 1);
    assert!(lab.counter(0, "counters", "encapsulated") >= 2);
    for host in 1..3 {
        let after = lab.counter(host, "counters", "decapsulated");
        assert!(after > before[host - 1], "h{host} got no flooded copy\n{}", lab.logs());
    }
    lab.assert_all_pairs_ping();
}

/// A frame over the tunnel MTU is dropped and counted, never silently lost.
#[test]
fn frames_over_the_mtu_are_counted() {
    let lab = Lab::new(&[Impl::Halb, Impl::Kernel]);
    assert!(lab.ping("e00", "10.0.0.11"));
    let ns = lab.ns("e00");
    let host = lab.ns("h0");
    sh(&["ip", "-n", &host, "link", "set", "e0", "mtu", "1500"]);
    sh(&["ip", "-n", &ns, "link", "set", "eth0", "mtu", "1500"]);
    let big = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            "ping",
            "-c",
            "1",
            "-W",
            "1",
            "-M",
            "do",
            "-s",
            "1472",
            "10.0.0.11",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(!big.success(), "a 1514-byte frame cannot cross a 1450-byte tunnel");
    assert_eq!(lab.counter(0, "drops", "too_big"), 1, "{}", lab.logs());
    assert!(lab.ping("e00", "10.0.0.11"), "small frames still pass");
}

/// Adding a remote VTEP and reloading rewrites the maps: the tunnel port
/// and the attached programs stay, the new host becomes reachable.
#[test]
fn reload_adds_a_remote_without_restarting() {
    let mut lab = Lab::new(&[Impl::Kernel, Impl::Kernel, Impl::Kernel]);
    // Host 0 becomes halb, first knowing host 1 only.
    let h0 = lab.ns("h0");
    sh(&["ip", "-n", &h0, "link", "del", "vxlan42"]);
    lab.start_halb(0, &[underlay(1)]);
    lab.wait_running(0);
    assert!(lab.ping("e00", "10.0.0.11"));
    assert!(!lab.ping("e00", "10.0.0.21"), "host 2 is not a remote yet");
    let index_before = sh(&["ip", "-n", &h0, "-o", "link", "show", "vxl0"]).stdout;
    lab.write_config(0, &[underlay(1), underlay(2)]);
    let reload = lab.halb(&["reload", "--node", &lab.node(0)]);
    assert!(reload.status.success(), "{}", String::from_utf8_lossy(&reload.stderr));
    assert!(lab.ping("e00", "10.0.0.21"), "host 2 reachable after the reload\n{}", lab.logs());
    assert!(lab.ping("e01", "10.0.0.22"));
    let index_after = sh(&["ip", "-n", &h0, "-o", "link", "show", "vxl0"]).stdout;
    let index = |line: &[u8]| String::from_utf8_lossy(line).split(':').next().unwrap().to_owned();
    assert_eq!(index(&index_before), index(&index_after), "the tunnel port was not recreated");
    assert!(lab.log(0).matches("vxlan tunnel up").count() == 1, "started once\n{}", lab.log(0));
}
