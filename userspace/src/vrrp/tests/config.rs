//! Validation of [`Params`] into [`Config`].

use std::time::Duration;

use super::{ms, params, BAL1, VIP};
use crate::vrrp::{Config, ConfigError, Params, Version};

fn check(params: Params) -> Result<Config, ConfigError> {
    Config::try_from(params)
}

fn field_of(params: Params) -> &'static str {
    check(params).expect_err("should be rejected").field
}

#[test]
fn defaults_are_valid() {
    let config = check(params(100, BAL1)).unwrap();
    assert_eq!(config.version(), Version::V3);
    assert_eq!(config.advert_interval(), Duration::from_secs(1));
    assert!(config.preempt());
    assert_eq!(config.preempt_delay(), None);
    assert_eq!((config.garp_count(), config.garp_repeat()), (5, 1));
    assert_eq!(config.garp_delay(), Duration::from_secs(5));
}

#[test]
fn rejects_zero_vrid_and_priority() {
    assert_eq!(field_of(Params { vrid: 0, ..params(100, BAL1) }), "vrid");
    assert_eq!(field_of(params(0, BAL1)), "priority");
}

#[test]
fn interval_units_follow_the_version() {
    let v2 =
        |interval| Params { version: Version::V2, advert_interval: interval, ..params(100, BAL1) };
    let v3 = |interval| Params { advert_interval: interval, ..params(100, BAL1) };
    assert!(check(v2(Duration::from_secs(3))).is_ok());
    assert_eq!(field_of(v2(ms(1_500))), "advert_interval");
    assert_eq!(field_of(v2(Duration::from_secs(256))), "advert_interval");
    assert!(check(v3(ms(1_500))).is_ok());
    assert!(check(v3(ms(10))).is_ok());
    assert_eq!(field_of(v3(ms(5))), "advert_interval");
    assert_eq!(field_of(v3(ms(41_000))), "advert_interval");
    assert_eq!(field_of(v3(Duration::ZERO)), "advert_interval");
}

#[test]
fn address_checks() {
    assert_eq!(
        field_of(Params { virtual_addresses: vec![], ..params(100, BAL1) }),
        "virtual_addresses"
    );
    assert_eq!(
        field_of(Params { virtual_addresses: vec![VIP, VIP], ..params(100, BAL1) }),
        "virtual_addresses"
    );
    assert_eq!(
        field_of(Params { primary_address: "224.0.0.18".parse().unwrap(), ..params(100, BAL1) }),
        "primary_address"
    );
    // Owning the virtual address requires priority 255, and allows it.
    let owner = Params { virtual_addresses: vec![BAL1], ..params(100, BAL1) };
    assert_eq!(field_of(owner.clone()), "priority");
    assert!(check(Params { priority: 255, ..owner }).unwrap().is_owner());
}

#[test]
fn delays_and_garp() {
    let too_long = Params { preempt_delay: Some(Duration::from_secs(1001)), ..params(100, BAL1) };
    assert_eq!(field_of(too_long), "preempt_delay");
    let zero = check(Params { preempt_delay: Some(Duration::ZERO), ..params(100, BAL1) }).unwrap();
    assert_eq!(zero.preempt_delay(), None, "zero delay means none");
    assert_eq!(field_of(Params { garp_count: 101, ..params(100, BAL1) }), "garp_count");
    assert_eq!(field_of(Params { garp_delay: Duration::ZERO, ..params(100, BAL1) }), "garp_delay");
}

#[test]
fn owner_always_preempts() {
    let owner = Params { preempt: false, ..params(255, BAL1) };
    assert!(check(owner).unwrap().preempt());
}

#[test]
fn error_names_field_and_reason() {
    let error = check(Params { vrid: 0, ..params(100, BAL1) }).unwrap_err();
    assert_eq!(error.to_string(), "vrrp `vrid`: must be 1-255, got 0");
}
