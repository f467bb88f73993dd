//! The eBPF datapath as the daemon sees it: the object embedded at build
//! time ([`object`]), its programs attached per interface ([`attach`]), its
//! maps pinned under bpffs ([`pins`]) and read back as counters
//! ([`counters`]), and VIP steering on a balancer's namespace ([`steering`]).

pub mod attach;
pub mod counters;
pub mod link_handover;
pub mod link_pins;
pub mod object;
pub mod pins;
pub mod steering;

pub use attach::{AttachedPort, Datapath};

#[derive(Debug, thiserror::Error)]
pub enum DatapathError {
    #[error("loading the eBPF object: {0}")]
    Load(#[from] aya::EbpfError),
    #[error(
        "this halb was built without its eBPF datapath (feature `ebpf` off); build it with \
         `cargo build -p halb`"
    )]
    NotBuilt,
    #[error("eBPF program {0:?} is missing from the object")]
    MissingProgram(&'static str),
    #[error("eBPF map {0:?} is missing from the object")]
    MissingMap(&'static str),
    #[error("eBPF program {name}: {cause}")]
    Program { name: &'static str, cause: aya::programs::ProgramError },
    #[error("interface {interface:?}{netns}: {reason}")]
    Interface { interface: String, netns: String, reason: String },
    #[error(transparent)]
    Netns(#[from] crate::netns::NetnsError),
    #[error("pinning map {map} at {path}: {reason}")]
    Pin { map: String, path: std::path::PathBuf, reason: String },
    #[error("{path}: {cause}")]
    Io { path: std::path::PathBuf, cause: std::io::Error },
    #[error("the eBPF object: {0}")]
    Object(String),
    #[error(
        "map {map} is pinned with another layout ({pinned}) than this binary's ({object}): \
         this datapath cannot be taken over; restart the daemon instead"
    )]
    IncompatibleMap { map: String, pinned: String, object: String },
    #[error("link {path}: {reason}")]
    Link { path: std::path::PathBuf, reason: String },
    #[error("reading map {map}: {cause}")]
    Map { map: String, cause: aya::maps::MapError },
}
