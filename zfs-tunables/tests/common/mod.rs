//! Hosts and helpers shared by the integration tests.
#![allow(dead_code)]

use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{ArcTunables, Bytes, Generation, HostMemory, PageSize, GIB};

pub const PS: PageSize = PageSize::AMD64;

/// A host with `gib` GiB of physical memory.
pub fn host_gib(gib: u64) -> HostMemory {
    HostMemory::new(Bytes(gib * GIB).to_pages_roundup(PS), PS)
}

/// The component on a `gib` GiB host, booted, with a full ARC.
pub fn booted(gib: u64, generation: Generation) -> ArcTunables<StdPlatform> {
    let t = ArcTunables::new(StdPlatform::manual(), host_gib(gib), generation);
    t.finish_boot();
    let c = t.limits().c;
    t.platform().set_arc_size(c);
    t
}
