//! The sync tick's rules that need no `mdb`: a change through another
//! path is followed, not undone; a restore never overwrites a newer admin
//! write; binding. (Raw writes made with `mdb -kw` are admin-syntax's
//! `tests/mdb_raw_sync.rs`.)

mod common;

use std::cell::Cell;

use common::{booted, write_tunables, T0};
use kstat_export::{ExportError, KstatSet, RawCell, RawSyncWarning, RawVariables, SyncOutcome};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::{ArcTunables, Bytes, GIB};

fn tick(
    t: &ArcTunables<StdPlatform>,
    raw: &mut RawVariables<AtomicU64>,
) -> (SyncOutcome, Vec<RawSyncWarning>) {
    let mut warnings = Vec::new();
    let out = raw.sync_tick(t, &mut |w| warnings.push(*w));
    (out, warnings)
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
