//! A crate's module tree, loaded from its root file by following `mod x;`
//! declarations, and the dependency edges between its modules (the rule is
//! in `module_imports.rs`'s docs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::scan::{scan_file, Kind, ModPath, Reference};

/// One module of the crate.
#[derive(Debug, Default)]
struct Module {
    file: PathBuf,
    children: BTreeSet<String>,
    idents: BTreeSet<String>,
    /// Names this module re-exports (`pub use`), and the path each stands for.
    reexports: BTreeMap<String, Vec<String>>,
}

/// A dependency of one module on another, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: ModPath,
    pub to: ModPath,
    /// `file:line: path`.
    pub evidence: String,
}

/// The modules of one crate and the paths they name.
#[derive(Debug, Default)]
pub struct Crate {
    modules: BTreeMap<ModPath, Module>,
    references: Vec<Reference>,
}

impl Crate {
    /// Loads the crate whose root file is `root`; `read` returns a file's
    /// text. Fails naming a declared module whose file is missing.
    pub fn load(root: &Path, read: &dyn Fn(&Path) -> Option<String>) -> Result<Crate, String> {
        let mut krate = Crate::default();
        let dir = root.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut pending = vec![(ModPath::new(), root.to_path_buf(), dir)];
        while let Some((path, file, children_dir)) = pending.pop() {
            let source = read(&file).ok_or_else(|| format!("cannot read {}", file.display()))?;
            let scan = scan_file(&path, &source);
            krate.modules.entry(path.clone()).or_default().file.clone_from(&file);
            for declared in scan.declared {
                let (parent, name) = declared.path.split_at(declared.path.len() - 1);
                let name = &name[0];
                krate.module(parent, &file).children.insert(name.clone());
                krate.module(&declared.path, &file);
                if declared.in_own_file {
                    // Inline modules nest their children's files one folder deeper.
                    let mut folder = children_dir.clone();
                    folder.extend(&parent[path.len()..]);
                    let flat = folder.join(format!("{name}.rs"));
                    let nested = folder.join(name).join("mod.rs");
                    let (child_file, child_dir) = if read(&flat).is_some() {
                        (flat, folder.join(name))
                    } else if read(&nested).is_some() {
                        (nested, folder.join(name))
                    } else {
                        return Err(format!(
                            "{}: module {} has no file {} or {}",
                            file.display(),
                            display(&declared.path),
                            flat.display(),
                            nested.display()
                        ));
                    };
                    pending.push((declared.path.clone(), child_file, child_dir));
                }
            }
            for (module, idents) in scan.idents {
                krate.module(&module, &file).idents.extend(idents);
            }
            for reference in &scan.references {
                if let Kind::Use { public: true, bound: Some(name) } = &reference.kind {
                    krate
                        .module(&reference.from, &file)
                        .reexports
                        .insert(name.clone(), reference.segments.clone());
                }
            }
            krate.references.extend(scan.references);
        }
        Ok(krate)
    }

    fn module(&mut self, path: &[String], file: &Path) -> &mut Module {
        let module = self.modules.entry(path.to_vec()).or_default();
        if module.file.as_os_str().is_empty() {
            module.file = file.to_path_buf();
        }
        module
    }

    /// The files the crate's modules live in.
    pub fn files(&self) -> BTreeSet<PathBuf> {
        self.modules.values().map(|m| m.file.clone()).collect()
    }

    /// Every dependency between two different modules.
    pub fn edges(&self) -> Vec<Edge> {
        let mut edges = Vec::new();
        for reference in &self.references {
            let Some(to) = self.resolve(&reference.from, &reference.segments, 0) else {
                continue;
            };
            if to == reference.from {
                continue;
            }
            if let Kind::Use { public: true, bound } = &reference.kind {
                let facade = to.starts_with(&reference.from);
                let used_here = bound
                    .as_ref()
                    .is_some_and(|name| self.modules[&reference.from].idents.contains(name));
                if facade && !used_here {
                    continue;
                }
            }
            let file = &self.modules[&reference.from].file;
            edges.push(Edge {
                from: reference.from.clone(),
                to,
                evidence: format!(
                    "{}:{}: {}",
                    file.display(),
                    reference.line,
                    reference.segments.join("::")
                ),
            });
        }
        edges
    }

    /// The module a path, named in module `from`, lands in: the deepest
    /// module it walks through, following re-exports to the module that
    /// defines the name. `None` for paths into other crates.
    fn resolve(&self, from: &ModPath, segments: &[String], depth: usize) -> Option<ModPath> {
        let first = segments.first()?;
        let (start, rest) = match first.as_str() {
            "crate" => (ModPath::new(), &segments[1..]),
            "self" => (from.clone(), &segments[1..]),
            "super" => (parent(from)?, &segments[1..]),
            name if self.modules.get(from)?.children.contains(name) => (from.clone(), segments),
            _ => return None,
        };
        Some(self.walk(start, rest, depth))
    }

    fn walk(&self, mut at: ModPath, segments: &[String], depth: usize) -> ModPath {
        for (k, segment) in segments.iter().enumerate() {
            let module = &self.modules[&at];
            if segment == "super" {
                match parent(&at) {
                    Some(up) => at = up,
                    None => break,
                }
            } else if module.children.contains(segment) {
                at.push(segment.clone());
            } else if let Some(target) = module.reexports.get(segment).filter(|_| depth < 32) {
                if let Some(defined_in) = self.resolve(&at, target, depth + 1) {
                    return self.walk(defined_in, &segments[k + 1..], depth + 1);
                }
                break;
            } else {
                break;
            }
        }
        at
    }
}

fn parent(path: &ModPath) -> Option<ModPath> {
    path.split_last().map(|(_, up)| up.to_vec())
}

/// `crate::a::b`.
pub fn display(path: &ModPath) -> String {
    std::iter::once("crate").chain(path.iter().map(String::as_str)).collect::<Vec<_>>().join("::")
}
