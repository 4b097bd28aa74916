//! Bad input, arbitrary and near-valid: a usage error is one line and
//! exit status 2, and no failing run changes the kernel or the fragment.

mod common;

use common::{adm, host, one_line_failure, state, TempDir};
use proptest::prelude::*;

const TOUR: &str = include_str!("simulated-hosts/tour.host");

#[test]
fn usage_errors_exit_2_with_one_line() {
    let root = TempDir::new("usage");
    let mut h = host(TOUR);
    let before = state(&mut h);
    for (args, expected) in [
        (&[][..], "arctunadm: no subcommand (get, set, reset, profile, status); see 'arctunadm --help'"),
        (&["frob"], "arctunadm: unknown subcommand 'frob' (get, set, reset, profile, status); see 'arctunadm --help'"),
        (&["get", "-x"], "arctunadm: unknown option '-x'; see 'arctunadm --help'"),
        (&["set", "zfs_arc_max"], "arctunadm: set: 'zfs_arc_max' is not tunable=value; see 'arctunadm --help'"),
        (
            &["set", "zfs_arc_max=8GB"],
            "arctunadm: set: zfs_arc_max: '8GB': unexpected character at offset 1 (a size is \
             digits with an optional K, M, G or T, or 0x and hex digits); see 'arctunadm --help'",
        ),
        (
            &["set", "zfs_arc_max=-1"],
            "arctunadm: set: zfs_arc_max: '-1': unexpected character at offset 0 (a size is \
             digits with an optional K, M, G or T, or 0x and hex digits); see 'arctunadm --help'",
        ),
        (
            &["set", "zfs_arc_max=16777216T"],
            "arctunadm: set: zfs_arc_max: '16777216T': the value exceeds 64 bits; see 'arctunadm --help'",
        ),
        (
            &["get", "zfs_arc_mx"],
            "arctunadm: unknown tunable 'zfs_arc_mx' (zfs:0:tunables has: zfs_arc_max, \
             zfs_arc_min, zfs_arc_meta_limit, zfs_arc_meta_min, dbuf_cache_max_bytes, \
             dbuf_metadata_cache_max_bytes, zfs_arc_headroom_margin, vmm_arc_page_overhead)",
        ),
        (
            &["profile", "web"],
            "arctunadm: unknown profile 'web' (profiles: illumos, illumos-low, balanced, \
             compute-hvm, compute-hvm-64)",
        ),
        // Counted after "-R root", which adm() puts first.
        (&["get", "zfs_arc_max\nzfs_arc_min"], "arctunadm: argument 4 contains a control character; see 'arctunadm --help'"),
        (&["status", "--persist"], "arctunadm: option --persist does not apply to status; see 'arctunadm --help'"),
    ] {
        let out = adm(&mut h, root.path(), args);
        assert_eq!(one_line_failure(&out, 2), expected, "{args:?}");
    }
    assert_eq!(state(&mut h), before);
    assert!(!root.path().join("etc").exists());
}

/// Words the command knows, and near misses, so that random command
/// lines reach past the first check.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "get",
            "set",
            "reset",
            "status",
            "profile",
            "help",
            "-p",
            "--persist",
            "-a",
            "--etc-system",
            "--",
            "-",
            "balanced",
            "compute-hvm",
            "compute-hvm-64",
            "zfs_arc_max",
            "zfs_arc_min",
            "vmm_arc_page_overhead",
            "zfs_arc_max=8G",
            "zfs_arc_max=4096",
            "zfs_arc_min=9G",
            "zfs_arc_max=0x",
            "zfs_arc_max=",
            "=8G",
            "zfs_arc_meta_limit=1T",
            "vmm_arc_page_overhead=5000",
            "dbuf_cache_max_bytes=18446744073709551615",
        ])
        .prop_map(str::to_string),
        "[a-z_=0-9xKMGT.-]{0,24}",
        any::<String>(),
    ]
    // -R would point the command at a root outside the test's.
    .prop_filter("not a root", |w| {
        !w.starts_with("-R") && !w.starts_with("--root")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn a_failing_run_changes_nothing(args in prop::collection::vec(word(), 0..5)) {
        let root = TempDir::new("arbitrary");
        let mut h = host(TOUR);
        let before = state(&mut h);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = adm(&mut h, root.path(), &argv);
        if out.status != 0 {
            prop_assert_eq!(state(&mut h), before);
            prop_assert!(!root.path().join("etc").exists());
            prop_assert!(out.stderr.ends_with('\n'));
            let last = out.stderr.lines().last().unwrap_or("");
            prop_assert!(last.starts_with("arctunadm: "));
        }
        if out.status == 2 {
            one_line_failure(&out, 2);
        }
        prop_assert!(matches!(out.status, 0..=2));
    }
}
