//! What `bench stp` measured: runs per (stack, scenario), the table, and the STP targets
//! decided by the figures. Pure: no lab, no clock.

use std::time::Duration;

use super::outage::{ms, Stats};
use super::report::{self, Target};
use super::results::Row;
use super::stp_loops::Echoes;
use super::stp_plan::{BenchStack, Scenario};
use super::vrrp::stats_cell;

/// halb's STP mode may differ from the kernel's median link-down outage by this share.
const STP_TOLERANCE: f64 = 0.05;
/// halb RSTP's link-down outage target (every run).
const RSTP_LINK_TARGET: Duration = Duration::from_millis(100);

/// One measured run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Longest gap between answers from the fault until the heal.
    pub outage: Duration,
    /// Same from the heal until the end of the run (the original tree back and answering).
    pub heal_outage: Duration,
    /// Failed requests of the whole run, of all its requests.
    pub failed: usize,
    pub requests: usize,
    /// The loop watch's pings over the whole run.
    pub echoes: Echoes,
}

/// All runs of one (stack, scenario).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub stack: BenchStack,
    pub scenario: Scenario,
    pub runs: Vec<Run>,
}

impl Series {
    /// Median, min and max over the runs of one figure of a run.
    pub fn stats(&self, figure: fn(&Run) -> Duration) -> Option<Stats> {
        Stats::of(&self.runs.iter().map(figure).collect::<Vec<_>>())
    }

    #[must_use]
    pub fn outage(&self) -> Option<Stats> {
        self.stats(|r| r.outage)
    }

    /// Failed requests and all requests, over the runs.
    #[must_use]
    pub fn requests(&self) -> (usize, usize) {
        self.runs.iter().fold((0, 0), |(f, n), r| (f + r.failed, n + r.requests))
    }

    #[must_use]
    pub fn duplicates(&self) -> usize {
        self.runs.iter().map(|r| r.echoes.duplicates).sum()
    }

    #[must_use]
    pub fn replies(&self) -> usize {
        self.runs.iter().map(|r| r.echoes.replies).sum()
    }
}

/// Median outage of `stack` over the kernel's in the same scenario.
#[must_use]
pub fn ratio(all: &[Series], stack: BenchStack, scenario: Scenario) -> Option<f64> {
    let of = |s: BenchStack| all.iter().find(|x| (x.stack, x.scenario) == (s, scenario));
    let ours = of(stack)?.outage()?.median.as_secs_f64();
    let theirs = of(BenchStack::Kernel)?.outage()?.median.as_secs_f64();
    (theirs > 0.0).then(|| ours / theirs)
}

/// The results table: one row per (stack, scenario).
#[must_use]
pub fn table(all: &[Series]) -> String {
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|s| {
            let (median, range) = stats_cell(s.outage());
            let (heal, heal_range) = stats_cell(s.stats(|r| r.heal_outage));
            let (failed, requests) = s.requests();
            let ratio = if s.stack == BenchStack::Kernel {
                "1 (ref)".to_string()
            } else {
                ratio(all, s.stack, s.scenario).map_or_else(|| "-".into(), |r| format!("{r:.3}"))
            };
            let cells = [s.stack.label(), s.scenario.label()].map(String::from);
            let figures = [
                s.runs.len().to_string(),
                median,
                range,
                format!("{heal} ({heal_range})"),
                format!("{failed}/{requests}"),
                format!("{}/{}", s.duplicates(), s.replies()),
                ratio,
            ];
            cells.into_iter().chain(figures).collect()
        })
        .collect();
    report::table(
        &[
            "stack",
            "scenario",
            "runs",
            "outage ms (median)",
            "min-max",
            "heal outage ms (min-max)",
            "failed/requests",
            "DUP/replies",
            "halb/kernel",
        ],
        &rows,
        &[2, 3, 4, 5, 6, 7, 8],
    )
}

/// Every figure of every run, for the results file: outage and heal outage (ms), failed and
/// all requests, duplicated and all ping replies.
#[must_use]
pub fn rows(all: &[Series]) -> Vec<Row> {
    let mut out = Vec::new();
    for s in all {
        let (case, stack) = (s.scenario.label(), s.stack.label());
        let counts = |f: fn(&Run) -> usize| s.runs.iter().map(f).collect::<Vec<_>>();
        let heal: Vec<Duration> = s.runs.iter().map(|r| r.heal_outage).collect();
        out.extend([
            Row::of_ms(case, stack, "outage", &s.runs.iter().map(|r| r.outage).collect::<Vec<_>>()),
            Row::of_ms(case, stack, "heal outage", &heal),
            Row::of_counts(case, stack, "failed requests", "requests", &counts(|r| r.failed)),
            Row::of_counts(case, stack, "requests", "requests", &counts(|r| r.requests)),
            Row::of_counts(
                case,
                stack,
                "duplicated replies",
                "replies",
                &counts(|r| r.echoes.duplicates),
            ),
            Row::of_counts(case, stack, "ping replies", "replies", &counts(|r| r.echoes.replies)),
        ]);
    }
    out
}

/// The STP targets, decided by the measured figures.
pub fn targets(all: &[Series]) -> Vec<Target> {
    let find = |stack, scenario| all.iter().find(|s| s.stack == stack && s.scenario == scenario);
    let mut out = Vec::new();
    let what = format!(
        "halb STP within {:.0} % of kernel STP, {}",
        STP_TOLERANCE * 100.0,
        Scenario::Link.label()
    );
    let pair = find(BenchStack::HalbStp, Scenario::Link)
        .and_then(Series::outage)
        .zip(find(BenchStack::Kernel, Scenario::Link).and_then(Series::outage));
    out.push(match (pair, ratio(all, BenchStack::HalbStp, Scenario::Link)) {
        (Some((h, k)), Some(r)) => Target {
            what,
            figure: format!("median {} ms vs {} ms (ratio {r:.3})", ms(h.median), ms(k.median)),
            met: Some((r - 1.0).abs() <= STP_TOLERANCE),
        },
        _ => Target { what, figure: "needs stacks kernel and halb-stp".into(), met: None },
    });
    let what =
        format!("halb RSTP: {} < {} ms", Scenario::Link.label(), RSTP_LINK_TARGET.as_millis());
    out.push(match find(BenchStack::HalbRstp, Scenario::Link).and_then(Series::outage) {
        Some(s) => Target {
            what,
            figure: format!("worst {} ms (median {} ms)", ms(s.max), ms(s.median)),
            met: Some(s.max < RSTP_LINK_TARGET),
        },
        None => Target { what, figure: "needs stack halb-rstp, scenario link".into(), met: None },
    });
    for stack in [BenchStack::HalbStp, BenchStack::HalbRstp] {
        let what = format!("{}: never a loop (no duplicated reply)", stack.label());
        let series: Vec<&Series> = all.iter().filter(|s| s.stack == stack).collect();
        out.push(if series.is_empty() {
            Target { what, figure: "stack not run".into(), met: None }
        } else {
            let dups: usize = series.iter().map(|s| s.duplicates()).sum();
            let replies: usize = series.iter().map(|s| s.replies()).sum();
            let runs: usize = series.iter().map(|s| s.runs.len()).sum();
            Target {
                what,
                figure: format!("{dups} duplicates in {replies} replies over {runs} runs"),
                met: Some(dups == 0),
            }
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn series(stack: BenchStack, scenario: Scenario, outages: &[u64], dups: usize) -> Series {
        Series {
            stack,
            scenario,
            runs: outages
                .iter()
                .map(|&o| Run {
                    outage: ms_(o),
                    heal_outage: ms_(o / 2),
                    failed: 10,
                    requests: 1000,
                    echoes: Echoes { replies: 500, duplicates: dups },
                })
                .collect(),
        }
    }

    #[test]
    fn every_run_is_a_value_of_its_rows() {
        let rows = rows(&sample());
        assert_eq!(rows.len(), sample().len() * 6);
        assert_eq!((rows[0].metric.as_str(), rows[0].median), ("outage", Some(30_015.0)));
        assert_eq!(rows[0].stack, "kernel STP");
        let dup = rows.iter().rfind(|r| r.metric == "duplicated replies").unwrap();
        assert_eq!(
            (dup.case.as_str(), dup.values.as_slice()),
            (Scenario::Bridge.label(), &[2.0][..])
        );
    }

    fn sample() -> Vec<Series> {
        vec![
            series(BenchStack::Kernel, Scenario::Link, &[30_010, 30_020], 0),
            series(BenchStack::Kernel, Scenario::Bridge, &[50_000], 0),
            series(BenchStack::HalbStp, Scenario::Link, &[31_000, 31_200], 0),
            series(BenchStack::HalbRstp, Scenario::Link, &[40, 120], 0),
            series(BenchStack::HalbRstp, Scenario::Bridge, &[60], 2),
        ]
    }

    #[test]
    fn ratio_of_medians_against_the_kernel() {
        let all = sample();
        let r = ratio(&all, BenchStack::HalbStp, Scenario::Link).unwrap();
        assert!((r - 31_000.0 / 30_010.0).abs() < 1e-9, "{r}");
        assert!(ratio(&all, BenchStack::HalbStp, Scenario::Bridge).is_none());
    }

    #[test]
    fn table_rows() {
        let t = table(&sample());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 7, "{t}");
        assert!(lines[0].starts_with("stack      | scenario"), "{t}");
        assert!(lines[2].starts_with("kernel STP |"), "{t}");
        assert!(lines[2].contains("|              30010 | 30010-30020 |"), "{t}");
        assert!(lines[2].contains("|      15005 (15005-15010) |"), "{t}");
        assert!(lines[2].ends_with("|         20/2000 |      0/1000 |     1 (ref)"), "{t}");
        assert!(lines[4].ends_with("1.033"), "{t}");
        assert!(lines[6].contains("|       2/500 |"), "{t}");
        assert!(lines[6].ends_with("0.001"), "60 ms against the kernel's 50 s: {t}");
    }

    #[test]
    fn targets_are_decided_by_the_figures() {
        let t = targets(&sample());
        assert_eq!(t.len(), 4);
        // 31000 / 30010 = 1.033: within 5 %.
        assert_eq!(t[0].met, Some(true), "{t:?}");
        assert_eq!(t[0].figure, "median 31000 ms vs 30010 ms (ratio 1.033)");
        // The worst RSTP link run (120 ms) misses 100 ms.
        assert_eq!(t[1].met, Some(false), "{t:?}");
        assert_eq!(t[1].figure, "worst 120 ms (median 40 ms)");
        assert_eq!(t[2].met, Some(true), "{t:?}");
        assert_eq!(t[3].met, Some(false), "{t:?}");
        assert_eq!(t[3].figure, "2 duplicates in 1500 replies over 3 runs");
        let mut slow = sample();
        slow[2] = series(BenchStack::HalbStp, Scenario::Link, &[28_000], 0);
        assert_eq!(targets(&slow)[0].met, Some(false), "faster by 7 % is not within 5 %");
        assert!(targets(&[]).iter().all(|x| x.met.is_none()));
    }
}
