//! The results file every bench writes next to its text table: one schema for the four
//! benches ([`BenchResults`]), written as `target/bench/<bench>-<UTC timestamp>.json` and
//! copied to `<bench>-latest.json` ([`super::saved`]); `bench chart` draws it again later ([`super::chart`]).
//!
//! A row is one figure of one (case, stack): its unit, the median the table shows and the
//! value of every round it is the median of.

use crate::calendar::civil_from_days;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::report::Target;

/// What one bench run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResults {
    /// `vrrp`, `stp`, `proxy` or `vxlan`.
    pub bench: String,
    /// When the bench started, `2026-12-03T19:22:32Z`.
    pub started_utc: String,
    /// `git describe --always --dirty` of the checkout, when git could tell.
    pub git_revision: Option<String>,
    /// The arguments that shape the figures (`repeat`, `duration`, ...), as given.
    pub args: BTreeMap<String, String>,
    pub rows: Vec<Row>,
    pub targets: Vec<TargetResult>,
}

/// One figure of one (case, stack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The scenario or case, as the table names it (`master killed`, `keep-alive, 0 B`).
    pub case: String,
    /// `keepalived (v2, 1 s)`, `halb`, `kernel`, ...
    pub stack: String,
    /// `outage`, `requests/s`, `TCP 4 streams`, ...
    pub metric: String,
    /// `ms`, `requests/s`, `Gbit/s`, ...
    pub unit: String,
    /// The table's figure: the median of `values` (or the bench's own summary of them).
    pub median: Option<f64>,
    /// Every round's value, in the order measured.
    pub values: Vec<f64>,
}

/// A target and whether this run met it (`None`: not measured or not decided).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetResult {
    pub what: String,
    pub figure: String,
    pub met: Option<bool>,
}

impl From<&Target> for TargetResult {
    fn from(t: &Target) -> Self {
        Self { what: t.what.clone(), figure: t.figure.clone(), met: t.met }
    }
}

impl Row {
    /// A row whose median is the median of `values`.
    #[must_use]
    pub fn of(case: &str, stack: &str, metric: &str, unit: &str, values: Vec<f64>) -> Self {
        Self {
            case: case.to_string(),
            stack: stack.to_string(),
            metric: metric.to_string(),
            unit: unit.to_string(),
            median: median(&values),
            values,
        }
    }

    /// A count per round (requests, duplicated replies).
    #[must_use]
    pub fn of_counts(case: &str, stack: &str, metric: &str, unit: &str, counts: &[usize]) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let values = counts.iter().map(|&n| n as f64).collect();
        Self::of(case, stack, metric, unit, values)
    }

    /// Milliseconds of each duration.
    #[must_use]
    pub fn of_ms(case: &str, stack: &str, metric: &str, values: &[Duration]) -> Self {
        Self::of(case, stack, metric, "ms", values.iter().map(|d| d.as_secs_f64() * 1e3).collect())
    }
}

/// The middle value (the mean of the two middle ones for an even count).
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(f64::midpoint(v[n / 2 - 1], v[n / 2])),
    }
}

/// Each distinct item once, in order of first appearance.
pub fn first_seen<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

impl BenchResults {
    /// Results of `bench` started at `started`, of this checkout, with no rows yet.
    #[must_use]
    pub fn new(bench: &str, started: SystemTime, args: &[(&str, String)]) -> Self {
        Self {
            bench: bench.to_string(),
            started_utc: utc_text(started),
            git_revision: git_revision(),
            args: args.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect(),
            rows: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// The targets, as the text report lists them.
    pub fn set_targets(&mut self, targets: &[Target]) {
        self.targets = targets.iter().map(TargetResult::from).collect();
    }

    /// `<bench>-20261203T192232Z`: the file name's stem.
    #[must_use]
    pub fn stem(&self) -> String {
        let compact: String = self.started_utc.chars().filter(|c| *c != '-' && *c != ':').collect();
        format!("{}-{compact}", self.bench)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of `t` (UTC; before 1970 reads as 1970).
#[must_use]
pub fn utc_text(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, (rest % 3600) / 60, rest % 60)
}

fn git_revision() -> Option<String> {
    let out = Command::new("git")
        .current_dir(crate::workspace::workspace_root())
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()?;
    let rev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !rev.is_empty()).then_some(rev)
}

/// Reads a results file written by [`super::saved::write`].
pub fn read(path: &Path) -> Result<BenchResults> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a bench results file", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_timestamps() {
        assert_eq!(utc_text(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_325_752);
        assert_eq!(utc_text(t), "2026-12-03T19:22:32Z");
        // A leap day.
        assert_eq!(utc_text(UNIX_EPOCH + Duration::from_hours(264_384)), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn rows_take_the_median_of_their_rounds() {
        let r = Row::of_ms(
            "link",
            "halb",
            "outage",
            &[Duration::from_millis(30), Duration::from_millis(10), Duration::from_millis(20)],
        );
        assert_eq!((r.unit.as_str(), r.median), ("ms", Some(20.0)));
        assert_eq!(r.values, [30.0, 10.0, 20.0]);
        assert_eq!(median(&[1.0, 4.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
