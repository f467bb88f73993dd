//! VRRP advertisement fast path, TC ingress on a balancer's VRRP interface
//! (after the port classifier in the TCX chain).
//!
//! Every IPv4 protocol-112 packet is validated as RFC 5798 (v3) or RFC 3768
//! (v2) asks: TTL 255, destination 224.0.0.18, configured VRID and version,
//! type ADVERTISEMENT, address count matching the length, non-zero interval,
//! checksum (v3 over the IPv4 pseudo-header). Invalid adverts are dropped
//! and counted by reason. A valid advert updates `VRRP_MASTERS[vrid]`; if it
//! says nothing new it is absorbed (dropped after the update), otherwise it
//! goes up to the daemon's raw socket, which runs the state machine.
//!
//! TC rather than XDP: frames with a partial checksum arrive corrupt after
//! native XDP on veth (../shared/TOOLCHAIN.md), and the same interface
//! carries the proxy's TCP traffic.

use aya_ebpf::{
    bindings::{TC_ACT_SHOT, TC_ACT_UNSPEC},
    helpers::bpf_ktime_get_ns,
    macros::classifier,
    programs::TcContext,
};
use halb_common::{
    checksum::InternetSum,
    classify::IPPROTO_VRRP,
    vrrp::{
        VrrpDropReason, VrrpMasterInfo, VrrpVerdict, VRRP_FAST_MAX_ADDRS, VRRP_FAST_MAX_LEN,
        VRRP_GROUP,
    },
};

use crate::{
    maps::{count_slot, VRRP_CONFIG, VRRP_DROPS, VRRP_MASTERS, VRRP_VERDICTS},
    packet::{Frame, ETH_HLEN, ETH_P_IPV4, IPV4_MIN_HLEN},
};

const VRRP_HLEN: usize = 8;
const VRRP_V2_AUTH_LEN: usize = 8;
const VRRP_TYPE_ADVERTISEMENT: u8 = 1;

#[classifier]
pub fn vrrp_advert(ctx: TcContext) -> i32 {
    let bytes = ctx.len();
    match try_vrrp_advert(&ctx) {
        Ok(Some(verdict)) => {
            count_slot(&VRRP_VERDICTS, verdict as u32, bytes);
            match verdict {
                VrrpVerdict::Absorbed => TC_ACT_SHOT,
                _ => TC_ACT_UNSPEC,
            }
        }
        // Not VRRP: not ours, continue unchanged.
        Ok(None) => TC_ACT_UNSPEC,
        Err(reason) => {
            count_slot(&VRRP_DROPS, reason as u32, bytes);
            count_slot(&VRRP_VERDICTS, VrrpVerdict::Dropped as u32, bytes);
            TC_ACT_SHOT
        }
    }
}

#[inline(always)]
fn try_vrrp_advert(ctx: &TcContext) -> Result<Option<VrrpVerdict>, VrrpDropReason> {
    let frame = Frame::new(ctx);
    if frame.read_be16(12) != Some(ETH_P_IPV4) {
        return Ok(None);
    }
    let Some(ip) = frame.read::<[u8; IPV4_MIN_HLEN]>(ETH_HLEN) else { return Ok(None) };
    if ip[9] != IPPROTO_VRRP || ip[0] >> 4 != 4 {
        return Ok(None);
    }
    // Options or fragments: rare for VRRP; the daemon parses those itself.
    let fragmented = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
    if ip[0] & 0x0f != 5 || fragmented {
        return Ok(Some(VrrpVerdict::PassedUnchecked));
    }
    if ip[8] != 255 {
        return Err(VrrpDropReason::BadTtl);
    }
    if [ip[16], ip[17], ip[18], ip[19]] != VRRP_GROUP {
        return Err(VrrpDropReason::BadDestination);
    }
    let total_len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if total_len < IPV4_MIN_HLEN + VRRP_HLEN || ETH_HLEN + total_len > frame.len {
        return Err(VrrpDropReason::Truncated);
    }
    let vrrp_len = total_len - IPV4_MIN_HLEN;
    let vrrp_offset = ETH_HLEN + IPV4_MIN_HLEN;
    let header: [u8; VRRP_HLEN] = frame.read(vrrp_offset).ok_or(VrrpDropReason::Truncated)?;
    let version = header[0] >> 4;
    let vrid = u32::from(header[1]);
    let priority = header[2];
    let count = header[3];
    // SAFETY: the value is only read, and the daemon writes whole entries.
    let config = unsafe { VRRP_CONFIG.get(vrid) }.ok_or(VrrpDropReason::UnknownVrid)?;
    if version != config.version {
        return Err(VrrpDropReason::BadVersion);
    }
    if header[0] & 0x0f != VRRP_TYPE_ADVERTISEMENT {
        return Err(VrrpDropReason::BadType);
    }
    let auth_len = if version == 2 { VRRP_V2_AUTH_LEN } else { 0 };
    let expected_len = VRRP_HLEN + 4 * usize::from(count) + auth_len;
    if vrrp_len != expected_len {
        return Err(VrrpDropReason::BadAddressCount);
    }
    let interval_cs = if version == 2 {
        u16::from(header[5]) * 100
    } else {
        u16::from_be_bytes([header[4] & 0x0f, header[5]])
    };
    if interval_cs == 0 {
        return Err(VrrpDropReason::ZeroInterval);
    }
    if count > VRRP_FAST_MAX_ADDRS {
        return Ok(Some(VrrpVerdict::PassedUnchecked));
    }
    let source = [ip[12], ip[13], ip[14], ip[15]];
    if !checksum_ok(&frame, vrrp_offset, expected_len, version, &ip) {
        return Err(VrrpDropReason::BadChecksum);
    }
    if source == config.own_addr {
        return Ok(Some(VrrpVerdict::Own));
    }
    Ok(Some(record(vrid, source, priority, version, interval_cs)))
}

/// Verifies the VRRP checksum: over the message (v2), plus the IPv4
/// pseudo-header (v3). `len` is a multiple of 4, at most
/// `VRRP_FAST_MAX_LEN` here. The message is read in fixed 4-byte words (a
/// loop with a constant bound) so every load has a constant size the
/// verifier can check; the sum itself is the shared [`InternetSum`], whose
/// inlined helpers only touch those 4-byte stack copies and the header.
#[inline(always)]
fn checksum_ok(frame: &Frame, offset: usize, len: usize, version: u8, ip: &[u8; 20]) -> bool {
    let mut sum = InternetSum::new();
    let mut word = 0;
    while word < VRRP_FAST_MAX_LEN / 4 {
        if word * 4 >= len {
            break;
        }
        let Some(bytes) = frame.read::<[u8; 4]>(offset + word * 4) else { return false };
        sum = sum.add_bytes(&bytes);
        word += 1;
    }
    if version == 3 {
        let source = [ip[12], ip[13], ip[14], ip[15]];
        let destination = [ip[16], ip[17], ip[18], ip[19]];
        // `len` is at most VRRP_FAST_MAX_LEN, so it fits a u16.
        sum = sum.add_ipv4_pseudo_header(source, destination, IPPROTO_VRRP, len as u16);
    }
    sum.verifies()
}

/// Updates the VRID's master record; says whether the advert brought news.
#[inline(always)]
fn record(vrid: u32, source: [u8; 4], priority: u8, version: u8, interval_cs: u16) -> VrrpVerdict {
    // SAFETY: bpf_ktime_get_ns has no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    let mut info = VrrpMasterInfo {
        last_seen_ns: now,
        adverts: 1,
        changes: 1,
        master_addr: source,
        priority,
        version,
        interval_cs,
    };
    let mut verdict = VrrpVerdict::PassedChange;
    // SAFETY: the entry is read by value; concurrent writers only race on
    // counters, which are statistics.
    if let Some(previous) = unsafe { VRRP_MASTERS.get(vrid) } {
        let same = previous.master_addr == source
            && previous.priority == priority
            && previous.version == version
            && previous.interval_cs == interval_cs
            && priority != 0;
        info.adverts = previous.adverts + 1;
        info.changes = previous.changes + u64::from(!same);
        if same {
            verdict = VrrpVerdict::Absorbed;
        }
    }
    if VRRP_MASTERS.insert(vrid, info, 0).is_err() {
        // Table full or gone: let the daemon see it rather than lose it.
        return VrrpVerdict::PassedChange;
    }
    verdict
}
