//! Passing the TC links of a datapath instance from a daemon to the one
//! replacing it. A TCX link lives as long as a descriptor or a bpffs pin
//! refers to it, and `BPF_LINK_UPDATE` swaps the program behind it in one
//! step. So the old process pins each link under `<instance>/links/`, the
//! new one opens the pin, removes it and swaps the link to its own program
//! ([`adopt`]): every packet meets either the old program or the new one,
//! on the same maps, never none and never both.

use std::path::{Path, PathBuf};

use aya::programs::{
    links::{FdLink, PinnedLink},
    tc::{SchedClassifierLink, SchedClassifierLinkId},
    SchedClassifier, TcAttachType,
};

use super::{attach::program_mut, Datapath, DatapathError};

/// A link pinned for the next process, and the port it belongs to.
#[derive(Debug)]
pub struct HandedLink {
    port: usize,
    pin: PinnedLink,
    path: PathBuf,
}

/// Where an instance's links are pinned during a handover.
#[must_use]
pub fn links_dir(instance_pin_dir: &Path) -> PathBuf {
    instance_pin_dir.join("links")
}

/// The pin of program `program`'s link on interface `ifindex`.
#[must_use]
pub fn link_pin_path(
    links_dir: &Path,
    program: &str,
    ifindex: u32,
    direction: TcAttachType,
) -> PathBuf {
    let direction = match direction {
        TcAttachType::Ingress => "ingress",
        TcAttachType::Egress => "egress",
        TcAttachType::Custom(_) => "custom",
    };
    links_dir.join(format!("{program}@{ifindex}-{direction}"))
}

fn link_error(path: &Path, reason: impl std::fmt::Display) -> DatapathError {
    DatapathError::Link { path: path.to_owned(), reason: reason.to_string() }
}

/// Takes the link pinned at `path` (if any) for `program`: swaps the
/// program behind it and removes the pin. `None` when nothing is pinned.
pub fn adopt(
    program: &mut SchedClassifier,
    path: &Path,
) -> Result<Option<SchedClassifierLinkId>, DatapathError> {
    if !path.exists() {
        return Ok(None);
    }
    let pinned = PinnedLink::from_pin(path).map_err(|err| link_error(path, err))?;
    let link: FdLink = pinned.unpin().map_err(|err| link_error(path, err))?;
    let link = SchedClassifierLink::try_from(link).map_err(|err| link_error(path, err))?;
    let id = program.attach_to_link(link).map_err(|err| link_error(path, err))?;
    Ok(Some(id))
}

impl Datapath {
    /// Pins every TC link of this instance for the next process to
    /// [`adopt`]. The programs stay attached and keep running meanwhile.
    pub fn pin_links_for_handover(&mut self) -> Result<(), DatapathError> {
        let Some(dir) = self.links_dir.clone() else { return Ok(()) };
        std::fs::create_dir_all(&dir)
            .map_err(|cause| DatapathError::Io { path: dir.clone(), cause })?;
        for index in 0..self.ports.len() {
            let port = &mut self.ports[index];
            let Some(link_id) = port.link.take() else { continue };
            let name = port.program;
            let path = link_pin_path(&dir, name, port.ifindex, port.direction);
            let program = program_mut(&mut self.ebpf, name)?;
            let link = program
                .take_link(link_id)
                .map_err(|cause| DatapathError::Program { name, cause })?;
            let link = FdLink::try_from(link).map_err(|err| link_error(&path, err))?;
            let pin = link.pin(&path).map_err(|err| link_error(&path, err))?;
            self.handed.push(HandedLink { port: index, pin, path });
        }
        Ok(())
    }

    /// After a handover that failed: takes the pinned links back (their
    /// pins removed), so this process owns them again.
    pub fn reclaim_links(&mut self) -> Result<(), DatapathError> {
        let mut first_error = None;
        for HandedLink { port, pin, path } in std::mem::take(&mut self.handed) {
            let reclaimed = (|| {
                let link = pin.unpin().map_err(|err| link_error(&path, err))?;
                let link =
                    SchedClassifierLink::try_from(link).map_err(|err| link_error(&path, err))?;
                let name = self.ports[port].program;
                let program = program_mut(&mut self.ebpf, name)?;
                program.attach_to_link(link).map_err(|cause| DatapathError::Program { name, cause })
            })();
            match reclaimed {
                Ok(id) => self.ports[port].link = Some(id),
                Err(err) => {
                    tracing::warn!(path = %path.display(), %err, "link not taken back");
                    first_error.get_or_insert(err);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Whether this instance's links are pinned for another process.
    #[must_use]
    pub fn links_handed(&self) -> bool {
        !self.handed.is_empty()
    }

    /// After a handover that succeeded: lets go of everything without
    /// detaching a link or touching a pin; the new process owns them.
    pub fn release_to_successor(mut self) {
        self.handed.clear();
        self.ports.clear();
    }
}
