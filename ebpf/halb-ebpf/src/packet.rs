//! The one bounds-checked packet reader: every read of packet bytes goes
//! through `Frame::read`, which copies with `bpf_skb_load_bytes` and fails
//! instead of reading past the end.

use aya_ebpf::programs::TcContext;

pub const ETH_HLEN: usize = 14;
pub const ETH_P_IPV4: u16 = 0x0800;
pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_IPV6: u16 = 0x86dd;
/// EtherType values below this are 802.3 lengths (LLC follows).
pub const ETH_P_802_3_MIN: u16 = 0x0600;
pub const IPV4_MIN_HLEN: usize = 20;
pub const UDP_HLEN: usize = 8;
pub const ARP_ETH_IPV4_LEN: usize = 28;
pub const LLC_HLEN: usize = 3;
pub const LLC_SAP_BPDU: u8 = 0x42;
pub const IPPROTO_UDP: u8 = 17;

pub struct Frame<'a> {
    ctx: &'a TcContext,
    pub len: usize,
}

impl<'a> Frame<'a> {
    #[inline(always)]
    pub fn new(ctx: &'a TcContext) -> Self {
        Self { ctx, len: ctx.len() as usize }
    }

    /// Copies a `T` from `offset`, or `None` if it would cross the end.
    #[inline(always)]
    pub fn read<T: Copy>(&self, offset: usize) -> Option<T> {
        if offset + core::mem::size_of::<T>() > self.len {
            return None;
        }
        self.ctx.load::<T>(offset).ok()
    }

    /// Big-endian u16 at `offset`.
    #[inline(always)]
    pub fn read_be16(&self, offset: usize) -> Option<u16> {
        self.read::<[u8; 2]>(offset).map(u16::from_be_bytes)
    }
}
