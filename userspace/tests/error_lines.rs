//! A failing `halb` command ends with one line, `halb: what failed: why`, naming the key
//! or the fix, and no backtrace, whether `RUST_BACKTRACE` is unset or asks for one.

use std::process::Command;

/// Runs halb with `args` under each `RUST_BACKTRACE` setting and checks each run failed
/// with exactly one line; returns those lines.
fn one_error_line(args: &[&str]) -> Vec<String> {
    [None, Some("1"), Some("full")]
        .into_iter()
        .map(|backtrace| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_halb"));
            command.args(args).env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
            if let Some(value) = backtrace {
                command.env("RUST_BACKTRACE", value);
            }
            let output = command.output().expect("run halb");
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            assert!(!output.status.success(), "{args:?} succeeded");
            assert_eq!(
                stderr.lines().count(),
                1,
                "{args:?} (RUST_BACKTRACE={backtrace:?}):\n{stderr}"
            );
            assert!(stderr.starts_with("halb: "), "{stderr}");
            assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
            stderr
        })
        .collect()
}

fn scratch_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("halb-error-lines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scratch file");
    path
}

#[test]
fn a_config_with_an_unknown_key_names_the_line_and_the_key() {
    let path = scratch_file("typo.toml", "[daemon]\nnode = \"h\"\n[host]\nnmae = \"x\"\n");
    for stderr in one_error_line(&["check", "--config", path.to_str().unwrap()]) {
        assert!(
            stderr.contains("line 4, column 1 (`nmae = \"x\"`): unknown field `nmae`"),
            "{stderr}"
        );
    }
}

#[test]
fn a_missing_config_file_is_named() {
    for stderr in one_error_line(&["check", "--config", "/nonexistent/halb.toml"]) {
        assert!(stderr.contains("cannot read config file /nonexistent/halb.toml"), "{stderr}");
    }
}

#[test]
fn a_query_with_no_daemon_says_how_to_start_one() {
    let run_dir = std::env::temp_dir().join(format!("halb-error-lines-run-{}", std::process::id()));
    for stderr in
        one_error_line(&["status", "--node", "nobody", "--run-dir", run_dir.to_str().unwrap()])
    {
        assert!(stderr.contains("no daemon answers on"), "{stderr}");
        assert!(stderr.contains("start it with `halb run --config FILE`"), "{stderr}");
    }
}
