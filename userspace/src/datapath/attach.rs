//! Attaching the programs to the configured interfaces (TCX ingress,
//! kernel >= 6.6), each inside its own network namespace, and detaching it.
//!
//! TCX links are owned by their file descriptor: if the daemon dies, the
//! kernel detaches them, so a crash never leaves a program attached.

use std::ffi::CString;

use aya::{
    programs::{tc::SchedClassifierLinkId, SchedClassifier, TcAttachType},
    Ebpf,
};
use halb_common::names::{
    PROG_PORT_CLASSIFIER, PROG_SEGMENT_FORWARD, PROG_STP_PORT_IN, PROG_STP_PORT_OUT,
    PROG_VRRP_ADVERT, PROG_VXLAN_DECAP, PROG_VXLAN_ENCAP,
};

use super::{object, DatapathError};
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
    link: SchedClassifierLinkId,
}

/// One datapath instance: the object loaded once for one network namespace
/// (interface indexes, the map keys, are only unique per namespace), and
/// what is attached where.
pub struct Datapath {
    ebpf: Ebpf,
    ports: Vec<AttachedPort>,
    logger_taken: bool,
    /// `vip_steering` on the instance's namespace, when attached.
    pub(super) steering_link: Option<aya::programs::sk_lookup::SkLookupLinkId>,
}

impl Datapath {
    /// Loads the object and has the kernel verify every program (nothing
    /// attached yet).
    pub fn load(log_level: LogLevel) -> Result<Self, DatapathError> {
        let mut ebpf = object::load(log_level)?;
        for name in PROGRAMS {
            program_mut(&mut ebpf, name)?
                .load()
                .map_err(|cause| DatapathError::Program { name, cause })?;
        }
        Ok(Self { ebpf, ports: Vec::new(), logger_taken: false, steering_link: None })
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
        let (ifindex, link) = with_netns(netns, || {
            let ifindex = interface_index(&point.interface)
                .map_err(|err| interface_error(err.to_string()))?;
            let link = program.attach(&point.interface, direction).map_err(|err| {
                interface_error(format!("attaching TC {direction:?} program {name}: {err}"))
            })?;
            Ok::<_, DatapathError>((ifindex, link))
        })??;
        tracing::info!(
            role = %point.role,
            interface = %point.interface,
            netns = point.netns.as_deref().unwrap_or("(own)"),
            ifindex,
            program = name,
            ?direction,
            "attached at tcx"
        );
        self.ports.push(AttachedPort { point: point.clone(), ifindex, program: name, link });
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
        program_mut(&mut self.ebpf, name)?
            .detach(port.link)
            .map_err(|cause| DatapathError::Program { name, cause })?;
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

fn program_mut<'a>(
    ebpf: &'a mut Ebpf,
    name: &'static str,
) -> Result<&'a mut SchedClassifier, DatapathError> {
    ebpf.program_mut(name)
        .ok_or(DatapathError::MissingProgram(name))?
        .try_into()
        .map_err(|cause| DatapathError::Program { name, cause })
}

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
