//! Which headers tell a server about the client, per backend: haproxy's
//! `option forwardfor [except NET] [header NAME] [if-none]` and
//! `option forwarded [proto] [host] [for]`. Pure: the policy is validated
//! from [`ForwardForSection`] / [`ForwardedSection`] and applied to a
//! request head with the client's address as an argument.
//!
//! Without either section a backend keeps halb's default: the client is
//! appended to `X-Forwarded-For` and a `for=` element to `Forwarded`.

use std::net::IpAddr;

use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::config_error::ConfigError;
use super::section::{ForwardForSection, ForwardedSection};

/// `X-Forwarded-For`-style header: the client's address appended to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardFor {
    /// `header NAME` (default `X-Forwarded-For`).
    pub header: HeaderName,
    /// `except NET`: clients in these networks get no header.
    pub except: Vec<Network>,
    /// `if-none`: add only when the request has no such header.
    pub if_none: bool,
}

impl Default for ForwardFor {
    fn default() -> Self {
        Self {
            header: HeaderName::from_static("x-forwarded-for"),
            except: Vec::new(),
            if_none: false,
        }
    }
}

/// RFC 7239 `Forwarded`: one element appended per request, with the
/// parameters chosen here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarded {
    /// `for=` the client's address.
    pub for_client: bool,
    /// `proto=http` (halb's frontends speak plain HTTP).
    pub proto: bool,
    /// `host=` the request's `Host`.
    pub host: bool,
}

impl Default for Forwarded {
    fn default() -> Self {
        Self { for_client: true, proto: false, host: false }
    }
}

/// What one backend adds; `None` turns a header off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHeaders {
    pub forwardfor: Option<ForwardFor>,
    pub forwarded: Option<Forwarded>,
}

impl Default for ClientHeaders {
    fn default() -> Self {
        Self { forwardfor: Some(ForwardFor::default()), forwarded: Some(Forwarded::default()) }
    }
}

/// An address prefix, `10.0.0.0/8` or `2001:db8::/32`; a bare address is a
/// host prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    pub address: IpAddr,
    pub prefix: u8,
}

impl Network {
    /// Parses `ADDRESS[/PREFIX]`; `None` when either part is invalid.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Self { address, prefix })
    }

    /// Whether `ip` is inside this network (IPv4-mapped IPv6 clients match
    /// IPv4 networks).
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 @ IpAddr::V4(_) => v4,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn err(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError { key: key.to_owned(), reason: reason.into() }
}

/// Validates a backend's `forwardfor` and `forwarded` tables (`key` is the
/// backend's, e.g. `proxy.backend[0]`).
pub fn client_headers(
    forwardfor: Option<&ForwardForSection>,
    forwarded: Option<&ForwardedSection>,
    key: &str,
) -> Result<ClientHeaders, ConfigError> {
    let defaults = ClientHeaders::default();
    let forwardfor = match forwardfor {
        None => defaults.forwardfor,
        Some(s) => forward_for(s, &format!("{key}.forwardfor"))?,
    };
    let forwarded = match forwarded {
        None => defaults.forwarded,
        Some(s) => forwarded_of(s, &format!("{key}.forwarded"))?,
    };
    Ok(ClientHeaders { forwardfor, forwarded })
}

fn forward_for(s: &ForwardForSection, key: &str) -> Result<Option<ForwardFor>, ConfigError> {
    if !s.enabled.unwrap_or(true) {
        return Ok(None);
    }
    let header = match s.header.as_deref() {
        None => ForwardFor::default().header,
        Some(name) => custom_header(name, &format!("{key}.header"))?,
    };
    let mut except = Vec::with_capacity(s.except.len());
    for (i, text) in s.except.iter().enumerate() {
        let network = Network::parse(text).ok_or_else(|| {
            err(&format!("{key}.except[{i}]"), format!("{text:?} is not ADDRESS or ADDRESS/PREFIX"))
        })?;
        except.push(network);
    }
    Ok(Some(ForwardFor { header, except, if_none: s.if_none.unwrap_or(false) }))
}

/// Headers halb sets or checks itself cannot carry the client's address.
const RESERVED: [HeaderName; 6] = [
    header::HOST,
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::FORWARDED,
    header::VIA,
];

fn custom_header(name: &str, key: &str) -> Result<HeaderName, ConfigError> {
    let parsed = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| err(key, format!("{name:?} is not a header name")))?;
    if RESERVED.contains(&parsed) {
        return Err(err(key, format!("{name:?} is set by halb itself")));
    }
    Ok(parsed)
}

fn forwarded_of(s: &ForwardedSection, key: &str) -> Result<Option<Forwarded>, ConfigError> {
    if !s.enabled.unwrap_or(true) {
        return Ok(None);
    }
    let (proto, host) = (s.proto.unwrap_or(false), s.host.unwrap_or(false));
    // haproxy: with no parameter named, `option forwarded` means `for`.
    let for_client = s.for_client.unwrap_or(!proto && !host);
    if !(for_client || proto || host) {
        return Err(err(key, "every parameter is off; set enabled = false instead"));
    }
    Ok(Some(Forwarded { for_client, proto, host }))
}

impl ClientHeaders {
    /// Adds the configured headers for a request from `client`.
    pub fn apply(&self, headers: &mut HeaderMap, client: IpAddr) {
        if let Some(ff) = &self.forwardfor {
            ff.apply(headers, client);
        }
        if let Some(fwd) = self.forwarded {
            fwd.apply(headers, client);
        }
    }
}

impl ForwardFor {
    fn apply(&self, headers: &mut HeaderMap, client: IpAddr) {
        if self.except.iter().any(|net| net.contains(client)) {
            return;
        }
        if self.if_none && headers.contains_key(&self.header) {
            return;
        }
        let value = joined(headers, &self.header, &client.to_string());
        insert(headers, self.header.clone(), value);
    }
}

impl Forwarded {
    fn apply(self, headers: &mut HeaderMap, client: IpAddr) {
        let mut pairs: Vec<String> = Vec::with_capacity(3);
        if self.for_client {
            pairs.push(match client {
                IpAddr::V4(ip) => format!("for={ip}"),
                IpAddr::V6(ip) => format!("for=\"[{ip}]\""),
            });
        }
        if self.proto {
            pairs.push("proto=http".to_owned());
        }
        if self.host {
            if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
                pairs.push(format!("host={}", quoted_if_needed(host)));
            }
        }
        if pairs.is_empty() {
            return;
        }
        let value = joined(headers, &header::FORWARDED, &pairs.join(";"));
        insert(headers, header::FORWARDED, value);
    }
}

/// RFC 7239 values are tokens or quoted strings; a `Host` with `:` (a port
/// or an IPv6 literal) must be quoted.
fn quoted_if_needed(value: &str) -> String {
    let token = value.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if token {
        value.to_owned()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Existing values of `name` (all lines, comma-joined) with `last` after.
fn joined(headers: &HeaderMap, name: &HeaderName, last: &str) -> String {
    let mut parts: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    parts.push(last);
    parts.join(", ")
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: String) {
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests;
