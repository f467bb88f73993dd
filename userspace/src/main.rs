//! `halb`: the daemon and its command-line client. Thin on purpose: parse
//! arguments, validate config, start tracing, hand over to the library.

mod cli;

use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc instead of glibc's malloc: the proxy allocates and frees small
/// buffers and header maps on every request, and glibc's malloc cost about
/// 7 % of the proxy's CPU in a keep-alive profile (`cargo xtask bench proxy`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("halb: {err:#}");
            ExitCode::FAILURE
        }
    }
}
