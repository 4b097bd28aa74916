//! The hosts the fuzz targets start from, and the checks they run.
//!
//! The checks are the ones the property tests run in CI
//! (`admin-syntax/tests/common/admin_input_checks.rs` and
//! `tests-vm/tests/common/scenario_checks.rs`, included here), so the
//! fuzzer and the stable test suite hold the code to one statement of its
//! invariants. Every target builds its host from nothing on every
//! input, so a run is deterministic and a crashing input crashes again.

use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{ArcTunables, Bytes, Generation, HostMemory, PageSize, GIB};

#[path = "../../admin-syntax/tests/common/admin_input_checks.rs"]
pub mod admin_input_checks;

#[path = "../../tests-vm/tests/common/scenario_checks.rs"]
pub mod scenario_checks;

/// The host's memory: 16 GiB, amd64 pages.
pub const HOST_GIB: u64 = 16;

/// The headroom one guest holds while the writes happen, so a value that
/// leaves no room for live reservations (`EBUSY`) is reachable.
pub const RESERVED: Bytes = Bytes(2 * GIB);

/// A 16 GiB host, not yet booted, with vmm's tunables registered beside
/// zfs's (so `/etc/system` and the kstats see two modules).
#[must_use]
pub fn booting() -> ArcTunables<StdPlatform> {
    let ps = PageSize::AMD64;
    let host = HostMemory::new(Bytes(HOST_GIB * GIB).to_pages_roundup(ps), ps);
    let t = ArcTunables::new(StdPlatform::manual(), host, Generation::Current);
    t.register(&vmm_client::page_overhead::VMM_REGISTRANT)
        .expect("vmm registers");
    t
}

/// That host booted, with a full ARC and one guest's reservation held.
#[must_use]
pub fn booted() -> ArcTunables<StdPlatform> {
    let t = booting();
    t.finish_boot();
    let c = t.limits().c;
    t.platform().set_arc_size(c);
    t.reserve("vmm", RESERVED).expect("the reservation fits");
    t
}
