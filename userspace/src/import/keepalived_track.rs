//! keepalived's `vrrp_script` and `track_script` onto halb's tracking: a
//! script whose command checks haproxy becomes `track_backend` (halb runs
//! the proxy itself and tracks the health of its pool), with keepalived's
//! weight turned into `track_weight`; any other script is listed.

use std::collections::BTreeMap;

use super::keepalived::Node;
use super::report::{Location, Report};

/// What a `track_script` block gave an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracked {
    pub backend: String,
    /// `track_weight`; `None`: FAULT while the pool is down.
    pub weight: Option<i64>,
    /// Added to the priority (keepalived's positive weight).
    pub bonus: i64,
}

/// The file's `vrrp_script`s and which of them became tracking.
#[derive(Debug)]
pub struct Tracking<'a> {
    file: &'a str,
    /// The backend a haproxy check becomes, when a proxy was imported.
    backend: Option<&'a str>,
    scripts: BTreeMap<String, Node>,
    used: BTreeMap<String, String>,
}

impl<'a> Tracking<'a> {
    /// The scripts of `nodes` (keepalived reads the whole file first, so a
    /// script may follow the instances that track it).
    #[must_use]
    pub fn new(file: &'a str, nodes: &[Node], backend: Option<&'a str>) -> Self {
        let scripts = nodes
            .iter()
            .filter(|node| node.word(0) == "vrrp_script")
            .map(|node| (node.word(1).to_owned(), node.clone()))
            .collect();
        Self { file, backend, scripts, used: BTreeMap::new() }
    }

    fn at(&self, node: &Node) -> Location {
        Location { file: self.file.to_owned(), line: node.line, end_line: node.end_line }
    }

    /// `track_script { NAME [weight W] ... }`: the first script that checks
    /// haproxy becomes the instance's tracking; halb tracks one backend per
    /// instance, so the others are listed.
    /// `tracked`: the instance tracks a backend already (an earlier block).
    pub fn track_script(
        &mut self,
        node: &Node,
        tracked: bool,
        report: &mut Report,
    ) -> Option<Tracked> {
        report.mapped(Location::line(self.file, node.line), "track_script");
        let mut found_one: Option<Tracked> = None;
        for entry in node.children() {
            let name = entry.word(0).to_owned();
            let why = match self.scripts.get(&name) {
                None => Err(format!("no vrrp_script `{name}` in this file")),
                Some(script) => self.tracked(script, entry, tracked || found_one.is_some()),
            };
            match why {
                Err(why) => report.unsupported(self.at(entry), entry.words.join(" "), why),
                Ok((found, effect)) => {
                    self.used.insert(name.clone(), found.backend.clone());
                    report.note(self.at(entry), name, format!(
                        "halb runs the proxy itself (if it stops, so do the adverts) and tracks backend `{}` instead of running the script: {effect}",
                        found.backend
                    ));
                    found_one = Some(found);
                }
            }
        }
        found_one
    }

    /// What tracking `script` (named by `entry`) gives, and its effect in words.
    fn tracked(
        &self,
        script: &Node,
        entry: &Node,
        already: bool,
    ) -> Result<(Tracked, String), String> {
        let setting = |key: &str| {
            script.children().iter().find(|c| c.word(0) == key).map(|c| c.word(1).to_owned())
        };
        if !setting("script").unwrap_or_default().to_ascii_lowercase().contains("haproxy") {
            return Err("halb runs no scripts: it tracks a proxy backend (track_backend), and this script does not check haproxy".to_owned());
        }
        let Some(backend) = self.backend else {
            return Err(
                "this script checks haproxy, but no proxy was imported to track (pass --haproxy)"
                    .to_owned(),
            );
        };
        if already {
            return Err("halb tracks one backend per instance".to_owned());
        }
        let own = (entry.word(1) == "weight").then(|| entry.word(2).parse::<i64>().ok()).flatten();
        let weight = own.or_else(|| setting("weight").and_then(|w| w.parse().ok())).unwrap_or(0);
        let backend = backend.to_owned();
        Ok(match weight {
            0 => (Tracked { backend, weight: None, bonus: 0 }, "FAULT while no server of the pool is up".to_owned()),
            w if w < 0 => (
                Tracked { backend, weight: Some(w), bonus: 0 },
                format!("the priority drops by {} while no server of the pool is up", -w),
            ),
            // keepalived adds a positive weight while the script succeeds: the same gap
            // is the base priority raised by w, lowered by w while the pool is down.
            w => (
                Tracked { backend, weight: Some(-w), bonus: w },
                format!("keepalived's +{w} while up is priority +{w}, and -{w} while no server of the pool is up"),
            ),
        })
    }

    /// Each `vrrp_script`: the ones a `track_script` imported are mapped
    /// (halb's checks replace their timing); the others are listed.
    pub fn finish(self, report: &mut Report) {
        for (name, script) in &self.scripts {
            let Some(backend) = self.used.get(name) else {
                report.unsupported(self.at(script), script.words.join(" "), "halb runs no scripts: it tracks proxy backends (track_backend), and no instance tracks this one as a haproxy check");
                continue;
            };
            report.mapped(Location::line(self.file, script.line), script.words.join(" "));
            for child in script.children() {
                match child.word(0) {
                    "script" | "weight" => report.mapped(self.at(child), child.word(0)),
                    "interval" | "timeout" | "rise" | "fall" => report.note(
                        self.at(child),
                        child.word(0),
                        format!("halb follows the health checks of backend `{backend}` (its servers' inter, rise, fall) instead"),
                    ),
                    _ => report.unsupported(self.at(child), child.words.join(" "), "halb runs no scripts"),
                }
            }
        }
    }
}
