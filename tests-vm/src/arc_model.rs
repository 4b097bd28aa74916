//! The ARC (`arc.c`): limits, `arc_available_memory()`, the reap zthr
//! (`arc_reap_cb_check()`, `arc_reap_cb()`), `arc_reduce_target_size()`,
//! the adjust zthr (`arc_adjust()`), `arc_adapt()` growth from a reader,
//! and the overflow rule of `arc_get_data_impl()`.
//!
//! Under the `tunables` policy `c`, `c_min` and `c_max` live in the
//! project's component (`ArcTunables::published()`): the ARC grows and
//! shrinks `c` through it, reads the effective ceiling from it, and adds
//! its `headroom_term()` to `arc_available_memory()`. That kernel also
//! carries two changes to the reap zthr, as the project's `arc.c` patch
//! does: the reaper's in-flight rule (see `reap_cb_finish()`), and one reap
//! of the kmem caches after the component lowered the ceiling and the
//! adjust zthr has evicted down to it (see `reap_cb_check()`).

use zfs_tunables::arc_limits::{compute_lenient, AdminValues};
use zfs_tunables::{
    ArcTunables, Bytes, Generation as TGen, HostMemory, Hrtime, MemoryFigures, PageSize, Pages,
};

use crate::machine::{Limits, Machine, Policy, ReapZthr};
use crate::params::{ms_to_ticks, per_tick, ptob, Params, HZ, PAGESIZE};
use crate::platform::SimPlatform;
use crate::scenario::{Generation, Scenario};

fn tgen(g: Generation) -> TGen {
    match g {
        Generation::Y2021 => TGen::Y2021,
        Generation::Current => TGen::Current,
    }
}

/// The host as `arc_init()` sees it.
#[must_use]
pub fn host_memory(physmem: u64, swapfs_minfree: u64) -> HostMemory {
    HostMemory {
        physmem: Pages(physmem),
        swapfs_minfree: Pages(swapfs_minfree),
        page_size: PageSize::AMD64,
        heap: None,
    }
}

/// The limits at boot: `arc_init()` with `/etc/system` applied.
pub fn initial_limits(
    _p: &Params,
    policy: Policy,
    s: &Scenario,
    physmem: u64,
    swapfs_minfree: u64,
) -> Limits {
    let host = host_memory(physmem, swapfs_minfree);
    let gen = tgen(s.host.generation);
    if policy == Policy::Tunables {
        let t = ArcTunables::new(SimPlatform::new(), host, gen);
        return Limits::Tunables(std::sync::Arc::new(t));
    }
    let (l, _) = compute_lenient(&host, gen, &AdminValues::default());
    Limits::Own {
        c: l.c_max.0,
        c_min: l.c_min.0,
        c_max: l.c_max.0,
        p: l.c_max.0 / 2,
        meta_limit: l.meta_limit.0,
        meta_min: l.meta_min.0,
    }
}

/// Recomputes the frozen limits from `/etc/system` values (the 2021
/// kernels: `arc_init()` reads them once).
pub fn apply_boot_admin(m: &mut Machine, admin: &AdminValues) {
    let host = host_memory(m.physmem, m.swapfs_minfree);
    let gen = tgen(m.gen);
    if let Limits::Own {
        c,
        c_min,
        c_max,
        p,
        meta_limit,
        meta_min,
    } = &mut m.limits
    {
        let (l, _) = compute_lenient(&host, gen, admin);
        *c = l.c_max.0;
        *c_min = l.c_min.0;
        *c_max = l.c_max.0;
        *p = l.c_max.0 / 2;
        *meta_limit = l.meta_limit.0;
        *meta_min = l.meta_min.0;
    }
}

/// The end of `arc_init()` and of boot: `c` starts at the ARC's size (its
/// growth stopped where memory pressure left it), the dbuf caches are
/// sized from `c_max` (`dbuf_init()`).
pub fn finish_boot(m: &mut Machine) {
    let size = m.arc.size;
    let shift5 = m.p.dbuf_cache_shift;
    let shift6 = m.p.dbuf_metadata_cache_shift;
    match &mut m.limits {
        Limits::Own {
            c, c_min, c_max, p, ..
        } => {
            *c = size.clamp(*c_min, *c_max);
            *p = *c / 2;
            m.arc.dbuf_pin_max = (*c_max >> shift5) + (*c_max >> shift6);
        }
        Limits::Tunables(t) => {
            t.finish_boot();
            t.published().set_target(Bytes(size));
            let s = t.limits();
            t.published().set_p(Bytes(s.c.0 / 2));
        }
    }
    sync_platform(m);
}

/// Copies the model's clock and figures into the component's platform.
pub fn sync_platform(m: &Machine) {
    if let Limits::Tunables(t) = &m.limits {
        let ns = m.now.saturating_mul(1_000_000_000 / HZ);
        let mem = MemoryFigures {
            freemem: Pages(m.freemem()),
            lotsfree: Pages(m.lotsfree),
            desfree: Pages(m.desfree),
        };
        t.platform().set(Hrtime(ns), mem, Bytes(m.arc.size));
    }
}

/// `arc_c`.
#[must_use]
pub fn c(m: &Machine) -> u64 {
    match &m.limits {
        Limits::Own { c, .. } => *c,
        Limits::Tunables(t) => t.published().c().0,
    }
}

/// `arc_c_min`.
#[must_use]
pub fn c_min(m: &Machine) -> u64 {
    match &m.limits {
        Limits::Own { c_min, .. } => *c_min,
        Limits::Tunables(t) => t.published().c_min().0,
    }
}

/// `arc_c_max` (the effective ceiling under `tunables`).
#[must_use]
pub fn c_max(m: &Machine) -> u64 {
    match &m.limits {
        Limits::Own { c_max, .. } => *c_max,
        Limits::Tunables(t) => t.published().c_max().0,
    }
}

/// `arc_p`.
#[must_use]
pub fn p(m: &Machine) -> u64 {
    match &m.limits {
        Limits::Own { p, .. } => *p,
        Limits::Tunables(t) => t.published().p().0,
    }
}

/// `arc_meta_limit` and `arc_meta_min`.
#[must_use]
pub fn meta(m: &Machine) -> (u64, u64) {
    match &m.limits {
        Limits::Own {
            meta_limit,
            meta_min,
            ..
        } => (*meta_limit, *meta_min),
        Limits::Tunables(t) => {
            let s = t.limits();
            (s.meta_limit.0, s.meta_min.0)
        }
    }
}

/// The bytes the dbuf caches pin (at most the ARC's size).
#[must_use]
pub fn pinned(m: &Machine) -> u64 {
    let max = match &m.limits {
        Limits::Own { .. } => m.arc.dbuf_pin_max,
        Limits::Tunables(t) => {
            let s = t.limits();
            s.dbuf_cache_max.0 + s.dbuf_metadata_cache_max.0
        }
    };
    max.min(m.arc.size)
}

fn pages_i(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `arc_available_memory()`, in bytes: the smallest of its terms.
#[must_use]
pub fn arc_available_memory(m: &Machine) -> i64 {
    let ps = PAGESIZE as i64;
    let freemem = pages_i(m.freemem());
    let availrmem = pages_i(m.availrmem());
    let needfree = pages_i(m.needfree);
    let lotsfree = pages_i(m.lotsfree);
    let desfree = pages_i(m.desfree);
    let mut lowest = i64::MAX;
    if needfree > 0 {
        lowest = lowest.min(-needfree.saturating_mul(ps));
    }
    // FMR_LOTSFREE
    lowest = lowest.min((freemem - lotsfree - needfree - desfree).saturating_mul(ps));
    // FMR_SWAPFS_MINFREE
    lowest = lowest.min(
        (availrmem
            - pages_i(m.swapfs_minfree)
            - pages_i(m.swapfs_reserve)
            - desfree
            - pages_i(m.p.arc_swapfs_reserve))
        .saturating_mul(ps),
    );
    // FMR_PAGES_PP_MAXIMUM
    lowest = lowest.min(
        (availrmem - pages_i(m.pages_pp_maximum) - pages_i(m.p.arc_pages_pp_reserve))
            .saturating_mul(ps),
    );
    match &m.limits {
        Limits::Own { .. } if m.policy == Policy::Os8005 => {
            // FMR_VIRT_MACHINE: PAGESIZE * (availrmem -
            // arc_virt_machine_reserved - desfree). Guest pages already
            // allocated have left availrmem, and are still reserved:
            // counted twice.
            lowest = lowest
                .min((availrmem - pages_i(m.arc.vm_reserved_pages) - desfree).saturating_mul(ps));
        }
        Limits::Tunables(t) => {
            let term = t.headroom_term(Pages(m.freemem()), Pages(m.lotsfree), Pages(m.desfree));
            lowest = lowest.min(term);
        }
        Limits::Own { .. } => {}
    }
    lowest
}

/// `arc_reduce_target_size(to_free)`.
pub fn arc_reduce_target_size(m: &mut Machine, to_free: u64) {
    let asize = m.arc.size;
    let shift = m.p.arc_shrink_shift;
    match &mut m.limits {
        Limits::Own { c, c_min, p, .. } => {
            if *c > *c_min {
                if *c > c_min.saturating_add(to_free) {
                    *c -= to_free;
                } else {
                    *c = *c_min;
                }
                *p -= *p >> shift;
                if asize < *c {
                    *c = asize.max(*c_min);
                }
                if *p > *c {
                    *p = *c >> 1;
                }
            }
        }
        Limits::Tunables(t) => {
            t.published()
                .reduce_target(Bytes(to_free), Bytes(asize), shift);
        }
    }
    if m.arc.size > c(m) {
        m.arc.adjust_needed = true;
    }
}

/// `arc_adapt()`'s growth of `c` by an allocation of `bytes`.
fn arc_grow(m: &mut Machine, bytes: u64) {
    let window = 2 * m.p.spa_maxblocksize;
    let size = m.arc.size;
    match &mut m.limits {
        Limits::Own { c, c_max, p, .. } => {
            if *c >= *c_max {
                return;
            }
            if size > c.saturating_sub(window) {
                *c = (*c + bytes).min(*c_max);
                if *p > *c {
                    *p = *c;
                }
            }
        }
        Limits::Tunables(t) => {
            let l = t.published();
            if l.c() >= l.c_max() {
                return;
            }
            if size > l.c().0.saturating_sub(window) {
                l.grow_target(Bytes(bytes));
            }
        }
    }
}

/// `arc_is_overflowing()`: size at least `c + MAX(SPA_MAXBLOCKSIZE, c >>
/// zfs_arc_overflow_shift)`.
///
/// Under `tunables`, while a guest waits for its memory (the headroom
/// term is not `i64::MAX`), the band above `c` is one block: a reader
/// that would take the ARC further waits for the adjust zthr and reuses
/// the ARC's own memory, instead of taking free memory the guest was
/// promised (the project's patch of `arc_is_overflowing()`).
#[must_use]
pub fn arc_is_overflowing(m: &Machine) -> bool {
    let c = c(m);
    let band = match &m.limits {
        Limits::Tunables(t)
            if t.headroom_term(Pages(m.freemem()), Pages(m.lotsfree), Pages(m.desfree))
                != i64::MAX =>
        {
            0
        }
        _ => c >> m.p.zfs_arc_overflow_shift,
    };
    let overflow = m.p.spa_maxblocksize.max(band);
    m.arc.size >= c.saturating_add(overflow)
}

/// `arc_tunables_take_reap()` (the project's patch): whether a reap was
/// asked for when the ceiling dropped and the adjust zthr has finished;
/// takes the request if so.
fn tunables_take_reap(m: &mut Machine) -> bool {
    let take = m.arc.tunables_reap_wanted && !m.arc.adjust_needed;
    if take {
        m.arc.tunables_reap_wanted = false;
    }
    take
}

/// `arc_reap_cb_check()`: returns whether the callback runs.
///
/// Under `tunables` the patched check also starts the callback for one
/// reap of the kmem caches once the adjust zthr has evicted down to a
/// ceiling the component lowered, memory short or not.
fn reap_cb_check(m: &mut Machine) -> bool {
    let free = arc_available_memory(m);
    m.arc.last_free_memory = free;
    let c = c(m);
    if !m.kmem_cache_reap_active() && free < 0 {
        m.arc.no_grow = true;
        m.arc.growtime = m.now + m.p.arc_grow_retry_s * HZ;
        // This reap also serves a request whose eviction is done.
        let _ = tunables_take_reap(m);
        m.arc.reap_only = false;
        return true;
    } else if free < i64::try_from(c >> m.p.arc_no_grow_shift).unwrap_or(i64::MAX) {
        m.arc.no_grow = true;
    } else if m.now >= m.arc.growtime {
        m.arc.no_grow = false;
    }
    if !m.kmem_cache_reap_active() && tunables_take_reap(m) {
        m.arc.reap_only = true;
        return true;
    }
    false
}

/// The second half of `arc_reap_cb()`, after its one-second sleep:
/// `to_free = (c >> arc_shrink_shift) - free`, at least `ptob(needfree)`.
///
/// Under `tunables` the kernel also subtracts what is already on its way
/// to `freemem` (bytes the adjust thread will evict, `size - c`, and
/// evicted bytes waiting in kmem magazines) from `to_free`, through the
/// component's `reap_to_free()`: the headroom term is only satisfied when
/// memory reaches `freemem`, so without this the stock callback cuts `c`
/// again by the same deficit every second until the memory arrives. A
/// callback started only for the reap after a ceiling drop stops after
/// its sleep. The stock kernels keep the stock rule.
fn reap_cb_finish(m: &mut Machine) {
    if m.arc.reap_only {
        // Started only to give evicted memory back: c stays.
        m.arc.reap_only = false;
        return;
    }
    let free = arc_available_memory(m);
    m.arc.last_free_memory = free;
    let c = c(m);
    let mut to_free = i64::try_from(c >> m.p.arc_shrink_shift)
        .unwrap_or(i64::MAX)
        .saturating_sub(free);
    if let Limits::Tunables(t) = &m.limits {
        if to_free > 0 && t.headroom_term(Pages(0), Pages(0), Pages(0)) != i64::MAX {
            let in_flight = m.arc.size.saturating_sub(c).saturating_add(m.kmem.depot);
            to_free = t.reap_to_free(to_free, Bytes(in_flight));
            // `size - c` counts as in flight only if the adjust zthr is
            // asked to evict it; with nothing to cut, ask here
            // (`arc_tunables_adjust()` in the patch).
            if to_free <= 0 && m.arc.size > c {
                m.arc.adjust_needed = true;
            }
        }
    }
    if to_free > 0 {
        to_free = to_free.max(pages_i(ptob(m.needfree)));
        arc_reduce_target_size(m, u64::try_from(to_free).unwrap_or(0));
    }
}

/// One tick of the ARC's threads and of the reader.
pub fn arc_tick(m: &mut Machine) {
    sync_platform(m);
    // kick_evictor(): the component lowered c or reserved headroom. As
    // arc_tunables_evict() in the patch: the adjust zthr is woken, the
    // reap zthr is not (the tick calls the evictor with the reap zthr's
    // lock held); the reaper sees the new headroom term at its next check,
    // and a request to reap once eviction is done.
    let kicks = match &m.limits {
        Limits::Tunables(t) => t.platform().take_kicks(),
        Limits::Own { .. } => 0,
    };
    if kicks > 0 {
        if m.arc.size > c(m) {
            m.arc.adjust_needed = true;
        }
        m.arc.tunables_reap_wanted = true;
    }

    // The adjust zthr: arc_adjust() down to c, at the eviction rate, from
    // what is evictable (not pinned by cached dbufs). A stalled evictor
    // (the `evictor_stall` fault) does nothing and stays needed.
    if m.arc.adjust_needed && m.now >= m.arc.stalled_until {
        let c_now = c(m);
        let evictable = m.arc.size.saturating_sub(pinned(m));
        let want = m.arc.size.saturating_sub(c_now).min(evictable);
        let x = want.min(per_tick(m.p.evict_rate));
        m.arc.size -= x;
        m.arc.evicted_total += x;
        m.kmem_free_to_depot(x);
        if x == 0 || m.arc.size <= c_now {
            // arc_adjust_cb(): nothing more to do; wake the waiters.
            m.arc.adjust_needed = false;
            m.arc.reader_blocked = false;
        }
        if x > 0 {
            if let Limits::Tunables(t) = &m.limits {
                // Eviction progress wakes headroom waiters.
                t.notify_progress();
            }
        }
    }

    // The reap zthr.
    match m.arc.reap {
        ReapZthr::Idle { next_check } => {
            if m.arc.reap_woken || m.now >= next_check {
                m.arc.reap_woken = false;
                if reap_cb_check(m) {
                    // arc_reap_cb(): arc_kmem_reap_soon(), then sleep.
                    m.kmem_cache_reap_soon();
                    m.arc.reap = ReapZthr::Sleeping {
                        until: m.now + ms_to_ticks(m.p.arc_kmem_cache_reap_retry_ms),
                    };
                } else {
                    m.arc.reap = ReapZthr::Idle {
                        next_check: m.now + ms_to_ticks(m.p.arc_reap_zthr_interval_ms),
                    };
                }
            }
        }
        ReapZthr::Sleeping { until } => {
            if m.now >= until {
                reap_cb_finish(m);
                // The zthr checks again as soon as the callback returns.
                m.arc.reap = ReapZthr::Idle { next_check: m.now };
                m.arc.reap_woken = true;
            }
        }
    }

    // The reader: arc_get_data_impl() for each block it misses.
    if m.arc.arcfill > 0 && !m.arc.reader_blocked {
        let want = per_tick(m.arc.arcfill);
        // arc_adapt(): wake the reaper under pressure, else maybe grow.
        if arc_available_memory(m) < 0 {
            m.arc.reap_woken = true;
        } else if !m.arc.no_grow {
            arc_grow(m, want);
        }
        if arc_is_overflowing(m) {
            m.arc.adjust_needed = true;
            m.arc.reader_blocked = true;
        } else {
            let from_depot = m.kmem_alloc_from_depot(want);
            let need_pages = (want - from_depot).div_ceil(PAGESIZE);
            // KM_PUSHPAGE page creation may go down to throttlefree -
            // pageout_reserve before it sleeps.
            let floor = m.throttlefree.saturating_sub(m.pageout_reserve);
            let avail = m.freemem().saturating_sub(floor);
            let got_pages = need_pages.min(avail);
            m.take_free(got_pages);
            m.arc.size += from_depot + got_pages * PAGESIZE;
        }
    }
}

/// The OS-8005 reservation: `arc_virt_machine_reserve(pages)`, as
/// written: `newv + arc_c_min > arc_c_max` compares pages with bytes.
pub fn arc_virt_machine_reserve(m: &mut Machine, pages: u64) -> Result<(), i32> {
    let newv = m.arc.vm_reserved_pages.saturating_add(pages);
    if newv.saturating_add(c_min(m)) > c_max(m) {
        return Err(zfs_tunables::errno::ENOMEM);
    }
    m.arc.vm_reserved_pages = newv;
    m.arc.reap_woken = true;
    Ok(())
}

/// `arc_virt_machine_release(pages)`.
pub fn arc_virt_machine_release(m: &mut Machine, pages: u64) {
    m.arc.vm_reserved_pages = m.arc.vm_reserved_pages.saturating_sub(pages);
}
