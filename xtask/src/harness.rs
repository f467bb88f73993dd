//! What the scenario lab and the benchmarks' own small topologies share: building network
//! namespaces, veth cables, bridges and addresses behind a guard that removes them again
//! ([`topology`]), and writing the halb daemon's config from the daemon's own file types
//! ([`halb_config`]).

pub mod halb_config;
pub mod topology;
