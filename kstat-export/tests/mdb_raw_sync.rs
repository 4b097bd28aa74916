//! Acceptance 4: `mdb -kw` writes change only the raw variable; the sync
//! tick applies a valid one and undoes a refused one with a warning.

mod common;

use std::cell::Cell;

use common::{booted, write_tunables, T0};
use kstat_export::{
    format_message, parse_mdb_write, ExportError, KstatSet, RawCell, RawSyncWarning, RawVariables,
    SyncOutcome,
};
use zfs_tunables::errno::EINVAL;
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::{ArcTunables, Bytes, GIB};

fn mdb(raw: &RawVariables<AtomicU64>, cmd: &str) -> Result<u64, ExportError> {
    let w = parse_mdb_write(cmd.as_bytes())?;
    raw.mdb_write(&w).map(|o| o.new)
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
        Err(ExportError::WriteOutsideVariable {
            offset: 6,
            width: 4
        })
    );
    assert_eq!(
        mdb(&raw, "zfs_arc_max+0xffffffffffffffff/v 1"),
        Err(ExportError::WriteOutsideVariable {
            offset: u64::MAX,
            width: 1
        })
    );
    assert_eq!(
        mdb(&raw, "zfs_arc_maxx/Z 1"),
        Err(ExportError::UnknownVariable)
    );
    assert_eq!(
        mdb(&raw, "vmm`zfs_arc_max/Z 1"),
        Err(ExportError::UnknownVariable)
    );
    assert_eq!(raw.raw_value("zfs_arc_max"), Some(12 * GIB));
}

#[test]
fn kstat_writes_and_direct_sets_are_not_undone() {
    let t = booted(16);
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    let mut ks = KstatSet::new(T0).unwrap();
    write_tunables(&mut ks, &t, &mut raw, &[("zfs_arc_max", 8 * GIB)]).unwrap();
    assert_eq!(tick(&t, &mut raw).0, SyncOutcome::default());
    assert_eq!(t.get("zfs_arc_max").unwrap(), 8 * GIB);
    // A change through a path that does not tell the raw variables: the
    // variable follows at the next tick instead of undoing it.
    t.set("zfs_arc_max", 10 * GIB).unwrap();
    let (out, _) = tick(&t, &mut raw);
    assert_eq!(
        out,
        SyncOutcome {
            applied: 0,
            refused: 0,
            followed: 1
        }
    );
    assert_eq!(raw.raw_value("zfs_arc_max"), Some(10 * GIB));
    assert_eq!(t.get("zfs_arc_max").unwrap(), 10 * GIB);
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

/// A variable that an admin writes again while the tick holds it.
struct Racing {
    value: Cell<u64>,
    /// The value the admin writes just before the tick's restore.
    interleave: Cell<Option<u64>>,
}

impl RawCell for Racing {
    fn load(&self) -> u64 {
        self.value.get()
    }
    fn store(&self, value: u64) {
        self.value.set(value);
    }
    fn compare_exchange(&self, current: u64, new: u64) -> Result<u64, u64> {
        if let Some(v) = self.interleave.take() {
            self.value.set(v);
        }
        let now = self.value.get();
        if now == current {
            self.value.set(new);
            Ok(now)
        } else {
            Err(now)
        }
    }
}

#[test]
fn a_restore_never_overwrites_a_newer_admin_write() {
    let t = booted(16);
    let cell = Racing {
        value: Cell::new(0),
        interleave: Cell::new(None),
    };
    let mut raw = RawVariables::new();
    raw.bind(&t, "zfs_arc_max", &cell).unwrap();
    cell.store(1000);
    cell.interleave.set(Some(8 * GIB));
    let mut warnings = 0;
    let out = raw.sync_tick(&t, &mut |_| warnings += 1);
    assert_eq!((out.refused, warnings), (1, 1));
    // The admin's newer value survived the restore...
    assert_eq!(cell.load(), 8 * GIB);
    // ...and the next tick applies it.
    assert_eq!(raw.sync_tick(&t, &mut |_| ()).applied, 1);
    assert_eq!(t.limits().c_max, Bytes(8 * GIB));
}

#[test]
fn binding_rules() {
    let t = booted(16);
    let mut raw: RawVariables<AtomicU64> = RawVariables::new();
    raw.bind(&t, "zfs_arc_max", AtomicU64::new(77)).unwrap();
    assert_eq!(
        raw.raw_value("zfs_arc_max"),
        Some(0),
        "the cell takes the value in force"
    );
    assert_eq!(
        raw.bind(&t, "zfs_arc_max", AtomicU64::new(0)),
        Err(ExportError::AlreadyBound {
            name: "zfs_arc_max"
        })
    );
    assert_eq!(
        raw.bind(&t, "nope", AtomicU64::new(0)),
        Err(ExportError::UnknownVariable)
    );
    t.register(&common::BOOT_ONLY_REGISTRANT).unwrap();
    assert_eq!(
        raw.bind(&t, "test_boot_only", AtomicU64::new(0)),
        Err(ExportError::NotDynamic {
            name: "test_boot_only"
        })
    );
    assert!(raw.unbind("zfs_arc_max").is_some());
    assert_eq!(raw.raw_value("zfs_arc_max"), None);
}
