//! Where the workspace is: the one place the xtask modules (the test suite, the fuzz runner)
//! find files of the checkout from.

use std::path::{Path, PathBuf};

/// The workspace root (xtask lives one level below it).
#[must_use]
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
