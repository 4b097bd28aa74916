//! What a create reserves, and the `vmm_arc_page_overhead` tunable.

mod common;

use common::{client, host, FakeMemory};
use vmm_client::table_lock::StdTableLock;
use vmm_client::{
    bhyve_memsegs, DestroyOutcome, MemSegRequest, SegmentId, StdVmmClient, VmmError,
    DEFAULT_PAGE_OVERHEAD, PAGE_OVERHEAD_TUNABLE,
};
use zfs_tunables::errno::{EEXIST, EINVAL};
use zfs_tunables::{Bytes, TunableFlags, Unit, GIB};

/// 64 GiB in 4 KiB pages.
const PAGES_64G: u64 = 16_777_216;

#[test]
fn a_64_gib_guest_reserves_its_ram_plus_120_bytes_a_page() {
    let arc = host(128);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let c_max = arc.limits().c_max;

    let id = vmm
        .create(b"vm64", &bhyve_memsegs(Bytes(64 * GIB)).unwrap(), &mut mem)
        .unwrap();
    let expected = 64 * GIB + PAGES_64G * 120;
    assert_eq!(PAGES_64G * 120, 15 * GIB / 8, "1.875 GiB");
    let info = vmm.instance(id).unwrap();
    assert_eq!(info.reserved, Bytes(expected));
    assert_eq!(info.overhead, Bytes(PAGES_64G * 120));
    assert_eq!(info.guest, Bytes(64 * GIB));
    assert_eq!(info.allocated, Bytes(64 * GIB));
    assert_eq!(mem.live_total(), 64 * GIB);
    // The headroom core holds exactly that, none of it pending.
    let h = arc.headroom_stats();
    assert_eq!(h.reserved, Bytes(expected));
    assert_eq!(h.pending, Bytes::ZERO);
    assert_eq!(arc.limits().c_max, Bytes(c_max.0 - expected));
    let s = vmm.stats();
    assert_eq!(
        (s.reserved_bytes, s.overhead_bytes),
        (expected, PAGES_64G * 120)
    );
    assert_eq!((s.instances, s.creates), (1, 1));

    assert_eq!(
        vmm.destroy(id),
        Ok(DestroyOutcome::Finished {
            reserved: Bytes(expected),
            allocated: Bytes(64 * GIB),
        })
    );
    assert_eq!(arc.limits().c_max, c_max);
}

#[test]
fn with_no_overhead_a_64_gib_guest_reserves_exactly_64_gib() {
    let arc = host(128);
    let vmm = client(&arc);
    arc.set(PAGE_OVERHEAD_TUNABLE, 0).unwrap();
    assert_eq!(vmm.page_overhead(), 0);
    let mut mem = FakeMemory::default();
    let id = vmm
        .create(b"vm64", &bhyve_memsegs(Bytes(64 * GIB)).unwrap(), &mut mem)
        .unwrap();
    assert_eq!(vmm.instance(id).unwrap().reserved, Bytes(64 * GIB));
    assert_eq!(arc.headroom_stats().reserved, Bytes(64 * GIB));
    assert_eq!(vmm.stats().overhead_bytes, 0);
}

#[test]
fn a_one_byte_guest_reserves_one_page_plus_120_bytes() {
    let arc = host(16);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let id = vmm
        .create(b"tiny", &bhyve_memsegs(Bytes(1)).unwrap(), &mut mem)
        .unwrap();
    assert_eq!(vmm.instance(id).unwrap().reserved, Bytes(4096 + 120));
    assert_eq!(arc.headroom_stats().reserved, Bytes(4096 + 120));
    // The guest allocates the whole page.
    assert_eq!(mem.live_total(), 4096);
}

#[test]
fn segments_add_to_the_instance_reservation() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let id = vmm.create_instance(b"vm").unwrap();
    assert_eq!(vmm.instance(id).unwrap().reserved, Bytes::ZERO);
    let segs = [
        (SegmentId::LOWMEM, 3 * GIB, true),
        (SegmentId::HIGHMEM, 5 * GIB, true),
        (SegmentId::BOOTROM, 16 << 20, false),
    ];
    let mut want = 0;
    for (segid, len, sysmem) in segs {
        let seg = MemSegRequest {
            segid,
            len: Bytes(len),
            sysmem,
        };
        vmm.alloc_memseg(id, seg, &mut mem).unwrap();
        want += len + len / 4096 * 120;
        assert_eq!(vmm.instance(id).unwrap().reserved, Bytes(want));
        assert_eq!(arc.headroom_stats().reserved, Bytes(want));
    }
    // One reservation per create.
    assert_eq!(arc.headroom_stats().reservations, 3);
    assert_eq!(vmm.instance(id).unwrap().segments.len(), 3);
    // The same segment again: EEXIST as asked, EINVAL with another size.
    let again = MemSegRequest {
        segid: SegmentId::BOOTROM,
        len: Bytes(16 << 20),
        sysmem: false,
    };
    let e = vmm.alloc_memseg(id, again, &mut mem).unwrap_err();
    assert_eq!(e.to_errno(), EEXIST);
    let other = MemSegRequest {
        len: Bytes(32 << 20),
        ..again
    };
    let e = vmm.alloc_memseg(id, other, &mut mem).unwrap_err();
    assert_eq!(e.to_errno(), EINVAL);
    assert_eq!(vmm.instance(id).unwrap().reserved, Bytes(want));
    assert_eq!(vmm.stats().fail_invalid, 2);
    // Destroy returns all three.
    let c_max = arc.configured_limits().c_max;
    assert!(matches!(
        vmm.destroy(id),
        Ok(DestroyOutcome::Finished { .. })
    ));
    assert_eq!(arc.headroom_stats().reserved, Bytes::ZERO);
    assert_eq!(arc.limits().c_max, c_max);
}

#[test]
fn the_overhead_tunable_is_registered_with_its_bounds() {
    let arc = host(16);
    let vmm = client(&arc);
    let d = arc.desc(PAGE_OVERHEAD_TUNABLE).unwrap();
    assert_eq!(d.unit, Unit::BytesPerPage);
    assert_eq!(d.flags, TunableFlags::DYNAMIC);
    assert_eq!((d.min, d.max, d.default), (0, 4096, 120));
    assert_eq!(arc.get(PAGE_OVERHEAD_TUNABLE), Ok(DEFAULT_PAGE_OVERHEAD));
    let mut module = None;
    arc.for_each_tunable(|e| {
        if e.desc.name == PAGE_OVERHEAD_TUNABLE {
            module = Some(e.module);
        }
    });
    assert_eq!(module, Some("vmm"));
    // Out of bounds: EINVAL and nothing changes.
    let e = arc.set(PAGE_OVERHEAD_TUNABLE, 4097).unwrap_err();
    assert_eq!(e.to_errno(), EINVAL);
    assert_eq!(vmm.page_overhead(), 120);
    arc.set(PAGE_OVERHEAD_TUNABLE, 4096).unwrap();
    assert_eq!(vmm.page_overhead(), 4096);
    // 0 is a value, not "the default".
    arc.set(PAGE_OVERHEAD_TUNABLE, 0).unwrap();
    assert_eq!(vmm.page_overhead(), 0);
    arc.reset(PAGE_OVERHEAD_TUNABLE).unwrap();
    assert_eq!(vmm.page_overhead(), 120);
    // A second vmm client on the same core is refused; dropping the first
    // removes the tunable.
    let e = StdVmmClient::new(&arc, StdTableLock::new()).err().unwrap();
    assert_eq!(e.to_errno(), EEXIST);
    drop(vmm);
    assert!(arc.desc(PAGE_OVERHEAD_TUNABLE).is_none());
    assert!(StdVmmClient::new(&arc, StdTableLock::new()).is_ok());
}

#[test]
fn an_overhead_change_leaves_live_reservations_as_they_were_made() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let c_max = arc.limits().c_max;
    let a = vmm
        .create(b"a", &bhyve_memsegs(Bytes(4 * GIB)).unwrap(), &mut mem)
        .unwrap();
    arc.set(PAGE_OVERHEAD_TUNABLE, 0).unwrap();
    let b = vmm
        .create(b"b", &bhyve_memsegs(Bytes(4 * GIB)).unwrap(), &mut mem)
        .unwrap();
    assert_eq!(
        vmm.instance(a).unwrap().overhead,
        Bytes(GIB / 4096 * 4 * 120)
    );
    assert_eq!(vmm.instance(b).unwrap().overhead, Bytes::ZERO);
    arc.set(PAGE_OVERHEAD_TUNABLE, 4096).unwrap();
    vmm.destroy(a).unwrap();
    vmm.destroy(b).unwrap();
    assert_eq!(arc.headroom_stats().reserved, Bytes::ZERO);
    assert_eq!(arc.limits().c_max, c_max);
}

#[test]
fn bad_requests_are_refused_with_their_errno() {
    let arc = host(16);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let zero = [MemSegRequest {
        segid: SegmentId::LOWMEM,
        len: Bytes(0),
        sysmem: true,
    }];
    assert_eq!(vmm.create(b"z", &zero, &mut mem), Err(VmmError::ZeroSize));
    let twice = [zero[0], zero[0]].map(|s| MemSegRequest {
        len: Bytes(GIB),
        ..s
    });
    assert_eq!(
        vmm.create(b"t", &twice, &mut mem).unwrap_err().to_errno(),
        EINVAL
    );
    assert_eq!(vmm.create_instance(b""), Err(VmmError::BadName));
    assert_eq!(vmm.create_instance(&[b'x'; 229]), Err(VmmError::BadName));
    assert_eq!(vmm.create_instance(b"nul\0inside"), Err(VmmError::BadName));
    assert!(vmm.create_instance(&[b'x'; 228]).is_ok());
    vmm.create_instance(b"dup").unwrap();
    assert_eq!(vmm.create_instance(b"dup"), Err(VmmError::DuplicateName));
    let s = vmm.stats();
    assert_eq!((s.fail_invalid, s.instances, s.creates), (6, 2, 2));
    assert_eq!(arc.headroom_stats().reserved, Bytes::ZERO);
    assert_eq!(mem.calls, 0);
}
