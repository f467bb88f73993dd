//! haproxy's `bind` addresses as halb's: `*:P`, `:P`, `a.b.c.d:P`,
//! `[v6]:P`, and haproxy's unbracketed IPv6 (`:::P`, `::1:P`).

use crate::proxy::config::bind_address;

/// haproxy's bind address as halb's, or why it cannot be one.
pub fn bind_text(text: &str) -> Result<String, String> {
    let text = text.strip_prefix("ipv4@").or_else(|| text.strip_prefix("ipv6@")).unwrap_or(text);
    if bind_address(text).is_some() {
        return Ok(text.to_owned());
    }
    // haproxy writes IPv6 without brackets (`:::80`, `::1:80`).
    if let Some((host, port)) = text.rsplit_once(':') {
        let bracketed = format!("[{host}]:{port}");
        if host.contains(':') && bind_address(&bracketed).is_some() {
            return Ok(bracketed);
        }
    }
    Err(format!("`{text}`: halb listens on one ADDRESS:PORT (no ranges, UNIX sockets or names)"))
}

#[cfg(test)]
mod tests {
    use super::bind_text;

    #[test]
    fn bind_forms() {
        assert_eq!(bind_text("*:80").unwrap(), "*:80");
        assert_eq!(bind_text(":80").unwrap(), ":80");
        assert_eq!(bind_text("ipv4@10.0.0.1:80").unwrap(), "10.0.0.1:80");
        assert_eq!(bind_text(":::8080").unwrap(), "[::]:8080");
        assert!(bind_text("/run/haproxy.sock").is_err());
        assert!(bind_text(":8000-8010").is_err());
    }
}
