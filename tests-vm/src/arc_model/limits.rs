//! Where the ARC's limits live, behind one trait: the stock kernels' own
//! variables ([`StockLimits`], `arc_init()` of the 2021 tree, frozen after
//! boot), or the project's component ([`TunablesLimits`], published by
//! `zfs-tunables` and changed at runtime).
//!
//! The trait also carries what the project's `arc.c` patch adds where the
//! ARC meets its limits: the headroom term of `arc_available_memory()`,
//! the reaper's in-flight rule, the component's evictor kicks and its
//! progress wake-ups. The stock implementation has none of them: its
//! headroom term is `i64::MAX` (no term), it subtracts nothing in flight,
//! it never kicks.

use std::sync::Arc;

use zfs_tunables::arc_limits::{compute_lenient, AdminValues};
use zfs_tunables::{
    AdmissionFigures, ArcTunables, Bytes, Generation as TGen, HostMemory, Hrtime, MemoryFigures,
    PageSize, Pages,
};

use crate::host::memory::{Memory, Thresholds};
use crate::params::HZ;
use crate::platform::SimPlatform;
use crate::scenario::Generation;

/// The `zfs-tunables` name of a scenario's `arc_init()` generation.
#[must_use]
pub fn tunables_generation(g: Generation) -> TGen {
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

/// The ARC's limits and the kernel's hooks around them (bytes).
pub trait ArcLimits {
    /// `arc_c`.
    fn c(&self) -> u64;
    /// `arc_c_min`.
    fn c_min(&self) -> u64;
    /// `arc_c_max` (the effective ceiling under the component).
    fn c_max(&self) -> u64;
    /// `arc_p`.
    fn p(&self) -> u64;
    /// `arc_meta_limit` and `arc_meta_min`.
    fn meta(&self) -> (u64, u64);
    /// Bytes the dbuf cache may hold (`dbuf_cache_max_bytes`), the
    /// target its evict thread trims it to.
    fn dbuf_cache_max(&self) -> u64;
    /// The end of `arc_init()` and of boot: `c` starts at the ARC's size
    /// (its growth stopped where memory pressure left it), and the dbuf
    /// cache is sized from `c_max` (`dbuf_init()`, the shift from
    /// `Params`).
    fn finish_boot(&mut self, size: u64, dbuf_cache_shift: u32);
    /// `arc_reduce_target_size(to_free)` on an ARC of `asize` bytes.
    fn reduce_target(&mut self, to_free: u64, asize: u64, shrink_shift: u32);
    /// `arc_adapt()`'s growth of `c` by `bytes` (the caller checked the
    /// ARC is below `c_max` and near `c`).
    fn grow_target(&mut self, bytes: u64);
    /// The component's term of `arc_available_memory()` for the host's
    /// `freemem`, `lotsfree` and `desfree`, or for `availrmem` above the
    /// ARC's floor there if that is smaller (the patch's `arc_headroom()`),
    /// bytes; `i64::MAX` when there is none (no headroom pending, or a
    /// stock kernel).
    fn headroom_term(&self, mem: &Memory, thr: &Thresholds) -> i64;
    /// Whether headroom is pending (a guest waits for its memory).
    fn headroom_pending(&self) -> bool;
    /// The reaper's `to_free` while headroom is pending: the deficit
    /// `-free_memory` if the headroom term is the reason, else `to_free`,
    /// less what is on its way to `freemem`: `to_evict` (`size - c`) and
    /// the depots while the last pass's are seen arriving (the patch's
    /// `reap_to_free()`; the stock rule keeps `to_free`).
    fn reap_to_free(
        &self,
        to_free: i64,
        free_memory: i64,
        headroom_is_reason: bool,
        to_evict: u64,
        depots: u64,
    ) -> i64;
    /// How far the kick lowers `c` at once for the headroom term
    /// `headroom_term`, an ARC of `size` bytes with target `c` and
    /// `depots` bytes in its kmem caches' depots (the patch's
    /// `arctun_arc_headroom_cut()`, which also counts a reader's float
    /// once after a reservation); 0 for the stock kernels.
    fn headroom_cut(&self, headroom_term: i64, size: u64, c: u64, depots: u64) -> u64;
    /// Takes the evictor kicks made since the last call (admin writes,
    /// reservations).
    fn take_kicks(&self) -> u64;
    /// Whether kicks wait for the next tick.
    fn kicks_pending(&self) -> bool;
    /// Eviction made progress: wake headroom waiters.
    fn notify_progress(&self);
    /// Copies the clock (tick `now`) and the memory figures to where the
    /// limits' owner reads them.
    fn sync(&self, now: u64, mem: &Memory, thr: &Thresholds, pinned: u64);
    /// Whether the adjust zthr evicts a cut of `c` in passes, readers
    /// waiting only for the pass (the project's `arc.c`); the stock
    /// kernels make every reader wait for the whole cut.
    fn paced_cut(&self) -> bool {
        false
    }
}

/// The stock kernels' limits: `arc_c`, `arc_c_min`, `arc_c_max`, `arc_p`
/// as plain variables, computed once by `arc_init()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockLimits {
    c: u64,
    c_min: u64,
    c_max: u64,
    p: u64,
    meta_limit: u64,
    meta_min: u64,
    dbuf_cache_max: u64,
}

impl StockLimits {
    /// `arc_init()` on `host` with the `/etc/system` values `admin`.
    #[must_use]
    pub fn arc_init(host: &HostMemory, gen: Generation, admin: &AdminValues) -> StockLimits {
        let (l, _) = compute_lenient(host, tunables_generation(gen), admin);
        StockLimits {
            c: l.c_max.0,
            c_min: l.c_min.0,
            c_max: l.c_max.0,
            p: l.c_max.0 / 2,
            meta_limit: l.meta_limit.0,
            meta_min: l.meta_min.0,
            dbuf_cache_max: 0,
        }
    }
}

impl ArcLimits for StockLimits {
    fn c(&self) -> u64 {
        self.c
    }

    fn c_min(&self) -> u64 {
        self.c_min
    }

    fn c_max(&self) -> u64 {
        self.c_max
    }

    fn p(&self) -> u64 {
        self.p
    }

    fn meta(&self) -> (u64, u64) {
        (self.meta_limit, self.meta_min)
    }

    fn dbuf_cache_max(&self) -> u64 {
        self.dbuf_cache_max
    }

    fn finish_boot(&mut self, size: u64, dbuf_cache_shift: u32) {
        self.c = size.clamp(self.c_min, self.c_max);
        self.p = self.c / 2;
        self.dbuf_cache_max = self.c_max >> dbuf_cache_shift;
    }

    fn reduce_target(&mut self, to_free: u64, asize: u64, shrink_shift: u32) {
        if self.c > self.c_min {
            if self.c > self.c_min.saturating_add(to_free) {
                self.c -= to_free;
            } else {
                self.c = self.c_min;
            }
            self.p -= self.p >> shrink_shift;
            if asize < self.c {
                self.c = asize.max(self.c_min);
            }
            if self.p > self.c {
                self.p = self.c >> 1;
            }
        }
    }

    fn grow_target(&mut self, bytes: u64) {
        self.c = (self.c + bytes).min(self.c_max);
        if self.p > self.c {
            self.p = self.c;
        }
    }

    fn headroom_term(&self, _: &Memory, _: &Thresholds) -> i64 {
        i64::MAX
    }

    fn headroom_pending(&self) -> bool {
        false
    }

    fn reap_to_free(&self, to_free: i64, _: i64, _: bool, _: u64, _: u64) -> i64 {
        to_free
    }

    fn headroom_cut(&self, _: i64, _: u64, _: u64, _: u64) -> u64 {
        0
    }

    fn take_kicks(&self) -> u64 {
        0
    }

    fn kicks_pending(&self) -> bool {
        false
    }

    fn notify_progress(&self) {}

    fn sync(&self, _: u64, _: &Memory, _: &Thresholds, _: u64) {}
}

/// The project's limits: the ARC reads and moves `c` through the
/// component's published limits.
pub struct TunablesLimits {
    component: Arc<ArcTunables<SimPlatform>>,
    /// `arc_pages_pp_reserve`, pages: with `pages_pp_maximum`, the part of
    /// `availrmem` the ARC keeps untouched.
    pages_pp_reserve: u64,
    /// Whether the kernel's `arc.c` paces a cut ([`ArcLimits::paced_cut`]).
    paced: bool,
}

impl TunablesLimits {
    /// The ARC's view of `component`, on a kernel whose ARC keeps
    /// `pages_pp_reserve` pages of `availrmem` above `pages_pp_maximum`
    /// and paces a cut of `c` if `paced`.
    #[must_use]
    pub fn new(
        component: Arc<ArcTunables<SimPlatform>>,
        pages_pp_reserve: u64,
        paced: bool,
    ) -> TunablesLimits {
        TunablesLimits {
            component,
            pages_pp_reserve,
            paced,
        }
    }

    /// `pages_pp_maximum + arc_pages_pp_reserve`: the `availrmem` the ARC
    /// keeps untouched, for the headroom term and for admission alike.
    fn availrmem_floor(&self, thr: &Thresholds) -> Pages {
        Pages(thr.pages_pp_maximum.saturating_add(self.pages_pp_reserve))
    }
}

impl ArcLimits for TunablesLimits {
    fn c(&self) -> u64 {
        self.component.published().c().0
    }

    fn c_min(&self) -> u64 {
        self.component.published().c_min().0
    }

    fn c_max(&self) -> u64 {
        self.component.published().c_max().0
    }

    fn p(&self) -> u64 {
        self.component.published().p().0
    }

    fn meta(&self) -> (u64, u64) {
        let s = self.component.limits();
        (s.meta_limit.0, s.meta_min.0)
    }

    fn dbuf_cache_max(&self) -> u64 {
        self.component.limits().dbuf_cache_max.0
    }

    fn finish_boot(&mut self, size: u64, _: u32) {
        let t = &self.component;
        t.finish_boot();
        t.published().set_target(Bytes(size));
        let s = t.limits();
        t.published().set_p(Bytes(s.c.0 / 2));
    }

    fn reduce_target(&mut self, to_free: u64, asize: u64, shrink_shift: u32) {
        self.component
            .published()
            .reduce_target(Bytes(to_free), Bytes(asize), shrink_shift);
    }

    fn grow_target(&mut self, bytes: u64) {
        self.component.published().grow_target(Bytes(bytes));
    }

    fn headroom_term(&self, mem: &Memory, thr: &Thresholds) -> i64 {
        // The patch's arc_headroom(): the smaller of the two halves.
        let free = self.component.headroom_term(
            Pages(mem.freemem()),
            Pages(thr.lotsfree),
            Pages(thr.desfree),
        );
        let locked = self
            .component
            .headroom_term_availrmem(Pages(mem.availrmem()), self.availrmem_floor(thr));
        free.min(locked)
    }

    fn headroom_pending(&self) -> bool {
        self.component.headroom_term(Pages(0), Pages(0), Pages(0)) != i64::MAX
    }

    fn reap_to_free(
        &self,
        to_free: i64,
        free_memory: i64,
        headroom_is_reason: bool,
        to_evict: u64,
        depots: u64,
    ) -> i64 {
        self.component.reap_to_free(
            to_free,
            free_memory,
            headroom_is_reason,
            Bytes(to_evict),
            Bytes(depots),
        )
    }

    fn headroom_cut(&self, headroom_term: i64, size: u64, c: u64, depots: u64) -> u64 {
        self.component
            .headroom_cut(headroom_term, Bytes(size), Bytes(c), Bytes(depots))
            .0
    }

    fn take_kicks(&self) -> u64 {
        self.component.platform().take_kicks()
    }

    fn kicks_pending(&self) -> bool {
        self.component.platform().kicks_pending()
    }

    fn notify_progress(&self) {
        self.component.notify_progress();
    }

    fn paced_cut(&self) -> bool {
        self.paced
    }

    fn sync(&self, now: u64, mem: &Memory, thr: &Thresholds, pinned: u64) {
        let ns = now.saturating_mul(1_000_000_000 / HZ);
        let figures = MemoryFigures {
            freemem: Pages(mem.freemem()),
            lotsfree: Pages(thr.lotsfree),
            desfree: Pages(thr.desfree),
        };
        let platform = self.component.platform();
        platform.set(Hrtime(ns), figures, Bytes(mem.arc_size));
        // What the module's ARC hook reads for admission: the dbuf cache's
        // buffers are referenced, so never evictable.
        platform.set_admission(AdmissionFigures {
            availrmem: Pages(mem.availrmem()),
            availrmem_floor: self.availrmem_floor(thr),
            arc_evictable: Bytes(mem.arc_size - pinned),
            arc_evicted_cached: Bytes(mem.arc_depot),
        });
    }
}
