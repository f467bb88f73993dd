//! Attaching the programs to the configured interfaces (TCX ingress,
//! kernel >= 6.6), each inside its own network namespace, and detaching it.
//!
//! TCX links are owned by their file descriptor: if the daemon dies, the
//! kernel detaches them, so a crash never leaves a program attached. A
//! hitless upgrade passes them on through bpffs pins
//! ([`super::link_handover`]): the new process swaps each link to its own
//! program atomically, so no packet meets an interface without one.

use std::ffi::CString;

use aya::{
    programs::{tc::SchedClassifierLinkId, SchedClassifier, TcAttachType},
    Ebpf,
};
use halb_common::names::{
    PROG_PORT_CLASSIFIER, PROG_SEGMENT_FORWARD, PROG_STP_PORT_IN, PROG_STP_PORT_OUT,
    PROG_VRRP_ADVERT, PROG_VXLAN_DECAP, PROG_VXLAN_ENCAP,
};

use super::{object, object::program_mut, DatapathError};
use crate::{
    config::{AttachPoint, LogLevel},
    netns::{with_netns, Netns},
};

/// One program attached to one interface.
#[derive(Debug)]
pub struct AttachedPort {
    pub point: AttachPoint,
    pub ifindex: u32,
    /// One of [`PROGRAMS`].
    pub program: &'static str,
    pub(super) direction: TcAttachType,
    /// `None` while the link is pinned for the next process.
    pub(super) link: Option<SchedClassifierLinkId>,
}

/// One datapath instance: the object loaded once for one network namespace
/// (interface indexes, the map keys, are only unique per namespace), and
/// what is attached where.
pub struct Datapath {
    pub(super) ebpf: Ebpf,
    pub(super) ports: Vec<AttachedPort>,
    /// Where links are pinned for the next process, and looked for when
    /// attaching (a daemon loaded on its pins, [`Self::load_pinned`]).
    pub(super) links_dir: Option<std::path::PathBuf>,
    /// Links pinned for a handover in progress, by port.
    pub(super) handed: Vec<super::link_pins::HandedLink>,
    logger_taken: bool,
    /// `vip_steering` on the instance's namespace, when attached.
    pub(super) steering_link: Option<aya::programs::sk_lookup::SkLookupLinkId>,
}

impl Datapath {
    /// Loads the object and has the kernel verify every program (nothing
    /// attached yet).
    pub fn load(log_level: LogLevel) -> Result<Self, DatapathError> {
        Self::verified(object::load(log_level)?, None)
    }

    /// [`Self::load`] on the maps pinned under `pin_dir` (created and
    /// pinned there when missing); links pinned under `pin_dir/links` by a
    /// daemon handing over are taken instead of attaching anew.
    pub fn load_pinned(
        log_level: LogLevel,
        pin_dir: &std::path::Path,
    ) -> Result<Self, DatapathError> {
        let links = super::link_pins::links_dir(pin_dir);
        Self::verified(object::load_on_pins(log_level, pin_dir)?, Some(links))
    }

    fn verified(
        mut ebpf: Ebpf,
        links_dir: Option<std::path::PathBuf>,
    ) -> Result<Self, DatapathError> {
        for name in PROGRAMS {
            program_mut(&mut ebpf, name)?
                .load()
                .map_err(|cause| DatapathError::Program { name, cause })?;
        }
        Ok(Self {
            ebpf,
            ports: Vec::new(),
            links_dir,
            handed: Vec::new(),
            logger_taken: false,
            steering_link: None,
        })
    }

    /// A loaded program by name (one of [`PROGRAMS`]), e.g. for
    /// `BPF_PROG_TEST_RUN`.
    pub fn program(&self, name: &'static str) -> Result<&SchedClassifier, DatapathError> {
        self.ebpf
            .program(name)
            .ok_or(DatapathError::MissingProgram(name))?
            .try_into()
            .map_err(|cause| DatapathError::Program { name, cause })
    }

    #[must_use]
    pub fn ebpf(&self) -> &Ebpf {
        &self.ebpf
    }

    pub fn ebpf_mut(&mut self) -> &mut Ebpf {
        &mut self.ebpf
    }

    /// The reader of the programs' aya-log ring buffer, the first time only.
    pub fn take_logger(
        &mut self,
    ) -> Option<Result<aya_log::EbpfLogger<&'static dyn log::Log>, aya_log::Error>> {
        if std::mem::replace(&mut self.logger_taken, true) {
            return None;
        }
        Some(aya_log::EbpfLogger::init(&mut self.ebpf))
    }

    /// The loaded port classifier.
    pub fn classifier(&self) -> Result<&SchedClassifier, DatapathError> {
        self.program(PROG_PORT_CLASSIFIER)
    }

    #[must_use]
    pub fn ports(&self) -> &[AttachedPort] {
        &self.ports
    }

    /// Attaches the classifier to `point.interface` at TC ingress, inside
    /// `netns` (which must be the namespace `point.netns` names).
    pub fn attach(
        &mut self,
        point: &AttachPoint,
        netns: Option<&Netns>,
    ) -> Result<(), DatapathError> {
        self.attach_program(PROG_PORT_CLASSIFIER, point, netns).map(|_| ())
    }

    /// Attaches program `name` (one of [`PROGRAMS`]) to `point.interface`
    /// at TC ingress, after what is already attached there, inside `netns`
    /// (the namespace `point.netns` names).
    pub fn attach_program(
        &mut self,
        name: &'static str,
        point: &AttachPoint,
        netns: Option<&Netns>,
    ) -> Result<u32, DatapathError> {
        self.attach_program_at(name, point, netns, TcAttachType::Ingress)
    }

    /// Attaches program `name` (one of [`PROGRAMS`]) to `point.interface`
    /// at TC ingress or egress (`direction`), after what is already
    /// attached there, inside `netns`. A program is attached at most once
    /// per interface, so [`detach_program`](Self::detach_program) finds it
    /// by name whatever its direction.
    pub fn attach_program_at(
        &mut self,
        name: &'static str,
        point: &AttachPoint,
        netns: Option<&Netns>,
        direction: TcAttachType,
    ) -> Result<u32, DatapathError> {
        let interface_error = |reason: String| DatapathError::Interface {
            interface: point.interface.clone(),
            netns: netns.map(|ns| format!(" in netns {}", ns.name())).unwrap_or_default(),
            reason,
        };
        let program = program_mut(&mut self.ebpf, name)?;
        let links_dir = self.links_dir.as_deref();
        let (ifindex, link, adopted) = with_netns(netns, || {
            let ifindex = interface_index(&point.interface)
                .map_err(|err| interface_error(err.to_string()))?;
            let pinned =
                links_dir.map(|dir| super::link_pins::link_pin_path(dir, name, ifindex, direction));
            if let Some(link) = pinned
                .as_deref()
                .map(|path| super::link_pins::adopt(program, path))
                .transpose()?
                .flatten()
            {
                return Ok::<_, DatapathError>((ifindex, link, true));
            }
            let link = program.attach(&point.interface, direction).map_err(|err| {
                interface_error(format!("attaching TC {direction:?} program {name}: {err}"))
            })?;
            Ok((ifindex, link, false))
        })??;
        tracing::info!(
            adopted,
            role = %point.role,
            interface = %point.interface,
            netns = point.netns.as_deref().unwrap_or("(own)"),
            ifindex,
            program = name,
            ?direction,
            "attached at tcx"
        );
        self.ports.push(AttachedPort {
            point: point.clone(),
            ifindex,
            program: name,
            direction,
            link: Some(link),
        });
        Ok(ifindex)
    }

    /// Detaches program `name` from one interface; not attached is fine.
    pub fn detach_program(
        &mut self,
        name: &'static str,
        point: &AttachPoint,
    ) -> Result<(), DatapathError> {
        let Some(index) =
            self.ports.iter().position(|port| &port.point == point && port.program == name)
        else {
            return Ok(());
        };
        let port = self.ports.remove(index);
        if let Some(link) = port.link {
            program_mut(&mut self.ebpf, name)?
                .detach(link)
                .map_err(|cause| DatapathError::Program { name, cause })?;
        }
        tracing::info!(role = %point.role, interface = %point.interface, program = name, "detached");
        Ok(())
    }

    /// Detaches every program from one interface.
    pub fn detach(&mut self, point: &AttachPoint) -> Result<(), DatapathError> {
        let mut first_error = None;
        for name in PROGRAMS.iter().rev() {
            if let Err(err) = self.detach_program(name, point) {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Detaches everything; returns the first error after trying them all.
    pub fn detach_all(&mut self) -> Result<(), DatapathError> {
        let mut points: Vec<_> = self.ports.iter().map(|port| port.point.clone()).collect();
        points.dedup();
        let mut first_error = self.detach_steering().err();
        for point in points {
            if let Err(err) = self.detach(&point) {
                tracing::warn!(interface = %point.interface, %err, "detach failed");
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Every TC classifier of the object (`vip_steering`, the one `SK_LOOKUP`
/// program, is loaded when steering is attached).
pub const PROGRAMS: [&str; 7] = [
    PROG_PORT_CLASSIFIER,
    PROG_VRRP_ADVERT,
    PROG_SEGMENT_FORWARD,
    PROG_VXLAN_ENCAP,
    PROG_VXLAN_DECAP,
    PROG_STP_PORT_IN,
    PROG_STP_PORT_OUT,
];

/// Why an interface name has no index.
#[derive(Debug, thiserror::Error)]
pub enum InterfaceIndexError {
    #[error("name contains a NUL byte")]
    NulByte,
    #[error("no such interface ({0})")]
    NoSuchInterface(std::io::Error),
}

/// `if_nametoindex` in the calling thread's namespace.
pub fn interface_index(name: &str) -> Result<u32, InterfaceIndexError> {
    let c_name = CString::new(name).map_err(|_| InterfaceIndexError::NulByte)?;
    // SAFETY: `c_name` is a valid NUL-terminated string for the whole call.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        Err(InterfaceIndexError::NoSuchInterface(std::io::Error::last_os_error()))
    } else {
        Ok(index)
    }
}
