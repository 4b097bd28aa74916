//! Decides, once per build of the tests, which checks cannot run here, so
//! that they are `#[ignore]`d with their reason (`cargo test` then says
//! they did not run) instead of passing without running:
//!
//! - `arctun_no_illumos_tree`: `ILLUMOS_SRC` names no illumos tree
//!   (`patches/gate-tree.sh` builds one), whatever `CI` says: a CI machine
//!   has none (see `patches/README.md`).
//! - `arctun_no_gcc`, `arctun_no_make`: the tool does not run, and `CI`
//!   is not `true`. Under CI (`.ci/run` installs them) the checks run, and
//!   a missing tool fails them.

use std::process::Command;

fn runs(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for var in ["ILLUMOS_SRC", "CI", "PATH"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    for cfg in ["arctun_no_illumos_tree", "arctun_no_gcc", "arctun_no_make"] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    if std::env::var_os("ILLUMOS_SRC").is_none_or(|v| v.is_empty()) {
        println!("cargo::rustc-cfg=arctun_no_illumos_tree");
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    for (tool, cfg) in [("gcc", "arctun_no_gcc"), ("make", "arctun_no_make")] {
        if !ci && !runs(tool) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
