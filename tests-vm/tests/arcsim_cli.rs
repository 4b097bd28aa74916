//! The `arcsim` binary as a user runs it: its arguments, its output
//! streams and its exit status.

use std::process::{Command, Output};

fn arcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arcsim"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run arcsim: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn list_names_every_builtin_scenario() {
    let out = arcsim(&["list"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    for name in ["seed-4g", "seed-128g-home", "seed-128g", "fleet-1t"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} missing from:\n{stdout}"
        );
    }
}

#[test]
fn the_main_command_prints_every_policy_and_the_comparison() {
    let out = arcsim(&["run", "seed-128g"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for policy in ["legacy", "os8005", "reservoir", "tunables"] {
        assert!(stdout.contains(policy), "{policy} missing");
    }
    assert!(stdout.contains("Unable to allocate memory"));
    assert!(stdout.contains("ZFS File Data"));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn stats_go_to_stderr_and_leave_the_json_alone() {
    let out = arcsim(&[
        "run",
        "seed-128g",
        "--policy",
        "tunables",
        "--json",
        "--stats",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.trim_start().starts_with('{') && stdout.trim_end().ends_with('}'));
    assert!(
        stdout.contains(r#""policy": "tunables""#) || stdout.contains(r#""policy":"tunables""#)
    );
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("arcsim: stats: 1 run(s), "), "{stderr}");
    assert!(stderr.contains("peak resident set "), "{stderr}");
}

#[test]
fn bad_arguments_exit_2_with_a_reason() {
    for (args, reason) in [
        (
            &["run", "seed-128g", "--policy", "fast"][..],
            "unknown policy fast",
        ),
        (
            &["run", "seed-128g", "--frobnicate"][..],
            "unknown option --frobnicate",
        ),
        (&["run"][..], "which scenario?"),
        (
            &["run", "seed-128g", "seed-4g"][..],
            "one scenario at a time",
        ),
        (&["run", "no-such-scenario"][..], "not a built-in scenario"),
        (
            &["run", "seed-128g", "--plot"][..],
            "--plot needs a file name",
        ),
        (&["frob"][..], "usage:"),
    ] {
        let out = arcsim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}
