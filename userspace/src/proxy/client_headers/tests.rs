use super::*;
use crate::proxy::section::{ForwardForSection, ForwardedSection};

const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

#[allow(clippy::needless_pass_by_value, reason = "tests build their sections inline")]
fn policy(ff: Option<ForwardForSection>, fwd: Option<ForwardedSection>) -> ClientHeaders {
    client_headers(ff.as_ref(), fwd.as_ref(), "proxy.backend[0]").unwrap()
}

#[allow(clippy::needless_pass_by_value, reason = "tests build their sections inline")]
fn error(ff: Option<ForwardForSection>, fwd: Option<ForwardedSection>) -> String {
    client_headers(ff.as_ref(), fwd.as_ref(), "proxy.backend[0]").unwrap_err().to_string()
}

#[test]
fn default_appends_to_x_forwarded_for_and_forwarded() {
    let mut h = headers(&[("x-forwarded-for", "10.1.1.1"), ("forwarded", "for=10.1.1.1")]);
    policy(None, None).apply(&mut h, CLIENT);
    assert_eq!(h["x-forwarded-for"], "10.1.1.1, 192.0.2.7");
    assert_eq!(h["forwarded"], "for=10.1.1.1, for=192.0.2.7");
}

#[test]
fn disabled_headers_are_left_as_the_client_sent_them() {
    let off = || Some(ForwardForSection { enabled: Some(false), ..Default::default() });
    let fwd_off = Some(ForwardedSection { enabled: Some(false), ..Default::default() });
    let mut h = headers(&[("x-forwarded-for", "10.1.1.1")]);
    policy(off(), fwd_off).apply(&mut h, CLIENT);
    assert_eq!(h["x-forwarded-for"], "10.1.1.1");
    assert!(!h.contains_key("forwarded"));
}

#[test]
fn custom_header_name_replaces_x_forwarded_for() {
    let ff = ForwardForSection { header: Some("X-Client".into()), ..Default::default() };
    let mut h = headers(&[("x-forwarded-for", "10.1.1.1")]);
    policy(Some(ff), None).apply(&mut h, CLIENT);
    assert_eq!(h["x-client"], "192.0.2.7");
    assert_eq!(h["x-forwarded-for"], "10.1.1.1", "the default header is untouched");
}

#[test]
fn except_networks_get_no_header() {
    let ff = ForwardForSection {
        except: vec!["192.0.2.0/24".into(), "2001:db8::/32".into()],
        ..Default::default()
    };
    let p = policy(Some(ff), None);
    let mut h = HeaderMap::new();
    p.apply(&mut h, CLIENT);
    assert!(!h.contains_key("x-forwarded-for"));
    assert_eq!(h["forwarded"], "for=192.0.2.7", "except only concerns forwardfor");
    let mut h = HeaderMap::new();
    p.apply(&mut h, "::ffff:192.0.2.9".parse().unwrap());
    assert!(!h.contains_key("x-forwarded-for"), "an IPv4-mapped client is in an IPv4 network");
    let mut h = HeaderMap::new();
    p.apply(&mut h, "198.51.100.1".parse().unwrap());
    assert_eq!(h["x-forwarded-for"], "198.51.100.1");
}

#[test]
fn if_none_keeps_an_existing_header() {
    let ff = ForwardForSection { if_none: Some(true), ..Default::default() };
    let p = policy(Some(ff), None);
    let mut h = headers(&[("x-forwarded-for", "10.1.1.1")]);
    p.apply(&mut h, CLIENT);
    assert_eq!(h["x-forwarded-for"], "10.1.1.1");
    let mut h = HeaderMap::new();
    p.apply(&mut h, CLIENT);
    assert_eq!(h["x-forwarded-for"], "192.0.2.7");
}

#[test]
fn forwarded_parameters_follow_the_options() {
    let fwd = ForwardedSection { proto: Some(true), host: Some(true), ..Default::default() };
    let mut h = headers(&[("host", "site.example:8000")]);
    policy(None, Some(fwd)).apply(&mut h, CLIENT);
    assert_eq!(
        h["forwarded"], "proto=http;host=\"site.example:8000\"",
        "for is off once others are named"
    );
    let fwd = ForwardedSection {
        for_client: Some(true),
        proto: Some(true),
        host: Some(true),
        ..Default::default()
    };
    let mut h = headers(&[("host", "site.example")]);
    policy(None, Some(fwd)).apply(&mut h, "2001:db8::1".parse().unwrap());
    assert_eq!(h["forwarded"], "for=\"[2001:db8::1]\";proto=http;host=site.example");
    let mut h = HeaderMap::new();
    policy(None, Some(ForwardedSection::default())).apply(&mut h, CLIENT);
    assert_eq!(h["forwarded"], "for=192.0.2.7", "no parameter named means for");
}

#[test]
fn errors_name_the_key_and_the_reason() {
    let bad_net = ForwardForSection { except: vec!["10.0.0.0/40".into()], ..Default::default() };
    assert_eq!(
        error(Some(bad_net), None),
        "proxy.backend[0].forwardfor.except[0]: \"10.0.0.0/40\" is not ADDRESS or ADDRESS/PREFIX"
    );
    let bad_name = ForwardForSection { header: Some("X Client".into()), ..Default::default() };
    assert_eq!(
        error(Some(bad_name), None),
        "proxy.backend[0].forwardfor.header: \"X Client\" is not a header name"
    );
    let reserved = ForwardForSection { header: Some("Host".into()), ..Default::default() };
    assert_eq!(
        error(Some(reserved), None),
        "proxy.backend[0].forwardfor.header: \"Host\" is set by halb itself"
    );
    let empty = ForwardedSection { for_client: Some(false), ..Default::default() };
    assert_eq!(
        error(None, Some(empty)),
        "proxy.backend[0].forwarded: every parameter is off; set enabled = false instead"
    );
}

#[test]
fn networks_parse_and_match() {
    let net = Network::parse("10.0.0.0/8").unwrap();
    assert!(net.contains("10.255.0.1".parse().unwrap()));
    assert!(!net.contains("11.0.0.1".parse().unwrap()));
    assert!(Network::parse("0.0.0.0/0").unwrap().contains("203.0.113.5".parse().unwrap()));
    assert_eq!(Network::parse("127.0.0.1").unwrap().prefix, 32);
    assert!(Network::parse("10.0.0.0/x").is_none());
    assert!(Network::parse("::/129").is_none());
    assert!(!net.contains("2001:db8::1".parse().unwrap()));
}
