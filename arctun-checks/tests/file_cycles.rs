//! `.ci/check-file-cycles`, the check that the files of a crate import
//! each other in one direction only: it passes on the kernel module's
//! sources, fails on a copy of them with a cycle added and names it, and
//! follows the paths a cycle could hide behind (grouped imports,
//! `super::`, `self::`, a child module named in a `use`, the root's
//! re-exports) while ignoring what is not an import (comments, doc links,
//! strings, `super::` in an inline test module).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arctun_checks::{repo_root, target_root};

fn script() -> PathBuf {
    repo_root().join(".ci").join("check-file-cycles")
}

fn run(dirs: &[&Path]) -> Output {
    Command::new(script())
        .args(dirs)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} (python3 needed): {e}", script().display()))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An empty scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = target_root().join("file-cycles").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A crate source tree of `files` (path, text) under a fresh scratch
/// directory.
fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = scratch(name);
    for (path, text) in files {
        let p = dir.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).unwrap();
        }
    }
}

#[test]
fn the_kernel_module_s_files_import_each_other_in_one_direction() {
    let src = repo_root().join("arctun-kmod").join("src");
    let out = run(&[&src]);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("no cycle"), "{}", stdout(&out));
}

/// Every crate of the repository: each directory with a Cargo.toml and a
/// src/, found, not listed, so a new crate is checked too.
#[test]
fn every_crate_s_files_import_each_other_in_one_direction() {
    let root = repo_root();
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("Cargo.toml").is_file() && d.join("src").is_dir())
        .map(|d| d.join("src"))
        .collect();
    dirs.sort();
    for expected in [
        "arctun-kmod",
        "tests-vm",
        "vmm-client",
        "zfs-tunables",
        "kstat-export",
    ] {
        assert!(
            dirs.iter().any(|d| d.parent().unwrap().ends_with(expected)),
            "{expected} not found among {dirs:?}"
        );
    }
    let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let out = run(&refs);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout(&out).matches("no cycle").count(),
        dirs.len(),
        "{}",
        stdout(&out)
    );
}

/// The demonstration the issue asks for: a copy of the module's sources
/// where the lowest file, the kernel primitives, reaches up to the
/// kstats, which reach it back through the state module.
#[test]
fn a_cycle_added_to_a_copy_of_the_module_fails_and_is_named() {
    let copy = scratch("kmod-with-a-cycle").join("src");
    copy_dir(&repo_root().join("arctun-kmod").join("src"), &copy);
    let ksync = copy.join("ksync.rs");
    let mut text = fs::read_to_string(&ksync).unwrap();
    text.push_str("\n#[allow(unused_imports)]\nuse crate::kstats::create_vmm_kstat;\n");
    fs::write(&ksync, &text).unwrap();
    let added_line = text.lines().count();

    let out = run(&[&copy]);
    let said = stdout(&out);
    println!("{said}");
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("kstats.rs -> state.rs -> ksync.rs -> kstats.rs"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "ksync.rs:{added_line}: use crate::kstats::create_vmm_kstat"
        )),
        "{said}"
    );
}

#[test]
fn every_form_of_path_into_a_file_counts() {
    // Each case: a two-file cycle whose back edge is written one way.
    let cases: &[(&str, &str)] = &[
        ("grouped", "use crate::{x, a::{self, A}};\n"),
        ("nested_group", "use crate::{a::{A}};\n"),
        ("in_code", "fn f() { let _ = crate::a::A; }\n"),
        ("super", "use super::a::A;\n"),
        ("super_in_code", "fn f() -> super::a::A { todo!() }\n"),
        ("root_reexport", "use crate::A;\n"),
        ("glob", "use crate::a::*;\n"),
        ("renamed", "use crate::a::A as Other;\n"),
    ];
    for (name, back_edge) in cases {
        let dir = tree(
            &format!("form-{name}"),
            &[
                ("lib.rs", "mod a;\nmod b;\npub mod x {}\npub use a::A;\n"),
                ("a.rs", "use crate::b::B;\npub struct A;\n"),
                ("b.rs", &format!("pub struct B;\n{back_edge}")),
            ],
        );
        let out = run(&[&dir]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        assert!(stdout(&out).contains("a.rs -> b.rs -> a.rs"), "{name}");
    }
}

#[test]
fn a_child_module_named_in_a_use_and_super_back_is_a_cycle() {
    let dir = tree(
        "child-module",
        &[
            ("lib.rs", "pub mod scenario;\n"),
            (
                "scenario/mod.rs",
                "mod load;\nuse load::parse;\npub struct Scenario;\n",
            ),
            (
                "scenario/load.rs",
                "use super::Scenario;\npub fn parse() -> Scenario { Scenario }\n",
            ),
        ],
    );
    let out = run(&[&dir]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("scenario/mod.rs -> scenario/load.rs -> scenario/mod.rs"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_transitive_cycle_is_named_with_every_file_in_it() {
    let dir = tree(
        "transitive",
        &[
            ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            ("b.rs", "use crate::c::C;\npub struct B;\n"),
            (
                "c.rs",
                "use crate::a::A;\nuse crate::d::D;\npub struct C;\n",
            ),
            ("d.rs", "use crate::b::B;\npub struct D;\n"),
        ],
    );
    let out = run(&[&dir]);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("a.rs -> b.rs -> c.rs -> a.rs"), "{said}");
    assert!(said.contains("the same knot also holds: d.rs"), "{said}");
    assert!(said.contains("c.rs:1: use crate::a::A"), "{said}");
}

#[test]
fn what_is_not_an_import_does_not_count() {
    let dir = tree(
        "not-imports",
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            (
                "b.rs",
                concat!(
                    "//! See [`A`](crate::a::A).\n",
                    "pub struct B;\n",
                    "// use crate::a::A;\n",
                    "/* crate::a::A /* nested */ crate::a::A */\n",
                    "const S: &str = \"crate::a::A\";\n",
                    "const R: &str = r#\"use crate::a::A;\"#;\n",
                    "const C: char = '\"';\n",
                    "fn f<'a>(x: &'a str) -> &'a str { x }\n",
                    "#[cfg(test)]\n",
                    "mod tests {\n",
                    "    use super::B;\n",
                    "    fn g() -> super::B { B }\n",
                    "}\n",
                ),
            ),
        ],
    );
    let out = run(&[&dir]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("3 files, no cycle"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn every_directory_is_checked_and_a_bad_one_is_named() {
    let clean = tree(
        "clean",
        &[("lib.rs", "mod a;\n"), ("a.rs", "pub struct A;\n")],
    );
    let cyclic = tree(
        "cyclic",
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            ("b.rs", "use crate::a::A;\npub struct B;\n"),
        ],
    );
    let out = run(&[&clean, &cyclic]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let said = stdout(&out);
    assert!(
        said.contains(&format!("{}: 2 files, no cycle", clean.display())),
        "{said}"
    );
    assert!(
        said.contains(&format!("{}: files import", cyclic.display())),
        "{said}"
    );

    let not_a_crate = tree("not-a-crate", &[("a.rs", "pub struct A;\n")]);
    let out = run(&[&not_a_crate]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("no lib.rs or main.rs: not a crate's source directory"),
        "{}",
        stdout(&out)
    );
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
}
