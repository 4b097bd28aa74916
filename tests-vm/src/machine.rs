//! The host: memory by `::memstat` category, the VM system's thresholds
//! and counters, the ARC, the kmem layer, the pageout scanner and the
//! swapper. State is counted per category (pages or bytes), never per
//! page, so a 1 TiB host costs what a 4 GiB one does.
//!
//! Each mechanism is a method named after the illumos function it models;
//! the machine advances one clock tick (10 ms) at a time (see
//! [`Machine::tick`]).

use std::collections::VecDeque;

use zfs_tunables::ArcTunables;

use crate::params::{btopr, per_tick, Params, HZ, MIB, PAGESIZE};
use crate::platform::SimPlatform;
use crate::scenario::{Generation, Scenario};

/// Which kernel the host runs (the guest-memory policy also decides how the
/// ARC is built: its own limits, or the project's published limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// The 2021 kernel without the fix: `vm_reserve_pages()`.
    Legacy,
    /// The OS-8005 fix as it was written.
    Os8005,
    /// Current illumos: the vmm reservoir's transient path (`page_xresv`).
    Reservoir,
    /// This project: runtime tunables and headroom reservations.
    Tunables,
}

impl Policy {
    /// All four, in the order reports list them.
    pub const ALL: [Policy; 4] = [
        Policy::Legacy,
        Policy::Os8005,
        Policy::Reservoir,
        Policy::Tunables,
    ];

    /// The CLI name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Policy::Legacy => "legacy",
            Policy::Os8005 => "os8005",
            Policy::Reservoir => "reservoir",
            Policy::Tunables => "tunables",
        }
    }

    /// Parses a CLI name.
    #[must_use]
    pub fn from_name(s: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.name() == s)
    }
}

/// The ARC's limits: its own (`arc_init()` of the 2021 tree, frozen), or
/// the project's, published by `zfs-tunables`.
pub enum Limits {
    /// `arc_c`, `arc_c_min`, `arc_c_max`, `arc_p` as plain variables.
    Own {
        /// `arc_c`.
        c: u64,
        /// `arc_c_min`.
        c_min: u64,
        /// `arc_c_max`.
        c_max: u64,
        /// `arc_p`.
        p: u64,
        /// `arc_meta_limit`.
        meta_limit: u64,
        /// `arc_meta_min`.
        meta_min: u64,
    },
    /// The project's component; the ARC reads and moves `c` through it.
    Tunables(std::sync::Arc<ArcTunables<SimPlatform>>),
}

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

/// One unit of work on the single-threaded `kmem_taskq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KmemTask {
    /// `kmem_reap_start()`: every cache's `kmem_cache_reap()`. Lasts
    /// `Kernel / kmem_reap_scan_rate`; when it reaches the ARC's caches it
    /// reaps their depot within its working-set limits.
    SystemReap {
        /// Ticks of work left.
        ticks_left: u64,
    },
    /// `kmem_depot_ws_reap()` of the ARC's caches (queued by
    /// `kmem_cache_reap_soon()` or by the system reap): bytes still to
    /// return, `None` until it starts (the amount is fixed then).
    ArcWsReap {
        /// Bytes left, once started.
        bytes_left: Option<u64>,
    },
    /// `kmem_reap_done()`: arms the 15 s timer that clears `kmem_reaping`.
    ReapDone,
}

/// The kmem layer between the ARC and free memory.
#[derive(Clone, Debug, Default)]
pub struct Kmem {
    /// The taskq's queue; the head is running.
    pub queue: VecDeque<KmemTask>,
    /// `kmem_reaping`: a system-wide reap is running or was within 15 s.
    pub reaping: bool,
    /// When the 15 s timer clears `kmem_reaping`.
    pub reaping_clears_at: Option<u64>,
    /// Bytes of evicted ARC buffers in full magazines of the ARC's caches
    /// (still `ZFS File Data` pages until reaped).
    pub depot: u64,
    /// `ml_min` of those magazines, in bytes.
    pub depot_min: u64,
    /// `ml_reaplimit`, in bytes.
    pub depot_reaplimit: u64,
    /// Next `kmem_update()` (working-set refresh).
    pub next_update: u64,
    /// System-wide reaps started (for the report).
    pub system_reaps: u64,
}

/// The ARC (`arc.c`), in bytes.
#[derive(Clone, Debug, Default)]
pub struct ArcState {
    /// `arc_size`: every buffer (all `ZFS File Data`).
    pub size: u64,
    /// Bytes the dbuf caches can hold (`dbuf_cache_max_bytes` +
    /// `dbuf_metadata_cache_max_bytes`): cached dbufs hold their ARC
    /// buffers, which `arc_adjust()` cannot evict.
    pub dbuf_pin_max: u64,
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
    /// `arc_virt_machine_reserved` (OS-8005), in pages.
    pub vm_reserved_pages: u64,
    /// Bytes evicted in all.
    pub evicted_total: u64,
    /// `last_free_memory`.
    pub last_free_memory: i64,
    /// Fault (`evictor_stall`): the adjust thread evicts nothing before
    /// this tick.
    pub stalled_until: u64,
}

impl Default for ReapZthr {
    fn default() -> Self {
        ReapZthr::Idle { next_check: 0 }
    }
}

/// The whole host.
pub struct Machine {
    /// Constants.
    pub p: Params,
    /// Which kernel.
    pub policy: Policy,
    /// Current tick.
    pub now: u64,
    /// Which `arc_init()` the kernel runs.
    pub gen: Generation,

    /// `physmem`, pages.
    pub physmem: u64,
    /// `::memstat` Kernel (constant), pages.
    pub kernel: u64,
    /// Kernel pages in full magazines outside the working sets, which the
    /// next system-wide reap returns.
    pub kernel_reapable: u64,
    /// Boot pages, pages.
    pub boot: u64,
    /// Anon, pages.
    pub anon: u64,
    /// Exec and libs, pages.
    pub exec: u64,
    /// Page cache, pages.
    pub page_cache: u64,
    /// Pageable pages the scanner never finds unreferenced (the working
    /// sets of Anon, Exec and libs, Page cache).
    pub pageable_floor: u64,
    /// Free (cachelist), pages.
    pub cachelist: u64,
    /// VMM Memory, pages.
    pub vmm: u64,
    /// `availrmem` reserved by `page_resv()`/`page_xresv()` and not yet
    /// backed by created pages.
    pub resv_unbacked: u64,
    /// Anon pages swapped out with their processes.
    pub swapped_anon: u64,
    /// `needfree`, pages.
    pub needfree: u64,

    /// `lotsfree`.
    pub lotsfree: u64,
    /// `desfree`.
    pub desfree: u64,
    /// `minfree`.
    pub minfree: u64,
    /// `throttlefree`.
    pub throttlefree: u64,
    /// `pageout_reserve`.
    pub pageout_reserve: u64,
    /// `fastscan`, pages/s.
    pub fastscan: u64,
    /// `slowscan`, pages/s.
    pub slowscan: u64,
    /// `swapfs_minfree`.
    pub swapfs_minfree: u64,
    /// `swapfs_reserve`.
    pub swapfs_reserve: u64,
    /// `pages_pp_maximum`.
    pub pages_pp_maximum: u64,

    /// `avefree` (5 s).
    pub avefree: u64,
    /// `avefree30` (30 s).
    pub avefree30: u64,
    /// Pages paged out in the current second.
    pub pgout_this_sec: u64,
    /// `pgoutrate` (5 s average), pages/s.
    pub pgoutrate: u64,
    /// The scanner's pages-per-tick budget this schedpaging period.
    pub scan_budget: u64,
    /// Processes swapped out.
    pub procs_swapped: u64,
    /// LWPs swapped out (the seed's symptom).
    pub lwps_swapped: u64,
    /// Pages paged out by the scanner.
    pub pages_paged_out: u64,
    /// The lowest `freemem` seen.
    pub min_freemem: u64,

    /// The ARC.
    pub arc: ArcState,
    /// The ARC's limits.
    pub limits: Limits,
    /// The kmem layer.
    pub kmem: Kmem,
}

/// `swapfs_minfree` as `swapfs_recalc()` computes it (`swap_subr.c`):
/// 1/8 of memory, at least 2 MiB, at most 256 MiB.
#[must_use]
pub fn swapfs_minfree(physmem: u64) -> u64 {
    (physmem / 8).clamp(btopr(2 * MIB), btopr(256 * MIB))
}

impl Machine {
    /// The host at the start of a scenario, booted with `policy`'s kernel.
    pub fn new(p: Params, policy: Policy, s: &Scenario) -> Machine {
        let physmem = btopr(s.host.physmem);
        let kernel = btopr(s.host.kernel);
        let boot = btopr(s.host.boot);
        let anon = btopr(s.host.anon);
        let exec = btopr(s.host.exec);
        let page_cache = btopr(s.host.page_cache);
        let pageable = anon + exec + page_cache;
        let pageable_floor = pageable * (100 - p.pageout_reclaimable_pct.min(100)) / 100;

        // setupclock() (vm_pageout.c), looppages = total_pages = physmem.
        let looppages = physmem;
        let lotsfree = (looppages / p.lotsfree_fraction.max(1))
            .clamp(btopr(p.lotsfree_min), btopr(p.lotsfree_max));
        let desfree = lotsfree / 2;
        let minfree = 3 * desfree / 4;
        let throttlefree = minfree;
        let pageout_reserve = 3 * throttlefree / 4;
        // fastscan = MIN(looppages / loopfraction (2), maxfastscan); slowscan
        // = MIN(fastscan / 10, 100 pages/s).
        let fastscan = (looppages / 2).min(btopr(p.maxhandspread));
        let slowscan = (fastscan / 10).min(100);
        let swapfs_minfree = swapfs_minfree(physmem);
        // swapfs_reserve = MIN(128 MiB, MAX(4 MiB, physmem / 128)).
        let swapfs_reserve = (physmem / 128).clamp(btopr(4 * MIB), btopr(128 * MIB));
        // pages_pp_maximum = availrmem_initial / 25 + 4 MiB (vm_page.c).
        let availrmem_initial = physmem.saturating_sub(kernel + boot);
        let pages_pp_maximum = availrmem_initial / 25 + btopr(4 * MIB);

        let limits = crate::arc_model::initial_limits(&p, policy, s, physmem, swapfs_minfree);
        let next_update = p.kmem_reap_interval_s * HZ;
        let kernel_reapable = kernel * p.kmem_kernel_reapable_permille.min(1000) / 1000;
        let mut m = Machine {
            p,
            policy,
            now: 0,
            gen: s.host.generation,
            physmem,
            kernel,
            kernel_reapable,
            boot,
            anon,
            exec,
            page_cache,
            pageable_floor,
            cachelist: 0,
            vmm: 0,
            resv_unbacked: 0,
            swapped_anon: 0,
            needfree: 0,
            lotsfree,
            desfree,
            minfree,
            throttlefree,
            pageout_reserve,
            fastscan,
            slowscan,
            swapfs_minfree,
            swapfs_reserve,
            pages_pp_maximum,
            avefree: 0,
            avefree30: 0,
            pgout_this_sec: 0,
            pgoutrate: 0,
            scan_budget: 0,
            procs_swapped: 0,
            lwps_swapped: 0,
            pages_paged_out: 0,
            min_freemem: u64::MAX,
            arc: ArcState {
                size: s.arc_size,
                arcfill: s.arcfill,
                reap: ReapZthr::Idle { next_check: 0 },
                ..ArcState::default()
            },
            limits,
            kmem: Kmem {
                next_update,
                ..Kmem::default()
            },
        };
        // The ARC cannot start larger than what fits.
        let room = m.freemem_bytes();
        if room == 0 {
            let over = m.zfs_pages() + m.kernel + m.boot + pageable;
            let excess = over.saturating_sub(m.physmem);
            m.arc.size = m.arc.size.saturating_sub(excess * PAGESIZE);
        }
        m
    }

    /// The end of boot: the ARC's limits are final (after `/etc/system`),
    /// and the swapper's averages start at the current `freemem`.
    pub fn finish_boot(&mut self) {
        crate::arc_model::finish_boot(self);
        // The scenario's ARC stopped growing where memory pressure left
        // it: arc_reap_cb_check() set arc_no_grow and arc_growtime.
        self.arc.no_grow = true;
        self.arc.growtime = self.now + self.p.arc_grow_retry_s * HZ;
        let f = self.freemem();
        self.avefree = f;
        self.avefree30 = f;
        self.min_freemem = f;
    }

    /// Time in seconds.
    #[must_use]
    pub fn secs(&self) -> f64 {
        self.now as f64 / HZ as f64
    }

    /// `ZFS File Data` pages: the ARC's buffers and the evicted ones still
    /// in kmem magazines.
    #[must_use]
    pub fn zfs_pages(&self) -> u64 {
        btopr(self.arc.size.saturating_add(self.kmem.depot))
    }

    /// Pages in use by anything but the free lists.
    fn used(&self) -> u64 {
        self.kernel
            + self.boot
            + self.zfs_pages()
            + self.vmm
            + self.anon
            + self.exec
            + self.page_cache
            + self.cachelist
    }

    /// Free (freelist).
    #[must_use]
    pub fn freelist(&self) -> u64 {
        self.physmem.saturating_sub(self.used())
    }

    /// `freemem`: both free lists.
    #[must_use]
    pub fn freemem(&self) -> u64 {
        self.freelist() + self.cachelist
    }

    /// `freemem` in bytes.
    #[must_use]
    pub fn freemem_bytes(&self) -> u64 {
        self.freemem() * PAGESIZE
    }

    /// `availrmem`: memory that is not locked down. Kernel, boot, ARC and
    /// guest pages are locked (`page_resv()` in `segkmem_xalloc()`);
    /// reservations not yet backed by pages count too.
    #[must_use]
    pub fn availrmem(&self) -> u64 {
        self.physmem.saturating_sub(
            self.kernel + self.boot + self.zfs_pages() + self.vmm + self.resv_unbacked,
        )
    }

    /// Takes `pages` from the free lists (freelist first, then the
    /// cachelist, as `page_create_va()` does). The caller checked there
    /// were enough.
    pub fn take_free(&mut self, pages: u64) {
        let from_free = pages.min(self.freelist());
        let rest = pages - from_free;
        self.cachelist = self.cachelist.saturating_sub(rest);
    }

    /// `page_needfree(+n)`.
    pub fn needfree_add(&mut self, n: u64) {
        self.needfree = self.needfree.saturating_add(n);
    }

    /// `page_needfree(-n)`.
    pub fn needfree_sub(&mut self, n: u64) {
        self.needfree = self.needfree.saturating_sub(n);
    }

    // ---------------------------------------------------------------
    // kmem.c
    // ---------------------------------------------------------------

    /// `kmem_reap()`: a system-wide reap, unless one ran within
    /// `kmem_reap_interval` (`kmem_reap_common()`'s flag).
    pub fn kmem_reap(&mut self) {
        if self.kmem.reaping {
            return;
        }
        self.kmem.reaping = true;
        self.kmem.system_reaps += 1;
        let secs_x_hz =
            (self.kernel * PAGESIZE).saturating_mul(HZ) / self.p.kmem_reap_scan_rate.max(1);
        self.kmem.queue.push_back(KmemTask::SystemReap {
            ticks_left: secs_x_hz.max(1),
        });
        self.kmem.queue.push_back(KmemTask::ReapDone);
    }

    /// `kmem_cache_reap_active()`: the taskq has work.
    #[must_use]
    pub fn kmem_cache_reap_active(&self) -> bool {
        !self.kmem.queue.is_empty()
    }

    /// `kmem_cache_reap_soon()` on the ARC's caches: everything in their
    /// depot becomes reapable (`kmem_depot_ws_zero()`), and a reap task is
    /// queued.
    pub fn kmem_cache_reap_soon(&mut self) {
        self.kmem.depot_reaplimit = self.kmem.depot;
        self.kmem.depot_min = self.kmem.depot;
        self.kmem
            .queue
            .push_back(KmemTask::ArcWsReap { bytes_left: None });
    }

    /// Evicted buffers go back to their caches' magazines.
    pub fn kmem_free_to_depot(&mut self, bytes: u64) {
        self.kmem.depot = self.kmem.depot.saturating_add(bytes);
    }

    /// An ARC allocation takes buffers from the magazines first; returns
    /// how many bytes it got there.
    pub fn kmem_alloc_from_depot(&mut self, bytes: u64) -> u64 {
        let x = bytes.min(self.kmem.depot);
        self.kmem.depot -= x;
        self.kmem.depot_min = self.kmem.depot_min.min(self.kmem.depot);
        x
    }

    /// One tick of the kmem taskq and its timers.
    fn kmem_tick(&mut self) {
        if self.now >= self.kmem.next_update {
            // kmem_update() -> kmem_depot_ws_update().
            self.kmem.depot_reaplimit = self.kmem.depot_min;
            self.kmem.depot_min = self.kmem.depot;
            self.kmem.next_update = self.now + self.p.kmem_reap_interval_s * HZ;
        }
        if let Some(t) = self.kmem.reaping_clears_at {
            if self.now >= t {
                self.kmem.reaping = false;
                self.kmem.reaping_clears_at = None;
            }
        }
        let mut budget = per_tick(self.p.kmem_reap_rate);
        while let Some(task) = self.kmem.queue.front_mut() {
            match task {
                KmemTask::SystemReap { ticks_left } => {
                    if *ticks_left > 1 {
                        *ticks_left -= 1;
                        // hdr_recl(), the ARC header caches' reclaim
                        // callback, wakes the reap zthr when they are
                        // reaped.
                        self.arc.reap_woken = true;
                        return;
                    }
                    // Every cache has been reaped within its working set:
                    // the kernel's idle magazines are gone, and the ARC's
                    // caches' depot goes the same way.
                    self.kernel -= self.kernel_reapable.min(self.kernel);
                    self.kernel_reapable = 0;
                    *task = KmemTask::ArcWsReap { bytes_left: None };
                    return;
                }
                KmemTask::ArcWsReap { bytes_left } => {
                    let left = match bytes_left {
                        Some(b) => *b,
                        None => self.kmem.depot_reaplimit.min(self.kmem.depot_min),
                    };
                    let x = left.min(budget).min(self.kmem.depot);
                    self.kmem.depot -= x;
                    self.kmem.depot_min = self.kmem.depot_min.min(self.kmem.depot);
                    budget -= x;
                    let left = left - x;
                    if left == 0 || self.kmem.depot == 0 {
                        self.kmem.queue.pop_front();
                        if budget == 0 {
                            return;
                        }
                    } else {
                        *bytes_left = Some(left);
                        return;
                    }
                }
                KmemTask::ReapDone => {
                    self.kmem.queue.pop_front();
                    self.kmem.reaping_clears_at = Some(self.now + self.p.kmem_reap_interval_s * HZ);
                }
            }
        }
    }

    // ---------------------------------------------------------------
    // vm_pageout.c, vm_meter.c, sched.c
    // ---------------------------------------------------------------

    /// `schedpaging()`, four times a second.
    fn schedpaging(&mut self) {
        let freemem = self.freemem();
        // kmem_reapahead is 0.
        if freemem < self.lotsfree + self.needfree {
            self.kmem_reap();
        }
        if freemem < self.lotsfree + self.needfree {
            // "if we've not yet collected enough samples to calculate a
            // spread, use the old logic of kicking into high gear anytime
            // needfree is non-zero"; otherwise slowscan..fastscan by
            // vavail.
            let desscan = if self.needfree > 0 {
                self.fastscan
            } else {
                let vavail = freemem.min(self.lotsfree);
                (self.slowscan * vavail + self.fastscan * (self.lotsfree - vavail))
                    / self.lotsfree.max(1)
            };
            self.scan_budget = desscan / self.p.schedpaging_hz.max(1);
        } else {
            self.scan_budget = 0;
        }
    }

    /// The page scanner: it takes unreferenced pageable pages (pushing
    /// anonymous ones to swap) until its budget for this period is spent.
    fn pageout_scanner_tick(&mut self) {
        if self.scan_budget == 0 {
            return;
        }
        let per = (self.scan_budget * self.p.schedpaging_hz / HZ).max(1);
        let pageable = self.anon + self.exec + self.page_cache;
        let reclaimable = pageable.saturating_sub(self.pageable_floor);
        let n = per.min(reclaimable).min(self.scan_budget);
        if n == 0 {
            return;
        }
        self.scan_budget -= n;
        // Proportionally from each pageable category.
        let from_anon = n * self.anon / pageable.max(1);
        let from_exec = (n * self.exec / pageable.max(1)).min(self.exec);
        let from_pc = (n - from_anon - from_exec).min(self.page_cache);
        self.anon -= from_anon.min(self.anon);
        self.exec -= from_exec;
        self.page_cache -= from_pc;
        self.pages_paged_out += from_anon;
        self.pgout_this_sec += from_anon;
        // Freed pages keep their identity: the cachelist.
        self.cachelist += from_anon + from_exec + from_pc;
    }

    /// `vmmeter()` and `sched()`, once a second.
    fn once_a_second(&mut self) {
        let f = self.freemem();
        // ave(avefree, freemem, 5); ave(avefree30, freemem, 30).
        self.avefree = (4 * self.avefree + f) / 5;
        self.avefree30 = (29 * self.avefree30 + f) / 30;
        self.pgoutrate = (4 * self.pgoutrate + self.pgout_this_sec) / 5;
        self.pgout_this_sec = 0;
        self.sched();
    }

    /// `sched()`: the desperate hard swap (sched.c:184) and its stop rule
    /// (sched.c:404). Each process swapped out takes its LWPs and its share
    /// of Anon with it.
    fn sched(&mut self) {
        let desperate = self.p.avenrun >= 2
            && self.avefree.max(self.avefree30) < self.desfree
            && (self.pgoutrate > self.p.maxpgio || self.avefree < self.minfree);
        if !desperate {
            return;
        }
        while self.procs_swapped < self.p.swappable_procs {
            let f = self.freemem();
            if self.avefree > self.minfree || f > self.desfree {
                break;
            }
            let left = self.p.swappable_procs - self.procs_swapped;
            let rss = self.anon / left.max(1);
            self.anon -= rss;
            self.swapped_anon += rss;
            self.cachelist += rss;
            self.procs_swapped += 1;
            self.lwps_swapped += self.p.lwps_per_proc;
        }
    }

    // ---------------------------------------------------------------
    // The tick.
    // ---------------------------------------------------------------

    /// Advances the host (not the guests) by one tick.
    pub fn tick(&mut self) {
        self.now += 1;
        let sp = HZ / self.p.schedpaging_hz.max(1);
        if self.now.is_multiple_of(sp.max(1)) {
            self.schedpaging();
        }
        self.pageout_scanner_tick();
        self.kmem_tick();
        crate::arc_model::arc_tick(self);
        if self.now.is_multiple_of(HZ) {
            self.once_a_second();
        }
        let f = self.freemem();
        if f < self.min_freemem {
            self.min_freemem = f;
        }
    }

    /// Whether nothing in the host changes until something from outside
    /// does (no eviction, reaping, scanning, pressure or reader), so time
    /// can jump.
    #[must_use]
    pub fn quiescent(&self) -> bool {
        self.kmem.queue.is_empty()
            && !self.arc.adjust_needed
            && self.arc.arcfill == 0
            && self.needfree == 0
            && self.scan_budget == 0
            && self.kmem.depot == 0
            && matches!(self.arc.reap, ReapZthr::Idle { .. })
            && crate::arc_model::arc_available_memory(self) >= 0
            && self.freemem() >= self.lotsfree
            && self.avefree == self.freemem()
            && self.avefree30 == self.freemem()
            && self.pgoutrate == 0
            && self.resv_unbacked == 0
            && !self.kick_pending()
            && !self.arc.tunables_reap_wanted
    }

    /// Whether the component kicked the evictor since the last tick (an
    /// admin write or a reservation): the next tick starts eviction.
    fn kick_pending(&self) -> bool {
        match &self.limits {
            Limits::Tunables(t) => t.platform().kicks_pending(),
            Limits::Own { .. } => false,
        }
    }

    /// Jumps to tick `to` while quiescent: the timers that would have run
    /// change nothing but these.
    pub fn skip_to(&mut self, to: u64) {
        if to <= self.now {
            return;
        }
        self.now = to;
        if self.kmem.reaping_clears_at.is_some_and(|t| t <= to) {
            self.kmem.reaping = false;
            self.kmem.reaping_clears_at = None;
        }
        while self.kmem.next_update <= to {
            self.kmem.next_update += self.p.kmem_reap_interval_s * HZ;
        }
        if self.arc.no_grow && to >= self.arc.growtime {
            let free = crate::arc_model::arc_available_memory(self);
            let c = crate::arc_model::c(self);
            if free >= i64::try_from(c >> self.p.arc_no_grow_shift).unwrap_or(i64::MAX) {
                self.arc.no_grow = false;
            }
        }
        self.arc.reap = ReapZthr::Idle { next_check: to };
    }
}
