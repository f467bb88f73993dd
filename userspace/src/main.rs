//! `halb`: the daemon and its command-line client. Thin on purpose: parse
//! arguments, validate config, start tracing, hand over to the library.

mod cli;

use std::process::ExitCode;

use clap::Parser as _;

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
