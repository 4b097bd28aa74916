//! Acceptance 1: after tunable changes and reservations, `kstat -p` shows
//! exactly what zfs-tunables and vmm hold, in a format a golden file pins.

#[path = "../../kstat-export/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;

use admin_syntax::kstat_p::kstat_p;
use common::{arc_resv_fields, booted, write_tunables, T0, VMM_REGISTRANT};
use kstat_export::{KstatSet, RawVariables, Sources};
use zfs_tunables::platform::Platform;
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{ArcTunables, Bytes, Hrtime, GIB};

const GOLDEN: &str = include_str!("golden/kstat_p.txt");

/// 4 GiB of guest memory plus 120 bytes per page.
const GUEST: u64 = 4 * GIB + (4 * GIB / 4096) * 120;

/// A host after a day's admin work: limits changed through the kstat and
/// directly, a guest running, another come and gone, two refusals.
fn scenario() -> (ArcTunables<StdPlatform>, [(&'static str, u64); 13]) {
    let t = booted(16);
    t.register(&VMM_REGISTRANT).unwrap();
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    let mut ks = KstatSet::new(T0).unwrap();
    write_tunables(&mut ks, &t, &mut raw, &[("zfs_arc_max", 12 * GIB)]).unwrap();
    t.set("zfs_arc_min", 2 * GIB).unwrap();
    t.set("vmm_arc_page_overhead", 120).unwrap();
    t.platform().set_arc_size(Bytes(10 * GIB));
    let guest = t.reserve("vmm", Bytes(GUEST)).unwrap();
    t.mark_allocated(guest, Bytes(GIB)).unwrap();
    let gone = t.reserve("vmm", Bytes(GIB)).unwrap();
    t.release(gone).unwrap();
    assert!(t.reserve("vmm", Bytes(64 * GIB)).is_err());
    assert!(t.reserve("vmm", Bytes(10 * GIB)).is_err());
    (t, arc_resv_fields(1, GUEST, GUEST - 4 * GIB))
}

fn render(t: &ArcTunables<StdPlatform>, fields: &[(&str, u64)], operands: &[&str]) -> String {
    let mut ks = KstatSet::new(T0).unwrap();
    let mut src = Sources {
        tunables: t,
        arc_resv: Some(fields),
        raw: None,
    };
    kstat_p(&mut ks, &mut src, operands, Hrtime(65_250_000_000)).unwrap()
}

/// `module:instance:name:statistic` -> value, from `kstat -p` lines.
fn parse(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .map(|l| {
            let (k, v) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("no tab: {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn kstat_p_output_matches_the_golden_file() {
    let (t, fields) = scenario();
    let out = render(&t, &fields, &[]);
    if std::env::var_os("ADMIN_SYNTAX_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/kstat_p.txt");
        std::fs::write(path, &out).unwrap();
    }
    assert_eq!(
        out, GOLDEN,
        "rerun with ADMIN_SYNTAX_BLESS=1 to see the difference in git"
    );
}

#[test]
fn every_value_is_the_one_the_crates_hold() {
    let (t, fields) = scenario();
    let got = parse(&render(&t, &fields, &[]));
    let u = |k: &str| -> u64 {
        got.get(k)
            .unwrap_or_else(|| panic!("{k} missing"))
            .parse()
            .unwrap()
    };
    let l = t.limits();
    assert_eq!(u("zfs:0:arcstats:p"), l.p.0);
    assert_eq!(u("zfs:0:arcstats:c"), l.c.0);
    assert_eq!(u("zfs:0:arcstats:c_min"), l.c_min.0);
    assert_eq!(u("zfs:0:arcstats:c_max"), l.c_max.0);
    assert_eq!(u("zfs:0:arcstats:size"), t.platform().arc_size().0);
    assert_eq!(u("zfs:0:arcstats:arc_meta_limit"), l.meta_limit.0);
    assert_eq!(u("zfs:0:arcstats:arc_meta_min"), l.meta_min.0);
    // c_max is the effective ceiling: the admin's 12 GiB lowered by the
    // live reservation.
    let h = t.headroom_stats();
    assert_eq!(l.c_max, h.c_max_effective);
    assert!(l.c_max.0 < 12 * GIB);

    assert_eq!(u("zfs:0:arc_headroom:reserved"), h.reserved.0);
    assert_eq!(u("zfs:0:arc_headroom:pending"), h.pending.0);
    assert_eq!(u("zfs:0:arc_headroom:allocated"), h.allocated.0);
    assert_eq!(u("zfs:0:arc_headroom:consumers"), h.consumers);
    assert_eq!(u("zfs:0:arc_headroom:reservations"), h.reservations);
    assert_eq!(u("zfs:0:arc_headroom:c_max_base"), h.c_max_base.0);
    assert_eq!(u("zfs:0:arc_headroom:c_max_effective"), h.c_max_effective.0);
    let c = h.counters;
    assert_eq!(u("zfs:0:arc_headroom:reserves"), c.reserves);
    assert_eq!(u("zfs:0:arc_headroom:rejections"), c.rejections);
    assert_eq!(
        u("zfs:0:arc_headroom:rejections_never_fit"),
        c.rejections_never_fit
    );
    assert_eq!(u("zfs:0:arc_headroom:releases"), c.releases);
    assert_eq!(u("zfs:0:arc_headroom:waits"), c.waits);
    assert_eq!(u("zfs:0:arc_headroom:wait_timeouts"), c.wait_timeouts);
    assert_eq!(u("zfs:0:arc_headroom:wait_interrupts"), c.wait_interrupts);
    assert_eq!(
        (c.reserves, c.releases, c.rejections, c.rejections_never_fit),
        (2, 1, 1, 1)
    );

    let mut tunables = 0;
    t.for_each_tunable(|e| {
        tunables += 1;
        assert_eq!(u(&format!("zfs:0:tunables:{}", e.desc.name)), e.value);
    });
    assert_eq!(tunables, 8, "seven of the ARC's and vmm's one");
    assert_eq!(u("zfs:0:tunables:zfs_arc_max"), 12 * GIB);
    assert_eq!(u("zfs:0:tunables:zfs_arc_min"), 2 * GIB);

    for (name, value) in fields {
        assert_eq!(u(&format!("vmm:0:arc_resv:{name}")), value);
    }
    // Every kstat carries kstat -p's pseudo-statistics.
    for ks in [
        "zfs:0:arcstats",
        "zfs:0:tunables",
        "zfs:0:arc_headroom",
        "vmm:0:arc_resv",
    ] {
        assert_eq!(got[&format!("{ks}:class")], "misc");
        assert_eq!(got[&format!("{ks}:crtime")], "5.000000000");
        assert_eq!(got[&format!("{ks}:snaptime")], "65.250000000");
    }
    assert_eq!(got.len(), 7 + 8 + 17 + 13 + 4 * 3);
}

#[test]
fn selectors_pick_what_kstat_would() {
    let (t, fields) = scenario();
    let c_max = t.limits().c_max.0;
    assert_eq!(
        render(&t, &fields, &["zfs:0:arcstats:c_max"]),
        format!("zfs:0:arcstats:c_max\t{c_max}\n")
    );
    // Empty fields and globs.
    let out = render(&t, &fields, &["zfs::arc*:c_m??"]);
    assert_eq!(
        out.lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect::<Vec<_>>(),
        ["zfs:0:arcstats:c_max", "zfs:0:arcstats:c_min"]
    );
    let out = render(&t, &fields, &["::tunables:*_max*"]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_eq!(render(&t, &fields, &["vmm:1"]), "");
    assert_eq!(render(&t, &fields, &["vmm"]).lines().count(), 13 + 3);
    // Two operands print in operand order, duplicates included.
    let out = render(&t, &fields, &["zfs:0:arcstats:size", "zfs:0:arcstats:size"]);
    assert_eq!(out.lines().count(), 2);
    // Without vmm loaded there is no vmm:0:arc_resv.
    let mut ks = KstatSet::new(T0).unwrap();
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: None,
    };
    assert_eq!(kstat_p(&mut ks, &mut src, &["vmm"], T0).unwrap(), "");
    assert!(kstat_p(&mut ks, &mut src, &["a:b:c:d:e"], T0).is_err());
}
