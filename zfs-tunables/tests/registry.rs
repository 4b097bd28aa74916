//! The generic registry, seen from a second kernel module.

#![cfg(not(loom))]

mod common;

use std::cell::Cell;

use common::booted;
use zfs_tunables::errno::{EACCES, EEXIST, EINVAL, ENAMETOOLONG, ENOENT, ERANGE};
use zfs_tunables::{
    Generation, Proposal, Registrant, TunableDesc, TunableError, TunableFlags, Unit, GIB,
};

thread_local! {
    /// Apply-hook calls made on this test's thread. Hooks run inside the
    /// write, on the writer's thread, so each test sees only its own
    /// calls however many tests run at once.
    static APPLIED: Cell<u64> = const { Cell::new(0) };
}

fn even_only(d: &TunableDesc, v: u64) -> Result<(), TunableError> {
    if v.is_multiple_of(2) {
        Ok(())
    } else {
        Err(TunableError::OutOfBounds {
            name: d.name,
            value: v,
            min: d.min,
            max: d.max,
        })
    }
}

fn low_below_high(p: &Proposal<'_>) -> Result<(), TunableError> {
    let low = p.get("demo_low").unwrap_or(0);
    let high = p.get("demo_high").unwrap_or(0);
    if low > high {
        return Err(TunableError::MinAboveMax {
            name: "demo_low",
            value: low,
            min: low,
            max: high,
        });
    }
    Ok(())
}

fn count_apply(p: &Proposal<'_>) {
    APPLIED.with(|n| n.set(n.get() + 1));
    assert!(p.is_changed("demo_low") || p.is_changed("demo_high"));
}

static DEMO_TUNABLES: [TunableDesc; 3] = [
    TunableDesc {
        name: "demo_low",
        description: "a demo floor",
        unit: Unit::Count,
        flags: TunableFlags::DYNAMIC,
        min: 0,
        max: 1000,
        default: 10,
        rule: Some(even_only),
    },
    TunableDesc {
        name: "demo_high",
        description: "a demo ceiling",
        unit: Unit::Count,
        flags: TunableFlags::DYNAMIC,
        min: 0,
        max: 1000,
        default: 100,
        rule: None,
    },
    TunableDesc {
        name: "demo_boot_only",
        description: "set in /etc/system only",
        unit: Unit::Count,
        flags: TunableFlags::BOOT_ONLY,
        min: 0,
        max: 10,
        default: 1,
        rule: None,
    },
];

static DEMO: Registrant = Registrant {
    module: "demo",
    tunables: &DEMO_TUNABLES,
    validate: Some(low_below_high),
    apply: Some(count_apply),
};

#[test]
fn a_second_module_registers_its_own_tunables() {
    let t = booted(16, Generation::Current);
    let id = t.register(&DEMO).unwrap();
    let low = t.lookup("demo_low").unwrap();
    assert_eq!(t.value(low), 10);
    assert_eq!(t.get("demo_high").unwrap(), 100);

    t.set("demo_low", 50).unwrap();
    assert_eq!(t.value(low), 50);
    assert_eq!(APPLIED.with(Cell::get), 1);

    // Bounds, the descriptor's rule, the registrant's cross rule.
    assert_eq!(t.set("demo_low", 1001).unwrap_err().to_errno(), EINVAL);
    assert_eq!(t.set("demo_low", 51).unwrap_err().to_errno(), EINVAL);
    assert_eq!(t.set("demo_low", 200).unwrap_err().to_errno(), ERANGE);
    assert_eq!(t.value(low), 50);
    // Several at once: all or nothing, across the cross rule.
    t.set_many(&[("demo_high", 300), ("demo_low", 200)])
        .unwrap();
    assert_eq!(
        (t.get("demo_low").unwrap(), t.get("demo_high").unwrap()),
        (200, 300)
    );
    t.set_many(&[("demo_high", 5), ("demo_low", 2)]).unwrap();
    assert!(t
        .set_many(&[("demo_high", 1), ("zfs_arc_max", 4 * GIB)])
        .is_err());
    assert_eq!(t.get("zfs_arc_max").unwrap(), 0);
    // Writes spanning two registrants run both validations.
    t.set_many(&[("demo_high", 7), ("zfs_arc_max", 4 * GIB)])
        .unwrap();
    assert_eq!(t.limits().c_max.0, 4 * GIB);
    // A boot-only tunable refuses runtime writes.
    assert_eq!(t.set("demo_boot_only", 2).unwrap_err().to_errno(), EACCES);
    // Reset, itself validated: the default 10 is above demo_high (7).
    assert_eq!(t.reset("demo_low").unwrap_err().to_errno(), ERANGE);
    t.reset("demo_high").unwrap();
    t.reset("demo_low").unwrap();
    // demo_low has no ZERO_IS_DEFAULT: reset means its declared default.
    assert_eq!(t.value(low), 10);
    t.unregister(id).unwrap();
}

#[test]
fn registration_is_checked() {
    static DUP: Registrant = Registrant {
        module: "zfs",
        tunables: &[],
        validate: None,
        apply: None,
    };
    static CLASH: [TunableDesc; 1] = [TunableDesc {
        name: "zfs_arc_max",
        description: "clashes with the ARC's",
        unit: Unit::Bytes,
        flags: TunableFlags::DYNAMIC,
        min: 0,
        max: 1,
        default: 0,
        rule: None,
    }];
    static CLASHING: Registrant = Registrant {
        module: "clash",
        tunables: &CLASH,
        validate: None,
        apply: None,
    };
    static LONG: [TunableDesc; 1] = [TunableDesc {
        name: "a_name_that_is_longer_than_thirty_chars",
        description: "too long for a kstat",
        unit: Unit::Count,
        flags: TunableFlags::DYNAMIC,
        min: 0,
        max: 1,
        default: 0,
        rule: None,
    }];
    static LONGNAMED: Registrant = Registrant {
        module: "long",
        tunables: &LONG,
        validate: None,
        apply: None,
    };
    let t = booted(16, Generation::Current);
    assert_eq!(t.register(&DUP).unwrap_err().to_errno(), EEXIST);
    assert_eq!(t.register(&CLASHING).unwrap_err().to_errno(), EEXIST);
    assert_eq!(t.register(&LONGNAMED).unwrap_err().to_errno(), ENAMETOOLONG);
    assert_eq!(
        t.get("a_name_that_is_longer_than_thirty_chars")
            .unwrap_err()
            .to_errno(),
        ENOENT
    );
    let mut n = 0;
    t.for_each_tunable(|_| n += 1);
    // The ARC's seven: the six limits and the headroom margin.
    assert_eq!(n, 7);
}

#[test]
fn an_empty_or_non_ascii_name_is_einval_not_enametoolong() {
    const fn desc(name: &'static str) -> TunableDesc {
        TunableDesc {
            name,
            description: "a malformed name",
            unit: Unit::Count,
            flags: TunableFlags::DYNAMIC,
            min: 0,
            max: 1,
            default: 0,
            rule: None,
        }
    }
    /// A registrant with no hooks: only its names are under test.
    const fn named(module: &'static str, tunables: &'static [TunableDesc]) -> Registrant {
        Registrant {
            module,
            tunables,
            validate: None,
            apply: None,
        }
    }
    static EMPTY: [TunableDesc; 1] = [desc("")];
    static EMPTY_TUNABLE: Registrant = named("empty", &EMPTY);
    static UNNAMED_MODULE: Registrant = named("", &[]);
    static NON_ASCII: [TunableDesc; 1] = [desc("zfs_arc_m\u{e4}x")];
    static NON_ASCII_TUNABLE: Registrant = named("nonascii", &NON_ASCII);
    static LONG_MODULE: Registrant = named("a_module_name_longer_than_thirty_chars", &[]);
    let t = booted(16, Generation::Current);
    let count = || {
        let mut n = 0;
        t.for_each_tunable(|_| n += 1);
        n
    };
    let before = count();
    assert_eq!(t.register(&EMPTY_TUNABLE).unwrap_err().to_errno(), EINVAL);
    assert_eq!(t.register(&UNNAMED_MODULE).unwrap_err().to_errno(), EINVAL);
    assert_eq!(
        t.register(&NON_ASCII_TUNABLE).unwrap_err().to_errno(),
        EINVAL
    );
    assert_eq!(
        t.register(&LONG_MODULE).unwrap_err().to_errno(),
        ENAMETOOLONG
    );
    // Nothing was registered.
    assert_eq!(count(), before);
}

#[test]
fn unregistering_removes_the_tunables() {
    static ONE: [TunableDesc; 1] = [TunableDesc {
        name: "gone_soon",
        description: "unregistered at module unload",
        unit: Unit::Count,
        flags: TunableFlags::DYNAMIC,
        min: 0,
        max: 10,
        default: 3,
        rule: None,
    }];
    static UNLOADED: Registrant = Registrant {
        module: "unloaded",
        tunables: &ONE,
        validate: None,
        apply: None,
    };
    let t = booted(16, Generation::Current);
    let id = t.register(&UNLOADED).unwrap();
    assert_eq!(t.get("gone_soon").unwrap(), 3);
    t.unregister(id).unwrap();
    assert_eq!(t.get("gone_soon").unwrap_err().to_errno(), ENOENT);
    assert!(t.unregister(id).is_err());
    // Registering again works and starts from the default.
    t.register(&UNLOADED).unwrap();
    assert_eq!(t.get("gone_soon").unwrap(), 3);
}
