//! Startup, shutdown, interface up/down, priority tracking and status.

use super::{machine::*, *};
use crate::vrrp::*;

#[test]
fn startup_non_owner_goes_backup() {
    let t0 = origin();
    let mut r = router(params(100, BAL1));
    assert_eq!(r.poll_timeout(), None);
    r.startup(t0);
    assert_eq!(drain(&mut r), [transition(t0, State::Initialize, State::Backup, Reason::Startup)]);
    // 3 * 1 s + (156 * 100 cs / 256 = 60 cs).
    assert_eq!(r.poll_timeout(), Some(t0 + ms(3_600)));
    r.startup(t0 + SECOND);
    assert!(drain(&mut r).is_empty(), "a second startup is ignored");
}

#[test]
fn startup_owner_goes_master() {
    let t0 = origin();
    let mut r = router(Params { virtual_addresses: vec![BAL1], ..params(255, BAL1) });
    r.startup(t0);
    let actions = drain(&mut r);
    assert_eq!(
        actions,
        [
            transition(t0, State::Initialize, State::Master, Reason::StartupAsOwner),
            Action::SendAdvert(Advertisement {
                priority: 255,
                addresses: vec![BAL1],
                ..advert(255)
            }),
            Action::AddAddresses(vec![BAL1]),
            Action::SendGratuitousArp { count: 5 },
        ]
    );
    assert_eq!(r.poll_timeout(), Some(t0 + SECOND));
    assert_eq!(Reason::StartupAsOwner.to_string(), "startup as address owner");
}

#[test]
fn master_shutdown_resigns_with_priority_zero() {
    let t0 = origin();
    let (mut r, at) = master(t0, params(150, BAL1));
    r.shutdown(at);
    assert_eq!(
        drain(&mut r),
        [
            transition(at, State::Master, State::Initialize, Reason::Shutdown),
            Action::SendAdvert(advert(0)),
            Action::RemoveAddresses(vec![VIP]),
        ]
    );
    assert_eq!(r.poll_timeout(), None);
    assert!(matches!(r.handle_advert(at, BAL2, &advert(100)), Verdict::Discarded(_)));
}

#[test]
fn backup_shutdown_sends_nothing() {
    let t0 = origin();
    let mut r = backup(t0, params(100, BAL1));
    r.shutdown(t0);
    assert_eq!(drain(&mut r), [transition(t0, State::Backup, State::Initialize, Reason::Shutdown)]);
    assert_eq!(r.poll_timeout(), None);
    r.shutdown(t0);
    assert!(drain(&mut r).is_empty());
}

#[test]
fn interface_down_master_goes_fault_silently() {
    let t0 = origin();
    let (mut r, at) = master(t0, params(150, BAL1));
    r.interface_down(at);
    assert_eq!(
        drain(&mut r),
        [
            transition(at, State::Master, State::Fault, Reason::InterfaceDown),
            Action::RemoveAddresses(vec![VIP]),
        ]
    );
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(
        r.handle_advert(at, BAL2, &advert(100)),
        Verdict::Discarded(Discard::NotRunning(State::Fault))
    );
    let up = at + SECOND;
    r.interface_up(up);
    assert_eq!(drain(&mut r), [transition(up, State::Fault, State::Backup, Reason::InterfaceUp)]);
    assert_eq!(r.poll_timeout(), Some(up + ms(3_410)));
}

#[test]
fn startup_with_interface_down_goes_fault() {
    let t0 = origin();
    let mut r = router(params(100, BAL1));
    r.interface_down(t0);
    assert!(drain(&mut r).is_empty(), "nothing happens before startup");
    r.startup(t0);
    assert_eq!(
        drain(&mut r),
        [transition(t0, State::Initialize, State::Fault, Reason::InterfaceDown)]
    );
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn owner_interface_up_goes_straight_to_master() {
    let t0 = origin();
    let mut r = router(Params { virtual_addresses: vec![BAL1], ..params(255, BAL1) });
    r.startup(t0);
    r.interface_down(t0 + SECOND);
    drain(&mut r);
    r.interface_up(t0 + SECOND * 2);
    let actions = drain(&mut r);
    assert_eq!(
        actions[0],
        transition(t0 + SECOND * 2, State::Fault, State::Master, Reason::InterfaceUp)
    );
    assert_eq!(sent_priorities(&actions), [255]);
}

#[test]
fn priority_offset_is_clamped_and_owner_is_fixed() {
    let t0 = origin();
    let mut r = router(params(100, BAL1));
    r.set_priority_offset(t0, 200);
    assert_eq!(r.effective_priority(), 254);
    r.set_priority_offset(t0, -200);
    assert_eq!(r.effective_priority(), 1);
    r.set_priority_offset(t0, -30);
    assert_eq!(r.effective_priority(), 70);
    assert_eq!(r.status().configured_priority, 100);
    let mut owner = router(Params { virtual_addresses: vec![BAL1], ..params(255, BAL1) });
    owner.set_priority_offset(t0, -100);
    assert_eq!(owner.effective_priority(), 255);
}

#[test]
fn status_reports_the_instance() {
    let t0 = origin();
    let mut r = backup(t0, params(100, BAL1));
    r.set_priority_offset(t0, -10);
    r.handle_advert(t0 + SECOND, BAL2, &advert(150));
    let status = r.status();
    assert_eq!(status.vrid, VRID);
    assert_eq!(status.state, State::Backup);
    assert_eq!((status.configured_priority, status.effective_priority), (100, 90));
    assert_eq!(status.master, Some(KnownMaster { address: BAL2, priority: 150 }));
    assert_eq!(status.last_advert, Some(t0 + SECOND));
    assert_eq!(status.transitions, 1);
    assert_eq!(status.last_transition, Some((t0, Reason::Startup)));
    assert_eq!(status.master_adver_interval, SECOND);
    assert_eq!((status.adverts_received, status.adverts_sent), (1, 0));
}

#[test]
fn tracked_fault_resigns_a_master_and_recovers() {
    let t0 = origin();
    let (mut r, at) = master(t0, params(150, BAL1));
    r.set_tracked_fault(at, Some("backend web".to_owned()));
    let down = Reason::TrackedDown("backend web".to_owned());
    assert_eq!(down.to_string(), "tracked backend web is down");
    assert_eq!(
        drain(&mut r),
        [
            transition(at, State::Master, State::Fault, down),
            Action::SendAdvert(advert(0)),
            Action::RemoveAddresses(vec![VIP]),
        ]
    );
    assert_eq!(r.poll_timeout(), None, "Fault runs no timer");
    // The interface flapping meanwhile does not end the tracked fault.
    r.interface_down(at + SECOND);
    r.interface_up(at + SECOND * 2);
    assert_eq!(r.state(), State::Fault);
    assert!(drain(&mut r).is_empty());
    r.set_tracked_fault(at + SECOND * 3, None);
    let up = Reason::TrackedUp("backend web".to_owned());
    assert_eq!(drain(&mut r), [transition(at + SECOND * 3, State::Fault, State::Backup, up)]);
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn tracked_fault_at_startup_and_with_the_interface_down() {
    let t0 = origin();
    let mut r = router(params(100, BAL1));
    r.set_tracked_fault(t0, Some("backend web".to_owned()));
    r.startup(t0);
    assert_eq!(
        drain(&mut r),
        [transition(
            t0,
            State::Initialize,
            State::Fault,
            Reason::TrackedDown("backend web".to_owned())
        )]
    );
    r.interface_down(t0 + SECOND);
    r.set_tracked_fault(t0 + SECOND * 2, None);
    assert_eq!(r.state(), State::Fault, "still no carrier");
    r.interface_up(t0 + SECOND * 3);
    assert_eq!(r.state(), State::Backup);
}
