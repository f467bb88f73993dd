//! The serde layer of the proxy configuration: one struct per haproxy block,
//! field for field, so the lab's `haproxy.cfg` translates line by line:
//!
//! ```text
//! frontend miservidor            [[balancer.proxy.frontend]] name = "miservidor"
//!   bind *:8000                    bind = "*:8000"
//!   default_backend misServidores  default_backend = "misServidores"
//! backend misServidores          [[balancer.proxy.backend]] name = "misServidores"
//!   balance roundrobin             balance = "roundrobin"
//!   server serv1 10.0.0.1:80 check [[balancer.proxy.backend.server]]
//!                                  name = "serv1", address = "10.0.0.1:80", check = true
//! ```
//!
//! Nothing here is validated; [`super::config`] turns it into a
//! [`super::Config`] with errors that name the offending key.

use serde::{Deserialize, Serialize};

/// One `[[balancer.proxy]]` table: haproxy's `defaults`, `frontend` and
/// `backend` sections for one proxy instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySection {
    /// `frontend` blocks: where the proxy listens.
    #[serde(default)]
    pub frontend: Vec<FrontendSection>,
    /// `backend` blocks: the server pools.
    #[serde(default)]
    pub backend: Vec<BackendSection>,
    /// `timeout connect|client|server|http-request|queue|check`.
    #[serde(default)]
    pub timeout: TimeoutSection,
    /// `retries N`: how many times a failed connect is retried (default 3).
    pub retries: Option<u32>,
    /// `option redispatch`: retries go to another server (default true).
    pub redispatch: Option<bool>,
}

/// `frontend NAME` with `bind` and `default_backend`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontendSection {
    pub name: String,
    /// `bind *:8000`, `bind 127.0.0.1:8000`, `bind [::]:8000`.
    pub bind: String,
    /// `default_backend NAME`.
    pub default_backend: String,
    /// `maxconn N`: concurrent client connections accepted by this frontend.
    pub maxconn: Option<u32>,
}

/// `backend NAME` with `balance`, `option httpchk` and `server` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSection {
    pub name: String,
    /// `balance roundrobin|leastconn|random` (default roundrobin).
    pub balance: Option<String>,
    /// `option httpchk` + `http-check expect status`; absent: TCP connect checks.
    pub httpchk: Option<HttpCheckSection>,
    /// Requests that may wait for a server slot when every server is at its
    /// `maxconn` (haproxy queues without bound; we bound it).
    pub maxqueue: Option<u32>,
    /// `option forwardfor`; absent: `X-Forwarded-For` on, no exceptions.
    pub forwardfor: Option<ForwardForSection>,
    /// `option forwarded`; absent: `Forwarded: for=` on.
    pub forwarded: Option<ForwardedSection>,
    #[serde(default)]
    pub server: Vec<ServerSection>,
}

/// `option forwardfor [except NET] [header NAME] [if-none]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardForSection {
    /// `false`: no such header (haproxy without the option). Default true.
    pub enabled: Option<bool>,
    /// `header X-Client`: the header's name (default `X-Forwarded-For`).
    pub header: Option<String>,
    /// `except 127.0.0.0/8`: clients in these networks get no header.
    #[serde(default)]
    pub except: Vec<String>,
    /// `if-none`: only when the request carries no such header.
    #[serde(rename = "if-none")]
    pub if_none: Option<bool>,
}

/// `option forwarded [proto] [host] [for]` (RFC 7239).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardedSection {
    /// `false`: no `Forwarded` header. Default true.
    pub enabled: Option<bool>,
    /// `for=` the client (default: on when neither `proto` nor `host` is).
    #[serde(rename = "for")]
    pub for_client: Option<bool>,
    /// `proto=http`.
    pub proto: Option<bool>,
    /// `host=` the request's Host.
    pub host: Option<bool>,
}

/// `option httpchk METHOD PATH` and `http-check expect status CODE`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheckSection {
    pub method: Option<String>,
    pub path: Option<String>,
    #[serde(rename = "expect-status")]
    pub expect_status: Option<u16>,
}

/// `server NAME ADDRESS:PORT weight W check inter I rise R fall F maxconn M`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub name: String,
    pub address: String,
    pub weight: Option<u32>,
    pub check: Option<bool>,
    pub inter: Option<DurationValue>,
    pub fastinter: Option<DurationValue>,
    pub downinter: Option<DurationValue>,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
    pub maxconn: Option<u32>,
}

/// `timeout ...` lines of haproxy's `defaults`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutSection {
    pub connect: Option<DurationValue>,
    pub client: Option<DurationValue>,
    pub server: Option<DurationValue>,
    #[serde(rename = "http-request")]
    pub http_request: Option<DurationValue>,
    pub queue: Option<DurationValue>,
    pub check: Option<DurationValue>,
}

/// A haproxy time: a bare number is milliseconds, text may carry a unit
/// (`us`, `ms`, `s`, `m`, `h`, `d`), e.g. `"2s"`, `"500ms"`, `5000`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DurationValue {
    Millis(u64),
    Text(String),
}
