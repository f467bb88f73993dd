//! A writer for the Prometheus text exposition format (0.0.4): metric families
//! (`# HELP`, `# TYPE`) and their samples with escaped labels. Pure text, no I/O;
//! the proxy's statistics and the daemon's `/metrics` are written with it.

use std::fmt::{Display, Write as _};

/// One label, `name="value"`.
pub type Label<'a> = (&'a str, &'a str);

/// One metric family read from one kind of report: name, type, help, value.
pub type Metric<T> = (&'static str, &'static str, &'static str, fn(&T) -> u64);

/// The text being written.
#[derive(Debug, Default)]
pub struct Exposition(String);

impl Exposition {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a family; its samples follow.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample with the labels of `base` first, then `labels`.
    pub fn sample(
        &mut self,
        name: &str,
        base: &[Label<'_>],
        labels: &[Label<'_>],
        value: impl Display,
    ) {
        self.0.push_str(name);
        if !base.is_empty() || !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in base.iter().chain(labels).enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// One sample per possible value of an enumerated state, 1 for `current` and 0 for the
    /// others (the Prometheus way to export a state); `current` is added if not among them.
    pub fn state(
        &mut self,
        name: &str,
        base: &[Label<'_>],
        label: &str,
        values: &[&str],
        current: &str,
    ) {
        for value in values {
            self.sample(name, base, &[(label, value)], u8::from(*value == current));
        }
        if !values.contains(&current) {
            self.sample(name, base, &[(label, current)], 1);
        }
    }

    #[must_use]
    pub fn finish(self) -> String {
        self.0
    }
}

/// Label values escape backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Microseconds as seconds, the unit Prometheus metrics use.
#[must_use]
#[expect(clippy::cast_precision_loss, reason = "microsecond counts fit f64 exactly for ages")]
pub fn seconds_from_us(us: u64) -> f64 {
    us as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_escape_labels_and_states_mark_the_current_one() {
        let mut out = Exposition::new();
        out.family("x_total", "counter", "Things.");
        out.sample("x_total", &[("node", "a\"b")], &[("k", "v\\")], 3);
        out.sample("x_total", &[], &[], 4);
        out.state("x_state", &[("i", "1")], "state", &["up", "down"], "down");
        out.state("x_state", &[], "state", &["up"], "odd");
        let text = out.finish();
        assert!(text.starts_with("# HELP x_total Things.\n# TYPE x_total counter\n"));
        assert!(text.contains("x_total{node=\"a\\\"b\",k=\"v\\\\\"} 3\n"));
        assert!(text.contains("\nx_total 4\n"));
        assert!(
            text.contains("x_state{i=\"1\",state=\"up\"} 0\nx_state{i=\"1\",state=\"down\"} 1\n")
        );
        assert!(text.contains("x_state{state=\"up\"} 0\nx_state{state=\"odd\"} 1\n"));
        assert!((seconds_from_us(1_500_000) - 1.5).abs() < f64::EPSILON);
    }
}
