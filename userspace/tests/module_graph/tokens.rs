//! A Rust tokenizer just fine enough to find module paths: identifiers,
//! `::` and single punctuation, with line numbers. Comments, string, byte
//! and char literals and lifetimes are skipped, so a `crate::` inside a
//! string or a comment is not a dependency.

/// One token of Rust source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An identifier or keyword (`r#` stripped from raw identifiers).
    Ident(String),
    /// `::`.
    PathSep,
    /// Any other punctuation character, number characters included.
    Punct(char),
}

/// A token and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned {
    pub token: Token,
    pub line: usize,
}

/// Splits `source` into tokens.
pub fn tokenize(source: &str) -> Vec<Spanned> {
    let chars: Vec<char> = source.chars().collect();
    let mut lexer = Lexer { chars: &chars, at: 0, line: 1 };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token() {
        tokens.push(token);
    }
    tokens
}

struct Lexer<'a> {
    chars: &'a [char],
    at: usize,
    line: usize,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn next_token(&mut self) -> Option<Spanned> {
        loop {
            let c = self.peek(0)?;
            let line = self.line;
            let token = match c {
                c if c.is_whitespace() => {
                    self.bump();
                    continue;
                }
                '/' if self.peek(1) == Some('/') => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                    continue;
                }
                '/' if self.peek(1) == Some('*') => {
                    self.skip_block_comment();
                    continue;
                }
                '"' => {
                    self.skip_string();
                    continue;
                }
                '\'' => {
                    self.skip_char_or_lifetime();
                    continue;
                }
                ':' if self.peek(1) == Some(':') => {
                    self.bump();
                    self.bump();
                    Token::PathSep
                }
                c if c == '_' || c.is_alphabetic() => {
                    if self.skip_prefixed_literal() {
                        continue;
                    }
                    Token::Ident(self.ident())
                }
                c => {
                    self.bump();
                    Token::Punct(c)
                }
            };
            return Some(Spanned { token, line });
        }
    }

    fn ident(&mut self) -> String {
        if self.peek(0) == Some('r') && self.peek(1) == Some('#') {
            self.bump();
            self.bump();
        }
        let mut name = String::new();
        while let Some(c) = self.peek(0).filter(|c| *c == '_' || c.is_alphanumeric()) {
            name.push(c);
            self.bump();
        }
        name
    }

    /// Skips `b"..."`, `b'.'`, `c"..."`, `r"..."`, `r#"..."#`, `br#"..."#`
    /// and `cr"..."` if one starts here; says whether it did.
    fn skip_prefixed_literal(&mut self) -> bool {
        let prefix_len = match (self.peek(0), self.peek(1)) {
            (Some('b' | 'c'), Some('r')) => 2,
            (Some('b' | 'c' | 'r'), _) => 1,
            _ => return false,
        };
        let raw = self.peek(prefix_len - 1) == Some('r');
        let after = self.peek(prefix_len);
        if raw && matches!(after, Some('"' | '#')) {
            let mut hashes = 0;
            while self.peek(prefix_len + hashes) == Some('#') {
                hashes += 1;
            }
            if self.peek(prefix_len + hashes) != Some('"') {
                return false; // a raw identifier such as r#type
            }
            for _ in 0..=prefix_len + hashes {
                self.bump();
            }
            self.skip_raw_string_body(hashes);
            return true;
        }
        match after {
            Some('"') if !raw => {
                self.bump();
                self.skip_string();
                true
            }
            Some('\'') if self.peek(0) == Some('b') && prefix_len == 1 => {
                self.bump();
                self.skip_char_or_lifetime();
                true
            }
            _ => false,
        }
    }

    fn skip_raw_string_body(&mut self, hashes: usize) {
        while let Some(c) = self.bump() {
            if c == '"' && (0..hashes).all(|i| self.peek(i) == Some('#')) {
                for _ in 0..hashes {
                    self.bump();
                }
                return;
            }
        }
    }

    fn skip_string(&mut self) {
        self.bump(); // the opening quote
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '"' => return,
                _ => {}
            }
        }
    }

    fn skip_block_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.bump() {
            if c == '/' && self.peek(0) == Some('*') {
                self.bump();
                depth += 1;
            } else if c == '*' && self.peek(0) == Some('/') {
                self.bump();
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
        }
    }

    /// `'a'`, `'\n'`, `'\u{1F600}'` are char literals; `'a` and `'static`
    /// are lifetimes (or loop labels).
    fn skip_char_or_lifetime(&mut self) {
        self.bump(); // the quote
        if self.peek(0) == Some('\\') {
            while let Some(c) = self.bump() {
                match c {
                    '\'' => return,
                    '\\' => {
                        self.bump();
                    }
                    _ => {}
                }
            }
        } else if self.peek(1) == Some('\'') {
            self.bump();
            self.bump();
        } else {
            self.ident();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{tokenize, Token};

    fn idents(source: &str) -> Vec<String> {
        tokenize(source)
            .into_iter()
            .filter_map(|t| match t.token {
                Token::Ident(name) => Some(name),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn literals_comments_and_lifetimes_hide_their_words() {
        let source = r##"
            // crate::one
            /* crate::two /* nested */ crate::three */
            let s = "crate::four \" crate::five";
            let r = r#"crate::six "quoted" "#;
            let b = b"crate::seven"; let c = b'x'; let q = '"'; let e = '\'';
            fn f<'a>(x: &'a str) -> &'static str { x }
            use crate::kept;
        "##;
        let words = idents(source);
        let hidden = ["one", "two", "three", "four", "five", "six", "seven", "x'", "static"];
        assert!(!words.iter().any(|w| hidden.contains(&w.as_str())), "{words:?}");
        assert!(words.contains(&"kept".to_owned()));
        assert!(words.contains(&"str".to_owned()));
    }

    #[test]
    fn lines_are_counted_through_comments_and_strings() {
        let tokens = tokenize("/*\n*/ \"\n\" x");
        assert_eq!(tokens[0].line, 3);
    }
}
