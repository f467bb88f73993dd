//! Any bytes as a client's request head, checked against httparse (the
//! parser under hyper) as the reference:
//! - the head tap, fed the head in reads of any size, finds a
//!   `Content-Length` field whenever the head has one (it is how the proxy
//!   refuses Transfer-Encoding + Content-Length with a 400);
//! - the header policy never panics, refuses both framings at once, and
//!   leaves no hop-by-hop header (nor one `Connection` lists) in what goes
//!   to a server, whose target is origin-form HTTP/1.1 with the client last
//!   in `X-Forwarded-For`; a protocol switch is only ever HTTP/1.1;
//! - the intermediary rules never panic: an HTTP/1.1 head without `Host` is
//!   refused, `Max-Forwards` of `OPTIONS`/`TRACE` counts down by one (0:
//!   answered here) and no other method's changes, `Via` ends with this hop,
//!   and the head's fields read as a response never keep both framings.
#![no_main]

use std::net::SocketAddr;

use halb::proxy::client_headers::ClientHeaders;
use halb::proxy::head_tap::Tap;
use halb::proxy::headers::{self, HOP_BY_HOP, PROTECTED};
use halb::proxy::intermediary::{self, Hops};
use hyper::header::{CONNECTION, CONTENT_LENGTH, HOST, MAX_FORWARDS, TRANSFER_ENCODING, VIA};
use hyper::{Method, Request, Uri, Version};
use libfuzzer_sys::fuzz_target;

const CLIENT: &str = "192.0.2.7:40000";

fuzz_target!(|data: &[u8]| {
    // The first byte says how the head is cut into reads.
    let Some((&read_size, raw)) = data.split_first() else { return };
    let mut fields = [httparse::EMPTY_HEADER; 100];
    let mut parsed = httparse::Request::new(&mut fields);
    let Ok(httparse::Status::Complete(len)) = parsed.parse(raw) else { return };
    let (Some(method), Some(path), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        return;
    };

    let tap = Tap::default();
    for read in raw[..len].chunks(usize::from(read_size).max(1)) {
        tap.record(read);
    }
    let request_line = format!("{method} {path} ");
    if parsed.headers.iter().any(|h| h.name.eq_ignore_ascii_case("content-length")) {
        assert!(tap.head_has_content_length(&request_line), "tap missed Content-Length");
    }
    tap.head_done();

    // What hyper would hand the proxy.
    let (Ok(method), Ok(uri)) = (Method::from_bytes(method.as_bytes()), path.parse::<Uri>()) else {
        return;
    };
    let version = if minor == 1 { Version::HTTP_11 } else { Version::HTTP_10 };
    let mut builder = Request::builder().method(method).uri(uri).version(version);
    for field in parsed.headers.iter() {
        builder = builder.header(field.name, field.value);
    }
    let Ok(request) = builder.body(()) else { return };
    let (mut parts, ()) = request.into_parts();

    let framing = headers::check_framing(&parts.method, &parts.headers);
    if parts.headers.contains_key(TRANSFER_ENCODING) && parts.headers.contains_key(CONTENT_LENGTH) {
        assert!(framing.is_err(), "both framings accepted");
    }
    let host = intermediary::check_host(parts.version, &parts.headers);
    if parts.version == Version::HTTP_11 && !parts.headers.contains_key(HOST) {
        assert!(host.is_err(), "HTTP/1.1 without Host accepted");
    }
    check_max_forwards(&mut parts);
    let mut as_response = parts.headers.clone();
    intermediary::drop_length_of_coded_response(&mut as_response);
    assert!(
        !(as_response.contains_key(TRANSFER_ENCODING) && as_response.contains_key(CONTENT_LENGTH)),
        "a coded response kept its length"
    );
    let upgrade = headers::upgrade_request(parts.version, &parts.headers);
    assert!(upgrade.is_none() || parts.version == Version::HTTP_11, "HTTP/1.0 upgrade");
    let _ = headers::replayable(&parts.method, &parts.headers);
    let listed: Vec<String> = parts
        .headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty() && !PROTECTED.contains(&t.as_str()))
        .collect();

    let client: SocketAddr = CLIENT.parse().unwrap();
    let received = parts.version;
    intermediary::append_via(&mut parts.headers, received);
    if let Some(via) = parts.headers.get(VIA) {
        let hop = if received == Version::HTTP_10 { "1.0 halb" } else { "1.1 halb" };
        assert!(via.as_bytes().ends_with(hop.as_bytes()), "Via {via:?} does not end with {hop}");
    }
    headers::prepare_request(&mut parts, client, &ClientHeaders::default());
    for name in HOP_BY_HOP {
        assert!(!parts.headers.contains_key(name), "{name} forwarded");
    }
    for name in &listed {
        assert!(
            !parts.headers.contains_key(name.as_str()),
            "{name} (listed in Connection) forwarded"
        );
    }
    assert_eq!(parts.version, Version::HTTP_11);
    let target = parts.uri.to_string();
    assert!(target.starts_with('/') || target == "*", "target {target:?} is not origin-form");
    let xff = parts.headers.get("x-forwarded-for").expect("X-Forwarded-For set");
    let last = xff.to_str().unwrap_or_default().rsplit(',').next().unwrap_or_default().trim();
    assert_eq!(last, "192.0.2.7");
    if let Some(protocol) = upgrade {
        headers::restore_upgrade(&mut parts.headers, protocol);
        assert_eq!(parts.headers[CONNECTION], "upgrade");
    }
});

/// `Max-Forwards` of `OPTIONS` and `TRACE` goes down by one, or the request
/// is answered here at 0; any other method's value is left alone.
fn check_max_forwards(parts: &mut hyper::http::request::Parts) {
    let before = parts.headers.get(MAX_FORWARDS).cloned();
    let hops = intermediary::max_forwards(&parts.method, &mut parts.headers);
    let after = parts.headers.get(MAX_FORWARDS).cloned();
    let counted = matches!(parts.method, Method::OPTIONS | Method::TRACE);
    let number = before.as_ref().and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    match (counted, number) {
        (true, Some(0)) => assert_eq!(hops, Hops::AnswerHere),
        (true, Some(n)) => {
            assert_eq!(hops, Hops::Forward);
            assert_eq!(after.and_then(|v| v.to_str().ok()?.parse::<u64>().ok()), Some(n - 1));
        }
        _ => {
            assert_eq!(hops, Hops::Forward);
            assert_eq!(before, after, "Max-Forwards changed");
        }
    }
}
