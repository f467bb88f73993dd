//! Backup state (RFC 5798 §6.4.2) and the checks every received advert
//! goes through.

use super::{machine::*, *};
use crate::vrrp::*;

#[test]
fn backup_without_adverts_becomes_master() {
    let t0 = origin();
    let mut r = backup(t0, params(100, BAL1));
    r.handle_timeout(t0 + ms(3_599));
    assert_eq!(r.state(), State::Backup);
    let at = t0 + ms(3_600);
    r.handle_timeout(at);
    let actions = drain(&mut r);
    let reason = Reason::MasterDown { last: None };
    assert_eq!(reason.to_string(), "master down timer expired (no advert heard)");
    assert_eq!(actions[0], transition(at, State::Backup, State::Master, reason));
    assert_eq!(sent_priorities(&actions), [100]);
    assert!(actions.contains(&Action::AddAddresses(vec![VIP])));
    assert_eq!(r.poll_timeout(), Some(at + SECOND));
}

#[test]
fn backup_resets_timer_on_higher_priority_advert() {
    let t0 = origin();
    let mut r = backup(t0, params(100, BAL1));
    assert_eq!(r.handle_advert(t0 + SECOND, BAL2, &advert(150)), Verdict::Accepted);
    assert_eq!(r.poll_timeout(), Some(t0 + ms(4_600)));
    assert_eq!(r.status().master, Some(KnownMaster { address: BAL2, priority: 150 }));
    r.handle_timeout(t0 + ms(4_600));
    let reason = Reason::MasterDown { last: Some((ms(3_600), BAL2, 150)) };
    assert_eq!(
        reason.to_string(),
        "master down timer expired (last advert 3.60 s ago from 172.16.1.251 prio 150)"
    );
    assert_eq!(drain(&mut r)[0], transition(t0 + ms(4_600), State::Backup, State::Master, reason));
}

#[test]
fn backup_priority_zero_waits_skew_time() {
    let t0 = origin();
    let mut r = backup(t0, params(100, BAL1));
    r.handle_advert(t0 + SECOND, BAL2, &advert(150));
    assert_eq!(r.handle_advert(t0 + ms(1_500), BAL2, &advert(0)), Verdict::Accepted);
    assert_eq!(r.poll_timeout(), Some(t0 + ms(2_100)), "Skew_Time 0.6 s");
    assert_eq!(r.status().master, None);
    r.handle_timeout(t0 + ms(2_100));
    let reason = Reason::MasterResigned { master: BAL2 };
    assert_eq!(reason.to_string(), "priority 0 from master 172.16.1.251");
    assert_eq!(drain(&mut r)[0], transition(t0 + ms(2_100), State::Backup, State::Master, reason));
}

#[test]
fn backup_learns_master_adver_interval_in_v3() {
    let t0 = origin();
    let mut r = backup(t0, params(100, BAL1));
    let fast = Advertisement { interval: ms(500), ..advert(150) };
    r.handle_advert(t0, BAL2, &fast);
    assert_eq!(r.status().master_adver_interval, ms(500));
    // 3 * 50 cs + 156 * 50 / 256 (30 cs) = 1.8 s.
    assert_eq!(r.poll_timeout(), Some(t0 + ms(1_800)));
    assert_eq!(r.status().master_down_interval, ms(1_800));
}

#[test]
fn backup_with_preempt_discards_lower_priority_then_preempts() {
    let t0 = origin();
    let mut r = backup(t0, params(150, BAL1));
    assert_eq!(r.poll_timeout(), Some(t0 + ms(3_410)));
    assert_eq!(
        r.handle_advert(t0 + SECOND, BAL2, &advert(100)),
        Verdict::Discarded(Discard::LowerPriority { from: BAL2, priority: 100 })
    );
    assert_eq!(r.poll_timeout(), Some(t0 + ms(3_410)), "timer not reset");
    r.handle_timeout(t0 + ms(3_410));
    let reason = Reason::PreemptLowerPriority { master: BAL2, priority: 100 };
    assert_eq!(reason.to_string(), "preempting lower priority master 172.16.1.251 prio 100");
    assert_eq!(drain(&mut r)[0], transition(t0 + ms(3_410), State::Backup, State::Master, reason));
}

#[test]
fn backup_without_preempt_follows_lower_priority() {
    let t0 = origin();
    let mut r = backup(t0, Params { preempt: false, ..params(150, BAL1) });
    assert_eq!(r.handle_advert(t0 + SECOND, BAL2, &advert(100)), Verdict::Accepted);
    assert_eq!(r.poll_timeout(), Some(t0 + ms(4_410)));
}

#[test]
fn backup_accepts_equal_priority_from_any_address() {
    // RFC 5798 6.4.2, as keepalived: priority >= ours resets the timer, so a
    // Backup never preempts an equal-priority master, whatever its address.
    let t0 = origin();
    let mut r = backup(t0, params(100, BAL1));
    assert_eq!(r.handle_advert(t0 + SECOND, LOWER, &advert(100)), Verdict::Accepted);
    assert_eq!(r.poll_timeout(), Some(t0 + SECOND + ms(3_600)), "timer reset by the equal advert");
    assert_eq!(r.handle_advert(t0 + ms(3_000), LOWER, &advert(100)), Verdict::Accepted);
    r.handle_timeout(t0 + ms(4_600));
    assert_eq!(r.state(), State::Backup, "no takeover while the equal master advertises");
    assert!(drain(&mut r).is_empty());
}

#[test]
fn backup_skew_follows_effective_priority() {
    let t0 = origin();
    let mut r = backup(t0, params(100, BAL1));
    r.set_priority_offset(t0, 50);
    r.handle_advert(t0 + SECOND, BAL2, &advert(200));
    // 3 s + 106 * 100 / 256 (41 cs).
    assert_eq!(r.poll_timeout(), Some(t0 + ms(4_410)));
}

#[test]
fn preempt_delay_follows_lower_master_until_it_ends() {
    let t0 = origin();
    let p = Params { preempt_delay: Some(SECOND * 10), ..params(150, BAL1) };
    let mut r = backup(t0, p);
    for n in 1..=10 {
        let now = t0 + ms(500) + SECOND * (n - 1);
        assert_eq!(r.handle_advert(now, BAL2, &advert(100)), Verdict::Accepted, "at {n}");
    }
    // 10.5 s: the delay is over, adverts at 100 are now discarded.
    assert!(matches!(r.handle_advert(t0 + ms(10_500), BAL2, &advert(100)), Verdict::Discarded(_)));
    // Timer last reset at 9.5 s: takeover at 9.5 + 3.41 s.
    assert_eq!(r.poll_timeout(), Some(t0 + ms(12_910)));
    r.handle_timeout(t0 + ms(12_910));
    assert_eq!(r.state(), State::Master);
    assert_eq!(
        r.status().last_transition.map(|(_, reason)| reason),
        Some(Reason::PreemptLowerPriority { master: BAL2, priority: 100 })
    );
}

#[test]
fn v2_discards_mismatched_interval_and_keeps_its_own() {
    let t0 = origin();
    let mut r = backup(t0, Params { version: Version::V2, ..params(100, BAL1) });
    // v2: 3 * 1 s + 156/256 s.
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_micros(3_609_375)));
    let v2 = Advertisement { version: Version::V2, ..advert(150) };
    let slow = Advertisement { interval: SECOND * 2, ..v2.clone() };
    assert_eq!(
        r.handle_advert(t0, BAL2, &slow),
        Verdict::Discarded(Discard::IntervalMismatch { got: SECOND * 2, want: SECOND })
    );
    assert_eq!(r.handle_advert(t0 + SECOND, BAL2, &v2), Verdict::Accepted);
    assert_eq!(r.status().master_adver_interval, SECOND);
}

#[test]
fn discards_other_vrid_version_and_own_adverts() {
    let t0 = origin();
    let mut r = backup(t0, params(100, BAL1));
    let other = Advertisement { vrid: 13, ..advert(200) };
    assert_eq!(r.handle_advert(t0, BAL2, &other), Verdict::Discarded(Discard::OtherVrid(13)));
    let v2 = Advertisement { version: Version::V2, ..advert(200) };
    assert_eq!(
        r.handle_advert(t0, BAL2, &v2),
        Verdict::Discarded(Discard::OtherVersion { got: Version::V2, want: Version::V3 })
    );
    assert_eq!(r.handle_advert(t0, BAL1, &advert(200)), Verdict::Discarded(Discard::OwnAdvert));
    assert_eq!(r.poll_timeout(), Some(t0 + ms(3_600)), "none of them reset the timer");
    assert_eq!(r.status().adverts_discarded, 3);
}

#[test]
fn address_list_mismatch_is_counted_not_dropped() {
    let t0 = origin();
    let mut r = backup(t0, params(100, BAL1));
    let other = Advertisement { addresses: vec![Ipv4Addr::new(172, 16, 1, 253)], ..advert(150) };
    assert_eq!(r.handle_advert(t0, BAL2, &other), Verdict::Accepted);
    assert_eq!(r.status().address_list_mismatches, 1);
}
