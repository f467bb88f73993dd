//! A hitless upgrade hands the machine to a new process through JSON: the
//! peers must not notice. bal1 (150) is master, bal2 (100) backup, `VRRPv3`
//! with 1 s adverts, as in [`super::network`].

use std::time::Duration;

use super::{params, sim::Sim, BAL1, BAL2};
use crate::vrrp::State;

const SECOND: Duration = Duration::from_secs(1);

fn lab() -> Sim {
    let mut sim = Sim::new(Duration::from_millis(1), 0, 1);
    sim.add(params(150, BAL1));
    sim.add(params(100, BAL2));
    sim.startup_all();
    sim.run_until(SECOND * 10);
    assert_eq!(sim.masters(), [0]);
    sim
}

#[test]
fn a_master_handed_over_mid_interval_keeps_its_advert_rhythm() {
    let mut sim = lab();
    let transitions = sim.log.len();
    let sent = sim.router(0).status().adverts_sent;
    sim.run_until(SECOND * 10 + Duration::from_millis(730));
    sim.hand_over(0);
    sim.run_until(SECOND * 20);
    assert_eq!(sim.log.len(), transitions, "no transition anywhere: {:?}", &sim.log[transitions..]);
    assert_eq!(sim.masters(), [0]);
    // Adverts at 10.41, 11.41, ... 19.41: the counter carried over and
    // the rhythm did not restart at the handover.
    assert_eq!(sim.router(0).status().adverts_sent, sent + 10);
    let heard = sim.last_heard(1).expect("bal2 hears adverts");
    assert!(heard >= SECOND * 19 + Duration::from_millis(400), "last advert at {heard:?}");
}

#[test]
fn a_backup_handed_over_keeps_its_master_down_timer() {
    let mut sim = lab();
    sim.run_until(SECOND * 12);
    sim.hand_over(1);
    assert_eq!(sim.state(1), State::Backup);
    sim.crash(0);
    sim.run_until(SECOND * 20);
    // bal1's last advert left at 11.41 s: bal2 takes over one
    // Master_Down_Interval (3.60 s) after it arrived, as without a handover.
    let took_over = sim.entered(1, State::Master);
    assert_eq!(took_over.len(), 1);
    let expected = Duration::from_millis(11_410 + 1 + 3_600);
    assert!(took_over[0].abs_diff(expected) <= Duration::from_millis(1), "{took_over:?}");
}
