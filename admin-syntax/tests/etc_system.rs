//! Acceptance 5: `/etc/system` lines in every radix, with comments and
//! blank lines, parse and apply at boot; an unknown tunable, a malformed
//! line and an out-of-range value are each reported with their line
//! number and ignored.

#[path = "../../kstat-export/tests/common/mod.rs"]
mod common;

use admin_syntax::etc_system::ValueRadix;
use admin_syntax::{apply_etc_system, FindingKind, ParseErrorKind};
use common::{booting, VMM_REGISTRANT};
use zfs_tunables::errno::{EACCES, EINVAL};
use zfs_tunables::{Bytes, GIB, MIB};

const SYSTEM: &str = "\
* /etc/system for a bhyve host
*
set zfs:zfs_arc_max = 0x200000000
set zfs:zfs_arc_min=1073741824
\tSET zfs : zfs_arc_meta_min = 0200000000 * octal: 32 MiB

forceload: drv/vmm
set ip:ip_squeue_fanout = 1
set rlim_fd_max = 65536
set zfs:zfs_arc_maxx = 0x100
set zfs:dbuf_cache_max_bytes 0x100
set zfs:zfs_arc_meta_limit = 0x4000000000
set vmm:vmm_arc_page_overhead = 0t64
set vmm:vmm_arc_page_overhead = 5000
# the end
";

#[test]
fn good_lines_apply_and_bad_ones_are_reported_by_line_and_ignored() {
    let t = booting(16);
    t.register(&VMM_REGISTRANT).unwrap();
    let report = apply_etc_system(&t, SYSTEM.as_bytes());
    t.finish_boot();

    assert_eq!(
        report.applied.as_slice(),
        [
            ("zfs_arc_max", 8 * GIB, 3),
            ("zfs_arc_min", GIB, 4),
            ("zfs_arc_meta_min", 32 * MIB, 5),
        ]
    );
    assert_eq!(
        report.not_ours, 3,
        "forceload, ip:, the kernel's rlim_fd_max"
    );
    assert_eq!(report.dropped, 0);
    let lines: Vec<u32> = report.findings.iter().map(|f| f.line).collect();
    assert_eq!(lines, [10, 11, 12, 13, 14]);

    let f = &report.findings;
    assert!(
        matches!(&f[0].kind, FindingKind::UnknownTunable { module, variable }
        if module == "zfs" && variable == "zfs_arc_maxx")
    );
    assert!(
        matches!(&f[1].kind, FindingKind::Malformed { error: ParseErrorKind::UnsupportedOperator, column: 30, near }
        if near == "0x100")
    );
    assert!(
        matches!(&f[3].kind, FindingKind::Malformed { error: ParseErrorKind::ExtraneousInput, column: 34, near }
        if near == "t64")
    );
    match &f[2].kind {
        FindingKind::Refused {
            name,
            value,
            radix,
            error,
            ..
        } => {
            assert_eq!(
                (*name, *value, *radix),
                ("zfs_arc_meta_limit", 0x40_0000_0000, ValueRadix::Hex)
            );
            assert_eq!(error.to_errno(), EINVAL);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &f[4].kind,
        FindingKind::Refused {
            name: "vmm_arc_page_overhead",
            value: 5000,
            ..
        }
    ));

    assert_eq!(
        f.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "sorry, variable 'zfs_arc_maxx' is not defined in the 'zfs' module on line 10 of \
             /etc/system; line ignored",
            "unsupported operator at '0x100' on line 11, column 30, of /etc/system; line ignored",
            "zfs:zfs_arc_meta_limit = 0x4000000000 ignored on line 12 of /etc/system: \
             zfs_arc_meta_limit: 274877906944 is out of bounds (accepted: 1 to 8589934592)",
            "extraneous input at 't64' on line 13, column 34, of /etc/system; line ignored",
            "vmm:vmm_arc_page_overhead = 5000 ignored on line 14 of /etc/system: \
             vmm_arc_page_overhead: 5000 is out of bounds (accepted: 0 to 4096)",
        ]
    );

    // The good values are in force from the first computation of the
    // limits; the bad ones changed nothing.
    let l = t.limits();
    assert_eq!(
        (l.c_max, l.c_min, l.meta_min),
        (Bytes(8 * GIB), Bytes(GIB), Bytes(32 * MIB))
    );
    assert_eq!(l.c, l.c_max);
    assert_eq!(t.get("zfs_arc_meta_limit").unwrap(), 0);
    assert_eq!(t.get("dbuf_cache_max_bytes").unwrap(), 0);
    assert_eq!(t.get("vmm_arc_page_overhead").unwrap(), 120);
}

#[test]
fn piled_up_values_duplicates_and_operators_follow_krtld() {
    let t = booting(16);
    let text = "set zfs:zfs_arc_max = 0x100000000\r\n\
                set zfs:zfs_arc_max = 0x300000000\r\n\
                set zfs:zfs_arc_max & 0x200000000\r\n\
                set zfs:zfs_arc_min | 0x40000000\r\n\
                set32 zfs:zfs_arc_meta_min = 1\r\n\
                set64 zfs:zfs_arc_meta_limit = 0x40000000\r\n";
    let report = apply_etc_system(&t, text.as_bytes());
    assert_eq!(
        report.applied.as_slice(),
        [
            ("zfs_arc_max", 8 * GIB, 3),
            ("zfs_arc_min", GIB, 4),
            ("zfs_arc_meta_limit", GIB, 6),
        ]
    );
    let [dup] = report.findings.as_slice() else {
        panic!("{:?}", report.findings)
    };
    assert_eq!(
        dup.to_string(),
        "zfs:zfs_arc_max is set more than once in /etc/system (last on line 3). \
         \"set zfs:zfs_arc_max = 0x200000000\" applied as the current setting."
    );
    assert_eq!(
        t.get("zfs_arc_meta_min").unwrap(),
        0,
        "set32 is discarded on amd64"
    );
}

#[test]
fn lines_meant_for_us_in_the_wrong_form_are_reported() {
    let t = booting(16);
    let text =
        "set zfs_arc_max = 0x200000000\nset zfs:zfs_arc_max = \"8G\"\nsett zfs:zfs_arc_max = 1\n";
    let report = apply_etc_system(&t, text.as_bytes());
    assert!(report.applied.is_empty());
    let msgs: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs,
        [
            "sorry, variable 'zfs_arc_max' is not defined in the 'kernel' on line 1 of \
             /etc/system (write 'set zfs:zfs_arc_max'); line ignored",
            "zfs_arc_max takes a number, not a string, on line 2 of /etc/system; line ignored",
            "unknown command at 'sett zfs:zfs_arc_max = 1' on line 3, column 1, of /etc/system; \
             line ignored",
        ]
    );
    assert_eq!(t.get("zfs_arc_max").unwrap(), 0);
}

#[test]
fn after_boot_the_file_changes_nothing() {
    let t = booting(16);
    t.finish_boot();
    let before = t.limits();
    let report = apply_etc_system(&t, b"set zfs:zfs_arc_max = 0x200000000\n");
    let [f] = report.findings.as_slice() else {
        panic!("{:?}", report.findings)
    };
    assert!(matches!(f.kind, FindingKind::Refused { error, .. } if error.to_errno() == EACCES));
    assert_eq!(t.limits(), before);
}

#[test]
fn many_bad_lines_are_counted_not_lost() {
    let t = booting(16);
    let text = "set zfs:nope = 1\n".repeat(40);
    let report = apply_etc_system(&t, text.as_bytes());
    assert_eq!(
        report.findings.len(),
        admin_syntax::etc_system::MAX_FINDINGS
    );
    assert_eq!(
        report.dropped,
        40 - admin_syntax::etc_system::MAX_FINDINGS as u32
    );
}
