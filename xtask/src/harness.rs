//! What the scenario lab and the benchmarks' own small topologies share: writing the halb
//! daemon's config from the daemon's own file types ([`halb_config`]).

pub mod halb_config;
