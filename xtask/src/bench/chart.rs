//! Bench results as an SVG chart ([`svg`]): one grouped bar panel per main figure of the bench
//! (cases along the x axis, a bar per stack with the median on top and min-max whiskers over
//! the rounds), drawn with plotters' SVG backend (text as `<text>`, no font files).
//!
//! Which figures a bench's chart shows is [`panels`]; `cargo xtask bench chart FILE.json`
//! ([`redraw`]) draws a saved results file again.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::proxy_env::fmt_sig;
use super::results::{self, BenchResults, Row};

/// Width of one case group, pixels (the chart grows with the cases).
const GROUP_WIDTH: u32 = 150;
const MIN_WIDTH: u32 = 900;
const PANEL_HEIGHT: u32 = 380;
const TITLE_HEIGHT: u32 = 40;

/// One bar panel: the rows of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub metric: String,
    /// Axis label, with the unit after scaling.
    pub axis: String,
    /// Values are multiplied by this (packets/s to kpps: 0.001).
    pub scale: f64,
    /// Logarithmic y axis (kernel STP's 30 s next to RSTP's 10 ms).
    pub log: bool,
}

impl Panel {
    fn new(title: &str, metric: &str, axis: &str) -> Self {
        Self {
            title: title.into(),
            metric: metric.into(),
            axis: axis.into(),
            scale: 1.0,
            log: false,
        }
    }
}

/// The panels of `bench`'s chart; a bench this module does not know gets a panel per metric.
#[must_use]
pub fn panels(results: &BenchResults) -> Vec<Panel> {
    match results.bench.as_str() {
        "vrrp" => vec![Panel::new(
            "VRRP failover: client-visible outage (median, whiskers min-max)",
            "outage",
            "outage, ms",
        )],
        "stp" => vec![Panel {
            log: true,
            ..Panel::new(
                "STP re-convergence: client-visible outage (median, whiskers min-max; log scale)",
                "outage",
                "outage, ms (log)",
            )
        }],
        "proxy" => vec![
            Panel::new("L7 proxy: requests/s (median over rounds)", "requests/s", "requests/s"),
            Panel::new("halb/haproxy requests/s", "requests/s ratio", "ratio"),
        ],
        "vxlan" => vec![
            Panel {
                scale: 1e-3,
                ..Panel::new("VXLAN: small frames at < 0.5 % loss", "packets/s", "kpps")
            },
            Panel::new("VXLAN: TCP goodput", "TCP goodput", "Gbit/s"),
        ],
        _ => results::first_seen(results.rows.iter().map(|r| r.metric.clone()))
            .into_iter()
            .map(|m| Panel::new(&m, &m, &m))
            .collect(),
    }
}

/// The chart of `results` as an SVG document.
pub fn svg(results: &BenchResults) -> Result<String> {
    let panels: Vec<(Panel, Vec<&Row>)> = panels(results)
        .into_iter()
        .map(|p| {
            let rows = results.rows.iter().filter(|r| r.metric == p.metric).collect();
            (p, rows)
        })
        .filter(|(_, rows): &(Panel, Vec<&Row>)| !rows.is_empty())
        .collect();
    let groups = panels
        .iter()
        .map(|(_, rows)| results::first_seen(rows.iter().map(|r| r.case.as_str())).len())
        .max()
        .unwrap_or(1);
    let width = MIN_WIDTH.max(GROUP_WIDTH * u32::try_from(groups).unwrap_or(1) + 160);
    let height = TITLE_HEIGHT + PANEL_HEIGHT * u32::try_from(panels.len().max(1)).unwrap_or(1);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (head, body) = root.split_vertically(TITLE_HEIGHT);
        let title = format!(
            "bench {} - {} - {}",
            results.bench,
            results.started_utc,
            results.git_revision.as_deref().unwrap_or("unknown revision")
        );
        head.draw(&Text::new(
            title,
            (i32::try_from(width / 2).unwrap_or(0), 12),
            text_style(18, VPos::Top),
        ))?;
        if panels.is_empty() {
            body.draw(&Text::new("no figures measured", (20, 20), ("sans-serif", 16)))?;
        }
        let areas = body.split_evenly((panels.len().max(1), 1));
        for (area, (panel, rows)) in areas.iter().zip(&panels) {
            draw_panel(area, panel, rows)?;
        }
        root.present()?;
    }
    Ok(out)
}

/// Sans-serif text of `size` px, centred horizontally on its anchor.
fn text_style(size: u32, v: VPos) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(HPos::Center, v))
}

/// Lowest and highest value of a row, scaled (the median when it has no rounds).
fn extent(row: &Row, scale: f64) -> Option<(f64, f64)> {
    let vals: Vec<f64> = row.values.iter().chain(row.median.iter()).map(|v| v * scale).collect();
    let lo = vals.iter().copied().reduce(f64::min)?;
    let hi = vals.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &Panel,
    rows: &[&Row],
) -> Result<()> {
    let cases = results::first_seen(rows.iter().map(|r| r.case.as_str()));
    let stacks = results::first_seen(rows.iter().map(|r| r.stack.as_str()));
    let extents: Vec<(f64, f64)> = rows.iter().filter_map(|r| extent(r, panel.scale)).collect();
    let hi = extents.iter().map(|e| e.1).fold(0.0, f64::max);
    // The plotted coordinate: log10 of the value on a log axis.
    let y = |v: f64| if panel.log { v.max(1e-3).log10() } else { v };
    let (y0, y1) = if panel.log {
        let lo = extents.iter().map(|e| e.0).filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
        let lo = if lo.is_finite() { lo } else { 1.0 };
        (y(lo).floor() - 1.0, y(hi.max(lo)).ceil() + 0.6)
    } else {
        (0.0, if hi > 0.0 { hi * 1.6 } else { 1.0 })
    };
    #[allow(clippy::cast_precision_loss)]
    let n_cases = cases.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..n_cases, y0..y1)?;
    let log = panel.log;
    // A tick per decade on a log axis (10, 100, 1000 ms), plotters' choice otherwise.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let y_ticks = if log { (y1 - y0).floor() as usize + 1 } else { 8 };
    let y_label = move |v: &f64| if log { fmt_sig(10f64.powf(*v), 2) } else { fmt_sig(*v, 3) };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(y_ticks)
        .y_desc(panel.axis.as_str())
        .y_label_formatter(&y_label)
        .draw()?;
    for (g, case) in cases.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let x = g as f64 + 0.5;
        chart.draw_series(std::iter::once(
            EmptyElement::at((x, y0))
                + Text::new(case.to_string(), (0, 8), text_style(13, VPos::Top)),
        ))?;
    }
    #[allow(clippy::cast_precision_loss)]
    let bar = 0.8 / stacks.len().max(1) as f64;
    for (s, stack) in stacks.iter().enumerate() {
        let color = Palette99::pick(s).to_rgba();
        let mine: Vec<(usize, &Row)> = rows
            .iter()
            .filter(|r| r.stack == *stack)
            .filter_map(|r| Some((cases.iter().position(|c| *c == r.case)?, *r)))
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let left = |g: usize| g as f64 + 0.1 + s as f64 * bar;
        let bars = mine.iter().filter_map(|(g, r)| {
            let m = r.median? * panel.scale;
            Some(Rectangle::new([(left(*g), y0), (left(*g) + bar * 0.9, y(m))], color.filled()))
        });
        chart.draw_series(bars)?.label(*stack).legend(move |(px, py)| {
            Rectangle::new([(px, py - 5), (px + 12, py + 5)], color.filled())
        });
        for (g, r) in &mine {
            let mid = left(*g) + bar * 0.45;
            if let (Some((lo, hi)), true) = (extent(r, panel.scale), r.values.len() > 1) {
                let cap = bar * 0.15;
                chart.draw_series([
                    PathElement::new(vec![(mid, y(lo)), (mid, y(hi))], BLACK),
                    PathElement::new(vec![(mid - cap, y(lo)), (mid + cap, y(lo))], BLACK),
                    PathElement::new(vec![(mid - cap, y(hi)), (mid + cap, y(hi))], BLACK),
                ])?;
            }
            if let Some(m) = r.median {
                let top = r.values.iter().copied().fold(m, f64::max) * panel.scale;
                chart.draw_series(std::iter::once(
                    EmptyElement::at((mid, y(top)))
                        + Text::new(
                            fmt_sig(m * panel.scale, 3),
                            (0, -4),
                            text_style(11, VPos::Bottom),
                        ),
                ))?;
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// `cargo xtask bench chart FILE.json [--out FILE.svg]`
#[derive(Args, Debug)]
pub struct ChartArgs {
    /// A results file a bench wrote (target/bench/<bench>-*.json).
    pub file: PathBuf,
    /// Where to write the SVG (default: FILE with the extension .svg).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Draws a saved results file again.
pub fn redraw(args: &ChartArgs) -> Result<()> {
    let results = results::read(&args.file)?;
    let out = args.out.clone().unwrap_or_else(|| args.file.with_extension("svg"));
    write(&results, &out)?;
    println!("chart of {} written to {}", args.file.display(), out.display());
    Ok(())
}

fn write(results: &BenchResults, out: &Path) -> Result<()> {
    let svg = svg(results)?;
    std::fs::write(out, svg).with_context(|| format!("cannot write {}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn fixture(bench: &str) -> BenchResults {
        let mut r = BenchResults::new(bench, UNIX_EPOCH, &[]);
        r.git_revision = Some("abc1234".into());
        for (case, stack, vals) in [
            ("link down", "keepalived", vec![3600.0, 3650.0, 3610.0]),
            ("link down", "halb fast", vec![40.0, 45.0, 120.0]),
            ("master stopped", "keepalived", vec![640.0]),
            ("master stopped", "halb fast", vec![12.0]),
        ] {
            r.rows.push(Row::of(case, stack, "outage", "ms", vals));
        }
        r.rows.push(Row::of("link down", "halb fast", "heal outage", "ms", vec![5.0]));
        r
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    #[test]
    fn a_bar_per_case_and_stack_with_labels() {
        for bench in ["vrrp", "stp"] {
            let svg = svg(&fixture(bench)).unwrap();
            assert!(svg.trim_start().starts_with("<svg"), "{bench}: {}", &svg[..80]);
            assert!(svg.trim_end().ends_with("</svg>"), "{bench}");
            // Background, 4 bars, 2 legend swatches at least.
            assert!(count(&svg, "<rect") >= 1 + 4 + 2, "{bench}: {}", count(&svg, "<rect"));
            for label in ["link down", "master stopped", "keepalived", "halb fast", "abc1234"] {
                assert!(svg.contains(label), "{bench}: {label} missing");
            }
            // Only the chart's metric: the heal outage is not drawn.
            assert!(!svg.contains(">5<"), "{bench}");
            assert_eq!(count(&svg, "<text"), count(&svg, "</text>"), "{bench}");
        }
    }

    #[test]
    fn each_bench_has_its_panels_and_empty_results_still_draw() {
        let names = |b: &str| -> Vec<String> {
            panels(&BenchResults { bench: b.into(), ..fixture("x") })
                .into_iter()
                .map(|p| p.metric)
                .collect()
        };
        assert_eq!(names("proxy"), ["requests/s", "requests/s ratio"]);
        assert_eq!(names("vxlan"), ["packets/s", "TCP goodput"]);
        assert_eq!(names("other"), ["outage", "heal outage"]);
        let mut empty = fixture("proxy");
        empty.rows.clear();
        let svg = svg(&empty).unwrap();
        assert!(svg.contains("no figures measured") && svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn redraw_writes_the_svg_of_a_saved_file() {
        let dir = std::env::temp_dir().join(format!("xtask-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let json = dir.join("vrrp-x.json");
        std::fs::write(&json, serde_json::to_string(&fixture("vrrp")).unwrap()).unwrap();
        redraw(&ChartArgs { file: json.clone(), out: None }).unwrap();
        let svg = std::fs::read_to_string(dir.join("vrrp-x.svg")).unwrap();
        assert!(svg.contains("master stopped"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
