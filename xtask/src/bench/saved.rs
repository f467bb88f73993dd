//! Where a bench's results go: the JSON of [`super::results`] and its chart
//! ([`super::chart`]) under `target/bench/`, stamped with the run's time and copied to
//! `<bench>-latest.*`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::results::BenchResults;

/// `target/bench` (under cargo's target dir).
#[must_use]
pub fn out_dir() -> PathBuf {
    crate::daemon_build::target_dir().join("bench")
}

/// The files one run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub json: PathBuf,
    pub svg: PathBuf,
}

/// Writes `<stem>.json` and `<stem>.svg` into `dir`, copies both to `<bench>-latest.*`, and
/// returns the stamped paths.
pub fn write(results: &BenchResults, dir: &Path) -> Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_string_pretty(results).context("serializing the results")?;
    let svg = super::chart::svg(results)?;
    let stem = results.stem();
    let latest = format!("{}-latest", results.bench);
    for (ext, text) in [("json", &json), ("svg", &svg)] {
        for name in [&stem, &latest] {
            let path = dir.join(format!("{name}.{ext}"));
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(Written { json: dir.join(format!("{stem}.json")), svg: dir.join(format!("{stem}.svg")) })
}

/// Writes the results into [`out_dir`] and prints where they went; a failure to write is
/// reported and does not fail the bench (its figures are printed above).
pub fn save(results: &BenchResults) {
    let dir = out_dir();
    match write(results, &dir) {
        Ok(w) => println!(
            "\nresults: {} (copied to {bench}-latest.json)\nchart:   {} (copied to {bench}-latest.svg)",
            w.json.display(),
            w.svg.display(),
            bench = results.bench
        ),
        Err(e) => eprintln!("\ncould not save the results in {}: {e:#}", dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::bench::report::Target;
    use crate::bench::results::{read, Row};

    #[test]
    fn files_round_trip_and_are_stamped() {
        let mut r = BenchResults::new(
            "vrrp",
            UNIX_EPOCH + Duration::from_secs(1_796_325_752),
            &[("repeat", "1".into())],
        );
        r.rows.push(Row::of("link", "halb", "outage", "ms", vec![12.0]));
        r.set_targets(&[Target { what: "w".into(), figure: "f".into(), met: Some(true) }]);
        assert_eq!(r.stem(), "vrrp-20261203T192232Z");
        let dir = std::env::temp_dir().join(format!("xtask-results-{}", std::process::id()));
        let w = write(&r, &dir).unwrap();
        assert!(w.json.ends_with("vrrp-20261203T192232Z.json"), "{}", w.json.display());
        assert_eq!(read(&w.json).unwrap(), r);
        assert_eq!(read(&dir.join("vrrp-latest.json")).unwrap(), r);
        assert!(dir.join("vrrp-latest.svg").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
