//! Building the kernel module's static library, for the host and for the
//! illumos kernel target, and checking the object the kernel would load.
//!
//! The real module is linked by `ld -ztype=kmod` from the C glue and the
//! static library: the glue references the library's entry points, which
//! pulls in the one LTO object holding all Rust code, which pulls in the
//! `compiler_builtins` members it needs. [`link_like_the_module`] does the
//! same with `ld -r` and the entry points as roots, so the result is what
//! the kernel's module loader (krtld) would have to load and resolve.
//!
//! # The rules, and why
//!
//! Each rule is a function returning what breaks it ([`Finding`]s, empty
//! when the object complies); the tests apply them to both builds, to
//! small crafted objects that break each one, and to compiler output built
//! without the code-generation flag a rule depends on
//! ([`kernel_target_rustflags`], [`compile_rust_object`]).
//!
//! - **Imports** ([`ImportPolicy`]): only what illumos-ddi's kernel layer
//!   declares, the memory functions the compiler emits, the module's own C
//!   half, and the kernel's retpoline thunks (`__x86_indirect_thunk_<reg>`,
//!   `uts/intel/ml/retpoline.S`).
//! - **Exports** ([`export_violations`]): exactly the functions
//!   `sys/arctun.h` declares are global; everything else is local (LTO
//!   internalizes it), so the module adds nothing to the kernel's
//!   namespace that a C caller has no prototype for.
//! - **No FPU or vector instruction** ([`fpu_instructions`]): the kernel
//!   saves no FPU state for its own code (a kernel thread that touches
//!   `%xmm0` corrupts the interrupted user thread's), so no x87, MMX, SSE,
//!   AVX or AVX-512 register or instruction may appear.
//! - **No red zone** ([`red_zone_accesses`]): interrupts taken in the
//!   kernel push onto the current stack, so nothing may be stored below the
//!   stack pointer: no negative offset from `%rsp`, and no offset from
//!   `%rbp` deeper than the function has moved `%rsp`.
//! - **What krtld can load** ([`loader_violations`]): krtld applies
//!   relocations against the symbol's address and builds nothing: no GOT,
//!   no PLT, no TLS block, no constructors. In sections that are loaded
//!   (`SHF_ALLOC`) only `R_X86_64_64`, `R_X86_64_32S`, `R_X86_64_PC32`,
//!   `R_X86_64_PLT32` (krtld resolves it as `PC32` to the function) and
//!   `R_X86_64_PC64` may appear; `R_X86_64_32` is refused too, because it
//!   zero-extends and the kernel's addresses are in the top 2 GiB. No TLS
//!   section or symbol, no `.got`/`.plt`, no `.init_array`/`.ctors`, no
//!   `.gcc_except_table`, `.eh_frame_hdr` or `DW.ref.*` personality
//!   pointer. An `.eh_frame` is accepted when its relocations are of the
//!   kinds above: krtld loads it like read-only data and nothing reads it
//!   (the kernel never unwinds Rust frames; `panic = "abort"`). The
//!   kernel-target build has none; the host build does. Non-loaded
//!   sections (`.debug_*`) are not relocated by krtld and are not checked.
//! - **Retpolines** ([`raw_indirect_branches`]): the kernel is built with
//!   `-mindirect-branch=thunk-extern`, and the module must not be the one
//!   place a Spectre v2 gadget remains: no `call *` or `jmp *` at all;
//!   every indirect branch goes through a thunk.
//! - **DTrace fbt** ([`frames_not_set_up_at_entry`]): fbt places a
//!   function's entry probe on its first `push %rbp` and its return probes
//!   on the `ret`s after it; the C code is built with `-fno-shrink-wrap`
//!   so that push is the first instruction. Every function must start
//!   with `push %rbp; mov %rsp,%rbp`.
//! - **Stack** ([`stack_frames`]): each function's frame (return address,
//!   saved registers, locals) is computed from its pushes and `%rsp`
//!   adjustments; one that moves `%rsp` by a register (a dynamic
//!   allocation) has no bound and fails. The limit is the tests'.
//!
//! The disassembly is `objdump -d` in AT&T syntax; the sections,
//! relocations and symbols are `readelf`'s.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{repo_root, target_root};

/// The module's entry points as the C glue references them: the roots of
/// the relocatable link. Everything else the header declares is reached
/// from them (the ARC's and vmm's registrations return what they call).
pub const MODULE_ROOTS: [&str; 3] = ["arctun_mod_init", "arctun_mod_busy", "arctun_mod_fini"];

/// Builds `arctun-kmod` with the stable toolchain running these tests
/// (release profile: `panic = "abort"`, fat LTO) and returns the path of
/// `libarctun.a`. `flavour` names the build directory; `features` are
/// passed to cargo.
pub fn build_kmod(flavour: &str, features: &[&str]) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = target_root().join(flavour);
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(repo_root().join("arctun-kmod").join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    if !features.is_empty() {
        cmd.arg("--features").arg(features.join(","));
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building arctun-kmod ({flavour}) failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let lib = target_dir.join("release").join("libarctun.a");
    if lib.is_file() {
        Ok(lib)
    } else {
        Err(format!("{} was not produced", lib.display()))
    }
}

/// The toolchain that builds the module for the kernel target: a cargo
/// and a rustc whose sysroot has the library source.
#[derive(Clone, Debug)]
pub struct KernelToolchain {
    /// The cargo (`CARGO` for `build-kernel-target.sh`).
    pub cargo: PathBuf,
    /// The rustc (`RUSTC` for `build-kernel-target.sh`).
    pub rustc: PathBuf,
}

impl KernelToolchain {
    /// `ARCTUN_KERNEL_CARGO` and `ARCTUN_KERNEL_RUSTC`, by default Debian's
    /// `/usr/bin/cargo` and `/usr/bin/rustc` (`.ci/install-debian-rust`).
    #[must_use]
    pub fn from_env() -> Self {
        let path = |var: &str, default: &str| {
            std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        KernelToolchain {
            cargo: path("ARCTUN_KERNEL_CARGO", "/usr/bin/cargo"),
            rustc: path("ARCTUN_KERNEL_RUSTC", "/usr/bin/rustc"),
        }
    }
}

/// What `build-kernel-target.sh` leaves behind.
#[derive(Clone, Debug)]
pub struct KernelBuild {
    /// The relocatable object: the library linked with [`MODULE_ROOTS`].
    pub object: PathBuf,
    /// The static library.
    pub library: PathBuf,
}

/// Runs `arctun-kmod/build-kernel-target.sh` with `toolchain` (the one
/// command the illumos Makefile and CI run) and returns the two paths it
/// prints last: the object, then the library.
pub fn build_for_kernel_target(toolchain: &KernelToolchain) -> Result<KernelBuild, String> {
    let script = repo_root().join("arctun-kmod/build-kernel-target.sh");
    // `sh`, as the illumos Makefile runs it ($(SH)): the script is POSIX.
    let out = Command::new("sh")
        .arg(&script)
        .env("CARGO", &toolchain.cargo)
        .env("RUSTC", &toolchain.rustc)
        // The test harness runs under rustup's cargo; its toolchain choice
        // must not reach the kernel target's cargo.
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "{} failed (with CARGO={} RUSTC={}):\n{}{stdout}",
            script.display(),
            toolchain.cargo.display(),
            toolchain.rustc.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let lines: Vec<&str> = stdout.lines().collect();
    let [.., object, library] = lines.as_slice() else {
        return Err(format!(
            "{} printed {} lines, not the object's and the library's paths:\n{stdout}",
            script.display(),
            lines.len()
        ));
    };
    let build = KernelBuild {
        object: PathBuf::from(object),
        library: PathBuf::from(library),
    };
    for p in [&build.object, &build.library] {
        if !p.is_file() {
            return Err(format!(
                "{} printed {}, which is not a file",
                script.display(),
                p.display()
            ));
        }
    }
    Ok(build)
}

/// A command as a shell would show it: the program and its arguments.
fn command_line(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&a.to_string_lossy());
    }
    line
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| {
        format!(
            "cannot run {} ({e}): `{}`",
            cmd.get_program().to_string_lossy(),
            command_line(cmd)
        )
    })?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed ({}):\n{}",
            command_line(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Links `archive` relocatably into `out` with every name in `roots`
/// undefined, as the module's C glue pulls the library in.
pub fn link_like_the_module<S: AsRef<str>>(
    archive: &Path,
    roots: &[S],
    out: &Path,
) -> Result<(), String> {
    let mut cmd = Command::new("ld");
    cmd.arg("-r").arg("-o").arg(out);
    for r in roots {
        cmd.arg("-u").arg(r.as_ref());
    }
    cmd.arg(archive);
    run(&mut cmd).map(|_| ())
}

/// The `RUSTFLAGS` `build-kernel-target.sh` builds with, read from the
/// script itself (its one `export RUSTFLAGS="..."` line), so that a test
/// can compile with exactly those flags, and with each left out.
pub fn kernel_target_rustflags() -> Result<Vec<String>, String> {
    let script = repo_root().join("arctun-kmod/build-kernel-target.sh");
    let text = std::fs::read_to_string(&script)
        .map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export RUSTFLAGS=\""))
        .collect();
    let [line] = lines.as_slice() else {
        return Err(format!(
            "{} has {} `export RUSTFLAGS=\"...\"` lines, not one",
            script.display(),
            lines.len()
        ));
    };
    let Some((flags, _)) = line.split_once('"') else {
        return Err(format!(
            "{}: the RUSTFLAGS line has no closing quote: {line}",
            script.display()
        ));
    };
    Ok(flags.split_whitespace().map(str::to_owned).collect())
}

/// Compiles the Rust file `source` into the object `out` with `rustc`
/// (`--crate-type lib --emit obj`, optimized as the release profile,
/// `panic = "abort"`, static relocations) and `flags`, with
/// `RUSTC_BOOTSTRAP=1` so that `-Z` flags are accepted: real compiler
/// output with and without one code-generation flag.
pub fn compile_rust_object(
    rustc: &Path,
    source: &Path,
    flags: &[String],
    out: &Path,
) -> Result<(), String> {
    run(Command::new(rustc)
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("RUSTFLAGS")
        .args(["--edition", "2021", "--crate-type", "lib", "--emit", "obj"])
        .args([
            "-Copt-level=3",
            "-Cpanic=abort",
            "-Crelocation-model=static",
        ])
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(source))
    .map(|_| ())
}

/// Assembles `source` (GNU `as`, AT&T syntax) into `out`: the crafted
/// objects that show each rule can fail.
pub fn assemble(source: &str, out: &Path) -> Result<(), String> {
    let src = out.with_extension("s");
    std::fs::write(&src, source).map_err(|e| format!("cannot write {}: {e}", src.display()))?;
    run(Command::new("as").arg("--64").arg("-o").arg(out).arg(&src)).map(|_| ())
}

/// The undefined symbols of a relocatable object (`nm -u`).
pub fn undefined_symbols(object: &Path) -> Result<BTreeSet<String>, String> {
    let text = run(Command::new("nm").arg("-u").arg("-P").arg(object))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// The global symbols an object defines (`nm -g --defined-only`).
pub fn defined_globals(object: &Path) -> Result<BTreeSet<String>, String> {
    let text = run(Command::new("nm")
        .arg("-g")
        .arg("--defined-only")
        .arg("-P")
        .arg(object))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// Every difference between the global symbols an object defines
/// (`exported`, [`defined_globals`]) and the functions the header
/// declares: an export the header does not declare is an interface no C
/// caller knows the type of (or a symbol clashing with the kernel's
/// namespace); a declared function not exported fails the module's link.
#[must_use]
pub fn export_violations(exported: &BTreeSet<String>, declared: &BTreeSet<String>) -> Vec<Finding> {
    let mut out: Vec<Finding> = exported
        .difference(declared)
        .map(|s| Finding {
            place: s.clone(),
            what: "exported, not declared in sys/arctun.h".to_owned(),
        })
        .collect();
    out.extend(declared.difference(exported).map(|s| Finding {
        place: s.clone(),
        what: "declared in sys/arctun.h, not exported".to_owned(),
    }));
    out
}

/// One thing in an object that breaks a rule: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The function, section or symbol.
    pub place: String,
    /// The instruction, relocation or property, with the reason.
    pub what: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.what)
    }
}

/// Renders findings one to a line, at most `max` of them, for a test's
/// failure message.
#[must_use]
pub fn render(findings: &[Finding], max: usize) -> String {
    let mut s = String::new();
    for f in findings.iter().take(max) {
        s.push_str("\n  ");
        s.push_str(&f.to_string());
    }
    if findings.len() > max {
        s.push_str(&format!("\n  ... and {} more", findings.len() - max));
    }
    s
}

/// One instruction of a disassembly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// Its offset in its section.
    pub offset: u64,
    /// The mnemonic, without prefixes (`lock`, `rep`, `notrack`, ...).
    pub mnemonic: String,
    /// The operands as objdump prints them, without its `#` comment.
    pub operands: String,
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operands.is_empty() {
            write!(f, "{:#x}: {}", self.offset, self.mnemonic)
        } else {
            write!(f, "{:#x}: {} {}", self.offset, self.mnemonic, self.operands)
        }
    }
}

/// A function of a disassembly: its symbol and its instructions in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// The symbol (mangled, as DTrace would name the probe).
    pub name: String,
    /// Its instructions, in address order.
    pub instructions: Vec<Instruction>,
}

const PREFIXES: [&str; 20] = [
    "lock", "rep", "repz", "repe", "repnz", "repne", "notrack", "bnd", "data16", "addr32", "cs",
    "ds", "es", "fs", "gs", "ss", "rex", "rex.W", "rex.B", "rex.WB",
];

/// Parses `objdump -d -w --no-show-raw-insn` output into functions.
/// Symbols without instructions (an alias at the same address as the
/// next) are dropped.
#[must_use]
pub fn parse_disassembly(text: &str) -> Vec<Function> {
    let mut functions: Vec<Function> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line
            .strip_suffix(">:")
            .and_then(|l| l.split_once(" <"))
            .map(|(_, n)| n)
        {
            if functions.last().is_some_and(|f| f.instructions.is_empty()) {
                functions.pop();
            }
            functions.push(Function {
                name: name.to_owned(),
                instructions: Vec::new(),
            });
            continue;
        }
        let Some((addr, rest)) = line.split_once(":\t") else {
            continue;
        };
        let Ok(offset) = u64::from_str_radix(addr.trim(), 16) else {
            continue;
        };
        let code = rest.split_once('#').map_or(rest, |(c, _)| c);
        let mut words = code.split_whitespace().peekable();
        while words.peek().is_some_and(|w| PREFIXES.contains(w)) {
            words.next();
        }
        let Some(mnemonic) = words.next() else {
            continue;
        };
        let operands: Vec<&str> = words.collect();
        if let Some(f) = functions.last_mut() {
            f.instructions.push(Instruction {
                offset,
                mnemonic: mnemonic.to_owned(),
                operands: operands.join(" "),
            });
        }
    }
    if functions.last().is_some_and(|f| f.instructions.is_empty()) {
        functions.pop();
    }
    functions
}

/// Disassembles `object` (`objdump -d`).
pub fn disassemble(object: &Path) -> Result<Vec<Function>, String> {
    let text = run(Command::new("objdump")
        .arg("-d")
        .arg("-w")
        .arg("--no-show-raw-insn")
        .arg(object))?;
    Ok(parse_disassembly(&text))
}

fn finding(f: &Function, i: &Instruction, why: &str) -> Finding {
    Finding {
        place: f.name.clone(),
        what: format!("{i} ({why})"),
    }
}

/// Whether an operand list names an x87, MMX, SSE/AVX or AVX-512 mask
/// register.
fn names_fpu_register(operands: &str) -> bool {
    let mut rest = operands;
    while let Some(pos) = rest.find('%') {
        let reg = &rest[pos + 1..];
        let digit_after = |p: &str| {
            reg.strip_prefix(p)
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        };
        if reg.starts_with("xmm")
            || reg.starts_with("ymm")
            || reg.starts_with("zmm")
            || reg.starts_with("st")
            || digit_after("mm")
            || digit_after("k")
        {
            return true;
        }
        rest = reg;
    }
    false
}

/// Instructions that touch FPU state without naming a register. (SSE's
/// general-register instructions, `movnti`, the fences, `prefetch*`,
/// leave it alone; the kernel's own copy routines use them.)
const FPU_MNEMONICS: [&str; 8] = [
    "emms",
    "femms",
    "ldmxcsr",
    "stmxcsr",
    "vldmxcsr",
    "vstmxcsr",
    "vzeroupper",
    "vzeroall",
];

/// Every instruction that uses an x87, MMX, SSE, AVX or AVX-512 register,
/// or an instruction that saves, restores or changes FPU state (`f*`
/// x87 mnemonics, `fxsave`, `xsave*`, `xrstor*`, `ldmxcsr`, ...).
#[must_use]
pub fn fpu_instructions(functions: &[Function]) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in functions {
        for i in &f.instructions {
            let m = i.mnemonic.as_str();
            let why = if names_fpu_register(&i.operands) {
                Some("FPU/vector register")
            } else if m.starts_with('f')
                || m.starts_with("xsave")
                || m.starts_with("xrstor")
                || FPU_MNEMONICS.contains(&m)
            {
                Some("FPU state instruction")
            } else {
                None
            };
            if let Some(why) = why {
                out.push(finding(f, i, why));
            }
        }
    }
    out
}

/// Every `call *` or `jmp *`: an indirect branch that does not go through
/// a retpoline thunk.
#[must_use]
pub fn raw_indirect_branches(functions: &[Function]) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in functions {
        for i in &f.instructions {
            let branch = matches!(
                i.mnemonic.as_str(),
                "call" | "callq" | "jmp" | "jmpq" | "lcall" | "ljmp"
            );
            if branch && i.operands.starts_with('*') {
                out.push(finding(f, i, "indirect branch without a thunk"));
            }
        }
    }
    out
}

/// Every function that does not begin with `push %rbp; mov %rsp,%rbp`:
/// DTrace's fbt would place its entry probe later than its entry, or, with
/// no `push %rbp` at all, not instrument it.
#[must_use]
pub fn frames_not_set_up_at_entry(functions: &[Function]) -> Vec<Finding> {
    functions
        .iter()
        .filter(|f| {
            let mut it = f.instructions.iter();
            let first = it.next();
            let second = it.next();
            !(first.is_some_and(|i| i.mnemonic.starts_with("push") && i.operands == "%rbp")
                && second
                    .is_some_and(|i| i.mnemonic.starts_with("mov") && i.operands == "%rsp,%rbp"))
        })
        .map(|f| Finding {
            place: f.name.clone(),
            what: format!(
                "begins with {} (not push %rbp; mov %rsp,%rbp)",
                f.instructions
                    .iter()
                    .take(2)
                    .map(|i| format!("{} {}", i.mnemonic, i.operands))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        })
        .collect()
}

/// An immediate operand `$0x...` as a signed value (objdump prints
/// negative immediates in two's complement).
fn immediate(operand: &str) -> Option<i64> {
    let hex = operand.strip_prefix("$0x")?;
    let v = u64::from_str_radix(hex, 16).ok()?;
    Some(i64::from_ne_bytes(v.to_ne_bytes()))
}

/// A memory operand based on a register: its displacement (`-0x18` in
/// `-0x18(%rsp)`; none is 0), and whether an index register follows
/// (`-0x460(%rbp,%rbx,1)` addresses wherever the index takes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MemoryOperand {
    displacement: i64,
    indexed: bool,
}

/// Every memory operand of `operands` based on `base` (`"%rsp"`).
fn memory_operands(operands: &str, base: &str) -> Vec<MemoryOperand> {
    let mut out = Vec::new();
    let pattern = format!("({base}");
    let mut start = 0;
    while let Some(pos) = operands[start..].find(&pattern) {
        let at = start + pos;
        let after = &operands[at + pattern.len()..];
        let indexed = after.starts_with(',');
        let disp = operands[..at]
            .rsplit([',', ':', ' '])
            .next()
            .unwrap_or_default();
        let displacement = if disp.is_empty() {
            Some(0)
        } else if let Some(hex) = disp.strip_prefix("-0x") {
            i64::from_str_radix(hex, 16).ok().map(|v| -v)
        } else if let Some(hex) = disp.strip_prefix("0x") {
            i64::from_str_radix(hex, 16).ok()
        } else {
            None
        };
        if let (Some(displacement), true) = (displacement, indexed || after.starts_with(')')) {
            out.push(MemoryOperand {
                displacement,
                indexed,
            });
        }
        start = at + pattern.len();
    }
    out
}

/// How a function moves its stack pointer, from its instructions in
/// order: the deepest it gets below the entry `%rsp`, and where `%rbp` was
/// set.
struct StackWalk {
    /// Bytes below the entry `%rsp` (after the return address).
    depth: i64,
    /// The most `depth` has been so far.
    deepest: i64,
    /// `depth` when `mov %rsp,%rbp` ran, if it has.
    rbp_at: Option<i64>,
    /// The instruction that moved `%rsp` by an unknown amount, if any.
    unbounded: Option<Instruction>,
}

impl StackWalk {
    fn new() -> Self {
        StackWalk {
            depth: 0,
            deepest: 0,
            rbp_at: None,
            unbounded: None,
        }
    }

    fn step(&mut self, i: &Instruction) {
        let m = i.mnemonic.as_str();
        let ops = i.operands.as_str();
        if m.starts_with("push") {
            self.depth += 8;
        } else if m.starts_with("pop") {
            self.depth -= 8;
        } else if m.starts_with("mov") && ops == "%rsp,%rbp" {
            self.rbp_at.get_or_insert(self.depth);
        } else if let Some(src) = ops.strip_suffix(",%rsp") {
            match (m, immediate(src)) {
                ("sub", Some(n)) => self.depth += n,
                ("add", Some(n)) => self.depth -= n,
                ("and", Some(mask)) => self.depth += -mask,
                // `lea -N(%rbp),%rsp`, `mov %rbp,%rsp`: the epilogue.
                ("lea" | "mov", _) => {}
                _ => {
                    self.unbounded.get_or_insert_with(|| i.clone());
                }
            }
        }
        self.deepest = self.deepest.max(self.depth);
    }
}

/// Every memory access below the stack pointer:
///
/// - a negative offset from `%rsp`, with no index register;
/// - an offset from the frame pointer deeper than the function has moved
///   `%rsp` so far, with no index register (a red-zone local in a function
///   with a frame pointer);
/// - a negative offset with an index register (an array in the red zone)
///   from `%rsp` in a function that has not moved `%rsp` at all, or from
///   `%rbp` in one that has not moved `%rsp` below `%rbp`. Where there is a
///   frame, an indexed operand's displacement may lie beyond it while the
///   index brings the address back (LLVM folds constant offsets that way),
///   so it is not counted: the compiler's `disable-redzone` is the rule
///   there, this check its backstop.
///
/// `lea` computes an address and accesses nothing; it is not counted.
#[must_use]
pub fn red_zone_accesses(functions: &[Function]) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in functions {
        let mut walk = StackWalk::new();
        for i in &f.instructions {
            walk.step(i);
            if i.mnemonic.starts_with("lea") {
                continue;
            }
            let rsp = memory_operands(&i.operands, "%rsp");
            let rbp = memory_operands(&i.operands, "%rbp");
            let below = |m: &MemoryOperand| m.displacement < 0;
            if rsp.iter().any(|m| below(m) && !m.indexed) {
                out.push(finding(f, i, "below %rsp"));
                continue;
            }
            let frame_under_rbp = walk.rbp_at.map(|at| walk.deepest - at);
            let indexed_below = (walk.deepest == 0 && rsp.iter().any(|m| below(m) && m.indexed))
                || (frame_under_rbp == Some(0) && rbp.iter().any(|m| below(m) && m.indexed));
            if indexed_below {
                out.push(finding(
                    f,
                    i,
                    "an array below %rsp: the function has no frame",
                ));
                continue;
            }
            if let Some(rbp_at) = walk.rbp_at {
                let frame = walk.deepest - rbp_at;
                if rbp.iter().any(|m| !m.indexed && -m.displacement > frame) {
                    out.push(finding(
                        f,
                        i,
                        &format!("below %rsp: the frame under %rbp is {frame} bytes"),
                    ));
                }
            }
        }
    }
    out
}

/// The stack a function uses itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Bytes: return address, saved registers and locals.
    Bytes(u64),
    /// `%rsp` moved by a register: a dynamic allocation.
    Unbounded(Instruction),
}

/// Every function's frame.
#[must_use]
pub fn stack_frames(functions: &[Function]) -> Vec<(String, Frame)> {
    functions
        .iter()
        .map(|f| {
            let mut walk = StackWalk::new();
            for i in &f.instructions {
                walk.step(i);
            }
            let frame = match walk.unbounded {
                Some(i) => Frame::Unbounded(i),
                None => Frame::Bytes(8 + u64::try_from(walk.deepest).unwrap_or(0)),
            };
            (f.name.clone(), frame)
        })
        .collect()
}

/// Every frame over `limit` bytes, and every unbounded one.
#[must_use]
pub fn frames_over(frames: &[(String, Frame)], limit: u64) -> Vec<Finding> {
    frames
        .iter()
        .filter_map(|(name, frame)| match frame {
            Frame::Bytes(n) if *n > limit => Some(Finding {
                place: name.clone(),
                what: format!("a frame of {n} bytes (the limit is {limit})"),
            }),
            Frame::Bytes(_) => None,
            Frame::Unbounded(i) => Some(Finding {
                place: name.clone(),
                what: format!("{i} (a dynamic stack allocation: no bound)"),
            }),
        })
        .collect()
}

/// The relocation types krtld can apply to a loaded section.
pub const LOADABLE_RELOCATIONS: [&str; 5] = [
    "R_X86_64_64",
    "R_X86_64_32S",
    "R_X86_64_PC32",
    "R_X86_64_PLT32",
    "R_X86_64_PC64",
];

/// Sections the kernel's loader has no use for, or that need runtime
/// support it does not give.
fn forbidden_section(name: &str) -> Option<&'static str> {
    let starts = |p: &str| name == p || name.starts_with(&format!("{p}."));
    if starts(".tdata") || starts(".tbss") {
        Some("thread-local storage: krtld sets up no TLS block")
    } else if starts(".got") || starts(".got.plt") || starts(".plt") {
        Some("a GOT or PLT: krtld builds neither")
    } else if starts(".init_array")
        || starts(".fini_array")
        || starts(".preinit_array")
        || starts(".ctors")
        || starts(".dtors")
    {
        Some("constructors: krtld runs none")
    } else if starts(".gcc_except_table") || name == ".eh_frame_hdr" || starts(".data.DW.ref") {
        Some("unwinding support: the kernel has no unwinder")
    } else if matches!(name, ".interp" | ".dynamic" | ".dynsym") {
        Some("dynamic linking: a module is a relocatable object")
    } else {
        None
    }
}

/// Every section, relocation and symbol of `object` that the kernel's
/// module loader could not handle (see the module documentation).
pub fn loader_violations(object: &Path) -> Result<Vec<Finding>, String> {
    let sections = run(Command::new("readelf").arg("-SW").arg(object))?;
    let mut out = Vec::new();
    // [Nr] Name Type Address Off Size ES Flg Lk Inf Al
    let mut loaded = BTreeSet::new();
    for line in sections.lines() {
        let Some((_, rest)) = line.split_once(']') else {
            continue;
        };
        let cols: Vec<&str> = rest.split_whitespace().collect();
        let (Some(name), Some(flags)) = (cols.first(), cols.get(6)) else {
            continue;
        };
        let flags = if flags
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == 'x' || c == 'l')
        {
            *flags
        } else {
            ""
        };
        if flags.contains('A') {
            loaded.insert((*name).to_owned());
        }
        if flags.contains('T') {
            out.push(Finding {
                place: (*name).to_owned(),
                what: "a TLS section: krtld sets up no TLS block".to_owned(),
            });
        } else if let Some(why) = forbidden_section(name) {
            out.push(Finding {
                place: (*name).to_owned(),
                what: why.to_owned(),
            });
        }
    }
    let relocs = run(Command::new("readelf").arg("-rW").arg(object))?;
    let mut target: Option<String> = None;
    for line in relocs.lines() {
        if let Some(rest) = line.strip_prefix("Relocation section '") {
            let section = rest.split('\'').next().unwrap_or_default();
            target = section
                .strip_prefix(".rela")
                .or_else(|| section.strip_prefix(".rel"))
                .map(str::to_owned);
            continue;
        }
        let Some(t) = target.as_deref().filter(|t| loaded.contains(*t)) else {
            continue;
        };
        let Some(ty) = line
            .split_whitespace()
            .nth(2)
            .filter(|t| t.starts_with("R_X86_64_"))
        else {
            continue;
        };
        if !LOADABLE_RELOCATIONS.contains(&ty) {
            let why = if ty.contains("GOT") {
                "needs a GOT, which krtld does not build"
            } else if ty.contains("TLS") || ty.contains("TPOFF") || ty.contains("DTP") {
                "thread-local storage, which krtld refuses"
            } else if ty == "R_X86_64_32" {
                "zero-extends: cannot hold a kernel address"
            } else {
                "not a relocation krtld applies to a module"
            };
            let symbol = line.split_whitespace().nth(4).unwrap_or("?");
            out.push(Finding {
                place: t.to_owned(),
                what: format!("{ty} against {symbol} ({why})"),
            });
        }
    }
    let symbols = run(Command::new("readelf").arg("-sW").arg(object))?;
    for line in symbols.lines() {
        // Num: Value Size Type Bind Vis Ndx Name
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.get(3) == Some(&"TLS") {
            out.push(Finding {
                place: cols.get(7).unwrap_or(&"?").to_string(),
                what: "a thread-local symbol: krtld sets up no TLS block".to_owned(),
            });
        }
    }
    Ok(out)
}

/// What an imported symbol is, for the module's import policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Import {
    /// Declared in `illumos-ddi`'s kernel layer (`src/kernel.rs`).
    Ddi,
    /// `memcpy`, `memmove`, `memset`, `memcmp`: the kernel has them, and
    /// the compiler emits calls to them.
    MemFunction,
    /// A retpoline thunk the kernel defines (`__x86_indirect_thunk_r11`):
    /// every indirect branch of a build with
    /// `-Zretpoline-external-thunk` goes through one.
    RetpolineThunk,
    /// A function the module's own C half defines (`arctun.c`, created by
    /// the patch series): today the wrappers of the `kpreempt_disable()`
    /// and `kpreempt_enable()` macros. The ARC's hooks are passed as
    /// function pointers and are not imports.
    PatchProvided,
    /// Anything else, with the reason it is refused.
    Forbidden(&'static str),
}

/// The module's import policy.
#[derive(Clone, Debug)]
pub struct ImportPolicy {
    ddi: BTreeSet<String>,
    patch_provided: BTreeSet<String>,
}

/// The compiler's memory functions, allowed by name.
pub const MEM_FUNCTIONS: [&str; 4] = ["memcpy", "memmove", "memset", "memcmp"];

/// The registers illumos has a retpoline thunk for
/// (`RETPOLINE_MKTHUNK` in `uts/intel/ml/retpoline.S`): every general
/// register but `%rsp`.
pub const RETPOLINE_REGISTERS: [&str; 15] = [
    "rax", "rbx", "rcx", "rdx", "rdi", "rsi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15",
];

const LIBC: [&str; 24] = [
    "malloc",
    "calloc",
    "realloc",
    "free",
    "posix_memalign",
    "abort",
    "exit",
    "_exit",
    "write",
    "writev",
    "read",
    "open",
    "close",
    "clock_gettime",
    "gettimeofday",
    "getenv",
    "syscall",
    "__errno_location",
    "___errno",
    "strlen",
    "printf",
    "fprintf",
    "dl_iterate_phdr",
    "__tls_get_addr",
];

impl ImportPolicy {
    /// The policy whose DDI set is every `pub fn` and `pub static mut`
    /// declared in the given source of `illumos-ddi/src/kernel.rs`.
    #[must_use]
    pub fn from_bindings(kernel_rs: &str) -> Self {
        let mut ddi = BTreeSet::new();
        for line in kernel_rs.lines() {
            let l = line.trim_start();
            let name = if let Some(rest) = l.strip_prefix("pub fn ") {
                rest.split('(').next()
            } else if let Some(rest) = l.strip_prefix("pub static mut ") {
                rest.split(':').next()
            } else {
                None
            };
            if let Some(n) = name {
                ddi.insert(n.trim().to_owned());
            }
        }
        ImportPolicy {
            ddi,
            patch_provided: BTreeSet::new(),
        }
    }

    /// The policy for this repository: its DDI bindings, and what the
    /// patch series' module C half defines.
    pub fn for_repo() -> Result<Self, String> {
        let p = repo_root()
            .join("illumos-ddi")
            .join("src")
            .join("kernel.rs");
        let text =
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let mut policy = Self::from_bindings(&text);
        policy.patch_provided = crate::patches::module_c_definitions(&repo_root().join("patches"))?
            .into_iter()
            .map(|d| d.name)
            .collect();
        Ok(policy)
    }

    /// What the module's C half provides.
    #[must_use]
    pub fn patch_provided(&self) -> &BTreeSet<String> {
        &self.patch_provided
    }

    /// The DDI symbols the bindings declare.
    #[must_use]
    pub fn ddi(&self) -> &BTreeSet<String> {
        &self.ddi
    }

    /// What `symbol` is.
    #[must_use]
    pub fn classify(&self, symbol: &str) -> Import {
        if self.ddi.contains(symbol) {
            Import::Ddi
        } else if MEM_FUNCTIONS.contains(&symbol) {
            Import::MemFunction
        } else if symbol
            .strip_prefix("__x86_indirect_thunk_")
            .is_some_and(|reg| RETPOLINE_REGISTERS.contains(&reg))
        {
            Import::RetpolineThunk
        } else if self.patch_provided.contains(symbol) {
            Import::PatchProvided
        } else if symbol.starts_with("_Unwind_")
            || symbol.contains("eh_personality")
            || symbol.starts_with("__gcc_personality")
        {
            Import::Forbidden("unwinder")
        } else if symbol.starts_with("pthread_") {
            Import::Forbidden("pthreads")
        } else if symbol.contains("3std") || symbol.starts_with("__rust_") {
            Import::Forbidden("Rust standard library")
        } else if LIBC.contains(&symbol) || symbol.starts_with("__libc_") {
            Import::Forbidden("libc")
        } else {
            Import::Forbidden("not a DDI function declared by illumos-ddi")
        }
    }

    /// Every refused symbol of `imports`, with the reason.
    #[must_use]
    pub fn violations<'a>(
        &self,
        imports: impl IntoIterator<Item = &'a String>,
    ) -> Vec<(String, &'static str)> {
        imports
            .into_iter()
            .filter_map(|s| match self.classify(s) {
                Import::Forbidden(why) => Some((s.clone(), why)),
                _ => None,
            })
            .collect()
    }
}
