//! One virtual router instance: its state, its queue of outputs and the
//! transitions every input handler (in `events`) goes through.
//!
//! Inputs call the private helpers here (`become_master`, `become_backup`,
//! `leave_master`, ...) which change state, arm or cancel timers and push
//! [`Action`]s; the driver drains them with [`VirtualRouter::poll_action`]
//! and sleeps until [`VirtualRouter::poll_timeout`].

use std::{
    collections::VecDeque,
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use super::{
    action::Action,
    config::{Config, MAX_BACKUP_PRIORITY},
    packet::{Advertisement, Auth},
    reason::{Reason, State},
    status::{KnownMaster, Status},
    timers::{master_down_interval, skew_time, Timers},
};

/// What a Backup heard since its `Master_Down_Timer` was last reset; names
/// the transition when the timer fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum DownCause {
    /// Nothing (or nothing but accepted adverts): the master went quiet.
    Silence,
    /// The master sent priority 0.
    Resigned(Ipv4Addr),
    /// Adverts from a master we are preempting were discarded.
    Preempt { master: Ipv4Addr, priority: u8, tie: bool },
}

/// The RFC 5798 §6.4 state machine for one VRID on one interface.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct VirtualRouter {
    pub(crate) config: Config,
    pub(crate) state: State,
    pub(crate) link_up: bool,
    /// What tracked object holds the instance in Fault, if any.
    pub(crate) tracked_fault: Option<String>,
    pub(crate) priority_offset: i16,
    /// `Master_Adver_Interval`: learned from v3 adverts while Backup.
    pub(crate) master_adver_interval: Duration,
    pub(crate) timers: Timers,
    /// Backup: lower priority masters are not preempted before this time.
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) preempt_after: Option<Instant>,
    pub(crate) master: Option<KnownMaster>,
    /// Backup: the last accepted advert (when, from, priority).
    #[serde(with = "crate::handover::clock::optional_at_pair")]
    pub(crate) last_accepted: Option<(Instant, Ipv4Addr, u8)>,
    pub(crate) down_cause: DownCause,
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) last_advert: Option<Instant>,
    pub(crate) transitions: u64,
    #[serde(with = "crate::handover::clock::optional_at")]
    pub(crate) last_transition: Option<(Instant, Reason)>,
    pub(crate) adverts_sent: u64,
    pub(crate) adverts_received: u64,
    pub(crate) adverts_discarded: u64,
    pub(crate) address_list_mismatches: u64,
    /// Master: when it last reasserted itself against a lower-priority
    /// advert (see `receive::master_advert`).
    #[serde(with = "crate::handover::clock::optional")]
    pub(crate) reasserted_at: Option<Instant>,
    #[serde(skip)]
    pub(crate) actions: VecDeque<Action>,
}

impl VirtualRouter {
    /// A stopped instance (Initialize, interface assumed up); call
    /// [`startup`](Self::startup) to run it.
    #[must_use]
    pub fn new(config: Config) -> Self {
        VirtualRouter {
            master_adver_interval: config.advert_interval(),
            config,
            state: State::Initialize,
            link_up: true,
            tracked_fault: None,
            priority_offset: 0,
            timers: Timers::default(),
            preempt_after: None,
            master: None,
            last_accepted: None,
            down_cause: DownCause::Silence,
            last_advert: None,
            transitions: 0,
            last_transition: None,
            adverts_sent: 0,
            adverts_received: 0,
            adverts_discarded: 0,
            address_list_mismatches: 0,
            reasserted_at: None,
            actions: VecDeque::new(),
        }
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    /// Configured priority plus the tracking offset, clamped to 1..=254; the
    /// owner stays at 255.
    #[must_use]
    pub fn effective_priority(&self) -> u8 {
        if self.config.is_owner() {
            return self.config.priority();
        }
        let adjusted = i32::from(self.config.priority()) + i32::from(self.priority_offset);
        let clamped = adjusted.clamp(1, i32::from(MAX_BACKUP_PRIORITY));
        u8::try_from(clamped).unwrap_or(MAX_BACKUP_PRIORITY)
    }

    /// The next output, in the order produced.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The advert this router sends at `priority` (0 to resign).
    #[must_use]
    pub fn advertisement(&self, priority: u8) -> Advertisement {
        Advertisement {
            version: self.config.version(),
            vrid: self.config.vrid(),
            priority,
            interval: self.config.advert_interval(),
            addresses: self.config.virtual_addresses().to_vec(),
            auth: Auth::None,
        }
    }

    #[must_use]
    pub fn status(&self) -> Status {
        Status {
            vrid: self.config.vrid(),
            state: self.state,
            configured_priority: self.config.priority(),
            effective_priority: self.effective_priority(),
            master: self.master,
            last_advert: self.last_advert,
            transitions: self.transitions,
            last_transition: self.last_transition.clone(),
            master_adver_interval: self.master_adver_interval,
            master_down_interval: self.master_down_interval(),
            adverts_sent: self.adverts_sent,
            adverts_received: self.adverts_received,
            adverts_discarded: self.adverts_discarded,
            address_list_mismatches: self.address_list_mismatches,
        }
    }

    pub(crate) fn skew_time(&self) -> Duration {
        skew_time(self.config.version(), self.effective_priority(), self.master_adver_interval)
    }

    pub(crate) fn master_down_interval(&self) -> Duration {
        master_down_interval(
            self.config.version(),
            self.effective_priority(),
            self.master_adver_interval,
        )
    }

    pub(crate) fn transition(&mut self, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        tracing::debug!(vrid = self.config.vrid(), %from, %to, %reason, "vrrp transition");
        self.state = to;
        self.transitions += 1;
        self.last_transition = Some((now, reason.clone()));
        self.actions.push_back(Action::Transition { at: now, from, to, reason });
    }

    pub(crate) fn send_advert(&mut self, priority: u8) {
        self.adverts_sent += 1;
        self.actions.push_back(Action::SendAdvert(self.advertisement(priority)));
    }

    /// Any -> Master: advert, addresses, gratuitous ARPs, `Adver_Timer`.
    pub(crate) fn become_master(&mut self, now: Instant, reason: Reason) {
        self.transition(now, State::Master, reason);
        self.timers.cancel_all();
        self.master_adver_interval = self.config.advert_interval();
        self.master = Some(KnownMaster {
            address: self.config.primary_address(),
            priority: self.effective_priority(),
        });
        self.last_accepted = None;
        self.down_cause = DownCause::Silence;
        self.send_advert(self.effective_priority());
        self.actions.push_back(Action::AddAddresses(self.config.virtual_addresses().to_vec()));
        if self.config.garp_count() > 0 {
            self.actions.push_back(Action::SendGratuitousArp { count: self.config.garp_count() });
            if self.config.garp_repeat() > 0 {
                self.timers.garp = Some(now + self.config.garp_delay());
                self.timers.garp_left = self.config.garp_repeat();
            }
        }
        self.timers.adver = Some(now + self.config.advert_interval());
    }

    /// Master -> somewhere else: stop advertising, drop the addresses.
    pub(crate) fn leave_master(&mut self) {
        self.timers.cancel_all();
        self.actions.push_back(Action::RemoveAddresses(self.config.virtual_addresses().to_vec()));
    }

    /// Any -> Backup with `Master_Down_Timer` armed. The caller has set
    /// `master_adver_interval` and `master` as they should be.
    pub(crate) fn become_backup(&mut self, now: Instant, reason: Reason) {
        self.transition(now, State::Backup, reason);
        self.reset_master_down(now);
    }

    /// `Master_Down_Timer` = now + `Master_Down_Interval`.
    pub(crate) fn reset_master_down(&mut self, now: Instant) {
        self.timers.master_down = Some(now + self.master_down_interval());
        self.down_cause = DownCause::Silence;
    }

    /// The Backup's `Master_Down_Timer` fired: take over, naming why.
    pub(crate) fn master_down(&mut self, now: Instant) {
        let reason = match self.down_cause {
            DownCause::Resigned(master) => Reason::MasterResigned { master },
            DownCause::Preempt { master, priority, tie: false } => {
                Reason::PreemptLowerPriority { master, priority }
            }
            DownCause::Preempt { master, priority, tie: true } => {
                Reason::PreemptLowerAddress { master, priority }
            }
            DownCause::Silence => Reason::MasterDown {
                last: self.last_accepted.map(|(at, from, prio)| (now - at, from, prio)),
            },
        };
        self.become_master(now, reason);
    }
}
