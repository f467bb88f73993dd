//! RFC 9112 and RFC 9110 requirements that bind a reverse proxy, one test
//! per row of `docs/http-conformance.md` (the test name is the row's), on
//! raw bytes over loopback against a running proxy and a raw origin that
//! records what it received. Request side: what a client sends is refused
//! with the right status, or reaches the origin as the standard says.
//! Response side: an origin that answers badly gets the client a 502 or a
//! closed connection, never a corrupted one, and the next request through
//! the pool still works. The haproxy comparison is in
//! `http_conformance_haproxy.rs`.

#[path = "proxy_support.rs"]
mod support;

#[path = "http_raw.rs"]
mod raw;

use std::net::SocketAddr;

use halb::proxy::{self, Balance, ServerConfig};
use raw::{ok, Answer, Origin, Received, Response, Wire};

/// The proxy in front of `origin` (health checks off, the tests' timeouts).
async fn halb(origin: &Origin) -> (proxy::Handle, SocketAddr) {
    let mut server = ServerConfig::new("origin", origin.addr);
    server.check = None;
    support::start_proxy(support::config(vec![server], Balance::RoundRobin)).await
}

/// `request` is answered `status` by the proxy itself, the connection is
/// closed, and nothing reached the origin.
async fn refused(row: &str, request: &[u8], status: u16) {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client.send(request).await;
    let response = client.response(false).await;
    let response = response.unwrap_or_else(|| panic!("{row}: no response"));
    assert_eq!(response.status, status, "{row}: {response:?}");
    assert!(client.closed().await, "{row}: connection left open");
    assert!(origin.received().is_empty(), "{row}: reached the origin: {:?}", origin.received());
    proxy.shutdown().await;
}

/// `request` goes through: what the origin got, and the client's answer.
async fn forwarded(row: &str, request: &[u8]) -> (Received, Response) {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client.send(request).await;
    let to_head = request.starts_with(b"HEAD ");
    let response = client.response(to_head).await.unwrap_or_else(|| panic!("{row}: no response"));
    assert_eq!(response.status, 200, "{row}: {response:?}");
    let received = origin.only(row);
    proxy.shutdown().await;
    (received, response)
}

/// The origin answers `bad` to `GET /bad` (`HEAD /bad` when `head`): the
/// client gets a 502 or a closed connection, never a complete answer built
/// from the bad one, and a next request through the pool gets `good`. The
/// client's response, when it got one.
async fn bad_response(row: &str, bad: &'static [u8], head: bool) -> Option<Response> {
    let origin = Origin::answering_bad(bad).await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    let method = if head { "HEAD" } else { "GET" };
    client.send(format!("{method} /bad HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes()).await;
    let response = client.response(head).await;
    if let Some(r) = &response {
        assert!(r.status == 502 || !r.complete, "{row}: bad answer passed: {r:?}");
        if r.status != 502 {
            assert!(client.closed().await, "{row}: cut answer left the connection open");
        }
    }
    pool_still_good(row, addr).await;
    proxy.shutdown().await;
    response
}

/// Two requests on a new client connection through the pool get `good`.
async fn pool_still_good(row: &str, addr: SocketAddr) {
    let mut client = Wire::connect(addr).await;
    for _ in 0..2 {
        client.send(b"GET /good HTTP/1.1\r\nHost: h\r\n\r\n").await;
        let r = client.response(false).await.unwrap_or_else(|| panic!("{row}: pool broken"));
        assert_eq!((r.status, r.text().as_str()), (200, "good"), "{row}: pool broken: {r:?}");
    }
}

/// The origin answers `answer` to anything; the client's response to
/// `request` (and any 1xx before it).
async fn relayed(request: &[u8], answer: &'static [u8]) -> (Vec<Response>, Response) {
    let origin = Origin::start(|_| Answer { bytes: answer.to_vec(), close: true }).await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client.send(request).await;
    let (informational, last) = client.final_response(request.starts_with(b"HEAD ")).await;
    proxy.shutdown().await;
    (informational, last.expect("a final response"))
}

// ---------------------------------------------------------------- message syntax

#[tokio::test]
async fn r9112_2_2_bare_cr_in_a_field_is_400() {
    refused("bare CR", b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400).await;
}

#[tokio::test]
async fn r9112_2_2_whitespace_before_the_first_field_is_400() {
    refused("whitespace line", b"GET / HTTP/1.1\r\n Host: h\r\nX-A: 1\r\n\r\n", 400).await;
}

#[tokio::test]
async fn r9112_2_3_http_version_is_case_sensitive() {
    refused("lowercase version", b"GET / http/1.1\r\nHost: h\r\n\r\n", 400).await;
}

#[tokio::test]
async fn r9112_3_request_line_with_extra_spaces_is_400() {
    refused("two spaces", b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400).await;
    refused("trailing space", b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400).await;
}

#[tokio::test]
async fn r9112_5_1_whitespace_before_colon_is_400() {
    refused("space before colon", b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400).await;
    refused("tab before colon", b"GET / HTTP/1.1\r\nHost: h\r\nX-A\t: 1\r\n\r\n", 400).await;
}

#[tokio::test]
async fn r9112_5_invalid_field_name_is_400() {
    refused("@ in name", b"GET / HTTP/1.1\r\nHost: h\r\nX@Y: 1\r\n\r\n", 400).await;
    refused("no colon", b"GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n", 400).await;
}

#[tokio::test]
async fn r9110_5_5_nul_in_a_field_value_is_400() {
    refused("NUL", b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n", 400).await;
}

#[tokio::test]
async fn r9112_5_2_obs_fold_in_a_request_is_400() {
    refused("obs-fold", b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n", 400).await;
}

// ---------------------------------------------------------------- request target and Host

const MISSING_HOST: &[u8] = b"GET / HTTP/1.1\r\n\r\n";
const INVALID_HOST: &[u8] = b"GET / HTTP/1.1\r\nHost: exa mple\r\n\r\n";
const USERINFO_HOST: &[u8] = b"GET / HTTP/1.1\r\nHost: user@example\r\n\r\n";

#[tokio::test]
async fn r9112_3_2_http11_without_host_is_400() {
    refused("no Host", MISSING_HOST, 400).await;
}

#[tokio::test]
async fn r9112_3_2_more_than_one_host_is_400() {
    refused("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400).await;
}

#[tokio::test]
async fn r9112_3_2_invalid_host_value_is_400() {
    refused("space in Host", INVALID_HOST, 400).await;
    refused("userinfo in Host", USERINFO_HOST, 400).await;
}

#[tokio::test]
async fn r9112_3_2_2_absolute_form_host_replaces_the_host_field() {
    let (got, _) = forwarded(
        "absolute-form",
        b"GET http://lab.example:8080/x?y=1 HTTP/1.1\r\nHost: other\r\n\r\n",
    )
    .await;
    assert_eq!(got.target(), "/x?y=1");
    assert_eq!(got.field("host"), ["lab.example:8080"]);
}

#[tokio::test]
async fn r9112_3_2_1_empty_path_is_sent_as_slash() {
    let (got, _) =
        forwarded("empty path", b"GET http://lab.example HTTP/1.1\r\nHost: lab.example\r\n\r\n")
            .await;
    assert_eq!(got.target(), "/");
}

const OPTIONS_ABSOLUTE_EMPTY: &[u8] =
    b"OPTIONS http://lab.example HTTP/1.1\r\nHost: lab.example\r\n\r\n";

/// Deliberate exception: the `http` crate's parser turns the empty path of
/// `http://lab.example` into `/`, so the proxy cannot tell it from
/// `http://lab.example/` and sends `OPTIONS /`. An asterisk-form
/// `OPTIONS *` goes on as `*`.
#[tokio::test]
async fn r9112_3_2_4_options_with_empty_path_is_sent_as_slash_exception() {
    let (got, _) = forwarded("OPTIONS absolute", OPTIONS_ABSOLUTE_EMPTY).await;
    assert_eq!(got.target(), "/", "exception no longer needed?");
    let (got, _) = forwarded("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").await;
    assert_eq!(got.target(), "*");
}

#[tokio::test]
async fn r9110_7_7_path_and_query_are_forwarded_unchanged() {
    let target = "/a/../b%2Fc//d?q=%20x&&y=;z";
    let request = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
    let (got, _) = forwarded("target", request.as_bytes()).await;
    assert_eq!(got.target(), target);
}

// ---------------------------------------------------------------- message body length

const CL_AND_TE: &[u8] =
    b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";

#[tokio::test]
async fn r9112_6_3_content_length_with_transfer_encoding_is_400() {
    refused("CL and TE", CL_AND_TE, 400).await;
}

#[tokio::test]
async fn r9112_6_3_transfer_encoding_not_ending_in_chunked_is_400() {
    let request =
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n";
    refused("TE gzip last", request, 400).await;
    let request = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n";
    refused("TE identity", request, 400).await;
}

#[tokio::test]
async fn r9112_6_1_transfer_encoding_in_http10_is_400() {
    let request = b"POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    refused("TE in 1.0", request, 400).await;
}

#[tokio::test]
async fn r9112_6_3_invalid_content_length_is_400() {
    for value in ["+5", "-1", "5x", "0x5", "", "5 5", "99999999999999999999999"] {
        let request = format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {value}\r\n\r\nhello");
        refused(&format!("Content-Length {value:?}"), request.as_bytes(), 400).await;
    }
}

#[tokio::test]
async fn r9112_6_3_differing_content_lengths_are_400() {
    let request =
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
    refused("two lengths", request, 400).await;
    refused(
        "length list",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\nhello!",
        400,
    )
    .await;
}

#[tokio::test]
async fn r9110_8_6_identical_content_length_list_is_400() {
    let request = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello";
    refused("5, 5", request, 400).await;
}

#[tokio::test]
async fn r9112_7_chunked_body_is_decoded_and_extensions_ignored() {
    let request = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=\"v\"\r\nabc\r\n2;x\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n";
    let (got, _) = forwarded("chunked", request).await;
    assert_eq!(got.body, b"abcde");
}

#[tokio::test]
async fn r9112_7_1_bad_chunk_size_is_400() {
    for (case, body) in [
        ("not hex", "zz\r\nabc\r\n0\r\n\r\n"),
        ("overflow", "fffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
    ] {
        let request =
            format!("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n{body}");
        let origin = Origin::echoing().await;
        let (proxy, addr) = halb(&origin).await;
        let mut client = Wire::connect(addr).await;
        client.send(request.as_bytes()).await;
        let r = client.response(false).await;
        assert!(r.as_ref().is_none_or(|r| r.status == 400), "{case}: {r:?}");
        assert!(client.closed().await, "{case}");
        proxy.shutdown().await;
    }
}

#[tokio::test]
async fn r9112_6_3_request_without_length_has_no_body() {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client.send(b"POST /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n").await;
    for target in ["/a", "/b"] {
        let r = client.response(false).await.expect("response");
        assert_eq!(r.text(), format!("ok {target}"));
    }
    let got = origin.received();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].body.is_empty());
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9112_6_3_content_length_body_is_never_a_request() {
    let smuggled = b"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";
    let request = format!(
        "GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n{}",
        smuggled.len(),
        String::from_utf8_lossy(smuggled)
    );
    let (got, response) = forwarded("GET with body", request.as_bytes()).await;
    assert_eq!(got.body, smuggled);
    assert_eq!(response.text(), "ok /a");
}

// ---------------------------------------------------------------- connection management

#[tokio::test]
async fn r9112_9_3_2_pipelined_responses_keep_request_order() {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client
        .send(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\n")
        .await;
    let first = client.response(false).await.expect("first");
    let second = client.response(true).await.expect("second");
    let third = client.response(false).await.expect("third");
    assert_eq!(first.text(), "ok /1");
    assert!(second.body.is_empty());
    assert_eq!(third.text(), "ok /3");
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9112_9_6_close_ends_the_connection_after_the_response() {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client
        .send(b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
        .await;
    let r = client.response(false).await.expect("response");
    assert_eq!(r.text(), "ok /a");
    assert!(client.closed().await, "open after close");
    assert_eq!(origin.received().len(), 1, "a request after close was processed");
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9112_9_3_http10_without_keep_alive_is_closed() {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client.send(b"GET /a HTTP/1.0\r\nHost: h\r\n\r\n").await;
    let r = client.response(false).await.expect("response");
    assert_eq!(r.text(), "ok /a");
    assert!(client.closed().await);
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9112_9_3_1_non_idempotent_request_is_not_retried() {
    let origin = Origin::start(|_| Answer { bytes: Vec::new(), close: true }).await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client.send(b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi").await;
    let r = client.response(false).await.expect("response");
    assert_eq!(r.status, 502, "{r:?}");
    assert_eq!(origin.received().len(), 1, "POST sent again");
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9110_7_6_1_connection_options_and_hop_by_hop_fields_are_removed() {
    let request = b"GET / HTTP/1.1\r\nHost: h\r\nConnection: x-foo, keep-alive\r\nX-Foo: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nX-Kept: 1\r\n\r\n";
    let (got, _) = forwarded("request hop-by-hop", request).await;
    for name in ["connection", "x-foo", "keep-alive", "proxy-connection", "te"] {
        assert!(got.field(name).is_empty(), "{name} forwarded: {got:?}");
    }
    assert_eq!(got.field("x-kept"), ["1"]);
    let (_, r) = relayed(
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: x-bar\r\nX-Bar: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
    )
    .await;
    for name in ["x-bar", "keep-alive"] {
        assert!(r.field(name).is_empty(), "{name} forwarded to the client: {r:?}");
    }
}

// ---------------------------------------------------------------- intermediaries

#[tokio::test]
async fn r9110_7_6_3_via_is_added_to_requests() {
    let (got, _) = forwarded("Via", b"GET / HTTP/1.1\r\nHost: h\r\nVia: 1.0 fred\r\n\r\n").await;
    assert_eq!(got.field("via"), ["1.0 fred, 1.1 halb"]);
    let (got, _) = forwarded("Via 1.0", b"GET / HTTP/1.0\r\nHost: h\r\n\r\n").await;
    assert_eq!(got.field("via"), ["1.0 halb"]);
}

const MAX_FORWARDS_5: &[u8] = b"OPTIONS / HTTP/1.1\r\nHost: h\r\nMax-Forwards: 5\r\n\r\n";
const MAX_FORWARDS_0: &[u8] = b"OPTIONS / HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\n\r\n";

#[tokio::test]
async fn r9110_7_6_2_max_forwards_is_decremented_for_options_and_trace() {
    let (got, _) = forwarded("OPTIONS", MAX_FORWARDS_5).await;
    assert_eq!(got.field("max-forwards"), ["4"]);
    let (got, _) =
        forwarded("TRACE", b"TRACE / HTTP/1.1\r\nHost: h\r\nMax-Forwards: 1\r\n\r\n").await;
    assert_eq!(got.field("max-forwards"), ["0"]);
    let (got, _) = forwarded("GET", b"GET / HTTP/1.1\r\nHost: h\r\nMax-Forwards: 5\r\n\r\n").await;
    assert_eq!(got.field("max-forwards"), ["5"], "only OPTIONS and TRACE");
}

#[tokio::test]
async fn r9110_7_6_2_max_forwards_zero_is_answered_by_the_proxy() {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client.send(MAX_FORWARDS_0).await;
    let r = client.response(false).await.expect("OPTIONS answer");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!r.field("allow").is_empty(), "{r:?}");
    client.send(b"TRACE / HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\n\r\n").await;
    let r = client.response(false).await.expect("TRACE answer");
    assert_eq!(r.status, 405, "{r:?}");
    assert!(!r.field("allow").is_empty(), "{r:?}");
    assert!(origin.received().is_empty(), "forwarded: {:?}", origin.received());
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9110_10_1_1_expect_100_continue_gets_an_interim_response() {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client
        .send(b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .await;
    let interim = client.response(false).await.expect("100");
    assert_eq!(interim.status, 100, "{interim:?}");
    client.send(b"hello").await;
    let r = client.response(false).await.expect("final");
    assert_eq!(r.text(), "ok /up");
    assert_eq!(origin.only("Expect").body, b"hello");
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9110_10_1_1_expect_in_http10_is_ignored() {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client
        .send(b"POST /up HTTP/1.0\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello")
        .await;
    let r = client.response(false).await.expect("final");
    assert_eq!(r.status, 200, "an interim answer to HTTP/1.0: {r:?}");
    proxy.shutdown().await;
}

const EARLY_HINTS: &[u8] =
    b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// Deliberate exception: hyper 1's server side cannot send a 1xx (a
/// service returns one response, and hyper turns a 1xx into a 500), so a
/// 103 from the origin has nothing to be relayed with.
#[tokio::test]
async fn r9110_15_2_1xx_from_the_origin_is_not_forwarded_exception() {
    let (informational, r) = relayed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", EARLY_HINTS).await;
    assert!(informational.is_empty(), "deliberate exception changed: {informational:?}");
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
}

#[tokio::test]
async fn r9110_6_6_1_date_is_added_when_the_origin_sends_none() {
    let (_, r) = relayed(
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    )
    .await;
    assert_eq!(r.field("date").len(), 1, "{r:?}");
}

#[tokio::test]
async fn r9110_9_3_2_head_response_keeps_its_length_and_has_no_body() {
    let (_, r) = relayed(
        b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n",
    )
    .await;
    assert_eq!(r.field("content-length"), ["7"], "{r:?}");
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn r9110_8_6_no_content_length_on_204() {
    let (_, r) = relayed(
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(r.field("content-length").is_empty(), "{r:?}");
    assert!(r.field("transfer-encoding").is_empty(), "{r:?}");
}

#[tokio::test]
async fn r9112_6_1_no_transfer_encoding_to_an_http10_client() {
    let (_, r) = relayed(
        b"GET / HTTP/1.0\r\nHost: h\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    )
    .await;
    assert!(r.field("transfer-encoding").is_empty(), "{r:?}");
    assert_eq!(r.text(), "ok");
}

// ---------------------------------------------------------------- bad responses

#[tokio::test]
async fn r9112_6_3_response_with_content_length_and_chunked_is_sent_once_framed() {
    let bad = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let (_, r) = relayed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", bad).await;
    assert!(
        r.field("content-length").is_empty() || r.field("transfer-encoding").is_empty(),
        "both framings forwarded: {r:?}"
    );
    assert_eq!((r.text().as_str(), r.complete), ("hello", true), "{r:?}");
}

#[tokio::test]
async fn r9112_6_3_response_with_conflicting_lengths_is_502() {
    let bad = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 8\r\n\r\nokHTTP/1.";
    let r = bad_response("two lengths", bad, false).await;
    assert_eq!(r.map(|r| r.status), Some(502));
}

#[tokio::test]
async fn r9112_6_3_response_with_invalid_length_is_502() {
    let r =
        bad_response("invalid length", b"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok", false)
            .await;
    assert_eq!(r.map(|r| r.status), Some(502));
}

#[tokio::test]
async fn r9112_7_1_response_with_bad_chunks_is_cut_and_closed() {
    let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n";
    bad_response("bad chunk", bad, false).await;
}

#[tokio::test]
async fn r9112_6_3_response_shorter_than_its_length_is_cut_and_closed() {
    cut_response("short body", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello").await;
}

/// The origin sends `cut` to `/bad` and closes: the client never gets it as
/// a complete response, its connection is closed, and the pool is fine.
async fn cut_response(row: &str, cut: &'static [u8]) {
    let origin = Origin::start(|r| {
        if r.target() == "/bad" {
            Answer { bytes: cut.to_vec(), close: true }
        } else {
            ok("good")
        }
    })
    .await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    client.send(b"GET /bad HTTP/1.1\r\nHost: h\r\n\r\n").await;
    let r = client.response(false).await;
    assert!(r.as_ref().is_none_or(|r| !r.complete || r.status == 502), "{row}: {r:?}");
    assert!(client.closed().await, "{row}: left open");
    pool_still_good(row, addr).await;
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9112_6_3_close_delimited_response_is_forwarded_whole() {
    let (_, r) =
        relayed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
            .await;
    assert_eq!((r.text().as_str(), r.complete), ("until the end", true), "{r:?}");
}

#[tokio::test]
async fn r9112_5_2_response_obs_fold_is_502() {
    let bad = b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 2\r\n\r\nok";
    let r = bad_response("obs-fold", bad, false).await;
    assert_eq!(r.map(|r| r.status), Some(502));
}

/// Deliberate exception: RFC 9112 5.1 has a proxy remove the whitespace;
/// hyper's parser refuses the response instead, and halb answers 502 (as
/// haproxy does): a field name that ends in whitespace is too often an
/// attempt to smuggle a second framing past one of the hops.
#[tokio::test]
async fn r9112_5_1_response_whitespace_before_colon_is_502_exception() {
    let bad = b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok";
    let r = bad_response("space before colon", bad, false).await;
    assert_eq!(r.map(|r| r.status), Some(502));
}

#[tokio::test]
async fn r9112_4_invalid_status_line_is_502() {
    for bad in [
        &b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"[..],
        b"SPDY/3 200 OK\r\n\r\n",
        b"\x00\x01garbage\r\n\r\n",
    ] {
        let leaked: &'static [u8] = Box::leak(bad.to_vec().into_boxed_slice());
        let r = bad_response("status line", leaked, false).await;
        assert_eq!(r.map(|r| r.status), Some(502));
    }
}

/// A complete response hidden after one that has no body.
const SPLIT: &str = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled";

#[tokio::test]
async fn r9110_15_3_5_body_after_204_is_not_a_response() {
    let bad: &'static [u8] = Box::leak(
        format!("HTTP/1.1 204 No Content\r\n\r\n{SPLIT}").into_bytes().into_boxed_slice(),
    );
    no_response_splitting("204", bad, false).await;
}

#[tokio::test]
async fn r9110_15_4_5_body_after_304_is_not_a_response() {
    let bad: &'static [u8] = Box::leak(
        format!("HTTP/1.1 304 Not Modified\r\n\r\n{SPLIT}").into_bytes().into_boxed_slice(),
    );
    no_response_splitting("304", bad, false).await;
}

#[tokio::test]
async fn r9110_9_3_2_body_after_head_response_is_not_a_response() {
    let bad: &'static [u8] = Box::leak(
        format!("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{SPLIT}")
            .into_bytes()
            .into_boxed_slice(),
    );
    no_response_splitting("HEAD", bad, true).await;
}

/// The bodiless answer reaches the client as it is, and what follows it on
/// the origin's connection never becomes another client's response.
async fn no_response_splitting(row: &str, bad: &'static [u8], head: bool) {
    let origin = Origin::answering_bad(bad).await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    let method = if head { "HEAD" } else { "GET" };
    for _ in 0..3 {
        client.send(format!("{method} /bad HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes()).await;
        let r = client.response(head).await.unwrap_or_else(|| panic!("{row}: no response"));
        assert!(r.body.is_empty(), "{row}: {r:?}");
        client.send(b"GET /good HTTP/1.1\r\nHost: h\r\n\r\n").await;
        let r = client.response(false).await.unwrap_or_else(|| panic!("{row}: no next response"));
        assert_eq!(r.text(), "good", "{row}: split response: {r:?}");
    }
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9110_15_2_2_unrequested_101_is_502() {
    let r = bad_response(
        "101",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(r.map(|r| r.status), Some(502));
}

/// Deliberate exception: a reverse proxy has no tunnel to offer (RFC 9110
/// 9.3.6 lets a server refuse CONNECT); 400 rather than 501, as before.
#[tokio::test]
async fn r9110_9_3_6_connect_is_refused_exception() {
    refused("CONNECT", b"CONNECT example:443 HTTP/1.1\r\nHost: example:443\r\n\r\n", 400).await;
}

/// Deliberate exception to 414: the whole head is bounded (64 KiB), and a
/// target that does not fit is refused with the head's 431.
#[tokio::test]
async fn r9112_3_long_target_gets_431_exception() {
    let request = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(70_000));
    refused("long target", request.as_bytes(), 431).await;
    let request = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(60_000));
    let (got, _) = forwarded("60 KB target", request.as_bytes()).await;
    assert_eq!(got.target().len(), 60_001);
}

/// Deliberate exception to RFC 9112 appendix C.2.2 ("a proxy server MUST NOT
/// maintain a persistent connection with an HTTP/1.0 client"): halb is the
/// origin as far as the client can tell, and forwards neither `Connection`
/// nor `Keep-Alive`, which is what that rule guards against; like haproxy,
/// it keeps an HTTP/1.0 connection open when the client asks.
#[tokio::test]
async fn r9112_c_2_2_http10_keep_alive_is_kept_exception() {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    for target in ["/a", "/b"] {
        let request = format!("GET {target} HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n");
        client.send(request.as_bytes()).await;
        let r = client.response(false).await.expect("response");
        assert_eq!(r.text(), format!("ok {target}"));
    }
    assert!(origin.received().iter().all(|r| r.field("connection").is_empty()));
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9110_7_8_upgrade_in_http10_is_ignored() {
    let request = b"GET / HTTP/1.0\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
    let (got, _) = forwarded("1.0 Upgrade", request).await;
    assert!(got.field("upgrade").is_empty(), "{got:?}");
}

#[tokio::test]
async fn r9112_8_chunked_response_cut_before_its_last_chunk_is_closed() {
    cut_response(
        "no last chunk",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    )
    .await;
}

#[tokio::test]
async fn r9112_6_3_body_of_a_request_the_proxy_answers_is_not_a_request() {
    let origin = Origin::echoing().await;
    let (proxy, addr) = halb(&origin).await;
    let mut client = Wire::connect(addr).await;
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";
    let request = format!(
        "OPTIONS / HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\nContent-Length: {}\r\n\r\n{smuggled}",
        smuggled.len()
    );
    client.send(request.as_bytes()).await;
    let r = client.response(false).await.expect("answer");
    assert_eq!(r.status, 200);
    let rest = client.rest().await;
    assert!(!rest.contains("smuggled"), "{rest}");
    assert!(origin.received().is_empty(), "{:?}", origin.received());
    proxy.shutdown().await;
}

#[tokio::test]
async fn r9112_3_2_forwarded_request_always_has_host() {
    let (got, _) = forwarded("1.0 without Host", b"GET / HTTP/1.0\r\n\r\n").await;
    assert!(got.head.starts_with("GET / HTTP/1.1\r\n"), "{got:?}");
    assert_eq!(got.field("host").len(), 1, "{got:?}");
}

/// Deliberate exception to RFC 9110 7.6.1's "remove every field the
/// `Connection` header names": `Host`, `Content-Length` and
/// `Transfer-Encoding` stay, since a client that could strip them would
/// misroute the request or desynchronise the server's framing.
#[tokio::test]
async fn r9110_7_6_1_connection_cannot_remove_host_or_framing_exception() {
    let request =
        b"POST / HTTP/1.1\r\nHost: h\r\nConnection: host, content-length\r\nContent-Length: 2\r\n\r\nhi";
    let (got, _) = forwarded("Connection: host", request).await;
    assert_eq!(got.field("host"), ["h"]);
    assert_eq!(got.body, b"hi");
}
