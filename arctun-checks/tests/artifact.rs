//! The kernel module's artifact: the object the kernel would load, built
//! for the illumos kernel target (`arctun-kmod/build-kernel-target.sh`)
//! and for the host, checked against the rules of
//! `arctun_checks::artifact`; and each rule shown to fail on an object
//! that breaks it.
//!
//! A test whose tools are missing is ignored, with the reason, by a `cfg`
//! that `build.rs` sets (under CI it is never ignored: a missing tool
//! fails it there).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arctun_checks::artifact::{
    assemble, build_for_kernel_target, build_kmod, compile_rust_object, defined_globals,
    disassemble, export_violations, fpu_instructions, frames_not_set_up_at_entry, frames_over,
    kernel_target_rustflags, link_like_the_module, loader_violations, raw_indirect_branches,
    red_zone_accesses, render, stack_frames, undefined_symbols, Finding, Frame, Function, Import,
    ImportPolicy, KernelBuild, KernelToolchain, MODULE_ROOTS,
};
use arctun_checks::c_decls::{bindings, header_prototypes};
use arctun_checks::patches::{module_c_definitions, MODULE_C_IN_TREE};
use arctun_checks::{repo_root, target_root};

/// The largest stack frame any function of the module may have
/// (return address, saved registers and locals).
///
/// illumos kernel threads have 20 KiB stacks (`DEFAULTSTKSZ`, five pages
/// on amd64), and the module runs on other subsystems' threads, under
/// their frames: the ARC's allocation path deep in a ZFS I/O, the reap
/// thread, the vmm ioctl, the kstat driver. Half a page is the bound the
/// Linux kernel's build warns at for 64-bit code (`CONFIG_FRAME_WARN`);
/// the module's largest frame today is a little under it (the tests
/// print it), and a buffer of any size on the stack goes over at once.
const MAX_FRAME: u64 = 2048;

fn header_functions() -> BTreeSet<String> {
    let h = std::fs::read_to_string(repo_root().join("arctun-kmod/include/sys/arctun.h")).unwrap();
    header_prototypes(&h).unwrap().into_keys().collect()
}

/// The host build as the kernel would link it: `ld -r` of the library
/// with the module's entry points as roots.
fn linked_host(flavour: &str, features: &[&str]) -> PathBuf {
    let lib = build_kmod(flavour, features).unwrap_or_else(|e| panic!("{e}"));
    let out = target_root().join(format!("{flavour}-module.o"));
    link_like_the_module(&lib, &MODULE_ROOTS, &out).unwrap();
    out
}

fn host_module() -> &'static Path {
    static M: OnceLock<PathBuf> = OnceLock::new();
    M.get_or_init(|| linked_host("host", &[]))
}

fn kernel_module() -> &'static KernelBuild {
    static M: OnceLock<KernelBuild> = OnceLock::new();
    M.get_or_init(|| {
        build_for_kernel_target(&KernelToolchain::from_env()).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn functions(object: &Path) -> Vec<Function> {
    let f = disassemble(object).unwrap();
    assert!(
        f.len() > 20,
        "{} disassembled into {} functions: the parser broke",
        object.display(),
        f.len()
    );
    f
}

/// The rules every build must follow, the host's included: imports,
/// exports, stack frames.
fn target_independent_rules(object: &Path) -> Vec<(&'static str, Vec<Finding>)> {
    let imports = undefined_symbols(object).unwrap();
    let policy = ImportPolicy::for_repo().unwrap();
    let bad_imports = policy
        .violations(&imports)
        .into_iter()
        .map(|(s, why)| Finding {
            place: s,
            what: why.to_owned(),
        })
        .collect();
    let bad_exports = export_violations(&defined_globals(object).unwrap(), &header_functions());
    let frames = stack_frames(&functions(object));
    vec![
        ("imports only DDI, mem* and thunk symbols", bad_imports),
        ("exports exactly the header's functions", bad_exports),
        (
            "every frame within the limit",
            frames_over(&frames, MAX_FRAME),
        ),
    ]
}

/// The rules only a kernel-target build can follow.
fn kernel_only_rules(object: &Path) -> Vec<(&'static str, Vec<Finding>)> {
    let f = functions(object);
    vec![
        ("no FPU or vector instruction", fpu_instructions(&f)),
        ("no access below the stack pointer", red_zone_accesses(&f)),
        (
            "nothing krtld cannot load (TLS, GOT, constructors, unwinding)",
            loader_violations(object).unwrap(),
        ),
        ("no raw indirect call or jump", raw_indirect_branches(&f)),
        (
            "every frame set up at entry (fbt)",
            frames_not_set_up_at_entry(&f),
        ),
    ]
}

fn assert_all_hold(what: &str, rules: &[(&'static str, Vec<Finding>)]) {
    let broken: Vec<String> = rules
        .iter()
        .filter(|(_, findings)| !findings.is_empty())
        .map(|(rule, findings)| format!("{rule}: {}", render(findings, 10)))
        .collect();
    assert!(
        broken.is_empty(),
        "{what} breaks {} rule(s):\n{}",
        broken.len(),
        broken.join("\n")
    );
}

fn largest_frame(object: &Path) -> (String, u64) {
    stack_frames(&functions(object))
        .into_iter()
        .filter_map(|(name, frame)| match frame {
            Frame::Bytes(n) => Some((name, n)),
            Frame::Unbounded(_) => None,
        })
        .max_by_key(|(_, n)| *n)
        .unwrap()
}

#[test]
#[cfg_attr(
    not(all(arctun_binutils, arctun_kernel_toolchain)),
    ignore = "needs binutils and the kernel target's toolchain (Debian's rustc-web, cargo-web, \
              rust-web-src: .ci/install-debian-rust; or ARCTUN_KERNEL_CARGO, ARCTUN_KERNEL_RUSTC)"
)]
fn the_kernel_target_object_follows_every_rule() {
    let object = &kernel_module().object;
    let mut rules = target_independent_rules(object);
    rules.extend(kernel_only_rules(object));
    assert_all_hold("the kernel-target object", &rules);

    // What the rules saw, for the record (and so that they are not
    // vacuous: the object has code, calls, and goes through the thunks).
    let imports = undefined_symbols(object).unwrap();
    let policy = ImportPolicy::for_repo().unwrap();
    assert!(imports.contains("mutex_enter"), "{imports:?}");
    let thunks: Vec<&String> = imports
        .iter()
        .filter(|s| policy.classify(s) == Import::RetpolineThunk)
        .collect();
    let f = functions(object);
    let (name, bytes) = largest_frame(object);
    println!(
        "kernel target: {} functions, {} imports, retpoline thunks {thunks:?}, largest frame \
         {bytes} bytes in {name}",
        f.len(),
        imports.len()
    );
    println!("imports: {imports:?}");
}

#[test]
#[cfg_attr(
    not(all(arctun_binutils, arctun_kernel_toolchain)),
    ignore = "needs binutils and the kernel target's toolchain (Debian's rustc-web, cargo-web, \
              rust-web-src: .ci/install-debian-rust; or ARCTUN_KERNEL_CARGO, ARCTUN_KERNEL_RUSTC)"
)]
fn the_kernel_target_object_is_the_library_linked_with_the_entry_points() {
    let build = kernel_module();
    let again = target_root().join("kernel-target-relinked.o");
    link_like_the_module(&build.library, &MODULE_ROOTS, &again).unwrap();
    assert_eq!(
        defined_globals(&again).unwrap(),
        defined_globals(&build.object).unwrap()
    );
    assert_eq!(
        undefined_symbols(&again).unwrap(),
        undefined_symbols(&build.object).unwrap()
    );
}

#[test]
#[cfg_attr(
    not(arctun_binutils),
    ignore = "needs binutils (as, ld, nm, objdump, readelf) on PATH"
)]
fn the_host_object_follows_the_target_independent_rules() {
    let object = host_module();
    assert_all_hold("the host-target object", &target_independent_rules(object));
    let imports = undefined_symbols(object).unwrap();
    // The preemption wrappers come from the module's own C half.
    let policy = ImportPolicy::for_repo().unwrap();
    for f in ["arctun_kpreempt_disable", "arctun_kpreempt_enable"] {
        assert!(imports.contains(f), "{imports:?}");
        assert_eq!(policy.classify(f), Import::PatchProvided);
    }
    let (name, bytes) = largest_frame(object);
    println!("host target: largest frame {bytes} bytes in {name}");
}

/// The host target is not the kernel's: the kernel-only rules must find
/// its SSE code, its GOT relocations, its raw indirect branches and its
/// functions without a frame pointer. This is what shows those rules can
/// fail on a real compiler's output.
#[test]
#[cfg_attr(
    not(arctun_binutils),
    ignore = "needs binutils (as, ld, nm, objdump, readelf) on PATH"
)]
fn the_kernel_only_rules_refuse_the_host_object() {
    let object = host_module();
    for (rule, findings) in kernel_only_rules(object) {
        if rule == "no access below the stack pointer" {
            // The host's code happens to keep nothing below %rsp; the
            // crafted objects below show this rule failing.
            continue;
        }
        assert!(
            !findings.is_empty(),
            "the host-target object passes \"{rule}\""
        );
        println!(
            "host target, {rule}: {} findings, e.g.{}",
            findings.len(),
            render(&findings, 2)
        );
    }
}

#[test]
#[cfg_attr(
    not(arctun_binutils),
    ignore = "needs binutils (as, ld, nm, objdump, readelf) on PATH"
)]
fn the_import_rule_refuses_a_module_that_calls_std() {
    // The canary links std and calls SystemTime::now().
    let canary = linked_host("std-canary", &["std-canary"]);
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

/// One crafted object per rule, each breaking it the way a compiler would:
/// the rule must find it, and only where it is.
const CRAFTED: [(&str, &str, &str); 11] = [
    (
        "sse",
        "f: push %rbp\n mov %rsp,%rbp\n movaps %xmm0,(%rdi)\n pop %rbp\n ret\n",
        "movaps %xmm0,(%rdi)",
    ),
    (
        "x87",
        "f: push %rbp\n mov %rsp,%rbp\n fldl (%rdi)\n pop %rbp\n ret\n",
        "fldl (%rdi)",
    ),
    (
        "red-zone-rsp",
        "f: mov %rdi,-0x10(%rsp)\n mov -0x10(%rsp),%rax\n ret\n",
        "-0x10(%rsp)",
    ),
    (
        "red-zone-rbp",
        "f: push %rbp\n mov %rsp,%rbp\n mov %rdi,-0x8(%rbp)\n pop %rbp\n ret\n",
        "-0x8(%rbp)",
    ),
    (
        "indirect-call",
        "f: push %rbp\n mov %rsp,%rbp\n call *%rax\n pop %rbp\n ret\n",
        "call *%rax",
    ),
    (
        "indirect-jump-table",
        "f: push %rbp\n mov %rsp,%rbp\n pop %rbp\n jmp *0x0(,%rdi,8)\n",
        "jmp *0x0(,%rdi,8)",
    ),
    (
        "shrink-wrapped",
        "f: test %rdi,%rdi\n je 1f\n push %rbp\n mov %rsp,%rbp\n call g\n pop %rbp\n1: ret\n",
        "begins with test",
    ),
    (
        "big-frame",
        "f: push %rbp\n mov %rsp,%rbp\n sub $0x2000,%rsp\n mov %rdi,-0x2000(%rbp)\n leave\n ret\n",
        "a frame of 8208 bytes",
    ),
    (
        "alloca",
        "f: push %rbp\n mov %rsp,%rbp\n sub %rdi,%rsp\n leave\n ret\n",
        "sub %rdi,%rsp",
    ),
    (
        "tls",
        ".section .tbss,\"awT\",@nobits\nt: .zero 8\n.text\nf: push %rbp\n mov %rsp,%rbp\n \
         mov %fs:t@tpoff,%rax\n pop %rbp\n ret\n",
        "thread-local",
    ),
    (
        "got",
        "f: push %rbp\n mov %rsp,%rbp\n mov g@GOTPCREL(%rip),%rax\n pop %rbp\n ret\n",
        "GOTPCREL",
    ),
];

/// Which rule the crafted object `name` breaks.
fn rule_for(name: &str, object: &Path) -> Vec<Finding> {
    let f = disassemble(object).unwrap();
    match name {
        "sse" | "x87" => fpu_instructions(&f),
        "red-zone-rsp" | "red-zone-rbp" => red_zone_accesses(&f),
        "indirect-call" | "indirect-jump-table" => raw_indirect_branches(&f),
        "shrink-wrapped" => frames_not_set_up_at_entry(&f),
        "big-frame" | "alloca" => frames_over(&stack_frames(&f), MAX_FRAME),
        "tls" | "got" => loader_violations(object).unwrap(),
        other => panic!("no rule for {other}"),
    }
}

#[test]
#[cfg_attr(
    not(arctun_binutils),
    ignore = "needs binutils (as, ld, nm, objdump, readelf) on PATH"
)]
fn every_rule_fails_on_a_crafted_object_that_breaks_it() {
    let dir = target_root().join("crafted");
    std::fs::create_dir_all(&dir).unwrap();
    // The same function done right, which no rule may refuse.
    let good = dir.join("good.o");
    assemble(
        ".text\nf: push %rbp\n mov %rsp,%rbp\n sub $0x10,%rsp\n mov %rdi,-0x10(%rbp)\n \
         call __x86_indirect_thunk_r11\n leave\n ret\n",
        &good,
    )
    .unwrap();
    let good_functions = disassemble(&good).unwrap();
    assert_eq!(good_functions.len(), 1, "{good_functions:?}");
    assert!(red_zone_accesses(&good_functions).is_empty());
    assert!(frames_not_set_up_at_entry(&good_functions).is_empty());
    assert!(fpu_instructions(&good_functions).is_empty());
    assert!(raw_indirect_branches(&good_functions).is_empty());
    assert_eq!(loader_violations(&good).unwrap(), vec![]);
    assert_eq!(
        stack_frames(&good_functions),
        vec![("f".to_owned(), Frame::Bytes(8 + 8 + 0x10))]
    );

    for (name, source, expected) in CRAFTED {
        let object = dir.join(format!("{name}.o"));
        assemble(&format!(".text\n{source}"), &object)
            .unwrap_or_else(|e| panic!("assembling {name}: {e}"));
        let findings = rule_for(name, &object);
        assert!(
            findings.iter().any(|f| f.to_string().contains(expected)),
            "{name}: the rule did not report \"{expected}\":{}",
            render(&findings, 10)
        );
        println!("{name}: {}", render(&findings, 3));
    }
}

/// The two rules no single function breaks: a crafted object that calls
/// what the kernel does not have, and exports what the header does not
/// declare while missing what it does.
#[test]
#[cfg_attr(
    not(arctun_binutils),
    ignore = "needs binutils (as, ld, nm, objdump, readelf) on PATH"
)]
fn the_import_and_export_rules_fail_on_a_crafted_object_that_breaks_them() {
    let dir = target_root().join("crafted");
    std::fs::create_dir_all(&dir).unwrap();
    let declared = header_functions();
    let kept = "arctun_arc_tick";
    assert!(declared.contains(kept), "{declared:?}");
    let object = dir.join("interface.o");
    assemble(
        &format!(
            ".text\n.globl {kept}\n{kept}: push %rbp\n mov %rsp,%rbp\n call mutex_enter\n \
             call malloc\n call __x86_indirect_thunk_rsp\n call kmem_alloc\n pop %rbp\n ret\n\
             .globl arctun_helper\narctun_helper: ret\n"
        ),
        &object,
    )
    .unwrap();

    let imports = undefined_symbols(&object).unwrap();
    let refused = ImportPolicy::for_repo().unwrap().violations(&imports);
    assert_eq!(
        refused,
        vec![
            (
                "__x86_indirect_thunk_rsp".to_owned(),
                "not a DDI function declared by illumos-ddi"
            ),
            (
                "kmem_alloc".to_owned(),
                "not a DDI function declared by illumos-ddi"
            ),
            ("malloc".to_owned(), "libc"),
        ],
        "imports {imports:?}"
    );

    let findings = export_violations(&defined_globals(&object).unwrap(), &declared);
    assert!(
        findings.contains(&Finding {
            place: "arctun_helper".to_owned(),
            what: "exported, not declared in sys/arctun.h".to_owned(),
        }),
        "{}",
        render(&findings, 10)
    );
    // Every declared function but the one defined is missing.
    let missing: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.what == "declared in sys/arctun.h, not exported")
        .map(|f| f.place.as_str())
        .collect();
    let expected: BTreeSet<&str> = declared
        .iter()
        .map(String::as_str)
        .filter(|d| *d != kept)
        .collect();
    assert_eq!(missing, expected);
    assert_eq!(findings.len(), 1 + expected.len());
    println!("imports refused: {refused:?}");
    println!("exports: {}", render(&findings, 3));
}

/// What `build-kernel-target.sh` adds to the target file's code
/// generation, on a real compiler's output: with the script's flags the
/// two rules they are there for hold; with any one left out, its rule
/// fails. The source has an indirect call, a switch dense enough for a
/// jump table, and an early return before a call (where LLVM's
/// shrink-wrapping would set the frame up after a test).
///
/// It is compiled for the host target, whose precompiled `core` has no
/// retpolines: rustc refuses to mix the two unless told
/// (`-Cunsafe-allow-abi-mismatch`), which is sound here because the
/// source calls nothing in `core`. The whole module, built for the kernel
/// target without one of the flags (or, for frame pointers, with a target
/// file that does not force them), breaks the same rule; that takes a
/// build of `core` per flag, too slow to repeat on every run.
const CODEGEN_DEMO: &str = r#"#![no_std]

#[no_mangle]
pub extern "C" fn demo_call(f: extern "C" fn(u64) -> u64, x: u64) -> u64 {
    f(x).wrapping_add(1)
}

#[no_mangle]
pub extern "C" fn demo_switch(op: u32, a: u64, b: u64) -> u64 {
    match op {
        0 => a.wrapping_add(b),
        1 => a.wrapping_sub(b),
        2 => a ^ b,
        3 => a & b,
        4 => a | b,
        5 => a.rotate_left(b as u32),
        6 => a.wrapping_mul(b),
        7 => a.wrapping_shl(b as u32),
        _ => 0,
    }
}

extern "C" {
    fn demo_external(x: u64) -> u64;
}

#[no_mangle]
pub extern "C" fn demo_early(p: *const u64) -> u64 {
    if p.is_null() {
        return 0;
    }
    // SAFETY: p is not null, and the caller passes a valid pointer.
    unsafe { demo_external(*p) }.wrapping_add(1)
}
"#;

const RETPOLINES: &str = "-Zretpoline-external-thunk";
const FRAME_POINTERS: &str = "-Cforce-frame-pointers=yes";
const NO_SHRINK_WRAP: &str = "-Cllvm-args=-enable-shrink-wrap=false";

#[test]
#[cfg_attr(
    not(all(arctun_binutils, arctun_kernel_toolchain)),
    ignore = "needs binutils and the kernel target's toolchain (Debian's rustc-web, cargo-web, \
              rust-web-src: .ci/install-debian-rust; or ARCTUN_KERNEL_CARGO, ARCTUN_KERNEL_RUSTC)"
)]
fn each_code_generation_flag_of_the_kernel_build_keeps_its_rule() {
    let flags = kernel_target_rustflags().unwrap();
    for f in [RETPOLINES, FRAME_POINTERS, NO_SHRINK_WRAP] {
        assert!(flags.iter().any(|g| g == f), "{f} is not in {flags:?}");
    }
    let dir = target_root().join("codegen");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("demo.rs");
    std::fs::write(&source, CODEGEN_DEMO).unwrap();
    let rustc = KernelToolchain::from_env().rustc;
    let build = |without: Option<&str>| -> (PathBuf, Vec<Function>) {
        let mut used: Vec<String> = flags
            .iter()
            .filter(|f| Some(f.as_str()) != without)
            .cloned()
            .collect();
        used.push("-Cunsafe-allow-abi-mismatch=retpoline,retpoline-external-thunk".to_owned());
        let name = without.map_or("all", |w| w.trim_start_matches('-'));
        let object = dir.join(format!("{}.o", name.replace(['=', '-'], "_")));
        compile_rust_object(&rustc, &source, &used, &object).unwrap_or_else(|e| panic!("{e}"));
        let functions = disassemble(&object).unwrap();
        let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["demo_call", "demo_early", "demo_switch"], "{name}");
        (object, functions)
    };
    let places = |findings: &[Finding]| -> BTreeSet<String> {
        findings.iter().map(|f| f.place.clone()).collect()
    };

    let (object, all) = build(None);
    assert_eq!(raw_indirect_branches(&all), vec![]);
    assert_eq!(frames_not_set_up_at_entry(&all), vec![]);
    // The indirect call and the switch went through the kernel's thunk.
    assert!(undefined_symbols(&object)
        .unwrap()
        .contains("__x86_indirect_thunk_r11"));

    let (_, no_retpolines) = build(Some(RETPOLINES));
    let raw = raw_indirect_branches(&no_retpolines);
    assert_eq!(
        places(&raw),
        BTreeSet::from(["demo_call".to_owned(), "demo_switch".to_owned()]),
        "{}",
        render(&raw, 10)
    );
    assert_eq!(frames_not_set_up_at_entry(&no_retpolines), vec![]);
    println!("without {RETPOLINES}: {}", render(&raw, 5));

    let (_, shrink_wrapped) = build(Some(NO_SHRINK_WRAP));
    let late = frames_not_set_up_at_entry(&shrink_wrapped);
    assert_eq!(
        places(&late),
        BTreeSet::from(["demo_early".to_owned()]),
        "{}",
        render(&late, 10)
    );
    assert!(late[0].what.starts_with("begins with test"), "{}", late[0]);
    assert_eq!(raw_indirect_branches(&shrink_wrapped), vec![]);
    println!("without {NO_SHRINK_WRAP}: {}", render(&late, 5));

    let (_, no_frame_pointers) = build(Some(FRAME_POINTERS));
    let none = frames_not_set_up_at_entry(&no_frame_pointers);
    assert_eq!(places(&none).len(), 3, "{}", render(&none, 10));
    assert_eq!(raw_indirect_branches(&no_frame_pointers), vec![]);
    println!("without {FRAME_POINTERS}: {}", render(&none, 5));
}

/// A real compiler's red zone: gcc keeps a leaf function's array below
/// `%rsp` unless told `-mno-red-zone` (as the kernel's C code is, by
/// `-mcmodel=kernel`). The rule must tell the two builds apart.
#[test]
#[cfg_attr(
    not(all(arctun_binutils, arctun_gcc)),
    ignore = "needs binutils and gcc on PATH"
)]
fn the_red_zone_rule_tells_gcc_output_with_a_red_zone_from_without() {
    let dir = target_root().join("crafted");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("leaf.c");
    std::fs::write(
        &src,
        "long leaf(const long *in, int n) {\n\
         \tvolatile long buf[8];\n\
         \tfor (int i = 0; i < 8; i++)\n\
         \t\tbuf[i] = in[i] * n;\n\
         \treturn (buf[n & 7]);\n\
         }\n",
    )
    .unwrap();
    let mut found = Vec::new();
    for (name, flag) in [
        ("leaf-red-zone", None),
        ("leaf-no-red-zone", Some("-mno-red-zone")),
    ] {
        let object = dir.join(format!("{name}.o"));
        let out = std::process::Command::new("gcc")
            .args(["-O2", "-fno-omit-frame-pointer", "-c"])
            .args(flag)
            .arg("-o")
            .arg(&object)
            .arg(&src)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        found.push(red_zone_accesses(&disassemble(&object).unwrap()));
    }
    assert!(!found[0].is_empty(), "gcc's red zone was not found");
    assert_eq!(found[1], vec![], "gcc -mno-red-zone was refused");
    println!("gcc -O2: {}", render(&found[0], 3));
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

/// Every `.rs` file under `dir`, recursively.
fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_bindings_declare_only_what_the_module_uses() {
    // Against the source, not the artifact: LTO drops what the entry
    // points cannot reach (mutex_tryenter, behind the platform's
    // try_lock), and the bindings may still declare it.
    let mut files = Vec::new();
    rust_sources(&repo_root().join("arctun-kmod").join("src"), &mut files);
    let mut code = String::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
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
fn the_policy_names_what_it_refuses() {
    let policy = ImportPolicy::from_bindings("    pub fn mutex_enter(mp: *mut kmutex_t);\n");
    assert_eq!(policy.classify("mutex_enter"), Import::Ddi);
    assert_eq!(policy.classify("memcpy"), Import::MemFunction);
    assert_eq!(
        policy.classify("__x86_indirect_thunk_r11"),
        Import::RetpolineThunk
    );
    // illumos has no thunk for %rsp, and nothing else by that prefix.
    assert!(matches!(
        policy.classify("__x86_indirect_thunk_rsp"),
        Import::Forbidden(_)
    ));
    assert!(matches!(
        policy.classify("__x86_indirect_thunk_gen_r11"),
        Import::Forbidden(_)
    ));
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
