//! What became of each directive of the imported files: mapped onto a
//! halb key, mapped with a remark, or not imported with the reason. Every
//! directive the mappers read lands here once, so nothing is dropped
//! silently; the entries that are not plain mappings are what `halb
//! import` prints on stderr, one `FILE:LINE: directive: why` a line.

use std::fmt;

/// Where a directive sits: the file as named on the command line, and the
/// 1-based lines it spans (a block spans from its opening line to its `}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub end_line: usize,
}

impl Location {
    #[must_use]
    pub fn line(file: &str, line: usize) -> Self {
        Self { file: file.to_owned(), line, end_line: line }
    }
}

/// What the importer did with one directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Mapped onto halb's keys as it is.
    Mapped,
    /// Mapped, but halb behaves differently in a way worth knowing.
    Note(String),
    /// Not imported: halb has no such thing (or it cannot apply here).
    Unsupported(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub location: Location,
    /// The directive as an operator would name it, e.g. `option forwardfor`.
    pub directive: String,
    pub outcome: Outcome,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Location { file, line, .. } = &self.location;
        match &self.outcome {
            Outcome::Mapped => write!(f, "{file}:{line}: {}: imported", self.directive),
            Outcome::Note(why) => write!(f, "{file}:{line}: {}: imported; {why}", self.directive),
            Outcome::Unsupported(why) => {
                write!(f, "{file}:{line}: {}: not imported: {why}", self.directive)
            }
        }
    }
}

/// Every directive's outcome, in the order the mappers met them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub entries: Vec<Entry>,
}

impl Report {
    pub fn mapped(&mut self, location: Location, directive: impl Into<String>) {
        self.push(location, directive, Outcome::Mapped);
    }

    pub fn note(
        &mut self,
        location: Location,
        directive: impl Into<String>,
        why: impl Into<String>,
    ) {
        self.push(location, directive, Outcome::Note(why.into()));
    }

    /// A remark on a directive already reported mapped (the same line and
    /// name): it becomes a [`Outcome::Note`], so each directive counts once.
    pub fn remark(&mut self, location: Location, directive: &str, why: impl Into<String>) {
        let earlier = self.entries.iter_mut().rev().find(|entry| {
            entry.location == location
                && entry.directive == directive
                && entry.outcome == Outcome::Mapped
        });
        match earlier {
            Some(entry) => entry.outcome = Outcome::Note(why.into()),
            None => self.note(location, directive, why),
        }
    }

    pub fn unsupported(
        &mut self,
        location: Location,
        directive: impl Into<String>,
        why: impl Into<String>,
    ) {
        self.push(location, directive, Outcome::Unsupported(why.into()));
    }

    fn push(&mut self, location: Location, directive: impl Into<String>, outcome: Outcome) {
        self.entries.push(Entry { location, directive: directive.into(), outcome });
    }

    /// The entries an operator must read: remarks and what was not imported.
    pub fn listed(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|entry| entry.outcome != Outcome::Mapped)
    }

    /// Directives mapped as they are.
    #[must_use]
    pub fn mapped_count(&self) -> usize {
        self.entries.len() - self.listed().count()
    }

    /// Whether any entry covers `line` of `file`.
    #[must_use]
    pub fn covers(&self, file: &str, line: usize) -> bool {
        self.entries.iter().any(|entry| {
            entry.location.file == file
                && (entry.location.line..=entry.location.end_line).contains(&line)
        })
    }
}
