//! Lifecycle inputs, each taking `now`: startup and shutdown (RFC 5798
//! §6.4), timer expiry, and the inputs the RFC leaves to the implementation
//! (interface state, priority tracking). Received adverts are in `receive`.
//!
//! Choices where the RFC is silent:
//!
//! - **Fault** (keepalived FAULT). Interface down leaves Backup or Master for
//!   Fault: addresses removed, nothing sent (the link is gone), timers off.
//!   Interface up restarts as at startup.
//! - **Priority tracking.** The effective priority is the configured one plus
//!   an offset, clamped to 1..=254; the owner stays at 255. A Master's next
//!   advert carries the new value; a Backup uses it for `Skew_Time` and the
//!   preemption check from the next advert on.

use std::time::Instant;

use super::{
    action::Action,
    machine::VirtualRouter,
    reason::{Reason, State},
    status::KnownMaster,
    timers::expired,
};

impl VirtualRouter {
    /// Startup event (§6.4.1): the owner becomes Master, others Backup; with
    /// the interface down, Fault. Ignored unless in Initialize.
    pub fn startup(&mut self, now: Instant) {
        if self.state != State::Initialize {
            return;
        }
        if !self.link_up {
            self.transition(now, State::Fault, Reason::InterfaceDown);
        } else if let Some(what) = self.tracked_fault.clone() {
            self.transition(now, State::Fault, Reason::TrackedDown(what));
        } else {
            self.start(now, Reason::Startup);
        }
    }

    /// Shutdown event: a Master sends priority 0 and drops the addresses;
    /// every state ends in Initialize.
    pub fn shutdown(&mut self, now: Instant) {
        match self.state {
            State::Initialize => return,
            State::Master => {
                self.transition(now, State::Initialize, Reason::Shutdown);
                self.send_advert(0);
                self.leave_master();
            }
            State::Backup | State::Fault => {
                self.transition(now, State::Initialize, Reason::Shutdown);
            }
        }
        self.timers.cancel_all();
        self.master = None;
    }

    /// The interface lost carrier or went administratively down.
    pub fn interface_down(&mut self, now: Instant) {
        self.link_up = false;
        self.enter_fault(now, Reason::InterfaceDown);
    }

    /// The interface is usable again: Fault restarts as at startup (unless
    /// a tracked object still holds it in Fault).
    pub fn interface_up(&mut self, now: Instant) {
        self.link_up = true;
        if self.state == State::Fault && self.tracked_fault.is_none() {
            self.start(now, Reason::InterfaceUp);
        }
    }

    /// A tracked object that puts the instance in Fault while it is down
    /// (keepalived's `track_*` without a weight): `Some(what)` when it goes
    /// down, `None` when it is up again.
    pub fn set_tracked_fault(&mut self, now: Instant, fault: Option<String>) {
        let previous = std::mem::replace(&mut self.tracked_fault, fault.clone());
        match fault {
            Some(what) => self.enter_fault(now, Reason::TrackedDown(what)),
            None => {
                if self.state == State::Fault && self.link_up {
                    let what = previous.unwrap_or_default();
                    self.start(now, Reason::TrackedUp(what));
                }
            }
        }
    }

    /// Master or Backup -> Fault: resign, stop timers, forget the master.
    fn enter_fault(&mut self, now: Instant, reason: Reason) {
        match self.state {
            State::Initialize | State::Fault => {}
            State::Master => {
                // The interface still works when a tracked object fails:
                // resign with priority 0 so a backup takes over after its
                // skew time instead of the whole master-down interval.
                let resign = matches!(reason, Reason::TrackedDown(_));
                self.transition(now, State::Fault, reason);
                if resign {
                    self.send_advert(0);
                }
                self.leave_master();
                self.master = None;
            }
            State::Backup => {
                self.transition(now, State::Fault, reason);
                self.timers.cancel_all();
                self.master = None;
            }
        }
    }

    /// Sets the tracking offset added to the configured priority. `now` is
    /// unused today (the change shows in the next advert or comparison) and
    /// kept so every input has the same shape.
    pub fn set_priority_offset(&mut self, _now: Instant, offset: i16) {
        self.priority_offset = offset;
        if self.state == State::Master {
            self.master = Some(KnownMaster {
                address: self.config.primary_address(),
                priority: self.effective_priority(),
            });
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Master => {
                if expired(&mut self.timers.adver, now) {
                    self.send_advert(self.effective_priority());
                    self.timers.adver = Some(now + self.config.advert_interval());
                }
                if expired(&mut self.timers.garp, now) {
                    self.actions
                        .push_back(Action::SendGratuitousArp { count: self.config.garp_count() });
                    self.timers.garp_left = self.timers.garp_left.saturating_sub(1);
                    if self.timers.garp_left > 0 {
                        self.timers.garp = Some(now + self.config.garp_delay());
                    }
                }
            }
            State::Backup => {
                if expired(&mut self.timers.master_down, now) {
                    self.master_down(now);
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    /// Initialize/Fault -> Master (owner) or Backup.
    pub(crate) fn start(&mut self, now: Instant, reason: Reason) {
        self.timers.cancel_all();
        self.master = None;
        self.last_accepted = None;
        if self.config.is_owner() {
            let reason = if reason == Reason::Startup { Reason::StartupAsOwner } else { reason };
            self.become_master(now, reason);
        } else {
            self.master_adver_interval = self.config.advert_interval();
            self.preempt_after = self.config.preempt_delay().map(|delay| now + delay);
            self.become_backup(now, reason);
        }
    }
}
