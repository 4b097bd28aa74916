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
//!    built twice, for the illumos kernel target exactly as the illumos
//!    Makefile builds it (`arctun-kmod/build-kernel-target.sh`: core
//!    rebuilt for `x86_64-unknown-illumos-kernel.json`, retpolines, frames
//!    set up at entry) and for the host with the stable toolchain; each is
//!    linked relocatably the way the module's C glue pulls it in. On both
//!    objects: only the DDI functions and globals declared by
//!    `illumos-ddi`'s kernel layer, the `mem*` functions and `bcmp`
//!    (which the compiler emits), the kernel's retpoline thunks and the
//!    functions the module's own C half defines (its `kpreempt_*()`
//!    wrappers, whose prototypes are compared with the Rust declarations)
//!    are imported; exactly the header's functions are exported; every
//!    function's stack frame is within a stated limit. On the kernel
//!    object also: no FPU or vector instruction, no access below the stack
//!    pointer (the red zone), nothing krtld cannot load (TLS, GOT,
//!    constructors, unwinding tables that need support), no raw indirect
//!    branch, every frame set up at entry (DTrace fbt). The host object
//!    breaks those last rules, a crafted object breaks each rule, a canary
//!    build that links `std` breaks the import rule, and a small source
//!    compiled with the kernel build's flags but one breaks the rule that
//!    flag is for (retpolines; frame pointers and no shrink-wrapping, for
//!    fbt): all show the rules can fail.
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
//! 5. **The limit formula** ([`arc_init`]): the module computes the ARC's
//!    default limits with the formula its `ARC_GENERATION` names, which is
//!    today's (`c/arc_formula_test.c` shows it on a host where the two
//!    formulas differ), and, given a tree, the one that tree's
//!    `arc_init()` computes.
//!
//! The checks shell out to the tools a C toolchain brings (`gcc`, `as`,
//! `ld`, `nm`, `objdump`, `readelf`, `make`) and, for the kernel target,
//! to a Rust toolchain with its library source (Debian's `rustc-web`,
//! `cargo-web` and `rust-web-src`). A check whose input is missing is
//! `#[ignore]`d with the reason, so `cargo test` reports that it did not
//! run; `build.rs` decides, and under CI (`CI=true`) ignores none of the
//! tool-bound checks, so that a missing tool fails there (`.ci/run`
//! installs them). Only the illumos tree stays optional under CI.

pub mod arc_init;
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
