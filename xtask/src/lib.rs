//! halb's developer tooling as a library, so the integration tests under
//! `tests/` drive the same lab code that `cargo xtask lab ...` runs.
//!
//! - [`cli`]: the `cargo xtask` command line, parsed by `main` (and by the docs test).
//! - [`setup`]: installs what a fresh Debian 12 machine lacks.
//! - [`lab`]: the scenario of SCENARIO.md in network namespaces.
//! - [`daemon_build`]: where the daemon binary is, built first by the commands that run it.
//! - [`suite`]: `cargo xtask test` and `cargo xtask run`.
//! - [`bench`]: benchmarks of halb against the classic stack on the lab.
//! - [`install`]: halb as a systemd service.
//! - [`harness`]: what the lab and the benches share (topology building, halb configs).
//! - [`fuzz`]: the coverage-guided fuzz targets of `userspace/fuzz`.
//! - [`workspace`]: where the checkout is.
//! - [`progress`]: `[n/m]` lines with the time left, for the benches and `lab up`.

pub mod bench;
pub mod calendar;
pub mod cli;
pub mod daemon_build;
pub mod fuzz;
pub mod harness;
pub mod install;
pub mod lab;
pub mod progress;
pub mod setup;
pub mod suite;
pub mod workspace;
