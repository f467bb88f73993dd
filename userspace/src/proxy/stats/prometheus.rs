//! [`StatsSnapshot`] in the Prometheus text exposition format (0.0.4).

use std::fmt::Write as _;

use super::{BackendStats, Latency, Responses, ServerStats, StatsSnapshot};
use crate::proxy::health::HealthState;

/// One metric family read from one kind of stats: name, type, help, value.
type Metric<T> = (&'static str, &'static str, &'static str, fn(&T) -> u64);

/// Renders every counter of `stats`, one `# TYPE` line per metric family.
#[must_use]
pub fn render(stats: &StatsSnapshot) -> String {
    let mut out = Out(String::new());
    frontends(&mut out, stats);
    backends(&mut out, stats);
    servers(&mut out, stats);
    out.0
}

fn frontends(out: &mut Out, stats: &StatsSnapshot) {
    let fe = &stats.frontends;
    out.family("halb_proxy_frontend_connections", "gauge", "Client connections open now.");
    for f in fe {
        out.sample(
            "halb_proxy_frontend_connections",
            &[("frontend", &f.name)],
            f.connections.current,
        );
    }
    out.family(
        "halb_proxy_frontend_connections_max",
        "gauge",
        "Most client connections open at once.",
    );
    for f in fe {
        out.sample(
            "halb_proxy_frontend_connections_max",
            &[("frontend", &f.name)],
            f.connections.max,
        );
    }
    out.family("halb_proxy_frontend_connections_total", "counter", "Client connections accepted.");
    for f in fe {
        out.sample(
            "halb_proxy_frontend_connections_total",
            &[("frontend", &f.name)],
            f.connections.total,
        );
    }
    out.family("halb_proxy_frontend_requests_total", "counter", "Requests received.");
    for f in fe {
        out.sample("halb_proxy_frontend_requests_total", &[("frontend", &f.name)], f.requests);
    }
    out.family("halb_proxy_frontend_responses_total", "counter", "Responses sent, by class.");
    for f in fe {
        out.classes("halb_proxy_frontend_responses_total", &[("frontend", &f.name)], &f.responses);
    }
    out.family(
        "halb_proxy_frontend_errors_total",
        "counter",
        "Refused requests and broken client connections.",
    );
    for f in fe {
        out.sample("halb_proxy_frontend_errors_total", &[("frontend", &f.name)], f.errors);
    }
}

fn backends(out: &mut Out, stats: &StatsSnapshot) {
    let be = &stats.backends;
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
        for b in be {
            out.sample(name, &[("backend", &b.name)], get(b));
        }
    }
    out.family("halb_proxy_backend_responses_total", "counter", "Responses, by class.");
    for b in be {
        out.classes("halb_proxy_backend_responses_total", &[("backend", &b.name)], &b.responses);
    }
}

fn servers(out: &mut Out, stats: &StatsSnapshot) {
    let servers = || stats.backends.iter().flat_map(|b| b.servers.iter().map(move |s| (b, s)));
    let per_server: [Metric<ServerStats>; 9] = [
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
        (
            "halb_proxy_server_response_seconds_max",
            "gauge",
            "Slowest response head, microseconds.",
            |s| s.latency.max_us,
        ),
    ];
    for (name, kind, help, get) in per_server {
        out.family(name, kind, help);
        for (b, s) in servers() {
            out.sample(name, &[("backend", &b.name), ("server", &s.name)], get(s));
        }
    }
    out.family("halb_proxy_server_responses_total", "counter", "Responses, by class.");
    for (b, s) in servers() {
        out.classes(
            "halb_proxy_server_responses_total",
            &[("backend", &b.name), ("server", &s.name)],
            &s.responses,
        );
    }
    out.family("halb_proxy_server_response_seconds", "histogram", "Time to the response head.");
    for (b, s) in servers() {
        out.histogram(
            "halb_proxy_server_response_seconds",
            &[("backend", &b.name), ("server", &s.name)],
            &s.latency,
        );
    }
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn labels(&mut self, labels: &[(&str, &str)]) {
        self.0.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            let _ = write!(self.0, "{k}=\"{}\"", escape(v));
        }
        self.0.push('}');
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        self.labels(labels);
        let _ = writeln!(self.0, " {value}");
    }

    fn classes(&mut self, name: &str, labels: &[(&str, &str)], r: &Responses) {
        for (class, n) in r.by_class() {
            let mut all = labels.to_vec();
            all.push(("code", class));
            self.sample(name, &all, n);
        }
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], l: &Latency) {
        for (le, n) in &l.buckets {
            let le = le.to_string();
            let mut all = labels.to_vec();
            all.push(("le", &le));
            self.sample(&format!("{name}_bucket"), &all, n);
        }
        let mut all = labels.to_vec();
        all.push(("le", "+Inf"));
        self.sample(&format!("{name}_bucket"), &all, l.count);
        #[expect(clippy::cast_precision_loss, reason = "microsecond sums fit f64 exactly for ages")]
        let sum = l.sum_us as f64 / 1e6;
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, l.count);
    }
}

/// Label values escape backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
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
        };
        let text = render(&stats);
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
