//! halb's eBPF programs live in the `halb` binary target of this crate
//! (`src/main.rs`). This empty library exists because userspace has a
//! build-dependency on this package (so cargo rebuilds the object when the
//! sources change), and a build-dependency needs a library target.
#![no_std]
