//! The illumos kernel module `misc/arctun`: zfs-tunables behind a C ABI.
//!
//! # Big theory statement
//!
//! ## What this crate is
//!
//! The glue between the platform-free core ([`zfs_tunables`]) and the
//! illumos kernel. It builds a static library (`libarctun.a`) that
//! `ld -ztype=kmod` links with a few lines of C (`modlinkage`, `_init`,
//! `_fini`) into the misc module `arctun`, on which `zfs` and `vmm` depend.
//! Its interface is `include/sys/arctun.h`; every exported function is
//! declared there with the same types, and nothing else is exported.
//!
//! It supplies, and only supplies:
//!
//! - the module's state ([`state`]): every static (the component, the
//!   vmm client, the raw-variable table, the kstats' buffers), every lock
//!   and the registration flags, behind functions that take the locks in
//!   the one order its opening comment states and, in a debug build,
//!   assert ([`lock_order`]);
//! - the kernel [`Platform`](zfs_tunables::Platform)
//!   ([`state::KernelPlatform`]): one `kmutex_t`, one `kcondvar_t` waited
//!   on with `cv_timedwait_sig_hrtime()`, the ARC's size, evictor and
//!   admission figures through callbacks the ARC registers, and
//!   `gethrtime()`, `freemem`/`lotsfree`/`desfree` and
//!   `availrmem`/`pages_pp_maximum` ([`kernel_platform`]), over
//!   mutex(9F) and condvar(9F) ([`ksync`]);
//! - the lifecycle entry points ([`mod_entry`]): the component is created
//!   once by `arctun_mod_init()`;
//! - the entry points the ARC calls ([`arc_entry`]) and the raw-variable
//!   synchronisation behind `arctun_arc_tick()` ([`raw_vars`], over
//!   kstat-export);
//! - the entry points vmm calls ([`vmm_entry`], over vmm-client): its
//!   registration, one instance per VM, and each memory segment's reserve,
//!   wait, mark-allocated and release;
//! - the kstats `zfs:0:tunables` (writable, over a staging buffer),
//!   `zfs:0:arc_headroom` and `vmm:0:arc_resv` ([`kstats`]);
//! - messages through `cmn_err(9F)` ([`messages`]) and a panic handler that
//!   reports through `cmn_err(CE_PANIC, ...)`.
//!
//! ## Invariants
//!
//! - No allocator: every table is fixed-capacity static storage.
//! - No unwinding: `panic = "abort"` and the panic handler panics the
//!   system. The crate denies the clippy lints that find panics, so a panic
//!   is a bug in this crate, not a reaction to input.
//! - Every pointer from C is checked for NULL before use; every size is
//!   checked before arithmetic; every refusal is an errno.
//! - Nothing in this crate keeps the kernel stack busy: large state lives
//!   in statics, and the artifact check bounds every function's frame
//!   below a page. The component is built at compile time
//!   (`ArcTunables::unconfigured`); the vmm client (about 115 KiB) is
//!   built by vmm-client's constructor straight into its static slot,
//!   which the compiler does without a stack temporary today: the frame
//!   check is what says so, on the host and on the kernel target.
//!
//! ## Lifecycle
//!
//! `_init` calls [`arctun_mod_init`](mod_entry::arctun_mod_init), which
//! initializes the locks and builds the component for this host (limits
//! as `arc_init()` computes them with no tunable set). `arc_init()` then
//! registers the ARC's callbacks and variables; their values are applied as
//! boot values, and boot ends. Reservations may be made before the ARC
//! registers (they are checked against the computed limits, and nothing is
//! evicted because there is nothing to evict yet). `_fini` may only unload
//! the module when nothing is registered and no reservation is live.
//!
//! ## Locking
//!
//! Four kernel mutexes, numbered in the one order they are taken: the
//! admin lock (the tunables' C variables and the values last applied from
//! them, and `ks_lock` of this module's kstats), vmm-client's instance
//! table lock (never held while a create sleeps for headroom), the
//! component's lock (the [`Platform`](zfs_tunables::Platform) lock of
//! zfs-tunables, with its condition variable), and the callback lock
//! (held while one of the ARC's callbacks runs, so
//! `arctun_arc_unregister()` never returns while a callback is in
//! flight; the callbacks then take the ARC's own locks). All of them are
//! statics of [`state`], which opens with the lock-order table: each
//! lock, what it protects, the contexts that take it, and the kernel's
//! locks held around and taken under them. Files import each other in
//! one direction only: the entry files over `raw_vars` and `kstats`, over
//! `state`, over the kernel primitives; `.ci/check-file-cycles` keeps it
//! so.
//!
//! The hot-path entry points (reads of `c`, `c_min`, `c_max`, the headroom
//! term, the ARC's moves of `c`) take none of them: single atomics and the
//! core's sequence lock. The ARC calls them with its own locks held, so
//! they must stay lock-free. Every write section of the sequence lock runs
//! with kernel preemption disabled ([`preempt`]), so that nobody spins
//! behind a writer that was switched off its CPU.
//!
//! ## Where this departs from the brief or the issue, and why
//!
//! - The headroom term the ARC reads is `freemem - pending - lotsfree -
//!   desfree`, not the brief's `freemem - pending - desfree`, and a vmm
//!   waiter waits for its pending bytes plus `lotsfree + desfree`: a
//!   start must never take free memory below `lotsfree`, where the page
//!   scanner runs (the core's big theory statement says why), so
//!   `arctun_arc_headroom()` takes `lotsfree` too and the platform reads
//!   it.
//! - The sync tick runs from `arc_reap_cb_check()`, not `arc_reap_cb()`:
//!   the reap zthr runs its check once a second but its callback only when
//!   memory is short, and raw writes must be picked up either way. The
//!   check also runs at every wakeup of the reap zthr (allocation rate,
//!   under pressure), so the module keeps the tick's clock itself
//!   ([`state::claim_tick`]): one tick's work a second, whoever calls.
//! - The evictor callback wakes only the ARC's adjust zthr: the tick runs
//!   with the reap zthr's lock held, so waking the reap zthr from there
//!   would recurse on that lock. The reap zthr's 1 s timer picks up the new
//!   headroom term on its own, and the callback leaves it a flag
//!   (`arc_tunables_reap_wanted` in patch 0002) that its check honours once
//!   the adjust zthr is done: one reap of the ARC's kmem caches, so that
//!   a lowered ceiling frees memory even when none is short.
//! - A vmm reservation that can never fit on the host is `ENOSPC` at the
//!   driver's boundary, not vmm-client's `ENOMEM`: bhyve retries `ENOMEM`
//!   once a second forever ([`vmm_entry`] says more). One the host cannot
//!   give now without paging is `ENOMEM`, refused at once, and said in
//!   the system log only (`cmn_err(CE_NOTE, "!...")`), since bhyve's
//!   retries repeat it every second.
//! - The ARC's admission figures come through ops version 2's
//!   `aao_admission`; a version 1 ops vector (or a NULL callback) still
//!   registers, and its reservations are admitted by the ceiling rule
//!   alone, as before admission existed.
//! - The four vmm steps (reserve, wait, mark allocated, release)
//!   are four entry points, but the driver allocates the memory itself
//!   (`vm_object_allocate()`), so vmm-client's allocator here only records;
//!   the create in flight lives in the caller's buffer, not in a table.
//! - `ddi_get_lbolt()` and `kstat_named_init()` are not bound: the clock is
//!   `gethrtime()`, and kstat-export fills `kstat_named_t`s itself.
//! - `kpreempt_disable()` and `kpreempt_enable()` are not bound in
//!   illumos-ddi: they are macros of `<sys/disp.h>` with no function form,
//!   so the module's C half (`arctun.c`) wraps them and this crate
//!   declares the wrappers ([`preempt`]); they are the module's only
//!   imports that are not DDI symbols.
//! - Atomics come from `zfs_tunables::sync` like everywhere else, but
//!   storage owned by C (`kmutex_t`, `kcondvar_t`, kstat buffers) sits in
//!   `core::cell::UnsafeCell`: the kernel module is never built under loom.
#![cfg_attr(not(any(test, feature = "std-canary")), no_std)]
#![deny(missing_docs)]
#![deny(unused_must_use)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

pub mod arc_entry;
mod error;
pub mod kernel_platform;
pub mod kstats;
pub mod ksync;
pub mod lock_order;
pub mod messages;
pub mod mod_entry;
pub mod preempt;
pub mod raw_vars;
pub mod state;
pub mod vmm_entry;

#[cfg(feature = "std-canary")]
mod std_canary;

pub use error::KmodError;

/// Reports a panic through `cmn_err(CE_PANIC, ...)`, which does not
/// return: the system panics with the message and location in the dump.
#[cfg(not(any(test, feature = "std-canary")))]
#[panic_handler]
fn panic_handler(info: &core::panic::PanicInfo<'_>) -> ! {
    messages::panic(info)
}
