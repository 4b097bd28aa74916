//! Decides, when the checks are compiled, which of their inputs this
//! machine has, so that a check whose input is missing is `#[ignore]`d
//! with its reason (`cargo test` then reports it as not run) instead of
//! passing without looking.
//!
//! Each input is a `cfg` the tests name in
//! `#[cfg_attr(not(CFG), ignore = "...")]`:
//!
//! - `arctun_binutils`: `as`, `ld`, `nm`, `objdump` and `readelf` are on
//!   `PATH` (the artifact checks);
//! - `arctun_gcc`: `gcc` is on `PATH` (the C checks);
//! - `arctun_make`: `make` is on `PATH` (the check that the series'
//!   Makefile rule builds the module);
//! - `arctun_kernel_toolchain`: the toolchain that builds the module for
//!   the illumos kernel target is installed: a `cargo` and a `rustc` whose
//!   sysroot has the library source (`-Zbuild-std=core`). By default
//!   Debian's (`/usr/bin/cargo`, `/usr/bin/rustc`, from `rustc-web`,
//!   `cargo-web` and `rust-web-src`); `ARCTUN_KERNEL_CARGO` and
//!   `ARCTUN_KERNEL_RUSTC` name another;
//! - `arctun_illumos_src`: `ILLUMOS_SRC` names an illumos-gate tree
//!   (`patches/gate-tree.sh` builds one): the checks against its headers
//!   and that the series applies and compiles there.
//!
//! Under CI (`CI=true`) the first three are set whatever the machine has:
//! CI must run those checks, so a missing tool fails them there, loudly,
//! instead of leaving them ignored. `ILLUMOS_SRC` stays optional under CI.
//!
//! The script re-runs when any of those variables changes, or when a
//! directory the probed files live in (or would live in) changes, so that
//! installing a toolchain is noticed by the next `cargo test`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const BINUTILS: [&str; 5] = ["as", "ld", "nm", "objdump", "readelf"];

fn main() {
    for cfg in [
        "arctun_binutils",
        "arctun_gcc",
        "arctun_make",
        "arctun_kernel_toolchain",
        "arctun_illumos_src",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    for var in [
        "CI",
        "PATH",
        "ILLUMOS_SRC",
        "ARCTUN_KERNEL_CARGO",
        "ARCTUN_KERNEL_RUSTC",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!("cargo::rerun-if-changed=build.rs");

    let under_ci = env::var("CI").is_ok_and(|v| v == "true");

    if under_ci || BINUTILS.iter().all(|tool| on_path(tool)) {
        println!("cargo::rustc-cfg=arctun_binutils");
    }
    if under_ci || on_path("gcc") {
        println!("cargo::rustc-cfg=arctun_gcc");
    }
    if under_ci || on_path("make") {
        println!("cargo::rustc-cfg=arctun_make");
    }
    if under_ci || kernel_toolchain_present() {
        println!("cargo::rustc-cfg=arctun_kernel_toolchain");
    }
    if env::var_os("ILLUMOS_SRC").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=arctun_illumos_src");
    }
}

/// Whether `tool` is an executable file in a directory of `PATH`; watches
/// where it is, or every directory it could appear in.
fn on_path(tool: &str) -> bool {
    let dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect())
        .unwrap_or_default();
    for dir in &dirs {
        let candidate = dir.join(tool);
        if candidate.is_file() {
            watch(&candidate);
            return true;
        }
    }
    for dir in &dirs {
        watch(dir);
    }
    false
}

/// Whether the kernel target's cargo and rustc exist and the rustc's
/// sysroot holds `library/core`.
fn kernel_toolchain_present() -> bool {
    let cargo = env::var_os("ARCTUN_KERNEL_CARGO")
        .map_or_else(|| PathBuf::from("/usr/bin/cargo"), PathBuf::from);
    let rustc = env::var_os("ARCTUN_KERNEL_RUSTC")
        .map_or_else(|| PathBuf::from("/usr/bin/rustc"), PathBuf::from);
    watch(&cargo);
    watch(&rustc);
    if !cargo.is_file() || !rustc.is_file() {
        return false;
    }
    let Ok(out) = Command::new(&rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    if !out.status.success() {
        return false;
    }
    let rustlib = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("lib/rustlib");
    let core_manifest = rustlib.join("src/rust/library/core/Cargo.toml");
    if core_manifest.is_file() {
        watch(&core_manifest);
        true
    } else {
        // Without the source, `lib/rustlib` holds only the compiled
        // libraries: small enough for cargo to scan for the source's
        // arrival.
        watch(&rustlib);
        false
    }
}

/// Re-run when `path` changes, or, while it does not exist, when the
/// directory it would be created in does. (Cargo scans a directory
/// recursively, so only files and flat directories are watched.)
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo::rerun-if-changed={}", path.display());
    } else if let Some(parent) = path.parent().filter(|p| p.is_dir()) {
        println!("cargo::rerun-if-changed={}", parent.display());
    }
}
