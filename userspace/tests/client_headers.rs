//! What a server receives for each `forwardfor` / `forwarded` setting of
//! a backend: raw bytes from an IPv4 loopback client (127.0.0.1) through a
//! running proxy to a raw origin that records the head it got
//! (`docs/configuration.md`, `backend.forwardfor`, `backend.forwarded`).

#[path = "proxy_support.rs"]
mod support;

#[path = "http_raw.rs"]
mod raw;

use halb::proxy::client_headers::{client_headers, ClientHeaders};
use halb::proxy::section::{ForwardForSection, ForwardedSection};
use halb::proxy::{Balance, ServerConfig};
use raw::{Origin, Received, Wire};

/// `request` through a proxy whose backend adds `added`: the head the
/// origin received.
async fn received(added: ClientHeaders, request: &str) -> Received {
    let origin = Origin::echoing().await;
    let mut server = ServerConfig::new("origin", origin.addr);
    server.check = None;
    let mut config = support::config(vec![server], Balance::RoundRobin);
    config.backends[0].client_headers = added;
    let (proxy, addr) = support::start_proxy(config).await;
    let mut client = Wire::connect(addr).await;
    client.send(request.as_bytes()).await;
    let response = client.response(false).await.expect("a response");
    assert_eq!(response.status, 200, "{response:?}");
    let got = origin.only(request);
    proxy.shutdown().await;
    got
}

#[allow(clippy::needless_pass_by_value, reason = "tests build their sections inline")]
fn policy(ff: Option<ForwardForSection>, fwd: Option<ForwardedSection>) -> ClientHeaders {
    client_headers(ff.as_ref(), fwd.as_ref(), "proxy.backend[0]").expect("valid")
}

const PLAIN: &str = "GET / HTTP/1.1\r\nHost: site.example:8000\r\n\r\n";
const WITH_XFF: &str =
    "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.9\r\nForwarded: for=203.0.113.9\r\n\r\n";

#[tokio::test]
async fn default_appends_the_client_to_both_headers() {
    let got = received(ClientHeaders::default(), PLAIN).await;
    assert_eq!(got.field("x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(got.field("forwarded"), ["for=127.0.0.1"]);
    let got = received(ClientHeaders::default(), WITH_XFF).await;
    assert_eq!(got.field("x-forwarded-for"), ["203.0.113.9, 127.0.0.1"]);
    assert_eq!(got.field("forwarded"), ["for=203.0.113.9, for=127.0.0.1"]);
}

#[tokio::test]
async fn disabled_headers_reach_the_server_as_sent() {
    let ff = ForwardForSection { enabled: Some(false), ..Default::default() };
    let fwd = ForwardedSection { enabled: Some(false), ..Default::default() };
    let got = received(policy(Some(ff.clone()), Some(fwd.clone())), WITH_XFF).await;
    assert_eq!(got.field("x-forwarded-for"), ["203.0.113.9"]);
    assert_eq!(got.field("forwarded"), ["for=203.0.113.9"]);
    let got = received(policy(Some(ff), Some(fwd)), PLAIN).await;
    assert!(got.field("x-forwarded-for").is_empty(), "{got:?}");
    assert!(got.field("forwarded").is_empty(), "{got:?}");
}

#[tokio::test]
async fn custom_header_name_carries_the_client() {
    let ff = ForwardForSection { header: Some("X-Client".into()), ..Default::default() };
    let got = received(policy(Some(ff), None), WITH_XFF).await;
    assert_eq!(got.field("x-client"), ["127.0.0.1"]);
    assert_eq!(got.field("x-forwarded-for"), ["203.0.113.9"], "left as the client sent it");
}

#[tokio::test]
async fn except_network_of_the_client_gets_no_header() {
    let inside = ForwardForSection { except: vec!["127.0.0.0/8".into()], ..Default::default() };
    let got = received(policy(Some(inside), None), PLAIN).await;
    assert!(got.field("x-forwarded-for").is_empty(), "{got:?}");
    assert_eq!(got.field("forwarded"), ["for=127.0.0.1"]);
    let outside = ForwardForSection { except: vec!["10.0.0.0/8".into()], ..Default::default() };
    let got = received(policy(Some(outside), None), PLAIN).await;
    assert_eq!(got.field("x-forwarded-for"), ["127.0.0.1"]);
}

#[tokio::test]
async fn if_none_keeps_the_clients_header() {
    let ff = || ForwardForSection { if_none: Some(true), ..Default::default() };
    let got = received(policy(Some(ff()), None), WITH_XFF).await;
    assert_eq!(got.field("x-forwarded-for"), ["203.0.113.9"]);
    let got = received(policy(Some(ff()), None), PLAIN).await;
    assert_eq!(got.field("x-forwarded-for"), ["127.0.0.1"]);
}

#[tokio::test]
async fn forwarded_carries_the_chosen_parameters() {
    let fwd = ForwardedSection {
        for_client: Some(true),
        proto: Some(true),
        host: Some(true),
        ..Default::default()
    };
    let got = received(policy(None, Some(fwd)), PLAIN).await;
    assert_eq!(got.field("forwarded"), ["for=127.0.0.1;proto=http;host=\"site.example:8000\""]);
    let proto_only = ForwardedSection { proto: Some(true), ..Default::default() };
    let got = received(policy(None, Some(proto_only)), WITH_XFF).await;
    assert_eq!(got.field("forwarded"), ["for=203.0.113.9, proto=http"]);
}
