//! Physical memory by `::memstat` category, and the VM system's
//! thresholds.
//!
//! Memory is counted per category, never per page: a handful of page
//! counts, and `ZFS File Data` in bytes as its two parts (the ARC's
//! buffers, `arc_size`, and the evicted buffers still in the ARC's kmem
//! magazines). `Free (freelist)` is what is left of `physmem`, so the
//! categories always add up, and `freemem` and `availrmem` are functions
//! of the counters alone.

use crate::params::{btopr, Params, MIB, PAGESIZE};
use crate::scenario::HostSpec;

/// The host's memory, by category (pages unless noted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// `physmem`.
    pub physmem: u64,
    /// `::memstat` Kernel (constant but for what a system-wide kmem reap
    /// returns).
    pub kernel: u64,
    /// Boot pages.
    pub boot: u64,
    /// Anon.
    pub anon: u64,
    /// Exec and libs.
    pub exec: u64,
    /// Page cache.
    pub page_cache: u64,
    /// Pageable pages the scanner never finds unreferenced (the working
    /// sets of Anon, Exec and libs, Page cache).
    pub pageable_floor: u64,
    /// Free (cachelist).
    pub cachelist: u64,
    /// VMM Memory.
    pub vmm: u64,
    /// `arc_size`, bytes: the ARC's buffers (all `ZFS File Data`).
    pub arc_size: u64,
    /// Bytes of evicted ARC buffers in full magazines of the ARC's kmem
    /// caches: still `ZFS File Data` until a reap returns them.
    pub arc_depot: u64,
    /// `availrmem` reserved by `page_resv()`/`page_xresv()` and not yet
    /// backed by created pages.
    pub resv_unbacked: u64,
    /// Anon pages swapped out with their processes.
    pub swapped_anon: u64,
    /// `needfree`.
    pub needfree: u64,
}

impl Memory {
    /// The host as the scenario describes it, with an ARC of `arc_size`
    /// bytes, cut to what fits.
    #[must_use]
    pub fn boot(host: &HostSpec, arc_size: u64, p: &Params) -> Memory {
        let anon = btopr(host.anon);
        let exec = btopr(host.exec);
        let page_cache = btopr(host.page_cache);
        let pageable = anon + exec + page_cache;
        let mut mem = Memory {
            physmem: btopr(host.physmem),
            kernel: btopr(host.kernel),
            boot: btopr(host.boot),
            anon,
            exec,
            page_cache,
            pageable_floor: pageable * (100 - p.pageout_reclaimable_pct.min(100)) / 100,
            arc_size,
            ..Memory::default()
        };
        // The ARC cannot start larger than what fits.
        if mem.freemem_bytes() == 0 {
            let over = mem.zfs_pages() + mem.kernel + mem.boot + pageable;
            let excess = over.saturating_sub(mem.physmem);
            mem.arc_size = mem.arc_size.saturating_sub(excess * PAGESIZE);
        }
        mem
    }

    /// `ZFS File Data` pages: the ARC's buffers and the evicted ones still
    /// in kmem magazines.
    #[must_use]
    pub fn zfs_pages(&self) -> u64 {
        btopr(self.arc_size.saturating_add(self.arc_depot))
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

    /// Pageable pages (Anon, Exec and libs, Page cache).
    #[must_use]
    pub fn pageable(&self) -> u64 {
        self.anon + self.exec + self.page_cache
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
}

/// The VM system's thresholds, fixed at boot (pages; scan rates in
/// pages/s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
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
    /// `fastscan`.
    pub fastscan: u64,
    /// `slowscan`.
    pub slowscan: u64,
    /// `swapfs_minfree`.
    pub swapfs_minfree: u64,
    /// `swapfs_reserve`.
    pub swapfs_reserve: u64,
    /// `pages_pp_maximum`.
    pub pages_pp_maximum: u64,
}

impl Thresholds {
    /// `setupclock()` (`vm_pageout.c`, with `looppages = total_pages =
    /// physmem`), `swapfs_recalc()` and `pages_pp_maximum` (`vm_page.c`)
    /// for `mem`.
    #[must_use]
    pub fn setup(mem: &Memory, p: &Params) -> Thresholds {
        let physmem = mem.physmem;
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
        // swapfs_reserve = MIN(128 MiB, MAX(4 MiB, physmem / 128)).
        let swapfs_reserve = (physmem / 128).clamp(btopr(4 * MIB), btopr(128 * MIB));
        // pages_pp_maximum = availrmem_initial / 25 + 4 MiB (vm_page.c).
        let availrmem_initial = physmem.saturating_sub(mem.kernel + mem.boot);
        Thresholds {
            lotsfree,
            desfree,
            minfree,
            throttlefree,
            pageout_reserve,
            fastscan,
            slowscan,
            swapfs_minfree: swapfs_minfree(physmem),
            swapfs_reserve,
            pages_pp_maximum: availrmem_initial / 25 + btopr(4 * MIB),
        }
    }
}

/// `swapfs_minfree` as `swapfs_recalc()` computes it (`swap_subr.c`):
/// 1/8 of memory, at least 2 MiB, at most 256 MiB.
#[must_use]
pub fn swapfs_minfree(physmem: u64) -> u64 {
    (physmem / 8).clamp(btopr(2 * MIB), btopr(256 * MIB))
}
