//! The machine: the host layer and the ARC on one clock.
//!
//! [`Machine::tick`] advances one clock tick (10 ms) and runs the
//! kernel's threads in order, each on the counters it touches:
//! `schedpaging()` four times a second, the page scanner, the kmem taskq,
//! the ARC's zthrs and reader, and once a second `vmmeter()` and
//! `sched()`. The guests are not part of it: the run loop steps them
//! between ticks.

use crate::arc_model::ArcModel;
use crate::host::kmem::Kmem;
use crate::host::memory::{Memory, Thresholds};
use crate::host::pageout::Pageout;
use crate::host::swapper::Swapper;
use crate::params::{Params, HZ};
use crate::scenario::Scenario;

/// The host and its ARC.
pub struct Machine {
    /// Constants.
    pub p: Params,
    /// Current tick.
    pub now: u64,
    /// Memory by category.
    pub mem: Memory,
    /// The VM system's thresholds.
    pub thr: Thresholds,
    /// The kmem layer.
    pub kmem: Kmem,
    /// `schedpaging()`, the scanner and the averages.
    pub pageout: Pageout,
    /// The swapper.
    pub swapper: Swapper,
    /// The ARC.
    pub arc: ArcModel,
    /// The lowest `freemem` seen.
    pub min_freemem: u64,
}

impl Machine {
    /// The host at the start of a scenario, with `arc` (built for the
    /// kernel the host runs).
    pub fn new(p: Params, s: &Scenario, arc: ArcModel) -> Machine {
        let mem = Memory::boot(&s.host, s.arc_size, &p);
        let thr = Thresholds::setup(&mem, &p);
        let kmem = Kmem::boot(mem.kernel, &p);
        Machine {
            p,
            now: 0,
            mem,
            thr,
            kmem,
            pageout: Pageout::default(),
            swapper: Swapper::default(),
            arc,
            min_freemem: u64::MAX,
        }
    }

    /// The end of boot: the ARC's limits are final (after `/etc/system`),
    /// and the swapper's averages start at the current `freemem`.
    pub fn finish_boot(&mut self) {
        self.arc
            .finish_boot(self.now, &self.p, &self.mem, &self.thr);
        let f = self.mem.freemem();
        self.pageout = Pageout::boot(f);
        self.min_freemem = f;
    }

    /// Time in seconds.
    #[must_use]
    pub fn secs(&self) -> f64 {
        self.now as f64 / HZ as f64
    }

    /// Copies the clock and the memory figures to the ARC limits' owner
    /// (the component's platform), before a call into the component.
    pub fn sync_platform(&self) {
        self.arc.sync(self.now, &self.mem, &self.thr);
    }

    /// `kmem_reap()`.
    pub fn kmem_reap(&mut self) {
        self.kmem.reap(self.mem.kernel, &self.p);
    }

    /// `arc_available_memory()`.
    #[must_use]
    pub fn arc_available_memory(&self) -> i64 {
        self.arc.available_memory(&self.mem, &self.thr, &self.p)
    }

    /// Advances the host (not the guests) by one tick.
    pub fn tick(&mut self) {
        self.now += 1;
        let now = self.now;
        let p = &self.p;
        let sp = HZ / p.schedpaging_hz.max(1);
        if now.is_multiple_of(sp.max(1)) {
            self.pageout
                .schedpaging(&self.mem, &self.thr, &mut self.kmem, p);
        }
        self.pageout.scanner_tick(&mut self.mem, p);
        if self.kmem.tick(now, &mut self.mem, p) {
            // hdr_recl(), the ARC header caches' reclaim callback, wakes
            // the reap zthr when they are reaped.
            self.arc.reap_woken = true;
        }
        self.arc
            .tick(now, p, &mut self.mem, &self.thr, &mut self.kmem);
        if now.is_multiple_of(HZ) {
            self.pageout.vmmeter(self.mem.freemem());
            self.swapper
                .sched(&mut self.mem, &self.thr, &self.pageout, p);
        }
        self.min_freemem = self.min_freemem.min(self.mem.freemem());
    }

    /// Whether nothing in the host changes until something from outside
    /// does (no eviction, reaping, scanning, pressure or reader), so time
    /// can jump.
    #[must_use]
    pub fn quiescent(&self) -> bool {
        let freemem = self.mem.freemem();
        self.kmem.queue.is_empty()
            && self.mem.needfree == 0
            && self.mem.arc_depot == 0
            && self.mem.resv_unbacked == 0
            && freemem >= self.thr.lotsfree
            && self.pageout.settled(freemem)
            && self.arc.quiescent(&self.mem, &self.thr, &self.p)
    }

    /// Jumps to tick `to` while quiescent: the timers that would have run
    /// change nothing but these.
    pub fn skip_to(&mut self, to: u64) {
        if to <= self.now {
            return;
        }
        self.now = to;
        self.kmem.skip_to(to, &self.p);
        self.arc.skip_to(to, &self.mem, &self.thr, &self.p);
    }
}
