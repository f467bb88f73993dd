//! Builds the eBPF object (ebpf/halb-ebpf) with the nightly toolchain so that a
//! plain `cargo build -p halb` produces a daemon with its datapath embedded.
use anyhow::{anyhow, Context as _};
use aya_build::{build_ebpf, Package, Toolchain};

fn main() -> anyhow::Result<()> {
    let root_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../ebpf/halb-ebpf");
    let package = Package { name: "halb-ebpf", root_dir, ..Default::default() };
    build_ebpf([package], Toolchain::Nightly)
        .context(
            "building the eBPF object (needs `cargo xtask setup`: nightly rust-src and bpf-linker)",
        )
        .map_err(|err| anyhow!("{err:#}"))
}
