//! Instances through their whole life: creation and destruction in any
//! order, every destroy path, the table's capacity, destroys racing
//! creates, and the ioctl commands.

mod common;

use std::sync::Mutex;
use std::thread;

use common::{
    arc_state, client, client_with, host, ready_now, until_sleeping, FakeMemory, WakeOnPanic,
};
use vmm_client::ioctl_commands::{
    ioctl_errno, vm_alloc_memseg, vm_destroy_self, vm_set_autodestruct, vmm_create_vm,
    vmm_destroy_vm,
};
use vmm_client::{
    bhyve_memsegs, AllocProgress, ArcResvStats, DestroyOutcome, InstanceId, InstanceState,
    MemSegRequest, NameOwner, SegmentAllocator, SegmentId, VmmError, MAX_INSTANCES,
};
use zfs_tunables::errno::{EBUSY, EEXIST, EINVAL, ENOENT, ENOMEM, ENOSPC};
use zfs_tunables::{Bytes, Pages, GIB};

fn guest(gib: u64) -> vmm_client::MemSegs {
    bhyve_memsegs(Bytes(gib * GIB)).unwrap()
}

/// `MAX(c_min, MIN(admin_or_default, base - reserved))`.
fn expected_ceiling(
    arc: &zfs_tunables::ArcTunables<zfs_tunables::std_platform::StdPlatform>,
) -> Bytes {
    let configured = arc.configured_limits();
    let h = arc.headroom_stats();
    let room = h.c_max_base.saturating_sub(h.reserved);
    configured.c_min.max(configured.c_max.min(room))
}

#[test]
fn instances_destroyed_in_any_order_restore_the_ceiling_exactly() {
    for first_destroyed in [0usize, 1] {
        for admin_change in [false, true] {
            let arc = host(128);
            let vmm = client(&arc);
            let mut mem = FakeMemory::default();
            let start = arc_state(&arc);

            let ids = [
                vmm.create(b"a", &guest(20), &mut mem).unwrap(),
                vmm.create(b"b", &guest(30), &mut mem).unwrap(),
            ];
            assert_eq!(arc.limits().c_max, expected_ceiling(&arc));
            assert!(arc.limits().c_max < start.c_max);
            if admin_change {
                arc.set("zfs_arc_max", 40 * GIB).unwrap();
                assert_eq!(arc.limits().c_max, expected_ceiling(&arc));
            }
            for (n, i) in [first_destroyed, 1 - first_destroyed]
                .into_iter()
                .enumerate()
            {
                let out = vmm.destroy(ids[i]).unwrap();
                assert!(matches!(out, DestroyOutcome::Finished { .. }));
                mem.vm_destroy(ids[i]);
                assert_eq!(arc.limits().c_max, expected_ceiling(&arc), "after {n}");
            }
            assert_eq!(arc.headroom_stats().reserved, Bytes::ZERO);
            assert_eq!(arc.headroom_stats().reservations, 0);
            if admin_change {
                // The admin's value survives the reservations.
                assert_eq!(arc.get("zfs_arc_max").unwrap(), 40 * GIB);
                assert_eq!(arc.limits().c_max, Bytes(40 * GIB));
            } else {
                assert_eq!(arc_state(&arc), start);
            }
            let s = vmm.stats();
            assert_eq!((s.instances, s.creates, s.destroys), (0, 2, 2));
            assert_eq!((s.reserved_bytes, s.overhead_bytes), (0, 0));
        }
    }
}

#[test]
fn interleaved_creates_and_destroys_restore_the_ceiling_exactly() {
    let arc = host(128);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let start = arc_state(&arc);
    let a = vmm.create(b"a", &guest(10), &mut mem).unwrap();
    let b = vmm.create(b"b", &guest(20), &mut mem).unwrap();
    vmm.destroy(a).unwrap();
    let c = vmm.create(b"c", &guest(40), &mut mem).unwrap();
    arc.set("zfs_arc_max", 100 * GIB).unwrap();
    vmm.destroy(b).unwrap();
    arc.set("zfs_arc_max", 0).unwrap();
    vmm.destroy(c).unwrap();
    assert_eq!(arc_state(&arc), start);
}

#[test]
fn the_table_fills_refuses_with_enospc_and_accepts_after_a_destroy() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let page = bhyve_memsegs(Bytes(4096)).unwrap();
    let mut ids = Vec::new();
    for i in 0..MAX_INSTANCES {
        let name = format!("vm{i}");
        ids.push(vmm.create(name.as_bytes(), &page, &mut mem).unwrap());
    }
    let before = (arc_state(&arc), vmm.stats());
    assert_eq!(before.1.instances, MAX_INSTANCES as u64);
    let e = vmm
        .create(b"one-too-many", &guest(1), &mut mem)
        .unwrap_err();
    assert_eq!(e, VmmError::TableFull);
    assert_eq!(e.to_errno(), ENOSPC);
    assert_eq!(vmm_create_vm(&vmm, b"also-too-many\0"), Err(ENOSPC));
    assert_eq!(arc_state(&arc), before.0);
    assert_eq!(
        vmm.stats(),
        ArcResvStats {
            fail_table_full: 2,
            ..before.1
        }
    );
    // A duplicate name is still EEXIST, not ENOSPC.
    assert_eq!(vmm.create_instance(b"vm0").unwrap_err().to_errno(), EEXIST);
    vmm.destroy(ids[17]).unwrap();
    vmm.create(b"one-more", &guest(1), &mut mem).unwrap();
    assert_eq!(vmm.stats().instances, MAX_INSTANCES as u64);
}

#[test]
fn destroying_twice_or_an_unknown_instance_is_harmless() {
    let arc = host(16);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let id = vmm.create(b"vm", &guest(1), &mut mem).unwrap();
    assert!(matches!(
        vmm.destroy(id),
        Ok(DestroyOutcome::Finished { .. })
    ));
    let after = (arc_state(&arc), vmm.stats());
    assert_eq!(vmm.destroy(id), Err(VmmError::UnknownInstance));
    assert_eq!(
        vmm.destroy(InstanceId(9999)).unwrap_err().to_errno(),
        ENOENT
    );
    assert_eq!(vmm.destroy_by_name(b"vm").unwrap_err().to_errno(), ENOENT);
    assert_eq!((arc_state(&arc), vmm.stats()), after);
    assert_eq!(after.1.destroys, 1);
}

#[test]
fn destroying_a_waiting_create_releases_it_and_others_carry_on() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let other = vmm.create(b"other", &guest(2), &mut mem).unwrap();
    arc.platform().set_freemem(Pages(0));
    let before = arc_state(&arc);
    thread::scope(|s| {
        let _wake = WakeOnPanic(&arc);
        let h = s.spawn(|| vmm.create(b"waiter", &guest(8), &mut FakeMemory::default()));
        until_sleeping(&arc, 1);
        let waiter = vmm.lookup(b"waiter").unwrap();
        assert_eq!(vmm.instance(waiter).unwrap().state, InstanceState::Creating);
        // The table is not locked while it waits: other instances come
        // and go.
        let third = vmm.create_instance(b"third").unwrap();
        assert!(matches!(
            vmm.destroy(other),
            Ok(DestroyOutcome::Finished { .. })
        ));
        assert_eq!(vmm.stats().instances, 2);
        // Destroy the waiting one: its reservation goes at once, and the
        // create wakes, rolls back and says the instance is gone.
        assert_eq!(vmm.destroy(waiter), Ok(DestroyOutcome::Deferred));
        assert_eq!(
            arc.headroom_stats().reserved,
            Bytes::ZERO,
            "released by the destroy itself"
        );
        let e = h.join().unwrap().unwrap_err();
        assert_eq!(e, VmmError::Destroyed);
        assert_eq!(e.to_errno(), ENOENT);
        assert_eq!(vmm.instance(waiter), None);
        vmm.destroy(third).unwrap();
    });
    let s = vmm.stats();
    assert_eq!(
        (s.instances, s.reserved_bytes, s.fail_interrupted),
        (0, 0, 1)
    );
    assert_eq!(arc.headroom_stats().reserved, Bytes::ZERO);
    assert!(arc_state(&arc).c_max > before.c_max);
}

#[test]
fn destroying_a_create_that_is_allocating_leaves_it_to_roll_back() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let start = arc_state(&arc);
    let c = vmm.begin_create(b"vm", &guest(4)).unwrap();
    let mut c = ready_now(&vmm, c);
    assert_eq!(
        vmm.allocate_chunk(&mut c, &mut mem, Bytes(GIB)),
        Ok(AllocProgress::More)
    );
    // The create owns memory now: the destroy keeps the reservation.
    assert_eq!(vmm.destroy(c.instance()), Ok(DestroyOutcome::Deferred));
    assert_eq!(vmm.lookup(b"vm"), None, "the name is free at once");
    assert!(arc.headroom_stats().reserved > Bytes::ZERO);
    let e = vmm
        .allocate_chunk(&mut c, &mut mem, Bytes(GIB))
        .unwrap_err();
    assert_eq!(e, VmmError::Destroyed);
    assert_eq!(vmm.abort(c, &mut mem, e), VmmError::Destroyed);
    assert_eq!(mem.live_total(), 0);
    assert_eq!(arc_state(&arc), start);
    assert_eq!(vmm.stats().instances, 0);

    // Destroyed after the last chunk, before finish: finish rolls back.
    let c = vmm.begin_create(b"vm", &guest(1)).unwrap();
    let mut c = ready_now(&vmm, c);
    while vmm.allocate_chunk(&mut c, &mut mem, Bytes(GIB)).unwrap() == AllocProgress::More {}
    vmm.destroy(c.instance()).unwrap();
    assert_eq!(vmm.finish(c, &mut mem), Err(VmmError::Destroyed));
    assert_eq!(mem.live_total(), 0);
    assert_eq!(arc_state(&arc), start);
    let s = vmm.stats();
    assert_eq!(
        (s.instances, s.creates, s.destroys, s.fail_interrupted),
        (0, 0, 0, 2)
    );
}

#[test]
fn an_open_instance_keeps_its_reservation_until_closed() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let start = arc_state(&arc);
    let id = vmm.create(b"vm", &guest(4), &mut mem).unwrap();
    vmm.device_opened(id).unwrap();
    let held = arc_state(&arc);
    assert_eq!(vm_destroy_self(&vmm, id), Ok(DestroyOutcome::Deferred));
    // Its memory is still allocated: the ceiling stays down.
    assert_eq!(arc_state(&arc), held);
    assert_eq!(vmm.instance(id).unwrap().state, InstanceState::Destroying);
    // Further work on it is refused; its name is free.
    let seg = MemSegRequest {
        segid: SegmentId::BOOTROM,
        len: Bytes(1 << 20),
        sysmem: false,
    };
    assert_eq!(
        vmm.alloc_memseg(id, seg, &mut mem).unwrap_err().to_errno(),
        ENOENT
    );
    assert_eq!(vmm.hold(id).unwrap_err().to_errno(), EBUSY);
    let again = vmm.create_instance(b"vm").unwrap();
    vmm.destroy(again).unwrap();
    // Destroying again while it waits for the close: harmless.
    assert_eq!(vmm.destroy(id), Ok(DestroyOutcome::Deferred));
    let out = vmm.device_closed(id).unwrap();
    assert!(matches!(out, Some(DestroyOutcome::Finished { .. })));
    assert_eq!(arc_state(&arc), start);
    assert_eq!(vmm.stats().destroys, 2);
}

/// The kernel's case: vmm keeps names unique and destroys the instance
/// only at the last close of a VM destroyed while held open, so a VM of
/// the same name can be created before the old one is destroyed here.
#[test]
fn when_the_caller_owns_names_a_name_can_be_reused_before_the_old_instance_is_destroyed() {
    let arc = host(64);
    let vmm = client_with(
        &arc,
        vmm_client::ClientConfig {
            names: NameOwner::Caller,
            ..vmm_client::ClientConfig::default()
        },
    );
    let mut mem = FakeMemory::default();
    let start = arc_state(&arc);
    let old = vmm.create(b"vm", &guest(4), &mut mem).unwrap();
    let with_old = arc_state(&arc);
    // vmm has taken "vm" off its list; the old instance still lives here.
    let new = vmm.create(b"vm", &guest(2), &mut mem).unwrap();
    assert_ne!(old, new);
    assert_eq!(vmm.lookup(b"vm"), Some(new), "the newer one");
    assert_eq!(vmm.stats().instances, 2);
    let reserved = |id| vmm.instance(id).unwrap().reserved;
    let new_reserved = reserved(new);
    assert_eq!(
        arc.headroom_stats().reserved,
        reserved(old).saturating_add(new_reserved)
    );
    // The last close destroys the old one: only its reservation goes.
    assert!(matches!(
        vmm.destroy(old),
        Ok(DestroyOutcome::Finished { .. })
    ));
    assert_eq!(arc.headroom_stats().reserved, new_reserved);
    assert_eq!(vmm.instance(new).unwrap().state, InstanceState::Running);
    assert!(matches!(
        vmm.destroy(new),
        Ok(DestroyOutcome::Finished { .. })
    ));
    assert_eq!(arc_state(&arc), start);
    assert_ne!(with_old, start);
    // The default client refuses a name in use, as before.
    drop(vmm);
    let own = client(&arc);
    own.create_instance(b"vm").unwrap();
    assert_eq!(own.create_instance(b"vm"), Err(VmmError::DuplicateName));
}

#[test]
fn auto_destruct_destroys_on_the_last_close() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let start = arc_state(&arc);
    let id = vmm.create(b"vm", &guest(2), &mut mem).unwrap();
    vmm.device_opened(id).unwrap();
    assert_eq!(
        vmm.device_closed(id),
        Ok(None),
        "no auto-destruct: lives on"
    );
    vmm.device_opened(id).unwrap();
    assert_eq!(vm_set_autodestruct(&vmm, id, 1), Ok(()));
    assert!(vmm.instance(id).unwrap().autodestruct);
    let out = vmm.device_closed(id).unwrap();
    assert_eq!(
        out,
        Some(DestroyOutcome::Finished {
            reserved: Bytes(2 * GIB + 2 * GIB / 4096 * 120),
            allocated: Bytes(2 * GIB),
        })
    );
    assert_eq!(arc_state(&arc), start);
    assert_eq!(vm_set_autodestruct(&vmm, id, 0), Err(ENOENT));
}

#[test]
fn the_last_hold_finishes_a_destroy() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let start = arc_state(&arc);
    let id = vmm.create(b"vm", &guest(2), &mut mem).unwrap();
    vmm.hold(id).unwrap();
    vmm.hold(id).unwrap();
    assert_eq!(vmm.destroy(id), Ok(DestroyOutcome::Deferred));
    assert_eq!(vmm.release_hold(id), Ok(None), "not the last hold");
    assert!(arc.headroom_stats().reserved > Bytes::ZERO);
    assert!(matches!(
        vmm.release_hold(id),
        Ok(Some(DestroyOutcome::Finished { .. }))
    ));
    assert_eq!(arc_state(&arc), start);
    assert_eq!(vmm.release_hold(id), Err(VmmError::UnknownInstance));
}

#[test]
fn destroying_an_instance_whose_segment_waits_keeps_its_other_segments() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let start = arc_state(&arc);
    let id = vmm.create(b"vm", &guest(2), &mut mem).unwrap();
    let with_low = arc.headroom_stats().reserved;
    vmm.device_opened(id).unwrap();
    arc.platform().set_freemem(Pages(0));
    thread::scope(|s| {
        let _wake = WakeOnPanic(&arc);
        let h = s.spawn(|| vm_alloc_memseg(&vmm, id, 1, 8 * GIB, true, &mut FakeMemory::default()));
        until_sleeping(&arc, 1);
        assert!(arc.headroom_stats().reserved > with_low);
        // VM_DESTROY_SELF from another thread of the same process.
        assert_eq!(vm_destroy_self(&vmm, id), Ok(DestroyOutcome::Deferred));
        assert_eq!(arc.headroom_stats().reserved, with_low);
        assert_eq!(h.join().unwrap(), Err(ENOENT));
    });
    // The waiting segment is gone; the allocated one stays reserved until
    // the device is closed.
    assert_eq!(arc.headroom_stats().reserved, with_low);
    assert_eq!(vmm.instance(id).unwrap().segments.len(), 1);
    assert!(matches!(
        vmm.device_closed(id),
        Ok(Some(DestroyOutcome::Finished { .. }))
    ));
    assert_eq!(arc_state(&arc), start);
}

#[test]
fn the_ioctl_commands_return_errnos() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let start = arc_state(&arc);
    let mut buf = [0u8; 256];
    buf[..5].copy_from_slice(b"guest");
    let id = vmm_create_vm(&vmm, &buf).unwrap();
    assert_eq!(vmm_create_vm(&vmm, &buf), Err(EEXIST));
    assert_eq!(vmm_create_vm(&vmm, &[0u8; 256]), Err(EINVAL));
    assert_eq!(vmm_create_vm(&vmm, &[b'x'; 256]), Err(EINVAL));
    // VM_ALLOC_MEMSEG: bad ids, zero length, unknown instance.
    assert_eq!(
        vm_alloc_memseg(&vmm, id, 4, GIB, true, &mut mem),
        Err(EINVAL)
    );
    assert_eq!(
        vm_alloc_memseg(&vmm, id, -1, GIB, true, &mut mem),
        Err(EINVAL)
    );
    assert_eq!(vm_alloc_memseg(&vmm, id, 0, 0, true, &mut mem), Err(EINVAL));
    assert_eq!(
        vm_alloc_memseg(&vmm, InstanceId(777), 0, GIB, true, &mut mem),
        Err(ENOENT)
    );
    assert_eq!(
        vm_alloc_memseg(&vmm, id, 1, u64::MAX, true, &mut mem),
        Err(zfs_tunables::errno::EOVERFLOW)
    );
    assert_eq!(
        vm_alloc_memseg(&vmm, id, 0, 3 * GIB, true, &mut mem),
        Ok(())
    );
    assert_eq!(
        vm_alloc_memseg(&vmm, id, 1, 5 * GIB, true, &mut mem),
        Ok(())
    );
    assert_eq!(
        vm_alloc_memseg(&vmm, id, 1, 5 * GIB, true, &mut mem),
        Err(EEXIST)
    );
    assert_eq!(
        vm_alloc_memseg(&vmm, id, 1, 6 * GIB, true, &mut mem),
        Err(EINVAL)
    );
    // Three refused VMM_CREATE_VMs and seven refused VM_ALLOC_MEMSEGs.
    assert_eq!(vmm.stats().fail_invalid, 10);
    assert_eq!(mem.live_total(), 8 * GIB);
    // VMM_DESTROY_VM by name.
    assert_eq!(vmm_destroy_vm(&vmm, b"nobody\0"), Err(ENOENT));
    assert!(matches!(
        vmm_destroy_vm(&vmm, &buf),
        Ok(DestroyOutcome::Finished { .. })
    ));
    mem.vm_destroy(id);
    assert_eq!(vmm_destroy_vm(&vmm, &buf), Err(ENOENT));
    assert_eq!(vm_destroy_self(&vmm, id), Err(ENOENT));
    assert_eq!(arc_state(&arc), start);
}

/// bhyve retries `VM_ALLOC_MEMSEG` once a second on `ENOMEM` and exits
/// on anything else, so at the ioctl a segment that can never fit is
/// `ENOSPC` and one that does not fit now is `ENOMEM`; both are refused at
/// once, with nothing reserved and no wait. The client's own create still
/// says `ENOMEM` for both (issue 3).
#[test]
fn vm_alloc_memseg_tells_never_from_not_now() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let host_limit = arc.headroom_stats().c_max_base.0 - arc.limits().c_min.0;
    let id = vmm_create_vm(&vmm, b"vm\0").unwrap();
    // Nothing free: a create that reached the wait would sleep, and with
    // no other thread to wake it this test would hang.
    arc.platform().set_freemem(Pages(0));
    let before = arc_state(&arc);

    // Never: more than this host can reserve with nothing else live.
    let never = host_limit.next_multiple_of(4096) + 4096;
    assert_eq!(
        vm_alloc_memseg(&vmm, id, 1, never, true, &mut mem),
        Err(ENOSPC)
    );
    let segs = bhyve_memsegs(Bytes(never)).unwrap();
    let e = vmm.create(b"other", &segs, &mut mem).unwrap_err();
    assert_eq!(e.to_errno(), ENOMEM);
    assert_eq!(ioctl_errno(e), ENOSPC);
    assert_eq!(arc_state(&arc), before);

    // Not now: another instance holds most of what can be reserved.
    arc.platform().set_freemem(Pages(u64::MAX / 4096));
    let big = vmm.create(b"big", &guest(56), &mut mem).unwrap();
    arc.platform().set_freemem(Pages(0));
    let with_big = arc_state(&arc);
    // A segment of what is left, rounded up to GiB: it fits the host on
    // its own, not next to "big".
    let left = host_limit - arc.headroom_stats().reserved.0;
    let seg = left.next_multiple_of(GIB);
    assert!(seg < host_limit / 2);
    assert_eq!(
        vm_alloc_memseg(&vmm, id, 1, seg, true, &mut mem),
        Err(ENOMEM)
    );
    assert_eq!(arc_state(&arc), with_big);
    assert_eq!(arc.headroom_stats().counters.waits, 0);
    let stats = vmm.stats();
    assert_eq!((stats.fail_never_fits, stats.fail_no_headroom), (2, 1));

    // Once the other instance is gone, the same ioctl is granted.
    assert!(matches!(
        vmm.destroy(big),
        Ok(DestroyOutcome::Finished { .. })
    ));
    mem.vm_destroy(big);
    arc.platform().set_freemem(Pages(u64::MAX / 4096));
    assert_eq!(vm_alloc_memseg(&vmm, id, 1, seg, true, &mut mem), Ok(()));
    assert_eq!(mem.live_total(), seg);
}

#[test]
fn a_second_create_on_a_busy_instance_is_ebusy() {
    let arc = host(64);
    let vmm = client(&arc);
    let mut mem = FakeMemory::default();
    let id = vmm.create_instance(b"vm").unwrap();
    let low = MemSegRequest {
        segid: SegmentId::LOWMEM,
        len: Bytes(GIB),
        sysmem: true,
    };
    let c = vmm.begin_alloc_memseg(id, low).unwrap();
    let high = MemSegRequest {
        segid: SegmentId::HIGHMEM,
        ..low
    };
    assert_eq!(vmm.alloc_memseg(id, high, &mut mem), Err(VmmError::Busy));
    assert_eq!(VmmError::Busy.to_errno(), EBUSY);
    // A create dropped halfway is rolled back by abort, never by accident.
    let e = vmm.abort(c, &mut mem, VmmError::OutOfOrder);
    assert_eq!(e.to_errno(), EINVAL);
    vmm.alloc_memseg(id, high, &mut mem).unwrap();
}

/// One allocator shared by several threads.
struct Shared<'a>(&'a Mutex<FakeMemory>);

impl SegmentAllocator for Shared<'_> {
    fn allocate(
        &mut self,
        instance: InstanceId,
        segid: SegmentId,
        bytes: Bytes,
    ) -> Result<(), i32> {
        self.0.lock().unwrap().allocate(instance, segid, bytes)
    }

    fn free(&mut self, instance: InstanceId, segid: SegmentId, bytes: Bytes) {
        self.0.lock().unwrap().free(instance, segid, bytes)
    }
}

#[test]
fn concurrent_creates_and_destroys_leave_nothing_behind() {
    let arc = host(64);
    let vmm = client_with(
        &arc,
        vmm_client::ClientConfig {
            // Small chunks: many steps for destroys to land between.
            alloc_chunk: Bytes(4096),
            ..vmm_client::ClientConfig::default()
        },
    );
    let mem = Mutex::new(FakeMemory::default());
    let start = arc_state(&arc);
    let names: [&[u8]; 3] = [b"vm0", b"vm1", b"vm2"];
    let segs = bhyve_memsegs(Bytes(64 * 4096)).unwrap();
    let destroy = |name: &[u8]| {
        if let Some(id) = vmm.lookup(name) {
            if let Ok(DestroyOutcome::Finished { .. }) = vmm.destroy(id) {
                mem.lock().unwrap().vm_destroy(id);
            }
        }
    };
    thread::scope(|s| {
        for t in 0..4usize {
            let (vmm, mem, segs) = (&vmm, &mem, &segs);
            s.spawn(move || {
                for i in 0..200usize {
                    let _ = vmm.create(names[(t + i) % 3], segs, &mut Shared(mem));
                    destroy(names[(t + 2 * i) % 3]);
                }
            });
        }
    });
    for name in names {
        destroy(name);
    }
    let s = vmm.stats();
    assert_eq!((s.instances, s.reserved_bytes), (0, 0));
    assert_eq!(s.creates, s.destroys);
    assert_eq!(
        s.creates + s.fail_invalid + s.fail_interrupted,
        800,
        "every create either succeeded, found its name taken, or was destroyed"
    );
    assert_eq!(mem.lock().unwrap().live_total(), 0);
    assert_eq!(arc_state(&arc), start);
}
