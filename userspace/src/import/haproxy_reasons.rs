//! Why halb does not take a haproxy directive: one sentence per family of
//! directives (logging, rules, persistence, TLS, process settings), so the
//! report says what halb does instead where it does something.

/// The reason for directive `keyword` (with `option`/`no`/`timeout`, its
/// second word `second`), in section kind `section`.
#[must_use]
pub fn reason(section: &str, keyword: &str, second: &str) -> String {
    let text = match (keyword, second) {
        ("log" | "log-format" | "log-tag" | "log-send-hostname" | "capture" | "error-log-format", _)
        | (
            "option",
            "httplog" | "tcplog" | "dontlognull" | "dontlog-normal" | "log-health-checks"
            | "log-separate-errors" | "logasap",
        ) => "halb logs through tracing (daemon.log_level, RUST_LOG), not syslog, and writes no per-request log; its statistics are in `halb proxy stats` and /metrics",
        ("stats", _) => "halb's statistics are `halb proxy stats`, the admin listener (balancer.admin_bind: /stats, /metrics) and the status page (daemon.status_bind)",
        ("acl" | "use_backend" | "use-server" | "http-request" | "http-response"
            | "http-after-response" | "tcp-request" | "tcp-response" | "redirect" | "monitor-uri"
            | "monitor", _) => "halb sends every request of a frontend to its default_backend: no ACLs, rules or redirects",
        ("cookie" | "stick-table" | "stick" | "persist" | "appsession", _)
        | ("option", "persist") => "halb has no session persistence",
        ("option", "http-server-close" | "httpclose" | "http-keep-alive" | "http-tunnel" | "forceclose" | "http-no-delay") => {
            "halb keeps client and server connections alive by its own rules (idle clients are bounded by timeout http-request)"
        }
        ("option", "tcpka" | "clitcpka" | "srvtcpka" | "splice-auto" | "splice-request" | "splice-response" | "tcp-smart-accept" | "tcp-smart-connect") => {
            "halb has no such socket tuning"
        }
        ("option", "abortonclose" | "http-buffer-request" | "http-ignore-probes" | "http-use-htx" | "accept-invalid-http-request" | "accept-invalid-http-response") => {
            "halb has no such HTTP option"
        }
        ("option", "allbackups") => "halb has no backup servers (they are imported with weight 0)",
        ("option", "tcp-check" | "ssl-hello-chk" | "mysql-check" | "pgsql-check" | "redis-check" | "smtpchk" | "ldap-check" | "spop-check") => {
            "halb checks with a TCP connect, or with `option httpchk`; no protocol-specific checks"
        }
        ("tcp-check", _) => "halb checks with a TCP connect, or with `option httpchk`; no tcp-check scripts",
        ("errorfile" | "errorloc" | "errorloc302" | "errorloc303" | "errorfiles" | "http-error", _) => {
            "halb answers errors with its own short pages"
        }
        ("compression" | "filter", _) => "halb does not compress or filter bodies",
        ("fullconn", _) => "halb limits load per server (`maxconn` on the server line)",
        ("maxconn", _) if section == "backend" => "halb limits load per server (`maxconn` on the server line)",
        ("hash-type" | "hash-balance-factor", _) => "halb balances roundrobin, leastconn or random, without hashing",
        ("description" | "id" | "enabled" | "disabled" | "grace" | "rate-limit" | "unique-id-format" | "unique-id-header" | "email-alert", _) => {
            "halb has no such proxy setting"
        }
        ("daemon" | "user" | "group" | "uid" | "gid" | "chroot" | "pidfile" | "master-worker"
            | "nbproc" | "ulimit-n" | "node" | "quiet" | "cpu-map" | "hard-stop-after"
            | "localpeer" | "setenv" | "presetenv" | "resetenv" | "unsetenv" | "expose-experimental-directives", _) => {
            "a process setting: halb runs as the daemon `halb run` starts"
        }
        ("ca-base" | "crt-base", _) => "halb has no TLS",
        (key, _) if key.starts_with("ssl-") => "halb has no TLS",
        (key, _) if key.starts_with("tune.") => "halb has no such tuning knob",
        ("bind" | "server" | "default-server" | "balance" | "default_backend" | "maxconn" | "http-check", _)
        | ("option", "httpchk") => {
            let name = if keyword == "option" { format!("option {second}") } else { keyword.to_owned() };
            return format!("`{name}` does not belong in a `{section}` section (haproxy rejects it too)");
        }
        _ => "not a setting halb has",
    };
    text.to_owned()
}

/// Why a whole section of kind `kind` is not imported.
#[must_use]
pub fn section_reason(kind: &str) -> &'static str {
    match kind {
        "userlist" => "halb has no HTTP authentication",
        "peers" => "halb has no stick tables to share",
        "resolvers" => "halb takes server IP addresses, no DNS",
        "mailers" => "halb sends no mail",
        "program" => "halb starts no programs",
        "cache" => "halb has no cache",
        "http-errors" => "halb answers errors with its own short pages",
        "ring" | "log-forward" | "traces" => "halb logs through tracing, not syslog",
        "fcgi-app" => "halb talks HTTP to servers, not FastCGI",
        "crt-store" => "halb has no TLS",
        _ => "not a section halb has",
    }
}

/// Why haproxy timeout `name` is not imported.
#[must_use]
pub fn timeout_reason(name: &str) -> &'static str {
    match name {
        "http-keep-alive" => "halb bounds idle keep-alive clients with timeout http-request",
        "tunnel" => "halb has no separate timeout for upgraded (tunnelled) connections",
        "client-fin" | "server-fin" => "halb has no half-closed connection timeouts",
        "tarpit" => "halb has no tarpit",
        _ => "not a timeout halb has (it has connect, client, server, http-request, queue, check)",
    }
}
