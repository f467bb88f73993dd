//! Builds the eBPF object (ebpf/halb-ebpf) with the nightly toolchain so that a
//! plain `cargo build -p halb` produces a daemon with its datapath embedded.
//!
//! Without the `ebpf` feature (`cargo test -p halb --no-default-features`)
//! nothing is built and an empty object is embedded: the protocol cores, the
//! config and the proxy then build on stable with no bpf-linker, and loading
//! the datapath fails with a message saying how to build it.

fn main() -> anyhow::Result<()> {
    #[cfg(feature = "ebpf")]
    {
        use anyhow::{anyhow, Context as _};
        use aya_build::{build_ebpf, Package, Toolchain};

        let root_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../ebpf/halb-ebpf");
        let package = Package { name: "halb-ebpf", root_dir, ..Default::default() };
        build_ebpf([package], Toolchain::Nightly)
            .context(
                "building the eBPF object (needs `cargo xtask setup`: nightly rust-src and \
                 bpf-linker)",
            )
            .map_err(|err| anyhow!("{err:#}"))
    }
    #[cfg(not(feature = "ebpf"))]
    {
        use anyhow::Context as _;

        let out_dir = std::env::var("OUT_DIR").context("OUT_DIR is not set")?;
        let object = std::path::Path::new(&out_dir).join("halb-datapath");
        std::fs::write(&object, []).with_context(|| format!("writing {}", object.display()))
    }
}
