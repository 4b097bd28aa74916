//! The ARC's limits as readers see them: single-word loads on the hot
//! path, and consistent snapshots behind a sequence lock.
//!
//! The ARC reads `c`, `c_min` and `c_max` on every allocation, so each is
//! one `AtomicU64` and a hot-path read is one relaxed load. A reader that
//! needs several values at once (a kstat update, an invariant check) takes
//! a [`LimitsSnapshot`], which is consistent: it can never show `c_min >
//! c_max` or `c > c_max`.
//!
//! Per-word ordering alone cannot promise that. If a writer lowers `c`
//! before `c_max` (the order that keeps `c <= c_max` for a reader loading
//! `c_max` first) a reader loading `c` first can still pair an old, high
//! `c` with the new, low `c_max`; and growth needs the opposite order. So
//! every change of `c`, `c_min` or `c_max` happens inside a write section
//! of a sequence lock: the sequence is odd while a writer is inside, and a
//! snapshot retries until it reads the same even sequence before and after
//! its loads. Writers are serialized by a compare-and-swap on the sequence
//! itself, so the ARC's own moves of `c` (growth on allocation, shrinking
//! in the reap thread) need no mutex and never sleep; the component's
//! writer additionally holds the component's lock.
//!
//! A write section is a handful of stores, but readers and other writers
//! spin for as long as it is open: nanoseconds while its writer runs, and
//! for as long as the writer is off its CPU if it is preempted inside. So
//! every writer brackets its sections to keep it on its CPU, where the
//! platform can: the component calls
//! [`Platform::enter_write_section`](crate::Platform::enter_write_section)
//! and [`exit_write_section`](crate::Platform::exit_write_section) around
//! [`PublishedLimits::publish`], and the callers of the ARC's moves
//! ([`set_target`](PublishedLimits::set_target),
//! [`grow_target`](PublishedLimits::grow_target),
//! [`reduce_target`](PublishedLimits::reduce_target)) bracket theirs. The
//! illumos kernel module does both with `kpreempt_disable()` and
//! `kpreempt_enable()`: a writer there cannot be preempted inside a
//! section, though an interrupt can still pin it for as long as its handler
//! runs. Elsewhere (std, loom, the simulator) the brackets do nothing, and
//! a reader spins while a preempted writer is off its CPU; the loom models
//! explore exactly those interleavings. [`set_p`](PublishedLimits::set_p)
//! is one store outside any section, and readers need no bracket: a
//! preempted reader only retries.
//!
//! `p` (the MRU target) is published too but is not part of the sequence
//! lock's invariant: the ARC adapts it freely, and the component only
//! resets it to `c/2` when it moves `c`, as `arc_dynamic_resize()` did in
//! OS-8638. Readers never see `p` above `c` all the same. `set_p` clamps
//! `p` to the `c` it loaded, but a shrinking of `c` can land between that
//! load and its store and leave the stored `p` above the new `c`; rather
//! than put the ARC's adaptation of `p` in a write section, every read of
//! `p` ([`p`](PublishedLimits::p) and the snapshot's) is clamped to `c`,
//! and the next move of `c` corrects the stored value.

use crate::sync::{fence, spin_loop, AtomicU64, Ordering};
use crate::units::Bytes;

/// A consistent copy of every published value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitsSnapshot {
    /// `arc_c`: the ARC's target size.
    pub c: Bytes,
    /// `arc_c_min`.
    pub c_min: Bytes,
    /// `arc_c_max` as the ARC obeys it: the effective ceiling, lowered by
    /// headroom reservations.
    pub c_max: Bytes,
    /// `arc_p`, never above `c`.
    pub p: Bytes,
    /// `arc_meta_limit`, following the effective ceiling unless set.
    pub meta_limit: Bytes,
    /// `arc_meta_min`.
    pub meta_min: Bytes,
    /// `dbuf_cache_max_bytes`, following the effective ceiling unless set.
    pub dbuf_cache_max: Bytes,
    /// `dbuf_metadata_cache_max_bytes`, likewise.
    pub dbuf_metadata_cache_max: Bytes,
}

/// The published values; see the module documentation.
#[derive(Debug)]
pub struct PublishedLimits {
    seq: AtomicU64,
    c: AtomicU64,
    c_min: AtomicU64,
    c_max: AtomicU64,
    p: AtomicU64,
    meta_limit: AtomicU64,
    meta_min: AtomicU64,
    dbuf_cache_max: AtomicU64,
    dbuf_metadata_cache_max: AtomicU64,
}

/// A write section: the sequence is odd until it is dropped.
#[must_use = "the write section ends when this guard is dropped"]
struct WriteSection<'a> {
    limits: &'a PublishedLimits,
    seq: u64,
}

impl Drop for WriteSection<'_> {
    fn drop(&mut self) {
        // The data stores before this one are ordered before it (Release);
        // a reader that sees the new even value sees them.
        self.limits
            .seq
            .store(self.seq.wrapping_add(2), Ordering::Release);
    }
}

impl PublishedLimits {
    /// Limits with every value zero; the component publishes real values
    /// before anything reads them. `const` outside loom, so the kernel can
    /// keep a component in static storage.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn new() -> Self {
        PublishedLimits {
            seq: AtomicU64::new(0),
            c: AtomicU64::new(0),
            c_min: AtomicU64::new(0),
            c_max: AtomicU64::new(0),
            p: AtomicU64::new(0),
            meta_limit: AtomicU64::new(0),
            meta_min: AtomicU64::new(0),
            dbuf_cache_max: AtomicU64::new(0),
            dbuf_metadata_cache_max: AtomicU64::new(0),
        }
    }

    /// Limits with every value zero (loom's atomics are not `const`).
    #[cfg(loom)]
    #[must_use]
    pub fn new() -> Self {
        PublishedLimits {
            seq: AtomicU64::new(0),
            c: AtomicU64::new(0),
            c_min: AtomicU64::new(0),
            c_max: AtomicU64::new(0),
            p: AtomicU64::new(0),
            meta_limit: AtomicU64::new(0),
            meta_min: AtomicU64::new(0),
            dbuf_cache_max: AtomicU64::new(0),
            dbuf_metadata_cache_max: AtomicU64::new(0),
        }
    }

    fn begin_write(&self) -> WriteSection<'_> {
        loop {
            let s = self.seq.load(Ordering::Relaxed);
            if s & 1 == 0
                && self
                    .seq
                    .compare_exchange_weak(
                        s,
                        s.wrapping_add(1),
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                // Keep the data stores that follow after the odd sequence
                // for any reader that sees them.
                fence(Ordering::Release);
                return WriteSection {
                    limits: self,
                    seq: s,
                };
            }
            spin_loop();
        }
    }

    /// `arc_c`, one relaxed load (the hot path).
    #[inline]
    #[must_use]
    pub fn c(&self) -> Bytes {
        Bytes(self.c.load(Ordering::Relaxed))
    }

    /// `arc_c_min`, one relaxed load.
    #[inline]
    #[must_use]
    pub fn c_min(&self) -> Bytes {
        Bytes(self.c_min.load(Ordering::Relaxed))
    }

    /// The effective `arc_c_max`, one relaxed load.
    #[inline]
    #[must_use]
    pub fn c_max(&self) -> Bytes {
        Bytes(self.c_max.load(Ordering::Relaxed))
    }

    /// `arc_p`, never above `c`: two relaxed loads (see the module
    /// documentation for why `p` is clamped when it is read).
    #[inline]
    #[must_use]
    pub fn p(&self) -> Bytes {
        let p = self.p.load(Ordering::Relaxed);
        Bytes(core::cmp::min(p, self.c.load(Ordering::Relaxed)))
    }

    /// `arc_meta_limit`, one relaxed load.
    #[inline]
    #[must_use]
    pub fn meta_limit(&self) -> Bytes {
        Bytes(self.meta_limit.load(Ordering::Relaxed))
    }

    /// `arc_meta_min`, one relaxed load.
    #[inline]
    #[must_use]
    pub fn meta_min(&self) -> Bytes {
        Bytes(self.meta_min.load(Ordering::Relaxed))
    }

    /// Sets `arc_p` (the ARC's own adaptation), clamped to `c`. One store
    /// outside any write section: a racing shrink of `c` can leave the
    /// stored value above `c`, which readers clamp.
    pub fn set_p(&self, p: Bytes) {
        let c = self.c.load(Ordering::Relaxed);
        self.p.store(core::cmp::min(p.0, c), Ordering::Relaxed);
    }

    /// A consistent copy of every published value.
    #[must_use]
    pub fn snapshot(&self) -> LimitsSnapshot {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                spin_loop();
                continue;
            }
            let c = self.c.load(Ordering::Relaxed);
            let snap = LimitsSnapshot {
                c: Bytes(c),
                c_min: Bytes(self.c_min.load(Ordering::Relaxed)),
                c_max: Bytes(self.c_max.load(Ordering::Relaxed)),
                // Clamped: `set_p` stores outside any write section.
                p: Bytes(core::cmp::min(self.p.load(Ordering::Relaxed), c)),
                meta_limit: Bytes(self.meta_limit.load(Ordering::Relaxed)),
                meta_min: Bytes(self.meta_min.load(Ordering::Relaxed)),
                dbuf_cache_max: Bytes(self.dbuf_cache_max.load(Ordering::Relaxed)),
                dbuf_metadata_cache_max: Bytes(
                    self.dbuf_metadata_cache_max.load(Ordering::Relaxed),
                ),
            };
            // Order the data loads before the second sequence load.
            fence(Ordering::Acquire);
            let s2 = self.seq.load(Ordering::Relaxed);
            if s1 == s2 {
                return snap;
            }
            spin_loop();
        }
    }

    /// Publishes new limits from the component's writer. `c` is clamped
    /// into `[c_min, c_max]`; if that moved it, `p` becomes `c/2`, and `p`
    /// never exceeds `c`. Returns the new `c`.
    ///
    /// `c_min <= c_max` is the caller's invariant; if it were broken,
    /// `c_max` wins (the ceiling is what protects the rest of memory).
    pub fn publish(&self, new: &LimitsSnapshot) -> Bytes {
        let _w = self.begin_write();
        let c_max = new.c_max.0;
        let c_min = core::cmp::min(new.c_min.0, c_max);
        let old_c = self.c.load(Ordering::Relaxed);
        let c = old_c.clamp(c_min, c_max);
        self.c_min.store(c_min, Ordering::Relaxed);
        self.c_max.store(c_max, Ordering::Relaxed);
        self.c.store(c, Ordering::Relaxed);
        let p = self.p.load(Ordering::Relaxed);
        let p = if c != old_c || p > c { c / 2 } else { p };
        self.p.store(p, Ordering::Relaxed);
        self.meta_limit.store(new.meta_limit.0, Ordering::Relaxed);
        self.meta_min.store(new.meta_min.0, Ordering::Relaxed);
        self.dbuf_cache_max
            .store(new.dbuf_cache_max.0, Ordering::Relaxed);
        self.dbuf_metadata_cache_max
            .store(new.dbuf_metadata_cache_max.0, Ordering::Relaxed);
        Bytes(c)
    }

    /// Sets `c` to `target`, clamped into `[c_min, c_max]` (`arc_init()`
    /// and `arc_tempreserve_space()`). Returns the new `c`.
    pub fn set_target(&self, target: Bytes) -> Bytes {
        let _w = self.begin_write();
        let c_min = self.c_min.load(Ordering::Relaxed);
        let c_max = self.c_max.load(Ordering::Relaxed);
        let c = core::cmp::min(core::cmp::max(target.0, c_min), c_max);
        self.c.store(c, Ordering::Relaxed);
        Bytes(c)
    }

    /// Raises `c` to `floor` if it is below (never above `c_max`): cancels
    /// a cut the evictor has not carried out yet. Returns the new `c`.
    pub fn raise_target(&self, floor: Bytes) -> Bytes {
        let _w = self.begin_write();
        let c_max = self.c_max.load(Ordering::Relaxed);
        let c = self.c.load(Ordering::Relaxed);
        let c = core::cmp::max(c, core::cmp::min(floor.0, c_max));
        self.c.store(c, Ordering::Relaxed);
        Bytes(c)
    }

    /// Grows `c` by `bytes` up to `c_max`, as `arc_adapt()` does on
    /// allocation. Returns the new `c`.
    pub fn grow_target(&self, bytes: Bytes) -> Bytes {
        // Fast path: nothing to do at the ceiling (most allocations on a
        // warm ARC), without entering a write section.
        if self.c.load(Ordering::Relaxed) >= self.c_max.load(Ordering::Relaxed) {
            return self.c();
        }
        let _w = self.begin_write();
        let c_max = self.c_max.load(Ordering::Relaxed);
        let c = core::cmp::min(
            self.c.load(Ordering::Relaxed).saturating_add(bytes.0),
            c_max,
        );
        self.c.store(c, Ordering::Relaxed);
        Bytes(c)
    }

    /// Shrinks `c` as `arc_reduce_target_size(to_free)` does: by `to_free`
    /// but not below `c_min`, then down to the ARC's size `asize` if that
    /// is smaller (never below `c_min`); `p` loses `p >> shrink_shift` and
    /// stays at most `c`. Returns the new `c`; the caller starts the
    /// evictor when `asize` exceeds it.
    pub fn reduce_target(&self, to_free: Bytes, asize: Bytes, shrink_shift: u32) -> Bytes {
        let _w = self.begin_write();
        let c_min = self.c_min.load(Ordering::Relaxed);
        let mut c = self.c.load(Ordering::Relaxed);
        if c > c_min {
            c = core::cmp::max(c.saturating_sub(to_free.0), c_min);
            let p = self.p.load(Ordering::Relaxed);
            let mut p = p.saturating_sub(p.checked_shr(shrink_shift).unwrap_or(0));
            if asize.0 < c {
                c = core::cmp::max(asize.0, c_min);
            }
            if p > c {
                p = c / 2;
            }
            self.c.store(c, Ordering::Relaxed);
            self.p.store(p, Ordering::Relaxed);
        }
        Bytes(c)
    }
}

impl Default for PublishedLimits {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn limits(c_min: u64, c_max: u64) -> LimitsSnapshot {
        LimitsSnapshot {
            c_min: Bytes(c_min),
            c_max: Bytes(c_max),
            ..LimitsSnapshot::default()
        }
    }

    #[test]
    fn publish_clamps_c_and_resets_p() {
        let l = PublishedLimits::new();
        l.publish(&limits(10, 100));
        assert_eq!(l.set_target(Bytes(100)), Bytes(100));
        l.set_p(Bytes(80));
        assert_eq!(l.publish(&limits(10, 60)), Bytes(60));
        assert_eq!(l.p(), Bytes(30));
        // Raising the ceiling does not raise c.
        assert_eq!(l.publish(&limits(10, 200)), Bytes(60));
        assert_eq!(l.p(), Bytes(30));
        // Raising the floor above c raises c.
        assert_eq!(l.publish(&limits(70, 200)), Bytes(70));
        let s = l.snapshot();
        assert!(s.c_min <= s.c && s.c <= s.c_max);
    }

    #[test]
    fn the_single_loads_read_what_was_published() {
        let l = PublishedLimits::new();
        l.publish(&LimitsSnapshot {
            meta_limit: Bytes(25),
            meta_min: Bytes(5),
            ..limits(10, 100)
        });
        assert_eq!((l.meta_limit(), l.meta_min()), (Bytes(25), Bytes(5)));
        let s = l.snapshot();
        assert_eq!((s.meta_limit, s.meta_min), (l.meta_limit(), l.meta_min()));
    }

    #[test]
    fn grow_and_reduce_follow_arc_c() {
        let l = PublishedLimits::new();
        l.publish(&limits(10, 100));
        l.set_target(Bytes(10));
        assert_eq!(l.grow_target(Bytes(50)), Bytes(60));
        assert_eq!(l.grow_target(Bytes(u64::MAX)), Bytes(100));
        // to_free 30 from 100 -> 70; asize 200 above c: stays 70.
        assert_eq!(l.reduce_target(Bytes(30), Bytes(200), 7), Bytes(70));
        // asize 40 below c: c drops to asize.
        assert_eq!(l.reduce_target(Bytes(1), Bytes(40), 7), Bytes(40));
        // Never below c_min.
        assert_eq!(l.reduce_target(Bytes(u64::MAX), Bytes(0), 7), Bytes(10));
        assert_eq!(l.reduce_target(Bytes(5), Bytes(0), 70), Bytes(10));
    }
}
