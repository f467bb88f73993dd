//! The VIP steering program (`vip_steering`, `SK_LOOKUP`) through
//! `BPF_PROG_TEST_RUN`: on 6.18 a test run of an `SK_LOOKUP` program takes
//! a `struct bpf_sk_lookup` as context (no packet) and answers the verdict
//! and, in the context written back, the cookie of the socket the program
//! assigned. aya 0.14 has no `TestRun` for `SkLookup`, so the syscall is
//! made here with the loaded program's descriptor.
//!
//! The tables are filled through the daemon's own `SteeringMaps`, on pins
//! under a bpffs directory of this test's own; the listening sockets are
//! real ones on 127.0.0.1 with a kernel-chosen port (nothing is sent).

use std::{
    net::{Ipv4Addr, SocketAddrV4, TcpListener},
    os::fd::{AsFd as _, AsRawFd as _},
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

use halb::{
    config::LogLevel,
    datapath::{pins, steering::SteeringMaps, Datapath},
    proxy::FrontendConfig,
    steering,
};
use halb_common::steering::{SteeringCounters, STEERING_MAX_FRONTENDS};

const SK_DROP: u32 = 0;
const SK_PASS: u32 = 1;
const AF_INET: u32 = 2;
const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;
/// `size_of::<SkLookupContext>()`, 72 bytes.
const CONTEXT_SIZE: u32 = 72;
const VIP: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 254);
const OWN: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 250);
const CLIENT: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 100);

/// `struct bpf_sk_lookup` (uapi/linux/bpf.h), 72 bytes.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SkLookupContext {
    /// Union of `sk` and `cookie`: the selected socket's cookie on output.
    cookie: u64,
    family: u32,
    protocol: u32,
    remote_ip4: u32,
    remote_ip6: [u32; 4],
    /// Network byte order.
    remote_port: u32,
    /// Network byte order.
    local_ip4: u32,
    local_ip6: [u32; 4],
    /// Host byte order.
    local_port: u32,
    ingress_ifindex: u32,
    /// Tail padding the kernel checks is zero.
    _pad: u32,
}

/// The `test` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// Numbers the harnesses of this process (tests run in parallel).
static NEXT: AtomicU32 = AtomicU32::new(0);

struct Harness {
    datapath: Datapath,
    pin_dir: PathBuf,
    maps: SteeringMaps,
}

impl Harness {
    fn new() -> Self {
        let mut datapath = Datapath::load(LogLevel::Warn).expect("load the eBPF object");
        datapath.load_steering().expect("load vip_steering (kernel >= 5.9)");
        let pin_dir = PathBuf::from(format!(
            "/sys/fs/bpf/halb-test-steering-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        pins::pin_maps(datapath.ebpf(), &pin_dir).expect("pin the maps");
        let maps = SteeringMaps::new(&pin_dir);
        Self { datapath, pin_dir, maps }
    }

    /// Runs the program for a connection to `dst:port` over `protocol`:
    /// the verdict and the cookie of the socket it selected (0: none).
    fn run(&mut self, protocol: u32, dst: Ipv4Addr, port: u16) -> (u32, u64) {
        let input = SkLookupContext {
            family: AF_INET,
            protocol,
            remote_ip4: u32::from_ne_bytes(CLIENT.octets()),
            remote_port: u32::from(40000u16.to_be()),
            local_ip4: u32::from_ne_bytes(dst.octets()),
            local_port: u32::from(port),
            ..SkLookupContext::default()
        };
        let mut output = SkLookupContext::default();
        let program = self.datapath.load_steering().unwrap();
        let fd = program.fd().unwrap().as_fd().as_raw_fd();
        let mut attr = TestRunAttr {
            prog_fd: u32::try_from(fd).unwrap(),
            repeat: 1,
            ctx_size_in: CONTEXT_SIZE,
            ctx_size_out: CONTEXT_SIZE,
            ctx_in: std::ptr::from_ref(&input) as u64,
            ctx_out: std::ptr::from_mut(&mut output) as u64,
            ..TestRunAttr::default()
        };
        // SAFETY: BPF_PROG_TEST_RUN (10) with a valid attr of its size;
        // the context buffers live across the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                10,
                std::ptr::from_mut(&mut attr),
                u32::try_from(size_of::<TestRunAttr>()).unwrap(),
            )
        };
        assert_eq!(rc, 0, "BPF_PROG_TEST_RUN: {}", std::io::Error::last_os_error());
        (attr.retval, output.cookie)
    }

    fn counters(&self, slot: u32) -> SteeringCounters {
        self.maps.slot_counters(slot).unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = pins::remove_pins(&self.pin_dir);
    }
}

fn cookie(listener: &TcpListener) -> u64 {
    let mut value = 0u64;
    let mut len: libc::socklen_t = 8;
    // SAFETY: SO_COOKIE (57) writes a u64 into `value`.
    let rc = unsafe {
        libc::getsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            57,
            std::ptr::from_mut(&mut value).cast(),
            &raw mut len,
        )
    };
    assert_eq!(rc, 0);
    value
}

fn frontend(name: &str, bind: &str) -> FrontendConfig {
    FrontendConfig {
        name: name.into(),
        bind: bind.parse().unwrap(),
        backend: "web".into(),
        maxconn: 8,
    }
}

#[test]
fn steers_owned_vips_refuses_the_others_and_counts() {
    assert_eq!(size_of::<SkLookupContext>(), CONTEXT_SIZE as usize);
    let mut harness = Harness::new();
    let plan = steering::plan(
        &[frontend("www", "0.0.0.0:8000"), frontend("vip", "172.16.1.254:80")],
        &[VIP],
        STEERING_MAX_FRONTENDS,
    );
    harness.maps.apply(&plan).unwrap();
    let www = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).unwrap();
    let vip = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).unwrap();
    harness.maps.set_socket(0, &www).unwrap();
    harness.maps.set_socket(1, &vip).unwrap();
    assert_eq!(harness.maps.owned().unwrap(), vec![(VIP, false)], "a new VIP starts not owned");

    // Not owned: both frontends refuse the VIP; the own address (no
    // ownership entry) goes to the wildcard frontend.
    assert_eq!(harness.run(IPPROTO_TCP, VIP, 8000), (SK_DROP, 0));
    assert_eq!(harness.run(IPPROTO_TCP, VIP, 80), (SK_DROP, 0));
    assert_eq!(harness.run(IPPROTO_TCP, OWN, 8000), (SK_PASS, cookie(&www)));

    // Owned (MASTER): the VIP goes to each frontend's listener.
    harness.maps.set_owned(VIP, true).unwrap();
    assert_eq!(harness.run(IPPROTO_TCP, VIP, 8000), (SK_PASS, cookie(&www)));
    assert_eq!(harness.run(IPPROTO_TCP, VIP, 80), (SK_PASS, cookie(&vip)));

    // Not a frontend, not TCP: untouched.
    assert_eq!(harness.run(IPPROTO_TCP, VIP, 22), (SK_PASS, 0));
    assert_eq!(harness.run(IPPROTO_UDP, VIP, 8000), (SK_PASS, 0));

    // The listener gone (closed: the kernel empties its slot): normal lookup.
    drop(vip);
    assert_eq!(harness.run(IPPROTO_TCP, VIP, 80), (SK_PASS, 0));

    let www = harness.counters(0);
    assert_eq!((www.steered, www.refused, www.no_socket, www.assign_failed), (2, 1, 0, 0));
    let vip = harness.counters(1);
    assert_eq!((vip.steered, vip.refused, vip.no_socket, vip.assign_failed), (1, 1, 1, 0));

    // A backup again: refused; a new plan starts the counters from zero
    // and keeps the ownership the VRRP driver wrote.
    harness.maps.set_owned(VIP, false).unwrap();
    harness.maps.set_owned(VIP, true).unwrap();
    harness.maps.apply(&plan).unwrap();
    assert_eq!(harness.counters(0), SteeringCounters::default());
    assert_eq!(harness.maps.owned().unwrap(), vec![(VIP, true)]);
    assert_eq!(harness.run(IPPROTO_TCP, VIP, 8000), (SK_PASS, 0), "apply empties the sockets");
    assert_eq!(harness.counters(0).no_socket, 1);
}

#[test]
fn ownership_of_an_address_that_is_no_vip_is_not_written() {
    let harness = Harness::new();
    harness.maps.apply(&steering::plan(&[frontend("www", "0.0.0.0:8000")], &[], 4)).unwrap();
    assert!(harness.maps.set_owned(VIP, true).is_err(), "only apply decides what is a VIP");
    assert!(harness.maps.owned().unwrap().is_empty());
}
