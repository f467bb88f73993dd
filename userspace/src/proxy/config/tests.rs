use super::*;

const LAB: &str = r#"
retries = 3
redispatch = true
[timeout]
connect = "5s"
client = 50000
server = "50s"
http-request = "10s"

[[frontend]]
name = "miservidor"
bind = "*:8000"
default_backend = "misServidores"

[[backend]]
name = "misServidores"
balance = "roundrobin"
[[backend.server]]
name = "serv1"
address = "10.0.0.1:80"
check = true
[[backend.server]]
name = "serv2"
address = "10.0.0.2:80"
check = true
[[backend.server]]
name = "serv3"
address = "10.0.0.3:80"
check = true
weight = 2
inter = "500ms"
fastinter = "100ms"
rise = 1
fall = 2
maxconn = 10
"#;

fn section(text: &str) -> ProxySection {
    toml::from_str(text).expect("valid TOML for ProxySection")
}

fn error_key(text: &str) -> String {
    Config::try_from(section(text)).expect_err("invalid").key
}

#[test]
fn lab_block_validates_with_haproxy_defaults() {
    let config = Config::try_from(section(LAB)).unwrap();
    assert_eq!(config.frontends[0].bind, "0.0.0.0:8000".parse().unwrap());
    assert_eq!(config.frontends[0].backend, "misServidores");
    assert_eq!(config.timeouts.client, Duration::from_secs(50));
    assert_eq!(config.timeouts.queue, Duration::from_secs(5), "queue defaults to connect");
    let servers = &config.backends[0].servers;
    assert_eq!(servers[0].check, Some(CheckTiming::default()));
    assert_eq!(servers[0].check.unwrap().inter, Duration::from_secs(2));
    assert_eq!((servers[0].check.unwrap().rise, servers[0].check.unwrap().fall), (2, 3));
    let s3 = &servers[2];
    assert_eq!(s3.weight, 2);
    assert_eq!(s3.maxconn, 10);
    let t = s3.check.unwrap();
    assert_eq!(
        (t.inter, t.fastinter, t.downinter),
        (Duration::from_millis(500), Duration::from_millis(100), Duration::from_millis(500))
    );
    assert_eq!(config.backends[0].check, CheckKind::Tcp);
}

#[test]
fn unknown_keys_are_refused() {
    let text = LAB.replace("weight = 2", "wieght = 2");
    let e = toml::from_str::<ProxySection>(&text).unwrap_err();
    assert!(e.to_string().contains("wieght"), "{e}");
}

#[test]
fn errors_name_the_key() {
    assert_eq!(
        error_key(&LAB.replace("10.0.0.3:80", "10.0.0.3")),
        "proxy.backend[0].server[2].address"
    );
    assert_eq!(error_key(&LAB.replace("\"*:8000\"", "\"*:80000\"")), "proxy.frontend[0].bind");
    assert_eq!(
        error_key(&LAB.replace("default_backend = \"misServidores\"", "default_backend = \"x\"")),
        "proxy.frontend[0].default_backend"
    );
    assert_eq!(error_key(&LAB.replace("\"roundrobin\"", "\"source\"")), "proxy.backend[0].balance");
    assert_eq!(
        error_key(&LAB.replace("\"serv2\"", "\"serv1\"")),
        "proxy.backend[0].server[1].name"
    );
    assert_eq!(error_key(&LAB.replace("rise = 1", "rise = 0")), "proxy.backend[0].server[2].rise");
    assert_eq!(
        error_key(&LAB.replace("weight = 2", "weight = 257")),
        "proxy.backend[0].server[2].weight"
    );
    assert_eq!(
        error_key(&LAB.replace("\"500ms\"", "\"5parsecs\"")),
        "proxy.backend[0].server[2].inter"
    );
    assert_eq!(error_key(&LAB.replace("connect = \"5s\"", "connect = 0")), "proxy.timeout.connect");
    assert_eq!(error_key(&LAB.replace("\"10s\"", "\"1y\"")), "proxy.timeout.http-request");
    assert_eq!(error_key(&LAB.replace("retries = 3", "retries = 99")), "proxy.retries");
}

#[test]
fn http_check_options() {
    let text = LAB.replace(
        "balance = \"roundrobin\"",
        "balance = \"leastconn\"\nhttpchk = { method = \"HEAD\", path = \"/health\", expect-status = 204 }",
    );
    let config = Config::try_from(section(&text)).unwrap();
    assert_eq!(config.backends[0].balance, Balance::LeastConn);
    assert_eq!(
        config.backends[0].check,
        CheckKind::Http { method: Method::HEAD, path: "/health".into(), expect_status: 204 }
    );
    let bad = LAB.replace("balance = \"roundrobin\"", "httpchk = { path = \"health\" }");
    assert_eq!(error_key(&bad), "proxy.backend[0].httpchk.path");
}

#[test]
fn durations_follow_haproxy() {
    let d = |s: &str| duration(&DurationValue::Text(s.into()));
    assert_eq!(d("2s"), Ok(Duration::from_secs(2)));
    assert_eq!(d("1500"), Ok(Duration::from_millis(1500)));
    assert_eq!(d("100ms"), Ok(Duration::from_millis(100)));
    assert_eq!(d("3m"), Ok(Duration::from_mins(3)));
    assert_eq!(duration(&DurationValue::Millis(250)), Ok(Duration::from_millis(250)));
    assert!(d("s").is_err());
    assert!(d("-1s").is_err());
    assert!(d("0").is_err());
}

#[test]
fn bind_forms() {
    assert_eq!(bind_address("*:8000"), Some("0.0.0.0:8000".parse().unwrap()));
    assert_eq!(bind_address(":8000"), Some("0.0.0.0:8000".parse().unwrap()));
    assert_eq!(bind_address("[::]:8000"), Some("[::]:8000".parse().unwrap()));
    assert_eq!(bind_address("127.0.0.1:0"), Some("127.0.0.1:0".parse().unwrap()));
    assert_eq!(bind_address("localhost:8000"), None);
}
