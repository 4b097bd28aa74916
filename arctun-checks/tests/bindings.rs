//! illumos-ddi's kernel layer against the illumos headers: each Rust
//! declaration matches the C prototype its doc comment quotes, and (given
//! a tree in `ILLUMOS_SRC`) those prototypes, the structure layouts and the
//! constants the bindings assert are the headers' own (ignored, and
//! reported so, without a tree).

use std::fmt::Write as _;
use std::process::Command;

use arctun_checks::c_decls::bindings;
use arctun_checks::{repo_root, target_root};

fn kernel_rs() -> String {
    std::fs::read_to_string(repo_root().join("illumos-ddi/src/kernel.rs")).unwrap()
}

#[test]
fn every_binding_is_its_documented_c_declaration() {
    let b = bindings(&kernel_rs()).unwrap();
    assert!(b.len() >= 15, "parsed too little: {b:#?}");
    for d in &b {
        assert_eq!(d.rust, d.documented, "{}", d.name);
    }
}

/// The illumos headers the bindings transcribe.
const HEADERS: [&str; 12] = [
    "sys/types.h",
    "sys/mutex.h",
    "sys/condvar.h",
    "sys/time.h",
    "sys/systm.h",
    "sys/vmsystm.h",
    "sys/fs/swapnode.h",
    "sys/vmem.h",
    "vm/seg_kmem.h",
    "vm/page.h",
    "sys/kstat.h",
    "sys/cmn_err.h",
];

#[test]
#[cfg_attr(
    not(all(arctun_illumos_src, arctun_gcc)),
    ignore = "needs an illumos tree in ILLUMOS_SRC, and gcc"
)]
fn the_bindings_agree_with_the_given_illumos_headers() {
    let tree = std::env::var_os("ILLUMOS_SRC").expect("ILLUMOS_SRC names the tree");
    let tree = std::path::PathBuf::from(tree);
    let mut c = String::new();
    for h in HEADERS {
        writeln!(c, "#include <{h}>").unwrap();
    }
    c.push_str("#include \"illumos_layout.h\"\n\n/* The bindings' declarations. */\n");
    for b in bindings(&kernel_rs()).unwrap() {
        // A redeclaration with another type is a compile error.
        writeln!(c, "extern {};", b.documented).unwrap();
    }
    let dir = target_root();
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("illumos_bindings.c");
    std::fs::write(&file, c).unwrap();
    let src = tree.join("usr/src");
    let out = Command::new("gcc")
        .args(["-std=gnu99", "-fsyntax-only", "-nostdinc", "-Werror"])
        .args(["-D_KERNEL", "-D_SYSCALL32", "-D_SYSCALL32_IMPL", "-D_ELF64"])
        .args(["-Dsun", "-D__sun", "-D__SVR4"])
        .arg("-Wno-builtin-declaration-mismatch")
        .arg("-Wno-format")
        .arg("-I")
        .arg(repo_root().join("arctun-checks/c"))
        .arg("-I")
        .arg(src.join("uts/intel"))
        .arg("-I")
        .arg(src.join("uts/common"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the bindings disagree with the illumos headers:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
