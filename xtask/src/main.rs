//! `cargo xtask`: one entry point for everything a developer or a demo runs.

use std::process::ExitCode;

use clap::Parser as _;

/// Errors end the command as one line, `error: what failed: why`, whatever
/// `RUST_BACKTRACE` says: every error carries its context, and a backtrace of xtask
/// tells a user nothing they can act on.
fn main() -> ExitCode {
    match xtask::cli::Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
