//! Hosts, a vmm-like registrant and vmm's statistics for the tests.
#![allow(dead_code)]

use kstat_export::{Credential, KstatId, KstatSet, RawVariables, Sources};
use zfs_tunables::registry::{Registrant, TunableDesc, TunableFlags, Unit};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::{ArcTunables, Bytes, Generation, HostMemory, Hrtime, PageSize, GIB};

pub const PS: PageSize = PageSize::AMD64;

/// A host with `gib` GiB of physical memory.
pub fn host_gib(gib: u64) -> HostMemory {
    HostMemory::new(Bytes(gib * GIB).to_pages_roundup(PS), PS)
}

/// The component on a `gib` GiB host, not yet booted.
pub fn booting(gib: u64) -> ArcTunables<StdPlatform> {
    ArcTunables::new(StdPlatform::manual(), host_gib(gib), Generation::Current)
}

/// The component on a `gib` GiB host, booted, with a full ARC.
pub fn booted(gib: u64) -> ArcTunables<StdPlatform> {
    let t = booting(gib);
    t.finish_boot();
    let c = t.limits().c;
    t.platform().set_arc_size(c);
    t
}

/// The same tunable vmm-client registers (`vmm_arc_page_overhead`).
static VMM_TUNABLES: [TunableDesc; 1] = [TunableDesc {
    name: "vmm_arc_page_overhead",
    description: "ARC headroom reserved per guest page besides the page (bytes)",
    unit: Unit::BytesPerPage,
    flags: TunableFlags::DYNAMIC,
    min: 0,
    max: 4096,
    default: 120,
    rule: None,
}];

/// A registrant shaped like vmm-client's.
pub static VMM_REGISTRANT: Registrant = Registrant {
    module: "vmm",
    tunables: &VMM_TUNABLES,
    validate: None,
    apply: None,
};

static BOOT_ONLY: [TunableDesc; 1] = [TunableDesc {
    name: "test_boot_only",
    description: "a tunable that only /etc/system may set",
    unit: Unit::Count,
    flags: TunableFlags::BOOT_ONLY,
    min: 0,
    max: 10,
    default: 1,
    rule: None,
}];

/// A registrant whose only tunable is boot-only.
pub static BOOT_ONLY_REGISTRANT: Registrant = Registrant {
    module: "test",
    tunables: &BOOT_ONLY,
    validate: None,
    apply: None,
};

/// vmm's `arc_resv` statistics, with vmm-client's names in its order.
pub fn arc_resv_fields(instances: u64, reserved: u64, overhead: u64) -> [(&'static str, u64); 13] {
    [
        ("instances", instances),
        ("reserved_bytes", reserved),
        ("overhead_bytes", overhead),
        ("creates", instances + 1),
        ("destroys", 1),
        ("fail_no_headroom", 1),
        ("fail_never_fits", 0),
        ("fail_no_memory", 0),
        ("fail_timeout", 0),
        ("fail_interrupted", 0),
        ("fail_alloc", 0),
        ("fail_table_full", 0),
        ("fail_invalid", 0),
    ]
}

pub const T0: Hrtime = Hrtime(5_000_000_000);

/// Writes `values` to `zfs:0:tunables` as root, with the raw variables.
pub fn write_tunables(
    ks: &mut KstatSet,
    t: &ArcTunables<StdPlatform>,
    raw: &mut RawVariables<AtomicU64>,
    values: &[(&str, u64)],
) -> Result<(), kstat_export::ExportError> {
    let mut src = Sources {
        tunables: t,
        arc_resv: None,
        raw: Some(raw),
    };
    ks.write_values(
        KstatId::Tunables,
        &mut src,
        values,
        Credential::SysConfig,
        T0,
    )
}
