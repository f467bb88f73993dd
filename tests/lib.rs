//! Helpers shared by halb's integration tests: the daemon binary under
//! test, running commands that must succeed, and stopping child processes
//! the way an operator would (SIGTERM, then SIGKILL after a grace period),
//! and the guard that brings a test lab down whatever happens.

#![allow(clippy::missing_panics_doc, reason = "test helpers fail the test by panicking")]

use xtask::harness::topology::{self, Namespaces, SwitchPort};

use std::{
    path::PathBuf,
    process::{Child, Command, Output},
    time::{Duration, Instant},
};

/// The `halb` binary: `$HALB_BIN` (set by `cargo xtask test`) or the
/// workspace's debug build, found the way the lab finds it.
#[must_use]
pub fn halb_bin() -> PathBuf {
    xtask::daemon_build::locate(xtask::daemon_build::Profile::Debug)
        .unwrap_or_else(|err| panic!("{err:#}; or run the suite with `cargo xtask test`"))
}

/// Runs a command that must succeed; panics with its stderr otherwise.
#[expect(
    clippy::must_use_candidate,
    reason = "run for its effect; the output is there when a test wants it"
)]
pub fn sh(args: &[&str]) -> Output {
    let output = Command::new(args[0]).args(&args[1..]).output().expect("spawn");
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Sends `signal` to a child we spawned and still own.
pub fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).expect("pid fits i32");
    // SAFETY: kill(2) on the pid of a child that has not been reaped.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill({pid}, {signal})");
}

/// SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status if
/// the child stopped by itself.
pub fn terminate(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    if let Some(status) = child.try_wait().ok().flatten() {
        return Some(status);
    }
    signal(child, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().ok().flatten() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Runs `f` on a thread of its own inside named namespace `ns`, so the
/// test's other threads stay where they are.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd as _;
        let target = std::fs::File::open(&path).expect("namespace file");
        // SAFETY: setns on this short-lived thread only; the fd is open.
        assert_eq!(
            unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) },
            0,
            "setns {path}"
        );
        f()
    })
    .join()
    .expect("namespace thread")
}

/// Network namespaces on one switch: `<prefix>-sw` holds bridge `br0`, and
/// each node `<prefix>-<node>` an `eth0` (veth) on it with its address and
/// `lo` up. Every namespace is removed on drop, newest first.
pub struct SwitchedNodes {
    prefix: String,
    _namespaces: Namespaces,
}

impl SwitchedNodes {
    /// `nodes`: (name, address/prefix) pairs.
    #[must_use]
    pub fn new(prefix: &str, nodes: &[(&str, &str)]) -> Self {
        let namespaces = switched_nodes(prefix, nodes, 0);
        Self { prefix: prefix.to_owned(), _namespaces: namespaces }
    }

    /// The namespace of `node` (or `sw`, the switch).
    #[must_use]
    pub fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.prefix)
    }
}

/// Builds namespace `<prefix>-sw` with bridge `br0`, and for each (node, address/prefix)
/// of `nodes` namespace `<prefix>-<node>` with `eth0` on the switch at port `p<N>`, N
/// counting from `first_port`; panics on any failure. Returns the guard of the namespaces.
#[must_use]
pub fn switched_nodes(prefix: &str, nodes: &[(&str, &str)], first_port: usize) -> Namespaces {
    let ns = |node: &str| format!("{prefix}-{node}");
    let mut namespaces = Namespaces::default();
    let sw = ns("sw");
    namespaces.add(&sw).expect("switch namespace");
    let names: Vec<String> = nodes.iter().map(|(node, _)| ns(node)).collect();
    let ports: Vec<String> =
        (0..nodes.len()).map(|index| format!("p{}", first_port + index)).collect();
    for name in &names {
        namespaces.add(name).expect("node namespace");
    }
    let cables: Vec<SwitchPort<'_>> = nodes
        .iter()
        .zip(&names)
        .zip(&ports)
        .map(|(((_, cidr), ns), port)| SwitchPort { ns, dev: "eth0", port, cidr: Some(cidr) })
        .collect();
    topology::add_switch(&sw, "br0", &cables).expect("switch and its nodes");
    namespaces
}

/// One HTTP/1.1 GET with `Connection: close` from inside `ns`; the body,
/// or an error text. Bounded by `timeout`.
pub fn http_get(ns: &str, address: &str, path: &str, timeout: Duration) -> Result<String, String> {
    use std::io::{Read as _, Write as _};
    let address: std::net::SocketAddr = address.parse().map_err(|err| format!("{err}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    in_netns(ns, move || {
        let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)
            .map_err(|err| err.to_string())?;
        stream.set_read_timeout(Some(timeout)).map_err(|err| err.to_string())?;
        stream.write_all(request.as_bytes()).map_err(|err| err.to_string())?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).map_err(|err| err.to_string())?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").ok_or("no response head")?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(head.lines().next().unwrap_or_default().to_owned());
        }
        Ok(body.to_owned())
    })
}

/// A small HTTP/1.1 server inside a namespace answering every request with
/// `NAME client=PEER xff=X-FORWARDED-FOR` (keep-alive, Content-Length), as
/// the lab's web servers do. Stops when dropped.
pub struct NsHttpServer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NsHttpServer {
    #[must_use]
    pub fn start(ns: &str, name: &str, bind: &str) -> Self {
        use std::sync::{atomic::AtomicBool, Arc};
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (path, name, bind, flag) =
            (format!("/run/netns/{ns}"), name.to_owned(), bind.to_owned(), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            use std::os::fd::AsRawFd as _;
            let target = std::fs::File::open(&path).expect("namespace file");
            // SAFETY: setns on this server thread only; the fd is open.
            assert_eq!(unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
            let listener = std::net::TcpListener::bind(&bind).expect("bind test server");
            listener.set_nonblocking(true).unwrap();
            ready_tx.send(()).unwrap();
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, peer)) => {
                        let (name, flag) = (name.clone(), Arc::clone(&flag));
                        std::thread::spawn(move || serve_connection(stream, peer, &name, &flag));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(5)).expect("test server up");
        Self { stop, thread: Some(thread) }
    }
}

fn serve_connection(
    mut stream: std::net::TcpStream,
    peer: std::net::SocketAddr,
    name: &str,
    stop: &std::sync::atomic::AtomicBool,
) {
    use std::io::{Read as _, Write as _};
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => return,
        }
        while let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            buffer.drain(..end + 4);
            let xff = head
                .lines()
                .find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.eq_ignore_ascii_case("x-forwarded-for").then(|| value.trim().to_owned())
                })
                .unwrap_or_default();
            let body = format!("{name} client={} xff={xff}\n", peer.ip());
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    }
}

impl Drop for NsHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Brings a test lab down on drop, so a failed assertion leaves nothing.
pub struct LabGuard(pub xtask::lab::Lab);

impl Drop for LabGuard {
    fn drop(&mut self) {
        if let Err(e) = xtask::lab::down::down(&self.0) {
            eprintln!("lab down failed: {e:#}");
        }
    }
}

/// A lab test's lab under `prefix`, with whatever an earlier run left removed first;
/// fails the test when not root.
#[must_use]
pub fn fresh_lab(prefix: &str) -> xtask::lab::Lab {
    assert!(
        xtask::lab::sys::require_root().is_ok(),
        "the lab tests need root (network namespaces)"
    );
    let lab = xtask::lab::Lab::new(prefix).expect("lab prefix");
    xtask::lab::down::down(&lab).expect("removing what an earlier run left");
    lab
}

/// The network namespaces of the lab with `prefix` that exist now.
#[must_use]
pub fn lab_namespaces(prefix: &str) -> Vec<String> {
    let out = xtask::lab::sys::ip(&["netns", "list"]).unwrap();
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("{prefix}-")))
        .map(String::from)
        .collect()
}

/// What a [`KeepAliveLoad`] saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Complete 200 responses.
    pub ok: u64,
    /// Requests that got no complete response (reset, early close,
    /// timeout, another status), each with what happened.
    pub failed: Vec<String>,
    /// Keep-alive connections the server ended cleanly with
    /// `Connection: close` on a response (the client reconnects).
    pub closed_by_server: u64,
}

/// Steady load from inside a namespace, as a browser behind a keep-alive
/// connection sends it: one request every `pause` on one connection, a new
/// connection only after the server said `Connection: close`; and every
/// fifth request also on a new connection of its own. Runs until dropped
/// or [`Self::stop`]ped.
pub struct KeepAliveLoad {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<LoadReport>>,
}

impl KeepAliveLoad {
    #[must_use]
    pub fn start(ns: &str, address: &str, pause: Duration) -> Self {
        use std::sync::{atomic::AtomicBool, Arc};
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let (ns, address) = (ns.to_owned(), address.parse::<std::net::SocketAddr>().unwrap());
        let thread = std::thread::spawn(move || {
            in_netns(&ns, move || keep_alive_loop(address, pause, &flag))
        });
        Self { stop, thread: Some(thread) }
    }

    /// Stops the load and returns what it saw.
    #[must_use]
    pub fn stop(mut self) -> LoadReport {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.take().map(|thread| thread.join().expect("load thread")).unwrap_or_default()
    }
}

impl Drop for KeepAliveLoad {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One response read off `stream`: whether it said `Connection: close`.
fn read_response(stream: &mut std::net::TcpStream) -> Result<bool, String> {
    use std::io::Read as _;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(format!("closed after {} bytes of the response", buffer.len())),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(err) => return Err(err.to_string()),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        return Err(head.lines().next().unwrap_or_default().to_owned());
    }
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .ok_or("no content-length")?;
    while buffer.len() < head_end + 4 + length {
        match stream.read(&mut chunk) {
            Ok(0) => return Err("closed inside the body".to_owned()),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(err) => return Err(err.to_string()),
        }
    }
    Ok(head.lines().any(|line| line.starts_with("connection:") && line.contains("close")))
}

fn keep_alive_loop(
    address: std::net::SocketAddr,
    pause: Duration,
    stop: &std::sync::atomic::AtomicBool,
) -> LoadReport {
    use std::io::Write as _;
    let connect = || {
        let stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok::<_, std::io::Error>(stream)
    };
    let request = format!("GET / HTTP/1.1\r\nHost: {address}\r\n\r\n");
    let mut report = LoadReport::default();
    let mut kept: Option<std::net::TcpStream> = None;
    let mut round = 0u64;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        round += 1;
        let fresh = round.is_multiple_of(5);
        let mut stream = match if fresh { None } else { kept.take() } {
            Some(stream) => stream,
            None => match connect() {
                Ok(stream) => stream,
                Err(err) => {
                    report.failed.push(format!("round {round}: connect: {err}"));
                    std::thread::sleep(pause);
                    continue;
                }
            },
        };
        let answer = stream
            .write_all(request.as_bytes())
            .map_err(|err| err.to_string())
            .and_then(|()| read_response(&mut stream));
        match answer {
            Ok(close) => {
                report.ok += 1;
                if close && !fresh {
                    report.closed_by_server += 1;
                } else if !fresh {
                    kept = Some(stream);
                }
            }
            Err(err) => report
                .failed
                .push(format!("round {round} ({}): {err}", if fresh { "new" } else { "kept" })),
        }
        std::thread::sleep(pause);
    }
    report
}

/// SIGTERMs every process whose command line has an argument starting with
/// `prefix` (a test lab's directory), and waits for them: daemons a test's
/// upgrade started are children of no test handle.
pub fn stop_processes_under(prefix: &std::path::Path) {
    let prefix = prefix.as_os_str().as_encoded_bytes().to_vec();
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    let pids: Vec<libc::pid_t> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| line.split(|byte| *byte == 0).any(|arg| arg.starts_with(&prefix)))
        })
        .collect();
    for pid in &pids {
        // SAFETY: signalling processes this test's lab started.
        unsafe { libc::kill(*pid, libc::SIGTERM) };
    }
    let start = std::time::Instant::now();
    while pids.iter().any(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
        && start.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
}
