//! The simulator's [`Platform`] for the project's crates: single-threaded,
//! driven by simulated time.
//!
//! - the lock is a flag taken with a compare-and-swap: with one thread it
//!   is always free when taken, so it is trivially correct, and a nested
//!   take (a bug in the caller) spins instead of corrupting state;
//! - `now()` is the simulated clock, `memory()` the model's `freemem`,
//!   `lotsfree` and `desfree`, `arc_size()` the model's ARC, all copied in by the machine
//!   before it calls into the crates;
//! - `admission_figures()` is what the kernel module reads for admission,
//!   from the same model: `availrmem`, its floor (`pages_pp_maximum +
//!   arc_pages_pp_reserve`), the ARC's evictable bytes (its size less what
//!   the dbuf caches pin) and the evicted bytes still in its kmem
//!   magazines; `None` until the machine first copies them in;
//! - `kick_evictor()` records a kick; on the next tick the machine does
//!   what the patched `arc_tunables_evict()` does (wakes the adjust zthr;
//!   not the reap zthr, which the kernel cannot wake from there);
//! - `wait()` is never used: the simulator polls with `poll_wait()`. Were
//!   it called, it reports an interruption, so it can never block the
//!   single thread.
//!
//! Every atomic comes from `zfs_tunables::sync`.

use zfs_tunables::sync::{AtomicBool, AtomicU64, Ordering};
use zfs_tunables::{AdmissionFigures, Bytes, Hrtime, MemoryFigures, Pages, Platform, Wake};

/// See the module documentation.
#[derive(Debug, Default)]
pub struct SimPlatform {
    held: AtomicBool,
    now_ns: AtomicU64,
    freemem: AtomicU64,
    lotsfree: AtomicU64,
    desfree: AtomicU64,
    arc_size: AtomicU64,
    kicks: AtomicU64,
    broadcasts: AtomicU64,
    has_admission: AtomicBool,
    availrmem: AtomicU64,
    availrmem_floor: AtomicU64,
    arc_evictable: AtomicU64,
    arc_evicted_cached: AtomicU64,
}

impl SimPlatform {
    /// A platform at time zero with no memory.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies the model's figures in.
    pub fn set(&self, now: Hrtime, mem: MemoryFigures, arc_size: Bytes) {
        // The clock never goes backwards. A load and a store, not a
        // `fetch_max`: the simulation drives the platform from one thread,
        // and a locked read-modify-write every tick was a third of a tick.
        if now.0 > self.now_ns.load(Ordering::Relaxed) {
            self.now_ns.store(now.0, Ordering::Relaxed);
        }
        self.freemem.store(mem.freemem.0, Ordering::Relaxed);
        self.lotsfree.store(mem.lotsfree.0, Ordering::Relaxed);
        self.desfree.store(mem.desfree.0, Ordering::Relaxed);
        self.arc_size.store(arc_size.0, Ordering::Relaxed);
    }

    /// Copies the model's admission figures in.
    pub fn set_admission(&self, f: AdmissionFigures) {
        self.availrmem.store(f.availrmem.0, Ordering::Relaxed);
        self.availrmem_floor
            .store(f.availrmem_floor.0, Ordering::Relaxed);
        self.arc_evictable
            .store(f.arc_evictable.0, Ordering::Relaxed);
        self.arc_evicted_cached
            .store(f.arc_evicted_cached.0, Ordering::Relaxed);
        self.has_admission.store(true, Ordering::Relaxed);
    }

    /// Takes the kicks recorded since the last call.
    pub fn take_kicks(&self) -> u64 {
        // Most ticks find none: look before the locked swap.
        if self.kicks.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        self.kicks.swap(0, Ordering::Relaxed)
    }

    /// Whether kicks are waiting for the next tick.
    #[must_use]
    pub fn kicks_pending(&self) -> bool {
        self.kicks.load(Ordering::Relaxed) > 0
    }

    /// How many broadcasts the crates made.
    #[must_use]
    pub fn broadcasts(&self) -> u64 {
        self.broadcasts.load(Ordering::Relaxed)
    }
}

// SAFETY: `lock` returns only after this thread set `held` from false to
// true with a compare-and-swap (acquire), so it is the only holder; the
// crates never take it twice. `unlock` clears it (release). `wait` is
// called with the lock held, releases and re-takes it before returning,
// whatever it returns; no broadcast can be missed because the simulator
// has one thread. `now` is a `fetch_max`-ed counter, so it never goes
// backwards.
unsafe impl Platform for SimPlatform {
    fn lock(&self) {
        while self
            .held
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            zfs_tunables::sync::spin_loop();
        }
    }

    fn try_lock(&self) -> bool {
        self.held
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    unsafe fn unlock(&self) {
        self.held.store(false, Ordering::Release);
    }

    unsafe fn wait(&self, _deadline: Hrtime) -> Wake {
        // Release and re-take, as the contract requires, then report an
        // interruption so the caller returns instead of spinning on a
        // clock that cannot move while it waits.
        self.held.store(false, Ordering::Release);
        self.lock();
        Wake::Interrupted
    }

    fn broadcast(&self) {
        self.broadcasts.fetch_add(1, Ordering::Relaxed);
    }

    fn now(&self) -> Hrtime {
        Hrtime(self.now_ns.load(Ordering::Relaxed))
    }

    fn memory(&self) -> MemoryFigures {
        MemoryFigures {
            freemem: Pages(self.freemem.load(Ordering::Relaxed)),
            lotsfree: Pages(self.lotsfree.load(Ordering::Relaxed)),
            desfree: Pages(self.desfree.load(Ordering::Relaxed)),
        }
    }

    fn admission_figures(&self) -> Option<AdmissionFigures> {
        if !self.has_admission.load(Ordering::Relaxed) {
            return None;
        }
        Some(AdmissionFigures {
            availrmem: Pages(self.availrmem.load(Ordering::Relaxed)),
            availrmem_floor: Pages(self.availrmem_floor.load(Ordering::Relaxed)),
            arc_evictable: Bytes(self.arc_evictable.load(Ordering::Relaxed)),
            arc_evicted_cached: Bytes(self.arc_evicted_cached.load(Ordering::Relaxed)),
        })
    }

    fn arc_size(&self) -> Bytes {
        Bytes(self.arc_size.load(Ordering::Relaxed))
    }

    fn kick_evictor(&self) {
        self.kicks.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_is_exclusive_and_wait_never_blocks() {
        let p = SimPlatform::new();
        p.lock();
        assert!(!p.try_lock());
        // SAFETY: held by this thread.
        let w = unsafe { p.wait(Hrtime(u64::MAX)) };
        assert_eq!(w, Wake::Interrupted);
        assert!(!p.try_lock(), "wait returns with the lock held");
        // SAFETY: held by this thread.
        unsafe { p.unlock() };
        assert!(p.try_lock());
        // SAFETY: held by this thread.
        unsafe { p.unlock() };
        let mem = MemoryFigures {
            freemem: Pages(1),
            lotsfree: Pages(4),
            desfree: Pages(2),
        };
        p.set(Hrtime(5), mem, Bytes(3));
        p.set(Hrtime(3), mem, Bytes(3));
        assert_eq!(p.now(), Hrtime(5));
        assert_eq!(p.memory(), mem);
        assert_eq!(p.admission_figures(), None, "no figures until copied in");
        let f = AdmissionFigures {
            availrmem: Pages(7),
            availrmem_floor: Pages(2),
            arc_evictable: Bytes(3),
            arc_evicted_cached: Bytes(1),
        };
        p.set_admission(f);
        assert_eq!(p.admission_figures(), Some(f));
        p.kick_evictor();
        assert_eq!(p.take_kicks(), 1);
        assert_eq!(p.take_kicks(), 0);
    }
}
