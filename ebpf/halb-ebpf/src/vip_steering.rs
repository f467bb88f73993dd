//! VIP steering, `SK_LOOKUP` on a balancer's network namespace: runs when
//! the kernel looks for the socket of a new TCP connection (a SYN with no
//! established socket), before the normal listener lookup.
//!
//! A destination that matches a frontend (`STEERING_FRONTENDS`, exact
//! address first, then the 0.0.0.0 wildcard of a `*:PORT` frontend) is
//! decided by `halb_common::steering::steering_verdict`: a VRRP virtual
//! address this balancer does not own is refused (`SK_DROP`); otherwise the
//! frontend's listening socket from `STEERING_SOCKETS` is assigned. No
//! socket (the proxy is restarting) or a failed assignment passes without
//! one, so the normal lookup decides. Everything else passes untouched.
//!
//! So the proxy's listener need not be bound to the VIP: it does not rebind
//! when the VIP arrives or leaves and needs no `ip_nonlocal_bind`.

use aya_ebpf::{
    bindings::{sk_action::SK_DROP, sk_action::SK_PASS},
    macros::sk_lookup,
    programs::SkLookupContext,
};
use halb_common::steering::{
    steering_verdict, SteeringCounters, SteeringKey, SteeringVerdict, ANY_ADDRESS, IPPROTO_TCP,
};

use crate::maps::{STEERING_COUNTERS, STEERING_FRONTENDS, STEERING_OWNERSHIP, STEERING_SOCKETS};

const AF_INET: u32 = 2;
/// `-ENOENT` from `redirect_sk_lookup`: the slot holds no socket.
const NO_SOCKET: i32 = -2;

#[sk_lookup]
pub fn vip_steering(ctx: SkLookupContext) -> u32 {
    // SAFETY: the kernel passes a valid `bpf_sk_lookup` for the whole run.
    let lookup = unsafe { &*ctx.lookup };
    if lookup.family != AF_INET || lookup.protocol != u32::from(IPPROTO_TCP) {
        return SK_PASS;
    }
    // `local_ip4` holds the address in network order, `local_port` the port
    // in host order (and fits 16 bits).
    let addr = lookup.local_ip4.to_ne_bytes();
    let port = lookup.local_port as u16;
    let Some(slot) = frontend_slot(addr, port) else { return SK_PASS };
    // SAFETY: plain value read from a hash map the daemon writes.
    let ownership = unsafe { STEERING_OWNERSHIP.get(&addr) }.copied();
    match steering_verdict(ownership) {
        SteeringVerdict::Refuse => {
            count(slot, |counters| counters.refused += 1);
            SK_DROP
        }
        SteeringVerdict::Assign => {
            match STEERING_SOCKETS.redirect_sk_lookup(&ctx, slot, 0) {
                Ok(()) => count(slot, |counters| counters.steered += 1),
                Err(NO_SOCKET) => count(slot, |counters| counters.no_socket += 1),
                Err(_) => count(slot, |counters| counters.assign_failed += 1),
            }
            SK_PASS
        }
    }
}

/// The frontend slot of `addr:port`, or of `*:port`.
#[inline(always)]
fn frontend_slot(addr: [u8; 4], port: u16) -> Option<u32> {
    // SAFETY: plain value reads from a hash map the daemon writes.
    unsafe {
        STEERING_FRONTENDS
            .get(&SteeringKey::tcp(addr, port))
            .or_else(|| STEERING_FRONTENDS.get(&SteeringKey::tcp(ANY_ADDRESS, port)))
            .copied()
    }
}

#[inline(always)]
fn count(slot: u32, bump: impl FnOnce(&mut SteeringCounters)) {
    if let Some(counters) = STEERING_COUNTERS.get_ptr_mut(slot) {
        // SAFETY: a per-CPU array slot of this CPU, valid for the program's run.
        bump(unsafe { &mut *counters });
    }
}
