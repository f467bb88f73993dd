//! The limits on a request head every frontend enforces: hyper is set to
//! them, and the head tap sizes its buffer from them.

/// Largest request head (haproxy's default `tune.bufsize` is 16 KiB; we
/// allow more, hyper answers 431 beyond).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Most header fields in a request head (haproxy: 101); 431 beyond.
pub const MAX_HEADERS: usize = 100;
