//! The Internet checksum (RFC 1071) used by VRRP: the ones' complement of the
//! ones' complement sum of 16-bit big-endian words. Version 3 adds the IPv4
//! pseudo-header (RFC 5798 §5.2.8); version 2 sums the VRRP message only.

use std::net::Ipv4Addr;

use super::packet::IP_PROTO_VRRP;

/// Running ones' complement sum, folded at the end.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sum(u32);

impl Sum {
    /// Adds `bytes` as big-endian words; an odd trailing byte is padded with
    /// zero (VRRP messages are always a multiple of four bytes, but the
    /// helper stays general).
    pub(crate) fn add(mut self, bytes: &[u8]) -> Self {
        let mut words = bytes.chunks_exact(2);
        for word in &mut words {
            self.0 += u32::from(u16::from_be_bytes([word[0], word[1]]));
        }
        if let [last] = words.remainder() {
            self.0 += u32::from(u16::from_be_bytes([*last, 0]));
        }
        // Fold now and then so the u32 never overflows, whatever the length.
        self.0 = (self.0 & 0xffff) + (self.0 >> 16);
        self
    }

    /// Adds the IPv4 pseudo-header: source, destination, zero, protocol 112,
    /// VRRP message length.
    pub(crate) fn add_pseudo_header(self, src: Ipv4Addr, dst: Ipv4Addr, length: u16) -> Self {
        let [l0, l1] = length.to_be_bytes();
        self.add(&src.octets()).add(&dst.octets()).add(&[0, IP_PROTO_VRRP, l0, l1])
    }

    /// The value to put in the checksum field (computed with that field zero),
    /// or zero when verifying a message whose checksum field was included.
    pub(crate) fn finish(self) -> u16 {
        let mut sum = self.0;
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        let folded = u16::try_from(sum).unwrap_or(u16::MAX);
        !folded
    }
}

/// VRRP checksum of `message` (checksum field included as it is in `message`).
pub(crate) fn vrrp_checksum(message: &[u8], pseudo: Option<(Ipv4Addr, Ipv4Addr)>) -> u16 {
    let sum = match pseudo {
        Some((src, dst)) => {
            let length = u16::try_from(message.len()).unwrap_or(u16::MAX);
            Sum::default().add_pseudo_header(src, dst, length)
        }
        None => Sum::default(),
    };
    sum.add(message).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2 (after folding).
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Sum::default().add(&bytes).finish(), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(Sum::default().add(&[0x12]).finish(), !0x1200);
    }

    #[test]
    fn verifying_a_correct_message_gives_zero() {
        let mut message = [0x21, 0x0c, 0x96, 0x01, 0x00, 0x01, 0, 0, 0xac, 0x10, 0x01, 0xfe];
        let checksum = vrrp_checksum(&message, None);
        message[6..8].copy_from_slice(&checksum.to_be_bytes());
        assert_eq!(vrrp_checksum(&message, None), 0);
    }
}
