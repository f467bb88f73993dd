//! The bpffs pins of TC links during a handover, and taking one over.
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

use super::DatapathError;

/// A link pinned for the next process, and the port it belongs to.
#[derive(Debug)]
pub struct HandedLink {
    pub port: usize,
    pub pin: PinnedLink,
    pub path: PathBuf,
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

pub(super) fn link_error(path: &Path, reason: impl std::fmt::Display) -> DatapathError {
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
