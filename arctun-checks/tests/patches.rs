//! The illumos patch series: its interface with the module, and (given an
//! illumos tree in `ILLUMOS_SRC`) that it applies and compiles.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use arctun_checks::c_decls::header_prototypes;
use arctun_checks::patches::{
    calls, declarations, definitions, file_diffs, module_c_definitions, series, strip_c_comments,
};
use arctun_checks::repo_root;

/// Where the module's header is installed in the illumos tree.
const HEADER_IN_TREE: &str = "usr/src/uts/common/sys/arctun.h";
/// The module's mapfile in the illumos tree.
const MAPFILE_IN_TREE: &str = "usr/src/uts/intel/arctun/arctun.mapfile";

fn patches_dir() -> PathBuf {
    repo_root().join("patches")
}

fn header() -> String {
    std::fs::read_to_string(repo_root().join("arctun-kmod/include/sys/arctun.h")).unwrap()
}

/// The lines a series adds to `path` (which it creates).
fn new_file(path: &str) -> String {
    let mut found = None;
    for p in series(&patches_dir()).unwrap() {
        for d in file_diffs(&p.text) {
            if d.path == path {
                assert!(d.new_file, "{path} should be created by the series");
                assert!(found.is_none(), "{path} is created twice");
                found = Some(d.added.join("\n") + "\n");
            }
        }
    }
    found.unwrap_or_else(|| panic!("the series does not create {path}"))
}

#[test]
fn the_series_lists_existing_patches_in_order() {
    let s = series(&patches_dir()).unwrap();
    assert!(s.len() >= 2, "{s:?}");
    let names: Vec<&str> = s.iter().map(|p| p.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "numbered patches out of order");
    for p in &s {
        assert!(
            p.text.contains("\ndiff --git a/"),
            "{} is not a git diff",
            p.name
        );
    }
}

#[test]
fn the_series_carries_the_header_verbatim() {
    assert_eq!(new_file(HEADER_IN_TREE), header());
}

#[test]
fn every_function_the_patches_call_is_in_the_header_with_its_arity() {
    let mut protos = header_prototypes(&header()).unwrap();
    // The module's C half also defines the few functions its Rust half
    // calls; nothing else may call those, and none is in the header.
    for d in module_c_definitions(&patches_dir()).unwrap() {
        assert!(
            !protos.contains_key(&d.name),
            "{} is both in the header and private",
            d.name
        );
        protos.insert(d.name, d.prototype);
    }
    let mut called = BTreeSet::new();
    for p in series(&patches_dir()).unwrap() {
        for d in file_diffs(&p.text) {
            if d.path == HEADER_IN_TREE || !(d.path.ends_with(".c") || d.path.ends_with(".h")) {
                continue;
            }
            let code = strip_c_comments(&d.added.join("\n"));
            // A definition's own line is not a call.
            let defined: BTreeSet<usize> = definitions(&code).iter().map(|d| d.line).collect();
            let code: String = code
                .lines()
                .enumerate()
                .filter(|(i, _)| !defined.contains(i))
                .map(|(_, l)| format!("{l}\n"))
                .collect();
            let own = declarations(&code);
            assert!(
                own.is_empty(),
                "{} ({}) declares the module's functions itself: {own:?}",
                d.path,
                p.name
            );
            for call in calls(&code) {
                let Some(proto) = protos.get(&call.name) else {
                    panic!(
                        "{} ({}) calls {}, which the header does not declare",
                        d.path, p.name, call.name
                    );
                };
                assert_eq!(
                    call.nargs,
                    proto.params.len(),
                    "{} ({}) calls {} with {} arguments; the header says {}",
                    d.path,
                    p.name,
                    call.name,
                    call.nargs,
                    proto
                );
                called.insert(call.name);
            }
        }
    }
    // The patches call the module: the check is not vacuous.
    for f in [
        "arctun_mod_init",
        "arctun_arc_register",
        "arctun_arc_headroom",
    ] {
        assert!(called.contains(f), "no patch calls {f}: {called:?}");
    }
}

#[test]
fn the_mapfile_exports_exactly_the_header_functions() {
    let mapfile = new_file(MAPFILE_IN_TREE);
    let global = mapfile
        .split("global:")
        .nth(1)
        .and_then(|g| g.split("local:").next())
        .unwrap();
    let exported: BTreeSet<String> = global
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches(';').to_owned())
        .collect();
    let mut expected: BTreeSet<String> =
        header_prototypes(&header()).unwrap().into_keys().collect();
    for f in ["_init", "_fini", "_info"] {
        expected.insert(f.to_owned());
    }
    assert_eq!(exported, expected);
}

fn run_script(name: &str) {
    let script = patches_dir().join(name);
    let tree = std::env::var_os("ILLUMOS_SRC");
    let out = Command::new("sh").arg(&script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "{name} failed:\n{stdout}{stderr}");
    if tree.is_none() {
        assert!(stdout.contains("SKIPPED"), "{stdout}");
        eprintln!("{name}: SKIPPED: set ILLUMOS_SRC to an illumos-joyent tree to run it");
    } else {
        // Given a tree, only a missing compiler may skip (check-compile).
        assert!(
            !stdout.contains("SKIPPED") || stdout.contains("gcc is not installed"),
            "{stdout}"
        );
    }
}

#[test]
fn the_series_applies_in_order_to_the_given_tree() {
    run_script("check-apply.sh");
}

#[test]
fn the_changed_c_files_compile_against_the_given_tree() {
    run_script("check-compile.sh");
}

/// check-compile.sh compares gcc's diagnostics through this filter; one
/// that matched nothing would let every new warning through.
#[test]
fn the_compile_check_sees_gcc_warnings_and_errors() {
    let input = "/w/patched/usr/src/a.c:134:26: warning: implicit declaration of function \u{2018}f\u{2019} [-Wimplicit-function-declaration]\n  134 |   x = f();\n/w/b.c: In function \u{2018}g\u{2019}:\n/w/b.c:7:1: error: expected \u{2018};\u{2019}\n/w/b.c:9:2: note: declared here\n";
    let mut child = Command::new("sed")
        .args(["-nE", "-f"])
        .arg(patches_dir().join("gcc-diagnostics.sed"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "/w/patched/usr/src/a.c warning implicit declaration of function \u{2018}f\u{2019} [-Wimplicit-function-declaration]\n/w/b.c error expected \u{2018};\u{2019}\n"
    );
}
