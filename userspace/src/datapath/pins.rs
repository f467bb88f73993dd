//! The daemon's pins: every map of the object under `<bpffs>/halb/<node>/`
//! so `bpftool map dump pinned ...` works during a demo, removed again on a
//! clean stop (and, if a crash left them, on the next start).

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use aya::Ebpf;
use halb_common::names::PINNED_MAPS;

use super::DatapathError;

/// `BPF_FS_MAGIC` from <linux/magic.h>.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// Fails unless `bpffs` is a mounted bpf filesystem.
pub fn check_bpffs(bpffs: &Path) -> Result<(), DatapathError> {
    let c_path = std::ffi::CString::new(bpffs.as_os_str().as_encoded_bytes()).map_err(|_| {
        DatapathError::Io { path: bpffs.to_owned(), cause: io::ErrorKind::InvalidInput.into() }
    })?;
    // SAFETY: statfs fills the zeroed struct; the path is NUL-terminated.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c_path.as_ptr(), &raw mut stat) };
    if rc != 0 {
        return Err(DatapathError::Io {
            path: bpffs.to_owned(),
            cause: io::Error::last_os_error(),
        });
    }
    if stat.f_type != BPF_FS_MAGIC {
        return Err(DatapathError::Io {
            path: bpffs.to_owned(),
            cause: io::Error::other("not a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)"),
        });
    }
    Ok(())
}

/// The pin path of one map.
#[must_use]
pub fn map_pin_path(pin_dir: &Path, map: &str) -> PathBuf {
    pin_dir.join(map)
}

/// Pins every map in [`PINNED_MAPS`] under `pin_dir` (created if missing).
pub fn pin_maps(ebpf: &Ebpf, pin_dir: &Path) -> Result<Vec<PathBuf>, DatapathError> {
    fs::create_dir_all(pin_dir)
        .map_err(|cause| DatapathError::Io { path: pin_dir.to_owned(), cause })?;
    let mut pinned = Vec::new();
    for name in PINNED_MAPS {
        let map = ebpf.map(name).ok_or(DatapathError::MissingMap(name))?;
        let path = map_pin_path(pin_dir, name);
        map.pin(&path).map_err(|err| DatapathError::Pin {
            map: name.to_owned(),
            path: path.clone(),
            reason: err.to_string(),
        })?;
        pinned.push(path);
    }
    Ok(pinned)
}

/// Removes the map pins of one datapath instance and its directory.
/// Missing files are fine; files we do not own are left alone.
pub fn remove_pins(instance_dir: &Path) -> Result<(), DatapathError> {
    for name in PINNED_MAPS {
        let path = map_pin_path(instance_dir, name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(cause) => return Err(DatapathError::Io { path, cause }),
        }
    }
    // Links pinned for a handover that never completed: removing the pin
    // detaches the program once no process holds the link.
    let links = super::link_pins::links_dir(instance_dir);
    match fs::read_dir(&links) {
        Ok(entries) => {
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                fs::remove_file(&path).map_err(|cause| DatapathError::Io { path, cause })?;
            }
            remove_dir_if_empty(&links)?;
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(cause) => return Err(DatapathError::Io { path: links, cause }),
    }
    remove_dir_if_empty(instance_dir)
}

/// Removes every instance's pins under a node's directory, then the node
/// directory and the `halb/` directory above it if they are empty.
pub fn remove_node_pins(node_dir: &Path) -> Result<(), DatapathError> {
    match fs::read_dir(node_dir) {
        Ok(entries) => {
            for entry in entries.filter_map(Result::ok) {
                if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                    remove_pins(&entry.path())?;
                }
            }
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(cause) => return Err(DatapathError::Io { path: node_dir.to_owned(), cause }),
    }
    remove_dir_if_empty(node_dir)?;
    node_dir.parent().map_or(Ok(()), remove_dir_if_empty)
}

fn remove_dir_if_empty(dir: &Path) -> Result<(), DatapathError> {
    match fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        // Not empty (another daemon's pins, files we do not own) or gone.
        Err(err)
            if matches!(err.kind(), io::ErrorKind::NotFound | io::ErrorKind::DirectoryNotEmpty) =>
        {
            Ok(())
        }
        Err(cause) => Err(DatapathError::Io { path: dir.to_owned(), cause }),
    }
}
