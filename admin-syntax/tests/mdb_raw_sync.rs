//! Acceptance 4: `mdb -kw` writes change only the raw variable; the sync
//! tick applies a valid one and undoes a refused one with a warning.
//! (The tick's own rules, without `mdb`, are kstat-export's
//! `tests/raw_sync.rs`.)

#[path = "../../kstat-export/tests/common/mod.rs"]
mod common;

use admin_syntax::{parse_mdb_write, perform_mdb_write, AdminError};
use common::booted;
use kstat_export::{format_message, RawSyncWarning, RawVariables, SyncOutcome};
use zfs_tunables::errno::EINVAL;
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::{ArcTunables, Bytes, GIB};

fn mdb(raw: &RawVariables<AtomicU64>, cmd: &str) -> Result<u64, AdminError> {
    let w = parse_mdb_write(cmd.as_bytes())?;
    perform_mdb_write(raw, &w).map(|o| o.new)
}

fn tick(
    t: &ArcTunables<StdPlatform>,
    raw: &mut RawVariables<AtomicU64>,
) -> (SyncOutcome, Vec<RawSyncWarning>) {
    let mut warnings = Vec::new();
    let out = raw.sync_tick(t, &mut |w| warnings.push(*w));
    (out, warnings)
}

#[test]
fn a_valid_raw_write_applies_at_the_next_tick() {
    let t = booted(16);
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    let before = t.limits();
    assert_eq!(mdb(&raw, "zfs_arc_max/Z 0x200000000"), Ok(8 * GIB));
    // Only the variable changed.
    assert_eq!(raw.raw_value("zfs_arc_max"), Some(8 * GIB));
    assert_eq!(t.get("zfs_arc_max").unwrap(), 0);
    assert_eq!(t.limits(), before);

    let (out, warnings) = tick(&t, &mut raw);
    assert_eq!(
        out,
        SyncOutcome {
            applied: 1,
            refused: 0,
            followed: 0
        }
    );
    assert!(warnings.is_empty());
    assert_eq!(t.limits().c_max, Bytes(8 * GIB));
    assert_eq!(t.get("zfs_arc_max").unwrap(), 8 * GIB);
    assert_eq!(raw.last_applied("zfs_arc_max"), Some(8 * GIB));
    // A second tick has nothing to do.
    assert_eq!(tick(&t, &mut raw).0, SyncOutcome::default());
}

#[test]
fn a_refused_raw_write_is_undone_with_a_warning_naming_both_values() {
    let t = booted(16);
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    mdb(&raw, "zfs_arc_max/Z 0x200000000").unwrap();
    tick(&t, &mut raw);
    let before = t.limits();

    assert_eq!(mdb(&raw, "zfs_arc_max/Z 0t1000"), Ok(1000));
    let (out, warnings) = tick(&t, &mut raw);
    assert_eq!(
        out,
        SyncOutcome {
            applied: 0,
            refused: 1,
            followed: 0
        }
    );
    assert_eq!(raw.raw_value("zfs_arc_max"), Some(8 * GIB), "restored");
    assert_eq!(t.get("zfs_arc_max").unwrap(), 8 * GIB);
    assert_eq!(t.limits(), before);

    let [w] = warnings.as_slice() else {
        panic!("{warnings:?}")
    };
    assert_eq!((w.name, w.refused, w.kept), ("zfs_arc_max", 1000, 8 * GIB));
    assert_eq!(w.error.to_errno(), EINVAL);
    let text = w.to_string();
    assert_eq!(
        text,
        "zfs_arc_max: direct write of 0x3e8 (1000) refused (EINVAL), keeping 0x200000000 \
         (8589934592): zfs_arc_max: 1000 is out of bounds (accepted: 67108865 to \
         16911433727)"
    );
    // The kernel's fixed buffer keeps the part that names both values.
    let msg: heapless::String<256> = format_message(w);
    assert!(msg.starts_with(
        "zfs_arc_max: direct write of 0x3e8 (1000) refused (EINVAL), keeping 0x200000000"
    ));
    // Nothing left to do.
    assert_eq!(tick(&t, &mut raw).0, SyncOutcome::default());
}

#[test]
fn partial_writes_follow_little_endian_memory() {
    let t = booted(16);
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    mdb(&raw, "zfs_arc_max/Z 0x200000000").unwrap();
    tick(&t, &mut raw);
    // /W writes the low half and truncates the value as mdb does.
    assert_eq!(mdb(&raw, "zfs_arc_max/W 0x100000000"), Ok(0x2_0000_0000));
    assert_eq!(mdb(&raw, "zfs_arc_max+4/W 3"), Ok(0x3_0000_0000));
    assert_eq!(mdb(&raw, "zfs`zfs_arc_max+4/v 2"), Ok(0x2_0000_0000));
    assert_eq!(
        mdb(&raw, "zfs_arc_max+5/w 0x1234"),
        Ok(0x0012_3402_0000_0000)
    );
    assert_eq!(mdb(&raw, "zfs_arc_max/z 0x300000000"), Ok(0x3_0000_0000));
    let (out, _) = tick(&t, &mut raw);
    assert_eq!(out.applied, 1);
    assert_eq!(t.limits().c_max, Bytes(12 * GIB));
    // Writes that would leave the variable, or name another, are refused.
    assert_eq!(
        mdb(&raw, "zfs_arc_max+6/W 1"),
        Err(AdminError::WriteOutsideVariable {
            offset: 6,
            width: 4
        })
    );
    assert_eq!(
        mdb(&raw, "zfs_arc_max+0xffffffffffffffff/v 1"),
        Err(AdminError::WriteOutsideVariable {
            offset: u64::MAX,
            width: 1
        })
    );
    assert_eq!(
        mdb(&raw, "zfs_arc_maxx/Z 1"),
        Err(AdminError::UnknownVariable)
    );
    assert_eq!(
        mdb(&raw, "vmm`zfs_arc_max/Z 1"),
        Err(AdminError::UnknownVariable)
    );
    assert_eq!(raw.raw_value("zfs_arc_max"), Some(12 * GIB));
}

#[test]
fn raw_writes_in_one_tick_are_tried_together_then_alone() {
    let t = booted(16);
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    mdb(&raw, "zfs_arc_max/Z 0t4294967296").unwrap();
    tick(&t, &mut raw);
    // Valid only as a pair: min 6 GiB needs the new 8 GiB max.
    mdb(&raw, "zfs_arc_min/Z 180000000").unwrap();
    mdb(&raw, "zfs_arc_max/Z 200000000").unwrap();
    let (out, warnings) = tick(&t, &mut raw);
    assert_eq!(out.applied, 2, "{warnings:?}");
    assert_eq!(
        (t.limits().c_min, t.limits().c_max),
        (Bytes(6 * GIB), Bytes(8 * GIB))
    );
    // One good, one bad: the good one applies, the bad one is undone.
    mdb(&raw, "zfs_arc_max/Z 0t1000").unwrap();
    mdb(&raw, "zfs_arc_meta_limit/Z 40000000").unwrap();
    let (out, warnings) = tick(&t, &mut raw);
    assert_eq!((out.applied, out.refused), (1, 1));
    assert_eq!(warnings[0].name, "zfs_arc_max");
    assert_eq!(t.get("zfs_arc_meta_limit").unwrap(), 0x4000_0000);
    assert_eq!(raw.raw_value("zfs_arc_max"), Some(8 * GIB));
}
