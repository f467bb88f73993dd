//! The validated proxy configuration, built from [`ProxySection`] with
//! `TryFrom`. Every default and limit is a named constant; every error names
//! the key it is about (`proxy.backend[0].server[2].address`).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use hyper::Method;

use super::balance::Balance;
use super::client_headers::{client_headers, ClientHeaders};
pub use super::config_error::ConfigError;
use super::section::{
    BackendSection, DurationValue, FrontendSection, HttpCheckSection, ProxySection, ServerSection,
    TimeoutSection,
};

/// haproxy's `inter` default.
pub const DEFAULT_INTER: Duration = Duration::from_secs(2);
/// haproxy's `rise` default.
pub const DEFAULT_RISE: u32 = 2;
/// haproxy's `fall` default.
pub const DEFAULT_FALL: u32 = 3;
/// haproxy's `weight` default and maximum.
pub const DEFAULT_WEIGHT: u32 = 1;
pub const MAX_WEIGHT: u32 = 256;
/// haproxy's `retries` default.
pub const DEFAULT_RETRIES: u32 = 3;
/// More retries than this only delay the 503.
pub const MAX_RETRIES: u32 = 16;
/// Timeouts when the file gives none (haproxy warns and waits forever; we
/// take the values of its example configuration).
pub const DEFAULT_TIMEOUT_CONNECT: Duration = Duration::from_secs(5);
pub const DEFAULT_TIMEOUT_CLIENT: Duration = Duration::from_secs(50);
pub const DEFAULT_TIMEOUT_SERVER: Duration = Duration::from_secs(50);
pub const DEFAULT_TIMEOUT_HTTP_REQUEST: Duration = Duration::from_secs(10);
/// Upper bound on any configured time.
pub const MAX_TIMEOUT: Duration = Duration::from_hours(24);
/// Client connections one frontend serves at once.
pub const DEFAULT_FRONTEND_MAXCONN: u32 = 4096;
/// Requests that may wait for a server slot, per backend.
pub const DEFAULT_MAXQUEUE: u32 = 1024;

/// A validated proxy: listeners, pools, timeouts and retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub frontends: Vec<FrontendConfig>,
    pub backends: Vec<BackendConfig>,
    pub timeouts: Timeouts,
    /// Extra attempts after a failed connect.
    pub retries: u32,
    /// Retries go to a different server when one is up.
    pub redispatch: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendConfig {
    pub name: String,
    pub bind: SocketAddr,
    /// Name of a backend of the same [`Config`].
    pub backend: String,
    pub maxconn: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfig {
    pub name: String,
    pub balance: Balance,
    pub check: CheckKind,
    pub maxqueue: u32,
    /// `X-Forwarded-For` and `Forwarded` added to requests.
    pub client_headers: ClientHeaders,
    pub servers: Vec<ServerConfig>,
}

/// What a health check does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// The server is healthy when a TCP connect succeeds.
    Tcp,
    /// The server is healthy when `METHOD PATH` answers `expect_status`.
    Http { method: Method, path: String, expect_status: u16 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub name: String,
    pub address: SocketAddr,
    /// 0 drains the server: no new requests.
    pub weight: u32,
    /// `None`: no `check` keyword, the server is always considered up.
    pub check: Option<CheckTiming>,
    /// Concurrent requests; 0 means no limit.
    pub maxconn: u32,
}

impl ServerConfig {
    /// A server with haproxy's defaults and `check` on.
    #[must_use]
    pub fn new(name: impl Into<String>, address: SocketAddr) -> Self {
        Self {
            name: name.into(),
            address,
            weight: DEFAULT_WEIGHT,
            check: Some(CheckTiming::default()),
            maxconn: 0,
        }
    }
}

/// `inter`, `fastinter`, `downinter`, `rise`, `fall` of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckTiming {
    pub inter: Duration,
    /// Used while the server is between states (defaults to `inter`).
    pub fastinter: Duration,
    /// Used while the server is fully down (defaults to `inter`).
    pub downinter: Duration,
    pub rise: u32,
    pub fall: u32,
}

impl Default for CheckTiming {
    fn default() -> Self {
        Self {
            inter: DEFAULT_INTER,
            fastinter: DEFAULT_INTER,
            downinter: DEFAULT_INTER,
            rise: DEFAULT_RISE,
            fall: DEFAULT_FALL,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect to a server.
    pub connect: Duration,
    /// Client inactivity while it must send or receive.
    pub client: Duration,
    /// Server inactivity, and the wait for the response head.
    pub server: Duration,
    /// Complete request head (slowloris); also bounds keep-alive idle time.
    pub http_request: Duration,
    /// Wait for a server slot when every server is at `maxconn`.
    pub queue: Duration,
    /// One health check (defaults to `connect`).
    pub check: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: DEFAULT_TIMEOUT_CONNECT,
            client: DEFAULT_TIMEOUT_CLIENT,
            server: DEFAULT_TIMEOUT_SERVER,
            http_request: DEFAULT_TIMEOUT_HTTP_REQUEST,
            queue: DEFAULT_TIMEOUT_CONNECT,
            check: DEFAULT_TIMEOUT_CONNECT,
        }
    }
}

fn err(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError { key: key.to_owned(), reason: reason.into() }
}

impl TryFrom<ProxySection> for Config {
    type Error = ConfigError;

    fn try_from(section: ProxySection) -> Result<Self, ConfigError> {
        let timeouts = timeouts(&section.timeout, "proxy.timeout")?;
        let retries = section.retries.unwrap_or(DEFAULT_RETRIES);
        if retries > MAX_RETRIES {
            return Err(err("proxy.retries", format!("at most {MAX_RETRIES}")));
        }
        if section.backend.is_empty() {
            return Err(err("proxy.backend", "at least one backend is needed"));
        }
        let mut backends = Vec::with_capacity(section.backend.len());
        let mut names = HashSet::new();
        for (i, b) in section.backend.iter().enumerate() {
            let key = format!("proxy.backend[{i}]");
            let backend = backend(b, &key)?;
            if !names.insert(backend.name.clone()) {
                return Err(err(&format!("{key}.name"), "duplicate backend name"));
            }
            backends.push(backend);
        }
        if section.frontend.is_empty() {
            return Err(err("proxy.frontend", "at least one frontend is needed"));
        }
        let mut frontends = Vec::with_capacity(section.frontend.len());
        let mut fe_names = HashSet::new();
        for (i, f) in section.frontend.iter().enumerate() {
            let key = format!("proxy.frontend[{i}]");
            let frontend = frontend(f, &key)?;
            if !fe_names.insert(frontend.name.clone()) {
                return Err(err(&format!("{key}.name"), "duplicate frontend name"));
            }
            if !names.contains(&frontend.backend) {
                return Err(err(
                    &format!("{key}.default_backend"),
                    format!("no backend named {:?}", frontend.backend),
                ));
            }
            frontends.push(frontend);
        }
        Ok(Self {
            frontends,
            backends,
            timeouts,
            retries,
            redispatch: section.redispatch.unwrap_or(true),
        })
    }
}

fn name(value: &str, key: &str) -> Result<String, ConfigError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(err(key, "1 to 64 characters of letters, digits, '-', '_', '.', ':'"))
    }
}

fn frontend(f: &FrontendSection, key: &str) -> Result<FrontendConfig, ConfigError> {
    Ok(FrontendConfig {
        name: name(&f.name, &format!("{key}.name"))?,
        bind: bind_address(&f.bind).ok_or_else(|| {
            err(&format!("{key}.bind"), format!("{:?} is not ADDRESS:PORT or *:PORT", f.bind))
        })?,
        backend: f.default_backend.clone(),
        maxconn: positive(f.maxconn, DEFAULT_FRONTEND_MAXCONN, &format!("{key}.maxconn"))?,
    })
}

/// `*:8000` and `:8000` listen on every IPv4 address, as in haproxy.
#[must_use]
pub fn bind_address(text: &str) -> Option<SocketAddr> {
    let port = |p: &str| p.parse::<u16>().ok();
    if let Some(p) = text.strip_prefix("*:").or_else(|| text.strip_prefix(':')) {
        return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port(p)?));
    }
    text.parse().ok()
}

fn positive(value: Option<u32>, default: u32, key: &str) -> Result<u32, ConfigError> {
    match value {
        None => Ok(default),
        Some(0) => Err(err(key, "must be at least 1")),
        Some(v) => Ok(v),
    }
}

fn backend(b: &BackendSection, key: &str) -> Result<BackendConfig, ConfigError> {
    let name = name(&b.name, &format!("{key}.name"))?;
    let balance = match b.balance.as_deref() {
        None | Some("roundrobin") => Balance::RoundRobin,
        Some("leastconn") => Balance::LeastConn,
        Some("random") => Balance::Random,
        Some(other) => {
            return Err(err(
                &format!("{key}.balance"),
                format!("{other:?} is not roundrobin, leastconn or random"),
            ))
        }
    };
    let check = match &b.httpchk {
        None => CheckKind::Tcp,
        Some(h) => http_check(h, &format!("{key}.httpchk"))?,
    };
    let maxqueue = b.maxqueue.unwrap_or(DEFAULT_MAXQUEUE);
    let mut servers = Vec::with_capacity(b.server.len());
    for (i, s) in b.server.iter().enumerate() {
        servers.push(server(s, &format!("{key}.server[{i}]"))?);
    }
    if let Some(i) = first_duplicate(&servers) {
        return Err(err(&format!("{key}.server[{i}].name"), "duplicate server name"));
    }
    let client_headers = client_headers(b.forwardfor.as_ref(), b.forwarded.as_ref(), key)?;
    Ok(BackendConfig { name, balance, check, maxqueue, client_headers, servers })
}

/// Index of the first server whose name an earlier one already has.
#[must_use]
pub fn first_duplicate(servers: &[ServerConfig]) -> Option<usize> {
    let mut seen = HashSet::new();
    servers.iter().position(|s| !seen.insert(s.name.as_str()))
}

fn http_check(h: &HttpCheckSection, key: &str) -> Result<CheckKind, ConfigError> {
    let method = h.method.as_deref().unwrap_or("GET");
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| err(&format!("{key}.method"), format!("{method:?} is not a method")))?;
    let path = h.path.clone().unwrap_or_else(|| "/".to_owned());
    if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(err(&format!("{key}.path"), "an absolute path without spaces"));
    }
    let expect_status = h.expect_status.unwrap_or(200);
    if !(100..=599).contains(&expect_status) {
        return Err(err(&format!("{key}.expect-status"), "an HTTP status, 100 to 599"));
    }
    Ok(CheckKind::Http { method, path, expect_status })
}

/// Validates one `server` line; `key` is where it sits, for errors.
pub fn server(s: &ServerSection, key: &str) -> Result<ServerConfig, ConfigError> {
    let name = name(&s.name, &format!("{key}.name"))?;
    let address = s
        .address
        .parse()
        .map_err(|_| err(&format!("{key}.address"), format!("{:?} is not IP:PORT", s.address)))?;
    let weight = s.weight.unwrap_or(DEFAULT_WEIGHT);
    if weight > MAX_WEIGHT {
        return Err(err(&format!("{key}.weight"), format!("at most {MAX_WEIGHT}")));
    }
    let inter = opt_duration(s.inter.as_ref(), &format!("{key}.inter"))?.unwrap_or(DEFAULT_INTER);
    let timing = CheckTiming {
        inter,
        fastinter: opt_duration(s.fastinter.as_ref(), &format!("{key}.fastinter"))?
            .unwrap_or(inter),
        downinter: opt_duration(s.downinter.as_ref(), &format!("{key}.downinter"))?
            .unwrap_or(inter),
        rise: positive(s.rise, DEFAULT_RISE, &format!("{key}.rise"))?,
        fall: positive(s.fall, DEFAULT_FALL, &format!("{key}.fall"))?,
    };
    Ok(ServerConfig {
        name,
        address,
        weight,
        check: s.check.unwrap_or(false).then_some(timing),
        maxconn: s.maxconn.unwrap_or(0),
    })
}

fn timeouts(t: &TimeoutSection, key: &str) -> Result<Timeouts, ConfigError> {
    let get = |v: Option<&DurationValue>, name: &str, default: Duration| {
        opt_duration(v, &format!("{key}.{name}")).map(|d| d.unwrap_or(default))
    };
    let connect = get(t.connect.as_ref(), "connect", DEFAULT_TIMEOUT_CONNECT)?;
    Ok(Timeouts {
        connect,
        client: get(t.client.as_ref(), "client", DEFAULT_TIMEOUT_CLIENT)?,
        server: get(t.server.as_ref(), "server", DEFAULT_TIMEOUT_SERVER)?,
        http_request: get(t.http_request.as_ref(), "http-request", DEFAULT_TIMEOUT_HTTP_REQUEST)?,
        queue: get(t.queue.as_ref(), "queue", connect)?,
        check: get(t.check.as_ref(), "check", connect)?,
    })
}

fn opt_duration(v: Option<&DurationValue>, key: &str) -> Result<Option<Duration>, ConfigError> {
    v.map(|v| duration(v).map_err(|reason| err(key, reason))).transpose()
}

/// Parses a haproxy time: milliseconds by default, or with a unit suffix.
pub fn duration(v: &DurationValue) -> Result<Duration, String> {
    let d = match v {
        DurationValue::Millis(ms) => Duration::from_millis(*ms),
        DurationValue::Text(text) => {
            let text = text.trim();
            let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
            let (digits, unit) = text.split_at(split);
            let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a time"))?;
            match unit {
                "us" => Duration::from_micros(n),
                "" | "ms" => Duration::from_millis(n),
                "s" => Duration::from_secs(n),
                "m" => Duration::from_secs(n.saturating_mul(60)),
                "h" => Duration::from_secs(n.saturating_mul(3600)),
                "d" => Duration::from_secs(n.saturating_mul(86_400)),
                _ => return Err(format!("{text:?}: unit must be us, ms, s, m, h or d")),
            }
        }
    };
    if d.is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    if d > MAX_TIMEOUT {
        return Err("must be at most 24h".to_owned());
    }
    Ok(d)
}

#[cfg(test)]
mod tests;
