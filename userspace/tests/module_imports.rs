//! No import cycles between the modules of the halb crate and of xtask: dependencies between
//! modules go one way, so each module can be read (and tested) knowing only
//! those below it.
//!
//! The graph is read from the source, from each crate root of the package
//! (`src/lib.rs`, and `src/main.rs` for the binary with its `cli` modules),
//! following `mod x;` to files. Module A depends on module B when A's code
//! names a path into B:
//!
//! - a `use` whose path starts with `crate::`, `super::`, `self::` or the
//!   name of one of A's own child modules (2018 paths), one edge per leaf of
//!   the use tree;
//! - a path in code (expressions, types, macro arguments) starting the same
//!   way, such as `crate::vrrp::packet::encode(..)`.
//!
//! A path lands in the deepest module it walks through; a name that module
//! re-exports (`pub use`) is followed to the module that defines it, so
//! `crate::proxy::Balance` is a dependency on `proxy::balance`, not on the
//! `proxy` facade.
//!
//! Parents and children: `mod child;` is not a dependency, and neither is a
//! parent's `pub use` of its own descendants' items (the parent is their
//! facade, not their user). It becomes one when the parent's own code uses
//! the re-exported name (an `enum` variant holding a child's error type,
//! say), and any private `use` or path from a parent into a child counts.
//! A child naming its parent's items (`super::X`) always counts. So a parent
//! that holds types its children share may re-export them, but may not use
//! the children's items in turn.
//!
//! Limits: a glob import (`use super::*`) is a dependency on the module it
//! names, not on what that module re-exports; names brought in by macros
//! are not seen; a module naming itself is no cycle.
//!
//! On failure the test names each cycle, `a -> b -> a`, with the file, line
//! and path of each step.

#[path = "module_graph/cycles.rs"]
mod cycles;
#[path = "module_graph/graph.rs"]
mod graph;
mod module_graph {
    #[path = "scan.rs"]
    pub mod scan;
    #[path = "tokens.rs"]
    pub mod tokens;
}

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use graph::{display, Crate, Edge};
use module_graph::scan;

/// Each cycle among the crate's modules, described one step a line.
fn describe_cycles(krate: &Crate) -> Vec<String> {
    let edges = krate.edges();
    let mut graph: cycles::Graph<scan::ModPath> = BTreeMap::new();
    let mut evidence: BTreeMap<(scan::ModPath, scan::ModPath), &Edge> = BTreeMap::new();
    for edge in &edges {
        graph.entry(edge.from.clone()).or_default().insert(edge.to.clone());
        graph.entry(edge.to.clone()).or_default();
        evidence.entry((edge.from.clone(), edge.to.clone())).or_insert(edge);
    }
    cycles::cycles(&graph)
        .into_iter()
        .map(|cycle| {
            let names: Vec<String> = cycle.iter().map(display).collect();
            let mut text = names.join(" -> ");
            for step in cycle.windows(2) {
                let edge = evidence[&(step[0].clone(), step[1].clone())];
                let _ = write!(
                    text,
                    "\n    {} -> {}: {}",
                    display(&edge.from),
                    display(&edge.to),
                    edge.evidence
                );
            }
            text
        })
        .collect()
}

/// The `.rs` files below `dir` (relative to `base`), as paths relative to `base`.
fn rust_files(base: &Path, dir: &Path, found: &mut BTreeSet<PathBuf>) {
    for entry in std::fs::read_dir(base.join(dir)).expect("read the source folder") {
        let path = dir.join(entry.expect("a folder entry").file_name());
        if base.join(&path).is_dir() {
            rust_files(base, &path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.insert(path);
        }
    }
}

/// Checks the package in `package` (relative to this one): every file under its `src`
/// reached from a crate root, and no cycle.
fn assert_no_cycles(package: &Path) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(package);
    let read = |path: &Path| std::fs::read_to_string(manifest.join(path)).ok();
    let mut reached = BTreeSet::new();
    let mut problems = Vec::new();
    for root in ["lib.rs", "main.rs"] {
        let krate =
            Crate::load(&Path::new("src").join(root), &read).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !krate.edges().is_empty() || root == "main.rs",
            "no dependencies found from {root}: the scanner is broken"
        );
        reached.extend(krate.files());
        problems.extend(describe_cycles(&krate).into_iter().map(|c| format!("{root}: {c}")));
    }
    let mut all = BTreeSet::new();
    rust_files(&manifest, Path::new("src"), &mut all);
    let unreached: Vec<_> = all.difference(&reached).collect();
    assert!(
        unreached.is_empty(),
        "files no crate root reaches by `mod`, so not checked: {unreached:?}"
    );
    assert!(problems.is_empty(), "import cycles between modules:\n{}", problems.join("\n"));
}

#[test]
fn halb_modules_have_no_import_cycles() {
    assert_no_cycles(Path::new("."));
}

/// The developer tooling follows the same rule (its root is xtask/src/lib.rs; main.rs
/// only parses the command line).
#[test]
fn xtask_modules_have_no_import_cycles() {
    assert_no_cycles(Path::new("../xtask"));
}

/// Loads a crate from in-memory files, `src/lib.rs` its root.
fn synthetic(files: &[(&str, &str)]) -> Crate {
    let files: BTreeMap<PathBuf, String> = files
        .iter()
        .map(|(path, text)| (Path::new("src").join(path), (*text).to_owned()))
        .collect();
    Crate::load(Path::new("src/lib.rs"), &|path| files.get(path).cloned()).expect("load")
}

#[test]
fn a_cycle_through_a_re_export_is_found_and_a_facade_is_not_one() {
    let krate = synthetic(&[
        ("lib.rs", "pub mod proxy;\npub mod util;"),
        (
            "proxy.rs",
            "mod backend;\nmod check;\npub use backend::Backend;\npub use check::Probe;\npub struct Shared;",
        ),
        ("proxy/backend.rs", "use super::Shared;\npub struct Backend(crate::proxy::Probe);"),
        ("proxy/check.rs", "pub struct Probe;\nfn f() { let _ = crate::proxy::Backend::new(); }"),
        ("util.rs", "pub fn g() {}"),
    ]);
    let found = describe_cycles(&krate);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .starts_with("crate::proxy::backend -> crate::proxy::check -> crate::proxy::backend"),
        "{}",
        found[0]
    );
    assert!(found[0].contains("src/proxy/check.rs:2: crate::proxy::Backend::new"), "{}", found[0]);
}

#[test]
fn a_parent_using_its_childs_item_while_the_child_uses_the_parent_is_a_cycle() {
    let krate = synthetic(&[
        ("lib.rs", "mod a;"),
        ("a.rs", "mod b;\npub use b::Error;\npub enum Outer { Inner(Error) }\npub struct Shared;"),
        ("a/b.rs", "pub struct Error(super::Shared);"),
    ]);
    assert_eq!(describe_cycles(&krate).len(), 1);
    let facade_only = synthetic(&[
        ("lib.rs", "mod a;"),
        ("a.rs", "mod b;\npub use b::Error;\npub struct Shared;"),
        ("a/b.rs", "pub struct Error(super::Shared);"),
    ]);
    assert!(describe_cycles(&facade_only).is_empty());
}
