//! Plain-text tables for benchmark results: aligned columns, a rule under the header, and
//! a list of targets marked met / not met with the figure that decides.

use std::fmt::Write as _;

/// Columns padded to their widest cell; columns named in `right` are right-aligned
/// (numbers).
pub fn table(headers: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let cols = headers.len();
    let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate().take(cols) {
            if i > 0 {
                out.push_str(" | ");
            }
            let pad = width[i].saturating_sub(cell.chars().count());
            if right.contains(&i) {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(&mut headers.iter().copied());
    out.push('\n');
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&rule.join("-+-"));
    out.push('\n');
    for row in rows {
        let mut cells = row.iter().map(String::as_str);
        out.push_str(&line(&mut cells));
        out.push('\n');
    }
    out
}

/// A target halb aims for and whether the measurement meets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub what: String,
    /// The measured figure that decides, e.g. `worst 42 ms`.
    pub figure: String,
    /// `None`: not measured in this run (stack or scenario not selected).
    pub met: Option<bool>,
}

#[must_use]
pub fn targets(list: &[Target]) -> String {
    let w = list.iter().map(|t| t.what.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for t in list {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "not measured",
        };
        let pad = w.saturating_sub(t.what.chars().count());
        let _ = writeln!(out, "  {}{} : {verdict:<12} {}", t.what, " ".repeat(pad), t.figure);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align() {
        let rows = vec![
            vec!["keepalived".to_string(), "link".into(), "3612".into()],
            vec!["halb fast".to_string(), "graceful stop".into(), "12".into()],
        ];
        let t = table(&["stack", "scenario", "ms"], &rows, &[2]);
        assert_eq!(
            t,
            "stack      | scenario      |   ms\n\
             -----------+---------------+-----\n\
             keepalived | link          | 3612\n\
             halb fast  | graceful stop |   12\n"
        );
        // Missing cells are left out, extra ones ignored.
        let t =
            table(&["a", "b"], &[vec!["x".into()], vec!["y".into(), "z".into(), "w".into()]], &[]);
        assert_eq!(t, "a | b\n--+--\nx\ny | z\n");
    }

    #[test]
    fn target_lines() {
        let t = targets(&[
            Target {
                what: "fast: link failure < 100 ms".into(),
                figure: "worst 45 ms".into(),
                met: Some(true),
            },
            Target {
                what: "soak: 0 transitions".into(),
                figure: "2 transitions".into(),
                met: Some(false),
            },
            Target { what: "x".into(), figure: "stack not run".into(), met: None },
        ]);
        assert_eq!(
            t,
            "  fast: link failure < 100 ms : met          worst 45 ms\n\
             \x20 soak: 0 transitions         : NOT MET      2 transitions\n\
             \x20 x                           : not measured stack not run\n"
        );
    }
}
