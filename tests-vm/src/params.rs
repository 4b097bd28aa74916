//! Every constant the model uses, named, with its default and its source.
//!
//! The table in `MODEL.md` lists the same constants; a unit test keeps the
//! two in step (every field name below appears in the table).
//!
//! Sources are illumos-joyent at the OS-8005 fix (the 2021 tree) unless
//! noted; "seed" means the OS-8005 bug report the project was created from,
//! "assumption" means the source gives no number and the default is ours.

/// Clock ticks per second: illumos's `hz` (`clock.c`, 100 on amd64). The
/// simulator steps in ticks, so every timer below is exact to 10 ms.
pub const HZ: u64 = 100;
/// `PAGESIZE` on amd64.
pub const PAGESIZE: u64 = 4096;
/// One mebibyte.
pub const MIB: u64 = 1 << 20;
/// One gibibyte.
pub const GIB: u64 = 1 << 30;

/// The scanner's flat-out rate, pages/s (see `Params::pageout_scan_rate`).
pub const PAGEOUT_SCAN_RATE: u64 = 12_000_000;

/// The model's constants. `Params::default()` is the illumos 2021 tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    // ----- rates (parameters of the hardware, not of the source) -----
    /// ARC eviction throughput, bytes/s (`arc_adjust()` in the adjust
    /// zthr). Seed: "it did take about 3 seconds for the ARC to empty
    /// sufficiently" for ~60 GB, on illumos. The published figures
    /// (1.4 to 2 GB/s for one evict thread, openzfs/zfs #12397; up to
    /// 6.5 GB/s with many readers, #17970) were measured on OpenZFS for
    /// Linux and FreeBSD; the seed is the only figure from illumos, whose
    /// `arc_adjust()` hands evicted buffers back to kmem caches instead
    /// of freeing their pages (the model returns them to the free lists
    /// at `kmem_reap_rate`). The model keeps the seed's figure. Scenario
    /// key `[sim] evict_rate`.
    pub evict_rate: u64,
    /// Guest memory allocation throughput, bytes/s (page creation and
    /// zeroing of a transient guest: `vm_object_clear()`,
    /// `vmmr_alloc_pages()`): about 400 ms per GiB, 2.5 GiB/s
    /// (TritonDataCenter/rshyve, docs/features.md). Scenario key
    /// `[sim] alloc_rate`.
    pub alloc_rate: u64,
    /// Rate at which the kmem taskq destroys full magazines of the ARC's
    /// caches and returns their slabs to the page allocator, bytes/s
    /// (`kmem_depot_ws_reap()` → `kmem_slab_free()` → `segkmem_zio_free()`).
    /// Assumption: the same order as eviction.
    pub kmem_reap_rate: u64,
    /// Bytes of `Kernel` memory a system-wide `kmem_reap()` walks per
    /// second (every cache's `kmem_cache_reap()`: reclaim callbacks,
    /// working-set reaping, defragmentation scans). `kmem.c` says such a
    /// reap "can take minutes" on a system with many full magazines; the
    /// rate is calibrated on the seed's OS-8005 run (16.6 GB of Kernel,
    /// memory back about 87 s after bhyve started). Assumption.
    pub kmem_reap_scan_rate: u64,

    /// Per mille of `Kernel` that sits in full magazines outside the
    /// caches' working sets and is returned by the first system-wide
    /// `kmem_reap()`. Calibrated on the seed's 4 GB host (Kernel 1531 MB
    /// before, 1510 MB after: 1.4%). Assumption.
    pub kmem_kernel_reapable_permille: u64,

    // ----- arc.c -----
    /// `arc_kmem_cache_reap_retry_ms`: the reap callback's sleep between
    /// `arc_kmem_reap_soon()` and its free-memory check.
    pub arc_kmem_cache_reap_retry_ms: u64,
    /// The reap zthr's timer (`zthr_create_timer(..., SEC2NSEC(1))`).
    pub arc_reap_zthr_interval_ms: u64,
    /// `arc_grow_retry` (s): how long `arc_no_grow` stays after pressure.
    pub arc_grow_retry_s: u64,
    /// `arc_shrink_shift`: the reap callback keeps `c >> 7` free.
    pub arc_shrink_shift: u32,
    /// `arc_no_grow_shift`: no growth while free < `c >> 5`.
    pub arc_no_grow_shift: u32,
    /// `zfs_arc_overflow_shift`: overflow band `c >> 3`.
    pub zfs_arc_overflow_shift: u32,
    /// `SPA_MAXBLOCKSIZE` (16 MiB): minimum overflow band, and the
    /// `arc_adapt()` growth window is twice it.
    pub spa_maxblocksize: u64,
    /// `arc_pages_pp_reserve` (pages).
    pub arc_pages_pp_reserve: u64,
    /// Under the component, the adjust zthr evicts a cut of `c` in passes
    /// and readers compare the ARC's size with the pass's target, not the
    /// new `c` (the project's `arc.c`; MODEL.md, "The ZFS stall at a
    /// start"). Off: the patch before it, where every reader waits for the
    /// whole cut.
    pub paced_cut: bool,
    /// `arc_swapfs_reserve` (pages).
    pub arc_swapfs_reserve: u64,
    /// `dbuf_cache_shift` (`dbuf.c`): dbuf cache = `c_max >> 5`.
    pub dbuf_cache_shift: u32,

    // ----- kmem.c -----
    /// `kmem_reap_interval` (15 s): `kmem_reap()` is self-throttling, and
    /// `kmem_update()` refreshes the depot working sets at this period.
    pub kmem_reap_interval_s: u64,

    // ----- vm_page.c / swap_subr.c / vm_pageout.c -----
    /// `tune.t_minarmem` (25 pages): `page_resv()` keeps this much
    /// `availrmem`.
    pub t_minarmem: u64,
    /// `lotsfree_fraction` (64) in `setupclock()`.
    pub lotsfree_fraction: u64,
    /// `LOTSFREE_MIN_DEFAULT` (16 MiB).
    pub lotsfree_min: u64,
    /// `LOTSFREE_MAX_DEFAULT` (2 GiB).
    pub lotsfree_max: u64,
    /// `MAXHANDSPREADPAGES` bytes (64 MiB): `handspreadpages`, the
    /// distance between the scanner's front and back hands, and the cap
    /// on `fastscan` before the scanner has measured itself
    /// (`setupclock()`).
    pub maxhandspread: u64,
    /// `SCHEDPAGING_HZ` (4): `schedpaging()` runs four times a second.
    pub schedpaging_hz: u64,
    /// Percent of pageable memory (Anon, Exec and libs, Page cache) that
    /// is the host's working set: referenced again before the scanner's
    /// back hand reaches it, so never freed. The rest is idle: the back
    /// hand frees each idle page it passes once the front hand has
    /// cleared its reference bit. Assumption from the seed's 4 GB host,
    /// scanned for minutes: 21 of 56 MB of Anon and 5 of 13 MB of Page
    /// cache stayed (37%).
    pub pageable_working_set_pct: u64,
    /// Pages per second the page scanner checks when it runs flat out
    /// (`pageout_rate`, which `pageout()` measures over its first
    /// `pageout_sample_lim` wake-ups; `setupclock()` then sets
    /// `fastscan = MIN(looppages / 2, pageout_rate / 10)`). Calibrated on
    /// the seed's OS-8005 run (Anon 1075 MB before, 475 MB after, on a
    /// host scanned for about 80 s). Assumption.
    pub pageout_scan_rate: u64,
    /// `pageout_sample_lim` (4): wake-ups the scanner samples before
    /// `fastscan` becomes the measured spread.
    pub pageout_sample_lim: u64,
    /// `maxpgio` = `DISKRPM * 2 / 3` (`DISKRPM` 60): pages/s of paging the
    /// swapper tolerates.
    pub maxpgio: u64,

    // ----- sched.c (the swapper) -----
    /// Load average (`avenrun[0]`) of the host's runnable threads. The
    /// desperate hard-swap rule needs at least 2. Assumption: a busy host.
    pub avenrun: u64,
    /// Swappable processes on the host. Assumption.
    pub swappable_procs: u64,
    /// LWPs per swappable process. Assumption.
    pub lwps_per_proc: u64,

    // ----- vmm / bhyve -----
    /// `vm_reserve_pages()` polls: 60 (`vmm_sol_vm.c`).
    pub vm_reserve_retries: u64,
    /// Its poll period: `delay_sig(drv_usectohz(1 * MICROSEC))`, 1 s.
    pub vm_reserve_poll_ms: u64,
    /// bhyve's retry sleep after ENOMEM (`bhyverun.c`: `sleep(1)`).
    pub bhyve_retry_ms: u64,
    /// `vmmr_resv_wait()`: `delay_sig(hz >> 2)`, a quarter second.
    pub vmmr_resv_wait_ms: u64,
    /// bhyve's low-memory segment limit (`VM_LOWMEM_LIMIT`, 3 GiB in
    /// libvmmapi): guest RAM is two memsegs, below and above it.
    pub lowmem_limit: u64,
    /// The vmm client's wait deadline under `tunables` (60 s, the bound
    /// of the old `vm_reserve_pages()` loop; vmm-client's default).
    pub vmm_wait_deadline_s: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            evict_rate: 20 * GIB,
            alloc_rate: 5 * GIB / 2,
            kmem_reap_rate: 20 * GIB,
            kmem_reap_scan_rate: 192 * MIB,
            kmem_kernel_reapable_permille: 14,
            arc_kmem_cache_reap_retry_ms: 1000,
            arc_reap_zthr_interval_ms: 1000,
            arc_grow_retry_s: 60,
            arc_shrink_shift: 7,
            arc_no_grow_shift: 5,
            zfs_arc_overflow_shift: 3,
            spa_maxblocksize: 16 * MIB,
            arc_pages_pp_reserve: 64,
            paced_cut: true,
            arc_swapfs_reserve: 64,
            dbuf_cache_shift: 5,
            kmem_reap_interval_s: 15,
            t_minarmem: 25,
            lotsfree_fraction: 64,
            lotsfree_min: 16 * MIB,
            lotsfree_max: 2048 * MIB,
            maxhandspread: 64 * MIB,
            schedpaging_hz: 4,
            pageable_working_set_pct: 37,
            pageout_scan_rate: PAGEOUT_SCAN_RATE,
            pageout_sample_lim: 4,
            maxpgio: 40,
            avenrun: 2,
            swappable_procs: 64,
            lwps_per_proc: 4,
            vm_reserve_retries: 60,
            vm_reserve_poll_ms: 1000,
            bhyve_retry_ms: 1000,
            vmmr_resv_wait_ms: 250,
            lowmem_limit: 3 * GIB,
            vmm_wait_deadline_s: 60,
        }
    }
}

/// Milliseconds to ticks, rounded up (at least one tick for a non-zero
/// duration), as `drv_usectohz()` does.
#[must_use]
pub fn ms_to_ticks(ms: u64) -> u64 {
    ms.saturating_mul(HZ).div_ceil(1000)
}

/// Bytes to pages, rounded up.
#[must_use]
pub fn btopr(bytes: u64) -> u64 {
    bytes.div_ceil(PAGESIZE)
}

/// Pages to bytes, saturating.
#[must_use]
pub fn ptob(pages: u64) -> u64 {
    pages.saturating_mul(PAGESIZE)
}

/// Bytes a rate of `per_second` moves in one tick (at least one byte for
/// a non-zero rate, so progress is never stuck by rounding).
#[must_use]
pub fn per_tick(per_second: u64) -> u64 {
    if per_second == 0 {
        0
    } else {
        (per_second / HZ).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every constant has a row in MODEL.md's table.
    #[test]
    fn every_constant_is_documented() {
        let model = include_str!("../MODEL.md");
        let dbg = format!("{:?}", Params::default());
        let inner = dbg.trim_start_matches("Params {").trim_end_matches('}');
        let mut n = 0;
        for field in inner.split(", ") {
            let name = field.split(':').next().unwrap().trim();
            assert!(
                model.contains(&format!("| `{name}` |")),
                "{name} is missing from MODEL.md"
            );
            n += 1;
        }
        assert!(n >= 30);
    }

    #[test]
    fn conversions_round_up() {
        assert_eq!(btopr(1), 1);
        assert_eq!(btopr(4096), 1);
        assert_eq!(btopr(4097), 2);
        assert_eq!(ms_to_ticks(250), 25);
        assert_eq!(ms_to_ticks(1), 1);
        assert_eq!(per_tick(1), 1);
        assert_eq!(per_tick(0), 0);
        assert_eq!(ptob(u64::MAX), u64::MAX);
    }
}
