//! The illumos patch series: its interface with the module, how vmm's
//! side is wired, the module's Makefile under make, and (given an
//! illumos-gate tree in `ILLUMOS_SRC`) that it applies and compiles.
//!
//! The two tree tests are `#[ignore]`d when `ILLUMOS_SRC` is unset
//! (`build.rs`), so `cargo test` reports them as not run. A CI machine
//! has no tree: it reaches no network but the package registries, so it
//! can neither clone illumos-gate nor fetch its files, and illumos code is
//! never committed here. `patches/gate-tree.sh` builds the 4.9 MB sparse
//! tree where GitHub (or a clone of illumos-gate) can be reached; then
//! `ILLUMOS_SRC=DIR cargo test -p arctun-checks --test patches` runs them.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use arctun_checks::arc_init;
use arctun_checks::c_decls::header_prototypes;
use arctun_checks::patches::{
    calls, declarations, definitions, file_diffs, hunks, module_c_definitions, new_file as created,
    series, strip_c_comments,
};
use arctun_checks::{repo_root, target_root};

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

/// The text of a file the series creates.
fn new_file(path: &str) -> String {
    created(&patches_dir(), path).unwrap_or_else(|e| panic!("{e}"))
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

/// Runs one of the tree checks on `ILLUMOS_SRC`; it must succeed.
fn run_script(name: &str) {
    let tree = std::env::var_os("ILLUMOS_SRC")
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            panic!("{name} needs an illumos-gate tree in ILLUMOS_SRC (patches/gate-tree.sh builds one)")
        });
    let out = Command::new("sh")
        .arg(patches_dir().join(name))
        .arg(&tree)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "{name} failed:\n{stdout}{stderr}");
}

#[test]
#[cfg_attr(
    not(arctun_illumos_src),
    ignore = "needs an illumos-gate tree in ILLUMOS_SRC (patches/gate-tree.sh builds one; CI has none)"
)]
fn the_series_applies_in_order_to_the_given_tree() {
    run_script("check-apply.sh");
}

#[test]
#[cfg_attr(
    not(arctun_illumos_src),
    ignore = "needs an illumos-gate tree in ILLUMOS_SRC (patches/gate-tree.sh builds one; CI has none)"
)]
fn the_changed_c_files_compile_against_the_given_tree() {
    run_script("check-compile.sh");
}

/// The module computes `arc_init()`'s defaults with the formula of the
/// tree it is built for: the tree's own `arc_init()` computes the formula
/// the module's `ARC_GENERATION` names (issue 17, finding 6). The C test
/// `arc_formula_test.c` shows the module computes that formula.
#[test]
#[cfg_attr(
    not(arctun_illumos_src),
    ignore = "needs an illumos-gate tree in ILLUMOS_SRC (patches/gate-tree.sh builds one; CI has none)"
)]
fn the_module_computes_the_limits_as_the_given_trees_arc_init() {
    let tree = PathBuf::from(std::env::var_os("ILLUMOS_SRC").unwrap());
    let arc_c = std::fs::read_to_string(tree.join(arc_init::ARC_C))
        .unwrap_or_else(|e| panic!("{}: {e}", tree.join(arc_init::ARC_C).display()));
    let in_tree =
        arc_init::tree_formula(&arc_c).unwrap_or_else(|e| panic!("{}: {e}", arc_init::ARC_C));
    let module = arc_init::module_formula(
        &std::fs::read_to_string(repo_root().join(arc_init::KERNEL_PLATFORM_RS)).unwrap(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        module,
        in_tree,
        "the module computes {}, the tree's arc_init() {}",
        module.describe(),
        in_tree.describe()
    );
}

/// The trees the series is for (today's illumos-gate and illumos-joyent)
/// compute today's formula; the module must too, whether or not a tree is
/// at hand.
#[test]
fn the_module_computes_todays_formula() {
    let module = arc_init::module_formula(
        &std::fs::read_to_string(repo_root().join(arc_init::KERNEL_PLATFORM_RS)).unwrap(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(module, arc_init::Formula::Current, "{}", module.describe());
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

/// Every file the series changes is in gate-tree.txt, at the one pinned
/// commit, so that gate-tree.sh builds a tree both checks can run on.
#[test]
fn the_gate_tree_list_holds_every_file_the_series_changes() {
    let list = std::fs::read_to_string(patches_dir().join("gate-tree.txt")).unwrap();
    let mut commits = BTreeSet::new();
    let mut listed = BTreeSet::new();
    for line in list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 3, "gate-tree.txt: not `commit blob path`: {line}");
        assert!(
            f[0].len() == 40 && f[1].len() == 40,
            "gate-tree.txt: not full hashes: {line}"
        );
        commits.insert(f[0]);
        assert!(listed.insert(f[2]), "gate-tree.txt lists {} twice", f[2]);
    }
    assert_eq!(commits.len(), 1, "one commit for every file: {commits:?}");
    let pinned = commits.first().copied().unwrap_or_default();
    assert!(
        list.contains(&format!("#\t{pinned}\n")),
        "the header names the commit"
    );
    for p in series(&patches_dir()).unwrap() {
        for d in file_diffs(&p.text) {
            assert_eq!(
                listed.contains(d.path.as_str()),
                !d.new_file,
                "{} ({}): listed in gate-tree.txt exactly when the tree has it",
                d.path,
                p.name
            );
        }
    }
    for tool in [
        "usr/src/tools/scripts/cstyle.pl",
        "usr/src/tools/scripts/hdrchk.py",
    ] {
        assert!(listed.contains(tool), "gate-tree.txt lacks {tool}");
    }
}

/// The hunks of 0003 that add to `path` inside the function `function`.
fn added_in(path: &str, function: &str) -> Vec<String> {
    let p = series(&patches_dir())
        .unwrap()
        .into_iter()
        .find(|p| p.name.starts_with("0003-"))
        .unwrap();
    hunks(&p.text)
        .into_iter()
        .filter(|h| h.path == path && h.context.starts_with(&format!("{function}(")))
        .flat_map(|h| h.added)
        .map(|l| strip_c_comments(&l))
        .collect()
}

fn position(lines: &[String], call: &str) -> Option<usize> {
    lines.iter().position(|l| l.contains(call))
}

/// vmm's paths call the headroom glue (`vmm_arc.c`, whose own paths the
/// C test `vmm_arc_test.c` drives) where its theory statement says: a
/// segment reserves before it is allocated and releases if that fails; it
/// is committed only once its device node exists; and `vm_free_memseg()`
/// releases, so that a segment freed because its device node could not be
/// made gives its headroom back (issue 17, finding 2).
#[test]
fn the_vmm_patch_calls_the_glue_on_every_segment_path() {
    const VMM: &str = "usr/src/uts/intel/io/vmm/vmm.c";
    const DEV: &str = "usr/src/uts/intel/io/vmm/vmm_sol_dev.c";

    let alloc = added_in(VMM, "vm_alloc_memseg");
    let reserve = position(&alloc, "vmm_arc_seg_reserve(").expect("vm_alloc_memseg() reserves");
    let release = position(&alloc, "vmm_arc_seg_release(").expect("and releases on failure");
    assert!(reserve < release, "{alloc:#?}");
    assert!(position(&alloc, "mem_transient").is_some_and(|t| t < reserve));

    let free = added_in(VMM, "vm_free_memseg");
    assert!(
        position(&free, "vmm_arc_seg_release(").is_some(),
        "vm_free_memseg() must release: {free:#?}"
    );

    let dev = added_in(DEV, "vmmdev_alloc_memseg");
    assert!(
        position(&dev, "vm_commit_memseg(").is_some(),
        "vmmdev_alloc_memseg() commits once the device node exists: {dev:#?}"
    );
    // vm_alloc_memseg() only reserves: the commit is in vm_commit_memseg(),
    // which follows it (in the same hunk).
    let commit_fn = position(&alloc, "vm_commit_memseg(struct vm").expect("vm_commit_memseg()");
    let commit = position(&alloc, "vmm_arc_seg_commit(").expect("it commits");
    assert!(release < commit_fn && commit_fn < commit, "{alloc:#?}");

    let create = added_in(DEV, "vmmdev_do_vm_create");
    assert!(
        position(&create, "vm_arc_instance_create(").is_some(),
        "{create:#?}"
    );
}

/// The arctun module's Makefile as the series adds it.
const MAKEFILE_IN_TREE: &str = "usr/src/uts/intel/arctun/Makefile";

/// A stand-in for the uts build around the module's Makefile: the
/// Makefile itself at uts/intel/arctun, and Makefile.intel and
/// Makefile.targ defining only what it uses, as the real ones name it;
/// the arctun tree with its real build script, and a stand-in toolchain
/// in `toolchain/bin`. Returns the directory to run make in.
fn makefile_sandbox(root: &std::path::Path) -> PathBuf {
    let uts = root.join("uts");
    let dir = uts.join("intel/arctun");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Makefile"), new_file(MAKEFILE_IN_TREE)).unwrap();
    std::fs::write(
        uts.join("intel/Makefile.intel"),
        "OBJS_DIR = debug64\nBINARY = $(OBJS_DIR)/$(MODULE)\nARCTUN_OBJS = arctun.o\n\
         ALL_DEPS = all.debug64\nDEF_DEPS = all.debug64\nINSTALL_DEPS = all.debug64\n\
         CLEAN_DEPS =\nCLOBBER_DEPS =\nROOT_MISC_DIR = /nonexistent\n\
         ECHO = echo\nMKDIR = mkdir\nSH = /bin/sh\nCP = cp -f\nGREP = grep\nRM = rm -f\n",
    )
    .unwrap();
    std::fs::write(
        uts.join("intel/Makefile.targ"),
        "all.debug64: $(BINARY)\n\
         $(BINARY): $(OBJECTS)\n\t@echo link $(LDFLAGS) -o $@ $(OBJECTS)\n\
         $(OBJS_DIR)/arctun.o:\n\t@mkdir -p $(OBJS_DIR) && touch $@\nFRC:\n",
    )
    .unwrap();
    // The arctun tree's own build script, as the Makefile finds it under
    // ARCTUN_RUST_SRC, run with a stand-in toolchain: a rustc whose
    // sysroot has the library source, a cargo that says what it was given
    // and leaves a library in the target directory it was told, an ld
    // that says what it links and writes the object.
    let kmod = root.join("arctun/arctun-kmod");
    std::fs::create_dir_all(&kmod).unwrap();
    std::fs::copy(
        repo_root().join("arctun-kmod/build-kernel-target.sh"),
        kmod.join("build-kernel-target.sh"),
    )
    .unwrap();
    let bin = root.join("toolchain/bin");
    let sysroot = root.join("toolchain");
    std::fs::create_dir_all(bin.clone()).unwrap();
    std::fs::create_dir_all(sysroot.join("lib/rustlib/src/rust/library/core")).unwrap();
    let tools = [
        (
            "rustc",
            format!(
                "#!/bin/sh\n[ \"$1\" = --print ] && echo '{}'\n",
                sysroot.display()
            ),
        ),
        (
            "cargo",
            "#!/bin/sh\necho \"cargo CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-unset} RUSTC=$RUSTC $*\" >&2\n\
             while [ $# -gt 0 ]; do [ \"$1\" = --target-dir ] && dir=$2; shift; done\n\
             out=$dir/x86_64-unknown-illumos-kernel/release\nmkdir -p \"$out\"\n\
             echo lib >\"$out/libarctun.a\"\n"
                .to_owned(),
        ),
        (
            "ld",
            "#!/bin/sh\necho \"ld $*\" >&2\necho the-rust-object >\"$3\"\n".to_owned(),
        ),
    ];
    for (name, text) in tools {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
    }
    dir
}

/// Runs make in `dir` with a PATH that has no cargo (nightly(1)'s own) and
/// the given environment.
fn make(dir: &std::path::Path, args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    let mut cmd = Command::new("make");
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Issue 17, finding 7: under nightly(1), which sets PATH itself, the
/// module's Makefile takes the arctun tree, cargo and rustc from the
/// build's environment file (nothing from PATH, no `cargo +nightly`), runs
/// the arctun tree's own build script with them under `/bin/sh` (a
/// stand-in toolchain below it), which builds in the module's object
/// directory, and copies the object it names; without them it stops with
/// a sentence saying what to set. `make -n` shows the rule's command. The
/// same with `make -e` (nightly's) as without (bldenv's), since the
/// Makefile assigns none of them. GNU make stands in for dmake here; the
/// Makefile keeps to what both accept.
#[test]
#[cfg_attr(
    not(arctun_make),
    ignore = "make is not installed (under CI=true a missing make fails)"
)]
fn the_module_makefile_takes_its_toolchain_from_the_environment() {
    let root = target_root().join("makefile-sandbox");
    let _ = std::fs::remove_dir_all(&root);
    let dir = makefile_sandbox(&root);
    let bin = root.join("toolchain/bin");
    let (cargo, rustc) = (bin.join("cargo"), bin.join("rustc"));
    let env = [
        ("ARCTUN_RUST_SRC", root.join("arctun").display().to_string()),
        ("ARCTUN_CARGO", cargo.display().to_string()),
        ("ARCTUN_RUSTC", rustc.display().to_string()),
        // The link editor comes from the build's PATH on illumos; here,
        // the stand-in's.
        ("LD", bin.join("ld").display().to_string()),
    ];

    let text = new_file(MAKEFILE_IN_TREE);
    for gnu_only in [
        "ifeq",
        "ifdef",
        "$(shell",
        "$(wildcard",
        "?=",
        "define ",
        "$(if ",
    ] {
        assert!(
            !text.contains(gnu_only),
            "the Makefile uses GNU make's {gnu_only}"
        );
    }
    assert!(!text.contains("+nightly"), "no rustup toolchain name");
    for var in ["ARCTUN_RUST_SRC", "ARCTUN_CARGO", "ARCTUN_RUSTC"] {
        assert!(
            !text.lines().any(|l| l.starts_with(var) && l.contains('=')),
            "the Makefile assigns {var}, which would override the environment"
        );
    }

    let dry = make(&dir, &["-n", "all"], &env);
    let dry_out = String::from_utf8_lossy(&dry.stdout);
    println!("make -n all:\n{dry_out}");
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(dry_out.contains(&format!(
        "CARGO={} RUSTC={}",
        cargo.display(),
        rustc.display()
    )));
    assert!(dry_out.contains("ARCTUN_TARGET_DIR=`pwd`/debug64/rust"));
    assert!(dry_out.contains("arctun-kmod/build-kernel-target.sh"));

    for args in [&["all"][..], &["-e", "all"][..]] {
        let _ = std::fs::remove_dir_all(dir.join("debug64"));
        let out = make(&dir, args, &env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "make {args:?}:\n{stderr}");
        // The build script ran the given cargo with the given rustc and
        // built in the module's object directory, not in the arctun tree.
        let target = dir.canonicalize().unwrap().join("debug64/rust");
        assert!(
            stderr.contains(&format!(
                "cargo CARGO_TARGET_DIR=unset RUSTC={} build --release --locked",
                rustc.display()
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("--target-dir {}\n", target.display())),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "ld -r -o {}/x86_64-unknown-illumos-kernel/release/arctun.o",
                target.display()
            )),
            "{stderr}"
        );
        assert!(!root.join("arctun/arctun-kmod/target").exists());
        let object = std::fs::read_to_string(dir.join("debug64/arctun_rs.o")).unwrap();
        assert_eq!(object, "the-rust-object\n");
        assert!(String::from_utf8_lossy(&out.stdout).contains("debug64/arctun_rs.o"));
    }

    let _ = std::fs::remove_dir_all(dir.join("debug64"));
    let missing = make(&dir, &["all"], &env[..2]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(
        stderr.contains("arctun: set ARCTUN_RUST_SRC, ARCTUN_CARGO and ARCTUN_RUSTC in the build's environment file"),
        "{stderr}"
    );
    assert!(!dir.join("debug64/arctun_rs.o").exists());
}

/// The reservoir's paths call its headroom glue (`vmm_arc_resv_*` in
/// `vmm_arc.c`, whose steps the C test `reservoir_test.c` drives) where
/// `vmm_arc.c`'s theory statement says: `vmmr_init()` registers and
/// `vmmr_fini()` unregisters; `vmmr_add()` of a non-transient addition
/// reserves and waits before `page_xresv()`, returns the headroom on both
/// of its failure paths and commits it once the pages are exposed; and
/// `vmmr_remove()` gives back what it removed, after `page_unresv()`
/// (issue 14, the reservoir as the headroom's second consumer).
#[test]
fn the_vmm_patch_calls_the_reservoir_glue_on_every_path() {
    const RESV: &str = "usr/src/uts/intel/io/vmm/vmm_reservoir.c";

    let init = added_in(RESV, "vmmr_init");
    assert!(
        position(&init, "vmm_arc_resv_register()").is_some(),
        "{init:#?}"
    );
    let fini = added_in(RESV, "vmmr_fini");
    assert!(
        position(&fini, "vmm_arc_resv_unregister()").is_some(),
        "{fini:#?}"
    );

    let add = added_in(RESV, "vmmr_add");
    let only_growth = position(&add, "if (!transient)").expect("growths only");
    let grow = position(&add, "vmm_arc_resv_grow(sz,").expect("vmmr_add() reserves");
    let wait = position(&add, "vmm_arc_resv_wait(").expect("and waits");
    let releases: Vec<usize> = add
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("vmm_arc_resv_release("))
        .map(|(i, _)| i)
        .collect();
    let commit = position(&add, "vmm_arc_resv_commit(").expect("and commits");
    assert!(only_growth < grow && grow < wait, "{add:#?}");
    assert_eq!(
        releases.len(),
        2,
        "page_xresv() interrupted, pages not created: {add:#?}"
    );
    assert!(releases.iter().all(|&r| wait < r && r < commit), "{add:#?}");
    // Every glue call is guarded by `!transient` (the line before it).
    for (i, l) in add.iter().enumerate() {
        let call = l.contains("vmm_arc_resv_") && !l.contains("vmm_arc_resv_grow_t");
        if call && !l.contains("vmm_arc_resv_wait(") {
            let guard = i
                .checked_sub(1)
                .and_then(|p| add.get(p))
                .map_or("", String::as_str);
            assert!(guard.contains("!transient"), "unguarded: {l} after {guard}");
        }
    }

    // The addition's own hunk: the wait comes before page_xresv() (which
    // is context, not added), so the glue's hunk precedes the line.
    let p = series(&patches_dir())
        .unwrap()
        .into_iter()
        .find(|p| p.name.starts_with("0003-"))
        .unwrap();
    let text = p.text;
    let wait_at = text.find("vmm_arc_resv_wait(&arc_grow)").unwrap();
    let xresv_at = text[wait_at..]
        .find("page_xresv(sz >> PAGESHIFT")
        .map(|i| i + wait_at);
    assert!(xresv_at.is_some(), "the wait precedes page_xresv()");

    let remove = added_in(RESV, "vmmr_remove");
    assert!(
        position(&remove, "vmm_arc_resv_shrink(sz)").is_some(),
        "vmmr_remove() returns what it removed: {remove:#?}"
    );
}
