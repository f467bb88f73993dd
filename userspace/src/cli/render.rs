//! Human-readable output of `halb status` and `halb check`.

use std::fmt::Write as _;

use halb::{config::Config, control::DaemonStatus};

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
    out
}
