//! A datapath instance's side of a handover ([`super::link_pins`]): pin
//! its TC links for the next process, take them back if the handover
//! fails, let go of everything if it succeeds.

use aya::programs::{links::FdLink, tc::SchedClassifierLink};

use super::{
    link_pins::{link_error, link_pin_path, HandedLink},
    object::program_mut,
    Datapath, DatapathError,
};

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
