//! Hosts, a fake memory allocator and helpers shared by the tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::thread;

use vmm_client::table_lock::StdTableLock;
use vmm_client::{InstanceId, SegmentAllocator, SegmentId, StdVmmClient};
use zfs_tunables::errno::ENOMEM;
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{
    ArcTunables, Bytes, Generation, HeadroomStats, HostMemory, LimitsSnapshot, PageSize, Pages, GIB,
};

pub const PS: PageSize = PageSize::AMD64;

/// A booted host of `gib` GiB with a full ARC and free memory to spare,
/// so creates that fit never wait.
pub fn host(gib: u64) -> ArcTunables<StdPlatform> {
    let physmem = Bytes(gib * GIB).to_pages_roundup(PS);
    let t = ArcTunables::new(
        StdPlatform::manual(),
        HostMemory::new(physmem, PS),
        Generation::Current,
    );
    t.finish_boot();
    let c = t.limits().c;
    t.platform().set_arc_size(c);
    t.platform().set_desfree(Pages(physmem.0 / 128));
    t.platform().set_freemem(Pages(u64::MAX / 4096));
    t
}

/// The vmm client on `arc`.
pub fn client(arc: &ArcTunables<StdPlatform>) -> StdVmmClient<'_> {
    StdVmmClient::new(arc, StdTableLock::new()).unwrap()
}

/// A client with `config`.
pub fn client_with(
    arc: &ArcTunables<StdPlatform>,
    config: vmm_client::ClientConfig,
) -> StdVmmClient<'_> {
    StdVmmClient::with_config(arc, StdTableLock::new(), config).unwrap()
}

/// Guest memory as a map of live allocations, failing on cue.
#[derive(Debug, Default)]
pub struct FakeMemory {
    /// Bytes allocated per (instance, segment).
    pub live: BTreeMap<(u64, u8), u64>,
    /// Fail the allocation that would take the live total above this.
    pub fail_above: Option<u64>,
    /// Allocation calls made.
    pub calls: u64,
}

impl FakeMemory {
    pub fn failing_above(bytes: u64) -> Self {
        FakeMemory {
            fail_above: Some(bytes),
            ..Self::default()
        }
    }

    /// Bytes allocated and not freed.
    pub fn live_total(&self) -> u64 {
        self.live.values().sum()
    }

    /// What `vm_destroy()` does after a destroy finished: frees the
    /// instance's memory.
    pub fn vm_destroy(&mut self, id: InstanceId) -> u64 {
        let mut freed = 0;
        self.live.retain(|&(i, _), &mut b| {
            if i == id.0 {
                freed += b;
                false
            } else {
                true
            }
        });
        freed
    }
}

impl SegmentAllocator for FakeMemory {
    fn allocate(
        &mut self,
        instance: InstanceId,
        segid: SegmentId,
        bytes: Bytes,
    ) -> Result<(), i32> {
        self.calls += 1;
        assert_eq!(bytes.0 % 4096, 0, "allocations are whole pages");
        assert!(bytes.0 > 0);
        if let Some(limit) = self.fail_above {
            if self.live_total() + bytes.0 > limit {
                return Err(ENOMEM);
            }
        }
        *self.live.entry((instance.0, segid.get())).or_insert(0) += bytes.0;
        Ok(())
    }

    fn free(&mut self, instance: InstanceId, segid: SegmentId, bytes: Bytes) {
        let live = self.live.remove(&(instance.0, segid.get()));
        assert_eq!(
            live,
            Some(bytes.0),
            "a rollback frees exactly what was allocated"
        );
    }
}

/// Everything a refused or rolled-back request must leave unchanged on
/// the ARC's side: the effective ceiling and the other limits but `c`
/// (the ARC's target follows a lowered ceiling down and grows back on its
/// own), and the headroom gauges.
#[derive(Debug, PartialEq, Eq)]
pub struct ArcState {
    pub c_max: Bytes,
    pub c_min: Bytes,
    pub meta_limit: Bytes,
    pub dbuf_cache_max: Bytes,
    pub reserved: Bytes,
    pub pending: Bytes,
    pub c_max_effective: Bytes,
    pub reservations: u64,
}

pub fn arc_state(arc: &ArcTunables<StdPlatform>) -> ArcState {
    let LimitsSnapshot {
        c_max,
        c_min,
        meta_limit,
        dbuf_cache_max,
        ..
    } = arc.limits();
    let HeadroomStats {
        reserved,
        pending,
        c_max_effective,
        reservations,
        ..
    } = arc.headroom_stats();
    ArcState {
        c_max,
        c_min,
        meta_limit,
        dbuf_cache_max,
        reserved,
        pending,
        c_max_effective,
        reservations,
    }
}

/// Frees every thread asleep in the core's `wait` if the test fails while
/// they sleep, so a failed assertion inside `thread::scope` ends the test
/// instead of leaving the scope waiting for them forever.
pub struct WakeOnPanic<'a>(pub &'a ArcTunables<StdPlatform>);

impl Drop for WakeOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            for _ in 0..self.0.platform().sleepers() {
                self.0.platform().interrupt();
            }
        }
    }
}

/// Waits, without sleeping, until `n` threads are asleep in the core's
/// `wait`.
pub fn until_sleeping(arc: &ArcTunables<StdPlatform>, n: u64) {
    while arc.platform().sleepers() != n {
        thread::yield_now();
    }
}

/// Polls `c` once and returns it ready: panics (failing the test) if its
/// headroom is not there yet or the poll fails.
#[allow(dead_code)]
pub fn ready_now(
    vmm: &StdVmmClient<'_>,
    c: vmm_client::Creation<vmm_client::Reserved>,
) -> vmm_client::Creation<vmm_client::Ready> {
    match vmm.poll_headroom(c) {
        Ok(vmm_client::Polled::Ready(c)) => c,
        Ok(vmm_client::Polled::Waiting(_)) => panic!("no headroom yet"),
        Err(f) => panic!("poll failed: {:?}", f.error),
    }
}
