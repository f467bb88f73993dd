//! Received adverts: RFC 5798 §7.1 checks that do not depend on the state,
//! then §6.4.2 (Backup) or §6.4.3 (Master). Each advert yields a
//! [`Verdict`] the driver may log and count.
//!
//! Choices where the RFC is silent or we differ on purpose:
//!
//! - **Equal priorities.** §6.4.3 (Master) breaks a tie by the higher primary
//!   address; §6.4.2 (Backup) accepts any advert with priority >= its own.
//!   We follow both literally, as keepalived does: a Backup never preempts an
//!   equal-priority master, so with equal priorities the first router to
//!   become Master keeps the role, and only two simultaneous Masters settle
//!   by address. Elections then come out as between two keepalived routers.
//! - **Preempt delay** (keepalived `preempt_delay`). When an instance enters
//!   Backup from Initialize or Fault (startup, interface up), it accepts
//!   adverts from lower priority masters, as if preemption were off, until
//!   `preempt_delay` has passed. Afterwards it discards them and takes over
//!   when its `Master_Down_Timer`, last reset by an accepted advert, fires.
//!   With no master at all the delay does not apply: `Master_Down_Timer` runs
//!   as usual.
//! - **Version 2** adverts whose Adver Int differs from ours are discarded
//!   (RFC 3768 §7.1); version 3 Backups learn `Master_Adver_Interval` instead.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use super::{
    action::Action,
    machine::{DownCause, VirtualRouter},
    packet::{Advertisement, Version},
    reason::{Reason, State},
    status::KnownMaster,
};

/// Least time between two reassertions against lower-priority adverts.
pub const REASSERT_INTERVAL: Duration = Duration::from_secs(1);

/// What [`VirtualRouter::handle_advert`] did with an advert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The advert was acted on (timer reset, transition, reply...).
    Accepted,
    /// The advert was dropped; the reason is for debug logs and counters.
    Discarded(Discard),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Discard {
    #[error("instance is in {0}")]
    NotRunning(State),
    #[error("advert for vrid {0}")]
    OtherVrid(u8),
    #[error("version {got:?} advert, configured {want:?}")]
    OtherVersion { got: Version, want: Version },
    #[error("our own advert")]
    OwnAdvert,
    #[error("advert interval {got:?} differs from configured {want:?}")]
    IntervalMismatch { got: Duration, want: Duration },
    #[error("lower priority advert from {from} prio {priority}")]
    LowerPriority { from: Ipv4Addr, priority: u8 },
}

impl VirtualRouter {
    /// An advert received from `src` (already decoded and validated by
    /// [`Advertisement::decode`]): §6.4.2 in Backup, §6.4.3 in Master.
    pub fn handle_advert(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        advert: &Advertisement,
    ) -> Verdict {
        // check_advert rejects Initialize and Fault.
        let verdict = match self.check_advert(now, src, advert) {
            Err(discard) => Verdict::Discarded(discard),
            Ok(()) if self.state == State::Master => self.master_advert(now, src, advert),
            Ok(()) => self.backup_advert(now, src, advert),
        };
        if matches!(verdict, Verdict::Discarded(_)) {
            self.adverts_discarded += 1;
        }
        verdict
    }

    /// Checks that do not depend on the state (§7.1 after decoding).
    fn check_advert(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        advert: &Advertisement,
    ) -> Result<(), Discard> {
        if matches!(self.state, State::Initialize | State::Fault) {
            return Err(Discard::NotRunning(self.state));
        }
        if advert.vrid != self.config.vrid() {
            return Err(Discard::OtherVrid(advert.vrid));
        }
        if advert.version != self.config.version() {
            return Err(Discard::OtherVersion { got: advert.version, want: self.config.version() });
        }
        if src == self.config.primary_address() {
            return Err(Discard::OwnAdvert);
        }
        self.adverts_received += 1;
        self.last_advert = Some(now);
        if advert.version == Version::V2 && advert.interval != self.config.advert_interval() {
            return Err(Discard::IntervalMismatch {
                got: advert.interval,
                want: self.config.advert_interval(),
            });
        }
        if advert.addresses != self.config.virtual_addresses() {
            self.address_list_mismatches += 1;
        }
        Ok(())
    }

    /// Whether (priority, address) of the advert beats ours.
    fn beats_us(&self, src: Ipv4Addr, priority: u8) -> bool {
        (priority, src) > (self.effective_priority(), self.config.primary_address())
    }

    fn backup_advert(&mut self, now: Instant, src: Ipv4Addr, advert: &Advertisement) -> Verdict {
        if advert.priority == 0 {
            self.timers.master_down = Some(now + self.skew_time());
            self.down_cause = DownCause::Resigned(src);
            self.master = None;
            return Verdict::Accepted;
        }
        let delaying = self.preempt_after.is_some_and(|after| now < after);
        let may_preempt = self.config.preempt() && !delaying;
        if may_preempt && advert.priority < self.effective_priority() {
            self.down_cause =
                DownCause::Preempt { master: src, priority: advert.priority, tie: false };
            return Verdict::Discarded(Discard::LowerPriority {
                from: src,
                priority: advert.priority,
            });
        }
        self.accept_master(now, src, advert);
        self.reset_master_down(now);
        Verdict::Accepted
    }

    fn master_advert(&mut self, now: Instant, src: Ipv4Addr, advert: &Advertisement) -> Verdict {
        if advert.priority == 0 {
            self.send_advert(self.effective_priority());
            self.timers.adver = Some(now + self.config.advert_interval());
            return Verdict::Accepted;
        }
        if !self.beats_us(src, advert.priority) {
            self.reassert(now);
            return Verdict::Discarded(Discard::LowerPriority {
                from: src,
                priority: advert.priority,
            });
        }
        let reason = if advert.priority > self.effective_priority() {
            Reason::HigherPriority { from: src, priority: advert.priority }
        } else {
            Reason::HigherAddress { from: src, priority: advert.priority }
        };
        self.accept_master(now, src, advert);
        self.transition(now, State::Backup, reason);
        self.leave_master();
        self.reset_master_down(now);
        Verdict::Accepted
    }

    /// Another router advertises as master with a lower priority: it came
    /// up, or a split network healed while both were master, and clients
    /// may have learnt its MAC for the virtual addresses. The RFC only
    /// discards the advert; like keepalived (`garp_lower_prio_*`) we also
    /// reassert at once, an advert and a burst of gratuitous ARPs, at most
    /// once per [`REASSERT_INTERVAL`].
    fn reassert(&mut self, now: Instant) {
        if self
            .reasserted_at
            .is_some_and(|at| now.saturating_duration_since(at) < REASSERT_INTERVAL)
        {
            return;
        }
        self.reasserted_at = Some(now);
        self.send_advert(self.effective_priority());
        self.timers.adver = Some(now + self.config.advert_interval());
        if self.config.garp_count() > 0 {
            self.actions.push_back(Action::SendGratuitousArp { count: self.config.garp_count() });
        }
    }

    /// Records `src` as the master and, in version 3, learns its interval.
    fn accept_master(&mut self, now: Instant, src: Ipv4Addr, advert: &Advertisement) {
        if advert.version == Version::V3 {
            self.master_adver_interval = advert.interval;
        }
        self.master = Some(KnownMaster { address: src, priority: advert.priority });
        self.last_accepted = Some((now, src, advert.priority));
    }
}
