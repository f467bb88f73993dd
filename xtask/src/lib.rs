//! halb's developer tooling as a library, so the integration tests under
//! `tests/` drive the same lab code that `cargo xtask lab ...` runs.
//!
//! - [`setup`]: installs what a fresh Debian 12 machine lacks.
//! - [`lab`]: the scenario of SCENARIO.md in network namespaces.
//! - [`suite`]: `cargo xtask test` and `cargo xtask run`.
//! - [`bench`]: benchmarks of halb against the classic stack on the lab.
//! - [`harness`]: what the lab and the benches share (topology building, halb configs).
//! - [`fuzz`]: the coverage-guided fuzz targets of `userspace/fuzz`.
//! - [`workspace`]: where the checkout is.

pub mod bench;
pub mod fuzz;
pub mod harness;
pub mod lab;
pub mod setup;
pub mod suite;
pub mod workspace;
