//! Attaching the port classifier to the configured interfaces (TCX ingress,
//! kernel >= 6.6), each inside its own network namespace, and detaching it.
//!
//! TCX links are owned by their file descriptor: if the daemon dies, the
//! kernel detaches them, so a crash never leaves a program attached.

use std::ffi::CString;

use aya::{
    programs::{tc::SchedClassifierLinkId, SchedClassifier, TcAttachType},
    Ebpf,
};
use halb_common::names::{PROG_PORT_CLASSIFIER, PROG_VRRP_ADVERT};

use super::{object, DatapathError};
use crate::{
    config::{AttachPoint, LogLevel},
    netns::{with_netns, Netns},
};

/// One interface with the classifier attached.
#[derive(Debug)]
pub struct AttachedPort {
    pub point: AttachPoint,
    pub ifindex: u32,
    link: SchedClassifierLinkId,
}

/// One datapath instance: the object loaded once for one network namespace
/// (interface indexes, the map keys, are only unique per namespace), and
/// what is attached where.
pub struct Datapath {
    ebpf: Ebpf,
    ports: Vec<AttachedPort>,
    logger_taken: bool,
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
        Ok(Self { ebpf, ports: Vec::new(), logger_taken: false })
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
        let interface_error = |reason: String| DatapathError::Interface {
            interface: point.interface.clone(),
            netns: netns.map(|ns| format!(" in netns {}", ns.name())).unwrap_or_default(),
            reason,
        };
        let program = classifier_mut(&mut self.ebpf)?;
        let (ifindex, link) = with_netns(netns, || {
            let ifindex = interface_index(&point.interface).map_err(&interface_error)?;
            let link = program
                .attach(&point.interface, TcAttachType::Ingress)
                .map_err(|err| interface_error(format!("attaching TC ingress program: {err}")))?;
            Ok::<_, DatapathError>((ifindex, link))
        })??;
        tracing::info!(
            role = %point.role,
            interface = %point.interface,
            netns = point.netns.as_deref().unwrap_or("(own)"),
            ifindex,
            program = PROG_PORT_CLASSIFIER,
            "attached at tcx ingress"
        );
        self.ports.push(AttachedPort { point: point.clone(), ifindex, link });
        Ok(())
    }

    /// Detaches the classifier from one interface. An interface that has
    /// disappeared (its link already gone) is not an error.
    pub fn detach(&mut self, point: &AttachPoint) -> Result<(), DatapathError> {
        let Some(index) = self.ports.iter().position(|port| &port.point == point) else {
            return Ok(());
        };
        let port = self.ports.remove(index);
        classifier_mut(&mut self.ebpf)?
            .detach(port.link)
            .map_err(|cause| DatapathError::Program { name: PROG_PORT_CLASSIFIER, cause })?;
        tracing::info!(role = %point.role, interface = %point.interface, "detached");
        Ok(())
    }

    /// Detaches everything; returns the first error after trying them all.
    pub fn detach_all(&mut self) -> Result<(), DatapathError> {
        let points: Vec<_> = self.ports.iter().map(|port| port.point.clone()).collect();
        let mut first_error = None;
        for point in points {
            if let Err(err) = self.detach(&point) {
                tracing::warn!(interface = %point.interface, %err, "detach failed");
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Every program of the object; all are TC classifiers.
pub const PROGRAMS: [&str; 2] = [PROG_PORT_CLASSIFIER, PROG_VRRP_ADVERT];

fn program_mut<'a>(
    ebpf: &'a mut Ebpf,
    name: &'static str,
) -> Result<&'a mut SchedClassifier, DatapathError> {
    ebpf.program_mut(name)
        .ok_or(DatapathError::MissingProgram(name))?
        .try_into()
        .map_err(|cause| DatapathError::Program { name, cause })
}

fn classifier_mut(ebpf: &mut Ebpf) -> Result<&mut SchedClassifier, DatapathError> {
    program_mut(ebpf, PROG_PORT_CLASSIFIER)
}

/// `if_nametoindex` in the calling thread's namespace.
fn interface_index(name: &str) -> Result<u32, String> {
    let c_name = CString::new(name).map_err(|_| "name contains a NUL byte".to_owned())?;
    // SAFETY: `c_name` is a valid NUL-terminated string for the whole call.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        Err(format!("no such interface ({})", std::io::Error::last_os_error()))
    } else {
        Ok(index)
    }
}
