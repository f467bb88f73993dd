//! What the lab's VRRP speakers say about themselves, whichever implementation runs them.
//!
//! keepalived writes its transitions to its log (`logs/balN-keepalived.log`, timestamped by
//! keepalived); halb keeps a history per instance that `halb vrrp status --json` returns
//! (`history`: `unix_ms`, `from`, `to`, `reason`). A [`Mark`] taken before a change lets
//! `lab check` and the benchmark list only the transitions that change caused.

use crate::calendar::civil_from_days;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use halb::control::vrrp::VrrpReport;

use super::configs::VRRP_INSTANCE;
use super::plan::{Component, Impl};
use super::reports;
use super::rundir::{Lab, LabConfig};
use super::topo;

/// One transition, from either implementation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub balancer: &'static str,
    /// The implementation's own timestamped line.
    pub line: String,
    /// The state entered (`MASTER`, `BACKUP`, `FAULT`, ...), when the line says.
    pub to: Option<String>,
}

impl Transition {
    #[must_use]
    pub fn render(&self) -> String {
        format!("{}: {}", self.balancer, self.line)
    }
}

/// One balancer's VRRP as `lab status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub balancer: &'static str,
    /// `keepalived` or `halb (host1's daemon)`.
    pub runs: String,
    /// `MASTER`, `BACKUP`, ... or what could not be read.
    pub state: String,
    /// Total transitions (halb) or transition lines in the log (keepalived).
    pub transitions: usize,
    pub last: Option<String>,
}

/// Where each balancer's transition record stood at some moment.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    keepalived_lines: [usize; 2],
    unix_ms: u64,
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[must_use]
pub fn mark(lab: &Lab) -> Mark {
    let lines = |b: &topo::Balancer| {
        std::fs::read_to_string(lab.log(b.name, "keepalived")).map_or(0, |s| s.lines().count())
    };
    Mark {
        keepalived_lines: [lines(&topo::BALANCERS[0]), lines(&topo::BALANCERS[1])],
        unix_ms: now_unix_ms(),
    }
}

/// keepalived's lines about state changes.
fn is_keepalived_transition(line: &str) -> bool {
    line.contains("Entering")
        || line.contains("forcing new election")
        || line.contains("advertisement timeout")
}

/// `... (vrrpext) Entering MASTER STATE` -> `MASTER`.
fn keepalived_state_entered(line: &str) -> Option<String> {
    let rest = line.split("Entering ").nth(1)?;
    let state = rest.split_whitespace().next()?;
    (!state.is_empty() && state.bytes().all(|b| b.is_ascii_uppercase())).then(|| state.to_string())
}

/// Transitions in a keepalived log after its first `skip` lines.
#[must_use]
pub fn keepalived_transitions(balancer: &'static str, text: &str, skip: usize) -> Vec<Transition> {
    text.lines()
        .skip(skip)
        .filter(|l| is_keepalived_transition(l))
        .map(|l| Transition {
            balancer,
            line: l.trim().to_string(),
            to: keepalived_state_entered(l),
        })
        .collect()
}

/// `halb vrrp status --json` of the daemon on `host` (bounded in time).
pub fn halb_status(lab: &Lab, host: &str) -> Result<Vec<VrrpReport>> {
    reports::vrrp(lab, host)
}

/// The lab's instance of `balancer` in a `halb vrrp status --json` answer.
#[must_use]
pub fn halb_instance<'a>(status: &'a [VrrpReport], balancer: &str) -> Option<&'a VrrpReport> {
    status.iter().find(|i| i.balancer == balancer && i.instance == VRRP_INSTANCE)
}

/// Transitions in an instance's history at or after `since_ms`.
#[must_use]
pub fn halb_transitions(
    balancer: &'static str,
    instance: &VrrpReport,
    since_ms: u64,
) -> Vec<Transition> {
    instance
        .history
        .iter()
        .filter(|r| r.unix_ms >= since_ms)
        .map(|r| Transition {
            balancer,
            line: format!(
                "{} halb: vrid {} {} -> {}: {}",
                utc(r.unix_ms),
                topo::VRID,
                r.from,
                r.to,
                r.reason
            ),
            to: Some(r.to.clone()),
        })
        .collect()
}

/// Every transition of both balancers since `mark`, in each implementation's own words.
pub fn transitions_since(lab: &Lab, config: &LabConfig, mark: &Mark) -> Result<Vec<Transition>> {
    let mut out = Vec::new();
    for (i, bal) in topo::BALANCERS.iter().enumerate() {
        match config.stack.get(Component::Vrrp, bal.name) {
            Impl::Classic => {
                let text =
                    std::fs::read_to_string(lab.log(bal.name, "keepalived")).unwrap_or_default();
                out.extend(keepalived_transitions(bal.name, &text, mark.keepalived_lines[i]));
            }
            Impl::Halb => {
                let status = halb_status(lab, bal.host)?;
                let inst = halb_instance(&status, bal.name).with_context(|| {
                    format!(
                        "halb on {} reports no instance {VRRP_INSTANCE} of {}",
                        bal.host, bal.name
                    )
                })?;
                out.extend(halb_transitions(bal.name, inst, mark.unix_ms));
            }
        }
    }
    Ok(out)
}

/// Total transitions each balancer's halb instance reports (None: keepalived runs it).
pub fn halb_transition_counts(lab: &Lab, config: &LabConfig) -> Result<Vec<(&'static str, u64)>> {
    let mut out = Vec::new();
    for bal in &topo::BALANCERS {
        if config.stack.get(Component::Vrrp, bal.name) == Impl::Halb {
            let status = halb_status(lab, bal.host)?;
            let inst = halb_instance(&status, bal.name).with_context(|| {
                format!("halb on {} reports no instance of {}", bal.host, bal.name)
            })?;
            out.push((bal.name, inst.transitions));
        }
    }
    Ok(out)
}

/// Each balancer's VRRP for `lab status`; never fails (what cannot be read is shown).
#[must_use]
pub fn summaries(lab: &Lab, config: &LabConfig) -> Vec<Summary> {
    topo::BALANCERS
        .iter()
        .map(|bal| match config.stack.get(Component::Vrrp, bal.name) {
            Impl::Classic => {
                let text =
                    std::fs::read_to_string(lab.log(bal.name, "keepalived")).unwrap_or_default();
                let all = keepalived_transitions(bal.name, &text, 0);
                let state = all
                    .iter()
                    .rev()
                    .find_map(|t| t.to.clone())
                    .unwrap_or_else(|| "unknown (no state line in its log yet)".into());
                Summary {
                    balancer: bal.name,
                    runs: "keepalived".into(),
                    state,
                    transitions: all.len(),
                    last: all.last().map(|t| t.line.clone()),
                }
            }
            Impl::Halb => {
                let runs = format!("halb ({}'s daemon)", bal.host);
                if !lab.recorded_proc(bal.host, "halb").is_some_and(super::sys::Proc::alive) {
                    return Summary {
                        balancer: bal.name,
                        runs,
                        state: format!("not running ({}'s daemon is down)", bal.host),
                        transitions: 0,
                        last: None,
                    };
                }
                let status = halb_status(lab, bal.host);
                match status.as_ref().map(|s| halb_instance(s, bal.name)) {
                    Ok(Some(inst)) => {
                        let all = halb_transitions(bal.name, inst, 0);
                        Summary {
                            balancer: bal.name,
                            runs,
                            state: inst.state.clone(),
                            transitions: usize::try_from(inst.transitions).unwrap_or(all.len()),
                            last: all.last().map(|t| t.line.clone()),
                        }
                    }
                    Ok(None) => Summary {
                        balancer: bal.name,
                        runs,
                        state: format!("no instance {VRRP_INSTANCE} in the daemon"),
                        transitions: 0,
                        last: None,
                    },
                    Err(e) => Summary {
                        balancer: bal.name,
                        runs,
                        state: format!("unreadable: {e:#}"),
                        transitions: 0,
                        last: None,
                    },
                }
            }
        })
        .collect()
}

/// `unix_ms` as `2026-11-22T00:50:01.123Z`.
#[must_use]
pub fn utc(unix_ms: u64) -> String {
    let (secs, ms) = (unix_ms / 1000, unix_ms % 1000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc(1_795_309_801_123), "2026-11-22T01:10:01.123Z");
        assert_eq!(utc(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn keepalived_lines() {
        let log = "Sat Nov 22 00:50:01 2026: Starting VRRP child process, pid=12\n\
                   Sat Nov 22 00:50:01 2026: (vrrpext) Entering BACKUP STATE (init)\n\
                   Sat Nov 22 00:50:05 2026: (vrrpext) Entering MASTER STATE\n\
                   Sat Nov 22 00:50:09 2026: (vrrpext) Master received advert from 172.16.1.250 with higher priority 150, ours 100\n\
                   Sat Nov 22 00:50:09 2026: (vrrpext) Entering BACKUP STATE\n";
        let all = keepalived_transitions("bal2", log, 0);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].to.as_deref(), Some("BACKUP"));
        assert_eq!(all[1].to.as_deref(), Some("MASTER"));
        assert!(all[1].render().starts_with("bal2: Sat Nov 22 00:50:05 2026"));
        let since = keepalived_transitions("bal2", log, 3);
        assert_eq!(since.len(), 1);
        assert_eq!(keepalived_state_entered("Entering"), None);
    }

    #[test]
    fn halb_history() {
        use halb::control::vrrp::TransitionRecord;
        let record = |unix_ms, from: &str, to: &str, reason: &str| TransitionRecord {
            unix_ms,
            from: from.into(),
            to: to.into(),
            reason: reason.into(),
        };
        let status = [
            VrrpReport {
                balancer: "bal1".into(),
                instance: "other".into(),
                ..VrrpReport::default()
            },
            VrrpReport {
                balancer: "bal1".into(),
                instance: "vrrpext".into(),
                state: "MASTER".into(),
                transitions: 2,
                history: vec![
                    record(1000, "INIT", "BACKUP", "startup"),
                    record(4610, "BACKUP", "MASTER", "master down timer expired"),
                ],
                ..VrrpReport::default()
            },
        ];
        let inst = halb_instance(&status, "bal1").unwrap();
        assert_eq!(inst.state, "MASTER");
        assert!(halb_instance(&status, "bal2").is_none());
        let all = halb_transitions("bal1", inst, 0);
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[1].line,
            "1970-01-01T00:00:04.610Z halb: vrid 12 BACKUP -> MASTER: master down timer expired"
        );
        assert_eq!(all[1].to.as_deref(), Some("MASTER"));
        assert_eq!(halb_transitions("bal1", inst, 2000).len(), 1);
        assert!(halb_transitions("bal1", &status[0], 0).is_empty());
        assert!(halb_instance(&[], "bal1").is_none());
    }
}
