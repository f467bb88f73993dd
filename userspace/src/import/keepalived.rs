//! keepalived.conf as a tree of statements: a statement is the words of a
//! line, and a `{ ... }` after it (on the same line or the next) holds its
//! children. Only the syntax is read here; [`super::keepalived_map`]
//! decides what each statement becomes.

use super::error::ImportError;
use super::words;

/// One statement, with its children when it opens a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub line: usize,
    /// The line of the closing `}` for a block, else `line`.
    pub end_line: usize,
    pub words: Vec<String>,
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The `index`th word, or "" past the end.
    #[must_use]
    pub fn word(&self, index: usize) -> &str {
        self.words.get(index).map_or("", String::as_str)
    }

    /// The children, none for a plain statement.
    #[must_use]
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or_default()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
    EndOfLine,
}

/// Reads `text` (the file `file`) into its top-level statements.
pub fn parse(file: &str, text: &str) -> Result<Vec<Node>, ImportError> {
    let tokens = tokens(file, text)?;
    let mut parser = Parser { file, tokens, next: 0 };
    parser.block(None)
}

fn tokens(file: &str, text: &str) -> Result<Vec<(usize, Token)>, ImportError> {
    let mut tokens = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let words = words::split(raw, &['#', '!'])
            .map_err(|message| ImportError::syntax(file, line, message))?;
        for word in words {
            match word.as_str() {
                "{" => tokens.push((line, Token::Open)),
                "}" => tokens.push((line, Token::Close)),
                _ => match word.strip_suffix('{') {
                    Some(head) => {
                        tokens.push((line, Token::Word(head.to_owned())));
                        tokens.push((line, Token::Open));
                    }
                    None => tokens.push((line, Token::Word(word))),
                },
            }
        }
        tokens.push((line, Token::EndOfLine));
    }
    Ok(tokens)
}

struct Parser<'a> {
    file: &'a str,
    tokens: Vec<(usize, Token)>,
    next: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&(usize, Token)> {
        self.tokens.get(self.next)
    }

    fn skip_line_ends(&mut self) {
        while matches!(self.peek(), Some((_, Token::EndOfLine))) {
            self.next += 1;
        }
    }

    /// Statements up to the `}` closing the block opened by `opener`
    /// (`None`: the file's top level, up to its end).
    fn block(&mut self, opener: Option<&Node>) -> Result<Vec<Node>, ImportError> {
        let mut nodes = Vec::new();
        loop {
            self.skip_line_ends();
            let Some((line, token)) = self.peek().cloned() else {
                return match opener {
                    None => Ok(nodes),
                    Some(node) => Err(ImportError::syntax(
                        self.file,
                        node.line,
                        format!(
                            "block `{} {{` is never closed (missing `}}`)",
                            node.words.join(" ")
                        ),
                    )),
                };
            };
            match token {
                Token::Close if opener.is_some() => return Ok(nodes),
                Token::Close => {
                    return Err(ImportError::syntax(self.file, line, "`}` closes no block"))
                }
                Token::Open => {
                    return Err(ImportError::syntax(
                        self.file,
                        line,
                        "`{` opens a block without a keyword",
                    ))
                }
                Token::Word(_) | Token::EndOfLine => nodes.push(self.statement(line)?),
            }
        }
    }

    fn statement(&mut self, line: usize) -> Result<Node, ImportError> {
        let mut node = Node { line, end_line: line, words: Vec::new(), block: None };
        while let Some((_, Token::Word(word))) = self.peek().cloned() {
            node.words.push(word);
            self.next += 1;
        }
        // `{` may stand on the next line.
        let after_line = self.next;
        self.skip_line_ends();
        if matches!(self.peek(), Some((_, Token::Open))) {
            self.next += 1;
            let children = self.block(Some(&node))?;
            node.end_line = self.peek().map_or(line, |(close, _)| *close);
            self.next += 1; // the `}`
            node.block = Some(children);
        } else {
            self.next = after_line;
        }
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn blocks_on_one_line_or_several() {
        let text =
            "vrrp_instance A\n{\n  priority 100 # c\n  virtual_ipaddress { 10.0.0.1/24 }\n}\n";
        let nodes = parse("k.conf", text).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!((nodes[0].line, nodes[0].end_line), (1, 5));
        let children = nodes[0].children();
        assert_eq!(children[0].words, ["priority", "100"]);
        assert_eq!(children[1].children()[0].words, ["10.0.0.1/24"]);
        assert_eq!(children[1].children()[0].line, 4);
    }

    #[test]
    fn unbalanced_braces_are_errors_with_their_line() {
        let err = parse("k.conf", "global_defs {\n  router_id a\n").unwrap_err().to_string();
        assert_eq!(err, "k.conf:1: block `global_defs {` is never closed (missing `}`)");
        let err = parse("k.conf", "a\n}\n").unwrap_err().to_string();
        assert_eq!(err, "k.conf:2: `}` closes no block");
    }
}
