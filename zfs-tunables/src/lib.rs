//! Runtime-adjustable ZFS ARC limits and ARC headroom reservations.
//!
//! # Big theory statement
//!
//! ## The problem
//!
//! On illumos the ARC's limits (`arc_c_min`, `arc_c_max` and what derives
//! from them) are computed once, in `arc_init()`, and never re-read. An
//! operator who wants the ARC out of the way of bhyve guests has one tool,
//! a static `zfs_arc_max` in `/etc/system`, and the vmm driver has only
//! generic memory pressure (`page_needfree()`), which the ARC answers
//! slowly, late or not at all (SmartOS OS-8005). This crate is the
//! platform-free core of a kernel component that fixes both.
//!
//! ## What it provides
//!
//! 1. A **registry of tunables** ([`registry`]): each tunable has a
//!    descriptor (name, description, unit, flags, bounds, rule) and belongs
//!    to a registrant (a kernel module) with `validate` and `apply` hooks.
//!    Writes of one or several tunables are validated in full against the
//!    state they would produce and then stored at once, or refused with a
//!    precise error and nothing changed. The ARC registers `zfs_arc_max`,
//!    `zfs_arc_min`, `zfs_arc_meta_limit`, `zfs_arc_meta_min`,
//!    `dbuf_cache_max_bytes` and `dbuf_metadata_cache_max_bytes`; other
//!    modules (vmm) register theirs through the same interface.
//! 2. **The ARC's limits as a function** ([`arc_limits`]): `arc_init()`'s
//!    arithmetic, for the 2021 tree and current illumos, applied again
//!    whenever a tunable or a reservation changes. Values that `arc_init()`
//!    would silently ignore are refused at runtime with `EINVAL` (out of
//!    bounds) or `ERANGE` (minimum above maximum); at boot they are ignored
//!    and reported, as illumos does.
//! 3. **Headroom reservations** ([`headroom`], [`ArcTunables::reserve`]):
//!    any kernel consumer may reserve bytes the ARC must leave free.
//!    A reservation is *admitted* only if the host can give its pending
//!    part without paging: free memory, plus what the ARC can shed down to
//!    `c_min`, plus what it has evicted already, less earlier
//!    reservations' pending bytes and the margin
//!    ([`HostSupply::can_give`]); otherwise it is refused at once
//!    (`ENOMEM`, with the figures in the message). An admitted reservation
//!    lowers the ARC's effective ceiling
//!    `c_max_eff = MAX(c_min, MIN(c_max, c_max_base - reserved))`, and its
//!    *pending* part (promised, not yet allocated) enters
//!    `arc_available_memory()` as `freemem - pending - margin`,
//!    so the ARC frees exactly what is missing. A consumer waits for the memory with a
//!    deadline, woken by eviction progress, claims it once the wait
//!    succeeds (claimed bytes leave the term, since the consumer is taking
//!    them, but younger waiters count them until they are allocated), and
//!    releases the reservation on destroy, which restores the ceiling
//!    exactly.
//! 4. **Publication** ([`published_limits`]): the values the ARC reads on
//!    every allocation are single atomics, and multi-value snapshots are
//!    consistent under a sequence lock.
//!
//! ## Invariants
//!
//! - A snapshot never shows `c_min > c_max` or `c > c_max` or `c < c_min`.
//! - `reserved = Σ reservation sizes` and `pending = Σ pending parts`,
//!   exactly, at every point where the lock is free; `c_min + reserved <=
//!   c_max_base` always (a reservation or a tunable write that would break
//!   it is refused: `ENOMEM`, `EBUSY`).
//! - With no live reservation, the published limits equal what
//!   `arc_init()` computes from the current tunables: releasing every
//!   reservation and restoring every tunable restores every value.
//! - Bytes and pages are distinct types; a byte count becomes pages by
//!   rounding up; arithmetic on callers' values is checked or saturating,
//!   and an overflow is an error (`EOVERFLOW`), never a wrap or a panic.
//! - A refused request changes nothing: validation happens before any
//!   store, under the lock.
//!
//! ## Locking
//!
//! One lock (a `kmutex_t` in the kernel, through [`Platform`]) serializes
//! every writer: tunable writes, reservations, releases, waits' checks.
//! One condition variable under it carries eviction progress to waiters;
//! [`ArcTunables::notify_progress`] takes the lock before broadcasting, so
//! a waiter between its check and its sleep cannot miss a wake-up.
//! Readers never take the lock: the ARC's hot path reads single atomics,
//! the headroom term reads one atomic, and snapshots use the sequence lock,
//! whose writers (the component under its lock, and the ARC's own moves of
//! `c`, which never sleep) are serialized by a compare-and-swap on the
//! sequence word. Lock order: component lock, then the sequence lock;
//! nothing is taken while a sequence write section is open. Readers and
//! writers spin while a section is open, so every section is bracketed by
//! the platform's [`Platform::enter_write_section`] (the component's) or by
//! the ARC's caller (its moves of `c`): the illumos kernel module disables
//! preemption there; elsewhere a preempted writer makes the others spin
//! until it runs again (see [`published_limits`]).
//!
//! All atomics come from [`sync`], which loom replaces under `--cfg loom`.
//!
//! ## Design decisions
//!
//! - **`c_max_base` is `MAX(default c_max, zfs_arc_max)`**, not the
//!   default alone: an admin may legally raise `zfs_arc_max` above the
//!   default (anything below `allmem`), and that value must then be what
//!   the ARC gets when no reservation is live. Lowering `zfs_arc_max` does
//!   not shrink the base, so reservations are always checked against what
//!   the host can give, and an admin's low cap and live reservations
//!   coexist: `c_max_eff = MAX(c_min, MIN(zfs_arc_max, base - reserved))`.
//! - **Snapshots use a sequence lock**, not a store order: no order of
//!   single stores keeps `c <= c_max` for every reader when the ceiling can
//!   move both ways and the ARC moves `c` concurrently (see
//!   [`published_limits`]).
//! - **Waiters are first come, first served**: a waiter proceeds when free
//!   memory covers its pending bytes and those of every reservation ahead
//!   of it, claimed or not, plus the margin, so two guests starting at once
//!   cannot both claim the same freed memory, and a start never pushes
//!   free memory below the page scanner's threshold (let alone the
//!   swapper's). "Ahead" is by the object, not the step: a guest's later
//!   segment is queued with its first, so a guest is not overtaken
//!   between its own segments by the guests that started after it.
//! - **The margin is `lotsfree + desfree` by default, not `desfree`**: the
//!   brief's term, `freemem - pending - desfree`, lets a guest's
//!   allocation take free memory below `lotsfree`, where the page scanner
//!   starts paging processes out, and the ARC's own `FMR_LOTSFREE` term
//!   then reclaims the difference anyway. With `lotsfree + desfree` the
//!   term is exactly `FMR_LOTSFREE` with the pending bytes as `needfree`:
//!   the ARC ends where it would have ended, the start needs no second
//!   reclaim, and nothing is paged. The margin is the tunable
//!   `zfs_arc_headroom_margin` (never below `desfree`), so an operator of
//!   a small host can let a guest fit at the risk of the scanner running;
//!   admission, the waiter and the term all use the same margin, so an
//!   admitted guest is never left waiting for memory the margin forbids.
//! - **Admission counts only memory that leaves without paging**: free
//!   memory, the ARC's evictable bytes down to `c_min` (the dbuf caches'
//!   buffers are referenced, so not evictable) and the evicted bytes in
//!   its kmem caches. Kernel memory, processes and running guests are
//!   not counted: only the page scanner could free them. The estimate is
//!   taken against `availrmem` too (less `pages_pp_maximum +
//!   arc_pages_pp_reserve`, which the ARC keeps anyway), since a guest's
//!   pages must come out of both. Earlier reservations' pending bytes are
//!   subtracted whole, claimed ones included: a claimed segment is being
//!   taken from free memory at that moment, and counting it once too many
//!   can only refuse a request a second early (bhyve retries `ENOMEM`
//!   every second), never admit one that does not fit.
//! - **Three refusals for reservations**: "no headroom now" (the ceiling
//!   rule, next to live reservations), "not the memory now" (admission)
//!   and "never fits on this host" are distinct errors with distinct
//!   messages and kstat counters; all are `ENOMEM` to the caller, because
//!   all mean "not enough memory" and vmm's callers already handle
//!   exactly that errno (vmm's ioctl turns "never fits" into `ENOSPC`, so
//!   bhyve does not retry it forever).
//! - **Handles are never reused**, so a second release of the same handle
//!   is recognised and harmless, and a handle never issued is an error.
//! - **The `arc_available_memory()` term is silent with nothing pending**
//!   (`i64::MAX`), so the component adds no term to the ARC's decisions
//!   unless a consumer is actually waiting for memory.
//! - **No `atomic` crate**: every shared value is a plain 64-bit integer
//!   (a byte count, a sequence number), for which `core` atomics are
//!   lock-free everywhere illumos runs; the typed values wrap them. The
//!   `atomic` crate's `Atomic<T>` would add nothing here and has no loom
//!   twin.
//! - **The dbuf caches and `arc_meta_limit` follow the effective ceiling**
//!   (unless set), as OpenZFS later made the dbuf cache follow the ARC's
//!   target: on illumos they were sized once from the boot `c_max`, so
//!   cached dbufs could pin ARC buffers well above a lowered ceiling.
//!
//! ## What the core does not do
//!
//! It does not evict: it lowers `c` and asks the platform to kick the
//! ARC's evictor. It does not read `/etc/system`, kstats or `mdb` writes:
//! those are the `kstat-export` crate's, through this interface.
//!
//! # Builds
//!
//! `no_std` without an allocator unless the `std` feature (on by default)
//! is enabled; `std` adds [`std_platform::StdPlatform`] for tests and
//! userland tools.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
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
    )
)]

pub mod arc_limits;
mod arc_tunables;
pub mod errno;
mod error;
pub mod headroom;
pub mod platform;
pub mod published_limits;
pub mod registry;
#[cfg(any(feature = "std", test))]
pub mod std_platform;
pub mod sync;
pub mod units;

pub use arc_limits::{AdminValues, ArcLimits, Generation, HostMemory};
pub use arc_tunables::{ArcTunables, HeadroomStats, WaitTicket};
pub use error::TunableError;
pub use headroom::{
    headroom_cut, reader_float, HeadroomCounters, HostSupply, ReleaseOutcome, ReservationId,
    SPA_MAXBLOCKSIZE,
};
pub use platform::{AdmissionFigures, MemoryFigures, Platform, Wake};
pub use published_limits::LimitsSnapshot;
pub use registry::{
    Proposal, Registrant, RegistrantId, TunableDesc, TunableEntry, TunableFlags, TunableHandle,
    Unit,
};
pub use units::{Bytes, Hrtime, PageSize, Pages, GIB, KIB, MIB, TIB};
