//! The module's C ABI from C: `c/arctun_test.c`, compiled with
//! `gcc -Wall -Werror` against `sys/arctun.h`, linked with the module's
//! static library and the DDI stand-in `c/fakekernel.c`, and run; and
//! vmm's side of the headroom from the series (`c/vmm_arc_test.c`).
//!
//! Without gcc the two tests are `#[ignore]`d (`build.rs`), except under
//! CI (`CI=true`), where they run and a missing gcc fails them.

use std::path::PathBuf;
use std::process::Command;

use arctun_checks::artifact::build_kmod;
use arctun_checks::c_decls::header_prototypes;
use arctun_checks::patches::{added_function, new_file, strip_c_comments};
use arctun_checks::{repo_root, target_root, tool_available};

/// vmm's headroom glue, which patches/0003 creates.
const VMM_GLUE_C: &str = "usr/src/uts/intel/io/vmm/vmm_arc.c";
const VMM_GLUE_H: &str = "usr/src/uts/intel/io/vmm/vmm_arc.h";

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

/// Compiles `sources` with gcc (warnings as errors) and the include
/// directories, links them with the module's static library and the DDI
/// stand-in, runs the program and returns its standard output, having
/// checked that it ran at least `min_checks` checks and none failed.
fn compile_and_run(name: &str, sources: &[PathBuf], include: &[PathBuf], min_checks: u32) {
    assert!(
        tool_available("gcc"),
        "gcc is not installed, and the C tests must run here (CI=true)"
    );
    let lib = build_kmod("host", &[]).unwrap_or_else(|e| panic!("{e}"));
    let exe = target_root().join(name);
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
    println!("{stdout}");
    assert!(
        run.status.success(),
        "{name} failed:\n{stdout}\n--- stderr ---\n{stderr}"
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
fn the_c_test_passes() {
    compile_and_run("arctun_test", &[c_dir().join("arctun_test.c")], &[], 50);
}

/// vmm's side of the headroom as the series carries it (`vmm_arc.c` and
/// `vmm_arc.h`, new files of patches/0003, extracted here), driven along
/// every path vmm takes a memory segment: each must leave the ARC's
/// ceiling as it found it (issue 17, finding 2: a segment freed because
/// its device node could not be made, then retried).
#[test]
#[cfg_attr(
    not(arctun_gcc),
    ignore = "gcc is not installed; the C tests need it (.ci/run installs it, and under CI=true a missing gcc fails)"
)]
fn the_vmm_side_returns_every_reservation() {
    let dir = target_root().join("series-vmm");
    std::fs::create_dir_all(&dir).unwrap();
    for (file, name) in [(VMM_GLUE_C, "vmm_arc.c"), (VMM_GLUE_H, "vmm_arc.h")] {
        let text = new_file(&repo_root().join("patches"), file).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join(name), text).unwrap();
    }
    compile_and_run(
        "vmm_arc_test",
        &[c_dir().join("vmm_arc_test.c"), dir.join("vmm_arc.c")],
        &[dir.clone(), c_dir()],
        40,
    );
}

/// Extracts the series' `vmm_arc.c` and `vmm_arc.h` (new files of
/// patches/0003) into a directory of their own; returns it.
fn extract_vmm_glue(dirname: &str) -> PathBuf {
    let dir = target_root().join(dirname);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, name) in [(VMM_GLUE_C, "vmm_arc.c"), (VMM_GLUE_H, "vmm_arc.h")] {
        let text = new_file(&repo_root().join("patches"), file).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// The VMM reservoir as the headroom's second consumer (issue 14,
/// acceptance 3): the reservoir's glue as the series carries it
/// (`vmm_arc_resv_*` of `vmm_arc.c`), driven in the order
/// `vmm_reservoir.c`'s `vmmr_add()` and `vmmr_remove()` call it: a growth
/// the ARC must shrink for waits and is woken by eviction progress (not
/// by free memory alone), one that can never fit is refused at once, every
/// failure returns its headroom, and shrinks restore the ceiling exactly.
#[test]
#[cfg_attr(
    not(arctun_gcc),
    ignore = "gcc is not installed; the C tests need it (.ci/run installs it, and under CI=true a missing gcc fails)"
)]
fn the_reservoir_grows_and_shrinks_through_the_module() {
    let dir = extract_vmm_glue("series-reservoir");
    compile_and_run(
        "reservoir_test",
        &[c_dir().join("reservoir_test.c"), dir.join("vmm_arc.c")],
        &[dir.clone(), c_dir()],
        60,
    );
}

/// OS-8638's `ZFS_IOC_ARC` through the module (`arctun_arc_resize()`,
/// which the joyent flavour of the series calls from
/// `arc_dynamic_resize()`): `arc_dynamic_resize()`'s refusals keep their
/// errnos and order (EINVAL, ERANGE with a kept limit counting as in
/// force, ENOMEM, EAGAIN for a caller that must not wait), the module's
/// own follow (EINVAL, EBUSY next to live headroom), and a write applies
/// both limits or neither (issue 17, finding 6).
#[test]
#[cfg_attr(
    not(arctun_gcc),
    ignore = "gcc is not installed; the C tests need it (.ci/run installs it, and under CI=true a missing gcc fails)"
)]
fn the_arc_resize_keeps_os8638s_refusals_all_or_nothing() {
    compile_and_run(
        "arc_resize_test",
        &[c_dir().join("arc_resize_test.c")],
        &[],
        100,
    );
}

/// The module's default limits are those of today's `arc_init()`
/// (`c_min = MIN(MAX(allmem/64, 64 MiB), 1 GiB)`), the trees the series is
/// for, and not the 2021 tree's: on a 16 GiB host, where the two formulas
/// differ, `c_min` is `allmem/64` in the module and in `zfscache(8)`'s
/// reply (issue 17, finding 6).
#[test]
#[cfg_attr(
    not(arctun_gcc),
    ignore = "gcc is not installed; the C tests need it (.ci/run installs it, and under CI=true a missing gcc fails)"
)]
fn the_default_limits_follow_todays_arc_init() {
    compile_and_run(
        "arc_formula_test",
        &[c_dir().join("arc_formula_test.c")],
        &[],
        10,
    );
}

/// The functions patches/0002 adds to `arc.c` for the headroom term, the
/// headroom cut and the paced cut, extracted from the patch.
const ARC_C: &str = "usr/src/uts/common/fs/zfs/arc.c";
const ARC_CUT_FUNCTIONS: [&str; 6] = [
    "arc_headroom",
    "arc_adjust_target",
    "arc_adjust_pass_start",
    "arc_adjust_pass_end",
    "arc_overflow_target",
    "arc_tunables_evict",
];

/// The series' headroom cut and paced cut (issue 17, finding 1): the
/// ARC's evictor callback as patches/0002 writes it lowers `c` at a kick
/// by the headroom deficit less what is in flight
/// (`arctun_arc_headroom_cut()`), the deficit of `freemem` or of
/// `availrmem`, whichever is larger (`arc_headroom()`), and a cut is
/// evicted in passes that readers wait for one at a time, where the stock
/// rule makes every reader wait for all of it.
#[test]
#[cfg_attr(
    not(arctun_gcc),
    ignore = "gcc is not installed; the C tests need it (.ci/run installs it, and under CI=true a missing gcc fails)"
)]
fn the_arc_cuts_c_by_the_headroom_deficit_and_paces_the_eviction() {
    let dir = target_root().join("series-arc-cut");
    std::fs::create_dir_all(&dir).unwrap();
    let patches = repo_root().join("patches");
    let mut code = String::new();
    for f in ARC_CUT_FUNCTIONS {
        let text = added_function(&patches, ARC_C, f).unwrap_or_else(|e| panic!("{e}"));
        code.push_str(&text);
        code.push('\n');
    }
    std::fs::write(dir.join("arc_cut_series.c"), code).unwrap();
    compile_and_run(
        "arc_cut_test",
        &[c_dir().join("arc_cut_test.c")],
        &[dir.clone(), c_dir()],
        50,
    );
}
