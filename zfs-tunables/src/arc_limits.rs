//! The ARC's limits as `arc_init()` computes them, as a pure function.
//!
//! illumos computes `arc_c_min`, `arc_c_max` and what derives from them
//! once, in `arc_init()` (`uts/common/fs/zfs/arc.c`), from `physmem`,
//! `swapfs_minfree` and the `zfs_arc_*` variables that `/etc/system` may
//! have set. Here the same computation is a function of its inputs, so it
//! can run again whenever an input changes: that is all "runtime
//! tunables" means for the limits. Two generations are kept, because the
//! seed's measurements come from the 2021 tree and operators run current
//! illumos:
//!
//! - [`Generation::Y2021`] (illumos-joyent at the OS-8005 fix):
//!   `c_min = MAX(allmem/32, 64 MiB)`, raised to `arc_meta_limit/2` when
//!   `zfs_arc_min` is unset, then clamped to 1 GiB when unset;
//! - [`Generation::Current`]: `c_min = MIN(MAX(allmem/64, 64 MiB), 1 GiB)`.
//!
//! Both: `c_max = MAX(allmem*3/4, allmem - 1 GiB)` (the second term is
//! `c_min` below 1 GiB of `allmem`); an admin `zfs_arc_max` is used when
//! `64 MiB < v < allmem`, lowering `c_min` to fit (illumos 7278); an admin
//! `zfs_arc_min` when `64 MiB < v <= c_max`; `arc_meta_limit = c_max/4`
//! unless `0 < zfs_arc_meta_limit <= c_max`; `arc_meta_min =
//! zfs_arc_meta_min` or `c_min/2`; the dbuf caches are `c_max >> 5` and
//! `c_max >> 6` unless set below `c_max` (`dbuf_init()` in `dbuf.c`).
//!
//! `arc_init()` ignores a bad value silently. [`compute_lenient`] does the
//! same but reports what it ignored (for `/etc/system` warnings);
//! [`compute_strict`] refuses instead, with the error a runtime write
//! returns. The kernel's `heap_arena` term of `arc_meta_limit` (half the
//! heap) is modelled by [`HostMemory::heap`]; on amd64 the heap is far
//! larger than `c_max/2`, so it is `None` by default.

use crate::error::TunableError;
use crate::units::{Bytes, PageSize, Pages, GIB, MIB};

/// `64 << 20`: the floor below which `arc_init()` ignores `zfs_arc_max`
/// and `zfs_arc_min` (strictly: exactly 64 MiB is ignored too).
pub const ARC_LIMIT_FLOOR: Bytes = Bytes(64 * MIB);

/// The 1 GiB clamp on a default `c_min`, and the 1 GiB kept out of a large
/// host's default `c_max`.
pub const ONE_GIB: Bytes = Bytes(GIB);

/// `dbuf_cache_shift`: the dbuf cache defaults to `c_max >> 5`.
pub const DBUF_CACHE_SHIFT: u32 = 5;
/// `dbuf_metadata_cache_shift`: the metadata dbuf cache defaults to
/// `c_max >> 6`.
pub const DBUF_METADATA_CACHE_SHIFT: u32 = 6;

/// Which illumos tree's `arc_init()` to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Generation {
    /// illumos-joyent in 2021, the tree of the OS-8005 fix and the seed.
    Y2021,
    /// Current illumos-gate.
    #[default]
    Current,
}

/// The host's memory as `arc_init()` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostMemory {
    /// `physmem`: pages of physical memory the kernel manages.
    pub physmem: Pages,
    /// `swapfs_minfree`: pages kept out of swapfs's reach.
    pub swapfs_minfree: Pages,
    /// The base page size.
    pub page_size: PageSize,
    /// `vmem_size(heap_arena, VMEM_ALLOC | VMEM_FREE)`, if it should bound
    /// `arc_meta_limit`; `None` on amd64, where it never does.
    pub heap: Option<Bytes>,
}

impl HostMemory {
    /// A host with `physmem` pages and the default `swapfs_minfree` of
    /// `swapfs_recalc()` (`swap_subr.c`): 1/8 of memory, at least 2 MiB,
    /// at most 256 MiB.
    #[must_use]
    pub const fn new(physmem: Pages, page_size: PageSize) -> HostMemory {
        HostMemory {
            physmem,
            swapfs_minfree: default_swapfs_minfree(physmem, page_size),
            page_size,
            heap: None,
        }
    }

    /// `allmem = ptob(physmem - swapfs_minfree)`: all the memory the ARC
    /// could possibly use.
    #[must_use]
    pub const fn allmem(&self) -> Bytes {
        self.physmem
            .saturating_sub(self.swapfs_minfree)
            .saturating_to_bytes(self.page_size)
    }
}

/// `swapfs_minfree` as `swapfs_recalc()` computes it when not tuned.
#[must_use]
pub const fn default_swapfs_minfree(physmem: Pages, ps: PageSize) -> Pages {
    let two_mib = Bytes(2 * MIB).to_pages_roundup(ps).0;
    let cap = Bytes(256 * MIB).to_pages_roundup(ps).0;
    let eighth = physmem.0 >> 3;
    let v = if eighth > two_mib { eighth } else { two_mib };
    Pages(if v < cap { v } else { cap })
}

/// The admin's values of the ARC tunables; 0 means "not set, use the
/// default", as in illumos.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdminValues {
    /// `zfs_arc_max`.
    pub arc_max: u64,
    /// `zfs_arc_min`.
    pub arc_min: u64,
    /// `zfs_arc_meta_limit`.
    pub arc_meta_limit: u64,
    /// `zfs_arc_meta_min`.
    pub arc_meta_min: u64,
    /// `dbuf_cache_max_bytes`.
    pub dbuf_cache_max: u64,
    /// `dbuf_metadata_cache_max_bytes`.
    pub dbuf_metadata_cache_max: u64,
}

/// The limits in force for a given host and set of admin values, before
/// any headroom reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArcLimits {
    /// `arc_c_min`.
    pub c_min: Bytes,
    /// `arc_c_max`: the admin's `zfs_arc_max` or the default.
    pub c_max: Bytes,
    /// `arc_meta_limit` for this `c_max`.
    pub meta_limit: Bytes,
    /// `arc_meta_min`.
    pub meta_min: Bytes,
    /// The default `c_max` of this host (what `arc_init()` computes with no
    /// tunables set).
    pub c_max_default: Bytes,
    /// `allmem`.
    pub allmem: Bytes,
}

bitflags::bitflags! {
    /// The admin values a lenient computation ignored.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Ignored: u32 {
        /// `zfs_arc_max` was not in `(64 MiB, allmem)`.
        const ARC_MAX = 1 << 0;
        /// `zfs_arc_min` was not in `(64 MiB, c_max]`.
        const ARC_MIN = 1 << 1;
        /// `zfs_arc_meta_limit` was above `c_max`.
        const ARC_META_LIMIT = 1 << 2;
        /// `dbuf_cache_max_bytes` was not below `c_max`.
        const DBUF_CACHE_MAX = 1 << 3;
        /// `dbuf_metadata_cache_max_bytes` was not below `c_max`.
        const DBUF_METADATA_CACHE_MAX = 1 << 4;
    }
}

/// The default `c_max` for `allmem`: `MAX(allmem*3/4, allmem - 1 GiB)`,
/// with the second term replaced by `c_min` below 1 GiB of `allmem`.
const fn default_c_max(allmem: Bytes, c_min_default: Bytes) -> Bytes {
    let second = if allmem.0 >= GIB {
        allmem.0.saturating_sub(GIB)
    } else {
        c_min_default.0
    };
    // allmem * 3 / 4 without overflow: allmem - allmem/4.
    let three_quarters = allmem.0.saturating_sub(allmem.0 / 4);
    Bytes(if three_quarters > second {
        three_quarters
    } else {
        second
    })
}

/// `arc_init()`'s first `c_min`, before the admin's values.
const fn initial_c_min(allmem: Bytes, generation: Generation) -> Bytes {
    let floor = ARC_LIMIT_FLOOR.0;
    match generation {
        Generation::Y2021 => {
            let v = allmem.0 / 32;
            Bytes(if v > floor { v } else { floor })
        }
        Generation::Current => {
            let v = allmem.0 / 64;
            let v = if v > floor { v } else { floor };
            Bytes(if v < GIB { v } else { GIB })
        }
    }
}

/// Computes the limits as `arc_init()` does, ignoring (and reporting) any
/// admin value `arc_init()` would ignore.
#[must_use]
pub fn compute_lenient(
    host: &HostMemory,
    generation: Generation,
    admin: &AdminValues,
) -> (ArcLimits, Ignored) {
    let allmem = host.allmem();
    let mut ignored = Ignored::empty();

    let mut c_min = initial_c_min(allmem, generation);
    let c_max_default = default_c_max(allmem, c_min);
    let mut c_max = c_max_default;

    if admin.arc_max != 0 {
        if admin.arc_max > ARC_LIMIT_FLOOR.0 && admin.arc_max < allmem.0 {
            c_max = Bytes(admin.arc_max);
            c_min = core::cmp::min(c_min, c_max);
        } else {
            ignored |= Ignored::ARC_MAX;
        }
    }
    if admin.arc_min != 0 {
        if admin.arc_min > ARC_LIMIT_FLOOR.0 && admin.arc_min <= c_max.0 {
            c_min = Bytes(admin.arc_min);
        } else {
            ignored |= Ignored::ARC_MIN;
        }
    }

    let mut meta_limit = Bytes(c_max.0 / 4);
    if let Some(heap) = host.heap {
        meta_limit = core::cmp::min(meta_limit, Bytes(heap.0 / 2));
    }
    if admin.arc_meta_limit != 0 {
        if admin.arc_meta_limit <= c_max.0 {
            meta_limit = Bytes(admin.arc_meta_limit);
        } else {
            ignored |= Ignored::ARC_META_LIMIT;
        }
    }

    if generation == Generation::Y2021 {
        // `if (arc_c_min < arc_meta_limit / 2 && zfs_arc_min == 0)`, then
        // `if (zfs_arc_min == 0) arc_c_min = MIN(arc_c_min, 1 GiB)`: both
        // test the raw variable, as here.
        if admin.arc_min == 0 && c_min.0 < meta_limit.0 / 2 {
            c_min = Bytes(meta_limit.0 / 2);
        }
        if admin.arc_min == 0 {
            c_min = core::cmp::min(c_min, ONE_GIB);
        }
    }

    let meta_min = if admin.arc_meta_min != 0 {
        Bytes(admin.arc_meta_min)
    } else {
        Bytes(c_min.0 / 2)
    };

    if admin.dbuf_cache_max != 0 && admin.dbuf_cache_max >= c_max.0 {
        ignored |= Ignored::DBUF_CACHE_MAX;
    }
    if admin.dbuf_metadata_cache_max != 0 && admin.dbuf_metadata_cache_max >= c_max.0 {
        ignored |= Ignored::DBUF_METADATA_CACHE_MAX;
    }

    (
        ArcLimits {
            c_min,
            c_max,
            meta_limit,
            meta_min,
            c_max_default,
            allmem,
        },
        ignored,
    )
}

/// The names of the ARC's tunables, as their C variables are named.
pub mod names {
    /// `zfs_arc_max`.
    pub const ZFS_ARC_MAX: &str = "zfs_arc_max";
    /// `zfs_arc_min`.
    pub const ZFS_ARC_MIN: &str = "zfs_arc_min";
    /// `zfs_arc_meta_limit`.
    pub const ZFS_ARC_META_LIMIT: &str = "zfs_arc_meta_limit";
    /// `zfs_arc_meta_min`.
    pub const ZFS_ARC_META_MIN: &str = "zfs_arc_meta_min";
    /// `dbuf_cache_max_bytes`.
    pub const DBUF_CACHE_MAX_BYTES: &str = "dbuf_cache_max_bytes";
    /// `dbuf_metadata_cache_max_bytes`.
    pub const DBUF_METADATA_CACHE_MAX_BYTES: &str = "dbuf_metadata_cache_max_bytes";
    /// `zfs_arc_headroom_margin`: the free memory a reservation's start
    /// must leave (not an ARC limit: the headroom's own tunable).
    pub const ZFS_ARC_HEADROOM_MARGIN: &str = "zfs_arc_headroom_margin";
}

/// Computes the limits, refusing any admin value `arc_init()` would
/// ignore, with the error a runtime write returns.
///
/// `changed` names the tunable being written, so an error about a
/// relation between two tunables is reported against the one the admin
/// just touched.
pub fn compute_strict(
    host: &HostMemory,
    generation: Generation,
    admin: &AdminValues,
    changed: &dyn Fn(&str) -> bool,
) -> Result<ArcLimits, TunableError> {
    let allmem = host.allmem();
    let floor = ARC_LIMIT_FLOOR.0;

    if admin.arc_max != 0 && !(admin.arc_max > floor && admin.arc_max < allmem.0) {
        return Err(TunableError::OutOfBounds {
            name: names::ZFS_ARC_MAX,
            value: admin.arc_max,
            min: floor.saturating_add(1),
            max: allmem.0.saturating_sub(1),
        });
    }
    let (limits, ignored) = compute_lenient(host, generation, admin);

    if admin.arc_min != 0 && admin.arc_min <= floor {
        // The bounds in force: above the floor and at most the ceiling
        // (which zfs_arc_min plays no part in).
        return Err(TunableError::OutOfBounds {
            name: names::ZFS_ARC_MIN,
            value: admin.arc_min,
            min: floor.saturating_add(1),
            max: limits.c_max.0,
        });
    }

    if ignored.contains(Ignored::ARC_MIN) {
        // Only the relation can be at fault now: zfs_arc_min > c_max.
        let name = if changed(names::ZFS_ARC_MAX) && !changed(names::ZFS_ARC_MIN) {
            names::ZFS_ARC_MAX
        } else {
            names::ZFS_ARC_MIN
        };
        let value = if name == names::ZFS_ARC_MAX {
            admin.arc_max
        } else {
            admin.arc_min
        };
        return Err(TunableError::MinAboveMax {
            name,
            value,
            min: admin.arc_min,
            max: limits.c_max.0,
        });
    }
    if ignored.contains(Ignored::ARC_META_LIMIT) {
        return Err(TunableError::OutOfBounds {
            name: names::ZFS_ARC_META_LIMIT,
            value: admin.arc_meta_limit,
            min: 1,
            max: limits.c_max.0,
        });
    }
    if ignored.contains(Ignored::DBUF_CACHE_MAX) {
        return Err(TunableError::OutOfBounds {
            name: names::DBUF_CACHE_MAX_BYTES,
            value: admin.dbuf_cache_max,
            min: 1,
            max: limits.c_max.0.saturating_sub(1),
        });
    }
    if ignored.contains(Ignored::DBUF_METADATA_CACHE_MAX) {
        return Err(TunableError::OutOfBounds {
            name: names::DBUF_METADATA_CACHE_MAX_BYTES,
            value: admin.dbuf_metadata_cache_max,
            min: 1,
            max: limits.c_max.0.saturating_sub(1),
        });
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS: PageSize = PageSize::AMD64;

    /// The seed's 4 GB host: `::memstat` Total 1045110 pages.
    fn seed_4g() -> HostMemory {
        HostMemory::new(Pages(1_045_110), PS)
    }

    fn host_gib(gib: u64) -> HostMemory {
        HostMemory::new(Bytes(gib * GIB).to_pages_roundup(PS), PS)
    }

    #[test]
    fn swapfs_minfree_follows_swapfs_recalc() {
        // 1/8 of 4 GB is above 256 MiB: capped.
        assert_eq!(seed_4g().swapfs_minfree, Pages(65_536));
        // 8 MiB host: 1/8 is 256 pages = 1 MiB, raised to 2 MiB.
        assert_eq!(default_swapfs_minfree(Pages(2048), PS), Pages(512));
        // 1 GiB host: 1/8 = 128 MiB.
        assert_eq!(host_gib(1).swapfs_minfree, Pages(32_768));
    }

    #[test]
    fn seed_4g_c_min_is_358_mib_in_2021() {
        let (l, ignored) = compute_lenient(&seed_4g(), Generation::Y2021, &AdminValues::default());
        assert!(ignored.is_empty());
        // The seed's arcstat shows c = c_min = 358M.
        assert_eq!(l.c_min.0 / MIB, 358);
        // allmem = (1045110 - 65536) pages.
        assert_eq!(l.allmem, Bytes(979_574 * 4096));
        assert_eq!(l.c_max, Bytes(l.allmem.0 - l.allmem.0 / 4));
        assert_eq!(l.meta_limit, Bytes(l.c_max.0 / 4));
        assert_eq!(l.c_min, Bytes(l.meta_limit.0 / 2));
    }

    #[test]
    fn seed_4g_current_formula_differs() {
        let (l, _) = compute_lenient(&seed_4g(), Generation::Current, &AdminValues::default());
        // allmem/64 is just under 60 MiB: the 64 MiB floor applies.
        assert!(l.allmem.0 / 64 < 64 * MIB);
        assert_eq!(l.c_min, ARC_LIMIT_FLOOR);
        let (l, _) = compute_lenient(&host_gib(32), Generation::Current, &AdminValues::default());
        assert_eq!(l.c_min, Bytes(l.allmem.0 / 64));
    }

    #[test]
    fn large_host_limits() {
        let h = host_gib(128);
        let (l, _) = compute_lenient(&h, Generation::Current, &AdminValues::default());
        assert_eq!(l.c_min, Bytes(GIB));
        assert_eq!(l.c_max, Bytes(l.allmem.0 - GIB));
        assert_eq!(l.allmem, Bytes(128 * GIB - 256 * MIB));
        let (l21, _) = compute_lenient(&h, Generation::Y2021, &AdminValues::default());
        assert_eq!(l21.c_min, Bytes(GIB));
    }

    #[test]
    fn small_host_c_max_is_three_quarters() {
        let h = HostMemory::new(Pages(200_000), PS); // ~781 MiB
        let (l, _) = compute_lenient(&h, Generation::Current, &AdminValues::default());
        assert_eq!(l.c_max, Bytes(l.allmem.0 - l.allmem.0 / 4));
    }

    #[test]
    fn admin_max_lowers_default_min_7278() {
        let h = host_gib(128);
        let admin = AdminValues {
            arc_max: 512 * MIB,
            ..AdminValues::default()
        };
        let l = compute_strict(&h, Generation::Current, &admin, &|_| true).unwrap();
        assert_eq!(l.c_max, Bytes(512 * MIB));
        assert_eq!(l.c_min, Bytes(512 * MIB));
    }

    #[test]
    fn strict_refuses_what_lenient_ignores() {
        let h = host_gib(16);
        for bad in [1, 64 * MIB, h.allmem().0, u64::MAX] {
            let admin = AdminValues {
                arc_max: bad,
                ..AdminValues::default()
            };
            let (_, ignored) = compute_lenient(&h, Generation::Current, &admin);
            assert!(ignored.contains(Ignored::ARC_MAX));
            let e = compute_strict(&h, Generation::Current, &admin, &|_| true).unwrap_err();
            assert_eq!(e.to_errno(), crate::errno::EINVAL);
        }
        let admin = AdminValues {
            arc_min: 15 * GIB,
            ..AdminValues::default()
        };
        let e = compute_strict(&h, Generation::Current, &admin, &|_| true).unwrap_err();
        assert_eq!(e.to_errno(), crate::errno::ERANGE);
    }
}
