//! The daemon's L7 proxy in network namespaces of its own: two balancers
//! (VRRP VRID 12 for the VIP, the proxy on *:8000), three web servers and a
//! client on one switch. Round robin per request through the VIP, the
//! servers seeing the balancer's address and X-Forwarded-For, statistics on
//! the control socket and the admin listener, a server added by reload
//! without a restart, and VRRP tracking the pool: with every server down the
//! master goes to FAULT and the backup takes the VIP; when they come back,
//! the master preempts again.
//!
//! VIP steering (docs/steering.md), with the frontend bound to the VIP
//! itself: neither balancer has `ip_nonlocal_bind`, both proxies listen on
//! loopback and the `SK_LOOKUP` program delivers VIP connections to them;
//! the backup refuses (and counts) a connection for the VIP it does not
//! own; when the VIP moves the new master serves it from the listener it
//! had all along; the counters read the same through `halb proxy stats`,
//! `halb status` and bpftool on the pinned maps.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use xtask::harness::halb_config::{
    self, duration, strings, BackendSection, BalancerSection, ConfigFile, FrontendSection,
    ProxySection, ServerSection, TimeoutSection, VrrpSection,
};

use halb_tests::{halb_bin, http_get, terminate, NsHttpServer, SwitchedNodes};

static NEXT: AtomicU32 = AtomicU32::new(0);
const VIP: &str = "172.16.1.254";
const NODES: [(&str, &str); 6] = [
    ("b1", "172.16.1.250/24"),
    ("b2", "172.16.1.251/24"),
    ("user", "172.16.1.100/24"),
    ("s1", "172.16.1.11/24"),
    ("s2", "172.16.1.12/24"),
    ("s3", "172.16.1.13/24"),
];

struct Lab {
    prefix: String,
    dir: PathBuf,
    daemons: Vec<(String, Child)>,
    /// Where the frontend binds (`*:8000` unless a test says otherwise).
    frontend_bind: String,
    /// Dropped after the daemons are stopped.
    nodes: SwitchedNodes,
}

impl Lab {
    fn new() -> Self {
        let prefix = format!("hpt{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir).unwrap();
        let nodes = SwitchedNodes::new(&prefix, &NODES);
        Self { prefix, dir, daemons: Vec::new(), frontend_bind: "*:8000".to_owned(), nodes }
    }

    fn ns(&self, node: &str) -> String {
        self.nodes.ns(node)
    }

    fn node(&self, balancer: &str) -> String {
        format!("{}-{balancer}", self.prefix)
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    fn config_path(&self, balancer: &str) -> PathBuf {
        self.dir.join(format!("{balancer}.toml"))
    }

    /// The lab's haproxy block and keepalived block for `balancer`, with
    /// short check intervals; bal1 tracks its pool.
    fn write_config(&self, balancer: &str, servers: &[&str]) {
        let (priority, track) = if balancer == "b1" { (150, Some("web")) } else { (100, None) };
        let server = |server: &&str| {
            let address =
                NODES.iter().find(|(node, _)| node == server).unwrap().1.trim_end_matches("/24");
            ServerSection {
                name: (*server).to_owned(),
                address: format!("{address}:80"),
                check: Some(true),
                inter: Some(duration("200ms")),
                rise: Some(2),
                fall: Some(2),
                ..ServerSection::default()
            }
        };
        let proxy = ProxySection {
            frontend: vec![FrontendSection {
                name: "www".into(),
                bind: self.frontend_bind.clone(),
                default_backend: "web".into(),
                ..FrontendSection::default()
            }],
            backend: vec![BackendSection {
                name: "web".into(),
                balance: Some("roundrobin".into()),
                server: servers.iter().map(server).collect(),
                ..BackendSection::default()
            }],
            timeout: TimeoutSection {
                connect: Some(duration("300ms")),
                ..TimeoutSection::default()
            },
            retries: Some(3),
            redispatch: Some(true),
        };
        let vrrp = VrrpSection {
            instance: "VI_1".into(),
            interface: "eth0".into(),
            vrid: 12,
            priority,
            advert_int: Some(1.0),
            virtual_ipaddress: strings(&[&format!("{VIP}/24")]),
            track_backend: track.map(str::to_owned),
            ..VrrpSection::default()
        };
        let file = ConfigFile {
            daemon: halb_config::daemon(&self.node(balancer)),
            host: None,
            balancer: vec![BalancerSection {
                name: balancer.to_owned(),
                netns: self.ns(balancer),
                interfaces: strings(&["eth0"]),
                vrrp: vec![vrrp],
                proxy: Some(proxy),
                admin_bind: Some("127.0.0.1:9100".into()),
                proxy_threads: Some(1),
                ..BalancerSection::default()
            }],
        };
        let text = halb_config::to_toml("halb for the proxy_daemon test", &file).unwrap();
        std::fs::write(self.config_path(balancer), text).unwrap();
    }

    fn start(&mut self, balancer: &str) {
        let log = std::fs::File::create(self.dir.join(format!("{balancer}.log"))).unwrap();
        let child = Command::new(halb_bin())
            .args(["run", "--config"])
            .arg(self.config_path(balancer))
            .arg("--run-dir")
            .arg(self.run_dir())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn halb");
        self.daemons.push((balancer.to_owned(), child));
    }

    fn log(&self, balancer: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{balancer}.log"))).unwrap_or_default()
    }

    fn halb(&self, args: &[&str]) -> std::process::Output {
        Command::new(halb_bin()).args(args).arg("--run-dir").arg(self.run_dir()).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let output = self.halb(args);
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn has_vip(&self, node: &str) -> bool {
        let output = Command::new("ip")
            .args(["-n", &self.ns(node), "-4", "addr", "show", "dev", "eth0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).contains(&format!("{VIP}/"))
    }

    fn wait(&self, what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if done() {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{what} not within {timeout:?}\n--- b1:\n{}\n--- b2:\n{}",
            self.log("b1"),
            self.log("b2")
        );
    }

    /// The steering report of `balancer`'s only frontend (`halb proxy stats`).
    fn steering(&self, balancer: &str) -> serde_json::Value {
        let stats = self.json(&["proxy", "stats", "--json", "--node", &self.node(balancer)]);
        stats[0][1]["steering"][0].clone()
    }

    /// `bpftool map dump` of one of `balancer`'s pinned maps.
    fn bpftool_dump(&self, balancer: &str, map: &str) -> serde_json::Value {
        let pin = format!("/sys/fs/bpf/halb/{}/{balancer}/{map}", self.node(balancer));
        let output = Command::new("bpftool").args(["-j", "map", "dump", "pinned", &pin]).output();
        let output = output.expect("bpftool");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn stop(&mut self, balancer: &str) {
        let (_, child) = self.daemons.iter_mut().find(|(name, _)| name == balancer).unwrap();
        terminate(child, Duration::from_secs(8));
    }

    fn get(&self) -> Result<String, String> {
        http_get(&self.ns("user"), &format!("{VIP}:8000"), "/", Duration::from_secs(2))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.daemons {
            terminate(child, Duration::from_secs(8));
        }
        // Daemons an upgrade started run the lab's config too.
        halb_tests::stop_processes_under(&self.dir);
        for balancer in ["b1", "b2"] {
            let _ = std::fs::remove_dir_all(format!("/sys/fs/bpf/halb/{}", self.node(balancer)));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn server_of(body: &str) -> &str {
    body.split_whitespace().next().unwrap_or_default()
}

#[test]
fn proxy_balances_reloads_and_vrrp_tracks_the_pool() {
    let mut lab = Lab::new();
    let mut servers: Vec<NsHttpServer> =
        ["s1", "s2"].iter().map(|s| NsHttpServer::start(&lab.ns(s), s, "0.0.0.0:80")).collect();
    for balancer in ["b1", "b2"] {
        lab.write_config(balancer, &["s1", "s2"]);
        lab.start(balancer);
    }
    lab.wait("bal1 holding the VIP", Duration::from_secs(10), || {
        lab.has_vip("b1") && !lab.has_vip("b2")
    });

    // Round robin per request; the servers see bal1's address, and the
    // client's in X-Forwarded-For.
    let bodies: Vec<String> = (0..6).map(|_| lab.get().expect("request through the VIP")).collect();
    let order: Vec<&str> = bodies.iter().map(|body| server_of(body)).collect();
    assert!(order.windows(2).all(|pair| pair[0] != pair[1]), "strict alternation: {order:?}");
    assert_eq!(order.iter().filter(|server| **server == "s1").count(), 3, "{order:?}");
    for body in &bodies {
        assert!(body.contains("client=172.16.1.250 xff=172.16.1.100"), "{body}");
    }

    // Statistics: control socket and admin listener agree on the count.
    let stats = lab.json(&["proxy", "stats", "--json", "--node", &lab.node("b1")]);
    let web = &stats[0][1]["backends"][0];
    assert_eq!(web["name"], "web");
    assert!(web["requests"].as_u64().unwrap() >= 6, "{stats:#}");
    assert_eq!(web["health"]["servers_up"], 2);
    // The *:8000 frontend is steered too: the VIP's connections came through the program.
    let steering = &stats[0][1]["steering"][0];
    assert_eq!(steering["listener"], "0.0.0.0:8000", "{stats:#}");
    assert!(steering["steered"].as_u64().unwrap() >= 6, "{stats:#}");
    let metrics = http_get(&lab.ns("b1"), "127.0.0.1:9100", "/metrics", Duration::from_secs(2))
        .expect("admin /metrics");
    assert!(metrics.contains("halb_proxy_frontend_connections"), "{metrics}");
    assert!(metrics.contains("s1") && metrics.contains("s2"), "{metrics}");

    // A server added by reload serves without a restart.
    let pid =
        lab.json(&["status", "--json", "--node", &lab.node("b1")])[0]["pid"].as_u64().unwrap();
    servers.push(NsHttpServer::start(&lab.ns("s3"), "s3", "0.0.0.0:80"));
    lab.write_config("b1", &["s1", "s2", "s3"]);
    let output = lab.halb(&["reload", "--node", &lab.node("b1")]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    lab.wait("s3 serving through the VIP", Duration::from_secs(5), || {
        lab.get().is_ok_and(|body| server_of(&body) == "s3")
    });
    assert_eq!(
        lab.json(&["status", "--json", "--node", &lab.node("b1")])[0]["pid"].as_u64().unwrap(),
        pid
    );

    // Every server down: bal1 (tracking its pool) resigns, bal2 takes the VIP.
    servers.clear();
    let failover = lab.wait("bal2 taking the VIP", Duration::from_secs(10), || {
        lab.has_vip("b2") && !lab.has_vip("b1")
    });
    let vrrp = lab.json(&["vrrp", "status", "--json", "--node", &lab.node("b1")]);
    assert_eq!(vrrp[0]["state"], "FAULT", "{vrrp:#}");
    assert_eq!(vrrp[0]["last_reason"], "tracked backend web is down");
    println!("pool down -> bal2 master after {failover:?}");

    // The servers come back: bal1 leaves FAULT and preempts.
    servers = ["s1", "s2", "s3"]
        .iter()
        .map(|s| NsHttpServer::start(&lab.ns(s), s, "0.0.0.0:80"))
        .collect();
    lab.wait("bal1 taking the VIP back", Duration::from_secs(15), || {
        lab.has_vip("b1") && !lab.has_vip("b2")
    });
    lab.wait("requests through bal1 again", Duration::from_secs(5), || {
        lab.get().is_ok_and(|body| body.contains("client=172.16.1.250"))
    });
    drop(servers);
}

/// A per-CPU counter of slot 0 in a bpftool dump of `STEERING_COUNTERS`,
/// summed over CPUs.
fn bpftool_counter(dump: &serde_json::Value, field: &str) -> u64 {
    let entries = dump.as_array().expect("array dump");
    let slot = entries
        .iter()
        .find(|entry| entry["key"] == 0 || entry["formatted"]["key"] == 0)
        .unwrap_or_else(|| panic!("slot 0 in {dump:#}"));
    let values = slot["formatted"]["values"].as_array().or(slot["values"].as_array()).unwrap();
    values.iter().map(|cpu| cpu["value"][field].as_u64().unwrap()).sum()
}

#[test]
fn steering_delivers_the_vip_without_rebinding_and_the_backup_refuses() {
    let mut lab = Lab::new();
    lab.frontend_bind = format!("{VIP}:8000");
    let _server = NsHttpServer::start(&lab.ns("s1"), "s1", "0.0.0.0:80");
    for balancer in ["b1", "b2"] {
        let sysctl = Command::new("ip")
            .args(["netns", "exec", &lab.ns(balancer), "sysctl", "-n", "net.ipv4.ip_nonlocal_bind"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&sysctl.stdout).trim(), "0");
        lab.write_config(balancer, &["s1"]);
        lab.start(balancer);
    }
    lab.wait("bal1 holding the VIP", Duration::from_secs(10), || {
        lab.has_vip("b1") && !lab.has_vip("b2")
    });
    lab.wait("both proxies steered", Duration::from_secs(5), || {
        ["b1", "b2"].iter().all(|balancer| {
            lab.halb(&["proxy", "stats", "--json", "--node", &lab.node(balancer)]).status.success()
        })
    });
    let listener = lab.steering("b2")["listener"].as_str().unwrap().to_owned();
    assert!(listener.starts_with("127.0.0.1:"), "{listener}");
    assert_eq!(lab.steering("b2")["addresses"], serde_json::json!([format!("{VIP}:8000")]));

    // The master steers the VIP into its loopback listener.
    let body = lab.get().expect("request through the VIP");
    assert!(body.contains("client=172.16.1.250"), "{body}");
    assert!(lab.steering("b1")["steered"].as_u64().unwrap() >= 1);

    // The backup does not own the VIP: a connection that reaches it anyway
    // (here: the VIP made local by hand, as a stray SYN would) is refused.
    let b2 = lab.ns("b2");
    let route = ["ip", "-n", &b2, "route", "add", "local", &format!("{VIP}/32"), "dev", "lo"];
    halb_tests::sh(&route);
    let refused = http_get(&b2, &format!("{VIP}:8000"), "/", Duration::from_secs(1));
    halb_tests::sh(&[&["ip"][..], &route[1..4], &["del"], &route[5..]].concat());
    assert!(refused.is_err(), "the backup answered for a VIP it does not own: {refused:?}");
    println!("backup refused: {}", refused.unwrap_err());
    let steering = lab.steering("b2");
    assert_eq!(steering["refused"], 1, "{steering:#}");
    assert_eq!(steering["steered"], 0, "{steering:#}");
    let dump = lab.bpftool_dump("b2", "STEERING_COUNTERS");
    assert_eq!(bpftool_counter(&dump, "refused"), 1, "{dump:#}");
    let status = lab.json(&["status", "--json", "--node", &lab.node("b2")]);
    let pid = status[0]["pid"].as_u64().unwrap();
    assert_eq!(status[0]["steering"][0]["vips"][0]["owned"], false, "{status:#}");

    // The VIP moves: bal1 stops (resigns), bal2 serves it from the same
    // listener, with no restart and no rebind.
    lab.stop("b1");
    lab.wait("bal2 taking the VIP", Duration::from_secs(10), || lab.has_vip("b2"));
    lab.wait("requests through bal2", Duration::from_secs(5), || {
        lab.get().is_ok_and(|body| body.contains("client=172.16.1.251"))
    });
    let steering = lab.steering("b2");
    assert_eq!(steering["listener"], listener.as_str(), "{steering:#}");
    assert!(steering["steered"].as_u64().unwrap() >= 1, "{steering:#}");
    let status = lab.json(&["status", "--json", "--node", &lab.node("b2")]);
    assert_eq!(status[0]["pid"].as_u64().unwrap(), pid);
    assert_eq!(status[0]["steering"][0]["vips"][0]["owned"], true, "{status:#}");
    let ownership = lab.bpftool_dump("b2", "STEERING_OWNERSHIP");
    assert!(ownership.to_string().contains("\"value\":1"), "{ownership:#}");
    assert!(!lab.log("b2").contains("restarting"), "{}", lab.log("b2"));

    // Steering off by reload: the proxy restarts bound to the VIP itself
    // (local on the master now), the program is detached, requests go on.
    lab.write_config("b2", &["s1"]);
    let path = lab.config_path("b2");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("proxy_threads = 1\n", "proxy_threads = 1\nproxy_steering = false\n"),
    )
    .unwrap();
    let output = lab.halb(&["reload", "--node", &lab.node("b2")]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    lab.wait("requests through bal2 without steering", Duration::from_secs(5), || {
        lab.get().is_ok_and(|body| body.contains("client=172.16.1.251"))
    });
    let status = lab.json(&["status", "--json", "--node", &lab.node("b2")]);
    assert_eq!(status[0]["steering"], serde_json::json!([]), "{status:#}");
    assert_eq!(lab.steering("b2"), serde_json::Value::Null);
}

/// A missing or non-executable binary and a new process that refuses its
/// config: each upgrade fails with the reason, and the old daemon serves on.
fn refused_upgrades_leave_the_old_daemon_serving(lab: &Lab, old_pid: u64) {
    let node = lab.node("b1");
    let status =
        |lab: &Lab, balancer: &str| lab.json(&["status", "--json", "--node", &lab.node(balancer)]);
    let missing = lab.halb(&["upgrade", "--node", &node, "--binary", "/nonexistent/halb"]);
    assert!(!missing.status.success());
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.contains("/nonexistent/halb") && said.contains("No such file"), "{said}");
    let plain = lab.dir.join("plain-file");
    std::fs::write(&plain, "not a program").unwrap();
    let not_executable =
        lab.halb(&["upgrade", "--node", &node, "--binary", plain.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&not_executable.stderr);
    assert!(said.contains("not executable"), "{said}");
    // A new process that refuses its config: the old daemon serves on.
    let good = std::fs::read_to_string(lab.config_path("b1")).unwrap();
    std::fs::write(lab.config_path("b1"), good.replace("vrid = 12", "vrid = 0")).unwrap();
    let refused = lab.halb(&["upgrade", "--node", &node]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("vrid"), "{said}");
    std::fs::write(lab.config_path("b1"), good).unwrap();
    assert_eq!(status(lab, "b1")[0]["pid"].as_u64().unwrap(), old_pid);
    assert!(lab.get().is_ok(), "still serving after the refused upgrades");
}

#[test]
fn upgrade_under_load_keeps_every_connection_and_the_peer_sees_nothing() {
    let mut lab = Lab::new();
    let _servers: Vec<NsHttpServer> =
        ["s1", "s2"].iter().map(|s| NsHttpServer::start(&lab.ns(s), s, "0.0.0.0:80")).collect();
    for balancer in ["b1", "b2"] {
        lab.write_config(balancer, &["s1", "s2"]);
        lab.start(balancer);
    }
    lab.wait("bal1 holding the VIP", Duration::from_secs(10), || {
        lab.has_vip("b1") && !lab.has_vip("b2") && lab.get().is_ok()
    });
    let status =
        |lab: &Lab, balancer: &str| lab.json(&["status", "--json", "--node", &lab.node(balancer)]);
    let vrrp = |lab: &Lab, balancer: &str| {
        lab.json(&["vrrp", "status", "--json", "--node", &lab.node(balancer)])
    };
    let old_pid = status(&lab, "b1")[0]["pid"].as_u64().unwrap();
    let (b1_before, b2_before) = (vrrp(&lab, "b1")[0].clone(), vrrp(&lab, "b2")[0].clone());
    let node = lab.node("b1");

    refused_upgrades_leave_the_old_daemon_serving(&lab, old_pid);

    // Under steady keep-alive and new-connection load, the real thing.
    let load = halb_tests::KeepAliveLoad::start(
        &lab.ns("user"),
        &format!("{VIP}:8000"),
        Duration::from_millis(10),
    );
    std::thread::sleep(Duration::from_secs(1));
    // A reload that restarts the proxy (another retry count): the new proxy
    // serves on the old one's listeners while the old one drains.
    let config = std::fs::read_to_string(lab.config_path("b1")).unwrap();
    assert!(config.contains("retries = 3"), "{config}");
    std::fs::write(lab.config_path("b1"), config.replace("retries = 3", "retries = 2")).unwrap();
    let reloaded = lab.halb(&["reload", "--node", &node]);
    assert!(reloaded.status.success(), "{}", String::from_utf8_lossy(&reloaded.stderr));
    lab.wait("the restarted proxy", Duration::from_secs(5), || {
        lab.log("b1").contains("restarting it")
    });
    std::thread::sleep(Duration::from_secs(1));
    let first = Command::new(halb_bin())
        .args(["upgrade", "--node", &node, "--run-dir"])
        .arg(lab.run_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let second = lab.halb(&["upgrade", "--node", &node]);
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success() && said.contains("already running"), "{said}");
    let upgraded = first.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&upgraded.stdout);
    assert!(
        upgraded.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&upgraded.stderr),
        lab.log("b1")
    );
    let new_pid = status(&lab, "b1")[0]["pid"].as_u64().unwrap();
    assert_ne!(new_pid, old_pid, "{said}");
    assert!(said.contains(&format!("pid {new_pid}")), "{said}");
    // The new process took the old one's TC links rather than attaching anew.
    let log = lab.log("b1");
    let adopted = log.lines().filter(|line| {
        line.contains("attached at tcx") && line.contains("adopted") && line.contains("true")
    });
    assert!(adopted.count() >= 2, "classifier and VRRP fast path adopted:\n{log}");
    // The old process drains and exits on its own.
    let (_, old) = lab.daemons.iter_mut().find(|(name, _)| name == "b1").unwrap();
    let start = Instant::now();
    let exited = loop {
        if let Some(status) = old.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(40), "the old daemon did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exited.success(), "{exited}\n{}", lab.log("b1"));
    std::thread::sleep(Duration::from_secs(2));
    let report = load.stop();
    println!("upgrade under load: {report:?}");
    assert!(report.failed.is_empty(), "failed requests: {:?}\n{}", report.failed, lab.log("b1"));
    assert!(report.ok > 100, "{report:?}");

    // The peer saw no transition; bal1 carried its state and counters over.
    let (b1_after, b2_after) = (vrrp(&lab, "b1")[0].clone(), vrrp(&lab, "b2")[0].clone());
    assert_eq!(b2_after["state"], "BACKUP", "{b2_after:#}");
    assert_eq!(b2_after["transitions"], b2_before["transitions"], "{b2_after:#}");
    assert_eq!(b1_after["state"], "MASTER", "{b1_after:#}");
    assert_eq!(b1_after["transitions"], b1_before["transitions"], "{b1_after:#}");
    assert!(
        b1_after["adverts_sent"].as_u64() > b1_before["adverts_sent"].as_u64(),
        "{b1_before:#}\n{b1_after:#}"
    );
    assert!(lab.has_vip("b1") && !lab.has_vip("b2"));
    // The new daemon serves its own pins and answers on the usual socket.
    let after = status(&lab, "b1");
    assert!(!after[0]["programs"].as_array().unwrap().is_empty(), "{after:#}");
    assert!(lab.get().is_ok());
}
