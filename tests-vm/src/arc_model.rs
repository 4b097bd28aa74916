//! The ARC (`arc.c`): `arc_available_memory()`, the reap zthr
//! (`arc_reap_cb_check()`, `arc_reap_cb()`), `arc_reduce_target_size()`,
//! the adjust zthr (`arc_adjust()`), `arc_adapt()` growth from a reader,
//! and the overflow rule of `arc_get_data_impl()`.
//!
//! [`ArcModel`] owns the ARC's threads and flags, and its limits behind
//! [`ArcLimits`](limits::ArcLimits): the stock kernels' own variables, or
//! the project's component. Its buffers are memory: their bytes are the
//! host's `arc_size` counter ([`Memory`]), which the ARC grows and
//! shrinks. Each method takes the host counters it touches.
//!
//! Under the component the ARC grows and shrinks `c` through it, reads the
//! effective ceiling from it, and adds its `headroom_term()` to
//! `arc_available_memory()`. That kernel also carries two changes to the
//! reap zthr, as the project's `arc.c` patch does: the reaper's in-flight
//! rule (see `reap_cb_finish()`), and one reap of the kmem caches after
//! the component lowered the ceiling and the adjust zthr has evicted down
//! to it (see `reap_cb_check()`). The OS-8005 kernel's ARC carries
//! `arc_virt_machine_reserved` and its `FMR_VIRT_MACHINE` term.

pub mod limits;

use crate::event::{Event, EventRecord};
use crate::host::kmem::Kmem;
use crate::host::memory::{Memory, Thresholds};
use crate::params::{ms_to_ticks, per_tick, ptob, Params, HZ, PAGESIZE};
use limits::ArcLimits;

/// The reap zthr (`arc_reap_zthr`): idle until its timer or a wake-up,
/// or inside `arc_reap_cb()`'s one-second sleep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReapZthr {
    /// Waiting; the check runs at `next_check` or when woken.
    Idle {
        /// Tick of the next timed check.
        next_check: u64,
    },
    /// In `arc_reap_cb()`, sleeping until `until`.
    Sleeping {
        /// Tick the sleep ends.
        until: u64,
    },
}

/// The ARC's state (sizes in bytes).
pub struct ArcModel {
    /// Where `c`, `c_min`, `c_max` and `p` live.
    pub limits: Box<dyn ArcLimits>,
    /// `arc_no_grow`.
    pub no_grow: bool,
    /// `arc_growtime`, in ticks.
    pub growtime: u64,
    /// `arc_adjust_needed`: the adjust zthr is evicting.
    pub adjust_needed: bool,
    /// The reader sleeps on `arc_adjust_waiters_cv`.
    pub reader_blocked: bool,
    /// The reader's rate, bytes/s.
    pub arcfill: u64,
    /// The reap zthr.
    pub reap: ReapZthr,
    /// Woken (`zthr_wakeup(arc_reap_zthr)`) since its last check.
    pub reap_woken: bool,
    /// `arc_tunables_reap_wanted` (the project's patch): the component
    /// lowered the ceiling; reap the kmem caches once eviction is done.
    pub tunables_reap_wanted: bool,
    /// `arc_reap_only`: the running `arc_reap_cb()` was started for that
    /// reap alone and leaves `c` as it is.
    pub reap_only: bool,
    /// `arc_virt_machine_reserved` (OS-8005), in pages; `None` on the
    /// kernels without it.
    pub vm_reserved_pages: Option<u64>,
    /// Bytes evicted in all.
    pub evicted_total: u64,
    /// `last_free_memory`.
    pub last_free_memory: i64,
    /// Whether the headroom term was the reason at the check that started
    /// the callback now sleeping (the patch's `arc_reap_reason`).
    pub reap_for_headroom: bool,
    /// Fault (`evictor_stall`): the adjust thread evicts nothing before
    /// this tick.
    pub stalled_until: u64,
    /// The stretches, `[from, to)` in ticks, during which
    /// `arc_is_overflowing()` held and the adjust zthr had bytes to evict:
    /// any ZFS reader or writer that needed a buffer then slept on
    /// `arc_adjust_waiters_cv` until eviction caught up (the host-wide ZFS
    /// stall a start can cause).
    pub zfs_blocked: Vec<(u64, u64)>,
    /// Since when `arc_is_overflowing()` holds, if it does.
    blocked_since: Option<u64>,
    /// The adjust zthr's current pass, when it paces a cut
    /// ([`ArcLimits::paced_cut`]): the size it evicts down to in this
    /// pass, `MAX(c, size - step)`, with `step` one tick's eviction.
    pub pass_target: Option<u64>,
    /// Bytes of ARC buffers the dbuf cache holds: dbufs without holds
    /// keep their buffers referenced, so the adjust zthr cannot evict
    /// them. Reads through the DMU release each block's dbuf into the
    /// cache, and its evict thread keeps it at `dbuf_cache_max_bytes`
    /// ([`ArcLimits::dbuf_cache_max`]). The metadata dbuf cache holds
    /// only the objects of the dataset hierarchy
    /// (`DMU_OT_IS_METADATA_CACHED`), not a file's or a volume's
    /// indirect blocks or dnodes, and the model takes it as empty.
    pub dbuf_cached: u64,
}

fn pages_i(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl ArcModel {
    /// An ARC with `limits`, a reader missing `arcfill` bytes/s.
    #[must_use]
    pub fn new(limits: Box<dyn ArcLimits>, arcfill: u64) -> ArcModel {
        ArcModel {
            limits,
            no_grow: false,
            growtime: 0,
            adjust_needed: false,
            reader_blocked: false,
            arcfill,
            reap: ReapZthr::Idle { next_check: 0 },
            reap_woken: false,
            tunables_reap_wanted: false,
            reap_only: false,
            vm_reserved_pages: None,
            evicted_total: 0,
            last_free_memory: 0,
            reap_for_headroom: false,
            stalled_until: 0,
            zfs_blocked: Vec::new(),
            blocked_since: None,
            pass_target: None,
            dbuf_cached: 0,
        }
    }

    /// The same ARC with OS-8005's `arc_virt_machine_reserve()` and its
    /// `FMR_VIRT_MACHINE` term.
    #[must_use]
    pub fn with_virt_machine_reserve(mut self) -> ArcModel {
        self.vm_reserved_pages = Some(0);
        self
    }

    /// `arc_c`.
    #[must_use]
    pub fn c(&self) -> u64 {
        self.limits.c()
    }

    /// `arc_c_min`.
    #[must_use]
    pub fn c_min(&self) -> u64 {
        self.limits.c_min()
    }

    /// `arc_c_max` (the effective ceiling under the component).
    #[must_use]
    pub fn c_max(&self) -> u64 {
        self.limits.c_max()
    }

    /// `arc_p`.
    #[must_use]
    pub fn p(&self) -> u64 {
        self.limits.p()
    }

    /// The bytes the dbuf cache pins (at most the ARC's size).
    #[must_use]
    pub fn pinned(&self, mem: &Memory) -> u64 {
        self.dbuf_cached.min(mem.arc_size)
    }

    /// The end of `arc_init()` and of boot (see
    /// [`ArcLimits::finish_boot`]); the ARC's growth stopped where memory
    /// pressure left it (`arc_reap_cb_check()` set `arc_no_grow` and
    /// `arc_growtime`).
    pub fn finish_boot(&mut self, now: u64, p: &Params, mem: &Memory, thr: &Thresholds) {
        self.limits.finish_boot(mem.arc_size, p.dbuf_cache_shift);
        // The reads that filled the ARC left their dbufs in the dbuf
        // cache, up to its limit.
        self.dbuf_cached = self.limits.dbuf_cache_max().min(mem.arc_size);
        self.sync(now, mem, thr);
        self.no_grow = true;
        self.growtime = now + p.arc_grow_retry_s * HZ;
    }

    /// Copies the clock and the memory figures to the limits' owner.
    pub fn sync(&self, now: u64, mem: &Memory, thr: &Thresholds) {
        self.limits.sync(now, mem, thr, self.pinned(mem));
    }

    /// `arc_available_memory()`, in bytes: the smallest of its terms.
    #[must_use]
    pub fn available_memory(&self, mem: &Memory, thr: &Thresholds, p: &Params) -> i64 {
        self.available_memory_and_reason(mem, thr, p).0
    }

    /// `arc_available_memory()` and whether its `last_free_reason` is
    /// the headroom term (`FMR_HEADROOM`, taken only when the term is
    /// below every other, as the patch's strict comparison does).
    fn available_memory_and_reason(
        &self,
        mem: &Memory,
        thr: &Thresholds,
        p: &Params,
    ) -> (i64, bool) {
        let ps = PAGESIZE as i64;
        let freemem = pages_i(mem.freemem());
        let availrmem = pages_i(mem.availrmem());
        let needfree = pages_i(mem.needfree);
        let lotsfree = pages_i(thr.lotsfree);
        let desfree = pages_i(thr.desfree);
        let mut lowest = i64::MAX;
        if needfree > 0 {
            lowest = lowest.min(-needfree.saturating_mul(ps));
        }
        // FMR_LOTSFREE
        lowest = lowest.min((freemem - lotsfree - needfree - desfree).saturating_mul(ps));
        // FMR_SWAPFS_MINFREE
        lowest = lowest.min(
            (availrmem
                - pages_i(thr.swapfs_minfree)
                - pages_i(thr.swapfs_reserve)
                - desfree
                - pages_i(p.arc_swapfs_reserve))
            .saturating_mul(ps),
        );
        // FMR_PAGES_PP_MAXIMUM
        lowest = lowest.min(
            (availrmem - pages_i(thr.pages_pp_maximum) - pages_i(p.arc_pages_pp_reserve))
                .saturating_mul(ps),
        );
        if let Some(reserved) = self.vm_reserved_pages {
            // FMR_VIRT_MACHINE: PAGESIZE * (availrmem -
            // arc_virt_machine_reserved - desfree). Guest pages already
            // allocated have left availrmem, and are still reserved:
            // counted twice.
            lowest = lowest.min((availrmem - pages_i(reserved) - desfree).saturating_mul(ps));
        }
        // The component's headroom term (i64::MAX when there is none).
        let headroom = self.limits.headroom_term(mem, thr);
        (lowest.min(headroom), headroom < lowest)
    }

    /// `arc_reduce_target_size(to_free)`.
    pub fn reduce_target_size(&mut self, to_free: u64, mem: &Memory, p: &Params) {
        self.limits
            .reduce_target(to_free, mem.arc_size, p.arc_shrink_shift);
        if mem.arc_size > self.c() {
            self.adjust_needed = true;
            self.start_pass(mem);
        }
    }

    /// `arc_tunables_evict()` (the project's patch), on a kick: when the
    /// headroom term shows a deficit beyond what is already on its way to
    /// `freemem` (`size - c` for the adjust zthr, evicted bytes in kmem
    /// magazines), `c` is lowered by the rest at once, as the reaper would
    /// lower it after its next check and its one-second sleep. The guest's
    /// memory then comes out of `c`, not out of the overflow band a reader
    /// may be filling.
    ///
    /// The first cut after a reservation also counts as not in flight
    /// the float of a reader that held the ARC above the target the
    /// reservation found: what it keeps circulating between the ARC and
    /// the depots never reaches `freemem`.
    ///
    /// The arithmetic is zfs-tunables' `ArcTunables::headroom_cut()`,
    /// which the kernel module exports as `arctun_arc_headroom_cut()`: one
    /// rule for both.
    fn cut_for_headroom(&mut self, mem: &Memory, thr: &Thresholds, p: &Params) {
        let term = self.limits.headroom_term(mem, thr);
        let cut = self
            .limits
            .headroom_cut(term, mem.arc_size, self.c(), mem.arc_depot);
        if cut > 0 {
            self.reduce_target_size(cut, mem, p);
        }
    }

    /// `c` dropped below the size: under a paced cut the first pass starts
    /// where the ARC is, so no reader waits before eviction begins.
    fn start_pass(&mut self, mem: &Memory) {
        if self.limits.paced_cut() && self.pass_target.is_none() {
            self.pass_target = Some(mem.arc_size);
        }
    }

    /// `arc_adapt()`'s growth of `c` by an allocation of `bytes`.
    fn grow(&mut self, bytes: u64, mem: &Memory, p: &Params) {
        let window = 2 * p.spa_maxblocksize;
        let c = self.c();
        if c >= self.c_max() {
            return;
        }
        if mem.arc_size > c.saturating_sub(window) {
            self.limits.grow_target(bytes);
        }
    }

    /// `arc_is_overflowing()`: size at least `c + MAX(SPA_MAXBLOCKSIZE, c >>
    /// zfs_arc_overflow_shift)`.
    ///
    /// Under the component, while a guest waits for its memory (the
    /// headroom term is not `i64::MAX`), the band above `c` is one block:
    /// a reader that would take the ARC further waits for the adjust zthr
    /// and reuses the ARC's own memory, instead of taking free memory the
    /// guest was promised (the project's patch of `arc_is_overflowing()`).
    #[must_use]
    pub fn is_overflowing(&self, mem: &Memory, thr: &Thresholds, p: &Params) -> bool {
        // A paced cut: readers compare with the pass's target.
        let c = match self.pass_target {
            Some(t) if self.adjust_needed => self.c().max(t),
            _ => self.c(),
        };
        // Paced, the band closes only while the deficit is real (the
        // headroom term is negative): a reader then takes no free memory a
        // guest was promised; otherwise it keeps the stock band.
        let term = self.limits.headroom_term(mem, thr);
        let waiting = if self.limits.paced_cut() {
            term < 0
        } else {
            term != i64::MAX
        };
        let band = if waiting {
            0
        } else {
            c >> p.zfs_arc_overflow_shift
        };
        let overflow = p.spa_maxblocksize.max(band);
        mem.arc_size >= c.saturating_add(overflow)
    }

    /// `arc_tunables_take_reap()` (the project's patch): whether a reap was
    /// asked for when the ceiling dropped and the adjust zthr has finished;
    /// takes the request if so.
    fn take_tunables_reap(&mut self) -> bool {
        let take = self.tunables_reap_wanted && !self.adjust_needed;
        if take {
            self.tunables_reap_wanted = false;
        }
        take
    }

    /// `arc_reap_cb_check()`: returns whether the callback runs.
    ///
    /// Under the component the patched check also starts the callback for
    /// one reap of the kmem caches once the adjust zthr has evicted down
    /// to a ceiling the component lowered, memory short or not.
    fn reap_cb_check(
        &mut self,
        now: u64,
        p: &Params,
        mem: &Memory,
        thr: &Thresholds,
        kmem: &Kmem,
    ) -> bool {
        let (free, headroom_is_reason) = self.available_memory_and_reason(mem, thr, p);
        self.last_free_memory = free;
        let c = self.c();
        if !kmem.cache_reap_active() && free < 0 {
            self.reap_for_headroom = headroom_is_reason;
            self.no_grow = true;
            self.growtime = now + p.arc_grow_retry_s * HZ;
            // This reap also serves a request whose eviction is done.
            let _ = self.take_tunables_reap();
            self.reap_only = false;
            return true;
        } else if free < i64::try_from(c >> p.arc_no_grow_shift).unwrap_or(i64::MAX) {
            self.no_grow = true;
        } else if now >= self.growtime {
            self.no_grow = false;
        }
        if !kmem.cache_reap_active() && self.take_tunables_reap() {
            self.reap_only = true;
            return true;
        }
        false
    }

    /// The second half of `arc_reap_cb()`, after its one-second sleep:
    /// `to_free = (c >> arc_shrink_shift) - free`, at least `ptob(needfree)`.
    ///
    /// Under the component, while headroom is pending, `to_free` is the
    /// component's `reap_to_free()`: the headroom deficit without the
    /// `c >> arc_shrink_shift` slack when the headroom term is the reason,
    /// less what is already on its way to `freemem` (bytes the adjust
    /// thread will evict, `size - c`, and, while the last pass's are seen
    /// arriving, evicted bytes waiting in kmem magazines): the headroom term is only
    /// satisfied when memory reaches `freemem`, so without this the stock
    /// callback cuts `c` again by the same deficit every second until the
    /// memory arrives. A callback started only for the reap after a
    /// ceiling drop stops after its sleep. The stock kernels keep the
    /// stock rule.
    fn reap_cb_finish(&mut self, p: &Params, mem: &Memory, thr: &Thresholds) {
        if self.reap_only {
            // Started only to give evicted memory back: c stays.
            self.reap_only = false;
            return;
        }
        let (free, reason_now) = self.available_memory_and_reason(mem, thr, p);
        self.last_free_memory = free;
        let c = self.c();
        let mut to_free = i64::try_from(c >> p.arc_shrink_shift)
            .unwrap_or(i64::MAX)
            .saturating_sub(free);
        let headroom_is_reason = std::mem::take(&mut self.reap_for_headroom) || reason_now;
        if to_free > 0 && (headroom_is_reason || self.limits.headroom_pending()) {
            to_free = self.limits.reap_to_free(
                to_free,
                free,
                headroom_is_reason,
                mem.arc_size.saturating_sub(c),
                mem.arc_depot,
            );
            // `size - c` counts as in flight only if the adjust zthr is
            // asked to evict it; with nothing to cut, ask here
            // (`arc_tunables_adjust()` in the patch).
            if to_free <= 0 && mem.arc_size > c {
                self.adjust_needed = true;
            }
        }
        if to_free > 0 {
            to_free = to_free.max(pages_i(ptob(mem.needfree)));
            self.reduce_target_size(u64::try_from(to_free).unwrap_or(0), mem, p);
        }
    }

    /// One tick of the ARC's threads and of the reader.
    pub fn tick(
        &mut self,
        now: u64,
        p: &Params,
        mem: &mut Memory,
        thr: &Thresholds,
        kmem: &mut Kmem,
    ) {
        // dbuf_evict_thread() keeps the dbuf cache at its limit, which
        // under the component follows the ARC's ceiling: a dbuf it evicts
        // drops its hold, and the buffer becomes evictable.
        self.dbuf_cached = self.dbuf_cached.min(self.limits.dbuf_cache_max());
        self.sync(now, mem, thr);
        // kick_evictor(): the component lowered c or reserved headroom. As
        // arc_tunables_evict() in the patch: the adjust zthr is woken, the
        // reap zthr is not (the tick calls the evictor with the reap
        // zthr's lock held); the reaper sees the new headroom term at its
        // next check, and a request to reap once eviction is done.
        if self.limits.take_kicks() > 0 {
            self.cut_for_headroom(mem, thr, p);
            if mem.arc_size > self.c() {
                self.adjust_needed = true;
                self.start_pass(mem);
            }
            self.tunables_reap_wanted = true;
        }

        // The adjust zthr: arc_adjust() down to c, at the eviction rate,
        // from what is evictable (not pinned by cached dbufs). A stalled
        // evictor (the `evictor_stall` fault) does nothing and stays
        // needed.
        if self.adjust_needed && now >= self.stalled_until {
            let c_now = self.c();
            let step = per_tick(p.evict_rate);
            let paced = self.limits.paced_cut();
            // A paced cut: this pass evicts down to MAX(c, size - step),
            // and readers compare with that target, not with c.
            let target = if paced {
                c_now.max(mem.arc_size.saturating_sub(step))
            } else {
                c_now
            };
            let evictable = mem.arc_size.saturating_sub(self.pinned(mem));
            let want = mem.arc_size.saturating_sub(target).min(evictable);
            let x = want.min(step);
            mem.arc_size -= x;
            self.evicted_total += x;
            Kmem::free_to_depot(mem, x);
            if x == 0 || mem.arc_size <= c_now {
                // arc_adjust_cb(): nothing more to do; wake the waiters.
                self.adjust_needed = false;
                self.reader_blocked = false;
                self.pass_target = None;
                // The patched arc_adjust_cb(): the pass a lowered ceiling
                // asked for is done, so the adjust zthr reaps the ARC's
                // kmem caches itself; the reap zthr may be in its
                // callback's one-second delay() and would leave the
                // evicted buffers in the depots until its next check.
                if !kmem.cache_reap_active() && self.take_tunables_reap() {
                    kmem.cache_reap_soon(mem.arc_depot);
                }
            } else if paced {
                // The pass is done: its waiters wake, the next pass's
                // target is where this one ended.
                self.reader_blocked = false;
                self.pass_target = Some(mem.arc_size);
            }
            if x > 0 {
                // Eviction progress wakes headroom waiters.
                self.limits.notify_progress();
            }
        }

        // The reap zthr.
        match self.reap {
            ReapZthr::Idle { next_check } => {
                if self.reap_woken || now >= next_check {
                    self.reap_woken = false;
                    if self.reap_cb_check(now, p, mem, thr, kmem) {
                        // arc_reap_cb(): arc_kmem_reap_soon(), then sleep.
                        kmem.cache_reap_soon(mem.arc_depot);
                        self.reap = ReapZthr::Sleeping {
                            until: now + ms_to_ticks(p.arc_kmem_cache_reap_retry_ms),
                        };
                    } else {
                        self.reap = ReapZthr::Idle {
                            next_check: now + ms_to_ticks(p.arc_reap_zthr_interval_ms),
                        };
                    }
                }
            }
            ReapZthr::Sleeping { until } => {
                if now >= until {
                    self.reap_cb_finish(p, mem, thr);
                    // The zthr checks again as soon as the callback returns.
                    self.reap = ReapZthr::Idle { next_check: now };
                    self.reap_woken = true;
                }
            }
        }

        // The reader: arc_get_data_impl() for each block it misses.
        if self.arcfill > 0 && !self.reader_blocked {
            let want = per_tick(self.arcfill);
            // arc_adapt(): wake the reaper under pressure, else maybe grow.
            if self.available_memory(mem, thr, p) < 0 {
                self.reap_woken = true;
            } else if !self.no_grow {
                self.grow(want, mem, p);
            }
            // Paced, a reader that finds the ARC above c with no pass
            // running starts one where the ARC is: it waits only if it
            // outruns the passes, not for the whole way down to c.
            if self.limits.paced_cut() && self.pass_target.is_none() && mem.arc_size > self.c() {
                self.adjust_needed = true;
                self.start_pass(mem);
            }
            if self.is_overflowing(mem, thr, p) {
                self.adjust_needed = true;
                self.reader_blocked = true;
            } else {
                let from_depot = kmem.alloc_from_depot(mem, want);
                let need_pages = (want - from_depot).div_ceil(PAGESIZE);
                // KM_PUSHPAGE page creation may go down to throttlefree -
                // pageout_reserve before it sleeps.
                let floor = thr.throttlefree.saturating_sub(thr.pageout_reserve);
                let avail = mem.freemem().saturating_sub(floor);
                let got_pages = need_pages.min(avail);
                mem.take_free(got_pages);
                let read = from_depot + got_pages * PAGESIZE;
                mem.arc_size += read;
                // Each block read leaves its dbuf in the dbuf cache, whose
                // buffers are the ARC's.
                self.dbuf_cached = self
                    .dbuf_cached
                    .saturating_add(read)
                    .min(self.limits.dbuf_cache_max())
                    .min(mem.arc_size);
            }
        }
        self.note_blocking(now, mem, thr, p);
    }

    /// Records whether an allocation made now would wait for eviction:
    /// the ARC overflows and the adjust zthr has something to evict (with
    /// nothing evictable above `c`, `arc_adjust_cb()` wakes the waiters at
    /// once).
    fn note_blocking(&mut self, now: u64, mem: &Memory, thr: &Thresholds, p: &Params) {
        let evictable = mem.arc_size.saturating_sub(self.pinned(mem));
        let to_evict = mem.arc_size.saturating_sub(self.c()).min(evictable);
        let over = to_evict > 0 && self.is_overflowing(mem, thr, p);
        match (over, self.blocked_since) {
            (true, None) => self.blocked_since = Some(now),
            (false, Some(from)) => {
                self.zfs_blocked.push((from, now));
                self.blocked_since = None;
            }
            _ => {}
        }
    }

    /// The stretches during which ZFS allocations waited for eviction, up
    /// to tick `now` (an open one ends at `now`).
    #[must_use]
    pub fn zfs_blocked_until(&self, now: u64) -> Vec<(u64, u64)> {
        let mut v = self.zfs_blocked.clone();
        if let Some(from) = self.blocked_since {
            v.push((from, now));
        }
        v
    }

    /// The `evictor_stall` fault: the adjust thread evicts nothing for
    /// `ticks` from `now`.
    pub fn stall_evictor(&mut self, now: u64, ticks: u64) -> EventRecord {
        self.stalled_until = now.saturating_add(ticks);
        EventRecord::done(
            now,
            Event::EvictorStall { ticks },
            format!(
                "the ARC's adjust thread evicts nothing until {:.2} s",
                self.stalled_until as f64 / HZ as f64
            ),
        )
    }

    /// The scenario's `arcfill`: the reader now misses `rate` bytes/s (0
    /// stops it), and is no longer blocked.
    pub fn set_arcfill(&mut self, now: u64, rate: u64) -> EventRecord {
        self.arcfill = rate;
        self.reader_blocked = false;
        EventRecord::done(
            now,
            Event::Arcfill { rate },
            if rate == 0 {
                "reader stopped".to_string()
            } else {
                format!("reader at {rate} bytes/s")
            },
        )
    }

    /// Whether the ARC changes nothing until something from outside does:
    /// no eviction, reader, reap or pressure, no kick or reap request
    /// waiting.
    #[must_use]
    pub fn quiescent(&self, mem: &Memory, thr: &Thresholds, p: &Params) -> bool {
        !self.adjust_needed
            && self.arcfill == 0
            && matches!(self.reap, ReapZthr::Idle { .. })
            && self.available_memory(mem, thr, p) >= 0
            && !self.limits.kicks_pending()
            && !self.tunables_reap_wanted
    }

    /// Jumps to tick `to` while quiescent: `arc_no_grow` clears if its
    /// time has come and memory allows, and the reap zthr checks next at
    /// `to`.
    pub fn skip_to(&mut self, to: u64, mem: &Memory, thr: &Thresholds, p: &Params) {
        if self.no_grow && to >= self.growtime {
            let free = self.available_memory(mem, thr, p);
            if free >= i64::try_from(self.c() >> p.arc_no_grow_shift).unwrap_or(i64::MAX) {
                self.no_grow = false;
            }
        }
        self.reap = ReapZthr::Idle { next_check: to };
    }

    /// The OS-8005 reservation: `arc_virt_machine_reserve(pages)`, as
    /// written: `newv + arc_c_min > arc_c_max` compares pages with bytes.
    /// `ENOTSUP` on an ARC without it.
    pub fn virt_machine_reserve(&mut self, pages: u64) -> Result<(), i32> {
        let Some(reserved) = self.vm_reserved_pages else {
            return Err(zfs_tunables::errno::ENOTSUP);
        };
        let newv = reserved.saturating_add(pages);
        if newv.saturating_add(self.c_min()) > self.c_max() {
            return Err(zfs_tunables::errno::ENOMEM);
        }
        self.vm_reserved_pages = Some(newv);
        self.reap_woken = true;
        Ok(())
    }

    /// `arc_virt_machine_release(pages)`.
    pub fn virt_machine_release(&mut self, pages: u64) {
        if let Some(reserved) = &mut self.vm_reserved_pages {
            *reserved = reserved.saturating_sub(pages);
        }
    }
}
