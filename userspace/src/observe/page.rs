//! The status page: one self-contained HTML file (styles and script inline, no outside
//! fetches) that reads `/status.json` every two seconds and draws the four levels.

/// The page served at `/`.
pub const INDEX_HTML: &str = include_str!("page/index.html");
