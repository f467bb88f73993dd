//! haproxy.cfg as sections of directives: a section keyword (`global`,
//! `defaults`, `frontend NAME`, ...) opens a section, every following line
//! up to the next one is a directive of it. Only the syntax is read here;
//! [`super::haproxy_map`] decides what each directive becomes.

use super::error::ImportError;
use super::words;

/// haproxy's section keywords (its manual, "Configuration file format").
pub const SECTIONS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "userlist",
    "peers",
    "resolvers",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
    "log-forward",
    "fcgi-app",
    "crt-store",
    "traces",
];

/// One directive line: its 1-based line number and its words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub line: usize,
    pub words: Vec<String>,
}

impl Directive {
    /// The `index`th word, or "" past the end.
    #[must_use]
    pub fn word(&self, index: usize) -> &str {
        self.words.get(index).map_or("", String::as_str)
    }
}

/// A section: its keyword, its name (if any), where it starts and ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub kind: String,
    pub name: Option<String>,
    /// The words after the name: `listen NAME ADDRESS:PORT` (the old form),
    /// `frontend NAME from DEFAULTS` (haproxy 2.x's named defaults).
    pub args: Vec<String>,
    pub line: usize,
    pub end_line: usize,
    pub directives: Vec<Directive>,
}

/// Splits `text` (the file `file`) into sections. A directive before the
/// first section, or an unindented line that is no section keyword where
/// the section's directives are indented (a misspelt section), is an error.
pub fn parse(file: &str, text: &str) -> Result<Vec<Section>, ImportError> {
    let mut sections: Vec<Section> = Vec::new();
    let mut indented = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let words = words::split(raw, &['#'])
            .map_err(|message| ImportError::syntax(file, line, message))?;
        let Some(keyword) = words.first() else { continue };
        if SECTIONS.contains(&keyword.as_str()) {
            sections.push(Section {
                kind: keyword.clone(),
                name: words.get(1).cloned(),
                args: words.get(2..).unwrap_or_default().to_vec(),
                line,
                end_line: line,
                directives: Vec::new(),
            });
            indented = false;
            continue;
        }
        let starts_indented = raw.starts_with([' ', '\t']);
        let Some(section) = sections.last_mut() else {
            return Err(ImportError::syntax(
                file,
                line,
                format!(
                    "`{keyword}` is outside any section; a section starts with one of {}",
                    SECTIONS.join(", ")
                ),
            ));
        };
        if indented && !starts_indented {
            return Err(ImportError::syntax(
                file,
                line,
                format!(
                    "unknown section `{keyword}` (haproxy's sections are {}); indent it if it is a directive of `{}`",
                    SECTIONS.join(", "),
                    section.kind
                ),
            ));
        }
        indented |= starts_indented;
        section.end_line = line;
        section.directives.push(Directive { line, words });
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn sections_and_directives() {
        let text = "# top\nglobal\n    maxconn 10\n\nfrontend web\n    bind *:80 # all\n";
        let sections = parse("h.cfg", text).unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[1].name.as_deref(), Some("web"));
        assert_eq!(sections[1].directives[0].words, ["bind", "*:80"]);
        assert_eq!(sections[1].directives[0].line, 6);
    }

    #[test]
    fn misplaced_and_misspelt_lines_are_errors_with_their_line() {
        let err = parse("h.cfg", "bind *:80\n").unwrap_err().to_string();
        assert!(err.starts_with("h.cfg:1: `bind` is outside any section"), "{err}");
        let err = parse("h.cfg", "frontend a\n  bind :80\nfrontnd b\n").unwrap_err().to_string();
        assert!(err.starts_with("h.cfg:3: unknown section `frontnd`"), "{err}");
    }
}
