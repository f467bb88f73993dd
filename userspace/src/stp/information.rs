//! The Port Information machine (802.1D-2004 17.27) outside of BPDU
//! receipt: a port going down or up, received information ageing out, and
//! recording this bridge's designated information once a port is selected
//! as designated (`UPDATE`).

use std::time::Instant;

use super::{
    action::{Cause, Event},
    bridge::Bridge,
    port::InfoIs,
};

impl Bridge {
    /// One step of the machine for port `index`; `true` if it changed
    /// anything.
    pub(crate) fn port_information(&mut self, now: Instant, index: usize) -> bool {
        let p = &mut self.ports[index];
        if !p.enabled() {
            if p.info_is == InfoIs::Disabled {
                return false;
            }
            // DISABLED
            p.proposing = false;
            p.proposed = false;
            p.agree = false;
            p.agreed = false;
            p.rcvd_info_while = None;
            p.info_is = InfoIs::Disabled;
            p.reselect = true;
            p.selected = false;
            return true;
        }
        if p.info_is == InfoIs::Disabled {
            // AGED, on the way up.
            p.info_is = InfoIs::Aged;
            p.reselect = true;
            p.selected = false;
            return true;
        }
        if p.info_is == InfoIs::Received
            && p.rcvd_info_while.is_some_and(|deadline| deadline <= now)
            && !p.updt_info
        {
            p.info_is = InfoIs::Aged;
            p.rcvd_info_while = None;
            p.reselect = true;
            p.selected = false;
            if p.root_inconsistent {
                p.root_inconsistent = false;
                let from = p.port_priority.designated_bridge;
                self.event(now, Some(index), Event::RootInconsistent { active: false, from });
            }
            self.cause = Cause::InfoAged;
            return true;
        }
        if p.selected && p.updt_info {
            // UPDATE
            let better_or_same =
                p.info_is == InfoIs::Mine && p.designated_priority <= p.port_priority;
            p.proposing = false;
            p.agreed = p.agreed && better_or_same;
            p.synced = p.synced && p.agreed;
            p.port_priority = p.designated_priority;
            p.port_times = p.designated_times;
            p.updt_info = false;
            p.info_is = InfoIs::Mine;
            p.new_info = true;
            return true;
        }
        false
    }
}
