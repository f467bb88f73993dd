//! haproxy's sections onto halb's `[balancer.proxy]`: `defaults` give each
//! following frontend and backend their starting values, `frontend` and
//! `backend` map key for key, a `listen` is a frontend and a backend of the
//! same name. Timeouts, `retries` and `option redispatch` are one value per
//! proxy in halb; a section that sets another value than an earlier one is
//! listed. Every directive goes to the report once.

use std::collections::BTreeMap;

use super::haproxy::{Directive, Section};
use super::haproxy_bind::bind_text;
use super::haproxy_check::{http_check, option_httpchk, DEFAULT_EXPECT};
use super::haproxy_forward as forward;
use super::haproxy_reasons::{reason, section_reason, timeout_reason};
use super::haproxy_server::{self as server, ServerParams};
use super::haproxy_shared::Shared;
use super::report::{Location, Outcome, Report};
use crate::proxy::config::duration;
use crate::proxy::section::{
    BackendSection, DurationValue, ForwardForSection, ForwardedSection, FrontendSection,
    HttpCheckSection, ProxySection, TimeoutSection,
};

/// What haproxy.cfg gave: the proxy (none without a usable frontend) and
/// `nbthread`.
#[derive(Debug, Default)]
pub struct Imported {
    pub proxy: Option<ProxySection>,
    pub threads: Option<i64>,
}

/// Maps the `sections` of `file`, writing every directive's outcome to `report`.
pub fn map(file: &str, sections: &[Section], report: &mut Report) -> Imported {
    let mut mapper = Mapper {
        file,
        report,
        defaults: Defaults::default(),
        timeouts: BTreeMap::new(),
        retries: Shared::default(),
        redispatch: Shared::default(),
        threads: None,
        frontends: Vec::new(),
        backends: Vec::new(),
    };
    for section in sections {
        mapper.section(section);
    }
    mapper.finish()
}

/// What a `defaults` section gives the sections after it.
#[derive(Debug, Default, Clone)]
struct Defaults {
    balance: Option<String>,
    httpchk: Option<HttpCheckSection>,
    forwardfor: Option<ForwardForSection>,
    forwarded: Option<ForwardedSection>,
    server: ServerParams,
    maxconn: Option<u32>,
    default_backend: Option<String>,
}

#[derive(Debug)]
struct FrontendDraft {
    name: String,
    line: usize,
    listen: bool,
    binds: Vec<String>,
    default_backend: Option<String>,
    maxconn: Option<u32>,
}

#[derive(Debug)]
struct BackendDraft {
    section: BackendSection,
    line: usize,
    server_defaults: ServerParams,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Defaults,
    Frontend,
    Backend,
    Listen,
}

impl Role {
    fn listens(self) -> bool {
        matches!(self, Role::Frontend | Role::Listen)
    }
    fn serves(self) -> bool {
        matches!(self, Role::Backend | Role::Listen)
    }
}

#[derive(Debug)]
struct Mapper<'a> {
    file: &'a str,
    report: &'a mut Report,
    defaults: Defaults,
    timeouts: BTreeMap<String, Shared<DurationValue>>,
    retries: Shared<u32>,
    redispatch: Shared<bool>,
    threads: Option<i64>,
    frontends: Vec<FrontendDraft>,
    backends: Vec<BackendDraft>,
}

/// How a directive is named in the report: two words for the families
/// whose second word says what it is.
fn name_of(d: &Directive) -> String {
    match d.word(0) {
        "option" | "timeout" | "http-check" | "stats" => format!("{} {}", d.word(0), d.word(1)),
        "no" => format!("no {} {}", d.word(1), d.word(2)),
        "server" => format!("server {}", d.word(1)),
        other => other.to_owned(),
    }
}

impl Mapper<'_> {
    fn at(&self, line: usize) -> Location {
        Location::line(self.file, line)
    }

    fn outcome(&mut self, line: usize, directive: impl Into<String>, outcome: Outcome) {
        let location = self.at(line);
        match outcome {
            Outcome::Mapped => self.report.mapped(location, directive),
            Outcome::Note(why) => self.report.note(location, directive, why),
            Outcome::Unsupported(why) => self.report.unsupported(location, directive, why),
        }
    }

    fn unsupported(&mut self, d: &Directive, why: impl Into<String>) {
        let location = self.at(d.line);
        self.report.unsupported(location, name_of(d), why);
    }

    fn section(&mut self, s: &Section) {
        let title =
            format!("{} {}", s.kind, s.name.as_deref().unwrap_or_default()).trim().to_owned();
        let role = match s.kind.as_str() {
            "global" => {
                self.report.mapped(self.at(s.line), title);
                for d in &s.directives {
                    self.global(d);
                }
                return;
            }
            "defaults" => Role::Defaults,
            "frontend" => Role::Frontend,
            "backend" => Role::Backend,
            "listen" => Role::Listen,
            other => {
                let location =
                    Location { file: self.file.to_owned(), line: s.line, end_line: s.end_line };
                self.report.unsupported(location, title, section_reason(other));
                return;
            }
        };
        let name = match (&s.name, role) {
            (_, Role::Defaults) => String::new(),
            (Some(name), _) => name.clone(),
            (None, _) => {
                let location =
                    Location { file: self.file.to_owned(), line: s.line, end_line: s.end_line };
                self.report.unsupported(
                    location,
                    title,
                    "a section without a name cannot be imported",
                );
                return;
            }
        };
        if role == Role::Defaults {
            // A `defaults` section replaces the previous one's values.
            self.defaults = Defaults::default();
        }
        if role.listens() {
            self.frontends.push(FrontendDraft {
                name: name.clone(),
                line: s.line,
                listen: role == Role::Listen,
                binds: Vec::new(),
                default_backend: if role == Role::Listen {
                    Some(name.clone())
                } else {
                    self.defaults.default_backend.clone()
                },
                maxconn: self.defaults.maxconn,
            });
        }
        if role.serves() {
            self.backends.push(BackendDraft {
                section: BackendSection {
                    name,
                    balance: self.defaults.balance.clone(),
                    httpchk: self.defaults.httpchk.clone(),
                    forwardfor: self.defaults.forwardfor.clone(),
                    forwarded: self.defaults.forwarded.clone(),
                    ..BackendSection::default()
                },
                line: s.line,
                server_defaults: self.defaults.server.clone(),
            });
        }
        self.report.mapped(self.at(s.line), title);
        match s.args.first().map(String::as_str) {
            Some("from") => self.report.unsupported(
                self.at(s.line),
                s.args.join(" "),
                "halb applies the last `defaults` section before this one, not a named one",
            ),
            Some(address) if role.listens() => self.bind(s.line, address, &[]),
            _ => {}
        }
        for d in &s.directives {
            self.directive(role, d, s);
        }
    }

    fn global(&mut self, d: &Directive) {
        match d.word(0) {
            "nbthread" => match d.word(1).parse::<i64>() {
                Ok(threads) if threads >= 1 => {
                    self.threads = Some(threads);
                    self.report.mapped(self.at(d.line), "nbthread");
                }
                _ => self.unsupported(d, format!("`{}` is not a thread count", d.word(1))),
            },
            "maxconn" => self.unsupported(
                d,
                "halb limits connections per frontend (`maxconn` there, default 4096)",
            ),
            keyword => {
                let why = reason("global", keyword, d.word(1));
                self.unsupported(d, why);
            }
        }
    }

    fn directive(&mut self, role: Role, d: &Directive, s: &Section) {
        let in_defaults = role == Role::Defaults;
        let args = &d.words[1..];
        match (d.word(0), d.word(1)) {
            ("mode", "http") => self.report.mapped(self.at(d.line), "mode http"),
            ("mode", mode) => self.unsupported(
                d,
                format!("halb proxies HTTP/1.1 only: the section is imported as HTTP, not `{mode}`; check that its traffic is HTTP"),
            ),
            ("timeout", name) => self.timeout(d, name, in_defaults),
            ("retries", count) => match count.parse::<u32>() {
                Ok(count) => {
                    let outcome = self.retries.set(count, d.line, in_defaults);
                    self.outcome(d.line, "retries", outcome);
                }
                Err(_) => self.unsupported(d, format!("`{count}` is not a whole number")),
            },
            ("option", "redispatch") => {
                let mut outcome = self.redispatch.set(true, d.line, in_defaults);
                if !matches!(d.word(2), "" | "1") && outcome == Outcome::Mapped {
                    outcome = Outcome::Note("halb redispatches on every retry, not every Nth".to_owned());
                }
                self.outcome(d.line, "option redispatch", outcome);
            }
            ("no", "option") if d.word(2) == "redispatch" => {
                let outcome = self.redispatch.set(false, d.line, in_defaults);
                self.outcome(d.line, "no option redispatch", outcome);
            }
            _ if forward::names_client_headers(d) && (in_defaults || role.serves()) => {
                self.client_headers_option(role, d, args);
            }
            _ if role == Role::Frontend && forward::names_client_headers(d) => {
                self.unsupported(d, "halb sets client headers per backend; put the option in the backend");
            }
            ("option", "httpchk") if in_defaults || role.serves() => {
                let expects = s.directives.iter().any(|other| other.word(0) == "http-check" && other.word(1) == "expect");
                let check = self.check_of(role);
                let had_expect = check.expect_status.is_some();
                let read = option_httpchk(check, &args[1..]);
                let read = Ok(read.or_else(|| (!expects && !had_expect).then(|| DEFAULT_EXPECT.to_owned())));
                self.check_outcome(d, read);
            }
            ("http-check", _) if in_defaults || role.serves() => {
                let check = self.check_of(role);
                let read = http_check(check, args);
                self.check_outcome(d, read);
            }
            ("balance", algorithm) if in_defaults || role.serves() => self.balance(d, role, algorithm),
            ("default-server", _) if in_defaults || role.serves() => {
                let (params, bad) = server::params(args);
                let base = if in_defaults { &self.defaults.server } else { &self.backends.last().expect("a backend section").server_defaults };
                let merged = params.over(base);
                if in_defaults {
                    self.defaults.server = merged;
                } else if let Some(backend) = self.backends.last_mut() {
                    backend.server_defaults = merged;
                }
                self.report.mapped(self.at(d.line), "default-server");
                for (what, why) in bad {
                    self.report.unsupported(self.at(d.line), format!("default-server {what}"), why);
                }
            }
            ("server", name) if role.serves() => self.server(d, name),
            ("bind", address) if role.listens() => self.bind(d.line, address, d.words.get(2..).unwrap_or_default()),
            ("default_backend", backend) if in_defaults || role.listens() => {
                if in_defaults {
                    self.defaults.default_backend = Some(backend.to_owned());
                } else if let Some(frontend) = self.frontends.last_mut() {
                    frontend.default_backend = Some(backend.to_owned());
                }
                self.report.mapped(self.at(d.line), "default_backend");
            }
            ("maxconn", value) if in_defaults || role.listens() => match value.parse::<u32>() {
                Ok(limit) if limit > 0 => {
                    if in_defaults {
                        self.defaults.maxconn = Some(limit);
                    } else if let Some(frontend) = self.frontends.last_mut() {
                        frontend.maxconn = Some(limit);
                    }
                    self.report.mapped(self.at(d.line), "maxconn");
                }
                _ => self.unsupported(d, format!("`{value}` is not a positive number")),
            },
            (keyword, second) => {
                let why = reason(&s.kind, keyword, second);
                self.unsupported(d, why);
            }
        }
    }

    fn forwardfor_of(&mut self, role: Role) -> &mut Option<ForwardForSection> {
        if role == Role::Defaults {
            &mut self.defaults.forwardfor
        } else {
            &mut self.backends.last_mut().expect("a backend section").section.forwardfor
        }
    }

    fn forwarded_of(&mut self, role: Role) -> &mut Option<ForwardedSection> {
        if role == Role::Defaults {
            &mut self.defaults.forwarded
        } else {
            &mut self.backends.last_mut().expect("a backend section").section.forwarded
        }
    }

    /// `option forwardfor|forwarded` and their `no` forms in defaults,
    /// backend or listen.
    fn client_headers_option(&mut self, role: Role, d: &Directive, args: &[String]) {
        match (d.word(0), d.word(1), d.word(2)) {
            ("option", "forwardfor", _) => match forward::forwardfor(&args[1..]) {
                Ok(section) => {
                    *self.forwardfor_of(role) = Some(section);
                    self.report.mapped(self.at(d.line), "option forwardfor");
                }
                Err(why) => self.unsupported(d, why),
            },
            ("option", "forwarded", _) => {
                let (section, skipped) = forward::forwarded(&args[1..]);
                *self.forwarded_of(role) = Some(section);
                self.report.mapped(self.at(d.line), "option forwarded");
                for word in skipped {
                    let why = "halb's Forwarded has for, proto and host only";
                    self.report.unsupported(
                        self.at(d.line),
                        format!("option forwarded {word}"),
                        why,
                    );
                }
            }
            ("no", _, _) => {
                if d.word(2) == "forwardfor" {
                    *self.forwardfor_of(role) = Some(ForwardForSection {
                        enabled: Some(false),
                        ..ForwardForSection::default()
                    });
                } else {
                    *self.forwarded_of(role) = Some(ForwardedSection {
                        enabled: Some(false),
                        ..ForwardedSection::default()
                    });
                }
                self.report.mapped(self.at(d.line), name_of(d));
            }
            _ => {}
        }
    }

    /// The HTTP check being built: the defaults' or the current backend's.
    fn check_of(&mut self, role: Role) -> &mut HttpCheckSection {
        let slot = if role == Role::Defaults {
            &mut self.defaults.httpchk
        } else {
            &mut self.backends.last_mut().expect("a backend section").section.httpchk
        };
        slot.get_or_insert_with(HttpCheckSection::default)
    }

    fn check_outcome(&mut self, d: &Directive, read: Result<Option<String>, String>) {
        let outcome = match read {
            Ok(None) => Outcome::Mapped,
            Ok(Some(note)) => Outcome::Note(note),
            Err(why) => Outcome::Unsupported(why),
        };
        self.outcome(d.line, name_of(d), outcome);
    }

    fn timeout(&mut self, d: &Directive, name: &str, in_defaults: bool) {
        const HALB_TIMEOUTS: [&str; 6] =
            ["connect", "client", "server", "http-request", "queue", "check"];
        if !HALB_TIMEOUTS.contains(&name) {
            return self.unsupported(d, timeout_reason(name));
        }
        let text = d.word(2);
        let value = match text.parse::<u64>() {
            Ok(millis) => DurationValue::Millis(millis),
            Err(_) => DurationValue::Text(text.to_owned()),
        };
        if let Err(why) = duration(&value) {
            return self.unsupported(d, why);
        }
        let outcome =
            self.timeouts.entry(name.to_owned()).or_default().set(value, d.line, in_defaults);
        self.outcome(d.line, name_of(d), outcome);
    }

    fn balance(&mut self, d: &Directive, role: Role, algorithm: &str) {
        let (value, outcome) = match algorithm {
            "roundrobin" | "leastconn" | "random" => (algorithm, Outcome::Mapped),
            "static-rr" => (
                "roundrobin",
                Outcome::Note(
                    "halb's roundrobin (weights are read once, as static-rr's)".to_owned(),
                ),
            ),
            other => (
                "roundrobin",
                Outcome::Unsupported(format!(
                "halb balances roundrobin, leastconn or random; `{other}` is imported as roundrobin"
            )),
            ),
        };
        if role == Role::Defaults {
            self.defaults.balance = Some(value.to_owned());
        } else if let Some(backend) = self.backends.last_mut() {
            backend.section.balance = Some(value.to_owned());
        }
        self.outcome(d.line, "balance", outcome);
    }

    fn server(&mut self, d: &Directive, name: &str) {
        let address = match server::address(d.word(2)) {
            Ok(address) => address,
            Err(why) => return self.unsupported(d, why),
        };
        let backend = self.backends.last_mut().expect("a backend section");
        let (own, bad) = server::params(d.words.get(3..).unwrap_or_default());
        let (section, note) = own.over(&backend.server_defaults).server(name, address);
        backend.section.server.push(section);
        let outcome = note.map_or(Outcome::Mapped, Outcome::Note);
        self.outcome(d.line, name_of(d), outcome);
        for (what, why) in bad {
            self.report.unsupported(self.at(d.line), format!("server {name} {what}"), why);
        }
    }

    /// `bind ADDRESS[,ADDRESS...] [OPTIONS]` (or a section line's address).
    fn bind(&mut self, line: usize, addresses: &str, options: &[String]) {
        let mut outcomes = Vec::new();
        for text in addresses.split(',') {
            match bind_text(text) {
                Ok(bind) => {
                    let frontend = self.frontends.last_mut().expect("a frontend section");
                    frontend.binds.push(bind);
                    let count = frontend.binds.len();
                    outcomes.push(if count == 1 {
                        Outcome::Mapped
                    } else {
                        Outcome::Note(format!("halb takes one bind per frontend: `{text}` is imported as frontend `{}-{count}`", frontend.name))
                    });
                }
                Err(why) => outcomes.push(Outcome::Unsupported(why)),
            }
        }
        for outcome in outcomes {
            self.outcome(line, "bind", outcome);
        }
        if !options.is_empty() {
            let options = options.join(" ");
            self.report.unsupported(
                self.at(line),
                format!("bind {options}"),
                "halb's frontends listen in plain HTTP/1.1 and take no bind options (no TLS)",
            );
        }
    }

    fn finish(self) -> Imported {
        let Mapper {
            file,
            report,
            timeouts,
            retries,
            redispatch,
            threads,
            frontends,
            backends,
            ..
        } = self;
        let names: Vec<String> = backends.iter().map(|b| b.section.name.clone()).collect();
        let mut frontend_sections = Vec::new();
        for frontend in frontends {
            let location = Location::line(file, frontend.line);
            let title = format!(
                "{} {}",
                if frontend.listen { "listen" } else { "frontend" },
                frontend.name
            );
            if frontend.binds.is_empty() {
                if !frontend.listen {
                    report.unsupported(
                        location,
                        title,
                        "no usable bind: halb's frontends listen on an address",
                    );
                }
                continue;
            }
            let Some(backend) = frontend.default_backend else {
                report.unsupported(location, title, "no default_backend: halb sends all of a frontend's requests to its default_backend");
                continue;
            };
            if !names.contains(&backend) {
                report.unsupported(
                    location,
                    title,
                    format!("default_backend `{backend}` is no backend of this file"),
                );
                continue;
            }
            for (index, bind) in frontend.binds.into_iter().enumerate() {
                let name = if index == 0 {
                    frontend.name.clone()
                } else {
                    format!("{}-{}", frontend.name, index + 1)
                };
                frontend_sections.push(FrontendSection {
                    name,
                    bind,
                    default_backend: backend.clone(),
                    maxconn: frontend.maxconn,
                });
            }
        }
        if frontend_sections.is_empty() {
            for backend in &backends {
                report.unsupported(
                    Location::line(file, backend.line),
                    format!("backend {}", backend.section.name),
                    "no frontend of this file can be imported, and halb's proxy needs one",
                );
            }
            return Imported { proxy: None, threads };
        }
        let timeout = |name: &str| timeouts.get(name).and_then(|shared| shared.value.clone());
        let timeout = TimeoutSection {
            connect: timeout("connect"),
            client: timeout("client"),
            server: timeout("server"),
            http_request: timeout("http-request"),
            queue: timeout("queue"),
            check: timeout("check"),
        };
        let proxy = ProxySection {
            frontend: frontend_sections,
            backend: backends.into_iter().map(|b| b.section).collect(),
            timeout,
            retries: retries.value,
            redispatch: redispatch.value,
        };
        Imported { proxy: Some(proxy), threads }
    }
}
