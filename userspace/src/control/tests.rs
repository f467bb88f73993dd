//! The JSON the lab and benches read (`halb ... --json`): these tests fail
//! if a field is renamed, added or dropped, or a reply changes its tag.

use serde_json::Value;

use super::{
    stp::{StpPortReport, StpReport},
    vrrp::VrrpReport,
    DaemonStatus, Response,
};

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> =
        value.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

fn sorted(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names
}

#[test]
fn a_vrrp_reply_keeps_its_tag_and_fields() {
    let json = serde_json::to_value(Response::Vrrp(vec![VrrpReport::default()])).unwrap();
    let report = &json["vrrp"][0];
    assert_eq!(
        keys(report),
        sorted(vec![
            "instance",
            "balancer",
            "interface",
            "vrid",
            "version",
            "state",
            "primary_address",
            "virtual_addresses",
            "configured_priority",
            "effective_priority",
            "master_address",
            "master_priority",
            "last_advert_age_secs",
            "advert_interval_ms",
            "master_down_interval_ms",
            "transitions",
            "last_reason",
            "history",
            "adverts_sent",
            "adverts_received",
            "adverts_discarded",
            "invalid_packets",
            "errors",
            "fast_path",
        ])
    );
}

#[test]
fn an_stp_reply_keeps_its_tag_and_fields() {
    let report = StpReport { ports: vec![StpPortReport::default()], ..StpReport::default() };
    let json = serde_json::to_value(Response::Stp(vec![report])).unwrap();
    let bridge = &json["stp"][0];
    assert_eq!(
        keys(bridge),
        sorted(vec![
            "bridge",
            "state",
            "protocol",
            "bridge_id",
            "root_id",
            "root_port",
            "root_path_cost",
            "hello_time_secs",
            "max_age_secs",
            "forward_delay_secs",
            "root_max_age_secs",
            "root_forward_delay_secs",
            "topology_change",
            "topology_change_count",
            "time_since_topology_change_secs",
            "kernel_stp_state_before",
            "ports",
            "history",
            "errors",
        ])
    );
    assert_eq!(
        keys(&bridge["ports"][0]),
        sorted(vec![
            "name",
            "ifindex",
            "port_id",
            "link_up",
            "role",
            "state",
            "path_cost",
            "designated_root",
            "designated_cost",
            "designated_bridge",
            "designated_port",
            "admin_edge",
            "oper_edge",
            "point_to_point",
            "mode",
            "bpdu_guard_tripped",
            "root_inconsistent",
            "topology_change",
            "bpdus_in",
            "bpdus_out",
            "bpdus_ignored",
            "bpdus_malformed",
            "datapath",
        ])
    );
}

#[test]
fn status_reload_and_error_replies_keep_their_tags() {
    let status = serde_json::to_value(Response::Status(Box::default())).unwrap();
    assert_eq!(
        keys(&status["status"]),
        sorted(vec![
            "node",
            "pid",
            "config",
            "started_unix_secs",
            "pin_dir",
            "pinned_maps",
            "programs",
            "ports",
            "steering",
        ])
    );
    let reloaded = Response::Reloaded { attached: vec!["a".into()], detached: Vec::new() };
    assert_eq!(
        serde_json::to_string(&reloaded).unwrap(),
        r#"{"reloaded":{"attached":["a"],"detached":[]}}"#
    );
    assert_eq!(serde_json::to_string(&Response::Error("no".into())).unwrap(), r#"{"error":"no"}"#);
    let _: DaemonStatus = serde_json::from_value(status["status"].clone()).unwrap();
}
