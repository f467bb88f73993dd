//! Splitting one line of haproxy.cfg or keepalived.conf into words: blanks
//! separate, `"..."` and `'...'` quote, a backslash escapes the next
//! character (`\r`, `\n`, `\t` are kept as written), and a comment character at the start of a word ends the line.

/// The words of `line`; `comment` holds the characters that start a comment.
/// An unterminated quote is an error naming the quote.
pub fn split(line: &str, comment: &[char]) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            c if comment.contains(&c) && word.is_none() => break,
            '\\' => {
                let text = word.get_or_insert_with(String::new);
                match chars.next() {
                    // haproxy's `\r`, `\n`, `\t` stay escapes (a check's header lines).
                    Some(escaped @ ('r' | 'n' | 't')) => {
                        text.push('\\');
                        text.push(escaped);
                    }
                    Some(escaped) => text.push(escaped),
                    None => text.push('\\'),
                }
            }
            '"' | '\'' => {
                let text = word.get_or_insert_with(String::new);
                let mut closed = false;
                for inner in chars.by_ref() {
                    if inner == c {
                        closed = true;
                        break;
                    }
                    text.push(inner);
                }
                if !closed {
                    return Err(format!("unterminated {c} quote"));
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn words_quotes_escapes_and_comments() {
        let words = split(r#"  script "/bin/killall -0 haproxy" a\ b # rest"#, &['#']).unwrap();
        assert_eq!(words, ["script", "/bin/killall -0 haproxy", "a b"]);
        assert_eq!(split("a#b c", &['#']).unwrap(), ["a#b", "c"]);
        assert!(split("x \"open", &['#']).unwrap_err().contains("unterminated"));
    }
}
