//! Human-readable output of `halb status` and `halb check`.

use std::fmt::Write as _;

use halb::{
    config::Config,
    control::{stp::StpReport, vrrp::VrrpReport, DaemonStatus},
    proxy::StatsSnapshot,
};

pub fn config_summary(config: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "config ok: node {}", config.node);
    let _ = writeln!(out, "  pins:   {}", config.pin_dir().display());
    let _ = writeln!(out, "  socket: {}", config.socket_path().display());
    for point in config.attach_points() {
        let _ = writeln!(
            out,
            "  {:<16} {:<15} netns {}",
            point.role,
            point.interface,
            point.netns.as_deref().unwrap_or("(own)")
        );
    }
    out
}

pub fn status(status: &DaemonStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "node {} (pid {}, config {})", status.node, status.pid, status.config);
    for program in &status.programs {
        let _ = writeln!(
            out,
            "  instance {:<12} program {} id {} at {}",
            program.instance, program.name, program.id, program.attach
        );
    }
    let _ = writeln!(out, "  pinned maps under {}:", status.pin_dir);
    for map in &status.pinned_maps {
        let _ = writeln!(out, "    {map}");
    }
    let _ = writeln!(
        out,
        "  {:<16} {:<15} {:<12} {:>7}  counters (packets)",
        "ROLE", "INTERFACE", "NETNS", "IFINDEX"
    );
    for port in &status.ports {
        let traffic: Vec<String> = port
            .counters
            .traffic
            .iter()
            .map(|(class, counter)| format!("{class}={}", counter.packets))
            .collect();
        let malformed: Vec<String> = port
            .counters
            .malformed
            .iter()
            .map(|(reason, counter)| format!("{reason}={}", counter.packets))
            .collect();
        let _ = writeln!(
            out,
            "  {:<16} {:<15} {:<12} {:>7}  {}{}",
            port.role,
            port.interface,
            port.netns.as_deref().unwrap_or("(own)"),
            port.ifindex,
            if traffic.is_empty() { "-".to_owned() } else { traffic.join(" ") },
            if malformed.is_empty() {
                String::new()
            } else {
                format!("  malformed: {}", malformed.join(" "))
            },
        );
    }
    for balancer in &status.steering {
        let vips: Vec<String> = balancer
            .vips
            .iter()
            .map(|vip| format!("{}={}", vip.address, if vip.owned { "owned" } else { "not-owned" }))
            .collect();
        let _ = writeln!(
            out,
            "  steering {} (sk_lookup program id {}): vips {}",
            balancer.balancer,
            balancer.program_id,
            if vips.is_empty() { "-".to_owned() } else { vips.join(" ") }
        );
        for frontend in &balancer.frontends {
            let _ = writeln!(out, "  {}", steering_line(frontend));
        }
    }
    out
}

/// One steered frontend: its addresses, listener and counters.
fn steering_line(frontend: &halb::steering::FrontendSteering) -> String {
    format!(
        "  steering {} [{}] -> {}: steered {} no_socket {} refused {} assign_failed {}",
        frontend.frontend,
        frontend.addresses.join(" "),
        frontend.listener,
        frontend.steered,
        frontend.no_socket,
        frontend.refused,
        frontend.assign_failed
    )
}

pub fn vrrp(reports: &[VrrpReport]) -> String {
    let mut out = String::new();
    for report in reports {
        let master = match (report.master_address, report.master_priority) {
            (Some(address), Some(priority)) => format!("{address} prio {priority}"),
            _ => "unknown".to_owned(),
        };
        let age = report
            .last_advert_age_secs
            .map_or_else(|| "never".to_owned(), |age| format!("{age:.2} s ago"));
        let _ = writeln!(
            out,
            "{} (balancer {}, {} vrid {} v{}): {}",
            report.instance,
            report.balancer,
            report.interface,
            report.vrid,
            report.version,
            report.state
        );
        let _ = writeln!(
            out,
            "  priority {} (effective {}), advert interval {} ms, master down interval {} ms",
            report.configured_priority,
            report.effective_priority,
            report.advert_interval_ms,
            report.master_down_interval_ms
        );
        let _ = writeln!(out, "  virtual addresses {}", report.virtual_addresses.join(" "));
        let _ = writeln!(out, "  master {master}, last advert {age}");
        let _ = writeln!(
            out,
            "  {} transitions, last: {}",
            report.transitions,
            report.last_reason.as_deref().unwrap_or("-")
        );
        let _ = writeln!(
            out,
            "  adverts sent {} received {} discarded {}, invalid packets {}, errors {}",
            report.adverts_sent,
            report.adverts_received,
            report.adverts_discarded,
            report.invalid_packets,
            report.errors
        );
        if let Some(fast_path) = &report.fast_path {
            let counters: Vec<String> = fast_path
                .iter()
                .filter(|(_, count)| **count > 0)
                .map(|(name, count)| format!("{name}={count}"))
                .collect();
            let shown = if counters.is_empty() { "-".to_owned() } else { counters.join(" ") };
            let _ = writeln!(out, "  fast path: {shown}");
        }
    }
    out
}

#[expect(clippy::cast_precision_loss, reason = "latencies shown with two decimals")]
pub fn proxy(balancer: &str, stats: &StatsSnapshot) -> String {
    let mut out = String::new();
    let classes = |responses: &halb::proxy::stats::Responses| {
        responses
            .by_class()
            .iter()
            .map(|(class, count)| format!("{class}={count}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(out, "balancer {balancer}");
    for frontend in &stats.frontends {
        let _ = writeln!(
            out,
            "  frontend {} -> {}: connections {} (max {}), requests {}, {} errors {}",
            frontend.name,
            frontend.backend,
            frontend.connections.current,
            frontend.connections.max,
            frontend.requests,
            classes(&frontend.responses),
            frontend.errors
        );
    }
    for frontend in &stats.steering {
        let _ = writeln!(out, "{}", steering_line(frontend));
    }
    for backend in &stats.backends {
        let _ = writeln!(
            out,
            "  backend {} ({:?}): {}/{} servers up, requests {}, {} errors {} retries {} redispatches {}",
            backend.name,
            backend.balance,
            backend.health.servers_up,
            backend.health.servers_total,
            backend.requests,
            classes(&backend.responses),
            backend.errors,
            backend.retries,
            backend.redispatches
        );
        for server in &backend.servers {
            let mean_ms = if server.latency.count == 0 {
                0.0
            } else {
                server.latency.sum_us as f64 / server.latency.count as f64 / 1000.0
            };
            let _ = writeln!(
                out,
                "    server {:<10} {:<21} {:?}{} weight {} active {} (max {}) requests {} {} errors {} latency mean {:.2} ms max {:.2} ms",
                server.name,
                server.address,
                server.state,
                if server.checked { "" } else { " (no check)" },
                server.weight,
                server.active.current,
                server.active.max,
                server.requests,
                classes(&server.responses),
                server.errors,
                mean_ms,
                server.latency.max_us as f64 / 1000.0
            );
        }
    }
    out
}

/// The tunnel's header line (both VXLAN views start with it).
fn vxlan_header(report: &halb::vxlan::VxlanReport) -> String {
    let remotes: Vec<String> = report.remotes.iter().map(ToString::to_string).collect();
    format!(
        "node {} vni {} local {} underlay {} port {} in {} mtu {} ttl {} ageing {} s: {}\n  remotes: {}\n",
        report.node,
        report.vni,
        report.local.map_or_else(|| "-".to_owned(), |local| local.to_string()),
        report.underlay,
        report.tunnel_port,
        report.bridge,
        report.mtu,
        report.ttl,
        report.ageing_secs,
        report.state,
        if remotes.is_empty() { "-".to_owned() } else { remotes.join(" ") },
    )
}

pub fn vxlan_fdb(report: &halb::vxlan::VxlanReport) -> String {
    let mut out = vxlan_header(report);
    let _ = writeln!(out, "  {:<17}  {:<15}  {:>8}  KIND", "MAC", "VTEP", "AGE");
    for row in &report.fdb {
        let age = row.age_secs.map_or_else(|| "-".to_owned(), |age| format!("{age:.1}s"));
        let _ = writeln!(out, "  {:<17}  {:<15}  {:>8}  {}", row.mac, row.vtep, age, row.kind);
    }
    if report.fdb.is_empty() {
        let _ = writeln!(out, "  (empty: unknown destinations are flooded to every remote)");
    }
    out
}

pub fn vxlan_stats(report: &halb::vxlan::VxlanReport) -> String {
    let mut out = vxlan_header(report);
    let _ = writeln!(out, "  {:<24} {:>12} {:>14}", "COUNTER", "PACKETS", "BYTES");
    for (name, counter) in &report.counters {
        let _ = writeln!(out, "  {name:<24} {:>12} {:>14}", counter.packets, counter.bytes);
    }
    for (name, counter) in &report.drops {
        let _ = writeln!(
            out,
            "  {:<24} {:>12} {:>14}",
            format!("drop {name}"),
            counter.packets,
            counter.bytes
        );
    }
    out
}

/// `halb stp show` of one bridge: `mstpctl showbridge`, then one line per
/// port as `mstpctl showport`, then the recent events.
#[expect(clippy::too_many_lines, reason = "one table, field by field")]
pub fn stp(report: &StpReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "bridge {} ({}): {}", report.bridge, report.protocol, report.state);
    if report.bridge_id.is_empty() {
        return out;
    }
    let _ = writeln!(out, "  bridge id         {}", report.bridge_id);
    let _ = writeln!(out, "  designated root   {}", report.root_id);
    let _ = writeln!(
        out,
        "  root port         {}, root path cost {}",
        report.root_port.as_deref().unwrap_or("none (this bridge is root)"),
        report.root_path_cost
    );
    let _ = writeln!(
        out,
        "  timers            hello {} s, max age {} s, forward delay {} s (root's: max age {} s, forward delay {} s)",
        report.hello_time_secs,
        report.max_age_secs,
        report.forward_delay_secs,
        report.root_max_age_secs,
        report.root_forward_delay_secs
    );
    let since = report
        .time_since_topology_change_secs
        .map_or_else(|| "never".to_owned(), |secs| format!("{secs:.1} s ago"));
    let _ = writeln!(
        out,
        "  topology change   {}, {} changes, last {since}",
        if report.topology_change { "in progress" } else { "no" },
        report.topology_change_count
    );
    let _ = writeln!(
        out,
        "  kernel stp_state  was {} before halb, errors {}",
        report.kernel_stp_state_before.map_or_else(|| "-".to_owned(), |state| state.to_string()),
        report.errors
    );
    let _ = writeln!(
        out,
        "  {:<15} {:<6} {:<11} {:<11} {:>9}  {:<18} {:<6} {:<5} {:<4} {:<5} {:<17} datapath",
        "port",
        "id",
        "role",
        "state",
        "cost",
        "designated bridge",
        "dport",
        "edge",
        "p2p",
        "mode",
        "bpdu in/out/ign/bad"
    );
    for port in &report.ports {
        let yes_no = |flag: bool| if flag { "yes" } else { "no" };
        let mut flags = Vec::new();
        if !port.link_up {
            flags.push("link-down");
        }
        if port.bpdu_guard_tripped {
            flags.push("bpdu-guard-tripped");
        }
        if port.root_inconsistent {
            flags.push("root-inconsistent");
        }
        if port.topology_change {
            flags.push("tc");
        }
        let datapath = port.datapath.map_or_else(
            || "-".to_owned(),
            |c| {
                format!(
                    "bpdu {}/{} drop {}/{} pass {}/{}",
                    c.bpdu_in,
                    c.bpdu_out,
                    c.dropped_ingress,
                    c.dropped_egress,
                    c.passed_ingress,
                    c.passed_egress
                )
            },
        );
        let _ = writeln!(
            out,
            "  {:<15} {:<6} {:<11} {:<11} {:>9}  {:<18} {:<6} {:<5} {:<4} {:<5} {:<17} {datapath}{}",
            port.name,
            port.port_id,
            port.role,
            port.state,
            port.path_cost,
            port.designated_bridge,
            port.designated_port,
            if port.oper_edge { "yes" } else if port.admin_edge { "admin" } else { "no" },
            yes_no(port.point_to_point),
            port.mode,
            format!(
                "{}/{}/{}/{}",
                port.bpdus_in, port.bpdus_out, port.bpdus_ignored, port.bpdus_malformed
            ),
            if flags.is_empty() { String::new() } else { format!("  [{}]", flags.join(" ")) },
        );
    }
    if !report.history.is_empty() {
        let _ = writeln!(out, "  recent events (UTC):");
        for event in &report.history {
            let ms = event.unix_ms % 86_400_000;
            let _ = writeln!(
                out,
                "    {:02}:{:02}:{:02}.{:03} {:<15} {}",
                ms / 3_600_000,
                ms / 60_000 % 60,
                ms / 1000 % 60,
                ms % 1000,
                event.port.as_deref().unwrap_or("(bridge)"),
                event.event
            );
        }
    }
    out
}
