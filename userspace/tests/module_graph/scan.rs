//! What one source file says about modules: the modules it declares
//! (`mod x;` and inline `mod x { .. }`), its `use` items flattened to one
//! leaf per imported name, the paths it names in code, and the identifiers
//! each module's own code uses (to tell a bare re-export from a use).

use std::collections::BTreeSet;

use super::tokens::{tokenize, Spanned, Token};

/// A module's path from the crate root: `[]` is the root, `["proxy", "backend"]`
/// is `crate::proxy::backend`.
pub type ModPath = Vec<String>;

/// How a path was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A leaf of a `use` tree. `public` for `pub`/`pub(..)` (a re-export);
    /// `bound` is the name it brings into scope (`None` for `*` and `_`).
    Use { public: bool, bound: Option<String> },
    /// A path in code, such as `crate::vrrp::packet::encode(..)`.
    Code,
}

/// A path some module names, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub from: ModPath,
    pub segments: Vec<String>,
    pub kind: Kind,
    pub line: usize,
}

/// A module a file declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub path: ModPath,
    /// `mod x;` (its body is another file) rather than `mod x { .. }`.
    pub in_own_file: bool,
}

/// Everything one file says, for the file module `module` and the inline
/// modules inside it.
#[derive(Debug, Default)]
pub struct FileScan {
    pub declared: Vec<Declared>,
    pub references: Vec<Reference>,
    /// Identifiers each module's own code uses, outside `use` items.
    pub idents: Vec<(ModPath, BTreeSet<String>)>,
}

/// Scans the source of the file whose module is `module`.
pub fn scan_file(module: &ModPath, source: &str) -> FileScan {
    let tokens = tokenize(source);
    let mut scan = FileScan::default();
    let mut scopes: Vec<(ModPath, usize)> = vec![(module.clone(), 0)];
    let mut depth = 0usize;
    let mut idents: Vec<(ModPath, BTreeSet<String>)> = vec![(module.clone(), BTreeSet::new())];
    let mut i = 0;
    while i < tokens.len() {
        let scope = scopes.last().expect("the file scope is never popped").0.clone();
        match &tokens[i].token {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                depth = depth.saturating_sub(1);
                if scopes.len() > 1 && scopes.last().is_some_and(|(_, open)| *open == depth) {
                    scopes.pop();
                }
            }
            Token::Ident(word) if word == "mod" => {
                if let (Some(Token::Ident(name)), Some(next)) =
                    (tokens.get(i + 1).map(|t| &t.token), tokens.get(i + 2).map(|t| &t.token))
                {
                    let mut path = scope.clone();
                    path.push(name.clone());
                    let in_own_file = *next == Token::Punct(';');
                    if in_own_file || *next == Token::Punct('{') {
                        scan.declared.push(Declared { path: path.clone(), in_own_file });
                        if !in_own_file {
                            idents.push((path.clone(), BTreeSet::new()));
                            scopes.push((path, depth));
                        }
                        i += 2;
                        continue;
                    }
                }
            }
            Token::Ident(word) if word == "use" && !follows_path_sep(&tokens, i) => {
                let public = is_public(&tokens, i);
                let line = tokens[i].line;
                i += 1;
                let mut leaves = Vec::new();
                parse_use_tree(&tokens, &mut i, &[], &mut leaves);
                for (segments, bound) in leaves {
                    scan.references.push(Reference {
                        from: scope.clone(),
                        segments,
                        kind: Kind::Use { public, bound },
                        line,
                    });
                }
                continue; // `i` is at the `;`, which needs nothing
            }
            Token::Ident(first) if !follows_path_sep(&tokens, i) => {
                let line = tokens[i].line;
                let mut segments = vec![first.clone()];
                let mut j = i + 1;
                while tokens.get(j).map(|t| &t.token) == Some(&Token::PathSep) {
                    match tokens.get(j + 1).map(|t| &t.token) {
                        Some(Token::Ident(next)) => segments.push(next.clone()),
                        _ => break,
                    }
                    j += 2;
                }
                let own = &mut idents.iter_mut().rfind(|(m, _)| *m == scope).expect("scope").1;
                own.extend(segments.iter().cloned());
                if segments.len() > 1 {
                    scan.references.push(Reference {
                        from: scope,
                        segments,
                        kind: Kind::Code,
                        line,
                    });
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    scan.idents = idents;
    scan
}

fn follows_path_sep(tokens: &[Spanned], i: usize) -> bool {
    i > 0 && tokens[i - 1].token == Token::PathSep
}

/// Whether the `use` at `i` has a visibility: `pub use` or `pub(..) use`.
fn is_public(tokens: &[Spanned], i: usize) -> bool {
    let word = |k: usize| matches!(&tokens[k].token, Token::Ident(w) if w == "pub");
    match i.checked_sub(1).map(|k| &tokens[k].token) {
        Some(Token::Ident(w)) => w == "pub",
        Some(Token::Punct(')')) => {
            let open = (0..i - 1).rev().find(|&k| tokens[k].token == Token::Punct('('));
            open.is_some_and(|k| k > 0 && word(k - 1))
        }
        _ => false,
    }
}

/// Parses one use tree at `*i` under `prefix`, pushing `(path, bound name)`
/// per leaf; leaves `*i` past the tree.
fn parse_use_tree(
    tokens: &[Spanned],
    i: &mut usize,
    prefix: &[String],
    leaves: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix.to_vec();
    if tokens.get(*i).map(|t| &t.token) == Some(&Token::PathSep) {
        path.push("::".to_owned()); // `use ::name`: always another crate
        *i += 1;
    }
    while let Some(token) = tokens.get(*i).map(|t| &t.token) {
        match token {
            Token::Ident(name) => {
                path.push(name.clone());
                *i += 1;
                match tokens.get(*i).map(|t| &t.token) {
                    Some(Token::PathSep) => *i += 1,
                    Some(Token::Ident(word)) if word == "as" => {
                        let alias = match tokens.get(*i + 1).map(|t| &t.token) {
                            Some(Token::Ident(alias)) if alias != "_" => Some(alias.clone()),
                            _ => None,
                        };
                        *i += 2;
                        leaves.push((without_self(path), alias));
                        return;
                    }
                    _ => {
                        let path = without_self(path);
                        let bound = path.last().cloned();
                        leaves.push((path, bound));
                        return;
                    }
                }
            }
            Token::Punct('*') => {
                *i += 1;
                leaves.push((path, None));
                return;
            }
            Token::Punct('{') => {
                *i += 1;
                while let Some(token) = tokens.get(*i).map(|t| &t.token) {
                    match token {
                        Token::Punct('}') => {
                            *i += 1;
                            return;
                        }
                        Token::Punct(',') => *i += 1,
                        _ => parse_use_tree(tokens, i, &path, leaves),
                    }
                }
                return;
            }
            _ => return,
        }
    }
}

/// `a::b::self` imports `a::b` under the name `b`.
fn without_self(mut path: Vec<String>) -> Vec<String> {
    if path.len() > 1 && path.last().is_some_and(|s| s == "self") {
        path.pop();
    }
    path
}

#[cfg(test)]
mod tests {
    use super::{scan_file, Kind, ModPath};

    fn module(path: &str) -> ModPath {
        path.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    #[test]
    fn use_trees_flatten_to_leaves_with_their_names() {
        let scan = scan_file(
            &module("proxy"),
            "pub use self::a::{self, B as C, d::*};\nuse super::x::Y;\nmod a;\n",
        );
        let leaves: Vec<(String, Kind)> =
            scan.references.iter().map(|r| (r.segments.join("::"), r.kind.clone())).collect();
        let public =
            |bound: Option<&str>| Kind::Use { public: true, bound: bound.map(str::to_owned) };
        assert_eq!(
            leaves,
            [
                ("self::a".to_owned(), public(Some("a"))),
                ("self::a::B".to_owned(), public(Some("C"))),
                ("self::a::d".to_owned(), public(None)),
                (
                    "super::x::Y".to_owned(),
                    Kind::Use { public: false, bound: Some("Y".to_owned()) }
                ),
            ]
        );
        assert_eq!(scan.declared.len(), 1);
        assert!(scan.declared[0].in_own_file);
    }

    #[test]
    fn inline_modules_are_their_own_scope() {
        let scan = scan_file(
            &module("a"),
            "fn f() { crate::b::g(); }\nmod tests { use super::*; fn t() { crate::c::h(); } }\nfn k() { crate::d::e(); }",
        );
        let froms: Vec<(String, String)> =
            scan.references.iter().map(|r| (r.from.join("::"), r.segments.join("::"))).collect();
        assert_eq!(
            froms,
            [
                ("a".to_owned(), "crate::b::g".to_owned()),
                ("a::tests".to_owned(), "super".to_owned()),
                ("a::tests".to_owned(), "crate::c::h".to_owned()),
                ("a".to_owned(), "crate::d::e".to_owned()),
            ]
        );
    }
}
