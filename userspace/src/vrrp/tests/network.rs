//! Multi-router scenarios on the simulated network, with the times the RFC
//! predicts. Unless a test says otherwise: `VRRPv3`, 1 s adverts, 1 ms
//! latency, no loss; bal1 = 172.16.1.250 prio 150, bal2 = 172.16.1.251
//! prio 100. So bal1's `Master_Down_Interval` is 3.41 s (skew 41 cs) and
//! bal2's is 3.60 s (skew 60 cs).

use std::time::Duration;

use super::{assert_near, ms, params, sim::Sim, BAL1, BAL2, BAL3};
use crate::vrrp::{timers::master_down_interval, Params, Reason, State, Version};

const SECOND: Duration = Duration::from_secs(1);
const LATENCY: Duration = Duration::from_millis(1);

/// bal1 (150) and bal2 (100), both started at 0 and run to 10 s: bal1 is
/// master from 3.41 s, with adverts at 3.41 + n s.
fn lab(bal1: Params, bal2: Params) -> Sim {
    let mut sim = Sim::new(LATENCY, 0, 1);
    sim.add(bal1);
    sim.add(bal2);
    sim.startup_all();
    sim.run_until(SECOND * 10);
    assert_eq!(sim.masters(), [0]);
    sim
}

fn lab_default() -> Sim {
    lab(params(150, BAL1), params(100, BAL2))
}

fn last_reason(sim: &Sim, node: usize, to: State) -> Reason {
    sim.last_entry(node, to).expect("transition happened").reason.clone()
}

#[test]
fn initial_election_highest_priority_wins() {
    let mut sim = lab_default();
    sim.run_until(SECOND * 30);
    assert_eq!(sim.masters(), [0]);
    assert_eq!(sim.entered(0, State::Master), [ms(3_410)]);
    assert!(sim.entered(1, State::Master).is_empty());
    assert_eq!(sim.longest_multi_master, Duration::ZERO);
    assert_eq!(last_reason(&sim, 0, State::Master), Reason::MasterDown { last: None });
}

#[test]
fn initial_election_three_routers() {
    let mut sim = Sim::new(LATENCY, 0, 1);
    sim.add(params(100, BAL1));
    sim.add(params(200, BAL2));
    sim.add(params(150, BAL3));
    sim.startup_all();
    sim.run_until(SECOND * 30);
    assert_eq!(sim.masters(), [1]);
    // 3 s + 56 * 100 / 256 (21 cs).
    assert_eq!(sim.entered(1, State::Master), [ms(3_210)]);
    assert_eq!(sim.longest_multi_master, Duration::ZERO);
}

#[test]
fn equal_priority_simultaneous_start_highest_address_wins() {
    let mut sim = Sim::new(LATENCY, 0, 1);
    sim.add(params(100, BAL1));
    sim.add(params(100, BAL2));
    sim.startup_all();
    sim.run_until(SECOND * 30);
    assert_eq!(sim.masters(), [1]);
    // Both time out at 3.6 s; bal1 yields when bal2's first advert lands.
    assert_eq!(sim.entered(0, State::Master), [ms(3_600)]);
    assert_eq!(sim.entered(0, State::Backup), [ms(0), ms(3_601)]);
    assert_eq!(
        last_reason(&sim, 0, State::Backup),
        Reason::HigherAddress { from: BAL2, priority: 100 }
    );
    assert_eq!(sim.longest_multi_master, LATENCY);
}

#[test]
fn equal_priority_late_start_keeps_the_first_master() {
    // As between two keepalived routers: the Backup with the higher address
    // does not preempt an equal-priority master that is already up.
    let mut sim = Sim::new(LATENCY, 0, 1);
    sim.add(params(100, BAL1));
    sim.add(params(100, BAL2));
    sim.startup(0);
    sim.run_until(SECOND * 10);
    assert_eq!(sim.masters(), [0]);
    sim.startup(1);
    sim.run_until(SECOND * 30);
    assert_eq!(sim.masters(), [0]);
    assert!(sim.entered(1, State::Master).is_empty());
    assert_eq!(sim.longest_multi_master, std::time::Duration::ZERO);
}

#[test]
fn master_failure_takeover_after_master_down_interval() {
    let mut sim = lab_default();
    sim.run_until(ms(20_500));
    sim.crash(0);
    sim.run_until(SECOND * 30);
    assert_eq!(sim.masters(), [1]);
    // bal1's last advert left at 20.41 s and landed at 20.411 s.
    let heard = sim.last_heard(1).unwrap();
    assert_eq!(heard, ms(20_411));
    let takeover = sim.entered(1, State::Master)[0];
    assert_near(takeover, heard + master_down_interval(Version::V3, 100, SECOND));
    assert_eq!(takeover, ms(24_011));
    assert_eq!(
        last_reason(&sim, 1, State::Master).to_string(),
        "master down timer expired (last advert 3.60 s ago from 172.16.1.250 prio 150)"
    );
}

#[test]
fn keepalived_lab_v2_failover() {
    let v2 = |p: Params| Params { version: Version::V2, ..p };
    let mut sim = lab(v2(params(150, BAL1)), v2(params(100, BAL2)));
    // 3 s + 106/256 s.
    assert_eq!(sim.entered(0, State::Master), [Duration::from_nanos(3_414_062_500)]);
    sim.run_until(ms(20_500));
    sim.crash(0);
    sim.run_until(SECOND * 30);
    let takeover = sim.entered(1, State::Master)[0];
    let mdi = Duration::from_micros(3_609_375); // 3 s + 156/256 s
    assert_eq!(master_down_interval(Version::V2, 100, SECOND), mdi);
    assert_near(takeover, sim.last_heard(1).unwrap() + mdi);
    assert_eq!(
        last_reason(&sim, 1, State::Master).to_string(),
        "master down timer expired (last advert 3.61 s ago from 172.16.1.250 prio 150)"
    );
}

#[test]
fn graceful_shutdown_takeover_after_skew_time() {
    let mut sim = lab_default();
    sim.run_until(ms(20_500));
    sim.shutdown(0);
    assert_eq!(sim.state(0), State::Initialize);
    sim.run_until(SECOND * 30);
    // Priority 0 lands at 20.501 s; bal2 waits Skew_Time (0.6 s).
    assert_eq!(sim.entered(1, State::Master), [ms(21_101)]);
    assert_eq!(
        last_reason(&sim, 1, State::Master).to_string(),
        "priority 0 from master 172.16.1.250"
    );
    assert_eq!(sim.longest_multi_master, Duration::ZERO);
}

/// bal1 crashes at 20.5 s (bal2 master at 24.011 s, adverts landing at
/// x.012 s) and comes back at 30 s.
fn crash_and_recover(bal1: Params) -> Sim {
    let mut sim = lab(bal1, params(100, BAL2));
    sim.run_until(ms(20_500));
    sim.crash(0);
    sim.run_until(SECOND * 30);
    assert_eq!(sim.entered(1, State::Master), [ms(24_011)]);
    sim.restart(0);
    sim
}

#[test]
fn recovered_master_preempts() {
    let mut sim = crash_and_recover(params(150, BAL1));
    sim.run_until(SECOND * 60);
    assert_eq!(sim.masters(), [0]);
    // Started at 30 s, discards bal2's adverts, timer runs out at 33.41 s.
    assert_eq!(sim.entered(0, State::Master).last(), Some(&ms(33_410)));
    assert_eq!(
        last_reason(&sim, 0, State::Master).to_string(),
        "preempting lower priority master 172.16.1.251 prio 100"
    );
    assert_eq!(sim.entered(1, State::Backup).last(), Some(&ms(33_411)));
    assert_eq!(sim.longest_multi_master, LATENCY);
}

#[test]
fn no_preemption_with_preempt_off() {
    let mut sim = crash_and_recover(Params { preempt: false, ..params(150, BAL1) });
    sim.run_until(SECOND * 120);
    assert_eq!(sim.masters(), [1]);
    assert_eq!(sim.state(0), State::Backup);
    assert_eq!(sim.entered(0, State::Master), [ms(3_410)], "only before the crash");
}

#[test]
fn preempt_delay_postpones_preemption() {
    let mut sim =
        crash_and_recover(Params { preempt_delay: Some(SECOND * 10), ..params(150, BAL1) });
    sim.run_until(ms(42_000));
    assert_eq!(sim.masters(), [1], "still following bal2 during the delay");
    sim.run_until(SECOND * 60);
    assert_eq!(sim.masters(), [0]);
    // Delay ends at 40 s; last accepted advert landed at 39.012 s; + 3.41 s.
    assert_eq!(sim.entered(0, State::Master).last(), Some(&ms(42_422)));
    assert_eq!(
        last_reason(&sim, 0, State::Master),
        Reason::PreemptLowerPriority { master: BAL2, priority: 100 }
    );
}

#[test]
fn interface_down_and_up_fails_over_and_back() {
    let mut sim = lab_default();
    sim.run_until(ms(20_500));
    sim.link_down(0);
    assert_eq!(sim.state(0), State::Fault);
    sim.run_until(SECOND * 30);
    assert_eq!(sim.masters(), [1]);
    assert_eq!(sim.entered(1, State::Master), [ms(24_011)]);
    sim.link_up(0);
    sim.run_until(SECOND * 60);
    assert_eq!(sim.masters(), [0]);
    let bal1: Vec<(Duration, State, String)> = (sim.log.iter())
        .filter(|e| e.node == 0)
        .map(|e| (e.at, e.to, e.reason.to_string()))
        .collect();
    assert_eq!(
        bal1,
        [
            (ms(0), State::Backup, "startup".to_owned()),
            (ms(3_410), State::Master, "master down timer expired (no advert heard)".to_owned()),
            (ms(20_500), State::Fault, "interface down".to_owned()),
            (ms(30_000), State::Backup, "interface up".to_owned()),
            (
                ms(33_410),
                State::Master,
                "preempting lower priority master 172.16.1.251 prio 100".to_owned()
            ),
        ]
    );
}

#[test]
fn priority_tracking_moves_the_master() {
    let mut sim = lab_default();
    sim.run_until(ms(20_500));
    sim.set_priority_offset(0, -60); // 150 -> 90
    sim.run_until(SECOND * 30);
    assert_eq!(sim.masters(), [1]);
    // bal2 last accepted bal1 at 20.411 s; 21.411 s carried 90 and was discarded.
    assert_eq!(sim.entered(1, State::Master), [ms(24_011)]);
    assert_eq!(
        last_reason(&sim, 1, State::Master),
        Reason::PreemptLowerPriority { master: BAL1, priority: 90 }
    );
    assert_eq!(
        last_reason(&sim, 0, State::Backup),
        Reason::HigherPriority { from: BAL2, priority: 100 }
    );
    assert_eq!(sim.entered(0, State::Backup).last(), Some(&ms(24_012)));

    sim.run_until(SECOND * 40);
    sim.set_priority_offset(0, 0); // back to 150
    sim.run_until(SECOND * 60);
    assert_eq!(sim.masters(), [0]);
    // The timer armed at 39.012 s used priority 90: skew 166 * 100 / 256 = 64 cs.
    assert_eq!(sim.entered(0, State::Master).last(), Some(&ms(42_652)));
    assert_eq!(sim.longest_multi_master, LATENCY);
}

#[test]
fn v3_backup_learns_the_masters_interval() {
    let fast = Params { advert_interval: ms(500), ..params(150, BAL1) };
    let mut sim = Sim::new(LATENCY, 0, 1);
    sim.add(fast);
    sim.add(params(100, BAL2));
    sim.startup_all();
    sim.run_until(SECOND * 20);
    // bal1: 3 * 0.5 s + 106 * 50 / 256 (20 cs).
    assert_eq!(sim.entered(0, State::Master), [ms(1_700)]);
    assert_eq!(sim.router(1).status().master_adver_interval, ms(500));
    assert_eq!(sim.router(1).status().master_down_interval, ms(1_800));
    sim.run_until(ms(20_300));
    sim.crash(0);
    sim.run_until(SECOND * 30);
    assert_eq!(sim.last_heard(1), Some(ms(20_201)));
    assert_eq!(sim.entered(1, State::Master), [ms(22_001)]);
    // As master bal2 advertises at its own 1 s.
    assert_eq!(sim.router(1).status().master_adver_interval, SECOND);
}

#[test]
fn v2_interval_is_configured_not_learned() {
    let v2 = |p: Params| Params { version: Version::V2, advert_interval: SECOND * 2, ..p };
    let mut sim = lab(v2(params(150, BAL1)), v2(params(100, BAL2)));
    assert_eq!(sim.entered(0, State::Master), [Duration::from_nanos(6_414_062_500)]);
    sim.run_until(SECOND * 20);
    sim.crash(0);
    sim.run_until(SECOND * 40);
    let takeover = sim.entered(1, State::Master)[0];
    assert_near(takeover, sim.last_heard(1).unwrap() + Duration::from_micros(6_609_375));
}

#[test]
fn v2_interval_mismatch_splits_the_brain() {
    // RFC 3768 §7.1: adverts with another Adver Int are discarded, so a
    // misconfigured pair ends with two masters. The test pins that down.
    let mut sim = Sim::new(LATENCY, 0, 1);
    sim.add(Params { version: Version::V2, ..params(150, BAL1) });
    sim.add(Params { version: Version::V2, advert_interval: SECOND * 2, ..params(100, BAL2) });
    sim.startup_all();
    sim.run_until(SECOND * 60);
    assert_eq!(sim.masters(), [0, 1]);
    assert!(sim.router(1).status().adverts_discarded > 0);
}

#[test]
fn steady_state_never_two_masters_longer_than_latency() {
    let latency = ms(2);
    let mut sim = Sim::new(latency, 0, 7);
    sim.add(params(150, BAL1));
    sim.add(params(100, BAL2));
    sim.add(params(100, BAL3));
    sim.startup_all();
    sim.run_until(SECOND * 20);
    assert_eq!(sim.masters(), [0]);
    sim.crash(0);
    sim.run_for(SECOND * 10);
    assert_eq!(sim.masters(), [2], "tie between bal2 and bal3 goes to the higher address");
    sim.restart(0);
    sim.run_for(SECOND * 10);
    assert_eq!(sim.masters(), [0]);
    sim.shutdown(0);
    sim.run_for(SECOND * 10);
    assert_eq!(sim.masters(), [2]);
    sim.startup(0);
    sim.link_down(2);
    sim.run_for(SECOND * 10);
    assert_eq!(sim.masters(), [0]);
    sim.link_up(2);
    sim.set_priority_offset(1, 100);
    sim.run_for(SECOND * 10);
    assert_eq!(sim.masters(), [1]);
    sim.run_for(SECOND * 100);
    assert_eq!(sim.masters(), [1]);
    assert!(sim.longest_multi_master <= latency, "{:?}", sim.longest_multi_master);
    assert!(sim.longest_multi_master < SECOND);
}

#[test]
fn lossy_network_still_converges_on_the_best_router() {
    let mut sim = Sim::new(LATENCY, 200, 42);
    sim.add(params(150, BAL1));
    sim.add(params(100, BAL2));
    sim.startup_all();
    sim.run_until(SECOND * 600);
    assert!(sim.dropped > 100, "loss is applied: {} dropped", sim.dropped);
    assert_eq!(sim.masters(), [0]);
    // Three adverts in a row lost make bal2 take over; the next advert
    // that gets through sends it back.
    let spurious = sim.entered(1, State::Master).len();
    assert!(spurious > 0, "20% loss over 600 s should cause a false takeover");
    assert!(sim.longest_multi_master <= SECOND * 3, "{:?}", sim.longest_multi_master);
}
