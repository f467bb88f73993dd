//! Config validation: every rejection names its key.

use super::*;

const GOOD: &str = r#"
[daemon]
node = "host1"
log_level = "debug"

[host]
interfaces = ["swout1", "swout2", "bal1-ext"]

[[balancer]]
name = "bal1"
netns = "halb-bal1"
interfaces = ["ext", "int"]
"#;

fn invalid_key(text: &str) -> String {
    match parse(text) {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

fn parse_error(text: &str) -> String {
    match parse(text) {
        Err(ConfigError::Parse { message, .. }) => message,
        other => panic!("expected a Parse error, got {other:?}"),
    }
}

#[test]
fn good_config_validates_with_defaults() {
    let config = parse(GOOD).expect("valid");
    assert_eq!(config.node, "host1");
    assert_eq!(config.log_level, LogLevel::Debug);
    assert_eq!(config.bpffs, PathBuf::from(DEFAULT_BPFFS));
    assert_eq!(config.pin_dir(), PathBuf::from("/sys/fs/bpf/halb/host1"));
    assert_eq!(config.socket_path(), PathBuf::from("/run/halb/host1.sock"));
    let points = config.attach_points();
    assert_eq!(points.len(), 5);
    assert_eq!(points[0].role, "host");
    assert_eq!(points[0].netns, None);
    assert_eq!(points[4].role, "balancer bal1");
    assert_eq!(points[4].netns.as_deref(), Some("halb-bal1"));
    assert_eq!(points[4].interface, "int");
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let message = parse_error(&GOOD.replace("log_level", "loglevel"));
    assert!(message.contains("loglevel"), "{message}");
    let message = parse_error(&format!("{GOOD}\n[vrrp]\nvrid = 12\n"));
    assert!(message.contains("vrrp"), "{message}");
}

#[test]
fn wrong_types_and_missing_sections_are_parse_errors() {
    let message = parse_error(&GOOD.replace("node = \"host1\"", "node = 7"));
    assert!(message.contains("node"), "{message}");
    let message = parse_error("[host]\ninterfaces = [\"a\"]\n");
    assert!(message.contains("daemon"), "{message}");
}

#[test]
fn bad_values_name_their_key() {
    assert_eq!(invalid_key(&GOOD.replace("\"host1\"", "\"\"")), "daemon.node");
    assert_eq!(invalid_key(&GOOD.replace("\"host1\"", "\"a/b\"")), "daemon.node");
    assert_eq!(invalid_key(&GOOD.replace("\"host1\"", "\"..\"")), "daemon.node");
    assert_eq!(invalid_key(&GOOD.replace("\"debug\"", "\"loud\"")), "daemon.log_level");
    assert_eq!(
        invalid_key(&GOOD.replace("log_level = \"debug\"", "bpffs = \"relative/dir\"")),
        "daemon.bpffs"
    );
    assert_eq!(
        invalid_key(&GOOD.replace("\"swout2\"", "\"a-name-longer-than-15\"")),
        "host.interfaces[1]"
    );
    assert_eq!(invalid_key(&GOOD.replace("\"swout2\"", "\"swout1\"")), "host.interfaces[1]");
    assert_eq!(invalid_key(&GOOD.replace("\"int\"", "\"in t\"")), "balancer[0].interfaces[1]");
    assert_eq!(invalid_key(&GOOD.replace("\"halb-bal1\"", "\"../etc\"")), "balancer[0].netns");
    assert_eq!(invalid_key(&GOOD.replace("name = \"bal1\"", "name = \"\"")), "balancer[0].name");
}

#[test]
fn roles_must_not_overlap_and_must_do_something() {
    let twice =
        format!("{GOOD}\n[[balancer]]\nname = \"bal1\"\nnetns = \"other\"\ninterfaces = [\"x\"]\n");
    assert_eq!(invalid_key(&twice), "balancer[1].name");
    let same_ns = format!(
        "{GOOD}\n[[balancer]]\nname = \"bal2\"\nnetns = \"halb-bal1\"\ninterfaces = [\"x\"]\n"
    );
    assert_eq!(invalid_key(&same_ns), "balancer[1].netns");
    let host_ns = GOOD.replace("[host]\n", "[host]\nnetns = \"halb-bal1\"\n");
    assert_eq!(invalid_key(&host_ns), "balancer[0].netns");
    assert_eq!(invalid_key("[daemon]\nnode = \"x\"\n"), "host.interfaces");
    let many: Vec<String> = (0..=MAX_INTERFACES).map(|i| format!("\"p{i}\"")).collect();
    let too_many = format!("[daemon]\nnode = \"x\"\n[host]\ninterfaces = [{}]\n", many.join(","));
    assert_eq!(invalid_key(&too_many), "host.interfaces");
}

#[test]
fn errors_read_well() {
    let err = parse(&GOOD.replace("\"debug\"", "\"loud\"")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "config key `daemon.log_level`: \"loud\" is not one of error, warn, info, debug, trace"
    );
    let err = load(std::path::Path::new("/nonexistent/halb.toml")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/halb.toml"), "{err}");
}

#[test]
fn shipped_example_configs_validate() {
    for (name, text) in [
        ("host1", include_str!("../../examples/host1.toml")),
        ("host2", include_str!("../../examples/host2.toml")),
    ] {
        let config = parse(text).unwrap_or_else(|err| panic!("examples/{name}.toml: {err}"));
        assert_eq!(config.node, name);
        assert_eq!(config.attach_points().len(), 5);
        let balancer = &config.balancers[0];
        assert_eq!(balancer.vrrp[0].vrid, 12);
        let (_, proxy) = balancer.proxy.as_ref().expect("the lab's haproxy block");
        assert_eq!(proxy.backends[0].servers.len(), 3);
        assert_eq!(proxy.frontends[0].bind.port(), 8000);
    }
}

#[test]
fn a_config_written_back_from_its_file_types_reads_the_same() {
    for text in
        [GOOD, include_str!("../../examples/host1.toml"), include_str!("../../examples/host2.toml")]
    {
        let raw: file::ConfigFile = toml::from_str(text).expect("parses");
        let written = toml::to_string(&raw).expect("serializes");
        assert_eq!(parse(&written).expect("written config validates"), parse(text).unwrap());
    }
}

const VRRP: &str = r#"
[daemon]
node = "host1"

[[balancer]]
name = "bal1"
netns = "halb-bal1"
interfaces = ["ext", "int"]

[[balancer.vrrp]]
instance = "VI_1"
interface = "ext"
vrid = 12
priority = 150
advert_int = 1
virtual_ipaddress = ["172.16.1.254/24"]
"#;

#[test]
fn vrrp_defaults_are_the_protocol_cores() {
    use crate::vrrp::{config::DEFAULT_VERSION, Params, Version};
    let config = parse(&VRRP.replace("advert_int = 1\n", "")).expect("valid");
    let vrrp = &config.balancers[0].vrrp[0];
    let primary = "172.16.1.250".parse().unwrap();
    let vip = vrrp.virtual_addresses[0].0;
    assert_eq!(
        vrrp.params(primary),
        Params::new(vrrp.vrid, vrrp.priority, primary, vec![vip]),
        "an instance with the optional keys left out runs on the core's defaults"
    );
    assert_eq!(vrrp.version, DEFAULT_VERSION);
    assert_eq!(DEFAULT_VERSION, Version::V2, "keepalived's default");
}

#[test]
fn vrrp_instance_maps_every_key_onto_the_protocol_params() {
    use crate::vrrp::Version;
    let text = VRRP.replace(
        "advert_int = 1",
        "advert_int = 0.05\nversion = 3\npreempt = false\npreempt_delay = 7\n\
         garp_master_repeat = 3\ngarp_master_delay = 0",
    );
    let config = parse(&text).expect("valid");
    let params = config.balancers[0].vrrp[0].params("172.16.1.250".parse().unwrap());
    assert_eq!((params.vrid, params.priority, params.version), (12, 150, Version::V3));
    assert_eq!(params.advert_interval, std::time::Duration::from_millis(50));
    assert_eq!(params.primary_address, std::net::Ipv4Addr::new(172, 16, 1, 250));
    assert_eq!(params.virtual_addresses, vec![std::net::Ipv4Addr::new(172, 16, 1, 254)]);
    assert!(!params.preempt);
    assert_eq!(params.preempt_delay, Some(std::time::Duration::from_secs(7)));
    assert_eq!((params.garp_count, params.garp_repeat), (3, 0));
    assert_eq!(params.garp_delay, std::time::Duration::ZERO);
}

#[test]
fn vrrp_section_maps_keepalived_defaults() {
    let config = parse(VRRP).expect("valid");
    let vrrp = &config.balancers[0].vrrp[0];
    assert_eq!(vrrp.name, "VI_1");
    assert_eq!((vrrp.vrid, vrrp.priority), (12, 150));
    assert_eq!(vrrp.version, crate::vrrp::Version::V2, "keepalived speaks v2 by default");
    assert_eq!(vrrp.advert_interval, std::time::Duration::from_secs(1));
    assert_eq!(vrrp.virtual_addresses, vec![("172.16.1.254".parse().unwrap(), 24)]);
    assert!(vrrp.preempt && vrrp.fast_path);
    assert_eq!(vrrp.preempt_delay, None);
    assert_eq!((vrrp.garp_count, vrrp.garp_repeat), (5, 1));
    assert_eq!(vrrp.realtime_priority, Some(1), "SCHED_FIFO 1 unless told otherwise");
    let normal = parse(&VRRP.replace("advert_int = 1", "realtime_priority = 0")).unwrap();
    assert_eq!(normal.balancers[0].vrrp[0].realtime_priority, None);
    let fast = parse(&VRRP.replace("advert_int = 1", "advert_int = 0.01\nversion = 3")).unwrap();
    assert_eq!(fast.balancers[0].vrrp[0].advert_interval, std::time::Duration::from_millis(10));
    let bare = parse(&VRRP.replace("/24", "")).unwrap();
    assert_eq!(bare.balancers[0].vrrp[0].virtual_addresses[0].1, 32, "keepalived's default mask");
}

#[test]
fn vrrp_errors_name_their_key() {
    let key = |text: String| invalid_key(&text);
    assert_eq!(key(VRRP.replace("vrid = 12", "vrid = 256")), "balancer[0].vrrp[0].vrid");
    assert_eq!(key(VRRP.replace("vrid = 12", "vrid = 0")), "balancer[0].vrrp[0].vrid");
    assert_eq!(key(VRRP.replace("priority = 150", "priority = 0")), "balancer[0].vrrp[0].priority");
    assert_eq!(
        key(VRRP.replace("advert_int = 1", "advert_int = 0.5")),
        "balancer[0].vrrp[0].advert_int"
    );
    assert_eq!(
        key(VRRP.replace("advert_int = 1", "advert_int = 0.005\nversion = 3")),
        "balancer[0].vrrp[0].advert_int"
    );
    assert_eq!(key(VRRP.replace("advert_int = 1", "version = 4")), "balancer[0].vrrp[0].version");
    assert_eq!(
        key(VRRP.replace("advert_int = 1", "realtime_priority = 100")),
        "balancer[0].vrrp[0].realtime_priority"
    );
    assert_eq!(
        key(VRRP.replace("\"ext\"\nvrid", "\"eth9\"\nvrid")),
        "balancer[0].vrrp[0].interface"
    );
    assert_eq!(
        key(VRRP.replace("172.16.1.254/24", "172.16.1.254/33")),
        "balancer[0].vrrp[0].virtual_ipaddress[0]"
    );
    assert_eq!(
        key(VRRP.replace("\"172.16.1.254/24\"", "\"172.16.1.254\", \"172.16.1.254/24\"")),
        "balancer[0].vrrp[0].virtual_ipaddress[1]"
    );
    assert_eq!(
        key(VRRP.replace("[\"172.16.1.254/24\"]", "[]")),
        "balancer[0].vrrp[0].virtual_ipaddress"
    );
    let twice = format!("{VRRP}\n[[balancer.vrrp]]\ninstance = \"VI_2\"\ninterface = \"ext\"\nvrid = 12\npriority = 1\nvirtual_ipaddress = [\"10.0.0.9\"]\n");
    assert_eq!(key(twice), "balancer[0].vrrp[1].vrid");
    let message =
        parse_error(&VRRP.replace("priority = 150", "priority = 150\nstate = \"MASTER\""));
    assert!(message.contains("state"), "{message}");
}

#[test]
fn parse_errors_are_one_line_naming_line_column_and_key() {
    let message = parse_error("[daemon]\nnode = \"h\"\n[host]\nnmae = \"x\"\n");
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.starts_with("line 4, column 1 (`nmae = \"x\"`): unknown field `nmae`"),
        "{message}"
    );
}

#[test]
fn proxy_steering_is_on_where_it_can_run_and_refused_where_it_cannot() {
    let proxy =
        "\n[balancer.proxy]\n[[balancer.proxy.frontend]]\nname = \"www\"\nbind = \"*:80\"\n\
                 default_backend = \"web\"\n[[balancer.proxy.backend]]\nname = \"web\"\n";
    let with_proxy = format!("{GOOD}{proxy}");
    assert!(parse(&with_proxy).unwrap().balancers[0].proxy_steering, "default with a proxy");
    assert!(!parse(GOOD).unwrap().balancers[0].proxy_steering, "no proxy, nothing to steer");
    let off = with_proxy.replace(
        "interfaces = [\"ext\", \"int\"]",
        "interfaces = [\"ext\", \"int\"]\nproxy_steering = false",
    );
    assert!(!parse(&off).unwrap().balancers[0].proxy_steering);
    let no_proxy = GOOD.replace(
        "interfaces = [\"ext\", \"int\"]",
        "interfaces = [\"ext\", \"int\"]\nproxy_steering = true",
    );
    assert_eq!(invalid_key(&no_proxy), "balancer[0].proxy_steering");
    let no_interfaces =
        with_proxy.replace("interfaces = [\"ext\", \"int\"]", "proxy_steering = true");
    assert_eq!(invalid_key(&no_interfaces), "balancer[0].proxy_steering");
    let message = parse_error(&off.replace("proxy_steering = false", "proxy_steering = \"no\""));
    assert!(message.contains("proxy_steering"), "{message}");
}
