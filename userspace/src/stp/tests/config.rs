//! Validation of bridge and port settings, and identifiers.

use std::time::Duration;

use super::{mac, params, SECOND};
use crate::stp::{
    config::{default_path_cost, legacy_path_cost},
    BridgeId, Config, PortId,
};

#[track_caller]
fn rejects(params: crate::stp::Params, field: &str, says: &str) {
    let err = Config::try_from(params).expect_err("must be rejected");
    assert_eq!(err.field, field, "{err}");
    assert!(err.to_string().contains(says), "{err} should say {says:?}");
}

#[test]
fn defaults_are_valid() {
    let config = Config::try_from(params(1, 32768, 2)).unwrap();
    assert_eq!(config.hello_time(), SECOND * 2);
    assert_eq!(config.max_age(), SECOND * 20);
    assert_eq!(config.forward_delay(), SECOND * 15);
    assert_eq!(config.bridge_id().to_string(), "8000.020000000001");
    assert_eq!(config.port_id(1), PortId(0x8002));
    assert_eq!(config.ports()[0].path_cost, 200_000);
}

#[test]
fn timers_need_range_and_relation() {
    let with = |hello: u64, max_age: u64, fwd: u64| {
        let mut p = params(1, 32768, 1);
        p.hello_time = SECOND * u32::try_from(hello).unwrap();
        p.max_age = SECOND * u32::try_from(max_age).unwrap();
        p.forward_delay = SECOND * u32::try_from(fwd).unwrap();
        p
    };
    rejects(with(3, 20, 15), "hello_time", "1-2 s");
    rejects(with(2, 41, 30), "max_age", "6-40 s");
    rejects(with(2, 20, 31), "forward_delay", "4-30 s");
    rejects(with(2, 20, 10), "max_age", "2 * (forward_delay - 1 s) >= max_age");
    // max_age >= 2 * (hello_time + 1 s) always holds within the 2004
    // ranges (hello <= 2 s, max age >= 6 s); the check stays for safety.
    assert!(Config::try_from(with(1, 6, 4)).is_ok());
    assert!(Config::try_from(with(2, 40, 30)).is_ok());
    let mut p = params(1, 32768, 1);
    p.hello_time = Duration::from_millis(1500);
    rejects(p, "hello_time", "whole seconds");
}

#[test]
fn priorities_go_in_steps() {
    rejects(params(1, 1000, 1), "priority", "multiple of 4096");
    rejects(params(1, 65535, 1), "priority", "multiple of 4096");
    assert!(Config::try_from(params(1, 61440, 1)).is_ok());
    assert!(Config::try_from(params(1, 0, 1)).is_ok());
    let mut p = params(1, 32768, 2);
    p.ports[1].priority = 100;
    rejects(p, "ports[1].priority", "multiple of 16");
    let mut p = params(1, 32768, 2);
    p.ports[1].priority = 0;
    assert!(Config::try_from(p).is_ok());
}

#[test]
fn ports_are_checked_by_index() {
    let mut p = params(1, 32768, 2);
    p.ports[1].number = 1;
    rejects(p, "ports[1].number", "used twice");
    let mut p = params(1, 32768, 2);
    p.ports[0].number = 4096;
    rejects(p, "ports[0].number", "1-4095");
    let mut p = params(1, 32768, 2);
    p.ports[0].path_cost = 0;
    rejects(p, "ports[0].path_cost", "1-200000000");
    rejects(params(1, 32768, 0), "ports", "at least one");
    let mut p = params(1, 32768, 1);
    p.mac = [1, 0, 0, 0, 0, 1];
    rejects(p, "mac", "unicast");
    let mut p = params(1, 32768, 1);
    p.tx_hold_count = 11;
    rejects(p, "tx_hold_count", "1-10");
}

#[test]
fn path_costs_follow_the_tables() {
    // 802.1D-2004 Table 17-3.
    for (speed, cost) in [
        (0, 20_000_000),
        (10, 2_000_000),
        (100, 200_000),
        (1_000, 20_000),
        (10_000, 2_000),
        (100_000, 200),
        (1_000_000, 20),
        (10_000_000, 2),
        (100_000_000, 1),
    ] {
        assert_eq!(default_path_cost(speed), cost, "{speed} Mb/s");
    }
    assert_eq!(legacy_path_cost(10), 100);
    assert_eq!(legacy_path_cost(100), 19);
    assert_eq!(legacy_path_cost(1000), 4);
}

#[test]
fn identifiers_order_like_the_standard() {
    let low_priority = BridgeId::new(4096, mac(9));
    let high_priority = BridgeId::new(32768, mac(1));
    assert!(low_priority < high_priority, "priority first");
    assert!(BridgeId::new(32768, mac(1)) < BridgeId::new(32768, mac(2)), "then address");
    assert_eq!(low_priority.mac(), mac(9));
    assert_eq!(low_priority.priority(), 4096);
    assert!(PortId::new(16, 9) < PortId::new(128, 1));
    assert_eq!(PortId::new(240, 0x0fff), PortId(0xffff));
    assert_eq!(PortId::new(128, 12).to_string(), "8.00c");
}
