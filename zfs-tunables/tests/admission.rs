//! Admission: a reservation the host cannot give without paging is
//! refused at once, with what it can give in the message, and nothing
//! changes; one it can give is granted; the margin is a tunable.

#![cfg(not(loom))]

mod common;

use common::{booted, PS};
use proptest::prelude::*;
use zfs_tunables::errno::{EINVAL, ENOMEM};
use zfs_tunables::headroom::HeadroomTable;
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{
    AdmissionFigures, ArcTunables, Bytes, Generation, HostSupply, Pages, TunableError, GIB, MIB,
};

/// Pages in a GiB at the test's page size.
const GIB_PAGES: u64 = GIB / 4096;
/// `c_min` of the 64 GiB host: allmem/64, a little under 1 GiB.
const C_MIN: u64 = (64 * GIB - 256 * MIB) / 64;
/// What [`host`]`(21, 4)` can give: 4 GiB free + the ARC above `c_min`
/// - the 1.5 GiB margin.
const CAN_GIVE: u64 = 4 * GIB + 21 * GIB - C_MIN - 3 * GIB / 2;

/// A 64 GiB host whose ARC holds `arc_gib` GiB, all of it evictable,
/// with `free_gib` GiB free and plenty of `availrmem`; lotsfree 1 GiB,
/// desfree 512 MiB (margin 1.5 GiB).
fn host(arc_gib: u64, free_gib: u64) -> ArcTunables<StdPlatform> {
    let t = booted(64, Generation::Current);
    let p = t.platform();
    p.set_freemem(Pages(free_gib * GIB_PAGES));
    p.set_lotsfree(Pages(GIB_PAGES));
    p.set_desfree(Pages(GIB_PAGES / 2));
    p.set_arc_size(Bytes(arc_gib * GIB));
    p.set_admission(Some(AdmissionFigures {
        availrmem: Pages(60 * GIB_PAGES),
        availrmem_floor: Pages(2 * GIB_PAGES),
        arc_evictable: Bytes(arc_gib * GIB),
        arc_evicted_cached: Bytes::ZERO,
    }));
    t
}

#[test]
fn a_reservation_the_host_cannot_give_is_refused_at_once_and_changes_nothing() {
    // 4 GiB free + the ARC above c_min - 1.5 GiB margin can be given.
    let t = host(21, 4);
    assert_eq!(t.limits().c_min, Bytes(C_MIN));
    assert_eq!(t.headroom_stats().available_now, Bytes(CAN_GIVE));
    let limits = t.limits();
    let stats = t.headroom_stats();
    let e = t.reserve("vmm", Bytes(23 * GIB)).unwrap_err();
    assert_eq!(e.to_errno(), ENOMEM);
    assert_eq!(
        e,
        TunableError::ShortOfMemory {
            requested: Bytes(23 * GIB),
            available: Bytes(CAN_GIVE),
            margin: Bytes(3 * GIB / 2),
        }
    );
    // The message names the request, what the host can give and the
    // margin, in bytes.
    let msg = e.to_string();
    for n in [23 * GIB, CAN_GIVE, 3 * GIB / 2] {
        assert!(msg.contains(&n.to_string()), "{msg}");
    }
    // Nothing changed but the counter; the evictor was not kicked.
    assert_eq!(t.limits(), limits);
    let after = t.headroom_stats();
    assert_eq!(after.counters.rejections_memory, 1);
    assert_eq!(
        (
            after.reserved,
            after.pending,
            after.reservations,
            after.c_max_effective
        ),
        (
            stats.reserved,
            stats.pending,
            stats.reservations,
            stats.c_max_effective
        )
    );
    assert_eq!(t.platform().kicks(), 0);
    // Exactly what the host can give is granted.
    let id = t.reserve("vmm", Bytes(CAN_GIVE)).unwrap();
    // A second one now competes with the first's pending bytes.
    assert_eq!(t.headroom_stats().available_now, Bytes::ZERO);
    let e = t.reserve("vmm", Bytes(MIB)).unwrap_err();
    assert!(matches!(e, TunableError::ShortOfMemory { .. }), "{e}");
    t.release(id).unwrap();
    t.reserve("vmm", Bytes(MIB)).unwrap();
}

#[test]
fn memory_allocated_from_the_start_is_not_waited_for_and_not_admitted_against() {
    let t = host(21, 4);
    // All the host can give as guest RAM plus 0.7 GiB of page_t
    // overhead: only the guest's RAM will be allocated from free memory.
    let id = t
        .reserve_with_allocated("vmm", Bytes(CAN_GIVE + 700 * MIB), Bytes(700 * MIB))
        .unwrap();
    let s = t.headroom_stats();
    assert_eq!(s.reserved, Bytes(CAN_GIVE + 700 * MIB));
    assert_eq!(s.pending, Bytes(CAN_GIVE));
    t.release(id).unwrap();
    // More allocated than reserved is a caller's error.
    assert_eq!(
        t.reserve_with_allocated("vmm", Bytes(GIB), Bytes(2 * GIB))
            .unwrap_err()
            .to_errno(),
        EINVAL
    );
}

#[test]
fn memory_the_arc_cannot_shed_is_not_counted() {
    // The same host, but the dbuf caches hold 6 GiB of the ARC's 21 GiB
    // (not evictable), and 2 GiB of evicted buffers wait in the ARC's
    // kmem caches: 4 + 15 + 2 - 1.5 = 19.5 GiB (15 GiB is less than the
    // ARC above c_min).
    let t = host(21, 4);
    t.platform().set_admission(Some(AdmissionFigures {
        availrmem: Pages(60 * GIB_PAGES),
        availrmem_floor: Pages(2 * GIB_PAGES),
        arc_evictable: Bytes(15 * GIB),
        arc_evicted_cached: Bytes(2 * GIB),
    }));
    assert_eq!(t.headroom_stats().available_now, Bytes(39 * GIB / 2));
    // An ARC at its floor sheds nothing, however much is evictable.
    t.platform().set_arc_size(t.limits().c_min);
    assert_eq!(t.headroom_stats().available_now, Bytes(9 * GIB / 2));
    // availrmem binds when locked memory leaves less of it than freemem:
    // 3 + 2 - 2 = 3 GiB against 4 + 2 - 1.5 on the free side.
    t.platform().set_admission(Some(AdmissionFigures {
        availrmem: Pages(3 * GIB_PAGES),
        availrmem_floor: Pages(2 * GIB_PAGES),
        arc_evictable: Bytes(15 * GIB),
        arc_evicted_cached: Bytes(2 * GIB),
    }));
    assert_eq!(t.headroom_stats().available_now, Bytes(3 * GIB));
}

#[test]
fn the_margin_is_a_tunable_between_desfree_and_allmem() {
    let t = host(21, 4);
    assert_eq!(t.get("zfs_arc_headroom_margin").unwrap(), 0);
    assert_eq!(t.headroom_stats().margin, Bytes(3 * GIB / 2));
    // Below desfree (512 MiB): refused, with the bounds in force.
    let e = t.set("zfs_arc_headroom_margin", 256 * MIB).unwrap_err();
    assert_eq!(e.to_errno(), EINVAL);
    assert!(e.to_string().contains(&(512 * MIB).to_string()), "{e}");
    assert_eq!(t.headroom_stats().margin, Bytes(3 * GIB / 2));
    // Above allmem: refused.
    let allmem = t.configured_limits().allmem.0;
    let e = t.set("zfs_arc_headroom_margin", allmem + 1).unwrap_err();
    assert_eq!(e.to_errno(), EINVAL);
    // Down to desfree: a guest that did not fit now does.
    assert!(t.reserve("vmm", Bytes(23 * GIB)).is_err());
    t.set("zfs_arc_headroom_margin", 512 * MIB).unwrap();
    assert_eq!(t.headroom_stats().margin, Bytes(512 * MIB));
    let id = t.reserve("vmm", Bytes(23 * GIB)).unwrap();
    // The headroom term and the waiter use the same margin: the ARC is
    // asked for exactly pending + margin - free.
    let free = Pages(4 * GIB_PAGES);
    assert_eq!(
        t.headroom_term(free, Pages(GIB_PAGES), Pages(GIB_PAGES / 2)),
        (4 * GIB) as i64 - (23 * GIB) as i64 - (512 * MIB) as i64
    );
    let mut ticket = zfs_tunables::WaitTicket::default();
    let deadline = zfs_tunables::Hrtime::from_secs(60);
    t.platform()
        .set_freemem(Bytes(23 * GIB + 512 * MIB - 4096).to_pages_roundup(PS));
    assert_eq!(t.poll_wait(id, deadline, &mut ticket), Ok(false));
    t.platform()
        .set_freemem(Bytes(23 * GIB + 512 * MIB).to_pages_roundup(PS));
    assert_eq!(t.poll_wait(id, deadline, &mut ticket), Ok(true));
    t.release(id).unwrap();
    // 0 puts the default back.
    t.reset("zfs_arc_headroom_margin").unwrap();
    assert_eq!(t.headroom_stats().margin, Bytes(3 * GIB / 2));
}

#[test]
fn without_a_view_of_the_host_only_the_ceiling_rule_applies() {
    let t = booted(64, Generation::Current);
    assert_eq!(t.headroom_stats().available_now, Bytes(u64::MAX));
    let id = t.reserve("vmm", Bytes(40 * GIB)).unwrap();
    t.release(id).unwrap();
}

/// The estimate, written out plainly in 128-bit arithmetic.
fn reference(h: &HostSupply, earlier: u64) -> u128 {
    let shed = std::cmp::min(h.arc_evictable.0, h.arc_size.0.saturating_sub(h.c_min.0));
    let back = u128::from(shed) + u128::from(h.arc_evicted_cached.0);
    let side = |have: u64, keep: u64| {
        let total = u128::from(have) + back;
        let minus = u128::from(earlier) + u128::from(keep);
        total.saturating_sub(minus)
    };
    std::cmp::min(
        side(h.freemem.0, h.margin.0),
        side(h.availrmem.0, h.availrmem_floor.0),
    )
}

fn supply() -> impl Strategy<Value = HostSupply> {
    // Mostly host-sized figures, sometimes extreme ones.
    let b = prop_oneof![
        4 => 0u64..(1u64 << 42),
        1 => any::<u64>(),
    ];
    (
        b.clone(),
        b.clone(),
        b.clone(),
        b.clone(),
        b.clone(),
        b.clone(),
        b.clone(),
        b,
    )
        .prop_map(|(f, a, af, sz, ev, ca, cm, m)| HostSupply {
            freemem: Bytes(f),
            availrmem: Bytes(a),
            availrmem_floor: Bytes(af),
            arc_size: Bytes(sz),
            arc_evictable: Bytes(ev),
            arc_evicted_cached: Bytes(ca),
            c_min: Bytes(cm),
            margin: Bytes(m),
        })
}

proptest! {
    /// The estimate never admits a request above what the host can give
    /// and never refuses one that fits; a refusal leaves the table as it
    /// was.
    #[test]
    fn admission_matches_the_reference_formula(
        h in supply(),
        earlier in prop::collection::vec(1u64..(1u64 << 40), 0..4),
        request in 1u64..(1u64 << 43),
    ) {
        let mut t = HeadroomTable::new();
        // Earlier reservations, admitted by the ceiling rule alone.
        let base = Bytes(u64::MAX);
        for &e in &earlier {
            t.reserve("vmm", Bytes(e), Bytes::ZERO, base).unwrap();
        }
        let pending: u64 = earlier.iter().sum();
        let fits = u128::from(request) <= reference(&h, pending);
        prop_assert_eq!(h.can_give(Bytes(pending)).0 as u128, reference(&h, pending).min(u128::from(u64::MAX)));
        let before = (t.reserved(), t.pending(), t.iter().count(), t.counters());
        let r = t.reserve_admitted("vmm", Bytes(request), Bytes::ZERO, Bytes::ZERO, base, Some(&h));
        if fits {
            prop_assert!(r.is_ok(), "refused a request that fits: {:?}", r);
        } else {
            let short = matches!(r, Err(TunableError::ShortOfMemory { .. }));
            prop_assert!(short, "admitted a request above the estimate: {:?}", r);
            let mut counters = before.3;
            counters.rejections_memory += 1;
            prop_assert_eq!((t.reserved(), t.pending(), t.iter().count(), t.counters()),
                (before.0, before.1, before.2, counters));
        }
    }

    /// Through the component: a refused reservation leaves the published
    /// limits, the counters and the table exactly as they were.
    #[test]
    fn a_refusal_through_the_component_changes_nothing(
        free_gib in 0u64..64,
        arc_gib in 1u64..60,
        evictable_pct in 0u64..=100,
        request_gib in 1u64..62,
    ) {
        let t = host(arc_gib, free_gib);
        t.platform().set_admission(Some(AdmissionFigures {
            availrmem: Pages(60 * GIB_PAGES),
            availrmem_floor: Pages(2 * GIB_PAGES),
            arc_evictable: Bytes(arc_gib * GIB * evictable_pct / 100),
            arc_evicted_cached: Bytes::ZERO,
        }));
        let limits = t.limits();
        let stats = t.headroom_stats();
        match t.reserve("vmm", Bytes(request_gib * GIB)) {
            Ok(id) => {
                prop_assert!(Bytes(request_gib * GIB) <= stats.available_now);
                t.release(id).unwrap();
            }
            Err(e) => {
                prop_assert!(Bytes(request_gib * GIB) > stats.available_now
                    || matches!(e, TunableError::NoHeadroom { .. } | TunableError::NeverFits { .. }), "{}", e);
                let mut expect = stats;
                match e {
                    TunableError::ShortOfMemory { .. } => expect.counters.rejections_memory += 1,
                    TunableError::NoHeadroom { .. } => expect.counters.rejections += 1,
                    TunableError::NeverFits { .. } => expect.counters.rejections_never_fit += 1,
                    other => prop_assert!(false, "unexpected refusal {}", other),
                }
                prop_assert_eq!(t.limits(), limits);
                prop_assert_eq!(t.headroom_stats(), expect);
            }
        }
    }
}

/// A claimed reservation's bytes leave free memory as the driver takes
/// them (`page_create_va()` reserves the whole segment at once) and stay
/// pending while it zeroes them: admission must not count them a second
/// time. Driving the kernel's per-segment sequence, 64 guests started at
/// once were each refused while earlier ones zeroed: 23 were admitted at
/// once instead of 28.
#[test]
fn a_claimed_reservations_bytes_are_not_counted_again_by_admission() {
    // 14 GiB free: the first guest's 10 GiB are there without the ARC.
    let t = host(21, 14);
    let before = t.headroom_stats().available_now;
    assert_eq!(before, Bytes(CAN_GIVE + 10 * GIB));
    let first = t.reserve("vmm", Bytes(10 * GIB)).unwrap();
    // Unclaimed, its 10 GiB are still to come out of free memory.
    assert_eq!(t.headroom_stats().available_now, Bytes(CAN_GIVE));
    let e = t.reserve("vmm", Bytes(CAN_GIVE + GIB)).unwrap_err();
    assert!(matches!(e, TunableError::ShortOfMemory { .. }), "{e}");
    // Claimed, and taken from free memory by the driver (14 GiB free
    // then 4): the host can give the same, not 10 GiB less.
    t.claim(first).unwrap();
    t.platform().set_freemem(Pages(4 * GIB_PAGES));
    assert_eq!(t.headroom_stats().available_now, Bytes(CAN_GIVE));
    let e = t.reserve("vmm", Bytes(CAN_GIVE + GIB)).unwrap_err();
    assert!(matches!(e, TunableError::ShortOfMemory { .. }), "{e}");
    let second = t.reserve("vmm", Bytes(CAN_GIVE)).unwrap();
    t.release(second).unwrap();
    t.release(first).unwrap();
}
