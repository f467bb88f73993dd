//! A failing `cargo xtask` command ends with one line, `error: what failed: why and the
//! fix`, and no backtrace, whether `RUST_BACKTRACE` is unset or asks for one.
//!
//! The commands here touch nothing: they fail on a lab that does not exist.

use std::process::Command;

/// Runs xtask with `args` under each `RUST_BACKTRACE` setting; returns stderr of each run
/// after checking it failed with exactly one line.
fn one_error_line(args: &[&str]) -> Vec<String> {
    [None, Some("1"), Some("full")]
        .into_iter()
        .map(|backtrace| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
            command.args(args).env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
            if let Some(value) = backtrace {
                command.env("RUST_BACKTRACE", value);
            }
            let output = command.output().expect("run xtask");
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            assert!(!output.status.success(), "{args:?} succeeded");
            assert_eq!(
                stderr.lines().count(),
                1,
                "{args:?} (RUST_BACKTRACE={backtrace:?}):\n{stderr}"
            );
            assert!(stderr.starts_with("error: "), "{stderr}");
            assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
            stderr
        })
        .collect()
}

#[test]
fn a_command_on_a_lab_that_is_not_up_says_how_to_start_it() {
    let prefix = format!("hxe{}", std::process::id());
    for stderr in one_error_line(&["lab", "exec", "--prefix", &prefix, "bal1", "--", "true"]) {
        assert!(
            stderr.contains(&format!("start it with `cargo xtask lab up --prefix {prefix}`")),
            "{stderr}"
        );
    }
}

#[test]
fn an_unknown_node_is_named_with_the_nodes_there_are() {
    for stderr in one_error_line(&["lab", "exec", "--prefix", "hxe-none", "nonode", "--", "true"]) {
        assert!(stderr.contains("no node \"nonode\" (nodes: user,"), "{stderr}");
    }
}
