//! Master state (RFC 5798 §6.4.3): adverts, yielding, gratuitous ARPs.

use super::{machine::*, *};
use crate::vrrp::*;

#[test]
fn master_advertises_every_interval() {
    let t0 = origin();
    let (mut r, at) = master(t0, params(100, BAL1));
    for n in 1..=3 {
        let due = at + SECOND * n;
        assert_eq!(r.poll_timeout(), Some(due));
        r.handle_timeout(due);
        assert_eq!(sent_priorities(&drain(&mut r)), [100]);
    }
    assert_eq!(r.status().adverts_sent, 4);
}

#[test]
fn master_yields_to_higher_priority() {
    let t0 = origin();
    let (mut r, at) = master(t0, params(100, BAL1));
    let now = at + ms(300);
    assert_eq!(r.handle_advert(now, BAL2, &advert(200)), Verdict::Accepted);
    let reason = Reason::HigherPriority { from: BAL2, priority: 200 };
    assert_eq!(reason.to_string(), "higher priority advert from 172.16.1.251 prio 200");
    assert_eq!(
        drain(&mut r),
        [transition(now, State::Master, State::Backup, reason), Action::RemoveAddresses(vec![VIP]),]
    );
    assert_eq!(r.poll_timeout(), Some(now + ms(3_600)));
}

#[test]
fn master_equal_priority_yields_only_to_higher_address() {
    let t0 = origin();
    let (mut r, at) = master(t0, params(100, BAL1));
    assert!(matches!(r.handle_advert(at, LOWER, &advert(100)), Verdict::Discarded(_)));
    assert_eq!(r.state(), State::Master);
    r.handle_advert(at, BAL2, &advert(100));
    assert_eq!(r.state(), State::Backup);
    let reason = Reason::HigherAddress { from: BAL2, priority: 100 };
    assert_eq!(r.status().last_transition, Some((at, reason)));
}

#[test]
fn master_discards_lower_priority_and_reasserts_at_most_once_a_second() {
    let t0 = origin();
    let (mut r, at) = master(t0, params(150, BAL1));
    assert_eq!(
        r.handle_advert(at, BAL2, &advert(100)),
        Verdict::Discarded(Discard::LowerPriority { from: BAL2, priority: 100 })
    );
    // Clients may have learnt the other router's MAC: advert and ARPs now.
    assert_eq!(
        drain(&mut r),
        [Action::SendAdvert(advert(150)), Action::SendGratuitousArp { count: 5 }]
    );
    assert_eq!(r.poll_timeout(), Some(at + SECOND), "advert timer restarted");
    assert_eq!(r.state(), State::Master);
    r.handle_advert(at + ms(500), BAL2, &advert(100));
    assert!(drain(&mut r).is_empty(), "rate limited");
    r.handle_advert(at + ms(1_000), BAL2, &advert(100));
    assert_eq!(drain(&mut r).len(), 2, "again after a second");
    assert_eq!(r.status().adverts_discarded, 3);
}

#[test]
fn master_answers_priority_zero_at_once() {
    let t0 = origin();
    let (mut r, at) = master(t0, params(150, BAL1));
    let now = at + ms(400);
    r.handle_advert(now, BAL2, &advert(0));
    assert_eq!(drain(&mut r), [Action::SendAdvert(advert(150))]);
    assert_eq!(r.poll_timeout(), Some(now + SECOND), "Adver_Timer reset");
}

#[test]
fn master_next_advert_carries_new_priority() {
    let t0 = origin();
    let (mut r, at) = master(t0, params(150, BAL1));
    r.set_priority_offset(at + ms(100), -60);
    assert!(drain(&mut r).is_empty(), "no advert before the timer");
    assert_eq!(r.status().master, Some(KnownMaster { address: BAL1, priority: 90 }));
    r.handle_timeout(at + SECOND);
    assert_eq!(sent_priorities(&drain(&mut r)), [90]);
    // Now 90 < 100: an advert at 100 wins.
    r.handle_advert(at + ms(1_100), BAL2, &advert(100));
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn gratuitous_arp_bursts_repeat_after_delay() {
    let t0 = origin();
    let p = Params { garp_count: 3, garp_repeat: 2, garp_delay: ms(2_500), ..params(150, BAL1) };
    let mut r = backup(t0, p);
    let at = t0 + ms(3_410);
    r.handle_timeout(at);
    let garps = |actions: &[Action]| {
        actions.iter().filter(|a| **a == Action::SendGratuitousArp { count: 3 }).count()
    };
    assert_eq!(garps(&drain(&mut r)), 1);
    // Run the master's timers for 10 s and note when bursts come.
    let mut bursts = vec![];
    while let Some(due) = r.poll_timeout().filter(|due| *due <= at + SECOND * 10) {
        r.handle_timeout(due);
        if garps(&drain(&mut r)) > 0 {
            bursts.push(due - at);
        }
    }
    assert_eq!(bursts, [ms(2_500), ms(5_000)]);
}
