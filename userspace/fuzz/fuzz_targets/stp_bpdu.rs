//! Any bytes as an LLC PDU: decoding never panics, and whatever decodes
//! encodes back to a PDU that decodes to the same BPDU.
#![no_main]

use halb::stp::bpdu::Bpdu;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|pdu: &[u8]| {
    if let Ok(bpdu) = Bpdu::decode(pdu) {
        let again = Bpdu::decode(&bpdu.encode());
        assert_eq!(again, Ok(bpdu), "encode/decode round trip of {pdu:02x?}");
    }
});
