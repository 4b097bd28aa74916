//! The module's C ABI from C: `c/arctun_test.c`, compiled with
//! `gcc -Wall -Werror` against `sys/arctun.h`, linked with the module's
//! static library and the DDI stand-in `c/fakekernel.c`, and run.

use std::path::PathBuf;
use std::process::Command;

use arctun_checks::artifact::build_kmod;
use arctun_checks::c_decls::header_prototypes;
use arctun_checks::patches::strip_c_comments;
use arctun_checks::{repo_root, target_root, tool_available};

fn c_dir() -> PathBuf {
    repo_root().join("arctun-checks").join("c")
}

#[test]
fn the_c_test_calls_every_header_function() {
    let header =
        std::fs::read_to_string(repo_root().join("arctun-kmod/include/sys/arctun.h")).unwrap();
    let test = strip_c_comments(&std::fs::read_to_string(c_dir().join("arctun_test.c")).unwrap());
    let missing: Vec<String> = header_prototypes(&header)
        .unwrap()
        .into_keys()
        .filter(|f| !test.contains(&format!("{f}(")))
        .collect();
    assert!(missing.is_empty(), "never called from C: {missing:?}");
}

#[test]
fn the_c_test_passes() {
    if !tool_available("gcc") {
        eprintln!("SKIPPED: gcc is not installed; the C ABI test needs it");
        return;
    }
    let lib = build_kmod("host", &[]).unwrap_or_else(|e| panic!("{e}"));
    let exe = target_root().join("arctun_test");
    let c = c_dir();
    let out = Command::new("gcc")
        .args(["-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(c.join("include"))
        .arg("-I")
        .arg(repo_root().join("arctun-kmod").join("include"))
        .arg(c.join("arctun_test.c"))
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
    println!("{stdout}");
    assert!(
        run.status.success(),
        "the C test failed:\n{stdout}\n--- stderr ---\n{stderr}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("arctun C ABI test:"))
        .unwrap_or_else(|| panic!("no summary line:\n{stdout}"));
    assert!(summary.ends_with(" 0 failures"), "{summary}");
    let checks: u32 = summary
        .split_whitespace()
        .nth(4)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(checks >= 50, "too few checks ran: {summary}");
}
