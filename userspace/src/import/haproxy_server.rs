//! haproxy's `server` and `default-server` lines: the address, and the
//! parameters halb has (`check`, `inter`, `fastinter`, `downinter`, `rise`,
//! `fall`, `weight`, `maxconn`), with the reason for each one it has not.
//! `backup` and `disabled` servers are kept with weight 0: checked and
//! shown, but never chosen (halb has no backup pool).

use std::net::{IpAddr, SocketAddr};

use crate::proxy::config::{duration, MAX_WEIGHT};
use crate::proxy::section::{DurationValue, ServerSection};

/// Server parameters as read, before the line's own override `default-server`'s.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerParams {
    pub check: Option<bool>,
    pub inter: Option<DurationValue>,
    pub fastinter: Option<DurationValue>,
    pub downinter: Option<DurationValue>,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
    pub weight: Option<u32>,
    pub maxconn: Option<u32>,
    pub backup: Option<bool>,
    pub disabled: Option<bool>,
}

impl ServerParams {
    /// These parameters, each taken from `base` where not set here.
    #[must_use]
    pub fn over(&self, base: &ServerParams) -> ServerParams {
        ServerParams {
            check: self.check.or(base.check),
            inter: self.inter.clone().or_else(|| base.inter.clone()),
            fastinter: self.fastinter.clone().or_else(|| base.fastinter.clone()),
            downinter: self.downinter.clone().or_else(|| base.downinter.clone()),
            rise: self.rise.or(base.rise),
            fall: self.fall.or(base.fall),
            weight: self.weight.or(base.weight),
            maxconn: self.maxconn.or(base.maxconn),
            backup: self.backup.or(base.backup),
            disabled: self.disabled.or(base.disabled),
        }
    }

    /// The server section, and a remark when it is a backup or disabled one.
    #[must_use]
    pub fn server(&self, name: &str, address: String) -> (ServerSection, Option<String>) {
        let parked = if self.backup == Some(true) {
            Some("halb has no backup servers: imported with weight 0 (health-checked and shown in the statistics, never chosen); give it a weight to use it")
        } else if self.disabled == Some(true) {
            Some("halb has no maintenance mode: imported with weight 0 (no new requests)")
        } else {
            None
        };
        let section = ServerSection {
            name: name.to_owned(),
            address,
            weight: if parked.is_some() { Some(0) } else { self.weight },
            check: self.check.filter(|check| *check),
            inter: self.inter.clone(),
            fastinter: self.fastinter.clone(),
            downinter: self.downinter.clone(),
            rise: self.rise,
            fall: self.fall,
            maxconn: self.maxconn,
        };
        (section, parked.map(str::to_owned))
    }
}

/// Parameters that take no value.
const FLAGS: &[&str] = &[
    "check",
    "no-check",
    "backup",
    "no-backup",
    "disabled",
    "enabled",
    "ssl",
    "no-ssl",
    "check-ssl",
    "no-check-ssl",
    "send-proxy",
    "send-proxy-v2",
    "no-send-proxy",
    "check-send-proxy",
    "agent-check",
    "no-agent-check",
    "tfo",
    "allow-0rtt",
    "no-tls-tickets",
    "ssl-reuse",
    "no-ssl-reuse",
    "non-stick",
    "stick",
    "no-verifyhost",
    "force-tlsv12",
    "force-tlsv13",
    "no-sslv3",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "check-via-socks4",
    "send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn",
];

/// Reads the parameters after `server NAME ADDRESS` (or `default-server`):
/// what halb has, and each other parameter (with its value) and the reason.
#[must_use]
pub fn params(words: &[String]) -> (ServerParams, Vec<(String, String)>) {
    let mut params = ServerParams::default();
    let mut unsupported = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let word = word.as_str();
        if FLAGS.contains(&word) {
            match word {
                "check" => params.check = Some(true),
                "no-check" => params.check = Some(false),
                "backup" => params.backup = Some(true),
                "no-backup" => params.backup = Some(false),
                "disabled" => params.disabled = Some(true),
                "enabled" => params.disabled = Some(false),
                other => unsupported.push((other.to_owned(), reason(other).to_owned())),
            }
            continue;
        }
        let Some(value) = words.next() else {
            unsupported.push((word.to_owned(), "has no value".to_owned()));
            break;
        };
        let mut bad = |why: String| unsupported.push((format!("{word} {value}"), why));
        match word {
            "inter" | "fastinter" | "downinter" => {
                let parsed = DurationValue::Text(value.clone());
                match duration(&parsed) {
                    Ok(_) => {
                        let slot = match word {
                            "inter" => &mut params.inter,
                            "fastinter" => &mut params.fastinter,
                            _ => &mut params.downinter,
                        };
                        *slot = Some(parsed);
                    }
                    Err(why) => bad(why),
                }
            }
            "rise" | "fall" | "weight" | "maxconn" => match value.parse::<u32>() {
                Ok(number) if word == "weight" && number > MAX_WEIGHT => {
                    bad(format!("halb's weights go up to {MAX_WEIGHT}"));
                }
                Ok(0) if word == "rise" || word == "fall" => bad("must be at least 1".to_owned()),
                Ok(number) => {
                    let slot = match word {
                        "rise" => &mut params.rise,
                        "fall" => &mut params.fall,
                        "weight" => &mut params.weight,
                        _ => &mut params.maxconn,
                    };
                    *slot = Some(number);
                }
                Err(_) => bad(format!("`{value}` is not a whole number")),
            },
            other => bad(reason(other).to_owned()),
        }
    }
    (params, unsupported)
}

/// Why halb does not take server parameter `word`.
fn reason(word: &str) -> &'static str {
    match word {
        "ssl" | "no-ssl" | "check-ssl" | "no-check-ssl" | "verify" | "ca-file" | "crt" | "sni"
        | "alpn" | "check-sni" | "check-alpn" | "ciphers" | "ssl-min-ver" | "ssl-max-ver"
        | "no-verifyhost" | "verifyhost" | "ssl-reuse" | "no-ssl-reuse" | "no-tls-tickets"
        | "force-tlsv12" | "force-tlsv13" | "no-sslv3" | "no-tlsv10" | "no-tlsv11"
        | "no-tlsv12" | "no-tlsv13" | "allow-0rtt" => "halb talks plain HTTP to servers (no TLS)",
        "cookie" | "stick" | "non-stick" => "halb has no session persistence",
        "port" | "addr" | "check-send-proxy" | "check-via-socks4" => {
            "halb checks each server on its own address and port"
        }
        "send-proxy"
        | "send-proxy-v2"
        | "no-send-proxy"
        | "send-proxy-v2-ssl"
        | "send-proxy-v2-ssl-cn"
        | "proxy-v2-options" => "halb sends no PROXY protocol header",
        "slowstart" => "halb has no slow start: a server that comes up takes its full weight",
        "maxqueue" | "minconn" => {
            "halb queues per backend (`maxqueue` of the backend), not per server"
        }
        "resolvers" | "resolve-prefer" | "resolve-net" | "resolve-opts" | "init-addr" => {
            "halb takes IP addresses only (no DNS)"
        }
        "agent-check" | "no-agent-check" | "agent-port" | "agent-inter" | "agent-addr"
        | "agent-send" => "halb has no agent checks",
        "observe" | "on-error" | "on-marked-down" | "on-marked-up" | "error-limit" => {
            "halb marks servers up and down by its health checks only"
        }
        "track" => "halb checks every server itself (no tracking of another server)",
        "id" | "tfo" | "proto" | "pool-max-conn" | "pool-purge-delay" | "pool-low-conn"
        | "max-reuse" | "source" | "usesrc" | "namespace" | "ws" | "tcp-ut" | "redir" => {
            "halb has no such server setting"
        }
        _ => "not a server setting halb has",
    }
}

/// haproxy's server address as halb's `IP:PORT`, or why it cannot be one.
pub fn address(text: &str) -> Result<String, String> {
    let text = text.strip_prefix("ipv4@").or_else(|| text.strip_prefix("ipv6@")).unwrap_or(text);
    // As haproxy, the last colon starts the port, IPv6 addresses included.
    let Some((host, port)) = text.rsplit_once(':') else {
        return match text.parse::<IpAddr>() {
            Ok(_) => {
                Err("no port: haproxy then uses the client's destination port; halb needs IP:PORT"
                    .to_owned())
            }
            Err(_) => {
                Err(format!("`{text}` is not an IP address: halb takes IP addresses only (no DNS)"))
            }
        };
    };
    let ip: IpAddr = host.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| {
        format!("`{host}` is not an IP address: halb takes IP addresses only (no DNS)")
    })?;
    // Digits only: haproxy's `+1` and `-1` are offsets from the client's port.
    let port: u16 = Some(port)
        .filter(|port| port.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|port| port.parse().ok())
        .filter(|port| *port != 0)
        .ok_or_else(|| {
            format!("port `{port}`: halb needs one fixed port (no ranges or offsets)")
        })?;
    Ok(SocketAddr::new(ip, port).to_string())
}

#[cfg(test)]
mod tests {
    use super::{address, params};

    fn words(text: &str) -> Vec<String> {
        crate::import::words::split(text, &[]).expect("test words")
    }

    #[test]
    fn addresses() {
        assert_eq!(address("10.0.0.1:80").unwrap(), "10.0.0.1:80");
        assert_eq!(address("ipv6@::1:8080").unwrap(), "[::1]:8080");
        assert_eq!(address("[fd00::2]:80").unwrap(), "[fd00::2]:80");
        assert!(address("10.0.0.1").unwrap_err().contains("no port"));
        assert!(address("web1.example.com:80").unwrap_err().contains("no DNS"));
        assert!(address("10.0.0.1:+1").unwrap_err().contains("fixed port"));
    }

    #[test]
    fn parameters_halb_has_and_has_not() {
        let (p, bad) = params(&words(
            "check inter 3s rise 4 fall 5 weight 20 maxconn 30 cookie s1 ssl backup",
        ));
        assert_eq!(
            (p.check, p.rise, p.fall, p.weight, p.maxconn),
            (Some(true), Some(4), Some(5), Some(20), Some(30))
        );
        assert_eq!(p.backup, Some(true));
        let names: Vec<&str> = bad.iter().map(|(what, _)| what.as_str()).collect();
        assert_eq!(names, ["cookie s1", "ssl"]);
        let (server, note) = p.server("s1", "10.0.0.1:80".to_owned());
        assert_eq!(server.weight, Some(0));
        assert!(note.unwrap().contains("weight 0"));
    }
}
