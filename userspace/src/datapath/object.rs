//! The eBPF object built by `build.rs` (aya-build) and embedded here, and
//! the loader settings every user of it shares.

use std::path::Path;

use aya::{programs::SchedClassifier, Ebpf, EbpfLoader};
use halb_common::names::PINNED_MAPS;

use super::{pins::map_pin_path, DatapathError};
use crate::config::LogLevel;

/// The ELF object of ebpf/halb-ebpf, with BTF; empty in a build without the
/// `ebpf` feature.
pub static EBPF_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/halb-datapath"));

/// Loads the object into the kernel (maps created, programs not yet loaded).
/// `log_level` sets which aya-log records the programs emit at all.
pub fn load(log_level: LogLevel) -> Result<Ebpf, DatapathError> {
    load_with(log_level, None)
}

/// [`load`], with every map of [`PINNED_MAPS`] taken from its pin under
/// `pin_dir` when one is there (a running daemon's, handed over), created
/// and pinned there otherwise.
pub fn load_on_pins(log_level: LogLevel, pin_dir: &Path) -> Result<Ebpf, DatapathError> {
    std::fs::create_dir_all(pin_dir)
        .map_err(|cause| DatapathError::Io { path: pin_dir.to_owned(), cause })?;
    check_pinned_layouts(pin_dir)?;
    load_with(log_level, Some(pin_dir))
}

fn load_with(log_level: LogLevel, pin_dir: Option<&Path>) -> Result<Ebpf, DatapathError> {
    if EBPF_OBJECT.is_empty() {
        return Err(DatapathError::NotBuilt);
    }
    // aya-log-ebpf levels: error 1, warn 2, info 3, debug 4, trace 5.
    let level: u8 = match log_level {
        LogLevel::Error => 1,
        LogLevel::Warn => 2,
        LogLevel::Info => 3,
        LogLevel::Debug => 4,
        LogLevel::Trace => 5,
    };
    let mut loader = EbpfLoader::new();
    loader.override_global(aya_log::LEVEL, &level, true);
    if let Some(dir) = pin_dir {
        for name in PINNED_MAPS {
            loader.map_pin_path(name, map_pin_path(dir, name));
        }
    }
    Ok(loader.load(EBPF_OBJECT)?)
}

/// Fails, naming the map and both layouts, if a map pinned under `pin_dir`
/// differs in type, key size, value size or size from this object's: the
/// programs would read it wrongly, so such a datapath cannot be taken over
/// and the change takes a restart.
pub fn check_pinned_layouts(pin_dir: &Path) -> Result<(), DatapathError> {
    if EBPF_OBJECT.is_empty() {
        return Err(DatapathError::NotBuilt);
    }
    let object = aya_obj::Object::parse(EBPF_OBJECT)
        .map_err(|err| DatapathError::Object(err.to_string()))?;
    for name in PINNED_MAPS {
        let path = map_pin_path(pin_dir, name);
        if !path.exists() {
            continue;
        }
        let Some(ours) = object.maps.get(name) else { continue };
        let pinned = aya::maps::MapInfo::from_pin(&path)
            .map_err(|cause| DatapathError::Map { map: name.to_owned(), cause })?;
        let layout = |kind: u32, key: u32, value: u32, entries: u32| {
            format!("type {kind}, key {key} B, value {value} B, {entries} entries")
        };
        let theirs = layout(
            pinned.map_type().map_or(u32::MAX, |kind| kind as u32),
            pinned.key_size(),
            pinned.value_size(),
            pinned.max_entries(),
        );
        let mine = layout(ours.map_type(), ours.key_size(), ours.value_size(), ours.max_entries());
        if theirs != mine {
            return Err(DatapathError::IncompatibleMap {
                map: name.to_owned(),
                pinned: theirs,
                object: mine,
            });
        }
    }
    Ok(())
}

/// A TC program of the loaded object by name.
pub fn program_mut<'a>(
    ebpf: &'a mut Ebpf,
    name: &'static str,
) -> Result<&'a mut SchedClassifier, DatapathError> {
    ebpf.program_mut(name)
        .ok_or(DatapathError::MissingProgram(name))?
        .try_into()
        .map_err(|cause| DatapathError::Program { name, cause })
}
