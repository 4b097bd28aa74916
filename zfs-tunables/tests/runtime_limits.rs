//! Runtime writes of the ARC's limits: validation, effect, derived values.

#![cfg(not(loom))]

mod common;

use common::booted;
use zfs_tunables::errno::{EBUSY, EINVAL, ENOENT, ERANGE};
use zfs_tunables::{Bytes, Generation, LimitsSnapshot, GIB, MIB};

fn assert_consistent(s: &LimitsSnapshot) {
    assert!(s.c_min <= s.c_max, "{s:?}");
    assert!(s.c_min <= s.c && s.c <= s.c_max, "{s:?}");
}

#[test]
fn arc_max_outside_the_illumos_bounds_is_einval_and_changes_nothing() {
    let t = booted(16, Generation::Current);
    let allmem = t.configured_limits().allmem;
    let before = t.limits();
    for bad in [1, 64 * MIB - 1, 64 * MIB, allmem.0, allmem.0 + 1, u64::MAX] {
        let e = t.set("zfs_arc_max", bad).unwrap_err();
        assert_eq!(e.to_errno(), EINVAL, "{bad}: {e}");
        assert_eq!(t.limits(), before);
        assert_eq!(t.get("zfs_arc_max").unwrap(), 0);
    }
    // Just inside both bounds is accepted.
    t.set("zfs_arc_max", 64 * MIB + 4096).unwrap();
    assert_eq!(t.limits().c_max, Bytes(64 * MIB + 4096));
    t.set("zfs_arc_max", allmem.0 - 1).unwrap();
    assert_eq!(t.limits().c_max, Bytes(allmem.0 - 1));
}

#[test]
fn arc_min_above_c_max_is_erange() {
    let t = booted(16, Generation::Current);
    let before = t.limits();
    let e = t.set("zfs_arc_min", before.c_max.0 + 1).unwrap_err();
    assert_eq!(e.to_errno(), ERANGE, "{e}");
    assert_eq!(t.limits(), before);
    let e = t.set("zfs_arc_min", 64 * MIB).unwrap_err();
    assert_eq!(e.to_errno(), EINVAL, "{e}");
    assert_eq!(t.limits(), before);
}

#[test]
fn default_c_min_is_lowered_to_fit_but_an_admin_c_min_is_not() {
    let t = booted(128, Generation::Current);
    assert_eq!(t.limits().c_min, Bytes(GIB));
    // illumos 7278: a zfs_arc_max below the default c_min lowers c_min.
    t.set("zfs_arc_max", 512 * MIB).unwrap();
    let s = t.limits();
    assert_eq!((s.c_min, s.c_max), (Bytes(512 * MIB), Bytes(512 * MIB)));
    t.reset("zfs_arc_max").unwrap();
    assert_eq!(t.limits().c_min, Bytes(GIB));

    // An admin-set zfs_arc_min is not lowered: the write is refused.
    t.set("zfs_arc_min", 2 * GIB).unwrap();
    let before = t.limits();
    let e = t.set("zfs_arc_max", GIB).unwrap_err();
    assert_eq!(e.to_errno(), ERANGE, "{e}");
    assert!(e.to_string().contains("zfs_arc_max"), "{e}");
    assert_eq!(t.limits(), before);
    assert_eq!(t.get("zfs_arc_max").unwrap(), 0);
}

#[test]
fn lowering_arc_max_below_c_lowers_c_at_once_and_kicks_once() {
    let t = booted(16, Generation::Current);
    let c = t.limits().c;
    assert!(c > Bytes(4 * GIB));
    let kicks = t.platform().kicks();
    t.set("zfs_arc_max", 4 * GIB).unwrap();
    let s = t.limits();
    assert_eq!(s.c, Bytes(4 * GIB));
    assert_eq!(s.c_max, Bytes(4 * GIB));
    assert_eq!(s.p, Bytes(2 * GIB));
    assert_consistent(&s);
    assert_eq!(t.platform().kicks(), kicks + 1);
    // Raising the ceiling again does not kick and does not raise c.
    t.set("zfs_arc_max", 8 * GIB).unwrap();
    assert_eq!(t.platform().kicks(), kicks + 1);
    assert_eq!(t.limits().c, Bytes(4 * GIB));
}

#[test]
fn openzfs_runtime_tuning_sequence() {
    // arcstats_runtime_tuning.ksh: for MAX/4, /3, /2, MAX set max then min.
    for generation in [Generation::Y2021, Generation::Current] {
        let t = booted(64, generation);
        let original = t.limits();
        let max = original.c_max.0;
        for v in [max / 4, max / 3, max / 2, max] {
            t.set("zfs_arc_max", v).unwrap();
            assert_eq!(t.limits().c_max, Bytes(v));
            t.set("zfs_arc_min", v).unwrap();
            assert_eq!(t.limits().c_min, Bytes(v));
            assert_consistent(&t.limits());
        }
        // Restore: actual sizes first, then the original (zero) values.
        t.set_many(&[("zfs_arc_min", 0), ("zfs_arc_max", 0)])
            .unwrap();
        let s = t.limits();
        assert_eq!(s.c_min, original.c_min);
        assert_eq!(s.c_max, original.c_max);
        assert_eq!(s.meta_limit, original.meta_limit);
        assert_eq!(s.meta_min, original.meta_min);
        assert_eq!(s.dbuf_cache_max, original.dbuf_cache_max);
        assert_eq!(s.dbuf_metadata_cache_max, original.dbuf_metadata_cache_max);
    }
}

#[test]
fn set_many_is_all_or_nothing() {
    let t = booted(16, Generation::Current);
    let before = t.limits();
    let e = t
        .set_many(&[("zfs_arc_max", 8 * GIB), ("zfs_arc_min", 1)])
        .unwrap_err();
    assert_eq!(e.to_errno(), EINVAL);
    assert_eq!(t.limits(), before);
    assert_eq!(t.get("zfs_arc_max").unwrap(), 0);
    let e = t
        .set_many(&[("zfs_arc_max", 8 * GIB), ("no_such_tunable", 1)])
        .unwrap_err();
    assert_eq!(e.to_errno(), ENOENT);
    assert_eq!(t.get("zfs_arc_max").unwrap(), 0);
    // Both valid: both apply, and min may equal max.
    t.set_many(&[("zfs_arc_max", 8 * GIB), ("zfs_arc_min", 8 * GIB)])
        .unwrap();
    let s = t.limits();
    assert_eq!((s.c_min, s.c_max), (Bytes(8 * GIB), Bytes(8 * GIB)));
}

#[test]
fn derived_values_follow_the_limits() {
    let t = booted(16, Generation::Current);
    t.set("zfs_arc_max", 8 * GIB).unwrap();
    let s = t.limits();
    assert_eq!(s.meta_limit, Bytes(2 * GIB));
    assert_eq!(s.dbuf_cache_max, Bytes((8 * GIB) >> 5));
    assert_eq!(s.dbuf_metadata_cache_max, Bytes((8 * GIB) >> 6));
    assert_eq!(s.meta_min, Bytes(s.c_min.0 / 2));
    t.set("zfs_arc_meta_limit", GIB).unwrap();
    assert_eq!(t.limits().meta_limit, Bytes(GIB));
    let e = t.set("zfs_arc_meta_limit", 9 * GIB).unwrap_err();
    assert_eq!(e.to_errno(), EINVAL);
    let e = t.set("dbuf_cache_max_bytes", 8 * GIB).unwrap_err();
    assert_eq!(e.to_errno(), EINVAL);
}

#[test]
fn raising_arc_min_into_reservations_is_ebusy() {
    let t = booted(16, Generation::Current);
    let base = t.headroom_stats().c_max_base;
    let c_min = t.limits().c_min;
    let id = t.reserve("vmm", base.saturating_sub(c_min)).unwrap();
    let before = t.limits();
    let e = t.set("zfs_arc_min", 2 * GIB).unwrap_err();
    assert_eq!(e.to_errno(), EBUSY, "{e}");
    assert_eq!(t.limits(), before);
    t.release(id).unwrap();
    t.set("zfs_arc_min", 2 * GIB).unwrap();
}

#[test]
fn boot_values_are_taken_before_boot_ends_and_boot_only_after() {
    use zfs_tunables::std_platform::StdPlatform;
    use zfs_tunables::ArcTunables;
    let t = ArcTunables::new(
        StdPlatform::manual(),
        common::host_gib(16),
        Generation::Current,
    );
    t.boot_set("zfs_arc_max", 4 * GIB).unwrap();
    assert!(t.boot_set("zfs_arc_max", 1).is_err());
    t.finish_boot();
    assert_eq!(t.limits().c, Bytes(4 * GIB));
    assert!(t.boot_set("zfs_arc_max", 2 * GIB).is_err());
    assert_eq!(t.limits().c_max, Bytes(4 * GIB));
}

/// A checked write sees the limits in force and writes over them under
/// one hold of the lock; a refusal by the check or by the write changes
/// nothing. The defaults are `arc_init()`'s whatever was written.
#[test]
fn a_checked_write_sees_the_limits_it_writes_over() {
    let t = booted(16, Generation::Current);
    let defaults = t.default_limits();
    assert_eq!(defaults, t.configured_limits());
    let before = t.limits();
    let refused: Result<(), zfs_tunables::TunableError> =
        t.set_many_checked(&[("zfs_arc_max", 8 * GIB)], true, |l| {
            assert_eq!(l.c_max, defaults.c_max);
            Err(zfs_tunables::TunableError::WouldBlock)
        });
    assert!(refused.is_err());
    assert_eq!((t.limits(), t.get("zfs_arc_max").unwrap()), (before, 0));
    t.set_many_checked::<zfs_tunables::TunableError>(
        &[("zfs_arc_min", 2 * GIB), ("zfs_arc_max", 8 * GIB)],
        false,
        |_| Ok(()),
    )
    .unwrap();
    assert_eq!(
        (t.limits().c_min, t.limits().c_max),
        (Bytes(2 * GIB), Bytes(8 * GIB))
    );
    // All or nothing: a minimum above the maximum refuses both.
    let e = t
        .set_many_checked::<zfs_tunables::TunableError>(
            &[("zfs_arc_min", 4 * GIB), ("zfs_arc_max", 3 * GIB)],
            true,
            |l| {
                assert_eq!((l.c_min, l.c_max), (Bytes(2 * GIB), Bytes(8 * GIB)));
                Ok(())
            },
        )
        .unwrap_err();
    assert_eq!(e.to_errno(), ERANGE, "{e}");
    assert_eq!(
        (t.get("zfs_arc_min").unwrap(), t.get("zfs_arc_max").unwrap()),
        (2 * GIB, 8 * GIB)
    );
    assert_eq!(t.default_limits(), defaults);
}
