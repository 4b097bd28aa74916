//! A create driven step by step on one thread, as the simulator drives it
//! in discrete simulated time: the same code as the blocking create.

mod common;

use common::{arc_state, client, host, ready_now, FakeMemory};
use vmm_client::{
    bhyve_memsegs, AllocProgress, ArcResvStats, Creation, Polled, Reserved, VmmError,
    DEFAULT_ALLOC_CHUNK,
};
use zfs_tunables::errno::ETIME;
use zfs_tunables::{Bytes, Hrtime, Pages, Platform, GIB};

const PAGE: u64 = 4096;

#[test]
fn a_create_polled_in_simulated_time() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let desfree = arc.platform().memory().desfree;
    let lotsfree = Pages(2 * desfree.0);
    arc.platform().set_lotsfree(lotsfree);
    arc.platform().set_freemem(Pages(GIB / PAGE));

    let segs = bhyve_memsegs(Bytes(8 * GIB)).unwrap();
    let mut waiting: Creation<Reserved> = vmm.begin_create(b"sim", &segs).unwrap();
    let reserved = 8 * GIB + 8 * GIB / PAGE * 120;
    assert_eq!(waiting.deadline(), Hrtime::from_secs(60));
    // Reserved: RAM and page overhead; pending: the RAM only.
    assert_eq!(arc.headroom_stats().reserved, Bytes(reserved));
    assert_eq!(arc.headroom_stats().pending, Bytes(8 * GIB));
    // Allocating before headroom is found is a caller's bug, which does
    // not compile: `allocate_chunk` takes a `Ready` or `Claimed` create
    // (the `compile_fail` examples of `CreateState`).

    // One tick a second: the ARC frees 1 GiB per tick.
    let mut ticks = 0;
    let mut c = loop {
        match vmm.poll_headroom(waiting).unwrap() {
            Polled::Ready(c) => break c,
            Polled::Waiting(c) => waiting = c,
        }
        ticks += 1;
        arc.platform().advance(Hrtime::SECOND);
        let free = arc.platform().memory().freemem;
        arc.platform().set_freemem(Pages(free.0 + GIB / PAGE));
    };
    // Ready once free memory covers the guest, lotsfree and desfree.
    let need = (8 * GIB).div_ceil(PAGE) + lotsfree.0 + desfree.0;
    assert_eq!(ticks, need.div_ceil(GIB / PAGE) - 1);

    // Allocate 2 GiB per tick; free memory falls as the guest's grows,
    // and the headroom term of arc_available_memory() stays put: nothing
    // is counted twice between ticks.
    let term = arc.headroom_term(arc.platform().memory().freemem, lotsfree, desfree);
    let mut chunks = 0;
    loop {
        let free = arc.platform().memory().freemem;
        let before = mem.live_total();
        let progress = vmm
            .allocate_chunk(&mut c, &mut mem, Bytes(2 * GIB))
            .unwrap();
        let got = mem.live_total() - before;
        arc.platform().set_freemem(Pages(free.0 - got / PAGE));
        chunks += 1;
        if progress == AllocProgress::Done {
            break;
        }
        assert_eq!(
            arc.headroom_term(arc.platform().memory().freemem, lotsfree, desfree),
            term
        );
    }
    // 5 GiB high (3 chunks) then 3 GiB low (2 chunks).
    assert_eq!(chunks, 5);
    assert_eq!(arc.headroom_stats().pending, Bytes::ZERO);
    let id = vmm.finish(c, &mut mem).unwrap();
    assert_eq!(arc.headroom_stats().pending, Bytes::ZERO);
    assert_eq!(arc.headroom_stats().reserved, Bytes(reserved));
    assert_eq!(vmm.instance(id).unwrap().allocated, Bytes(8 * GIB));
}

#[test]
fn a_polled_create_times_out_at_its_deadline() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    arc.platform().set_freemem(Pages(0));
    let before = (arc_state(&arc), vmm.stats());
    let mut c = vmm
        .begin_create(b"sim", &bhyve_memsegs(Bytes(GIB)).unwrap())
        .unwrap();
    for _ in 0..60 {
        c = match vmm.poll_headroom(c) {
            Ok(Polled::Waiting(c)) => c,
            other => panic!("ready or failed early: {other:?}"),
        };
        arc.platform().advance(Hrtime::SECOND);
    }
    let f = vmm.poll_headroom(c).unwrap_err();
    let e = f.error;
    assert_eq!(e.to_errno(), ETIME);
    assert_eq!(vmm.abort(f.creation, &mut mem, e), e);
    assert_eq!(arc_state(&arc), before.0);
    assert_eq!(
        vmm.stats(),
        ArcResvStats {
            fail_timeout: 1,
            ..before.1
        }
    );
    let h = arc.headroom_stats().counters;
    assert_eq!((h.waits, h.wait_timeouts), (1, 1));
}

#[test]
fn the_blocking_create_is_the_composition_of_the_steps() {
    let segs = bhyve_memsegs(Bytes(5 * GIB + 12345)).unwrap();

    let arc = host(64);
    let vmm = client(&arc);
    let mut blocking = FakeMemory::default();
    let a = vmm.create(b"vm", &segs, &mut blocking).unwrap();
    let blocking_state = (arc_state(&arc), vmm.stats(), vmm.instance(a).unwrap());

    let arc = host(64);
    let vmm = client(&arc);
    let mut stepped = FakeMemory::default();
    let c = vmm.begin_create(b"vm", &segs).unwrap();
    let mut c = ready_now(&vmm, c);
    while vmm
        .allocate_chunk(&mut c, &mut stepped, DEFAULT_ALLOC_CHUNK)
        .unwrap()
        == AllocProgress::More
    {}
    let b = vmm.finish(c, &mut stepped).unwrap();

    assert_eq!(
        (arc_state(&arc), vmm.stats(), vmm.instance(b).unwrap()),
        blocking_state
    );
    assert_eq!(stepped.live, blocking.live);
    assert_eq!(stepped.calls, blocking.calls);
    // 5 GiB + 12345 bytes: 2 GiB + 12345 high, rounded up to pages, in
    // 64 MiB chunks (33), and 3 GiB low (48).
    assert_eq!(blocking.calls, 33 + 48);
}

/// The kernel's order: wait, claim, take the whole segment's pages, then
/// record them. The claim takes the segment out of the headroom term (the
/// ARC must not free it twice while vmm zeroes it) but a younger waiter
/// still counts it until it is recorded, so two guests starting together
/// are not both admitted on the same free memory.
#[test]
fn a_claimed_segment_leaves_the_term_but_still_holds_younger_waiters_back() {
    let arc = host(128);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let p = arc.platform();
    let m = p.memory();
    let seg = |gib: u64| vmm_client::MemSegRequest {
        segid: vmm_client::SegmentId::LOWMEM,
        len: Bytes(gib * GIB),
        sysmem: true,
    };
    let a = vmm.create_instance(b"a").unwrap();
    let b = vmm.create_instance(b"b").unwrap();
    let ca = vmm.begin_alloc_memseg(a, seg(8)).unwrap();
    let cb = vmm.begin_alloc_memseg(b, seg(8)).unwrap();
    // Free memory covers a and the margin, not a and b.
    let margin = m.lotsfree.0 + m.desfree.0;
    p.set_freemem(Pages(8 * GIB / PAGE + margin));
    let ca = ready_now(&vmm, ca);
    let cb = still_waiting(&vmm, cb);
    // Claiming before the wait succeeded is a caller's bug, which does
    // not compile: `claim_headroom` takes a `Ready` create (the
    // `compile_fail` examples of `CreateState`).

    let mut ca = vmm.claim_headroom(ca).unwrap();
    // The term asks the ARC for b's 8 GiB only...
    let term = |free: u64| arc.headroom_term(Pages(free), m.lotsfree, m.desfree);
    assert_eq!(term(8 * GIB / PAGE + margin), 0);
    // ...and b, younger, is not admitted on the memory a is taking.
    let cb = still_waiting(&vmm, cb);
    // a takes its pages; the ARC frees b's; a records its segment.
    p.set_freemem(Pages(margin));
    assert_eq!(term(margin), -8 * GIB as i64);
    p.set_freemem(Pages(8 * GIB / PAGE + margin));
    let cb = still_waiting(&vmm, cb); // a is not recorded yet
    while vmm
        .allocate_chunk(&mut ca, &mut mem, Bytes(u64::MAX))
        .unwrap()
        == AllocProgress::More
    {}
    vmm.finish(ca, &mut mem).unwrap();
    let cb = ready_now(&vmm, cb);
    let cb = vmm.claim_headroom(cb).unwrap();
    // A release returns a claimed create whole.
    let reserved = arc.headroom_stats().reserved;
    vmm.abort(cb, &mut mem, VmmError::AllocFailed { errno: 12 });
    assert!(arc.headroom_stats().reserved < reserved);
    assert_eq!(arc.headroom_stats().pending, Bytes::ZERO);
    assert_eq!(term(margin), i64::MAX);
}

/// A guest's later segment waits in its first segment's place: a guest
/// that started first is not overtaken between its own segments by the
/// guests that started after it.
#[test]
fn a_later_segment_waits_in_its_guests_place_not_behind_younger_guests() {
    let arc = host(128);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let p = arc.platform();
    let m = p.memory();
    let margin = m.lotsfree.0 + m.desfree.0;
    let seg = |segid: vmm_client::SegmentId, gib: u64| vmm_client::MemSegRequest {
        segid,
        len: Bytes(gib * GIB),
        sysmem: true,
    };
    let a = vmm.create_instance(b"a").unwrap();
    let b = vmm.create_instance(b"b").unwrap();
    // a's high segment, set up.
    p.set_freemem(Pages(8 * GIB / PAGE + margin));
    let ca = vmm
        .begin_alloc_memseg(a, seg(vmm_client::SegmentId::HIGHMEM, 8))
        .unwrap();
    let mut ca = vmm.claim_headroom(ready_now(&vmm, ca)).unwrap();
    while vmm
        .allocate_chunk(&mut ca, &mut mem, Bytes(u64::MAX))
        .unwrap()
        == AllocProgress::More
    {}
    vmm.finish(ca, &mut mem).unwrap();
    // b starts and waits for its 8 GiB; then a asks for its low 2 GiB.
    p.set_freemem(Pages(margin));
    let cb = vmm
        .begin_alloc_memseg(b, seg(vmm_client::SegmentId::LOWMEM, 8))
        .unwrap();
    let cb = still_waiting(&vmm, cb);
    let ca = vmm
        .begin_alloc_memseg(a, seg(vmm_client::SegmentId::LOWMEM, 2))
        .unwrap();
    // Free memory for a's 2 GiB only: a proceeds, b still waits.
    p.set_freemem(Pages(2 * GIB / PAGE + margin));
    let cb = still_waiting(&vmm, cb);
    let ca = ready_now(&vmm, ca);
    vmm.abort(
        vmm.claim_headroom(ca).unwrap(),
        &mut mem,
        VmmError::AllocFailed { errno: 12 },
    );
    vmm.abort(cb, &mut mem, VmmError::AllocFailed { errno: 12 });
}

/// Polls `c` once and returns it still waiting: panics (failing the test)
/// if it is ready or the poll fails.
fn still_waiting(vmm: &vmm_client::StdVmmClient<'_>, c: Creation<Reserved>) -> Creation<Reserved> {
    match vmm.poll_headroom(c) {
        Ok(Polled::Waiting(c)) => c,
        other => panic!("expected to wait: {other:?}"),
    }
}

/// `VM_ALLOC_MEMSEG` as the kernel module runs it (`memseg_reserve`,
/// `memseg_wait`, `memseg_commit`: `vm_alloc_memseg`) and as a caller in
/// discrete time steps it (`memseg_poll` instead of the wait) leave the
/// same state behind, and both claim the segment before it is taken: the
/// steps are one sequence whichever way they are driven.
#[test]
fn vm_alloc_memseg_is_the_drivers_steps_polled_or_waited() {
    use vmm_client::ioctl_commands::{
        memseg_commit, memseg_poll, memseg_reserve, vm_alloc_memseg, MemsegPolled,
    };
    let segs = bhyve_memsegs(Bytes(5 * GIB + 12345)).unwrap();

    let arc = host(64);
    let vmm = client(&arc);
    let mut waited = FakeMemory::default();
    let a = vmm.create_instance(b"vm").unwrap();
    for s in &segs {
        let segid = i32::from(s.segid.get());
        vm_alloc_memseg(&vmm, a, segid, s.len.0, s.sysmem, &mut waited).unwrap();
    }
    let waited_state = (arc_state(&arc), vmm.stats(), vmm.instance(a).unwrap());

    let arc = host(64);
    let vmm = client(&arc);
    let mut polled = FakeMemory::default();
    let b = vmm.create_instance(b"vm").unwrap();
    for s in &segs {
        let c = memseg_reserve(&vmm, b, i64::from(s.segid.get()), s.len.0, s.sysmem).unwrap();
        let pending = arc.headroom_stats().pending;
        assert!(pending > Bytes::ZERO);
        let MemsegPolled::Claimed(c) = memseg_poll(&vmm, c).unwrap() else {
            panic!("the headroom is there at once on an idle 64 GiB host");
        };
        // Claimed: out of the headroom term, still pending until recorded.
        assert_eq!(arc.headroom_stats().pending, pending);
        let m = arc.platform().memory();
        assert_eq!(
            arc.headroom_term(m.freemem, m.lotsfree, m.desfree),
            i64::MAX
        );
        memseg_commit(&vmm, c, &mut polled).unwrap();
        assert_eq!(arc.headroom_stats().pending, Bytes::ZERO);
    }

    assert_eq!(
        (arc_state(&arc), vmm.stats(), vmm.instance(b).unwrap()),
        waited_state
    );
    assert_eq!(polled.live, waited.live);
    // One allocation per segment, whole, as the driver makes it.
    assert_eq!((polled.calls, waited.calls), (2, 2));
}
