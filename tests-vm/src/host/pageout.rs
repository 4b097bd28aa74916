//! The pageout side of the VM system (`vm_pageout.c`, `vm_meter.c`):
//! `schedpaging()` four times a second, the page scanner, and
//! `vmmeter()`'s averages once a second.

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

    /// `schedpaging()`: a system-wide kmem reap and the scanner's budget
    /// when `freemem` is short of `lotsfree + needfree`.
    pub fn schedpaging(&mut self, mem: &Memory, thr: &Thresholds, kmem: &mut Kmem, p: &Params) {
        let freemem = mem.freemem();
        // kmem_reapahead is 0.
        if freemem < thr.lotsfree + mem.needfree {
            kmem.reap(mem.kernel, p);
        }
        if freemem < thr.lotsfree + mem.needfree {
            // "if we've not yet collected enough samples to calculate a
            // spread, use the old logic of kicking into high gear anytime
            // needfree is non-zero"; otherwise slowscan..fastscan by
            // vavail.
            let desscan = if mem.needfree > 0 {
                thr.fastscan
            } else {
                let vavail = freemem.min(thr.lotsfree);
                (thr.slowscan * vavail + thr.fastscan * (thr.lotsfree - vavail))
                    / thr.lotsfree.max(1)
            };
            self.scan_budget = desscan / p.schedpaging_hz.max(1);
        } else {
            self.scan_budget = 0;
        }
    }

    /// One tick of the page scanner: it takes unreferenced pageable pages
    /// (pushing anonymous ones to swap) until its budget for this period
    /// is spent.
    pub fn scanner_tick(&mut self, mem: &mut Memory, p: &Params) {
        if self.scan_budget == 0 {
            return;
        }
        let per = (self.scan_budget * p.schedpaging_hz / HZ).max(1);
        let pageable = mem.pageable();
        let reclaimable = pageable.saturating_sub(mem.pageable_floor);
        let n = per.min(reclaimable).min(self.scan_budget);
        if n == 0 {
            return;
        }
        self.scan_budget -= n;
        // Proportionally from each pageable category.
        let from_anon = n * mem.anon / pageable.max(1);
        let from_exec = (n * mem.exec / pageable.max(1)).min(mem.exec);
        let from_pc = (n - from_anon - from_exec).min(mem.page_cache);
        mem.anon -= from_anon.min(mem.anon);
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
