//! Any bytes as a received VRRP packet (first byte the IP TTL, then source
//! and destination addresses, then the payload): decoding never panics, and
//! an advert that decodes encodes back to one that decodes the same.
#![no_main]

use std::net::Ipv4Addr;

use halb::vrrp::packet::{Advertisement, IpMeta};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&ttl, rest)) = data.split_first() else { return };
    let Some((addresses, payload)) = rest.split_first_chunk::<8>() else { return };
    let src = Ipv4Addr::new(addresses[0], addresses[1], addresses[2], addresses[3]);
    let dst = Ipv4Addr::new(addresses[4], addresses[5], addresses[6], addresses[7]);
    let ip = IpMeta { src, dst, ttl };
    let Ok(advert) = Advertisement::decode(payload, &ip) else { return };
    let wire = advert.encode(src, dst).expect("a decoded advert encodes");
    assert_eq!(Advertisement::decode(&wire, &ip), Ok(advert));
});
