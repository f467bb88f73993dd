//! What RFC 9112 and RFC 9110 ask of an intermediary beyond framing, as
//! pure functions over `http` types: the `Host` a server must insist on,
//! the `Via` a gateway adds, the `Max-Forwards` hop count of `OPTIONS` and
//! `TRACE`, and the `Content-Length` a chunked response must lose.
//! `docs/http-conformance.md` lists each rule with the test that proves it.

use std::str::FromStr;

use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::uri::Authority;
use hyper::{Method, Version};

use super::headers::Rejection;

/// The `Via` pseudonym of this proxy (RFC 9110 7.6.3).
pub const VIA_NAME: &str = "halb";

/// Methods the proxy's own final answers (`Max-Forwards: 0`) name in `Allow`.
pub const ALLOW: &str = "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH";

/// RFC 9112 3.2: an HTTP/1.1 request has exactly one `Host` (the duplicate
/// case is [`super::headers::check_framing`]'s), and its value is an
/// authority without userinfo, or empty.
pub fn check_host(version: Version, headers: &HeaderMap) -> Result<(), Rejection> {
    let Some(host) = headers.get(header::HOST) else {
        return if version == Version::HTTP_11 { Err(Rejection::MissingHost) } else { Ok(()) };
    };
    let host = host.as_bytes();
    if host.is_empty() {
        return Ok(());
    }
    let valid = !host.contains(&b'@')
        && std::str::from_utf8(host)
            .is_ok_and(|h| Authority::from_str(h).is_ok() && port_is_digits(h));
    if valid {
        Ok(())
    } else {
        Err(Rejection::InvalidHost)
    }
}

/// `Authority` takes any port text; RFC 3986's port is `*DIGIT`.
fn port_is_digits(authority: &str) -> bool {
    let after_host = authority.rsplit_once(']').map_or(authority, |(_, rest)| rest);
    after_host.rsplit_once(':').is_none_or(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
}

/// Appends this hop to `Via` (RFC 9110 7.6.3: a gateway adds it to each
/// request it forwards), with the protocol version the request came in.
pub fn append_via(headers: &mut HeaderMap, received: Version) {
    let hop = match received {
        Version::HTTP_10 => format!("1.0 {VIA_NAME}"),
        _ => format!("1.1 {VIA_NAME}"),
    };
    let mut hops: Vec<&str> = headers
        .get_all(header::VIA)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    hops.push(&hop);
    if let Ok(value) = HeaderValue::try_from(hops.join(", ")) {
        headers.insert(header::VIA, value);
    }
}

/// What `Max-Forwards` says about an `OPTIONS` or `TRACE` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hops {
    /// Forward it (the count, if any, was decremented).
    Forward,
    /// The count is 0: the proxy is the final recipient and answers itself.
    AnswerHere,
}

/// RFC 9110 7.6.2: an intermediary decrements `Max-Forwards` of `OPTIONS`
/// and `TRACE`, and answers itself when it is 0. A value that is not a
/// number is left as it came (the RFC gives no rule for it).
pub fn max_forwards(method: &Method, headers: &mut HeaderMap) -> Hops {
    if *method != Method::OPTIONS && *method != Method::TRACE {
        return Hops::Forward;
    }
    let Some(count) = headers
        .get(header::MAX_FORWARDS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    else {
        return Hops::Forward;
    };
    if count == 0 {
        return Hops::AnswerHere;
    }
    headers.insert(header::MAX_FORWARDS, HeaderValue::from(count - 1));
    Hops::Forward
}

/// RFC 9112 6.3: a response with both `Transfer-Encoding` and
/// `Content-Length` is framed by the former, and an intermediary removes
/// the latter before forwarding it.
pub fn drop_length_of_coded_response(headers: &mut HeaderMap) {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        headers.remove(header::CONTENT_LENGTH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        fields
            .iter()
            .map(|(n, v)| (header::HeaderName::from_static(n), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn host_rules() {
        assert_eq!(check_host(Version::HTTP_11, &map(&[])), Err(Rejection::MissingHost));
        assert_eq!(check_host(Version::HTTP_10, &map(&[])), Ok(()));
        for good in ["example", "example:8080", "[::1]:80", "192.0.2.1", ""] {
            let headers = HeaderMap::from_iter([(header::HOST, HeaderValue::from_static(good))]);
            assert_eq!(check_host(Version::HTTP_11, &headers), Ok(()), "{good}");
        }
        for bad in ["exa mple", "user@example", "a/b", "example:port", "a?b"] {
            let headers = HeaderMap::from_iter([(header::HOST, HeaderValue::from_static(bad))]);
            assert_eq!(
                check_host(Version::HTTP_11, &headers),
                Err(Rejection::InvalidHost),
                "{bad}"
            );
        }
    }

    #[test]
    fn via_appends_this_hop() {
        let mut headers = map(&[("via", "1.0 fred"), ("via", "1.1 p.example")]);
        append_via(&mut headers, Version::HTTP_11);
        assert_eq!(headers[header::VIA], "1.0 fred, 1.1 p.example, 1.1 halb");
        let mut headers = HeaderMap::new();
        append_via(&mut headers, Version::HTTP_10);
        assert_eq!(headers[header::VIA], "1.0 halb");
    }

    #[test]
    fn max_forwards_counts_down_for_options_and_trace_only() {
        let mut headers = map(&[("max-forwards", "3")]);
        assert_eq!(max_forwards(&Method::TRACE, &mut headers), Hops::Forward);
        assert_eq!(headers[header::MAX_FORWARDS], "2");
        assert_eq!(max_forwards(&Method::GET, &mut headers), Hops::Forward);
        assert_eq!(headers[header::MAX_FORWARDS], "2");
        let mut headers = map(&[("max-forwards", "0")]);
        assert_eq!(max_forwards(&Method::OPTIONS, &mut headers), Hops::AnswerHere);
        let mut headers = map(&[("max-forwards", "x")]);
        assert_eq!(max_forwards(&Method::OPTIONS, &mut headers), Hops::Forward);
        assert_eq!(headers[header::MAX_FORWARDS], "x");
    }

    #[test]
    fn a_chunked_response_loses_its_length() {
        let mut headers = map(&[("transfer-encoding", "chunked"), ("content-length", "3")]);
        drop_length_of_coded_response(&mut headers);
        assert!(!headers.contains_key(header::CONTENT_LENGTH));
        let mut headers = map(&[("content-length", "3")]);
        drop_length_of_coded_response(&mut headers);
        assert_eq!(headers[header::CONTENT_LENGTH], "3");
    }
}
