//! halb's VRRP against itself and against Debian's keepalived, in network
//! namespaces of its own: two balancers and a client on one bridge (a
//! switch namespace), the lab's VRID 12 and VIP 172.16.1.254.
//!
//! Each test uses its own namespace prefix (`hvt<pid>-<n>`), so tests run
//! in parallel and never touch a lab a user has up. Failover times are
//! printed, not asserted against targets (that is `cargo xtask bench vrrp`);
//! the assertions are about who is master, and about the path taken
//! (a graceful stop must not wait for the master-down timer).

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use halb_common::checksum::internet_checksum;
use halb_tests::{halb_bin, sh, switched_nodes, terminate};
use xtask::harness::{
    halb_config::{self, strings, BalancerSection, ConfigFile, VrrpSection},
    topology::Namespaces,
};

static NEXT: AtomicU32 = AtomicU32::new(0);
const VIP: &str = "172.16.1.254";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Impl {
    Halb,
    Keepalived,
}

/// Switch `sw` with ports p1 (b1), p2 (b2), p3 (user), p4 (rogue).
struct Lan {
    prefix: String,
    dir: PathBuf,
    daemons: Vec<(String, Child)>,
    /// Removed after the daemons are stopped (`Drop` runs before the fields go).
    _namespaces: Namespaces,
}

impl Lan {
    fn new() -> Self {
        let prefix = format!("hvt{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir).unwrap();
        let namespaces = switched_nodes(
            &prefix,
            &[
                ("b1", "172.16.1.250/24"),
                ("b2", "172.16.1.251/24"),
                ("user", "172.16.1.100/24"),
                ("rogue", "172.16.1.66/24"),
            ],
            1,
        );
        Self { prefix, dir, daemons: Vec::new(), _namespaces: namespaces }
    }

    fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.prefix)
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    fn start(&mut self, node: &str, implementation: Impl, priority: u8, version: u8) {
        let child = match implementation {
            Impl::Halb => self.start_halb(node, priority, version),
            Impl::Keepalived => self.start_keepalived(node, priority, version),
        };
        self.daemons.push((node.to_owned(), child));
    }

    fn start_halb(&self, node: &str, priority: u8, version: u8) -> Child {
        let config = self.dir.join(format!("{node}.toml"));
        let vrrp = VrrpSection {
            instance: "VI_1".into(),
            interface: "eth0".into(),
            vrid: 12,
            priority: i64::from(priority),
            advert_int: Some(1.0),
            version: Some(i64::from(version)),
            virtual_ipaddress: strings(&[&format!("{VIP}/24")]),
            ..VrrpSection::default()
        };
        let file = ConfigFile {
            daemon: halb_config::daemon(&format!("{}-{node}", self.prefix)),
            host: None,
            balancer: vec![BalancerSection {
                name: node.to_owned(),
                netns: self.ns(node),
                interfaces: strings(&["eth0"]),
                vrrp: vec![vrrp],
                ..BalancerSection::default()
            }],
        };
        let text = halb_config::to_toml("halb for the vrrp test", &file).unwrap();
        std::fs::write(&config, text).unwrap();
        let log = std::fs::File::create(self.dir.join(format!("{node}.log"))).unwrap();
        Command::new(halb_bin())
            .args(["run", "--config"])
            .arg(&config)
            .arg("--run-dir")
            .arg(self.run_dir())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn halb")
    }

    fn start_keepalived(&self, node: &str, priority: u8, version: u8) -> Child {
        let config = self.dir.join(format!("{node}-keepalived.conf"));
        std::fs::write(
            &config,
            format!(
                "global_defs {{\n  router_id {node}\n  vrrp_version {version}\n}}\nvrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 12\n  priority {priority}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
            ),
        )
        .unwrap();
        let pid = |name: &str| self.dir.join(format!("{node}-{name}.pid"));
        let log = std::fs::File::create(self.dir.join(format!("{node}.log"))).unwrap();
        Command::new("ip")
            .args(["netns", "exec", &self.ns(node), "keepalived", "-n", "-P", "-l", "-D", "-f"])
            .arg(&config)
            .arg("-p")
            .arg(pid("keepalived"))
            .arg("-r")
            .arg(pid("vrrp"))
            .arg("-c")
            .arg(pid("checkers"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn keepalived")
    }

    fn log(&self, node: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{node}.log"))).unwrap_or_default()
    }

    fn has_vip(&self, node: &str) -> bool {
        let output = Command::new("ip")
            .args(["-n", &self.ns(node), "-4", "addr", "show", "dev", "eth0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).contains(&format!("{VIP}/"))
    }

    /// Waits until exactly `node` holds the VIP; returns how long it took.
    fn wait_master(&self, node: &str, other: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.has_vip(node) && !self.has_vip(other) {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "{node} did not become the only master within {timeout:?} (vip on {node}: {}, on {other}: {})\n--- {node} log:\n{}\n--- {other} log:\n{}",
            self.has_vip(node),
            self.has_vip(other),
            self.log(node),
            self.log(other)
        );
    }

    /// The VIP answers ping from the client namespace.
    fn vip_answers(&self) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.ns("user"), "ping", "-c", "1", "-W", "1", VIP])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Takes the switch port of `node` down (`lab fail link`), or up again.
    fn set_link(&self, node: &str, up: bool) {
        let port = match node {
            "b1" => "p1",
            "b2" => "p2",
            other => panic!("no port for {other}"),
        };
        sh(&["ip", "-n", &self.ns("sw"), "link", "set", port, if up { "up" } else { "down" }]);
    }

    fn stop(&mut self, node: &str) {
        let index = self.daemons.iter().position(|(name, _)| name == node).expect("running");
        let (_, mut child) = self.daemons.remove(index);
        terminate(&mut child, Duration::from_secs(5));
    }

    fn vrrp_status(&self, node: &str) -> serde_json::Value {
        let output = Command::new(halb_bin())
            .args([
                "vrrp",
                "status",
                "--json",
                "--node",
                &format!("{}-{node}", self.prefix),
                "--run-dir",
            ])
            .arg(self.run_dir())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()[0].clone()
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for (_, child) in &mut self.daemons {
            terminate(child, Duration::from_secs(5));
        }
        for node in ["b1", "b2"] {
            let _ = std::fs::remove_dir_all(format!("/sys/fs/bpf/halb/{}-{node}", self.prefix));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// bal1 (priority 150) and bal2 (100): election, failover on link loss,
/// preemption on heal, as keepalived against keepalived would show them.
fn election_failover_preemption(b1: Impl, b2: Impl, version: u8) {
    let mut lan = Lan::new();
    lan.start("b1", b1, 150, version);
    lan.start("b2", b2, 100, version);
    let elected = lan.wait_master("b1", "b2", Duration::from_secs(10));
    assert!(lan.vip_answers(), "the VIP must answer through the master");
    lan.set_link("b1", false);
    let failover = lan.wait_master("b2", "b1", Duration::from_secs(8));
    assert!(lan.vip_answers(), "the VIP must answer through bal2");
    lan.set_link("b1", true);
    let preempted = lan.wait_master("b1", "b2", Duration::from_secs(10));
    assert!(lan.vip_answers());
    println!(
        "v{version} b1={b1:?} b2={b2:?}: elected in {elected:?}, failover {failover:?}, preemption {preempted:?}"
    );
}

#[test]
fn halb_pair_v2_elects_fails_over_and_preempts() {
    election_failover_preemption(Impl::Halb, Impl::Halb, 2);
}

#[test]
fn halb_pair_v3_graceful_stop_hands_over_after_skew_time() {
    let mut lan = Lan::new();
    lan.start("b1", Impl::Halb, 150, 3);
    lan.start("b2", Impl::Halb, 100, 3);
    lan.wait_master("b1", "b2", Duration::from_secs(10));
    let status = lan.vrrp_status("b2");
    assert_eq!(status["state"], "BACKUP");
    assert_eq!(status["master_address"], "172.16.1.250");
    let stopped = Instant::now();
    lan.stop("b1");
    let handover = lan.wait_master("b2", "b1", Duration::from_secs(8));
    let total = stopped.elapsed();
    println!("graceful stop: bal2 master {handover:?} after SIGTERM ({total:?} incl. shutdown)");
    // Priority 0 makes the backup wait Skew_Time (0.61 s), not the
    // Master_Down_Interval (3.61 s).
    assert!(total < Duration::from_secs(3), "graceful stop took the timeout path: {total:?}");
    assert!(lan.vrrp_status("b2")["last_reason"].as_str().unwrap().contains("priority 0"));
}

#[test]
fn interop_with_keepalived_v2_both_ways() {
    election_failover_preemption(Impl::Halb, Impl::Keepalived, 2);
    election_failover_preemption(Impl::Keepalived, Impl::Halb, 2);
}

#[test]
fn interop_with_keepalived_v3_both_ways() {
    election_failover_preemption(Impl::Halb, Impl::Keepalived, 3);
    election_failover_preemption(Impl::Keepalived, Impl::Halb, 3);
}

/// A `VRRPv2` advert as a raw IPv4 packet, with its fields as given.
fn rogue_packet(vrid: u8, priority: u8, ttl: u8, break_checksum: bool) -> Vec<u8> {
    let mut message =
        vec![0x21, vrid, priority, 1, 0, 1, 0, 0, 172, 16, 1, 254, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut checksum = internet_checksum(&message);
    if break_checksum {
        checksum ^= 0x00ff;
    }
    message[6..8].copy_from_slice(&checksum.to_be_bytes());
    let total = u16::try_from(20 + message.len()).unwrap();
    let mut packet = vec![0x45, 0xc0];
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0, 0, ttl, 112, 0, 0, 172, 16, 1, 66, 224, 0, 0, 18]);
    packet.extend_from_slice(&message);
    packet
}

/// Sends raw IPv4 packets from inside namespace `ns` (a thread of its own,
/// so the test's other threads stay where they are).
fn send_from(ns: &str, packets: Vec<Vec<u8>>) {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd as _;
        let target = std::fs::File::open(&path).unwrap();
        // SAFETY: setns on this short-lived thread only; the fd is open.
        assert_eq!(unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(255)),
        )
        .unwrap();
        socket.set_header_included_v4(true).unwrap();
        socket.bind_device(Some(b"eth0")).unwrap();
        let group = socket2::SockAddr::from(std::net::SocketAddrV4::new([224, 0, 0, 18].into(), 0));
        for packet in packets {
            socket.send_to(&packet, &group).unwrap();
        }
    })
    .join()
    .unwrap();
}

#[test]
fn hostile_adverts_change_nothing_and_are_counted() {
    let mut lan = Lan::new();
    lan.start("b1", Impl::Halb, 150, 2);
    lan.start("b2", Impl::Halb, 100, 2);
    lan.wait_master("b1", "b2", Duration::from_secs(10));
    let before = lan.vrrp_status("b2");
    // Each would make the rogue the master (priority 254) if accepted.
    let packets = vec![
        rogue_packet(13, 254, 255, false), // another VRID
        rogue_packet(12, 254, 64, false),  // TTL not 255
        rogue_packet(12, 254, 255, true),  // bad checksum
    ];
    for _ in 0..3 {
        send_from(&lan.ns("rogue"), packets.clone());
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(4)); // longer than Master_Down_Interval
    assert!(lan.has_vip("b1") && !lan.has_vip("b2"), "mastership must not move");
    for node in ["b1", "b2"] {
        let status = lan.vrrp_status(node);
        assert_eq!(status["transitions"], if node == "b1" { 2 } else { 1 }, "{node}: {status:#}");
        let fast_path = &status["fast_path"];
        for counter in ["drop_unknown_vrid", "drop_bad_ttl", "drop_bad_checksum"] {
            assert_eq!(fast_path[counter], 3, "{node} {counter}: {fast_path:#}");
        }
    }
    assert_eq!(lan.vrrp_status("b2")["master_address"], before["master_address"]);
}
