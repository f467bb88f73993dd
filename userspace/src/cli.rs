//! Command-line interface (clap derive; the doc comments are the help).

mod import;
mod render;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use halb::{
    config::{self, Config, Overrides, DEFAULT_RUN_DIR},
    control::{self, Request, Response},
    daemon::Daemon,
};

/// halb: high-availability load balancing with an eBPF datapath.
///
/// One daemon per host VM: host roles (bridges, STP, VXLAN) in the host's
/// network namespace, balancer roles (VRRP, L7 proxy) in each balancer's.
#[derive(Parser)]
#[command(version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which running daemons a query asks, and how it prints the answer.
#[derive(clap::Args)]
struct Query {
    /// Only the daemon of this node (default: every daemon in the run dir).
    #[arg(long)]
    node: Option<String>,
    /// Directory of the control sockets.
    #[arg(long, default_value = DEFAULT_RUN_DIR)]
    run_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: validate the config, load and attach the datapath, pin
    /// its maps under <bpffs>/halb/<node>/, serve until SIGINT/SIGTERM, then
    /// detach and unpin. SIGHUP reloads the interface lists.
    Run {
        /// TOML config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Directory for the control socket (overrides `daemon.run_dir`).
        #[arg(long)]
        run_dir: Option<PathBuf>,
    },
    /// Validate a config file and print what it would run; touches nothing.
    Check {
        /// TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Turn haproxy.cfg and keepalived.conf into a halb config on stdout
    /// (one balancer); every directive not imported as it is goes to
    /// stderr as `FILE:LINE: directive: why`. keepalived's authentication is
    /// refused (RFC 5798 removed it).
    Import {
        /// haproxy's configuration file (frontends, backends, listen, defaults).
        #[arg(long, value_name = "FILE")]
        haproxy: Option<PathBuf>,
        /// keepalived's configuration file (`vrrp_instance`, `vrrp_script`, `global_defs`).
        #[arg(long, value_name = "FILE")]
        keepalived: Option<PathBuf>,
        /// The node's name, daemon.node (default: this host's name).
        #[arg(long)]
        node: Option<String>,
        /// The balancer's name (default: keepalived's `router_id`, else bal1).
        #[arg(long)]
        balancer: Option<String>,
        /// The balancer's network namespace (default: its name).
        #[arg(long)]
        netns: Option<String>,
    },
    /// Show what running daemons do: roles, interfaces, programs, counters.
    Status {
        #[command(flatten)]
        query: Query,
    },
    /// L7 proxies of running daemons.
    Proxy {
        #[command(subcommand)]
        command: ProxyCommand,
    },
    /// VRRP instances of running daemons.
    Vrrp {
        #[command(subcommand)]
        command: VrrpCommand,
    },
    /// The VXLAN tunnel of running daemons.
    Vxlan {
        #[command(subcommand)]
        command: VxlanCommand,
    },
    /// STP/RSTP bridges of running daemons.
    Stp {
        #[command(subcommand)]
        command: StpCommand,
    },
    /// Ask a running daemon to re-read its config file (same as SIGHUP).
    Reload {
        /// Node of the daemon.
        #[arg(long)]
        node: String,
        /// Directory of the control sockets.
        #[arg(long, default_value = DEFAULT_RUN_DIR)]
        run_dir: PathBuf,
    },
    /// Hand a running daemon over to a new process without a gap: the new
    /// one takes the listening sockets, the eBPF programs' links and maps
    /// and the STP and VRRP state; the old one drains its connections for
    /// at most its drain timeout (30 s unless configured) and exits. If the new process fails,
    /// the old one keeps serving and the error is printed.
    Upgrade {
        /// Node of the daemon.
        #[arg(long)]
        node: String,
        /// The new binary (default: the one the daemon runs).
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
        /// Directory of the control sockets.
        #[arg(long, default_value = DEFAULT_RUN_DIR)]
        run_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum ProxyCommand {
    /// Per frontend, backend and server: requests, responses by class,
    /// errors, retries, health, connections, latency.
    Stats {
        #[command(flatten)]
        query: Query,
        /// Print the Prometheus text exposition (as the admin listener's /metrics).
        #[arg(long, conflicts_with = "json")]
        prometheus: bool,
    },
}

#[derive(Subcommand)]
enum VxlanCommand {
    /// Forwarding table: inner MAC, remote VTEP, age, static or learned.
    Fdb {
        #[command(flatten)]
        query: Query,
    },
    /// Frames encapsulated, decapsulated, flooded, learned; drops by reason.
    Stats {
        #[command(flatten)]
        query: Query,
    },
}

#[derive(Subcommand)]
enum StpCommand {
    /// Per bridge: bridge and root IDs, root port and cost, timers,
    /// topology changes; per port: role, state, path cost, designated
    /// bridge and port, edge, point-to-point, mode, BPDU and datapath
    /// counters; then the recent transitions.
    Show {
        #[command(flatten)]
        query: Query,
    },
}

#[derive(Subcommand)]
enum VrrpCommand {
    /// Per instance: state, priority (configured and effective), master,
    /// last advert age, transitions and the last reason, fast-path counters.
    Status {
        #[command(flatten)]
        query: Query,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run { config, run_dir } => run_daemon(&config, run_dir),
        Command::Check { config } => {
            let config = config::load(&config)?;
            print!("{}", render::config_summary(&config));
            Ok(())
        }
        Command::Import { haproxy, keepalived, node, balancer, netns } => {
            import::run(import::ImportArgs { haproxy, keepalived, node, balancer, netns })
        }
        Command::Status { query } => status(query.node.as_deref(), &query.run_dir, query.json),
        Command::Reload { node, run_dir } => reload(&node, &run_dir),
        Command::Upgrade { node, binary, run_dir } => upgrade(&node, binary, &run_dir),
        Command::Proxy {
            command: ProxyCommand::Stats { query: Query { node, run_dir, json }, prometheus },
        } => proxy_stats(node.as_deref(), &run_dir, json, prometheus),
        Command::Vrrp { command: VrrpCommand::Status { query: Query { node, run_dir, json } } } => {
            vrrp_status(node.as_deref(), &run_dir, json)
        }
        Command::Stp { command: StpCommand::Show { query: Query { node, run_dir, json } } } => {
            stp_show(node.as_deref(), &run_dir, json)
        }
        Command::Vxlan { command: VxlanCommand::Fdb { query: Query { node, run_dir, json } } } => {
            vxlan(node.as_deref(), &run_dir, json, render::vxlan_fdb)
        }
        Command::Vxlan {
            command: VxlanCommand::Stats { query: Query { node, run_dir, json } },
        } => vxlan(node.as_deref(), &run_dir, json, render::vxlan_stats),
    }
}

fn run_daemon(path: &Path, run_dir: Option<PathBuf>) -> anyhow::Result<()> {
    // Started by `halb upgrade`: the old daemon waits on this socket.
    let handover = halb::daemon::inherited_handover()?;
    // Validation first: a bad config exits non-zero before anything changes.
    let overrides = Overrides { run_dir };
    let config: Config = match config::load(path) {
        Ok(config) => config.with_overrides(&overrides),
        Err(err) => {
            if let Some(channel) = &handover {
                halb::daemon::refuse_handover(channel, &format!("{err:#}"));
            }
            return Err(err.into());
        }
    };
    init_tracing(config.log_level.as_str());
    let node = config.node.clone();
    let mut daemon = match handover {
        None => Daemon::start(config, path.to_owned(), overrides)
            .with_context(|| format!("starting the daemon for node {node:?}"))?,
        Some(channel) => Daemon::take_over(config, path.to_owned(), overrides, channel)
            .with_context(|| format!("taking over the daemon of node {node:?}"))?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let served = runtime.block_on(daemon.serve());
    let stopped = daemon.shutdown();
    served.context("serving")?;
    stopped.context("shutting down")?;
    Ok(())
}

fn init_tracing(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init();
}

fn client_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")
}

/// The control sockets of one node, or of every daemon in `run_dir`.
fn sockets(node: Option<&str>, run_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    Ok(if let Some(node) = node {
        vec![run_dir.join(format!("{node}.sock"))]
    } else {
        let mut sockets: Vec<_> = std::fs::read_dir(run_dir)
            .with_context(|| format!("no daemon runs here: cannot read {}", run_dir.display()))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sock"))
            .collect();
        sockets.sort();
        if sockets.is_empty() {
            bail!("no daemon control socket in {}", run_dir.display());
        }
        sockets
    })
}

/// Sends `request` to the daemon of `node` (or to every daemon in
/// `run_dir`) and collects what `pick` takes from each reply; a reply of
/// another kind is an error naming the socket.
fn ask<T>(
    node: Option<&str>,
    run_dir: &Path,
    request: &Request,
    pick: impl Fn(Response) -> Result<Vec<T>, Response>,
) -> anyhow::Result<Vec<T>> {
    let runtime = client_runtime()?;
    let mut items = Vec::new();
    for socket in sockets(node, run_dir)? {
        match pick(runtime.block_on(control::request(&socket, request.clone()))?) {
            Ok(picked) => items.extend(picked),
            Err(other) => bail!("unexpected reply from {}: {other:?}", socket.display()),
        }
    }
    Ok(items)
}

/// Prints `items` as JSON, or `none` when there are none, or each rendered.
fn show<T: serde::Serialize>(
    items: &[T],
    json: bool,
    none: &str,
    render: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(items)?);
    } else if items.is_empty() {
        println!("{none}");
    } else {
        for item in items {
            print!("{}", render(item));
        }
    }
    Ok(())
}

fn status(node: Option<&str>, run_dir: &Path, json: bool) -> anyhow::Result<()> {
    let reports = ask(node, run_dir, &Request::Status, |reply| match reply {
        Response::Status(status) => Ok(vec![*status]),
        other => Err(other),
    })?;
    show(&reports, json, "no daemon answered", render::status)
}

fn proxy_stats(
    node: Option<&str>,
    run_dir: &Path,
    json: bool,
    prometheus: bool,
) -> anyhow::Result<()> {
    let proxies = ask(node, run_dir, &Request::Proxy, |reply| match reply {
        Response::Proxy(stats) => Ok(stats),
        other => Err(other),
    })?;
    if prometheus && !json && !proxies.is_empty() {
        // One exposition, each balancer's samples labelled with its name.
        let mut out = halb::exposition::Exposition::new();
        halb::proxy::stats::prometheus::write_by_balancer(&mut out, &proxies);
        print!("{}", out.finish());
        return Ok(());
    }
    show(&proxies, json, "no proxy configured", |(balancer, stats)| render::proxy(balancer, stats))
}

fn vrrp_status(node: Option<&str>, run_dir: &Path, json: bool) -> anyhow::Result<()> {
    let reports = ask(node, run_dir, &Request::Vrrp, |reply| match reply {
        Response::Vrrp(instances) => Ok(instances),
        other => Err(other),
    })?;
    if json || reports.is_empty() {
        return show(&reports, json, "no VRRP instance configured", |_| String::new());
    }
    print!("{}", render::vrrp(&reports));
    Ok(())
}

fn stp_show(node: Option<&str>, run_dir: &Path, json: bool) -> anyhow::Result<()> {
    let reports = ask(node, run_dir, &Request::Stp, |reply| match reply {
        Response::Stp(bridges) => Ok(bridges),
        other => Err(other),
    })?;
    show(&reports, json, "no STP bridge configured", render::stp)
}

fn vxlan(
    node: Option<&str>,
    run_dir: &Path,
    json: bool,
    render: fn(&halb::vxlan::VxlanReport) -> String,
) -> anyhow::Result<()> {
    let reports = ask(node, run_dir, &Request::Vxlan, |reply| match reply {
        Response::Vxlan(report) => Ok(report.map(|report| *report).into_iter().collect()),
        other => Err(other),
    })?;
    show(&reports, json, "no VXLAN tunnel configured", render)
}

fn upgrade(node: &str, binary: Option<PathBuf>, run_dir: &Path) -> anyhow::Result<()> {
    let socket = run_dir.join(format!("{node}.sock"));
    // The daemon resolves the path from its own working directory.
    let binary = binary
        .map(|path| std::path::absolute(&path).with_context(|| format!("{}", path.display())))
        .transpose()?;
    match client_runtime()?.block_on(control::request(&socket, Request::Upgrade { binary }))? {
        Response::Upgraded { pid, drain_timeout_ms } => {
            println!(
                "upgraded {node}: pid {pid} serves now; the old process drains for at most {:.1} s",
                std::time::Duration::from_millis(drain_timeout_ms).as_secs_f64()
            );
            Ok(())
        }
        other => bail!("unexpected reply: {other:?}"),
    }
}

fn reload(node: &str, run_dir: &Path) -> anyhow::Result<()> {
    let socket = run_dir.join(format!("{node}.sock"));
    match client_runtime()?.block_on(control::request(&socket, Request::Reload))? {
        Response::Reloaded { attached, detached } => {
            println!("reloaded {node}: attached {attached:?}, detached {detached:?}");
            Ok(())
        }
        other => bail!("unexpected reply: {other:?}"),
    }
}
