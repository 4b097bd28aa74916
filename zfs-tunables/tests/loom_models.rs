//! Model checks of the component's concurrency claims.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p zfs-tunables --release
//! --test loom_models`. Under `--cfg loom` every atomic, mutex and
//! condition variable in the crate is loom's, so these models explore the
//! interleavings of the real code (the sequence lock in
//! `published_limits.rs`, the lock and condition variable protocol of
//! `StdPlatform`, the headroom table), not of a copy.
//!
//! 1. Writers racing (two reservers and an admin write): no snapshot ever
//!    shows `c_min > c_max`, `c > c_max` or `c < c_min`, and when all are
//!    done the totals are exact.
//! 2. A waiter racing the evictor's progress report: the waiter is never
//!    left asleep once enough memory was freed (no lost wake-up).
//! 3. Two releases of the same reservation racing: counted once.
//! 4. The sequence lock alone, with the ARC's own moves of `c` racing a
//!    lowering of the ceiling and a reader.
//! 5. The ARC's adaptation of `p` (one store outside any write section)
//!    racing its shrinking of `c`: readers never see `p` above `c`.
//! 6. Two advances of `StdPlatform`'s manual clock racing: neither is
//!    lost.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;

use zfs_tunables::published_limits::{LimitsSnapshot, PublishedLimits};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{
    ArcTunables, Bytes, Generation, HostMemory, Hrtime, PageSize, Pages, Platform, ReleaseOutcome,
    GIB,
};

/// A bounded model: every interleaving with at most `bound` preemptions.
///
/// The body runs on a spawned thread with a large stack: the component
/// holds its fixed-capacity tables inline, which overflows the small
/// default stack of loom's model thread while it is being built.
fn model(bound: usize, f: fn()) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(bound);
    b.max_branches = 100_000;
    b.check(move || {
        thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    });
}

fn component() -> Arc<ArcTunables<StdPlatform>> {
    let ps = PageSize::AMD64;
    let host = HostMemory::new(Bytes(16 * GIB).to_pages_roundup(ps), ps);
    let t = ArcTunables::new(StdPlatform::manual(), host, Generation::Current);
    t.finish_boot();
    Arc::new(t)
}

fn assert_consistent(s: &LimitsSnapshot) {
    assert!(s.c_min <= s.c_max, "c_min above c_max: {s:?}");
    assert!(s.c <= s.c_max, "c above c_max: {s:?}");
    assert!(s.c >= s.c_min, "c below c_min: {s:?}");
}

#[test]
fn writers_racing_keep_snapshots_consistent_and_totals_exact() {
    model(2, || {
        let t = component();
        let base = t.headroom_stats().c_max_base;
        let reserver = {
            let t = t.clone();
            thread::spawn(move || t.reserve("vmm", Bytes(4 * GIB)).unwrap())
        };
        let admin = {
            let t = t.clone();
            thread::spawn(move || t.set("zfs_arc_max", 8 * GIB).unwrap())
        };
        // The main thread is the second reserver, and reads as they write.
        let b = t.reserve("vmm", Bytes(2 * GIB)).unwrap();
        assert_consistent(&t.limits());
        let a = reserver.join().unwrap();
        admin.join().unwrap();
        let s = t.limits();
        assert_consistent(&s);
        let h = t.headroom_stats();
        assert_eq!(h.reserved, Bytes(6 * GIB));
        assert_eq!(h.pending, Bytes(6 * GIB));
        let room = base.saturating_sub(Bytes(6 * GIB));
        let expect = core::cmp::max(s.c_min, core::cmp::min(Bytes(8 * GIB), room));
        assert_eq!(s.c_max, expect);
        t.release(a).unwrap();
        t.release(b).unwrap();
        assert_eq!(t.headroom_stats().reserved, Bytes(0));
        assert_eq!(t.limits().c_max, Bytes(8 * GIB));
    });
}

#[test]
fn a_waiter_never_misses_the_evictors_progress() {
    model(3, || {
        let t = component();
        t.platform().set_desfree(Pages(10));
        t.platform().set_freemem(Pages(100));
        let id = t.reserve("vmm", Bytes(1000 * 4096)).unwrap();
        let waiter = {
            let t = t.clone();
            // The manual clock never moves: only a wake-up can end this.
            thread::spawn(move || t.wait(id, Hrtime::from_secs(60)))
        };
        // The evictor frees enough and reports progress.
        t.platform().set_freemem(Pages(1010));
        t.notify_progress();
        assert_eq!(waiter.join().unwrap(), Ok(()));
    });
}

#[test]
fn a_release_racing_a_release_counts_once() {
    model(3, || {
        let t = component();
        let before = t.limits().c_max;
        let id = t.reserve("vmm", Bytes(GIB)).unwrap();
        let other = {
            let t = t.clone();
            thread::spawn(move || t.release(id).unwrap())
        };
        let mine = t.release(id).unwrap();
        let theirs = other.join().unwrap();
        let released = [mine, theirs]
            .iter()
            .filter(|o| matches!(o, ReleaseOutcome::Released { .. }))
            .count();
        assert_eq!(released, 1);
        assert!([mine, theirs].contains(&ReleaseOutcome::AlreadyReleased));
        let h = t.headroom_stats();
        assert_eq!(h.counters.releases, 1);
        assert_eq!(h.reserved, Bytes(0));
        assert_eq!(t.limits().c_max, before);
    });
}

#[test]
fn the_sequence_lock_never_shows_a_torn_snapshot() {
    model(2, || {
        let l = Arc::new(PublishedLimits::new());
        let lim = |c_min, c_max| LimitsSnapshot {
            c_min: Bytes(c_min),
            c_max: Bytes(c_max),
            ..LimitsSnapshot::default()
        };
        l.publish(&lim(10, 100));
        l.set_target(Bytes(100));
        // The component lowers the ceiling...
        let writer = {
            let l = l.clone();
            thread::spawn(move || {
                l.publish(&lim(10, 40));
            })
        };
        // ...while the ARC shrinks and grows its target.
        let arc = {
            let l = l.clone();
            thread::spawn(move || {
                l.reduce_target(Bytes(30), Bytes(1000), 7);
                l.grow_target(Bytes(50));
            })
        };
        assert_consistent(&l.snapshot());
        writer.join().unwrap();
        arc.join().unwrap();
        let s = l.snapshot();
        assert_consistent(&s);
        assert_eq!(s.c_max, Bytes(40));
    });
}

#[test]
fn set_p_racing_reduce_target_keeps_p_at_most_c() {
    model(2, || {
        let l = Arc::new(PublishedLimits::new());
        l.publish(&LimitsSnapshot {
            c_min: Bytes(10),
            c_max: Bytes(100),
            ..LimitsSnapshot::default()
        });
        l.set_target(Bytes(100));
        // The ARC adapts p from one thread while it shrinks c on another.
        let adapt = {
            let l = l.clone();
            thread::spawn(move || l.set_p(Bytes(90)))
        };
        l.reduce_target(Bytes(80), Bytes(u64::MAX), 1);
        adapt.join().unwrap();
        let s = l.snapshot();
        assert!(s.p <= s.c, "p above c: {s:?}");
        assert!(l.p() <= l.c(), "p() {:?} above c() {:?}", l.p(), l.c());
    });
}

#[test]
fn racing_advances_of_the_manual_clock_both_count() {
    model(2, || {
        let p = Arc::new(StdPlatform::manual());
        let other = {
            let p = p.clone();
            thread::spawn(move || p.advance(Hrtime(3)))
        };
        p.advance(Hrtime(5));
        other.join().unwrap();
        assert_eq!(p.now(), Hrtime(8));
    });
}
