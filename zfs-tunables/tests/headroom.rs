//! Headroom reservations: the rejection rule, the ceiling, the
//! `arc_available_memory()` term and waiting.

#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::thread;

use common::{booted, host_gib, PS};
use zfs_tunables::arc_limits::compute_lenient;
use zfs_tunables::errno::{EINTR, ENOENT, ENOMEM, ETIME};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{
    AdminValues, ArcTunables, Bytes, Generation, HostMemory, Hrtime, Pages, Platform,
    ReleaseOutcome, ReservationId, TunableError, WaitTicket, GIB, MIB,
};

#[test]
fn reservations_are_checked_in_bytes_not_pages() {
    let t = booted(128, Generation::Current);
    let s = t.limits();
    assert_eq!(s.c_min, Bytes(GIB));
    let allmem = t.configured_limits().allmem;
    assert_eq!(s.c_max, Bytes(allmem.0 - GIB));

    let before = (t.limits(), t.headroom_stats());
    let e = t.reserve("vmm", Bytes(126 * GIB)).unwrap_err();
    assert_eq!(e.to_errno(), ENOMEM, "{e}");
    assert_eq!(
        (t.limits(), t.headroom_stats().reserved),
        (before.0, before.1.reserved)
    );
    assert_eq!(t.headroom_stats().counters.rejections_never_fit, 1);

    // OS-8005's rule: `reserved_pages + arc_c_min > arc_c_max` with pages
    // on the left and bytes on the right: it would have accepted.
    let pages = Bytes(126 * GIB).to_pages_roundup(PS).0;
    assert!(pages + s.c_min.0 <= s.c_max.0);

    let id = t.reserve("vmm", Bytes(100 * GIB)).unwrap();
    assert_eq!(t.headroom_stats().reserved, Bytes(100 * GIB));
    // A second one that fits the host but not next to the first: ENOMEM,
    // counted as "no headroom now".
    let e = t.reserve("vmm", Bytes(30 * GIB)).unwrap_err();
    assert!(matches!(e, TunableError::NoHeadroom { .. }), "{e}");
    assert_eq!(e.to_errno(), ENOMEM);
    t.release(id).unwrap();
}

#[test]
fn seed_4g_c_min_is_358_mib() {
    let host = HostMemory::new(Pages(1_045_110), PS);
    let (l, _) = compute_lenient(&host, Generation::Y2021, &AdminValues::default());
    assert_eq!(l.c_min.0 / MIB, 358);
    let t = ArcTunables::new(StdPlatform::manual(), host, Generation::Y2021);
    assert_eq!(t.limits().c_min.0 / MIB, 358);
}

#[test]
fn reserve_then_release_restores_everything() {
    let t = booted(64, Generation::Current);
    let limits = t.limits();
    let stats = t.headroom_stats();
    let id = t.reserve("vmm", Bytes(20 * GIB)).unwrap();
    let s = t.limits();
    assert_eq!(s.c_max, Bytes(limits.c_max.0 - 20 * GIB));
    assert_eq!(s.c, s.c_max);
    assert_eq!(s.dbuf_cache_max, Bytes(s.c_max.0 >> 5));
    assert_eq!(
        t.release(id).unwrap(),
        ReleaseOutcome::Released {
            reserved: Bytes(20 * GIB)
        }
    );
    let after = t.headroom_stats();
    assert_eq!(t.limits().c_max, limits.c_max);
    assert_eq!(t.limits().meta_limit, limits.meta_limit);
    assert_eq!(t.limits().dbuf_cache_max, limits.dbuf_cache_max);
    assert_eq!(after.reserved, stats.reserved);
    assert_eq!(after.pending, stats.pending);
    assert_eq!(after.c_max_effective, stats.c_max_effective);
    assert_eq!(after.counters.reserves, 1);
    assert_eq!(after.counters.releases, 1);
    // Released while still pending, with nothing evicted yet (the ARC is
    // still at its old size): the cut is cancelled, c is back.
    assert_eq!(t.limits().c, limits.c);
    // Released once allocated: the target does not jump back up; the ARC
    // grows into the room.
    let id2 = t.reserve("vmm", Bytes(20 * GIB)).unwrap();
    t.mark_allocated(id2, Bytes(20 * GIB)).unwrap();
    t.release(id2).unwrap();
    assert_eq!(t.limits().c, Bytes(limits.c_max.0 - 20 * GIB));
    // Twice: harmless; never issued: an error.
    assert_eq!(t.release(id).unwrap(), ReleaseOutcome::AlreadyReleased);
    assert_eq!(t.headroom_stats().counters.releases, 2);
    let e = t.release(ReservationId(12345)).unwrap_err();
    assert_eq!(e.to_errno(), ENOENT);
}

#[test]
fn ceiling_never_drops_below_c_min() {
    let t = booted(16, Generation::Current);
    let s = t.limits();
    let room = t.headroom_stats().c_max_base.0 - s.c_min.0;
    let id = t.reserve("vmm", Bytes(room)).unwrap();
    assert_eq!(t.limits().c_max, s.c_min);
    assert_eq!(t.limits().c, s.c_min);
    t.release(id).unwrap();
}

#[test]
fn admin_max_and_reservations_coexist() {
    let t = booted(128, Generation::Current);
    let base = t.headroom_stats().c_max_base;
    let a = t.reserve("vmm", Bytes(64 * GIB)).unwrap();
    // An admin cap below base - reserved wins.
    t.set("zfs_arc_max", 32 * GIB).unwrap();
    assert_eq!(t.limits().c_max, Bytes(32 * GIB));
    // A cap above it: base - reserved wins.
    t.set("zfs_arc_max", 100 * GIB).unwrap();
    assert_eq!(t.limits().c_max, Bytes(base.0 - 64 * GIB));
    // c_max_eff = MAX(c_min, MIN(admin, base - reserved)) in general.
    t.set("zfs_arc_max", 40 * GIB).unwrap();
    let b = t.reserve("vmm", Bytes(30 * GIB)).unwrap();
    let expect = (base.0 - 94 * GIB).clamp(GIB, 40 * GIB);
    assert_eq!(t.limits().c_max, Bytes(expect));
    t.release(a).unwrap();
    t.release(b).unwrap();
    // Released: the admin's value, not the old default.
    assert_eq!(t.limits().c_max, Bytes(40 * GIB));
    assert_eq!(t.get("zfs_arc_max").unwrap(), 40 * GIB);
}

#[test]
fn headroom_term_counts_pending_bytes_only() {
    let t = booted(64, Generation::Current);
    let free = Pages(4 * 262_144); // 4 GiB
    let lotsfree = Pages(131_072); // 512 MiB
    let desfree = Pages(65_536); // 256 MiB
    let term = |free: Pages| t.headroom_term(free, lotsfree, desfree);
    assert_eq!(term(free), i64::MAX);
    let id = t.reserve("vmm", Bytes(10 * GIB)).unwrap();
    let before = term(free);
    // FMR_LOTSFREE with the pending bytes as needfree.
    assert_eq!(
        before,
        (4 * GIB) as i64 - (10 * GIB) as i64 - (512 * MIB) as i64 - (256 * MIB) as i64
    );
    // The guest allocates 3 GiB: freemem drops by 3 GiB and pending too;
    // the term is unchanged, so the ARC frees nothing twice.
    t.mark_allocated(id, Bytes(3 * GIB)).unwrap();
    let free_after = Pages(free.0 - 3 * 262_144);
    assert_eq!(term(free_after), before);
    // Marking raises the term by exactly the bytes marked.
    assert_eq!(term(free), before + (3 * GIB) as i64);
    t.mark_allocated(id, Bytes(7 * GIB)).unwrap();
    assert_eq!(term(free), i64::MAX);
    // No overflow at extremes.
    let id2 = t.reserve("vmm", Bytes(GIB)).unwrap();
    assert!(t.headroom_term(Pages(u64::MAX), Pages(0), Pages(0)) > 0);
    assert!(t.headroom_term(Pages(0), Pages(u64::MAX), Pages(u64::MAX)) < 0);
    assert!(t.headroom_term(Pages(u64::MAX), Pages(u64::MAX), Pages(u64::MAX)) < 0);
    t.release(id).unwrap();
    t.release(id2).unwrap();
}

#[test]
fn the_kick_cuts_c_by_the_deficit_not_in_flight_while_a_reservation_is_pending() {
    let t = booted(64, Generation::Current);
    let (lotsfree, desfree) = (Pages(131_072), Pages(65_536)); // 512 + 256 MiB
    let free = Pages(4 * 262_144); // 4 GiB
    let (size, c) = (Bytes(40 * GIB), Bytes(38 * GIB));
    // Nothing pending: no cut, whatever the figures say.
    assert_eq!(t.headroom_cut(i64::MIN, size, c, Bytes(GIB)), Bytes::ZERO);
    let id = t.reserve("vmm", Bytes(10 * GIB)).unwrap();
    let term = t.headroom_term(free, lotsfree, desfree);
    // 4 GiB free, 10 GiB pending, 768 MiB kept: 6.75 GiB short; 2 GiB
    // are on their way from the adjust zthr and 1 GiB from the depots.
    assert_eq!(term, -((6 * GIB + 768 * MIB) as i64));
    let cut = t.headroom_cut(term, size, c, Bytes(GIB));
    assert_eq!(cut, Bytes(3 * GIB + 768 * MIB));
    assert_eq!(
        cut,
        zfs_tunables::headroom_cut(term, size, c, Bytes(GIB), Bytes::ZERO)
    );
    // Claimed, the bytes leave the term, and a stale negative term read
    // before the claim cuts nothing either.
    t.claim(id).unwrap();
    assert_eq!(t.headroom_term(free, lotsfree, desfree), i64::MAX);
    assert_eq!(t.headroom_cut(-1, size, c, Bytes::ZERO), Bytes::ZERO);
    t.release(id).unwrap();
}

#[test]
fn the_first_kick_after_a_reservation_also_cuts_a_readers_float() {
    let t = booted(64, Generation::Current);
    let (lotsfree, desfree) = (Pages(131_072), Pages(65_536)); // 512 + 256 MiB
    let free = Pages(4 * 262_144); // 4 GiB
    let c0 = Bytes(30 * GIB);
    t.published().set_target(c0);
    // A reader holds the ARC 6 MiB above c, and 4 MiB sit in the depots.
    let size = Bytes(c0.0 + 6 * MIB);
    let id = t.reserve("vmm", Bytes(10 * GIB)).unwrap();
    let c = t.published().c();
    assert_eq!(c, c0, "a ceiling above c leaves c where it was");
    let term = t.headroom_term(free, lotsfree, desfree);
    assert_eq!(term, -((6 * GIB + 768 * MIB) as i64));
    let no_float = zfs_tunables::headroom_cut(term, size, c, Bytes(4 * MIB), Bytes::ZERO);
    // The float (6 + 4 MiB) is not on its way to freemem: cut as well.
    let cut = t.headroom_cut(term, size, c, Bytes(4 * MIB));
    assert_eq!(cut, Bytes(no_float.0 + 10 * MIB));
    // Once: the next kick for the same reservations counts no float.
    assert_eq!(t.headroom_cut(term, size, c, Bytes(4 * MIB)), no_float);
    // A later reservation while one is pending keeps no float of its own
    // (the first cut took it); after all are gone, a new one measures
    // from the target it finds.
    t.release(id).unwrap();
    t.published().set_target(c0);
    let id = t.reserve("vmm", Bytes(10 * GIB)).unwrap();
    let id2 = t.reserve("vmm", Bytes(GIB)).unwrap();
    let term = t.headroom_term(free, lotsfree, desfree);
    let c = t.published().c();
    assert_eq!(
        t.headroom_cut(term, size, c, Bytes::ZERO),
        zfs_tunables::headroom_cut(term, size, c, Bytes::ZERO, Bytes(6 * MIB))
    );
    // An ARC at its target has no float.
    t.release(id).unwrap();
    t.release(id2).unwrap();
    t.published().set_target(c0);
    let id = t.reserve("vmm", Bytes(10 * GIB)).unwrap();
    let term = t.headroom_term(free, lotsfree, desfree);
    assert_eq!(
        t.headroom_cut(term, c0, c0, Bytes(4 * MIB)),
        zfs_tunables::headroom_cut(term, c0, c0, Bytes(4 * MIB), Bytes::ZERO)
    );
    t.release(id).unwrap();
}

#[test]
fn a_waiter_keeps_lotsfree_and_desfree_free() {
    let t = shared(16);
    t.platform().set_lotsfree(Pages(2000));
    let id = t.reserve("vmm", Bytes(5_000 * 4096)).unwrap();
    let mut ticket = WaitTicket::default();
    let deadline = Hrtime::from_secs(60);
    // pending 5000 + lotsfree 2000 + desfree 1000 = 8000 pages.
    t.platform().set_freemem(Pages(7_999));
    assert_eq!(t.poll_wait(id, deadline, &mut ticket), Ok(false));
    // The ARC's reap sees exactly the missing page.
    assert_eq!(
        t.headroom_term(Pages(7_999), Pages(2000), Pages(1000)),
        -4096
    );
    t.platform().set_freemem(Pages(8_000));
    assert_eq!(t.poll_wait(id, deadline, &mut ticket), Ok(true));
    t.release(id).unwrap();
}

fn shared(gib: u64) -> Arc<ArcTunables<StdPlatform>> {
    let t = ArcTunables::new(StdPlatform::manual(), host_gib(gib), Generation::Current);
    t.finish_boot();
    t.platform().set_desfree(Pages(1000));
    t.platform().set_freemem(Pages(10_000));
    Arc::new(t)
}

/// Waits (without sleeping) until `n` threads are asleep in `wait`.
fn until_sleeping(t: &ArcTunables<StdPlatform>, n: u64) {
    while t.platform().sleepers() != n {
        thread::yield_now();
    }
}

/// Waits (without sleeping) until threads have gone to sleep in `wait`
/// `begun` times in all and one is asleep now, or the waiter `w` has
/// returned: a woken waiter that checks and sleeps again is seen, which
/// [`until_sleeping`] alone cannot tell from one that never woke.
fn until_asleep_again(
    t: &ArcTunables<StdPlatform>,
    begun: u64,
    w: &thread::JoinHandle<Result<(), TunableError>>,
) {
    while !(t.platform().sleeps_begun() >= begun && t.platform().sleepers() == 1) {
        if w.is_finished() {
            return;
        }
        thread::yield_now();
    }
}

#[test]
fn a_waiter_is_woken_by_eviction_progress() {
    let t = shared(16);
    let id = t.reserve("vmm", Bytes(100_000 * 4096)).unwrap();
    let w = {
        let t = Arc::clone(&t);
        thread::spawn(move || t.wait(id, Hrtime::from_secs(60)))
    };
    until_sleeping(&t, 1);
    assert_eq!(t.platform().sleeps_begun(), 1);
    // Not enough yet: a progress report wakes it, it checks and sleeps
    // again (a waiter that proceeded here would have returned).
    t.platform().set_freemem(Pages(50_000));
    t.notify_progress();
    until_asleep_again(&t, 2, &w);
    assert!(
        !w.is_finished(),
        "the waiter left with only 50000 pages free"
    );
    assert_eq!(t.platform().sleeps_begun(), 2);
    // Enough: pending (100000) + desfree (1000).
    t.platform().set_freemem(Pages(101_000));
    t.notify_progress();
    assert_eq!(w.join().unwrap(), Ok(()));
    let c = t.headroom_stats().counters;
    assert_eq!((c.waits, c.wait_timeouts, c.wait_interrupts), (1, 0, 0));
    // The clock never moved: it was woken, not timed out.
    assert_eq!(t.platform().now(), Hrtime(0));
    t.release(id).unwrap();
}

#[test]
fn a_waiter_times_out_at_its_deadline() {
    let t = shared(16);
    let id = t.reserve("vmm", Bytes(100_000 * 4096)).unwrap();
    let w = {
        let t = Arc::clone(&t);
        thread::spawn(move || t.wait(id, Hrtime::from_secs(60)))
    };
    until_sleeping(&t, 1);
    // One second short of the deadline: it wakes, sees the time, and
    // sleeps again (a deadline that fired early would have returned).
    t.platform().advance(Hrtime::from_secs(59));
    until_asleep_again(&t, 2, &w);
    assert!(!w.is_finished(), "the wait ended a second early");
    // Woken by progress that is not enough, still before the deadline: it
    // checks the time itself, and sleeps again.
    t.platform().set_freemem(Pages(50_000));
    t.notify_progress();
    until_asleep_again(&t, 3, &w);
    assert!(!w.is_finished(), "the wait ended a second early");
    assert_eq!(t.headroom_stats().counters.wait_timeouts, 0);
    t.platform().advance(Hrtime::from_secs(1));
    let e = w.join().unwrap().unwrap_err();
    assert_eq!(e.to_errno(), ETIME);
    assert_eq!(t.headroom_stats().counters.wait_timeouts, 1);
    // The reservation is still there for the caller to roll back.
    assert!(t.reservation(id).is_some());
    t.release(id).unwrap();
}

#[test]
fn a_waiter_returns_eintr_when_interrupted() {
    let t = shared(16);
    let id = t.reserve("vmm", Bytes(100_000 * 4096)).unwrap();
    let w = {
        let t = Arc::clone(&t);
        thread::spawn(move || t.wait(id, Hrtime::from_secs(60)))
    };
    until_sleeping(&t, 1);
    t.platform().interrupt();
    let e = w.join().unwrap().unwrap_err();
    assert_eq!(e.to_errno(), EINTR);
    assert_eq!(t.headroom_stats().counters.wait_interrupts, 1);
    t.release(id).unwrap();
}

#[test]
fn a_waiter_learns_its_reservation_was_released() {
    let t = shared(16);
    let id = t.reserve("vmm", Bytes(100_000 * 4096)).unwrap();
    let w = {
        let t = Arc::clone(&t);
        thread::spawn(move || t.wait(id, Hrtime::from_secs(60)))
    };
    until_sleeping(&t, 1);
    t.release(id).unwrap();
    assert_eq!(w.join().unwrap(), Err(TunableError::Released));
}

#[test]
fn waiters_are_served_in_order() {
    let t = shared(16);
    let a = t.reserve("vmm", Bytes(6_000 * 4096)).unwrap();
    let b = t.reserve("vmm", Bytes(6_000 * 4096)).unwrap();
    let mut ta = WaitTicket::default();
    let mut tb = WaitTicket::default();
    let deadline = Hrtime::from_secs(60);
    // 10000 free pages: enough for a (6000 + 1000), not for a and b.
    assert_eq!(t.poll_wait(a, deadline, &mut ta), Ok(true));
    assert_eq!(t.poll_wait(b, deadline, &mut tb), Ok(false));
    t.mark_allocated(a, Bytes(6_000 * 4096)).unwrap();
    t.platform().set_freemem(Pages(4_000));
    assert_eq!(t.poll_wait(b, deadline, &mut tb), Ok(false));
    t.platform().set_freemem(Pages(7_000));
    assert_eq!(t.poll_wait(b, deadline, &mut tb), Ok(true));
    assert_eq!(t.headroom_stats().counters.waits, 1);
    t.platform().advance(Hrtime::from_secs(61));
    let c = t.reserve("vmm", Bytes(GIB)).unwrap();
    let mut tc = WaitTicket::default();
    assert_eq!(
        t.poll_wait(c, deadline, &mut tc),
        Err(TunableError::TimedOut)
    );
    for id in [a, b, c] {
        t.release(id).unwrap();
    }
}

#[test]
fn a_rolled_back_reservation_cancels_the_cut_not_yet_evicted() {
    let t = booted(64, Generation::Current);
    let before = t.limits().c;
    t.platform().set_arc_size(before);
    let id = t.reserve("vmm", Bytes(20 * GIB)).unwrap();
    // The reaper cuts c further for the pending bytes...
    let cut = t.published().reduce_target(Bytes(10 * GIB), before, 7);
    assert!(cut < t.limits().c_max);
    // ...the evictor has freed only part of it when the create rolls back.
    let size = Bytes(cut.0 + 6 * GIB);
    t.platform().set_arc_size(size);
    t.release(id).unwrap();
    // The rest of the cut is cancelled: c is back at the ARC's size.
    assert_eq!(t.limits().c, size);
    // A release of a fully allocated reservation leaves c alone.
    let id = t.reserve("vmm", Bytes(GIB)).unwrap();
    t.mark_allocated(id, Bytes(GIB)).unwrap();
    let c = t.published().reduce_target(Bytes(GIB), size, 7);
    t.platform().set_arc_size(before);
    t.release(id).unwrap();
    assert_eq!(t.limits().c, c);
}

#[test]
fn a_rollback_keeps_the_cut_another_pending_reservation_needs() {
    let t = booted(64, Generation::Current);
    let size = t.limits().c;
    t.platform().set_arc_size(size);
    let a = t.reserve("vmm", Bytes(10 * GIB)).unwrap();
    let b = t.reserve("vmm", Bytes(10 * GIB)).unwrap();
    let cut = t.published().reduce_target(Bytes(20 * GIB), size, 7);
    t.release(a).unwrap();
    assert_eq!(t.limits().c, cut);
    t.release(b).unwrap();
    assert_eq!(t.limits().c, std::cmp::min(size, t.limits().c_max));
}

/// An owner that grows in steps and shrinks by any amount (the VMM
/// reservoir): each step waits as a reservation of its own and is folded
/// into what the owner holds once allocated; a shrink raises the ceiling
/// by exactly what it returns, and the last one restores it.
#[test]
fn a_stepwise_owner_lowers_and_restores_the_ceiling_exactly() {
    let t = booted(64, Generation::Current);
    let ceiling = t.limits().c_max;
    let held = t.reserve("reservoir", Bytes(4 * GIB)).unwrap();
    t.claim(held).unwrap();
    t.mark_allocated(held, Bytes(4 * GIB)).unwrap();
    let step = t.reserve("reservoir", Bytes(2 * GIB)).unwrap();
    assert_eq!(t.limits().c_max, Bytes(ceiling.0 - 6 * GIB));
    t.claim(step).unwrap();
    t.merge_allocated(held, step).unwrap();
    assert_eq!(t.limits().c_max, Bytes(ceiling.0 - 6 * GIB));
    assert_eq!(t.reservation(held), Some((Bytes(6 * GIB), Bytes::ZERO)));
    assert_eq!(t.reservation(step), None);
    assert_eq!(t.headroom_stats().pending, Bytes::ZERO);

    assert_eq!(t.shrink(held, Bytes(GIB + 8192)), Ok(Bytes(5 * GIB - 8192)));
    assert_eq!(t.limits().c_max, Bytes(ceiling.0 - 5 * GIB + 8192));
    let before = t.limits();
    let e = t.shrink(held, Bytes(6 * GIB)).unwrap_err();
    assert!(matches!(e, TunableError::OutOfBounds { .. }), "{e}");
    assert_eq!(t.limits(), before);
    assert_eq!(t.shrink(held, Bytes(5 * GIB - 8192)), Ok(Bytes::ZERO));
    assert_eq!(t.limits().c_max, ceiling);
    assert_eq!(t.headroom_stats().reserved, Bytes::ZERO);
    assert_eq!(t.headroom_stats().reservations, 0);
    assert_eq!(t.release(held), Ok(ReleaseOutcome::AlreadyReleased));
}

#[test]
fn a_waiter_also_needs_its_bytes_in_availrmem_above_the_arcs_floor() {
    let t = shared(16);
    t.platform().set_lotsfree(Pages(2000));
    // freemem covers 5000 pending + 2000 lotsfree + 1000 desfree.
    t.platform().set_freemem(Pages(8_000));
    t.platform()
        .set_admission(Some(zfs_tunables::AdmissionFigures {
            availrmem: Pages(1_000_000),
            availrmem_floor: Pages(1000),
            arc_evictable: Bytes(8 * GIB),
            arc_evicted_cached: Bytes::ZERO,
        }));
    let id = t.reserve("vmm", Bytes(5_000 * 4096)).unwrap();
    let mut ticket = WaitTicket::default();
    let deadline = Hrtime::from_secs(60);
    // availrmem one page short of the pending bytes above the floor.
    let set_availrmem = |pages: u64| {
        t.platform()
            .set_admission(Some(zfs_tunables::AdmissionFigures {
                availrmem: Pages(pages),
                availrmem_floor: Pages(1000),
                arc_evictable: Bytes(8 * GIB),
                arc_evicted_cached: Bytes::ZERO,
            }))
    };
    set_availrmem(5_999);
    assert_eq!(t.poll_wait(id, deadline, &mut ticket), Ok(false));
    // The ARC's availrmem half of the term sees exactly that page.
    assert_eq!(t.headroom_term_availrmem(Pages(5_999), Pages(1000)), -4096);
    set_availrmem(6_000);
    assert_eq!(t.poll_wait(id, deadline, &mut ticket), Ok(true));
    t.release(id).unwrap();
}

#[test]
fn the_availrmem_half_counts_pending_bytes_only_and_saturates() {
    let t = booted(64, Generation::Current);
    assert_eq!(
        t.headroom_term_availrmem(Pages(0), Pages(u64::MAX)),
        i64::MAX
    );
    let id = t.reserve("vmm", Bytes(10 * GIB)).unwrap();
    let avail = Pages(12 * 262_144); // 12 GiB
    let floor = Pages(262_144); // 1 GiB
    assert_eq!(
        t.headroom_term_availrmem(avail, floor),
        (12 * GIB) as i64 - (GIB as i64) - (10 * GIB) as i64
    );
    t.mark_allocated(id, Bytes(4 * GIB)).unwrap();
    assert_eq!(
        t.headroom_term_availrmem(avail, floor),
        (12 * GIB) as i64 - (GIB as i64) - (6 * GIB) as i64
    );
    assert!(t.headroom_term_availrmem(Pages(u64::MAX), Pages(0)) > 0);
    assert!(t.headroom_term_availrmem(Pages(0), Pages(u64::MAX)) < 0);
    t.release(id).unwrap();
}

/// `arc_reap_cb()`'s rule while headroom is pending, pass by pass.
#[test]
fn the_reaper_asks_for_the_headroom_deficit_less_what_arrives() {
    let t = booted(64, Generation::Current);
    let slack = 256 * MIB as i64; // c >> arc_shrink_shift
    let deficit = 6 * GIB as i64;
    let stock = |free: i64| slack - free;
    let (to_evict, depots) = (Bytes(GIB), Bytes(2 * GIB));
    // Nothing pending, another reason: the stock figure.
    assert_eq!(
        t.reap_to_free(stock(-deficit), -deficit, false, to_evict, depots),
        stock(-deficit)
    );
    // Nothing pending, but the pass began for the headroom term (its
    // guest claimed during the sleep): no slack, only a real deficit.
    assert_eq!(
        t.reap_to_free(stock(0), 0, true, Bytes::ZERO, Bytes::ZERO),
        0
    );
    assert_eq!(
        t.reap_to_free(
            stock(-(GIB as i64)),
            -(GIB as i64),
            true,
            Bytes::ZERO,
            Bytes::ZERO
        ),
        GIB as i64
    );
    let id = t.reserve("vmm", Bytes(10 * GIB)).unwrap();
    // First pass: the deficit without the slack, less both in flight.
    assert_eq!(
        t.reap_to_free(stock(-deficit), -deficit, true, to_evict, depots),
        deficit - (3 * GIB) as i64
    );
    // The depots arrived (the deficit is down by them): counted again.
    let smaller = deficit - 2 * GIB as i64;
    assert_eq!(
        t.reap_to_free(stock(-smaller), -smaller, true, to_evict, depots),
        smaller - (3 * GIB) as i64
    );
    // They did not (the deficit is more than the last pass less its
    // depots: a reader took as much from freemem), so the pass asks for
    // the deficit less only what the adjust thread still has to evict.
    assert_eq!(
        t.reap_to_free(stock(-smaller), -smaller, true, to_evict, depots),
        smaller - GIB as i64
    );
    // A reader's small float: at least the stock slack, never beyond the
    // deficit, so one pass closes it.
    let float = 10 * MIB as i64;
    let f = Bytes(5 * MIB);
    assert_eq!(t.reap_to_free(stock(-float), -float, true, f, f), 0);
    assert_eq!(t.reap_to_free(stock(-float), -float, true, f, f), float);
    // A stall: the deficit is all still to evict and stays where it was,
    // as expected of it: the first pass after the float asks for the
    // slack, and no later pass asks again.
    let stalled = Bytes(deficit as u64);
    assert_eq!(
        t.reap_to_free(stock(-deficit), -deficit, true, stalled, Bytes::ZERO),
        slack
    );
    for _ in 0..3 {
        assert_eq!(
            t.reap_to_free(stock(-deficit), -deficit, true, stalled, Bytes::ZERO),
            0
        );
    }
    // A new reservation starts a new deficit: its first pass counts the
    // depots even though the deficit grew.
    let id2 = t.reserve("vmm", Bytes(GIB)).unwrap();
    let bigger = deficit + GIB as i64;
    assert_eq!(
        t.reap_to_free(stock(-bigger), -bigger, true, to_evict, depots),
        bigger - (3 * GIB) as i64
    );
    // Another reason (generic pressure): the stock figure less both.
    let free = -(GIB as i64);
    assert_eq!(
        t.reap_to_free(stock(free), free, false, to_evict, depots),
        stock(free) - (3 * GIB) as i64
    );
    // The headroom term met: nothing to ask.
    assert!(t.reap_to_free(slack - 5, 5, true, Bytes::ZERO, Bytes::ZERO) <= 0);
    // Extremes saturate.
    assert_eq!(
        t.reap_to_free(i64::MIN, i64::MIN, true, Bytes(u64::MAX), Bytes(u64::MAX)),
        i64::MAX.saturating_sub(i64::MAX)
    );
    t.release(id).unwrap();
    t.release(id2).unwrap();
}

/// A later step of one object waits in its first step's place: vmm
/// queues a guest's later segments with its first, so a guest that
/// started first is not made to wait, between its own segments, for the
/// guests that started since.
#[test]
fn a_reservation_queued_with_an_older_one_waits_in_its_place() {
    let t = shared(64);
    t.platform().set_lotsfree(Pages(0));
    t.platform().set_desfree(Pages(0));
    let page = 4096;
    let first = t.reserve("vmm", Bytes(1000 * page)).unwrap();
    let younger = t.reserve("vmm", Bytes(1000 * page)).unwrap();
    t.claim(first).unwrap();
    t.mark_allocated(first, Bytes(1000 * page)).unwrap();
    // The first guest's second segment, queued with its first.
    let second = t
        .reserve_queued_with("vmm", Bytes(500 * page), Bytes::ZERO, Some(first))
        .unwrap();
    // A reservation made after it without a place keeps the last one.
    let last = t.reserve("vmm", Bytes(100 * page)).unwrap();
    let deadline = Hrtime::from_secs(60);
    let mut tickets = [WaitTicket::default(); 3];
    // Free memory for the second segment alone: it proceeds, the younger
    // guest (ahead of it in creation order) still waits, and so does the
    // last, behind both.
    t.platform().set_freemem(Pages(500));
    assert_eq!(t.poll_wait(second, deadline, &mut tickets[0]), Ok(true));
    assert_eq!(t.poll_wait(younger, deadline, &mut tickets[1]), Ok(false));
    assert_eq!(t.poll_wait(last, deadline, &mut tickets[2]), Ok(false));
    // Unqueued, it would have waited for the younger guest's 1000 pages.
    let unqueued = t.reserve("vmm", Bytes(500 * page)).unwrap();
    assert_eq!(
        t.poll_wait(unqueued, deadline, &mut WaitTicket::default()),
        Ok(false)
    );
    // A place that is not live, or younger, changes nothing.
    t.release(last).unwrap();
    let stale = t
        .reserve_queued_with("vmm", Bytes(page), Bytes::ZERO, Some(last))
        .unwrap();
    t.platform().set_freemem(Pages(1));
    assert_eq!(
        t.poll_wait(stale, deadline, &mut WaitTicket::default()),
        Ok(false)
    );
    for id in [first, younger, second, unqueued, stale] {
        t.release(id).unwrap();
    }
}
