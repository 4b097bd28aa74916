//! The kernel module's artifact, built here with the stable toolchain:
//! what it imports, what it exports, and how much stack it uses.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use arctun_checks::artifact::{
    build_kmod, build_kmod_for_kernel_target, defined_globals, link_like_the_module,
    nightly_with_rust_src, relocation_types, stack_frames, undefined_symbols,
    uses_vector_registers, Import, ImportPolicy,
};
use arctun_checks::c_decls::{bindings, header_prototypes};
use arctun_checks::patches::{module_c_definitions, MODULE_C_IN_TREE};
use arctun_checks::{repo_root, target_root, tool_available};

/// Largest stack frame any function of the module may have: below one
/// page, so that no function needs a stack probe. illumos kernel threads
/// have 20 KB stacks, and the module runs on other subsystems' threads.
const MAX_FRAME: u64 = 4096;

fn tools_present() -> bool {
    let missing: Vec<&str> = ["ld", "nm", "objdump"]
        .into_iter()
        .filter(|t| !tool_available(t))
        .collect();
    if missing.is_empty() {
        true
    } else {
        eprintln!(
            "SKIPPED: the artifact checks need binutils ({} missing)",
            missing.join(", ")
        );
        false
    }
}

fn header_functions() -> Vec<String> {
    let h = std::fs::read_to_string(repo_root().join("arctun-kmod/include/sys/arctun.h")).unwrap();
    header_prototypes(&h).unwrap().into_keys().collect()
}

/// The module as the kernel would link it: `ld -r` of the library with
/// every header function as a root.
fn linked(flavour: &str, features: &[&str]) -> PathBuf {
    let lib = build_kmod(flavour, features).unwrap_or_else(|e| panic!("{e}"));
    let out = target_root().join(format!("{flavour}-module.o"));
    link_like_the_module(&lib, &header_functions(), &out).unwrap();
    out
}

fn module() -> &'static PathBuf {
    static M: OnceLock<PathBuf> = OnceLock::new();
    M.get_or_init(|| linked("host", &[]))
}

#[test]
fn the_module_imports_only_ddi_and_mem_functions() {
    if !tools_present() {
        return;
    }
    let imports = undefined_symbols(module()).unwrap();
    let policy = ImportPolicy::for_repo().unwrap();
    let bad = policy.violations(&imports);
    assert!(
        bad.is_empty(),
        "the module imports forbidden symbols: {bad:?}"
    );
    // The check is not vacuous.
    assert!(imports.contains("mutex_enter"), "{imports:?}");
    // The preemption wrappers come from the module's own C half.
    for f in ["arctun_kpreempt_disable", "arctun_kpreempt_enable"] {
        assert!(imports.contains(f), "{imports:?}");
        assert_eq!(policy.classify(f), Import::PatchProvided);
    }
    println!("imports: {imports:?}");
}

#[test]
fn the_c_half_defines_what_the_module_declares_with_the_same_prototypes() {
    let source = std::fs::read_to_string(repo_root().join("arctun-kmod/src/preempt.rs")).unwrap();
    // The extern block only (the rest of the file is the guard's code).
    let start = source.find("unsafe extern \"C\" {").unwrap();
    let block = &source[start..];
    let block = &block[..block.find("\n}\n").unwrap()];
    let declared = bindings(block).unwrap();
    let defined = module_c_definitions(&repo_root().join("patches")).unwrap();
    assert_eq!(declared.len(), 2, "{declared:?}");
    for b in &declared {
        assert_eq!(
            b.rust, b.documented,
            "{} is not what its comment quotes",
            b.name
        );
        let Some(d) = defined.iter().find(|d| d.name == b.name) else {
            panic!("{} is not defined by {MODULE_C_IN_TREE}", b.name);
        };
        assert_eq!(d.declaration(), b.rust, "{}", b.name);
    }
    // And the policy allows exactly what the C half defines.
    let policy = ImportPolicy::for_repo().unwrap();
    let names: BTreeSet<String> = defined.into_iter().map(|d| d.name).collect();
    assert_eq!(policy.patch_provided(), &names);
}

#[test]
fn the_bindings_declare_only_what_the_module_uses() {
    // Against the source, not the artifact: LTO drops what the entry
    // points cannot reach (mutex_tryenter, behind the platform's
    // try_lock), and the bindings may still declare it.
    let src_dir = repo_root().join("arctun-kmod").join("src");
    let mut code = String::new();
    for entry in std::fs::read_dir(&src_dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let l = line.trim_start();
            if !l.starts_with("//") {
                code.push_str(line);
                code.push('\n');
            }
        }
    }
    let policy = ImportPolicy::for_repo().unwrap();
    let unused: Vec<&String> = policy
        .ddi()
        .iter()
        .filter(|d| *d != "bcmp" && !code.contains(d.as_str()))
        .collect();
    assert!(
        unused.is_empty(),
        "illumos-ddi declares what the module does not use: {unused:?}"
    );
}

#[test]
fn the_check_refuses_a_module_that_calls_std() {
    if !tools_present() {
        return;
    }
    // The canary links std and calls SystemTime::now().
    let canary = linked("std-canary", &["std-canary"]);
    let imports = undefined_symbols(&canary).unwrap();
    let policy = ImportPolicy::for_repo().unwrap();
    let bad = policy.violations(&imports);
    assert!(!bad.is_empty(), "the canary passed the check: {imports:?}");
    assert!(
        bad.iter()
            .any(|(_, why)| *why == "libc" || *why == "pthreads"),
        "std's imports were not recognised: {bad:?}"
    );
    println!("the canary was refused for: {bad:?}");
}

#[test]
fn the_policy_names_what_it_refuses() {
    let policy = ImportPolicy::from_bindings("    pub fn mutex_enter(mp: *mut kmutex_t);\n");
    assert_eq!(policy.classify("mutex_enter"), Import::Ddi);
    assert_eq!(policy.classify("memcpy"), Import::MemFunction);
    assert_eq!(policy.classify("malloc"), Import::Forbidden("libc"));
    assert_eq!(
        policy.classify("pthread_mutex_lock"),
        Import::Forbidden("pthreads")
    );
    assert_eq!(
        policy.classify("_Unwind_Resume"),
        Import::Forbidden("unwinder")
    );
    assert_eq!(
        policy.classify("rust_eh_personality"),
        Import::Forbidden("unwinder")
    );
    assert_eq!(
        policy.classify("_ZN3std2io5stdio6_print17h0123456789abcdefE"),
        Import::Forbidden("Rust standard library")
    );
    // Declared nowhere: refused even if the kernel has it.
    assert!(matches!(
        policy.classify("kmem_alloc"),
        Import::Forbidden(_)
    ));
}

#[test]
fn the_module_exports_exactly_the_header_functions() {
    if !tools_present() {
        return;
    }
    let exported: BTreeSet<String> = defined_globals(module())
        .unwrap()
        .into_iter()
        .filter(|s| s.starts_with("arctun_"))
        .collect();
    let declared: BTreeSet<String> = header_functions().into_iter().collect();
    assert_eq!(exported, declared);
}

#[test]
fn no_function_needs_a_stack_probe() {
    if !tools_present() {
        return;
    }
    let frames = stack_frames(module()).unwrap();
    assert!(!frames.is_empty(), "no stack frame found: the parser broke");
    let too_big: Vec<_> = frames.iter().filter(|(_, n)| *n >= MAX_FRAME).collect();
    assert!(too_big.is_empty(), "frames of a page or more: {too_big:?}");
    let largest = frames.iter().max_by_key(|(_, n)| *n).unwrap();
    println!("largest frame: {} bytes in {}", largest.1, largest.0);
}

#[test]
fn the_kernel_target_build_passes_the_same_checks() {
    if !tools_present() {
        return;
    }
    if !nightly_with_rust_src() {
        eprintln!(
            "SKIPPED: no nightly toolchain with rust-src; the kernel-target build \
             (-Zbuild-std=core) is for the illumos build machine"
        );
        return;
    }
    let lib = build_kmod_for_kernel_target().unwrap_or_else(|e| panic!("{e}"));
    let out = target_root().join("kernel-target-module.o");
    link_like_the_module(&lib, &header_functions(), &out).unwrap();
    let imports = undefined_symbols(&out).unwrap();
    let bad = ImportPolicy::for_repo().unwrap().violations(&imports);
    assert!(bad.is_empty(), "forbidden imports: {bad:?}");
    // The kernel's code model and static relocations: no GOT, no PLT
    // stubs the module loader would have to build.
    let relocs = relocation_types(&out).unwrap();
    let got: Vec<&String> = relocs.iter().filter(|r| r.contains("GOT")).collect();
    assert!(got.is_empty(), "GOT relocations: {got:?}");
    assert!(
        relocs.contains("R_X86_64_32S"),
        "not the kernel code model: {relocs:?}"
    );
    // Soft float: the kernel does not save the FPU for us.
    assert!(
        !uses_vector_registers(&out).unwrap(),
        "SSE/AVX registers used"
    );
    let frames = stack_frames(&out).unwrap();
    let too_big: Vec<_> = frames.iter().filter(|(_, n)| *n >= MAX_FRAME).collect();
    assert!(too_big.is_empty(), "frames of a page or more: {too_big:?}");
    println!("kernel target: imports {imports:?}, relocations {relocs:?}");
}
