//! The halb daemon as a process, in network namespaces of its own: config
//! validation before touching anything, attach + pins + control socket while
//! running, reload, and nothing left behind after SIGTERM.
//!
//! Each test builds its own namespaces with a unique prefix (`hdt<pid>-<n>`),
//! so tests run in parallel and never touch a lab a user has up.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use halb_tests::{halb_bin, sh, signal, terminate};
use xtask::harness::{
    halb_config::{self, strings, BalancerSection, ConfigFile, HostSection},
    topology::{self, Namespaces, Veth},
};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Two namespaces joined by a veth (`host`:`p1` <-> `bal`:`ext`), each end
/// addressed, plus a run dir; all removed on drop.
struct Fixture {
    prefix: String,
    host: String,
    bal: String,
    dir: PathBuf,
    /// Removes `host` and `bal` (after `Drop` below ran).
    _namespaces: Namespaces,
}

impl Fixture {
    fn new() -> Self {
        let prefix = format!("hdt{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let host = format!("{prefix}-host");
        let bal = format!("{prefix}-bal");
        let dir = std::env::temp_dir().join(&prefix);
        let mut namespaces = Namespaces::default();
        namespaces.add(&host).expect("host namespace");
        namespaces.add(&bal).expect("balancer namespace");
        let fixture = Self { prefix, host, bal, dir, _namespaces: namespaces };
        std::fs::create_dir_all(&fixture.dir).unwrap();
        for (name, peer) in [("p1", "ext"), ("p2", "int")] {
            let cable = Veth {
                ns: &fixture.host,
                name,
                peer,
                peer_ns: Some(&fixture.bal),
                ..Veth::default()
            };
            cable.create().expect("veth");
        }
        for (ns, dev, addr) in [
            (&fixture.host, "p1", "192.0.2.1/24"),
            (&fixture.bal, "ext", "192.0.2.2/24"),
            (&fixture.host, "p2", "198.51.100.1/24"),
            (&fixture.bal, "int", "198.51.100.2/24"),
        ] {
            topology::add_address(ns, addr, dev).expect("address");
            topology::set_up(ns, dev).expect("link up");
        }
        fixture
    }

    fn node(&self) -> String {
        format!("{}-node", self.prefix)
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    fn pin_dir(&self) -> PathBuf {
        PathBuf::from("/sys/fs/bpf/halb").join(self.node())
    }

    fn write_config(&self, body: &str) -> PathBuf {
        let path = self.dir.join("halb.toml");
        std::fs::write(&path, body).unwrap();
        path
    }

    /// The daemon's config: the host instance on `host_interfaces`, balancer `bal` on `ext`.
    fn file(&self, host_interfaces: &[&str]) -> ConfigFile {
        ConfigFile {
            daemon: halb_config::daemon(&self.node()),
            host: Some(HostSection {
                netns: Some(self.host.clone()),
                interfaces: strings(host_interfaces),
                ..HostSection::default()
            }),
            balancer: vec![balancer("bal", &self.bal, "ext")],
        }
    }

    fn config(&self, host_interfaces: &[&str]) -> String {
        to_toml(&self.file(host_interfaces))
    }

    fn start(&self, config: &Path) -> Daemon {
        let log = std::fs::File::create(self.dir.join("daemon.log")).unwrap();
        let child = Command::new(halb_bin())
            .args(["run", "--config"])
            .arg(config)
            .arg("--run-dir")
            .arg(self.run_dir())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn halb");
        let daemon = Daemon { child, log: self.dir.join("daemon.log") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.run_dir().join(format!("{}.sock", self.node())).exists() {
            assert!(Instant::now() < deadline, "daemon not ready: {}", daemon.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    fn halb(&self, args: &[&str]) -> Output {
        Command::new(halb_bin())
            .args(args)
            .arg("--run-dir")
            .arg(self.run_dir())
            .output()
            .expect("spawn halb")
    }

    fn status(&self) -> serde_json::Value {
        let out = self.halb(&["status", "--node", &self.node(), "--json"]);
        assert!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
        let reports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
        reports[0].clone()
    }

    /// How many BPF links (TCX attachments) point at program `id`.
    fn links_of(id: u64) -> usize {
        let out = sh(&["bpftool", "link", "show"]);
        let needle = format!("prog {id} ");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|line| format!("{line} ").contains(&needle))
            .count()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Only reached with pins left when a daemon was SIGKILLed.
        let _ = std::fs::remove_dir_all(self.pin_dir());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, number: i32) {
        signal(&self.child, number);
    }

    /// SIGTERM and wait; returns whether it exited successfully.
    fn terminate(mut self) -> bool {
        match terminate(&mut self.child, Duration::from_secs(10)) {
            Some(status) => status.success(),
            None => panic!("daemon ignored SIGTERM: {}", self.log_text()),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A failed assertion lands here with the daemon still running: stop
        // it the way an operator would, so it removes its own pins.
        terminate(&mut self.child, Duration::from_secs(5));
    }
}

fn balancer(name: &str, netns: &str, interface: &str) -> BalancerSection {
    BalancerSection {
        name: name.to_owned(),
        netns: netns.to_owned(),
        interfaces: strings(&[interface]),
        ..BalancerSection::default()
    }
}

fn to_toml(file: &ConfigFile) -> String {
    halb_config::to_toml("halb for the daemon test", file).unwrap()
}

/// Program id of each datapath instance.
fn program_ids(status: &serde_json::Value) -> std::collections::BTreeMap<String, u64> {
    status["programs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|program| {
            (program["instance"].as_str().unwrap().to_owned(), program["id"].as_u64().unwrap())
        })
        .collect()
}

fn interfaces(status: &serde_json::Value) -> Vec<String> {
    status["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|port| {
            format!("{} {}", port["role"].as_str().unwrap(), port["interface"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn daemon_attaches_pins_counts_and_cleans_up() {
    let fixture = Fixture::new();
    let config = fixture.write_config(&fixture.config(&["p1", "p2"]));
    let daemon = fixture.start(&config);

    // Pins exist and bpftool reads them with field names.
    for map in ["PORT_TRAFFIC", "PORT_MALFORMED"] {
        for instance in ["host", "bal"] {
            let pin = fixture.pin_dir().join(instance).join(map);
            assert!(pin.exists(), "pin {} missing", pin.display());
        }
    }
    // One TCX link per configured interface points at the classifier.
    let programs = program_ids(&fixture.status());
    assert_eq!(programs.len(), 2, "one datapath instance per namespace");
    assert_eq!(Fixture::links_of(programs["host"]), 2, "host: p1 and p2");
    assert_eq!(Fixture::links_of(programs["bal"]), 1, "bal: ext");

    // Traffic on the wire is counted on the right interface.
    sh(&[
        "ip",
        "netns",
        "exec",
        &fixture.bal,
        "ping",
        "-c",
        "3",
        "-i",
        "0.2",
        "-W",
        "1",
        "192.0.2.1",
    ]);
    let status = fixture.status();
    assert_eq!(interfaces(&status), vec!["host p1", "host p2", "balancer bal ext"]);
    let port = |name: &str| {
        status["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|port| port["interface"] == name)
            .unwrap()
            .clone()
    };
    // p1 (host ingress) saw the 3 echo requests; ext (bal ingress) the 3 replies.
    assert!(
        port("p1")["counters"]["traffic"]["ipv4"]["packets"].as_u64().unwrap() >= 3,
        "{status:#}"
    );
    assert!(
        port("ext")["counters"]["traffic"]["ipv4"]["packets"].as_u64().unwrap() >= 3,
        "{status:#}"
    );
    assert!(
        port("p2")["counters"]["traffic"].get("ipv4").is_none(),
        "no IPv4 crossed p2: {status:#}"
    );
    let dump = sh(&[
        "bpftool",
        "map",
        "dump",
        "pinned",
        fixture.pin_dir().join("host/PORT_TRAFFIC").to_str().unwrap(),
    ]);
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("\"ifindex\"") && dump.contains("\"packets\""), "{dump}");

    // A second daemon for the same node is refused and disturbs nothing.
    let second = Command::new(halb_bin())
        .args(["run", "--config"])
        .arg(&config)
        .arg("--run-dir")
        .arg(fixture.run_dir())
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));
    assert!(fixture.status()["ports"].as_array().unwrap().len() == 3);

    assert!(daemon.terminate(), "daemon must exit 0 on SIGTERM");
    assert!(!fixture.pin_dir().exists(), "pins left behind");
    assert!(
        !fixture.run_dir().join(format!("{}.sock", fixture.node())).exists(),
        "socket left behind"
    );
    for (instance, program_id) in programs {
        assert_eq!(Fixture::links_of(program_id), 0, "{instance}: links left behind");
        let prog = Command::new("bpftool")
            .args(["prog", "show", "id", &program_id.to_string()])
            .output()
            .unwrap();
        assert!(!prog.status.success(), "{instance}: program {program_id} still loaded");
    }
}

#[test]
fn reload_attaches_and_detaches_without_restart() {
    let fixture = Fixture::new();
    let config = fixture.write_config(&fixture.config(&["p1"]));
    let daemon = fixture.start(&config);
    let pid = fixture.status()["pid"].as_u64().unwrap();

    fixture.write_config(&fixture.config(&["p2"]));
    let out = fixture.halb(&["reload", "--node", &fixture.node()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status = fixture.status();
    assert_eq!(status["pid"].as_u64().unwrap(), pid, "same process");
    assert_eq!(interfaces(&status), vec!["host p2", "balancer bal ext"]);
    let programs = program_ids(&status);
    assert_eq!(Fixture::links_of(programs["host"]), 1, "p1 detached, p2 attached");
    assert_eq!(Fixture::links_of(programs["bal"]), 1, "bal untouched");

    // A balancer added by reload gets its own instance; removing it unloads it.
    let extra = format!("{}-extra", fixture.prefix);
    let mut extra_guard = Namespaces::default();
    extra_guard.add(&extra).expect("extra namespace");
    Veth { ns: &extra, name: "x0", peer: "x1", ..Veth::default() }.create().expect("veth");
    let mut with_extra = fixture.file(&["p2"]);
    with_extra.balancer.push(balancer("extra", &extra, "x0"));
    fixture.write_config(&to_toml(&with_extra));
    let out = fixture.halb(&["reload", "--node", &fixture.node()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status = fixture.status();
    assert_eq!(interfaces(&status), vec!["host p2", "balancer bal ext", "balancer extra x0"]);
    assert!(fixture.pin_dir().join("extra/PORT_TRAFFIC").exists());
    let extra_id = program_ids(&status)["extra"];
    fixture.write_config(&fixture.config(&["p2"]));
    let out = fixture.halb(&["reload", "--node", &fixture.node()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!fixture.pin_dir().join("extra").exists(), "removed instance unpinned");
    assert_eq!(Fixture::links_of(extra_id), 0);

    // A bad config on reload is refused and the daemon keeps the old one.
    fixture.write_config(&fixture.config(&["p2", "nosuchdev"]));
    daemon.signal(libc::SIGHUP);
    let out = fixture.halb(&["reload", "--node", &fixture.node()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nosuchdev"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(interfaces(&fixture.status()), vec!["host p2", "balancer bal ext"]);
    assert!(daemon.terminate());
    assert!(!fixture.pin_dir().exists());
}

#[test]
fn bad_config_exits_nonzero_before_touching_the_system() {
    let fixture = Fixture::new();
    let mut missing_netns = fixture.file(&["p1"]);
    missing_netns.balancer[0].netns = "no-such-netns-hdt".into();
    let cases = [
        // A key the schema does not know cannot be written with its types: added as text.
        (fixture.config(&["p1"]).replace("[host]", "[host]\nbogus = 1"), "bogus"),
        (fixture.config(&["p1", "p1"]), "host.interfaces[1]"),
        (fixture.config(&["an-interface-name-too-long"]), "host.interfaces[0]"),
        (to_toml(&missing_netns), "no-such-netns-hdt"),
        (fixture.config(&["nosuchdev"]), "nosuchdev"),
    ];
    for (body, expected) in cases {
        let config = fixture.write_config(&body);
        let out = Command::new(halb_bin())
            .args(["run", "--config"])
            .arg(&config)
            .arg("--run-dir")
            .arg(fixture.run_dir())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "config with {expected} must be refused");
        assert!(stderr.contains(expected), "error must name {expected}: {stderr}");
        assert!(!fixture.pin_dir().exists(), "pins created despite bad config ({expected})");
        assert!(!fixture.run_dir().join(format!("{}.sock", fixture.node())).exists());
    }
    let out = Command::new(halb_bin())
        .args(["check", "--config"])
        .arg(fixture.write_config(&fixture.config(&["p1"])))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("config ok"));
}
