//! Acceptance 2 and 3: the write path of the kstats, as illumos performs
//! it: a staging copy, validation of everything, all or nothing.

mod common;

use common::{booted, write_tunables, BOOT_ONLY_REGISTRANT, T0, VMM_REGISTRANT};
use kstat_export::{
    Credential, ExportError, KstatDataType, KstatId, KstatNamed, KstatSet, RawVariables, Sources,
};
use zfs_tunables::errno::{EACCES, EBUSY, EINVAL, ENOENT, EPERM, ERANGE};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::{ArcTunables, Bytes, GIB};

/// Everything a refused write must leave alone.
fn state(
    t: &ArcTunables<StdPlatform>,
    raw: &RawVariables<AtomicU64>,
) -> impl PartialEq + std::fmt::Debug {
    let mut values = Vec::new();
    t.for_each_tunable(|e| values.push((e.desc.name, e.value)));
    let cells: Vec<_> = raw
        .names()
        .map(|n| (n, raw.raw_value(n), raw.last_applied(n)))
        .collect();
    (values, t.limits(), t.headroom_stats(), cells)
}

fn setup() -> (ArcTunables<StdPlatform>, RawVariables<AtomicU64>, KstatSet) {
    let t = booted(16);
    let raw = RawVariables::with_owned_cells(&t).unwrap();
    (t, raw, KstatSet::new(T0).unwrap())
}

#[test]
fn one_invalid_field_changes_nothing_and_is_einval() {
    let (t, mut raw, mut ks) = setup();
    let before = state(&t, &raw);
    // zfs_arc_max is fine alone; zfs_arc_min = 1000 is below its floor.
    let e = write_tunables(
        &mut ks,
        &t,
        &mut raw,
        &[("zfs_arc_max", 8 * GIB), ("zfs_arc_min", 1000)],
    )
    .unwrap_err();
    assert_eq!(e.to_errno(), EINVAL, "{e}");
    assert!(e.to_string().contains("zfs_arc_min"), "{e}");
    assert_eq!(state(&t, &raw), before);

    // The caller's values sit in the staging copy only...
    let staged = ks.kstat(KstatId::Tunables).data();
    let staged_max = staged.iter().find(|n| n.name.is("zfs_arc_max")).unwrap();
    assert_eq!(staged_max.as_u64(), Some(8 * GIB));
    assert_eq!(t.get("zfs_arc_max").unwrap(), 0);
    // ...and the next read shows the live values again.
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: None,
    };
    let read = ks.read(KstatId::Tunables, &mut src, T0).unwrap();
    let live_max = read
        .data()
        .iter()
        .find(|n| n.name.is("zfs_arc_max"))
        .unwrap();
    assert_eq!(live_max.as_u64(), Some(0));
}

#[test]
fn two_valid_fields_both_apply() {
    let (t, mut raw, mut ks) = setup();
    write_tunables(
        &mut ks,
        &t,
        &mut raw,
        &[("zfs_arc_max", 8 * GIB), ("zfs_arc_min", 2 * GIB)],
    )
    .unwrap();
    assert_eq!(t.get("zfs_arc_max").unwrap(), 8 * GIB);
    assert_eq!(t.get("zfs_arc_min").unwrap(), 2 * GIB);
    let l = t.limits();
    assert_eq!((l.c_max, l.c_min), (Bytes(8 * GIB), Bytes(2 * GIB)));
    // The raw variables follow, so the next tick keeps the values.
    assert_eq!(raw.raw_value("zfs_arc_max"), Some(8 * GIB));
    assert_eq!(raw.last_applied("zfs_arc_min"), Some(2 * GIB));
    let out = raw.sync_tick(&t, &mut |w| panic!("unexpected warning: {w}"));
    assert_eq!(out, Default::default());
    assert_eq!(t.get("zfs_arc_max").unwrap(), 8 * GIB);
}

#[test]
fn a_pair_valid_only_together_applies_in_one_write() {
    let (t, mut raw, mut ks) = setup();
    write_tunables(&mut ks, &t, &mut raw, &[("zfs_arc_max", 4 * GIB)]).unwrap();
    // zfs_arc_min = 6 GiB is above today's 4 GiB ceiling, but not above
    // the 8 GiB the same write sets.
    write_tunables(
        &mut ks,
        &t,
        &mut raw,
        &[("zfs_arc_min", 6 * GIB), ("zfs_arc_max", 8 * GIB)],
    )
    .unwrap();
    assert_eq!(t.limits().c_min, Bytes(6 * GIB));
}

#[test]
fn refusals_pass_the_core_errno_through() {
    let (t, mut raw, mut ks) = setup();
    let before = state(&t, &raw);
    let c_max = t.limits().c_max.0;
    let e = write_tunables(&mut ks, &t, &mut raw, &[("zfs_arc_min", c_max + GIB)]).unwrap_err();
    assert_eq!(e.to_errno(), ERANGE, "{e}");
    assert_eq!(state(&t, &raw), before);

    // Lowering the ceiling below c_min + live reservations is EBUSY.
    let id = t.reserve("vmm", Bytes(8 * GIB)).unwrap();
    let before = state(&t, &raw);
    let e = write_tunables(&mut ks, &t, &mut raw, &[("zfs_arc_min", 7 * GIB)]).unwrap_err();
    assert_eq!(e.to_errno(), EBUSY, "{e}");
    assert_eq!(state(&t, &raw), before);
    t.release(id).unwrap();
}

#[test]
fn read_only_kstats_refuse_writes_with_eacces() {
    let (t, mut raw, mut ks) = setup();
    let fields = common::arc_resv_fields(0, 0, 0);
    let before = state(&t, &raw);
    for (id, stat) in [
        (KstatId::Arcstats, "c_max"),
        (KstatId::ArcHeadroom, "reserved"),
        (KstatId::ArcResv, "instances"),
    ] {
        let mut src = Sources {
            tunables: &t,
            arc_resv: Some(&fields),
            raw: Some(&mut raw),
        };
        let e = ks
            .write_values(id, &mut src, &[(stat, 8 * GIB)], Credential::SysConfig, T0)
            .unwrap_err();
        assert_eq!(e, ExportError::NotWritable, "{id:?}");
        assert_eq!(e.to_errno(), EACCES);
    }
    // (The request form the simulator uses reaches the same check:
    // admin-syntax/tests/kstat_requests.rs.)
    assert_eq!(state(&t, &raw), before);
}

#[test]
fn mismatched_buffers_are_einval_and_change_nothing() {
    let (t, raw, mut ks) = setup();
    let before = state(&t, &raw);
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: None,
    };
    let good: Vec<KstatNamed> = ks
        .read(KstatId::Tunables, &mut src, T0)
        .unwrap()
        .data()
        .to_vec();
    let mut write = |user: &[KstatNamed]| {
        let mut src = Sources {
            tunables: &t,
            arc_resv: None,
            raw: None,
        };
        ks.write(KstatId::Tunables, &mut src, user, Credential::SysConfig, T0)
    };
    let mut changed = good.clone();
    changed[0] = KstatNamed::uint64(good[0].name.as_str().unwrap(), 8 * GIB).unwrap();

    // ks_ndata.
    let e = write(&changed[..changed.len() - 1]).unwrap_err();
    assert!(matches!(e, ExportError::NdataMismatch { .. }), "{e}");
    // A data type.
    let mut typed = changed.clone();
    typed[0].data_type = KstatDataType::INT64;
    assert!(matches!(
        write(&typed).unwrap_err(),
        ExportError::TypeMismatch { index: 0, .. }
    ));
    // Names out of order: the values would land in the wrong tunables.
    let mut swapped = changed.clone();
    swapped.swap(0, 1);
    assert_eq!(
        write(&swapped).unwrap_err(),
        ExportError::NameMismatch { index: 0 }
    );
    // A name that is not terminated within KSTAT_STRLEN.
    let mut unterminated = changed.clone();
    unterminated[0].name.0 = [b'z'; 31];
    assert_eq!(write(&unterminated).unwrap_err().to_errno(), EINVAL);
    assert_eq!(state(&t, &raw), before);
    // Unchanged buffer: a write that changes nothing succeeds.
    write(&good).unwrap();
    assert_eq!(state(&t, &raw), before);
}

#[test]
fn privilege_and_unknown_names() {
    let (t, mut raw, mut ks) = setup();
    let before = state(&t, &raw);
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: Some(&mut raw),
    };
    let e = ks
        .write_values(
            KstatId::Tunables,
            &mut src,
            &[("zfs_arc_max", 8 * GIB)],
            Credential::Unprivileged,
            T0,
        )
        .unwrap_err();
    assert_eq!(e.to_errno(), EPERM);
    let e = ks
        .write_values(
            KstatId::Tunables,
            &mut src,
            &[("zfs_arc_maxx", 8 * GIB)],
            Credential::SysConfig,
            T0,
        )
        .unwrap_err();
    assert_eq!(e.to_errno(), ENOENT);
    assert_eq!(state(&t, &raw), before);
}

#[test]
fn tunables_kstat_has_every_runtime_tunable_and_grows_with_registrants() {
    let (t, _, mut ks) = setup();
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: None,
    };
    let old: Vec<KstatNamed> = ks
        .read(KstatId::Tunables, &mut src, T0)
        .unwrap()
        .data()
        .to_vec();
    assert_eq!(old.len(), 7);
    assert!(old.iter().all(|n| n.data_type == KstatDataType::UINT64));

    t.register(&VMM_REGISTRANT).unwrap();
    t.register(&BOOT_ONLY_REGISTRANT).unwrap();
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: None,
    };
    let new = ks
        .read(KstatId::Tunables, &mut src, T0)
        .unwrap()
        .data()
        .to_vec();
    let names: Vec<_> = new.iter().map(|n| n.name.as_str().unwrap()).collect();
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(names.contains(&"vmm_arc_page_overhead"));
    assert!(!names.contains(&"test_boot_only"));
    // A buffer read before vmm registered no longer fits (VAR_SIZE).
    let e = ks
        .write(KstatId::Tunables, &mut src, &old, Credential::SysConfig, T0)
        .unwrap_err();
    assert_eq!(
        e,
        ExportError::NdataMismatch {
            expected: 8,
            got: 7
        }
    );
    // vmm's tunable is written like the ARC's.
    ks.write_values(
        KstatId::Tunables,
        &mut src,
        &[("vmm_arc_page_overhead", 64)],
        Credential::SysConfig,
        T0,
    )
    .unwrap();
    assert_eq!(t.get("vmm_arc_page_overhead").unwrap(), 64);
    let e = ks
        .write_values(
            KstatId::Tunables,
            &mut src,
            &[("vmm_arc_page_overhead", 5000)],
            Credential::SysConfig,
            T0,
        )
        .unwrap_err();
    assert_eq!(e.to_errno(), EINVAL);
    assert_eq!(t.get("vmm_arc_page_overhead").unwrap(), 64);
}
