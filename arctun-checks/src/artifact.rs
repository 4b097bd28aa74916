//! Building the kernel module's static library on the host and checking
//! what it imports and how much stack it uses.
//!
//! The real module is linked by `ld -ztype=kmod` from the C glue and the
//! static library: the glue references the library's entry points, which
//! pulls in the one LTO object holding all Rust code, which pulls in the
//! `compiler_builtins` members it needs. [`link_like_the_module`] does the
//! same with `ld -r` and every function the header declares as a root, so
//! the undefined symbols of the result are exactly what the kernel's
//! module loader would have to resolve.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{repo_root, target_root};

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

/// The nightly toolchain with `rust-src`, if rustup has one: what
/// `-Zbuild-std=core` needs to build the module for the kernel target.
#[must_use]
pub fn nightly_with_rust_src() -> bool {
    let Ok(out) = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--print", "sysroot"])
        .output()
    else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    out.status.success()
        && Path::new(&sysroot)
            .join("lib/rustlib/src/rust/library/core")
            .is_dir()
}

/// Builds `arctun-kmod` for the illumos kernel target
/// (`x86_64-unknown-illumos-kernel.json`) with the nightly toolchain and
/// `-Zbuild-std=core`, as the illumos Makefile does, and returns the path
/// of `libarctun.a`.
pub fn build_kmod_for_kernel_target() -> Result<PathBuf, String> {
    let kmod = repo_root().join("arctun-kmod");
    let target_dir = target_root().join("kernel-target");
    let out = Command::new("cargo")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .args(["+nightly", "build", "--release", "--quiet"])
        .args(["-Zjson-target-spec", "-Zbuild-std=core"])
        .arg("--manifest-path")
        .arg(kmod.join("Cargo.toml"))
        .arg("--target")
        .arg(kmod.join("x86_64-unknown-illumos-kernel.json"))
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .map_err(|e| format!("cannot run cargo +nightly: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building arctun-kmod for the kernel target failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let lib = target_dir
        .join("x86_64-unknown-illumos-kernel")
        .join("release")
        .join("libarctun.a");
    if lib.is_file() {
        Ok(lib)
    } else {
        Err(format!("{} was not produced", lib.display()))
    }
}

/// The relocation types of an object (`readelf -r`), with their counts.
pub fn relocation_types(object: &Path) -> Result<BTreeSet<String>, String> {
    let text = run(Command::new("readelf").arg("-rW").arg(object))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|t| t.starts_with("R_X86_64_"))
        .map(str::to_owned)
        .collect())
}

/// Whether the object's code uses SSE/AVX registers (`objdump -d`).
pub fn uses_vector_registers(object: &Path) -> Result<bool, String> {
    let text = run(Command::new("objdump").arg("-d").arg(object))?;
    Ok(text.contains("%xmm") || text.contains("%ymm") || text.contains("%zmm"))
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Links `archive` relocatably into `out` with every name in `roots`
/// undefined, as the module's C glue pulls the library in.
pub fn link_like_the_module(archive: &Path, roots: &[String], out: &Path) -> Result<(), String> {
    let mut cmd = Command::new("ld");
    cmd.arg("-r").arg("-o").arg(out);
    for r in roots {
        cmd.arg("-u").arg(r);
    }
    cmd.arg(archive);
    run(&mut cmd).map(|_| ())
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

/// Each function's stack frame: the immediate of its `sub $N, %rsp`
/// (`objdump -d`). A function with a stack probe loop shows the page-sized
/// step of the loop, which is itself over the limit.
pub fn stack_frames(object: &Path) -> Result<Vec<(String, u64)>, String> {
    let text = run(Command::new("objdump")
        .arg("-d")
        .arg("--no-show-raw-insn")
        .arg(object))?;
    let mut frames = Vec::new();
    let mut function = String::new();
    for line in text.lines() {
        if let Some(name) = line
            .strip_suffix(">:")
            .and_then(|l| l.split_once(" <"))
            .map(|(_, n)| n)
        {
            function = name.to_owned();
            continue;
        }
        let Some(pos) = line.find("sub    $0x") else {
            continue;
        };
        let rest = &line[pos + "sub    $0x".len()..];
        let Some((hex, reg)) = rest.split_once(',') else {
            continue;
        };
        if reg.trim() != "%rsp" {
            continue;
        }
        if let Ok(n) = u64::from_str_radix(hex, 16) {
            frames.push((function.clone(), n));
        }
    }
    Ok(frames)
}

/// What an imported symbol is, for the module's import policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Import {
    /// Declared in `illumos-ddi`'s kernel layer (`src/kernel.rs`).
    Ddi,
    /// `memcpy`, `memmove`, `memset`, `memcmp`: the kernel has them, and
    /// the compiler emits calls to them.
    MemFunction,
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
