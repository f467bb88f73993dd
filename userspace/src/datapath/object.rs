//! The eBPF object built by `build.rs` (aya-build) and embedded here, and
//! the loader settings every user of it shares.

use aya::{Ebpf, EbpfLoader};

use super::DatapathError;
use crate::config::LogLevel;

/// The ELF object of ebpf/halb-ebpf, with BTF; empty in a build without the
/// `ebpf` feature.
pub static EBPF_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/halb-datapath"));

/// Loads the object into the kernel (maps created, programs not yet loaded).
/// `log_level` sets which aya-log records the programs emit at all.
pub fn load(log_level: LogLevel) -> Result<Ebpf, DatapathError> {
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
    Ok(EbpfLoader::new().override_global(aya_log::LEVEL, &level, true).load(EBPF_OBJECT)?)
}
