use super::*;
use crate::proxy::client_headers::ClientHeaders;
use hyper::Request;

fn parts(
    build: impl FnOnce(hyper::http::request::Builder) -> hyper::http::request::Builder,
) -> Parts {
    build(Request::builder()).body(()).unwrap().into_parts().0
}

fn client() -> SocketAddr {
    "192.0.2.7:40000".parse().unwrap()
}

#[test]
fn hop_by_hop_headers_and_connection_tokens_are_removed() {
    let mut p = parts(|b| {
        b.uri("/x")
            .header("host", "example")
            .header("connection", "keep-alive, X-Secret, host")
            .header("connection", "Content-Length")
            .header("keep-alive", "timeout=5")
            .header("proxy-connection", "keep-alive")
            .header("te", "trailers")
            .header("trailer", "x-checksum")
            .header("upgrade", "websocket")
            .header("x-secret", "1")
            .header("content-length", "3")
            .header("x-kept", "yes")
    });
    prepare_request(&mut p, client(), &ClientHeaders::default());
    for gone in
        ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "x-secret"]
    {
        assert!(!p.headers.contains_key(gone), "{gone} should be gone");
    }
    assert_eq!(p.headers["host"], "example", "Host is kept even if Connection lists it");
    assert_eq!(p.headers["content-length"], "3", "framing headers are protected");
    assert_eq!(p.headers["x-kept"], "yes");
}

#[test]
fn client_headers_default_to_forwarded_for_and_forwarded_for() {
    let mut p = parts(|b| {
        b.uri("/").header("x-forwarded-for", "10.1.1.1").header("x-forwarded-for", "10.2.2.2")
    });
    prepare_request(&mut p, client(), &ClientHeaders::default());
    assert_eq!(p.headers["x-forwarded-for"], "10.1.1.1, 10.2.2.2, 192.0.2.7");
    assert_eq!(p.headers["forwarded"], "for=192.0.2.7");
    let mut p = parts(|b| b.uri("/").header("forwarded", "for=10.0.0.9"));
    prepare_request(&mut p, "[2001:db8::1]:5".parse().unwrap(), &ClientHeaders::default());
    assert_eq!(p.headers["forwarded"], "for=10.0.0.9, for=\"[2001:db8::1]\"");
    assert_eq!(p.headers["x-forwarded-for"], "2001:db8::1");
}

#[test]
fn absolute_form_becomes_origin_form_with_its_host() {
    let mut p = parts(|b| b.uri("http://site.example:8000/a/b?c=d").header("host", "other"));
    prepare_request(&mut p, client(), &ClientHeaders::default());
    assert_eq!(p.uri, "/a/b?c=d");
    assert_eq!(p.headers["host"], "site.example:8000");
    let mut p = parts(|b| b.uri("/only?x").header("host", "kept").version(Version::HTTP_10));
    prepare_request(&mut p, client(), &ClientHeaders::default());
    assert_eq!((p.uri.to_string().as_str(), p.version), ("/only?x", Version::HTTP_11));
    assert_eq!(p.headers["host"], "kept");
    // Empty paths (found by the fuzz target): never an empty target.
    for (target, expected) in [("http://a.example", "/"), ("http://a.example?q=1", "/?q=1")] {
        let mut p = parts(|b| b.uri(target));
        prepare_request(&mut p, client(), &ClientHeaders::default());
        assert_eq!(p.uri.to_string(), expected, "{target}");
    }
    let mut p = parts(|b| b.uri(Uri::from_static("http://a.example#frag")));
    prepare_request(&mut p, client(), &ClientHeaders::default());
    assert_eq!(p.uri.to_string(), "/");
}

#[test]
fn framing_checks() {
    let headers = |pairs: &[(&'static str, &'static str)]| {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    };
    let both = headers(&[("transfer-encoding", "chunked"), ("content-length", "4")]);
    assert_eq!(check_framing(&Method::POST, &both), Err(Rejection::TransferEncodingWithLength));
    let hosts = headers(&[("host", "a"), ("host", "b")]);
    assert_eq!(check_framing(&Method::GET, &hosts), Err(Rejection::DuplicateHost));
    assert_eq!(check_framing(&Method::CONNECT, &HeaderMap::new()), Err(Rejection::Connect));
    assert_eq!(check_framing(&Method::POST, &headers(&[("content-length", "4")])), Ok(()));
}

#[test]
fn replayable_requests() {
    let none = HeaderMap::new();
    assert!(replayable(&Method::GET, &none));
    assert!(replayable(&Method::HEAD, &none));
    assert!(!replayable(&Method::POST, &none));
    let mut with_body = HeaderMap::new();
    with_body.insert("content-length", HeaderValue::from_static("5"));
    assert!(!replayable(&Method::PUT, &with_body));
    with_body.insert("content-length", HeaderValue::from_static("0"));
    assert!(replayable(&Method::PUT, &with_body));
    let mut chunked = HeaderMap::new();
    chunked.insert("transfer-encoding", HeaderValue::from_static("chunked"));
    assert!(!replayable(&Method::GET, &chunked));
}

#[test]
fn upgrade_requests() {
    let ws = |b: hyper::http::request::Builder| {
        b.header("connection", "keep-alive, Upgrade").header("upgrade", "websocket")
    };
    let p = parts(ws);
    assert_eq!(upgrade_request(p.version, &p.headers), Some(HeaderValue::from_static("websocket")));
    // HTTP/1.0, no `upgrade` token, or an empty Upgrade: no switch.
    let p = parts(|b| ws(b).version(Version::HTTP_10));
    assert_eq!(upgrade_request(p.version, &p.headers), None);
    let p = parts(|b| b.header("connection", "keep-alive").header("upgrade", "websocket"));
    assert_eq!(upgrade_request(p.version, &p.headers), None);
    let p = parts(|b| b.header("connection", "upgrade").header("upgrade", " "));
    assert_eq!(upgrade_request(p.version, &p.headers), None);
    // What prepare_request strips, restore_upgrade puts back.
    let mut p = parts(ws);
    let protocol = upgrade_request(p.version, &p.headers).unwrap();
    prepare_request(&mut p, client(), &ClientHeaders::default());
    assert!(p.headers.get("upgrade").is_none());
    restore_upgrade(&mut p.headers, protocol);
    assert_eq!(p.headers["connection"], "upgrade");
    assert_eq!(p.headers["upgrade"], "websocket");
}
