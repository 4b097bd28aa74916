//! The entry points the ARC calls (`arctun_arc_*` in `sys/arctun.h`).
//!
//! Two kinds:
//!
//! - registration, the tick and the progress notice, which may take the
//!   module's mutexes and so must not be called with ARC locks held other
//!   than those the header names;
//! - the hot path (reads of the limits, the headroom term and the
//!   reaper's in-flight rule, the ARC's own moves of `c`), which is
//!   lock-free: single atomic loads, and the core's sequence lock for the
//!   moves (with preemption disabled inside it), so the ARC may call them
//!   from its allocation path and with any of its locks held.

use illumos_ddi::{boolean_t, c_int, pgcnt_t, uint_t};
use zfs_tunables::{Bytes, LimitsSnapshot, Pages};

use crate::kernel_platform::{self, arctun_admission_t, ArcCallbacks};
use crate::preempt::NoPreempt;
use crate::raw_vars::{self, arctun_var_t};
use crate::state::{self, component, Component, VarOwner};
use crate::{kstats, KmodError};

/// `ARCTUN_ARC_OPS_VERSION_1`: `aao_size` to `aao_nvars`.
pub const ARCTUN_ARC_OPS_VERSION_1: uint_t = 1;
/// `ARCTUN_ARC_OPS_VERSION_2`: and `aao_admission`.
pub const ARCTUN_ARC_OPS_VERSION_2: uint_t = 2;
/// `ARCTUN_ARC_OPS_VERSION`: the newest.
pub const ARCTUN_ARC_OPS_VERSION: uint_t = ARCTUN_ARC_OPS_VERSION_2;

/// `arctun_arc_ops_t`, version 2.
#[repr(C)]
#[derive(Debug)]
pub struct arctun_arc_ops_t {
    /// `ARCTUN_ARC_OPS_VERSION`.
    pub aao_version: uint_t,
    /// `aggsum_value(&arc_size)`.
    pub aao_size: Option<unsafe extern "C" fn() -> u64>,
    /// Starts eviction now.
    pub aao_evict: Option<unsafe extern "C" fn()>,
    /// The ARC's tunable variables.
    pub aao_vars: *const arctun_var_t,
    /// How many.
    pub aao_nvars: uint_t,
    /// Version 2: the ARC's admission figures (may be NULL).
    pub aao_admission: Option<unsafe extern "C" fn(*mut arctun_admission_t)>,
}

/// `arctun_arc_ops_t` as a caller built against version 1 of the header
/// lays it out: the version 2 structure without its last field. Only
/// this much of a caller's vector is read until its version says there
/// is more.
#[repr(C)]
struct ArcOpsV1 {
    aao_version: uint_t,
    aao_size: Option<unsafe extern "C" fn() -> u64>,
    aao_evict: Option<unsafe extern "C" fn()>,
    aao_vars: *const arctun_var_t,
    aao_nvars: uint_t,
}

/// `arctun_limits_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct arctun_limits_t {
    /// `arc_c`.
    pub al_c: u64,
    /// `arc_c_min`.
    pub al_c_min: u64,
    /// The effective `arc_c_max`.
    pub al_c_max: u64,
    /// `arc_p`.
    pub al_p: u64,
    /// `arc_meta_limit`.
    pub al_meta_limit: u64,
    /// `arc_meta_min`.
    pub al_meta_min: u64,
    /// `dbuf_cache_max_bytes`.
    pub al_dbuf_cache_max: u64,
    /// `dbuf_metadata_cache_max_bytes`.
    pub al_dbuf_metadata_cache_max: u64,
}

impl From<LimitsSnapshot> for arctun_limits_t {
    fn from(s: LimitsSnapshot) -> Self {
        arctun_limits_t {
            al_c: s.c.0,
            al_c_min: s.c_min.0,
            al_c_max: s.c_max.0,
            al_p: s.p.0,
            al_meta_limit: s.meta_limit.0,
            al_meta_min: s.meta_min.0,
            al_dbuf_cache_max: s.dbuf_cache_max.0,
            al_dbuf_metadata_cache_max: s.dbuf_metadata_cache_max.0,
        }
    }
}

fn to_errno(r: Result<(), KmodError>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Registers the ARC; see [`arctun_arc_register`].
///
/// # Safety
///
/// As [`arctun_arc_register`].
unsafe fn arc_register(ops: *const arctun_arc_ops_t) -> Result<(), KmodError> {
    let c = component()?;
    if ops.is_null() {
        return Err(KmodError::NullPointer);
    }
    // SAFETY: non-NULL, and the caller vouches for a readable ops vector
    // of the version it names; every version starts with version 1's
    // fields, and version 1's structure is the shortest.
    let v1 = unsafe { &*ops.cast::<ArcOpsV1>() };
    let admission = match v1.aao_version {
        ARCTUN_ARC_OPS_VERSION_1 => None,
        // SAFETY: as above; the vector says it is version 2, which the
        // caller vouches it has the whole of.
        ARCTUN_ARC_OPS_VERSION_2 => unsafe { (*ops).aao_admission },
        version => return Err(KmodError::UnsupportedVersion { version }),
    };
    let (Some(size), Some(evict)) = (v1.aao_size, v1.aao_evict) else {
        return Err(KmodError::NullPointer);
    };
    let n = usize::try_from(v1.aao_nvars).map_err(|_| KmodError::TooManyVariables)?;
    // The callbacks go in first, so that eviction can start as soon as a
    // boot value lowers the ceiling.
    let registration = state::begin_arc_registration(ArcCallbacks {
        size,
        evict,
        admission,
    })?;
    // SAFETY: the caller vouches for aao_vars (see arctun_arc_register).
    if let Err(e) = unsafe { raw_vars::register(VarOwner::Arc, c, v1.aao_vars, n) } {
        registration.abandon();
        return Err(e);
    }
    c.finish_boot();
    kstats::create_arc_kstats();
    registration.complete();
    Ok(())
}

/// `int arctun_arc_register(const arctun_arc_ops_t *);`
///
/// # Safety
///
/// `ops` is NULL or points to a readable `arctun_arc_ops_t` of the version
/// its `aao_version` names (version 1's is one field shorter) whose
/// callbacks and variables stay valid until `arctun_arc_unregister()`,
/// and whose `aao_vars` points to `aao_nvars` readable entries, each name
/// NUL-terminated (or at least 31 readable bytes).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_arc_register(ops: *const arctun_arc_ops_t) -> c_int {
    // SAFETY: per this function's contract.
    to_errno(unsafe { arc_register(ops) })
}

/// `void arctun_arc_unregister(void);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_unregister() {
    // Claims the teardown: of two unregistrations, or one racing a
    // registration still in progress, at most one gets past here.
    let Some(teardown) = state::begin_arc_teardown() else {
        return;
    };
    // The kstats first: a zfs:0:tunables write records into the raw
    // variables, which must still be bound while one can run.
    kstats::delete_arc_kstats();
    raw_vars::unregister(VarOwner::Arc);
    // Then the callbacks, waiting for one that runs.
    teardown.complete();
}

/// Runs `f` on the component, or returns `default` before
/// `arctun_mod_init()`.
#[inline]
fn with_component<R>(default: R, f: impl FnOnce(&Component) -> R) -> R {
    match component() {
        Ok(c) => f(c),
        Err(_) => default,
    }
}

/// `uint64_t arctun_arc_c(void);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_c() -> u64 {
    with_component(0, |c| c.published().c().0)
}

/// `uint64_t arctun_arc_c_min(void);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_c_min() -> u64 {
    with_component(0, |c| c.published().c_min().0)
}

/// `uint64_t arctun_arc_c_max(void);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_c_max() -> u64 {
    with_component(0, |c| c.published().c_max().0)
}

/// `uint64_t arctun_arc_p(void);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_p() -> u64 {
    with_component(0, |c| c.published().p().0)
}

/// `uint64_t arctun_arc_meta_limit(void);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_meta_limit() -> u64 {
    with_component(0, |c| c.published().meta_limit().0)
}

/// `uint64_t arctun_arc_meta_min(void);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_meta_min() -> u64 {
    with_component(0, |c| c.published().meta_min().0)
}

/// `void arctun_arc_limits(arctun_limits_t *);`
///
/// # Safety
///
/// `lp` is NULL (nothing is written) or points to a writable
/// `arctun_limits_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_arc_limits(lp: *mut arctun_limits_t) {
    if lp.is_null() {
        return;
    }
    let l = with_component(arctun_limits_t::default(), |c| c.limits().into());
    // SAFETY: non-NULL and writable per the contract.
    unsafe { lp.write(l) };
}

/// `uint64_t arctun_arc_set_target(uint64_t);`
///
/// Like the other moves of `c`, a write section of the sequence lock, run
/// with preemption disabled ([`preempt`](crate::preempt)).
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_set_target(target: u64) -> u64 {
    with_component(0, |c| {
        let _np = NoPreempt::enter();
        c.published().set_target(Bytes(target)).0
    })
}

/// `uint64_t arctun_arc_grow_target(uint64_t);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_grow_target(bytes: u64) -> u64 {
    with_component(0, |c| {
        let l = c.published();
        // At the ceiling (most allocations of a warm ARC) the move opens
        // no write section: skip the preemption calls too.
        if l.c() >= l.c_max() {
            return l.c().0;
        }
        let _np = NoPreempt::enter();
        l.grow_target(Bytes(bytes)).0
    })
}

/// `uint64_t arctun_arc_reduce_target(uint64_t, uint64_t, int);`
///
/// A negative `shrink_shift` leaves `p` alone, like a shift of 64 or more.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_reduce_target(to_free: u64, asize: u64, shrink_shift: c_int) -> u64 {
    let shift = u32::try_from(shrink_shift).unwrap_or(u32::MAX);
    with_component(0, |c| {
        let _np = NoPreempt::enter();
        c.published()
            .reduce_target(Bytes(to_free), Bytes(asize), shift)
            .0
    })
}

/// `void arctun_arc_set_p(uint64_t);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_set_p(p: u64) {
    with_component((), |c| c.published().set_p(Bytes(p)));
}

/// `int64_t arctun_arc_headroom(pgcnt_t, pgcnt_t, pgcnt_t);`
///
/// `freemem - pending - lotsfree - desfree` in bytes, the ARC's
/// `FMR_LOTSFREE` term with the pending bytes in the place of `needfree`:
/// the ARC frees what the guests are about to take and keeps free what it
/// keeps free anyway, so no start takes free memory below `lotsfree`,
/// where the page scanner runs. `i64::MAX` while nothing is pending, and
/// before `arctun_mod_init()`. Every argument is accepted (the core
/// saturates). One atomic load; no lock.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_headroom(
    freemem: pgcnt_t,
    lotsfree: pgcnt_t,
    desfree: pgcnt_t,
) -> i64 {
    with_component(i64::MAX, |c| {
        c.headroom_term(Pages(freemem), Pages(lotsfree), Pages(desfree))
    })
}

/// `int64_t arctun_arc_headroom_availrmem(pgcnt_t, pgcnt_t);`
///
/// `availrmem - floor - pending` in bytes, the headroom term's
/// `availrmem` half: a guest's pages are locked down, so they leave
/// `availrmem` as well as `freemem`, and the ARC's `FMR_PAGES_PP_MAXIMUM`
/// term keeps `availrmem` above `floor` (`pages_pp_maximum +
/// arc_pages_pp_reserve`). The ARC's headroom term is the smaller of this
/// and [`arctun_arc_headroom`]. `i64::MAX` while nothing is pending, and
/// before `arctun_mod_init()`. Every argument is accepted (the core
/// saturates). One atomic load; no lock.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_headroom_availrmem(availrmem: pgcnt_t, floor: pgcnt_t) -> i64 {
    with_component(i64::MAX, |c| {
        c.headroom_term_availrmem(Pages(availrmem), Pages(floor))
    })
}

/// `int64_t arctun_arc_reap_to_free(int64_t, int64_t, boolean_t, uint64_t,
/// uint64_t);`
///
/// `arc_reap_cb()`'s `to_free` under headroom: with `headroom` true (the
/// headroom term is the reason memory is short, `last_free_reason ==
/// FMR_HEADROOM`, or was at the check that began the pass) the deficit
/// `-free_memory` without the stock `arc_c >> arc_shrink_shift` slack,
/// otherwise `to_free`; either less what is on its way to `freemem`:
/// `to_evict` (`arc_size - arc_c`) and `depots` (the bytes in the full
/// magazines of the ARC's kmem caches), the depots only while the last
/// call's are seen to arrive
/// ([`ArcTunables::reap_to_free`](zfs_tunables::ArcTunables::reap_to_free)).
/// `to_free` unchanged while nothing is pending and `headroom` is false,
/// and before `arctun_mod_init()`. Only the ARC's reap thread may call it
/// (it keeps what the last call expected). Every argument is accepted:
/// any nonzero `headroom` is true, byte counts above `INT64_MAX` count as
/// `INT64_MAX`, and the result saturates instead of wrapping. Atomic
/// loads and one swap; no lock.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_reap_to_free(
    to_free: i64,
    free_memory: i64,
    headroom: boolean_t,
    to_evict: u64,
    depots: u64,
) -> i64 {
    with_component(to_free, |c| {
        c.reap_to_free(
            to_free,
            free_memory,
            headroom != 0,
            Bytes(to_evict),
            Bytes(depots),
        )
    })
}

/// `uint64_t arctun_arc_headroom_cut(int64_t, uint64_t, uint64_t, uint64_t);`
///
/// How far `arc_tunables_evict()` lowers `arc_c` at once for the headroom
/// term `headroom` (from [`arctun_arc_headroom`]) of an ARC of `size`
/// bytes with target `c` and `evicted_cached` bytes in its kmem caches'
/// depots: the deficit less what is in flight, and the first call after
/// a reservation less a reader's float
/// ([`ArcTunables::headroom_cut`](zfs_tunables::ArcTunables::headroom_cut)).
/// 0 while nothing is pending and before `arctun_mod_init()`. Every
/// argument is accepted (the core saturates). Two atomic operations; no
/// lock, so the evictor callback may call it with arctun's locks and the
/// reap zthr's held.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_headroom_cut(
    headroom: i64,
    size: u64,
    c: u64,
    evicted_cached: u64,
) -> u64 {
    with_component(0, |comp| {
        comp.headroom_cut(headroom, Bytes(size), Bytes(c), Bytes(evicted_cached))
            .0
    })
}

/// Whether any reservation has bytes pending, without taking a lock: the
/// headroom term is `i64::MAX` exactly when nothing is pending (with zero
/// free memory, `lotsfree` and `desfree` it is otherwise `-pending`).
fn anything_pending(c: &Component) -> bool {
    c.headroom_term(Pages(0), Pages(0), Pages(0)) != i64::MAX
}

/// `int arctun_arc_tick(void);`
///
/// Does its work at most once a second of `gethrtime()`
/// ([`state::claim_tick`]), however often it is called, and returns 1 when
/// it did, so that the ARC syncs its own statistics in the same rhythm.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_tick() -> c_int {
    with_component(0, |c| {
        if !state::claim_tick(kernel_platform::now()) {
            return 0;
        }
        raw_vars::tick(c);
        if anything_pending(c) {
            // Free memory may have grown for reasons other than the ARC
            // (a process exited, a kmem reap elsewhere): let waiters
            // re-check once a second too.
            c.notify_progress();
        }
        1
    })
}

/// `void arctun_arc_progress(void);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_arc_progress() {
    with_component((), |c| {
        if anything_pending(c) {
            c.notify_progress();
        }
    });
}

// The C structures, as the header lays them out (LP64).
const _: () = assert!(core::mem::size_of::<ArcOpsV1>() == 40);
const _: () = assert!(core::mem::size_of::<arctun_arc_ops_t>() == 48);
const _: () = assert!(core::mem::offset_of!(arctun_arc_ops_t, aao_admission) == 40);
const _: () = assert!(core::mem::offset_of!(ArcOpsV1, aao_nvars) == 32);
const _: () = assert!(core::mem::offset_of!(arctun_arc_ops_t, aao_size) == 8);
const _: () = assert!(core::mem::offset_of!(arctun_arc_ops_t, aao_evict) == 16);
const _: () = assert!(core::mem::offset_of!(arctun_arc_ops_t, aao_vars) == 24);
const _: () = assert!(core::mem::offset_of!(arctun_arc_ops_t, aao_nvars) == 32);
const _: () = assert!(core::mem::size_of::<arctun_limits_t>() == 64);
