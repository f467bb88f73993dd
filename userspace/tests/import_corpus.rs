//! `halb import` on the lab's own files, the practice's original ones and a
//! corpus written from the haproxy and keepalived manuals
//! (`tests/import_corpus/`):
//!
//! - every case imports, and halb's own validation accepts the result;
//! - what is listed (not imported, or imported differently) matches the
//!   case's expected list, `import_corpus/expected/<case>.txt` (rewrite them
//!   with `HALB_BLESS=1` and read the diff);
//! - every directive line of every file is either mapped or listed, so a
//!   directive the importer forgot fails here;
//! - the lab's files give host1.toml's balancer; keepalived's
//!   authentication is refused naming RFC 5798; malformed files give
//!   `FILE:LINE` errors;
//! - the `halb` binary imports and `halb check` accepts its output.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use halb::config::{self, Balancer};
use halb::import::{self, ImportError, Imported, Options, Source};

/// Each case: its name, its haproxy file, its keepalived file.
const CASES: &[(&str, Option<&str>, Option<&str>)] = &[
    ("lab-bal1", Some("lab-bal1-haproxy.cfg"), Some("lab-bal1-keepalived.conf")),
    ("lab-bal2-v3", Some("lab-bal1-haproxy.cfg"), Some("lab-bal2-keepalived-v3.conf")),
    ("seed", Some("seed-haproxy.cfg"), Some("seed-keepalived.conf")),
    ("h1-listen", Some("h1-listen.cfg"), None),
    ("h2-frontends", Some("h2-frontends.cfg"), None),
    ("h3-servers", Some("h3-servers.cfg"), None),
    ("h4-httpchk", Some("h4-httpchk.cfg"), None),
    ("h5-sections", Some("h5-sections.cfg"), None),
    ("k1-instances", None, Some("k1-instances.conf")),
    ("k2-track", Some("lab-bal1-haproxy.cfg"), Some("k2-track.conf")),
    ("k2-track-alone", None, Some("k2-track.conf")),
    ("k3-unsupported", None, Some("k3-unsupported.conf")),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import_corpus")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(corpus().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn options() -> Options {
    Options { node: "node1".to_owned(), ..Options::default() }
}

/// Imports the named corpus files (named by their file name in the report).
fn run(haproxy: Option<&str>, keepalived: Option<&str>) -> Result<Imported, ImportError> {
    let haproxy = haproxy.map(|name| (name, read(name)));
    let keepalived = keepalived.map(|name| (name, read(name)));
    import::import(source(haproxy.as_ref()), source(keepalived.as_ref()), &options())
}

fn source<'a>(file: Option<&'a (&'a str, String)>) -> Option<Source<'a>> {
    file.map(|(name, text)| Source { name, text })
}

/// The lines a directive sits on: not blank, not a comment, not a lone brace.
fn directive_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.trim();
            !(line.is_empty()
                || line.starts_with('#')
                || line.starts_with('!')
                || line == "}"
                || line == "{")
        })
        .map(|(index, _)| index + 1)
        .collect()
}

#[test]
fn every_case_imports_validates_and_lists_what_it_expects() {
    let bless = std::env::var_os("HALB_BLESS").is_some();
    let (mut mapped, mut listed) = (0, 0);
    for (case, haproxy, keepalived) in CASES {
        let imported = run(*haproxy, *keepalived).unwrap_or_else(|e| panic!("{case}: {e}"));
        config::parse(&imported.config)
            .unwrap_or_else(|e| panic!("{case}: {e}\n{}", imported.config));
        for file in [haproxy, keepalived].into_iter().flatten() {
            for line in directive_lines(&read(file)) {
                assert!(
                    imported.report.covers(file, line),
                    "{case}: {file}:{line} is neither mapped nor listed"
                );
            }
        }
        let mut text = String::new();
        for entry in imported.report.listed() {
            writeln!(text, "{entry}").unwrap();
        }
        let expected_path = corpus().join("expected").join(format!("{case}.txt"));
        if bless {
            std::fs::write(&expected_path, &text).expect("write the expected list");
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
            panic!("{}: {e} (HALB_BLESS=1 writes it)", expected_path.display())
        });
        assert_eq!(text, expected, "{case}: the listed directives changed");
        mapped += imported.report.mapped_count();
        listed += imported.report.listed().count();
    }
    println!("{} cases: {mapped} directives mapped as they are, {listed} listed", CASES.len());
}

fn balancer(text: &str) -> Balancer {
    let mut config = config::parse(text).expect("valid config");
    assert_eq!(config.balancers.len(), 1);
    config.balancers.remove(0)
}

fn example_balancer() -> Balancer {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/host1.toml");
    let mut config = config::load(&path).expect("host1.toml");
    config.balancers.remove(0)
}

#[test]
fn the_practice_files_give_host1_balancer() {
    let example = example_balancer();
    let imported =
        balancer(&run(Some("seed-haproxy.cfg"), Some("seed-keepalived.conf")).unwrap().config);
    // The proxy is host1's exactly: the practice's haproxy.cfg sets nothing else.
    assert_eq!(imported.proxy.as_ref().map(|p| &p.1), example.proxy.as_ref().map(|p| &p.1));
    let (ours, theirs) = (&imported.vrrp[0], &example.vrrp[0]);
    assert_eq!(
        (ours.vrid, ours.priority, ours.advert_interval),
        (theirs.vrid, theirs.priority, theirs.advert_interval)
    );
    assert_eq!(
        (ours.version, ours.preempt, ours.track.clone()),
        (theirs.version, theirs.preempt, theirs.track.clone())
    );
    // The practice writes the VIP without a mask (keepalived: /32).
    assert_eq!(ours.virtual_addresses[0].0, theirs.virtual_addresses[0].0);
}

#[test]
fn the_lab_files_give_host1_balancer() {
    let example = example_balancer();
    let imported = balancer(
        &run(Some("lab-bal1-haproxy.cfg"), Some("lab-bal1-keepalived.conf")).unwrap().config,
    );
    assert_eq!((&imported.name, &imported.netns), (&example.name, &example.netns));
    // keepalived names the VRRP interface only; host1 also lists the internal one.
    assert!(imported.interfaces.iter().all(|name| example.interfaces.contains(name)));
    let mut vrrp = imported.vrrp[0].clone();
    vrrp.name.clone_from(&example.vrrp[0].name);
    assert_eq!(vrrp, example.vrrp[0], "the lab's vrrp_instance is host1's, but for its name");
    let (ours, theirs) = (&imported.proxy.unwrap().1, &example.proxy.unwrap().1);
    assert_eq!(ours.frontends, theirs.frontends);
    assert_eq!(ours.backends.len(), theirs.backends.len());
    for (our, their) in ours.backends.iter().zip(&theirs.backends) {
        assert_eq!(
            (&our.name, our.balance, &our.check),
            (&their.name, their.balance, &their.check)
        );
        let servers = |b: &halb::proxy::BackendConfig| {
            b.servers
                .iter()
                .map(|s| (s.name.clone(), s.address, s.weight, s.check.is_some()))
                .collect::<Vec<_>>()
        };
        assert_eq!(servers(our), servers(their));
    }
    // The lab's own timings (1 s checks, 2 retries) came through.
    assert_eq!(ours.retries, 2);
    assert_eq!(ours.backends[0].servers[0].check.unwrap().inter, std::time::Duration::from_secs(1));
}

#[test]
fn keepalived_authentication_is_refused_naming_rfc_5798() {
    let err = run(None, Some("k4-auth.conf")).unwrap_err().to_string();
    assert!(err.starts_with("k4-auth.conf:7: authentication: refused: "), "{err}");
    assert!(err.contains("RFC 5798"), "{err}");
}

#[test]
fn malformed_files_are_errors_with_file_and_line() {
    let cases = [
        (
            None,
            Some("bad-unterminated.conf"),
            "bad-unterminated.conf:1: block `vrrp_instance VI_1 {` is never closed",
        ),
        (
            None,
            Some("bad-unknown-section.conf"),
            "bad-unknown-section.conf:1: unknown section `vrp_instance`",
        ),
        (Some("bad-outside.cfg"), None, "bad-outside.cfg:1: `bind` is outside any section"),
        (
            Some("bad-unknown-section.cfg"),
            None,
            "bad-unknown-section.cfg:4: unknown section `backed`",
        ),
    ];
    for (haproxy, keepalived, start) in cases {
        let err = run(haproxy, keepalived).unwrap_err().to_string();
        assert!(err.starts_with(start), "{err}");
    }
    let err = import::import(None, Some(Source { name: "empty.conf", text: "" }), &options())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("nothing to import"), "{err}");
}

#[test]
fn halb_import_output_passes_halb_check() {
    let scratch = std::env::temp_dir().join(format!("halb-import-test-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_halb"))
        .arg("import")
        .arg("--haproxy")
        .arg(corpus().join("lab-bal1-haproxy.cfg"))
        .arg("--keepalived")
        .arg(corpus().join("k2-track.conf"))
        .args(["--node", "host1", "--balancer", "lb1", "--netns", "lb1ns"])
        .output()
        .expect("run halb import");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "halb import failed: {stderr}");
    assert!(stderr.contains("k2-track.conf:34: chk_nginx: not imported"), "{stderr}");
    let config = scratch.join("imported.toml");
    std::fs::write(&config, &output.stdout).unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_halb"))
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run halb check");
    let summary = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "halb check: {}", String::from_utf8_lossy(&check.stderr));
    assert!(summary.contains("balancer lb1") && summary.contains("netns lb1ns"), "{summary}");

    let refused = Command::new(env!("CARGO_BIN_EXE_halb"))
        .arg("import")
        .arg("--keepalived")
        .arg(corpus().join("k4-auth.conf"))
        .args(["--node", "host1"])
        .output()
        .expect("run halb import");
    assert!(!refused.status.success());
    assert!(refused.stdout.is_empty(), "nothing on stdout when refused");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("RFC 5798"));
    std::fs::remove_dir_all(&scratch).unwrap();
}
