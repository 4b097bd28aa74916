//! The pageout side of the VM system (`vm_pageout.c`, `vm_meter.c`):
//! `schedpaging()` four times a second, the page scanner, and
//! `vmmeter()`'s averages once a second.
//!
//! The scanner is the two-handed clock of `pageout_scanner()`, counted
//! rather than walked: each period `schedpaging()` sets how many pages
//! the hands pass (`desscan`, interpolated between `slowscan` and
//! `fastscan` by `freemem` below `lotsfree`, or `fastscan` while
//! `needfree` is set and the scanner has not sampled itself yet). The
//! front hand clears each page's reference bit; the back hand,
//! `handspreadpages` behind it, frees a page whose bit is still clear.
//! The hands go round all of `looppages`, so of the pages the back hand
//! passes, the share that is idle pageable memory is `idle / looppages`;
//! the working set (`Memory::pageable_floor`) is referenced again before
//! the back hand comes, and stays. Nothing is freed until the hands have
//! travelled one spread apart. What the scanner takes therefore depends
//! on its rate and on how long memory stays short, not on a fixed share.
//! After `pageout_sample_lim` wake-ups `fastscan` becomes the measured
//! spread (`Thresholds::fastscan_sampled`).

use crate::host::kmem::Kmem;
use crate::host::memory::{Memory, Thresholds};
use crate::params::{Params, HZ};

/// The scanner's budget and the VM system's averages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pageout {
    /// The scanner's pages-per-tick budget this `schedpaging()` period.
    pub scan_budget: u64,
    /// `avefree` (5 s), pages.
    pub avefree: u64,
    /// `avefree30` (30 s), pages.
    pub avefree30: u64,
    /// Pages paged out in the current second.
    pub pgout_this_sec: u64,
    /// `pgoutrate` (5 s average), pages/s.
    pub pgoutrate: u64,
    /// Pages paged out by the scanner.
    pub pages_paged_out: u64,
    /// Pages the hands have passed since boot.
    pub pages_scanned: u64,
    /// `schedpaging()` periods in which the scanner ran
    /// (`pageout_sample_cnt`, up to `pageout_sample_lim`).
    pub samples: u64,
    /// Remainder of `idle × scanned` not yet a whole page freed (the
    /// division by `looppages` carried from tick to tick).
    freed_remainder: u128,
}

impl Pageout {
    /// The averages start at `freemem` (the end of boot).
    #[must_use]
    pub fn boot(freemem: u64) -> Pageout {
        Pageout {
            avefree: freemem,
            avefree30: freemem,
            ..Pageout::default()
        }
    }

    /// Whether `pageout()` has measured its scan rate
    /// (`pageout_new_spread != 0`).
    #[must_use]
    pub fn sampled(&self, p: &Params) -> bool {
        self.samples >= p.pageout_sample_lim
    }

    /// `schedpaging()`: a system-wide kmem reap and the scanner's budget
    /// when `freemem` is short of `lotsfree + needfree`.
    pub fn schedpaging(&mut self, mem: &Memory, thr: &Thresholds, kmem: &mut Kmem, p: &Params) {
        let freemem = mem.freemem();
        // kmem_reapahead is 0.
        if freemem < thr.lotsfree + mem.needfree {
            kmem.reap(mem.kernel, p);
        }
        if freemem < thr.lotsfree + mem.needfree {
            let sampled = self.sampled(p);
            let (fastscan, slowscan) = if sampled {
                (thr.fastscan_sampled, thr.slowscan_sampled)
            } else {
                (thr.fastscan, thr.slowscan)
            };
            // "if we've not yet collected enough samples to calculate a
            // spread, use the old logic of kicking into high gear anytime
            // needfree is non-zero"; otherwise slowscan..fastscan by
            // vavail (freemem less needfree once sampled).
            let desscan = if mem.needfree > 0 && !sampled {
                fastscan
            } else {
                let short = if sampled { mem.needfree } else { 0 };
                let vavail = freemem.saturating_sub(short).min(thr.lotsfree);
                (slowscan * vavail + fastscan * (thr.lotsfree - vavail)) / thr.lotsfree.max(1)
            };
            self.scan_budget = desscan / p.schedpaging_hz.max(1);
            if self.scan_budget > 0 {
                self.samples = self.samples.saturating_add(1).min(p.pageout_sample_lim);
            }
        } else {
            self.scan_budget = 0;
        }
    }

    /// One tick of the page scanner: the hands pass this tick's share of
    /// the period's budget, and the back hand frees the idle pageable
    /// pages among them (pushing anonymous ones to swap).
    pub fn scanner_tick(&mut self, mem: &mut Memory, thr: &Thresholds, p: &Params) {
        if self.scan_budget == 0 {
            return;
        }
        let per = (self.scan_budget * p.schedpaging_hz / HZ).max(1);
        let scanned = per.min(self.scan_budget);
        self.scan_budget -= scanned;
        let travelled = self.pages_scanned;
        self.pages_scanned = self.pages_scanned.saturating_add(scanned);
        // The back hand reaches pages the front hand cleared only once the
        // hands are a spread apart.
        let behind = self.pages_scanned.saturating_sub(thr.handspreadpages)
            - travelled.saturating_sub(thr.handspreadpages);
        let pageable = mem.pageable();
        let idle = pageable.saturating_sub(mem.pageable_floor);
        if behind == 0 || idle == 0 {
            return;
        }
        let acc = self.freed_remainder + u128::from(idle) * u128::from(behind);
        let looppages = u128::from(thr.looppages.max(1));
        let n = u64::try_from(acc / looppages).unwrap_or(u64::MAX).min(idle);
        self.freed_remainder = acc % looppages;
        if n == 0 {
            return;
        }
        // Proportionally from each pageable category.
        // Proportionally from each pageable category, the rounding left
        // to Anon, the largest.
        let from_exec = (n * mem.exec / pageable.max(1)).min(mem.exec);
        let from_pc = (n * mem.page_cache / pageable.max(1)).min(mem.page_cache);
        let from_anon = (n - from_exec - from_pc).min(mem.anon);
        mem.anon -= from_anon;
        mem.exec -= from_exec;
        mem.page_cache -= from_pc;
        self.pages_paged_out += from_anon;
        self.pgout_this_sec += from_anon;
        // Freed pages keep their identity: the cachelist.
        mem.cachelist += from_anon + from_exec + from_pc;
    }

    /// `vmmeter()`, once a second: `ave(avefree, freemem, 5)`,
    /// `ave(avefree30, freemem, 30)` and the pageout rate.
    pub fn vmmeter(&mut self, freemem: u64) {
        self.avefree = (4 * self.avefree + freemem) / 5;
        self.avefree30 = (29 * self.avefree30 + freemem) / 30;
        self.pgoutrate = (4 * self.pgoutrate + self.pgout_this_sec) / 5;
        self.pgout_this_sec = 0;
    }

    /// Whether the scanner is idle and the averages have converged on
    /// `freemem`.
    #[must_use]
    pub fn settled(&self, freemem: u64) -> bool {
        self.scan_budget == 0
            && self.avefree == freemem
            && self.avefree30 == freemem
            && self.pgoutrate == 0
    }
}
