//! The fenced ```` ```sh ```` blocks of the documentation, and the command lines in them.
//!
//! A block is marked runnable by an HTML comment on the line right before its fence
//! (`<!-- runnable -->`, `<!-- runnable: lab up -->`, `<!-- runnable: lab -->`,
//! `<!-- runnable: lab down -->`; docs/testing.md says when each runs). Lines are split
//! into words as a shell would (quotes, backslash continuations) after dropping comments.

use std::path::{Path, PathBuf};

/// When the docs test runs a marked block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// `<!-- runnable -->`: on its own, before the lab.
    Alone,
    /// `<!-- runnable: lab up -->`: brings the scenario lab up.
    LabUp,
    /// `<!-- runnable: lab -->`: while the lab is up.
    Lab,
    /// `<!-- runnable: lab down -->`: takes the lab down.
    LabDown,
}

impl Stage {
    fn from_marker(line: &str) -> Result<Option<Self>, String> {
        let line = line.trim();
        let Some(inner) = line.strip_prefix("<!--").and_then(|l| l.strip_suffix("-->")) else {
            return Ok(None);
        };
        let inner = inner.trim();
        let Some(rest) = inner.strip_prefix("runnable") else { return Ok(None) };
        match rest.trim_start_matches(':').trim() {
            "" => Ok(Some(Stage::Alone)),
            "lab up" => Ok(Some(Stage::LabUp)),
            "lab" => Ok(Some(Stage::Lab)),
            "lab down" => Ok(Some(Stage::LabDown)),
            other => Err(format!("unknown runnable marker {other:?} (lab up, lab, lab down)")),
        }
    }
}

/// One ```` ```sh ```` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub file: PathBuf,
    /// 1-based line of the opening fence.
    pub line: usize,
    pub stage: Option<Stage>,
    pub text: String,
}

impl Block {
    /// `file:line`, for messages.
    #[must_use]
    pub fn place(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// The `sh` blocks of one Markdown text. An unclosed fence or an unknown marker is an error.
pub fn sh_blocks(file: &Path, markdown: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let lines: Vec<&str> = markdown.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let Some(info) = lines[index].trim_start().strip_prefix("```") else {
            index += 1;
            continue;
        };
        let start = index;
        let close = lines[start + 1..].iter().position(|l| l.trim_start().starts_with("```"));
        let Some(close) = close.map(|offset| start + 1 + offset) else {
            return Err(format!("{}:{}: unclosed code fence", file.display(), start + 1));
        };
        if info.trim() == "sh" {
            let marker = start.checked_sub(1).map_or("", |before| lines[before]);
            let stage = Stage::from_marker(marker)
                .map_err(|reason| format!("{}:{start}: {reason}", file.display()))?;
            blocks.push(Block {
                file: file.to_path_buf(),
                line: start + 1,
                stage,
                text: lines[start + 1..close].join("\n"),
            });
        }
        index = close + 1;
    }
    Ok(blocks)
}

/// The command lines of a block: continuations joined, comments and blank lines dropped.
#[must_use]
pub fn command_lines(block: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        let line = strip_comment(line);
        let (line, continues) = match line.trim_end().strip_suffix('\\') {
            Some(head) => (head.to_owned(), true),
            None => (line.trim_end().to_owned(), false),
        };
        pending.push_str(&line);
        if continues {
            pending.push(' ');
            continue;
        }
        let command = pending.trim().to_owned();
        pending.clear();
        if !command.is_empty() {
            commands.push(command);
        }
    }
    if !pending.trim().is_empty() {
        commands.push(pending.trim().to_owned());
    }
    commands
}

/// `line` without a `#` comment that starts a word outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() => return &line[..at],
            _ => {}
        }
        previous = c;
    }
    line
}

/// Splits a command line into words as `sh` would for plain words and quotes (no
/// expansions: a word with `$`, a backtick, `|`, `;`, `&`, `<` or `>` outside quotes is
/// an error, so such a line is not mistaken for a plain command).
pub fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' | '"' => {
                let text = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some(inner) => text.push(inner),
                        None => return Err(format!("unclosed {c} in {line:?}")),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            '$' | '`' | '|' | ';' | '&' | '<' | '>' => {
                return Err(format!("{c:?} in {line:?}: not a plain command"))
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// The Markdown links `[text](target)` outside code blocks and code spans.
#[must_use]
pub fn links(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                targets.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    targets
}

/// GitHub's anchors of a Markdown text's headings.
#[must_use]
pub fn anchors(markdown: &str) -> Vec<String> {
    let mut in_fence = false;
    let mut anchors = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && line.starts_with('#') {
            let heading = line.trim_start_matches('#').trim().to_lowercase();
            anchors.push(
                heading
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
                    .map(|c| if c == ' ' { '-' } else { c })
                    .collect(),
            );
        }
    }
    anchors
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "intro\n\n```sh\ncargo xtask lab status   # a comment\n```\n\n<!-- runnable -->\n```sh\nhalb check --config a.toml\n```\n\n```toml\n[daemon]\n```\n\n<!-- runnable: lab -->\n```sh\nbpftool prog show \\\n  name port_classifier\n```\n";

    #[test]
    fn finds_sh_blocks_with_their_markers() {
        let blocks = sh_blocks(Path::new("x.md"), DOC).unwrap();
        assert_eq!(blocks.len(), 3, "the toml block is not an sh block");
        assert_eq!(blocks[0].stage, None);
        assert_eq!(blocks[0].line, 3);
        assert_eq!(blocks[1].stage, Some(Stage::Alone));
        assert_eq!(blocks[2].stage, Some(Stage::Lab));
        assert_eq!(command_lines(&blocks[0].text), ["cargo xtask lab status"]);
        assert_eq!(command_lines(&blocks[2].text), ["bpftool prog show    name port_classifier"]);
    }

    #[test]
    fn unknown_markers_and_unclosed_fences_are_errors() {
        let unknown = "<!-- runnable: later -->\n```sh\ntrue\n```\n";
        assert!(sh_blocks(Path::new("x.md"), unknown).unwrap_err().contains("later"));
        assert!(sh_blocks(Path::new("x.md"), "```sh\ntrue\n").unwrap_err().contains("unclosed"));
        let other = "<!-- a note -->\n```sh\ntrue\n```\n";
        assert_eq!(sh_blocks(Path::new("x.md"), other).unwrap()[0].stage, None);
    }

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            shell_words("cargo xtask lab exec user -- curl -s 'http://a b/'").unwrap(),
            ["cargo", "xtask", "lab", "exec", "user", "--", "curl", "-s", "http://a b/"]
        );
        assert!(shell_words("echo $HOME").is_err());
        assert!(shell_words("a | b").is_err());
        assert!(shell_words("echo 'open").is_err());
        assert_eq!(strip_comment("a '#not' b # yes"), "a '#not' b ");
        assert_eq!(strip_comment("curl http://x/#frag"), "curl http://x/#frag");
    }

    #[test]
    fn links_and_anchors() {
        let text = "See [a](docs/a.md#b-c) and `[no](x)`.\n```\n[no](y)\n```\n## B c: `d`!\n";
        assert_eq!(links(text), ["docs/a.md#b-c"]);
        assert_eq!(anchors(text), ["b-c-d"]);
    }
}
