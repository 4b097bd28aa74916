//! The kernel module's lock order, checked two ways.
//!
//! - The check itself (`arctun-kmod/src/lock_order.rs`, free of the
//!   kernel): compiled into this test, its own unit tests take the
//!   module's locks on a simulated thread, in order and out of it, and
//!   expect the assertion to fire exactly when the order is broken.
//! - The module's paths: the C tests (`c/arctun_test.c`,
//!   `c/vmm_arc_test.c`) run against a build of the module with debug
//!   assertions, where
//!   every `mutex_enter()` of the module first asserts the order from
//!   `mutex_owned()` of its four mutexes (the DDI stand-in answers it per
//!   thread). A lock taken out of order on any path those tests drive
//!   panics the module, which aborts the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use arctun_checks::patches::new_file;
use arctun_checks::{repo_root, target_root, tool_available};

#[path = "../../arctun-kmod/src/lock_order.rs"]
#[allow(
    dead_code,
    reason = "the module's ranks and checks, of which its own tests use what they test"
)]
mod lock_order;

fn c_dir() -> PathBuf {
    repo_root().join("arctun-checks").join("c")
}

/// The module's static library with debug assertions on, so the
/// lock-order check is compiled in: the release profile otherwise (its
/// LTO is what drops the prebuilt `core`'s unwinding references, which
/// the C tests cannot link).
fn build_debug_kmod() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = target_root().join("host-debug-assertions");
    let out = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(repo_root().join("arctun-kmod").join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building arctun-kmod (debug) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir.join("release").join("libarctun.a")
}

/// Compiles `sources` with the DDI stand-in and the debug library, runs
/// the program, and checks that it ran at least `min_checks` checks and
/// none failed.
fn run_against_debug_build(name: &str, sources: &[PathBuf], include: &[&Path], min_checks: u32) {
    assert!(
        tool_available("gcc"),
        "gcc is not installed, and the C tests must run here (CI=true)"
    );
    let lib = build_debug_kmod();
    let exe = target_root().join(format!("{name}-debug"));
    let c = c_dir();
    let mut cc = Command::new("gcc");
    cc.args(["-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(c.join("include"))
        .arg("-I")
        .arg(repo_root().join("arctun-kmod").join("include"));
    for dir in include {
        cc.arg("-I").arg(dir);
    }
    let out = cc
        .args(sources)
        .arg(c.join("fakekernel.c"))
        .arg(&lib)
        .arg("-pthread")
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gcc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "{name} against the debug build failed (a lock-order assertion panics with \
         \"lock order: ...\" on stderr):\n{stdout}\n--- stderr ---\n{stderr}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.contains(" checks, ") && l.ends_with(" failures"))
        .unwrap_or_else(|| panic!("no summary line:\n{stdout}"));
    assert!(summary.ends_with(" 0 failures"), "{summary}");
    let checks: u32 = summary
        .split_once(": ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(checks >= min_checks, "too few checks ran: {summary}");
}

#[test]
#[cfg_attr(
    not(arctun_gcc),
    ignore = "gcc is not installed; the C tests need it (.ci/run installs it, and under CI=true a missing gcc fails)"
)]
fn the_c_abi_test_takes_every_lock_in_order() {
    run_against_debug_build("arctun_test", &[c_dir().join("arctun_test.c")], &[], 50);
}

#[test]
#[cfg_attr(
    not(arctun_gcc),
    ignore = "gcc is not installed; the C tests need it (.ci/run installs it, and under CI=true a missing gcc fails)"
)]
fn vmm_s_side_takes_every_lock_in_order() {
    let dir = target_root().join("series-vmm-debug");
    std::fs::create_dir_all(&dir).unwrap();
    for (file, name) in [
        ("usr/src/uts/intel/io/vmm/vmm_arc.c", "vmm_arc.c"),
        ("usr/src/uts/intel/io/vmm/vmm_arc.h", "vmm_arc.h"),
    ] {
        let text = new_file(&repo_root().join("patches"), file).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join(name), text).unwrap();
    }
    run_against_debug_build(
        "vmm_arc_test",
        &[c_dir().join("vmm_arc_test.c"), dir.join("vmm_arc.c")],
        &[&dir, &c_dir()],
        40,
    );
}
