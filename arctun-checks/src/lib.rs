//! Checks of the arctun kernel module that need no illumos machine.
//!
//! # Big theory statement
//!
//! The kernel module (`arctun-kmod`) cannot run here, so everything about
//! it that can be decided off illumos is decided by the tests of this
//! crate, which run from `cargo test --workspace` with the stable
//! toolchain:
//!
//! 1. **The artifact** ([`artifact`]): the module's static library is
//!    built for the host exactly as for the kernel (`no_std`,
//!    `panic = "abort"`, fat LTO), linked relocatably the way the module's
//!    C glue pulls it in, and its imports are listed. Only the DDI
//!    functions and globals declared by `illumos-ddi`'s kernel layer, the
//!    `mem*` functions and `bcmp` (which the compiler emits), and the
//!    functions the module's own C half defines (its `kpreempt_*()`
//!    wrappers, whose prototypes are compared with the Rust declarations)
//!    are allowed; anything from libc, pthreads, the Rust standard library
//!    or an unwinder fails the check. A canary build that links `std` proves
//!    the check can fail. No function's stack frame may need a stack
//!    probe (a page or more): illumos kernel stacks are 20 KB.
//! 2. **The C ABI** (`tests/c_abi.rs`): a C program compiled with
//!    `gcc -Wall -Werror` against `sys/arctun.h`, linked with the static
//!    library and a userland stand-in for the DDI (`c/fakekernel.c`, the
//!    libfakekernel pattern: mutexes and condition variables on pthreads,
//!    `gethrtime` on a clock the test moves, `kstat_create` returning real
//!    kstats whose values the test reads and writes the way the kstat
//!    driver does; the module's `kpreempt_*()` wrappers counting sections),
//!    calls every exported function with good and bad arguments.
//! 3. **The interface** ([`c_decls`]): every function the library exports
//!    is declared in the header with the same types, and nothing else is
//!    exported.
//! 4. **The patches** ([`patches`]): the series carries the header
//!    verbatim, calls only functions the header declares (or the module's
//!    C half defines) and with their number of arguments, declares none of
//!    them itself; vmm's side of the headroom (`vmm_arc.c`, from the
//!    series) runs in C against the module; and, given an illumos-gate
//!    tree (`ILLUMOS_SRC`, built by `patches/gate-tree.sh`), the series
//!    applies in order and every changed C file compiles.
//!
//! The checks shell out to the tools a C toolchain brings (`gcc`, `ld`,
//! `nm`, `objdump`, `make`). The patch and C tests whose tool or tree is
//! missing are `#[ignore]`d with the reason (`build.rs`); under CI
//! (`CI=true`, where `.ci/run` installs the tools) a missing tool fails
//! them instead.

pub mod artifact;
pub mod c_decls;
pub mod patches;

use std::path::PathBuf;

/// The repository's root directory.
#[must_use]
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map_or(here.clone(), PathBuf::from)
}

/// Where nested builds put their output: under the workspace's target
/// directory, apart from the workspace's own profiles.
#[must_use]
pub fn target_root() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| repo_root().join("target"), PathBuf::from)
        .join("arctun-checks")
}

/// Whether `tool` runs (`tool --version` exits).
#[must_use]
pub fn tool_available(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
