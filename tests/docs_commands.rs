//! The commands in README.md and docs/*.md keep working.
//!
//! Every `cargo xtask ...` line of a ```` ```sh ```` block must parse with xtask's own
//! command-line parser; every link must stay inside the repository and resolve. Blocks
//! marked runnable (see docs/testing.md) run, line by line, in a fresh clone of the
//! workspace's HEAD, with the lab commands in a lab of their own (`HALB_LAB_PREFIX`), which
//! a guard takes down whatever happens.
//!
//! Needs root for the runnable blocks (the lab), and the daemon (`$HALB_BIN` or
//! `target/debug/halb`). Takes about three minutes, the first run longer (it builds xtask
//! into `target/docs-commands`).

#[path = "docs_commands/markdown.rs"]
mod markdown;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser as _;
use halb_tests::{halb_bin, LabGuard};
use markdown::{Block, Stage};

/// The lab prefix of the runnable blocks.
const PREFIX: &str = "hlt-docs";
/// The lock the namespace tests of this machine share.
const NS_LOCK: &str = "/tmp/halb-ns-tests.lock";
/// Longest a documented command may take (`lab check` takes one or two minutes).
const COMMAND_TIMEOUT: Duration = Duration::from_mins(10);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// README.md, then docs/*.md by name, relative to the workspace root.
fn doc_files(root: &Path) -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("docs entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| path.strip_prefix(root).expect("under root").to_path_buf())
        .collect();
    docs.sort();
    std::iter::once(PathBuf::from("README.md")).chain(docs).collect()
}

fn all_blocks(root: &Path) -> Vec<Block> {
    let mut blocks = Vec::new();
    for file in doc_files(root) {
        let text = std::fs::read_to_string(root.join(&file)).expect("read doc");
        blocks.extend(markdown::sh_blocks(&file, &text).unwrap_or_else(|e| panic!("{e}")));
    }
    blocks
}

/// What checking one documented command line found.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// `cargo xtask ...`, accepted by xtask's parser.
    Xtask,
    /// A command this test does not parse, with the reason.
    Unchecked(&'static str),
}

/// Parses a `cargo xtask` line with xtask's clap parser; other commands are not checked.
fn check_command(line: &str) -> Result<Parsed, String> {
    let first_two: Vec<&str> = line.split_whitespace().take(2).collect();
    let words = match first_two.as_slice() {
        ["cargo", "xtask"] => markdown::shell_words(line)?,
        ["halb", ..] => vec!["halb".to_owned()],
        _ => Vec::new(),
    };
    match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["cargo", "xtask", rest @ ..] => {
            let args = std::iter::once("cargo xtask").chain(rest.iter().copied());
            match xtask::cli::Cli::try_parse_from(args) {
                Ok(_) => Ok(Parsed::Xtask),
                Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => Ok(Parsed::Xtask),
                Err(e) => Err(e.render().to_string()),
            }
        }
        ["halb", ..] => Ok(Parsed::Unchecked(
            "the daemon's parser lives in the halb binary, not in its library",
        )),
        _ => Ok(Parsed::Unchecked("not a halb command")),
    }
}

/// Runs each command line of `block` with `sh -c` in `dir`; the first that fails (or
/// outlives [`COMMAND_TIMEOUT`]) is the error, with its output.
fn run_block(block: &Block, dir: &Path, env: &[(&str, String)]) -> Result<(), String> {
    for line in markdown::command_lines(&block.text) {
        eprintln!("docs: {}: {line}", block.place());
        let started = Instant::now();
        let out_path = dir.join(".docs-command-output");
        let out = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
        let mut child = Command::new("sh")
            .args(["-c", &line])
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out)
            .spawn()
            .map_err(|e| format!("{}: cannot run {line:?}: {e}", block.place()))?;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break Some(status);
            }
            if started.elapsed() > COMMAND_TIMEOUT {
                halb_tests::terminate(&mut child, Duration::from_secs(5));
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let output = std::fs::read_to_string(&out_path).unwrap_or_default();
        let _ = std::fs::remove_file(&out_path);
        match status {
            Some(status) if status.success() => {
                eprintln!("docs: ok after {:.1} s", started.elapsed().as_secs_f64());
            }
            Some(status) => {
                return Err(format!("{}: `{line}` failed ({status}):\n{output}", block.place()))
            }
            None => return Err(format!("{}: `{line}` timed out:\n{output}", block.place())),
        }
    }
    Ok(())
}

#[test]
fn documented_xtask_commands_parse() {
    let mut failures = Vec::new();
    let mut parsed = 0;
    for block in all_blocks(&workspace()) {
        for line in markdown::command_lines(&block.text) {
            match check_command(&line) {
                Ok(Parsed::Xtask) => parsed += 1,
                Ok(Parsed::Unchecked(_)) => {}
                Err(e) => failures.push(format!("{}: `{line}`:\n{e}", block.place())),
            }
        }
    }
    assert!(failures.is_empty(), "documented commands that do not parse:\n{}", failures.join("\n"));
    assert!(parsed > 20, "only {parsed} `cargo xtask` lines found: is the extractor broken?");
}

#[test]
fn links_stay_in_the_repository_and_resolve() {
    let root = workspace();
    let mut failures = Vec::new();
    for file in doc_files(&root) {
        let text = std::fs::read_to_string(root.join(&file)).unwrap();
        for link in markdown::links(&text) {
            let (path, anchor) = link.split_once('#').unwrap_or((&link, ""));
            if link.contains("://") || path.starts_with('/') {
                failures.push(format!("{}: {link} leaves the repository", file.display()));
                continue;
            }
            let target = if path.is_empty() { file.clone() } else { file.with_file_name(path) };
            let Ok(target) = root.join(&target).canonicalize() else {
                failures.push(format!("{}: {link}: no such file", file.display()));
                continue;
            };
            if !target.starts_with(&root) {
                failures.push(format!("{}: {link} leaves the repository", file.display()));
            } else if !anchor.is_empty() && target.extension().is_some_and(|e| e == "md") {
                let text = std::fs::read_to_string(&target).unwrap();
                if !markdown::anchors(&text).iter().any(|a| a == anchor) {
                    failures.push(format!("{}: {link}: no such heading", file.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "broken links:\n{}", failures.join("\n"));
}

#[test]
fn a_misspelt_xtask_command_does_not_parse() {
    assert_eq!(check_command("cargo xtask lab status"), Ok(Parsed::Xtask));
    assert_eq!(check_command("cargo xtask lab up --stp-protocol rstp"), Ok(Parsed::Xtask));
    assert!(check_command("cargo xtask lab upp").is_err());
    assert!(check_command("cargo xtask lab up --stp-protocl rstp").is_err());
    assert!(check_command("cargo xtask demo [--keep]").is_err(), "placeholders are not commands");
    assert!(matches!(check_command("halb status --node host1"), Ok(Parsed::Unchecked(_))));
}

#[test]
fn a_runnable_block_with_an_unknown_command_fails() {
    let dir = std::env::temp_dir().join(format!("halb-docs-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let block = |text: &str| Block {
        file: PathBuf::from("x.md"),
        line: 1,
        stage: Some(Stage::Alone),
        text: text.to_owned(),
    };
    assert!(run_block(&block("true\ntest -d ."), &dir, &[]).is_ok());
    let err = run_block(&block("true\nno-such-command-in-the-docs --x"), &dir, &[]).unwrap_err();
    assert!(err.contains("no-such-command-in-the-docs"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The namespace tests' lock, held until dropped; `None` when a process this test
/// descends from holds it already (`flock /tmp/halb-ns-tests.lock cargo xtask test`).
fn ns_lock() -> Option<std::fs::File> {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::fs::MetadataExt as _;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(NS_LOCK)
        .expect("open the namespace tests' lock");
    // SAFETY: flock on a file we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Some(file);
    }
    let inode = file.metadata().expect("lock metadata").ino().to_string();
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    let holders: Vec<u32> = locks
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| {
            f.get(1) == Some(&"FLOCK")
                && f.get(5).and_then(|d| d.rsplit(':').next()) == Some(&inode)
        })
        .filter_map(|f| f.get(4)?.parse().ok())
        .collect();
    if ancestors().iter().any(|pid| holders.contains(pid)) {
        eprintln!("docs: {NS_LOCK} is held by a process this test runs under");
        return None;
    }
    eprintln!("docs: waiting for {NS_LOCK}");
    // SAFETY: as above, blocking this time.
    assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0, "flock {NS_LOCK}");
    Some(file)
}

/// This process's parent, its parent, and so on.
fn ancestors() -> Vec<u32> {
    let mut pids = Vec::new();
    let mut pid = std::process::id();
    while pid > 1 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The fields after the command name (in parentheses): state, then the parent's pid.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        match after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            Some(parent) => {
                pids.push(parent);
                pid = parent;
            }
            None => break,
        }
    }
    pids
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn runnable_blocks_run_in_a_fresh_clone() {
    assert!(xtask::lab::sys::require_root().is_ok(), "the docs test needs root (the lab)");
    let root = workspace();
    let mut blocks: Vec<Block> =
        all_blocks(&root).into_iter().filter(|b| b.stage.is_some()).collect();
    // Stable: within one stage the blocks keep their reading order.
    blocks.sort_by_key(|b| b.stage);
    for stage in [Stage::Alone, Stage::LabUp, Stage::LabDown] {
        assert!(blocks.iter().any(|b| b.stage == Some(stage)), "no block marked {stage:?}");
    }
    let halb = halb_bin();

    let _lock = ns_lock();
    let lab = xtask::lab::Lab::new(PREFIX).unwrap();
    xtask::lab::down::down(&lab).unwrap();
    let _guard = LabGuard(lab);

    let scratch = Scratch(std::env::temp_dir().join(format!("halb-docs-{}", std::process::id())));
    let clone = scratch.0.join("halb");
    let status = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(&root)
        .arg(&clone)
        .status()
        .expect("git clone");
    assert!(status.success(), "git clone of {} failed", root.display());

    let path = format!(
        "{}:{}",
        halb.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [
        ("CARGO_TARGET_DIR", root.join("target/docs-commands").display().to_string()),
        ("HALB_BIN", halb.display().to_string()),
        ("HALB_LAB_PREFIX", PREFIX.to_owned()),
        ("PATH", path),
    ];
    let started = Instant::now();
    for block in &blocks {
        if let Err(e) = run_block(block, &clone, &env) {
            panic!("{e}");
        }
    }
    eprintln!("docs: {} runnable blocks in {:.0} s", blocks.len(), started.elapsed().as_secs_f64());
}
