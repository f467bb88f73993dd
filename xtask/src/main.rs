//! `cargo xtask`: one entry point for everything a developer or a demo runs.

use clap::Parser as _;

fn main() -> anyhow::Result<()> {
    xtask::cli::Cli::parse().run()
}
