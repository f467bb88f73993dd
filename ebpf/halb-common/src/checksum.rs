//! The Internet checksum (RFC 1071), in one place for the eBPF programs, the
//! daemon and the tests: the ones' complement of the ones' complement sum of
//! the data as big-endian 16-bit words. An IPv4 header sums the header; VRRP
//! version 3 (like UDP and TCP) adds the IPv4 pseudo-header.
//!
//! [`InternetSum`] is the running sum: add byte runs, words or the
//! pseudo-header in any order (the sum is commutative), then take
//! [`InternetSum::checksum`] to fill a checksum field computed with that
//! field zero, or check that a message summed with its checksum field gives
//! [`InternetSum::verifies`].
//!
//! For the eBPF verifier: every loop is bounded by a slice length and every
//! helper is `#[inline(always)]`, so called on a fixed-size array (as the
//! programs do) the bound is a constant and each load has a known offset;
//! nothing is read beyond the array.
#![expect(
    clippy::inline_always,
    reason = "the eBPF programs need the loops inlined where their bounds are constants"
)]

/// A running ones' complement sum, kept folded to 16 bits after every word,
/// so it never overflows whatever the length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InternetSum(u32);

impl InternetSum {
    /// The empty sum.
    #[must_use]
    pub const fn new() -> Self {
        Self(0)
    }

    /// Adds one 16-bit word.
    #[inline(always)]
    #[must_use]
    pub const fn add_word(self, word: u16) -> Self {
        let sum = self.0 + word as u32;
        // End-around carry: the sum stays at most 0xffff.
        Self((sum & 0xffff) + (sum >> 16))
    }

    /// Adds `bytes` as big-endian words; an odd trailing byte is padded
    /// with zero (RFC 1071 §2).
    #[inline(always)]
    #[must_use]
    pub const fn add_bytes(self, bytes: &[u8]) -> Self {
        let mut sum = self;
        let mut index = 0;
        while index + 1 < bytes.len() {
            sum = sum.add_word(u16::from_be_bytes([bytes[index], bytes[index + 1]]));
            index += 2;
        }
        if index < bytes.len() {
            sum = sum.add_word(u16::from_be_bytes([bytes[index], 0]));
        }
        sum
    }

    /// Adds the IPv4 pseudo-header (RFC 768, RFC 5798 §5.2.8): source,
    /// destination, zero, protocol, and `length`, the length of what
    /// follows the IPv4 header.
    #[inline(always)]
    #[must_use]
    pub const fn add_ipv4_pseudo_header(
        self,
        source: [u8; 4],
        destination: [u8; 4],
        protocol: u8,
        length: u16,
    ) -> Self {
        self.add_bytes(&source).add_bytes(&destination).add_word(protocol as u16).add_word(length)
    }

    /// The sum folded to 16 bits, not inverted.
    #[inline(always)]
    #[must_use]
    pub const fn folded(self) -> u16 {
        #[expect(clippy::cast_possible_truncation, reason = "add_word keeps the sum in 16 bits")]
        let folded = self.0 as u16;
        folded
    }

    /// The value for a checksum field that was zero while summing.
    #[inline(always)]
    #[must_use]
    pub const fn checksum(self) -> u16 {
        !self.folded()
    }

    /// Whether a message summed with its checksum field in place is
    /// intact: its sum is all ones, so [`Self::checksum`] is zero.
    #[inline(always)]
    #[must_use]
    pub const fn verifies(self) -> bool {
        self.checksum() == 0
    }
}

/// The checksum of `bytes` alone.
#[inline(always)]
#[must_use]
pub const fn internet_checksum(bytes: &[u8]) -> u16 {
    InternetSum::new().add_bytes(bytes).checksum()
}

/// The IPv4 header checksum of a 20-byte header whose checksum field is 0.
#[inline(always)]
#[must_use]
pub const fn ipv4_header_checksum(header: &[u8; 20]) -> u16 {
    internet_checksum(header)
}

#[cfg(test)]
mod tests {
    use super::{internet_checksum, ipv4_header_checksum, InternetSum};

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(InternetSum::new().add_bytes(&bytes).folded(), 0xddf2);
        assert_eq!(internet_checksum(&bytes), !0xddf2);
    }

    #[test]
    fn a_captured_ipv4_header() {
        // 192.168.0.1 -> 192.168.0.199, UDP, DF, TTL 64, 115 bytes; the
        // captured header carries 0xb861.
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(ipv4_header_checksum(&header), 0xb861);
        header[10..12].copy_from_slice(&0xb861_u16.to_be_bytes());
        assert!(InternetSum::new().add_bytes(&header).verifies());
        header[8] = 63; // TTL changed, checksum not updated
        assert!(!InternetSum::new().add_bytes(&header).verifies());
    }

    #[test]
    fn a_vrrp_v3_advert_with_its_pseudo_header() {
        // The lab's VRRPv3 advert from 172.16.1.250 to 224.0.0.18: VRID 12,
        // priority 150, 100 cs, one address 172.16.1.254; its checksum
        // 0xfbe5 is worked out by hand in the daemon's VRRP packet tests.
        let mut message = [0x31, 0x0c, 0x96, 0x01, 0x00, 0x64, 0, 0, 0xac, 0x10, 0x01, 0xfe];
        let sum = |message: &[u8]| {
            InternetSum::new()
                .add_ipv4_pseudo_header([172, 16, 1, 250], [224, 0, 0, 18], 112, 12)
                .add_bytes(message)
        };
        assert_eq!(sum(&message).checksum(), 0xfbe5);
        message[6..8].copy_from_slice(&0xfbe5_u16.to_be_bytes());
        assert!(sum(&message).verifies());
    }

    #[test]
    fn odd_lengths_pad_with_zero_and_words_fold_their_carry() {
        assert_eq!(internet_checksum(&[0x12]), !0x1200);
        assert_eq!(InternetSum::new().add_word(0xffff).add_word(0x0002).folded(), 0x0002);
        // Many words of all ones never overflow and stay all ones.
        assert_eq!(InternetSum::new().add_bytes(&[0xff; 4096]).folded(), 0xffff);
    }

    #[test]
    fn the_order_of_the_parts_does_not_matter() {
        let a = [0x12, 0x34, 0x56, 0x78];
        let b = [0x9a, 0xbc];
        let ab = InternetSum::new().add_bytes(&a).add_bytes(&b);
        let ba = InternetSum::new().add_bytes(&b).add_bytes(&a);
        assert_eq!(ab, ba);
        assert_eq!(ab, InternetSum::new().add_bytes(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]));
    }
}
