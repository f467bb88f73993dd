//! Network namespaces by name (`/run/netns/<name>`, as `ip netns` creates
//! them), and a guard that runs code inside one and always switches back.
//!
//! `setns(2)` changes the namespace of the calling thread only, so the daemon
//! attaches programs from one thread, inside a [`NetnsGuard`]; the attached
//! TCX links are plain file descriptors and keep working in any namespace.

use std::{
    fs::File,
    io,
    os::fd::AsRawFd as _,
    path::{Path, PathBuf},
};

/// Directory where `ip netns add` creates named namespaces.
pub const NAMED_NETNS_DIR: &str = "/run/netns";

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("network namespace {name:?} not found ({path}): {cause}")]
    Open { name: String, path: PathBuf, cause: io::Error },
    #[error("cannot open the current network namespace: {0}")]
    Current(io::Error),
    #[error("setns into {what} failed: {cause}")]
    Enter { what: String, cause: io::Error },
}

/// An open handle on a named network namespace.
#[derive(Debug)]
pub struct Netns {
    name: String,
    file: File,
}

impl Netns {
    /// Opens `/run/netns/<name>`.
    pub fn open(name: &str) -> Result<Self, NetnsError> {
        let path = Path::new(NAMED_NETNS_DIR).join(name);
        let file = File::open(&path).map_err(|cause| NetnsError::Open {
            name: name.to_owned(),
            path,
            cause,
        })?;
        Ok(Self { name: name.to_owned(), file })
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The open namespace file (`setns(2)` target).
    #[must_use]
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Switches this thread into the namespace until the guard drops.
    pub fn enter(&self) -> Result<NetnsGuard, NetnsError> {
        let original = File::open("/proc/thread-self/ns/net").map_err(NetnsError::Current)?;
        setns(&self.file).map_err(|cause| NetnsError::Enter { what: self.name.clone(), cause })?;
        Ok(NetnsGuard { original })
    }
}

/// Returns the thread to the namespace it was in before [`Netns::enter`].
#[must_use = "dropping the guard switches back at once"]
pub struct NetnsGuard {
    original: File,
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        if let Err(err) = setns(&self.original) {
            // Staying in the wrong namespace would make every later name
            // lookup wrong; there is no safe way to continue.
            tracing::error!(%err, "cannot switch back to the original network namespace");
            std::process::abort();
        }
    }
}

/// Runs `f` inside `netns` (or right here for `None`).
pub fn with_netns<T>(netns: Option<&Netns>, f: impl FnOnce() -> T) -> Result<T, NetnsError> {
    let _guard = netns.map(Netns::enter).transpose()?;
    Ok(f())
}

fn setns(file: &File) -> io::Result<()> {
    // SAFETY: setns only reads the descriptor, which `file` keeps open.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
