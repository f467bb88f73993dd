//! [`StatsSnapshot`] in the Prometheus text exposition format (0.0.4), with
//! [`crate::exposition`].

use super::{BackendStats, Latency, Responses, ServerStats, StatsSnapshot};
use crate::exposition::{seconds_from_us, Exposition, Label, Metric};
use crate::proxy::health::HealthState;

/// The statistics of one proxy and the labels that tell it from the others
/// (`balancer="bal1"` on a daemon's `/metrics`, none on a balancer's own).
pub type Labelled<'a> = (&'a [Label<'a>], &'a StatsSnapshot);

/// Renders every counter of `stats`, one `# TYPE` line per metric family.
#[must_use]
pub fn render(stats: &StatsSnapshot) -> String {
    let mut out = Exposition::new();
    write(&mut out, &[(&[], stats)]);
    out.finish()
}

/// Writes the families of every proxy in `proxies`, each family once.
pub fn write(out: &mut Exposition, proxies: &[Labelled<'_>]) {
    frontends(out, proxies);
    steering(out, proxies);
    backends(out, proxies);
    servers(out, proxies);
}

/// What the datapath's VIP steering did with each frontend's new
/// connections (docs/steering.md); nothing without steering.
fn steering(out: &mut Exposition, proxies: &[Labelled<'_>]) {
    if proxies.iter().all(|(_, stats)| stats.steering.is_empty()) {
        return;
    }
    let name = "halb_proxy_frontend_steering_total";
    out.family(name, "counter", "New connections seen by VIP steering, by outcome.");
    for (base, stats) in proxies {
        for f in &stats.steering {
            for (outcome, value) in [
                ("steered", f.steered),
                ("no_socket", f.no_socket),
                ("refused", f.refused),
                ("assign_failed", f.assign_failed),
            ] {
                out.sample(name, base, &[("frontend", &f.frontend), ("outcome", outcome)], value);
            }
        }
    }
}

/// Writes the proxies of a daemon's balancers, `(balancer, stats)`, each sample labelled
/// `balancer="NAME"`.
pub fn write_by_balancer(out: &mut Exposition, proxies: &[(String, StatsSnapshot)]) {
    let labels: Vec<[Label<'_>; 1]> =
        proxies.iter().map(|(balancer, _)| [("balancer", balancer.as_str())]).collect();
    let labelled: Vec<Labelled<'_>> =
        labels.iter().zip(proxies).map(|(l, (_, stats))| (&l[..], stats)).collect();
    write(out, &labelled);
}

fn frontends(out: &mut Exposition, proxies: &[Labelled<'_>]) {
    let fe =
        || proxies.iter().flat_map(|(base, stats)| stats.frontends.iter().map(move |f| (*base, f)));
    out.family("halb_proxy_frontend_connections", "gauge", "Client connections open now.");
    for (base, f) in fe() {
        out.sample(
            "halb_proxy_frontend_connections",
            base,
            &[("frontend", &f.name)],
            f.connections.current,
        );
    }
    out.family(
        "halb_proxy_frontend_connections_max",
        "gauge",
        "Most client connections open at once.",
    );
    for (base, f) in fe() {
        out.sample(
            "halb_proxy_frontend_connections_max",
            base,
            &[("frontend", &f.name)],
            f.connections.max,
        );
    }
    out.family("halb_proxy_frontend_connections_total", "counter", "Client connections accepted.");
    for (base, f) in fe() {
        out.sample(
            "halb_proxy_frontend_connections_total",
            base,
            &[("frontend", &f.name)],
            f.connections.total,
        );
    }
    out.family("halb_proxy_frontend_requests_total", "counter", "Requests received.");
    for (base, f) in fe() {
        out.sample(
            "halb_proxy_frontend_requests_total",
            base,
            &[("frontend", &f.name)],
            f.requests,
        );
    }
    out.family("halb_proxy_frontend_responses_total", "counter", "Responses sent, by class.");
    for (base, f) in fe() {
        classes(
            out,
            "halb_proxy_frontend_responses_total",
            base,
            &[("frontend", &f.name)],
            &f.responses,
        );
    }
    out.family(
        "halb_proxy_frontend_errors_total",
        "counter",
        "Refused requests and broken client connections.",
    );
    for (base, f) in fe() {
        out.sample("halb_proxy_frontend_errors_total", base, &[("frontend", &f.name)], f.errors);
    }
}

fn backends(out: &mut Exposition, proxies: &[Labelled<'_>]) {
    let be =
        || proxies.iter().flat_map(|(base, stats)| stats.backends.iter().map(move |b| (*base, b)));
    let per_backend: [Metric<BackendStats>; 9] = [
        ("halb_proxy_backend_requests_total", "counter", "Requests balanced.", |b| b.requests),
        (
            "halb_proxy_backend_errors_total",
            "counter",
            "Requests answered 502/503/504 by the proxy.",
            |b| b.errors,
        ),
        (
            "halb_proxy_backend_retries_total",
            "counter",
            "Attempts repeated after a failed connect or exchange.",
            |b| b.retries,
        ),
        (
            "halb_proxy_backend_redispatches_total",
            "counter",
            "Retries sent to another server.",
            |b| b.redispatches,
        ),
        ("halb_proxy_backend_queue", "gauge", "Requests waiting for a server slot.", |b| {
            b.queue.current
        }),
        ("halb_proxy_backend_queue_max", "gauge", "Most requests waiting at once.", |b| {
            b.queue.max
        }),
        ("halb_proxy_backend_servers_up", "gauge", "Servers up.", |b| b.health.servers_up as u64),
        ("halb_proxy_backend_servers", "gauge", "Servers configured.", |b| {
            b.health.servers_total as u64
        }),
        ("halb_proxy_backend_weight_up", "gauge", "Total weight of the servers up.", |b| {
            b.health.weight_up
        }),
    ];
    for (name, kind, help, get) in per_backend {
        out.family(name, kind, help);
        for (base, b) in be() {
            out.sample(name, base, &[("backend", &b.name)], get(b));
        }
    }
    out.family("halb_proxy_backend_responses_total", "counter", "Responses, by class.");
    for (base, b) in be() {
        classes(
            out,
            "halb_proxy_backend_responses_total",
            base,
            &[("backend", &b.name)],
            &b.responses,
        );
    }
}

fn servers(out: &mut Exposition, proxies: &[Labelled<'_>]) {
    let servers = || {
        proxies.iter().flat_map(|(base, stats)| {
            stats.backends.iter().flat_map(move |b| b.servers.iter().map(move |s| (*base, b, s)))
        })
    };
    let per_server: [Metric<ServerStats>; 8] = [
        ("halb_proxy_server_up", "gauge", "1 when the server receives requests.", |s| {
            u64::from(s.state == HealthState::Up)
        }),
        ("halb_proxy_server_weight", "gauge", "Configured weight.", |s| u64::from(s.weight)),
        ("halb_proxy_server_active", "gauge", "Requests in flight.", |s| s.active.current),
        ("halb_proxy_server_active_max", "gauge", "Most requests in flight at once.", |s| {
            s.active.max
        }),
        ("halb_proxy_server_requests_total", "counter", "Requests sent.", |s| s.requests),
        ("halb_proxy_server_errors_total", "counter", "Failed connects and exchanges.", |s| {
            s.errors
        }),
        ("halb_proxy_server_connects_total", "counter", "New TCP connections.", |s| s.connects),
        ("halb_proxy_server_checks_failed_total", "counter", "Failed health checks.", |s| {
            s.checks_failed
        }),
    ];
    for (name, kind, help, get) in per_server {
        out.family(name, kind, help);
        for (base, b, s) in servers() {
            out.sample(name, base, &[("backend", &b.name), ("server", &s.name)], get(s));
        }
    }
    out.family(
        "halb_proxy_server_response_seconds_max",
        "gauge",
        "Slowest time to the response head.",
    );
    for (base, b, s) in servers() {
        out.sample(
            "halb_proxy_server_response_seconds_max",
            base,
            &[("backend", &b.name), ("server", &s.name)],
            seconds_from_us(s.latency.max_us),
        );
    }
    out.family("halb_proxy_server_responses_total", "counter", "Responses, by class.");
    for (base, b, s) in servers() {
        classes(
            out,
            "halb_proxy_server_responses_total",
            base,
            &[("backend", &b.name), ("server", &s.name)],
            &s.responses,
        );
    }
    out.family("halb_proxy_server_response_seconds", "histogram", "Time to the response head.");
    for (base, b, s) in servers() {
        histogram(
            out,
            "halb_proxy_server_response_seconds",
            base,
            &[("backend", &b.name), ("server", &s.name)],
            &s.latency,
        );
    }
}

fn classes(
    out: &mut Exposition,
    name: &str,
    base: &[Label<'_>],
    labels: &[Label<'_>],
    r: &Responses,
) {
    for (class, n) in r.by_class() {
        let mut all = labels.to_vec();
        all.push(("code", class));
        out.sample(name, base, &all, n);
    }
}

fn histogram(
    out: &mut Exposition,
    name: &str,
    base: &[Label<'_>],
    labels: &[Label<'_>],
    l: &Latency,
) {
    for (le, n) in &l.buckets {
        let le = le.to_string();
        let mut all = labels.to_vec();
        all.push(("le", &le));
        out.sample(&format!("{name}_bucket"), base, &all, n);
    }
    let mut all = labels.to_vec();
    all.push(("le", "+Inf"));
    out.sample(&format!("{name}_bucket"), base, &all, l.count);
    out.sample(&format!("{name}_sum"), base, labels, seconds_from_us(l.sum_us));
    out.sample(&format!("{name}_count"), base, labels, l.count);
}

#[cfg(test)]
mod tests {
    use super::super::{BackendStats, FrontendStats, GaugeSnapshot, ServerStats};
    use super::*;
    use crate::proxy::balance::Balance;
    use crate::proxy::health::PoolHealth;

    #[test]
    fn renders_families_labels_and_histogram() {
        let latency = Latency {
            count: 3,
            sum_us: 1_500_000,
            max_us: 900_000,
            buckets: vec![(0.5, 2), (1.0, 3)],
        };
        let stats = StatsSnapshot {
            frontends: vec![FrontendStats {
                name: "web".into(),
                backend: "pool".into(),
                connections: GaugeSnapshot { current: 1, max: 2, total: 3 },
                requests: 7,
                responses: Responses { success: 6, server_error: 1, ..Responses::default() },
                errors: 0,
            }],
            backends: vec![BackendStats {
                name: "pool".into(),
                balance: Balance::RoundRobin,
                health: PoolHealth { servers_up: 1, servers_total: 2, weight_up: 1 },
                requests: 7,
                responses: Responses::default(),
                errors: 1,
                retries: 2,
                redispatches: 2,
                queue: GaugeSnapshot::default(),
                servers: vec![ServerStats {
                    name: "s\"1".into(),
                    address: "127.0.0.1:80".into(),
                    state: HealthState::Up,
                    checked: true,
                    weight: 1,
                    maxconn: 0,
                    active: GaugeSnapshot::default(),
                    requests: 7,
                    responses: Responses::default(),
                    errors: 0,
                    connects: 1,
                    checks_failed: 0,
                    latency,
                }],
            }],
            steering: vec![crate::steering::FrontendSteering {
                frontend: "web".into(),
                steered: 5,
                refused: 2,
                ..Default::default()
            }],
        };
        let text = render(&stats);
        assert!(text.contains(
            "halb_proxy_frontend_steering_total{frontend=\"web\",outcome=\"steered\"} 5\n"
        ));
        assert!(text.contains(
            "halb_proxy_frontend_steering_total{frontend=\"web\",outcome=\"refused\"} 2\n"
        ));
        assert!(text.contains("# TYPE halb_proxy_frontend_requests_total counter\n"));
        assert!(text.contains("halb_proxy_frontend_requests_total{frontend=\"web\"} 7\n"));
        assert!(
            text.contains("halb_proxy_frontend_responses_total{frontend=\"web\",code=\"5xx\"} 1\n")
        );
        assert!(text.contains("halb_proxy_backend_retries_total{backend=\"pool\"} 2\n"));
        assert!(text.contains("halb_proxy_server_up{backend=\"pool\",server=\"s\\\"1\"} 1\n"));
        assert!(text.contains(
            "halb_proxy_server_response_seconds_bucket{backend=\"pool\",server=\"s\\\"1\",le=\"0.5\"} 2\n"
        ));
        assert!(text.contains("le=\"+Inf\"} 3\n"));
        assert!(text.contains(
            "halb_proxy_server_response_seconds_sum{backend=\"pool\",server=\"s\\\"1\"} 1.5\n"
        ));
        // Every sample line belongs to a declared family.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            let family = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count");
            assert!(
                text.contains(&format!("# TYPE {family} "))
                    || text.contains(&format!("# TYPE {name} ")),
                "{line}"
            );
        }
    }
}
