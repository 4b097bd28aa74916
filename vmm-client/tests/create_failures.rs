//! Creates that fail: refused at once, or rolled back after the
//! reservation (allocation failure, deadline, signal), and arbitrary sizes.

mod common;

use std::thread;

use common::{arc_state, client, host, until_sleeping, FakeMemory, WakeOnPanic};
use proptest::prelude::*;
use vmm_client::{
    bhyve_memsegs, ArcResvStats, MemSegRequest, SegmentId, VmmError, PAGE_OVERHEAD_TUNABLE,
};
use zfs_tunables::errno::{EINTR, EINVAL, ENOMEM, EOVERFLOW, ETIME};
use zfs_tunables::{Bytes, Hrtime, Pages, Platform, TunableError, GIB};

#[test]
fn a_create_that_can_never_fit_fails_at_once_with_enomem() {
    let arc = host(16);
    let vmm = client(&arc);
    // No free memory at all: a create that reached the wait would sleep.
    arc.platform().set_freemem(Pages(0));
    let before = (arc_state(&arc), vmm.stats());
    let host_limit = arc.headroom_stats().c_max_base.0 - arc.limits().c_min.0;

    thread::scope(|s| {
        let _wake = WakeOnPanic(&arc);
        let h = s.spawn(|| {
            let mut mem = FakeMemory::default();
            let segs = bhyve_memsegs(Bytes(host_limit + 1)).unwrap();
            (vmm.create(b"huge", &segs, &mut mem), mem.calls)
        });
        while !h.is_finished() {
            assert_eq!(arc.platform().sleepers(), 0, "the create waited");
            thread::yield_now();
        }
        let (r, calls) = h.join().unwrap();
        let e = r.unwrap_err();
        assert!(
            matches!(e, VmmError::Arc(TunableError::NeverFits { .. })),
            "{e}"
        );
        assert_eq!(e.to_errno(), ENOMEM);
        assert_eq!(calls, 0);
    });
    assert_eq!(arc_state(&arc), before.0);
    assert_eq!(arc.headroom_stats().counters.waits, 0);
    assert_eq!(vmm.lookup(b"huge"), None);
    assert_eq!(
        vmm.stats(),
        ArcResvStats {
            fail_never_fits: 1,
            ..before.1
        }
    );
}

#[test]
fn a_create_with_no_headroom_left_fails_at_once_with_enomem() {
    let arc = host(16);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let host_limit = arc.headroom_stats().c_max_base.0 - arc.limits().c_min.0;
    // A takes all but 1 GiB of what can be reserved (with overhead 0, to
    // make the arithmetic exact).
    arc.set(PAGE_OVERHEAD_TUNABLE, 0).unwrap();
    let a_size = (host_limit - GIB) & !4095;
    vmm.create(b"a", &bhyve_memsegs(Bytes(a_size)).unwrap(), &mut mem)
        .unwrap();
    arc.platform().set_freemem(Pages(0));
    let before = (arc_state(&arc), vmm.stats());

    // B fits the host alone, not next to A: c_min + reserved + B > base.
    let b = bhyve_memsegs(Bytes(2 * GIB)).unwrap();
    let e = vmm.create(b"b", &b, &mut mem).unwrap_err();
    assert!(
        matches!(e, VmmError::Arc(TunableError::NoHeadroom { .. })),
        "{e}"
    );
    assert_eq!(e.to_errno(), ENOMEM);
    assert_eq!(arc_state(&arc), before.0);
    assert_eq!(arc.headroom_stats().counters.waits, 0);
    assert_eq!(vmm.lookup(b"b"), None);
    assert_eq!(
        vmm.stats(),
        ArcResvStats {
            fail_no_headroom: 1,
            ..before.1
        }
    );
}

#[test]
fn an_allocation_failing_halfway_releases_everything() {
    // 8 GiB: VM_HIGHMEM 5 GiB is allocated first, then VM_LOWMEM 3 GiB.
    // Fail at the first chunk, inside and at the end of the first segment,
    // inside the second, and one page before the end.
    for fail_above in [0, 4096, 2 * GIB, 5 * GIB, 6 * GIB, 8 * GIB - 4096] {
        let arc = host(64);
        let vmm = client(&arc);
        let mut mem = FakeMemory::failing_above(fail_above);
        let before = (arc_state(&arc), vmm.stats());
        let counters = arc.headroom_stats().counters;

        let segs = bhyve_memsegs(Bytes(8 * GIB)).unwrap();
        let e = vmm.create(b"vm", &segs, &mut mem).unwrap_err();
        assert_eq!(e, VmmError::AllocFailed { errno: ENOMEM });
        assert_eq!(e.to_errno(), ENOMEM);

        assert_eq!(arc_state(&arc), before.0, "failing above {fail_above}");
        assert_eq!(
            vmm.stats(),
            ArcResvStats {
                fail_alloc: 1,
                ..before.1
            }
        );
        assert_eq!(vmm.lookup(b"vm"), None);
        assert_eq!(mem.live_total(), 0, "everything allocated was freed");
        assert!(mem.calls > 0);
        let after = arc.headroom_stats().counters;
        assert_eq!(after.reserves, counters.reserves + 1);
        assert_eq!(after.releases, counters.releases + 1);
        // The name is free again, and a create with memory to spare works.
        mem.fail_above = None;
        vmm.create(b"vm", &segs, &mut mem).unwrap();
    }
}

#[test]
fn a_segment_failing_halfway_rolls_back_that_segment_only() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let id = vmm
        .create(b"vm", &bhyve_memsegs(Bytes(2 * GIB)).unwrap(), &mut mem)
        .unwrap();
    let before = (arc_state(&arc), vmm.stats(), vmm.instance(id).unwrap());
    mem.fail_above = Some(3 * GIB);
    let high = MemSegRequest {
        segid: SegmentId::HIGHMEM,
        len: Bytes(4 * GIB),
        sysmem: true,
    };
    let e = vmm.alloc_memseg(id, high, &mut mem).unwrap_err();
    assert_eq!(e.to_errno(), ENOMEM);
    assert_eq!(arc_state(&arc), before.0);
    assert_eq!(
        vmm.stats(),
        ArcResvStats {
            fail_alloc: 1,
            ..before.1
        }
    );
    assert_eq!(vmm.instance(id).unwrap(), before.2);
    assert_eq!(mem.live_total(), 2 * GIB);
}

/// A guest that has to wait: 1 GiB, on a host with no free memory.
fn waiting_guest() -> [MemSegRequest; 1] {
    [MemSegRequest {
        segid: SegmentId::LOWMEM,
        len: Bytes(GIB),
        sysmem: true,
    }]
}

#[test]
fn a_create_reaching_its_deadline_returns_etime_and_releases() {
    let arc = host(16);
    let vmm = client(&arc);
    arc.platform().set_freemem(Pages(0));
    let before = (arc_state(&arc), vmm.stats());
    thread::scope(|s| {
        let _wake = WakeOnPanic(&arc);
        let h = s.spawn(|| {
            let mut mem = FakeMemory::default();
            (vmm.create(b"vm", &waiting_guest(), &mut mem), mem.calls)
        });
        until_sleeping(&arc, 1);
        // While it waits: the instance is there, its reservation held,
        // the guest's RAM pending (the page overhead is never waited for).
        let id = vmm.lookup(b"vm").unwrap();
        assert!(vmm.instance(id).unwrap().create_in_flight);
        assert_eq!(arc.headroom_stats().reserved.0, GIB + GIB / 4096 * 120);
        assert_eq!(arc.headroom_stats().pending.0, GIB);
        arc.platform().advance(Hrtime::from_secs(59));
        until_sleeping(&arc, 1);
        arc.platform().advance(Hrtime::from_secs(1));
        let (r, calls) = h.join().unwrap();
        assert_eq!(r.unwrap_err().to_errno(), ETIME);
        assert_eq!(calls, 0);
    });
    assert_eq!(arc_state(&arc), before.0);
    assert_eq!(vmm.lookup(b"vm"), None);
    assert_eq!(
        vmm.stats(),
        ArcResvStats {
            fail_timeout: 1,
            ..before.1
        }
    );
    assert_eq!(arc.headroom_stats().counters.wait_timeouts, 1);
}

#[test]
fn an_interrupted_create_returns_eintr_and_releases() {
    let arc = host(16);
    let vmm = client(&arc);
    arc.platform().set_freemem(Pages(0));
    let before = (arc_state(&arc), vmm.stats());
    thread::scope(|s| {
        let _wake = WakeOnPanic(&arc);
        let h = s.spawn(|| vmm.create(b"vm", &waiting_guest(), &mut FakeMemory::default()));
        until_sleeping(&arc, 1);
        arc.platform().interrupt();
        assert_eq!(h.join().unwrap().unwrap_err().to_errno(), EINTR);
    });
    assert_eq!(arc_state(&arc), before.0);
    assert_eq!(vmm.lookup(b"vm"), None);
    assert_eq!(
        vmm.stats(),
        ArcResvStats {
            fail_interrupted: 1,
            ..before.1
        }
    );
}

#[test]
fn a_waiting_create_proceeds_when_eviction_frees_the_memory() {
    let arc = host(16);
    let vmm = client(&arc);
    arc.platform().set_freemem(Pages(0));
    thread::scope(|s| {
        let _wake = WakeOnPanic(&arc);
        let h = s.spawn(|| {
            let mut mem = FakeMemory::default();
            let r = vmm.create(b"vm", &waiting_guest(), &mut mem);
            (r, mem.live_total())
        });
        until_sleeping(&arc, 1);
        // The ARC frees enough: the guest's RAM, lotsfree and desfree (the
        // page overhead is reserved but nobody waits for it).
        let mem = arc.platform().memory();
        let need = GIB / 4096 + mem.lotsfree.0 + mem.desfree.0;
        arc.platform().set_freemem(Pages(need));
        arc.notify_progress();
        let (r, live) = h.join().unwrap();
        assert!(r.is_ok());
        assert_eq!(live, GIB);
    });
    // Woken, not timed out: the clock never moved.
    assert_eq!(arc.platform().now(), Hrtime(0));
    assert_eq!(arc.headroom_stats().pending, Bytes::ZERO);
}

#[test]
fn sizes_near_the_limits_are_refused_with_an_errno() {
    let arc = host(128);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let cases: [(u64, u64, i32); 7] = [
        (0, 120, EINVAL),
        (u64::MAX, 120, EOVERFLOW),
        (u64::MAX, 0, EOVERFLOW),
        (u64::MAX - 4095, 120, EOVERFLOW),
        (u64::MAX - 4095, 0, ENOMEM),
        (u64::MAX / 2, 4096, EOVERFLOW),
        (1 << 62, 4096, ENOMEM),
    ];
    for (len, overhead, errno) in cases {
        arc.set(PAGE_OVERHEAD_TUNABLE, overhead).unwrap();
        let before = (arc_state(&arc), vmm.stats().instances);
        let seg = [MemSegRequest {
            segid: SegmentId::HIGHMEM,
            len: Bytes(len),
            sysmem: true,
        }];
        let e = vmm.create(b"vm", &seg, &mut mem).unwrap_err();
        assert_eq!(e.to_errno(), errno, "{len} bytes, {overhead} per page: {e}");
        assert_eq!((arc_state(&arc), vmm.stats().instances), before);
    }
    // Segments that fit one by one but overflow together.
    arc.set(PAGE_OVERHEAD_TUNABLE, 0).unwrap();
    let half = Bytes((u64::MAX / 2) & !4095);
    let two =
        [SegmentId::LOWMEM, SegmentId::HIGHMEM, SegmentId::BOOTROM].map(|segid| MemSegRequest {
            segid,
            len: half,
            sysmem: true,
        });
    assert_eq!(vmm.create(b"vm", &two, &mut mem), Err(VmmError::Overflow));
    // An overhead above the tunable's bound never reaches the client.
    assert_eq!(
        arc.set(PAGE_OVERHEAD_TUNABLE, u64::MAX)
            .unwrap_err()
            .to_errno(),
        EINVAL
    );
    assert_eq!(mem.calls, 0);
}

fn sizes() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (u64::MAX - 3 * 4096)..=u64::MAX,
        0..=4 * 4096u64,
        0..=96 * GIB,
        (0..64u32).prop_map(|s| 1u64 << s),
    ]
}

fn overheads() -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), 0..=4097u64, Just(4096u64), Just(120u64)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Arbitrary sizes and overheads: every create either succeeds with
    /// exactly the documented reservation or is refused with an errno and
    /// changes nothing; nothing panics.
    #[test]
    fn arbitrary_sizes_never_panic(
        lens in proptest::collection::vec(sizes(), 1..=3),
        overhead in overheads(),
    ) {
        let arc = host(128);
        let vmm = client(&arc);
        let mut mem = FakeMemory::default();
        match arc.set(PAGE_OVERHEAD_TUNABLE, overhead) {
            Ok(()) => prop_assert!(overhead <= 4096),
            Err(e) => {
                prop_assert!(overhead > 4096);
                prop_assert_eq!(e.to_errno(), EINVAL);
            }
        }
        let per_page = vmm.page_overhead();
        let segs: Vec<MemSegRequest> = lens
            .iter()
            .zip([SegmentId::LOWMEM, SegmentId::HIGHMEM, SegmentId::FRAMEBUFFER])
            .map(|(&len, segid)| MemSegRequest { segid, len: Bytes(len), sysmem: true })
            .collect();
        // What the client must answer, in exact arithmetic: segments are
        // checked in order, and the sum must fit what this host can
        // reserve (nothing else is reserved).
        let max = u128::from(u64::MAX);
        let model = lens.iter().try_fold(0u128, |sum, &len| {
            if len == 0 {
                return Err(EINVAL);
            }
            let pages = u128::from(len).div_ceil(4096);
            let (guest, ovh) = (pages * 4096, pages * u128::from(per_page));
            if guest > max || ovh > max || guest + ovh > max || sum + guest + ovh > max {
                return Err(EOVERFLOW);
            }
            Ok(sum + guest + ovh)
        });
        let h = arc.headroom_stats();
        let host_limit = u128::from(h.c_max_base.0 - arc.limits().c_min.0);
        let model = model.and_then(|t| if t <= host_limit { Ok(t) } else { Err(ENOMEM) });
        let before = (arc_state(&arc), vmm.stats().instances);
        match vmm.create(b"vm", &segs, &mut mem) {
            Ok(id) => {
                let total = model.unwrap();
                prop_assert_eq!(u128::from(vmm.instance(id).unwrap().reserved.0), total);
                prop_assert_eq!(u128::from(arc.headroom_stats().reserved.0), total);
                vmm.destroy(id).unwrap();
                prop_assert_eq!(arc_state(&arc), before.0);
            }
            Err(e) => {
                prop_assert_eq!(Err(e.to_errno()), model, "{}", e);
                prop_assert_eq!((arc_state(&arc), vmm.stats().instances), before);
                prop_assert_eq!(mem.calls, 0);
            }
        }
    }
}
