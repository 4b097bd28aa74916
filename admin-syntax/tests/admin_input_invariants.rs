//! The fuzz targets' invariants, on stable, in CI: every admin input
//! path (a `zfs:0:tunables` buffer, `kstat` assignments, an `mdb -kw`
//! session with sync ticks, an `/etc/system` file at boot) keeps its
//! promises on grammar-shaped, damaged and random input. The checks are
//! the ones the fuzz targets under `fuzz/` run (`admin_input_checks.rs`);
//! these generators aim at the valid and almost-valid inputs that reach
//! the deep paths (applied, refused with each errno, restored).

#[path = "common/admin_input_checks.rs"]
mod admin_input_checks;
#[path = "../../kstat-export/tests/common/mod.rs"]
mod common;

use admin_input_checks::{
    check_assignment_lines, check_etc_system, check_kstat_buffer_write, check_mdb_session,
    kstat_named_from_bytes, BufferWrite, Host, KSTAT_NAMED_SIZE,
};
use common::VMM_REGISTRANT;
use kstat_export::{KstatDataType, KstatNamed};
use proptest::prelude::*;
use zfs_tunables::errno::{EACCES, EBUSY, EINVAL, EPERM, ERANGE};
use zfs_tunables::{Bytes, GIB, MIB};

/// zfs's and vmm's runtime tunables, in registry order.
const TUNABLES: [&str; 8] = [
    "zfs_arc_max",
    "zfs_arc_min",
    "zfs_arc_meta_limit",
    "zfs_arc_meta_min",
    "dbuf_cache_max_bytes",
    "dbuf_metadata_cache_max_bytes",
    "zfs_arc_headroom_margin",
    "vmm_arc_page_overhead",
];

/// A 16 GiB host during boot, zfs's and vmm's tunables registered.
fn booting() -> Host {
    let t = common::booting(16);
    t.register(&VMM_REGISTRANT).unwrap();
    t
}

/// That host booted, with a full ARC and 2 GiB of headroom reserved, so
/// a value that leaves no room for reservations (`EBUSY`) is reachable.
fn booted() -> Host {
    let t = booting();
    t.finish_boot();
    t.platform().set_arc_size(t.limits().c);
    t.reserve("vmm", Bytes(2 * GIB)).unwrap();
    t
}

/// Values around every bound: the floors, the host's size, the
/// reservation, vmm's limit, and anything at all.
fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::sample::select(vec![
            0,
            1,
            120,
            1000,
            4096,
            4097,
            64 * MIB,
            64 * MIB + 1,
            256 * MIB,
            GIB,
            2 * GIB,
            4 * GIB,
            8 * GIB,
            14 * GIB,
            15 * GIB,
            16 * GIB,
            64 * GIB,
            u64::MAX,
        ]),
        any::<u64>(),
    ]
}

fn tunable() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        12 => prop::sample::select(TUNABLES.to_vec()),
        1 => prop::sample::select(vec!["c_max", "zfs_arc_maxx", "arc_max", "instances"]),
    ]
}

/// One of `choices`, most often the first.
fn mostly(choices: &[&'static str]) -> impl Strategy<Value = &'static str> {
    let (first, rest) = choices.split_first().expect("a choice");
    prop_oneof![
        6 * rest.len() as u32 => Just(*first),
        1 => prop::sample::select(rest.to_vec()),
    ]
}

/// Valid text with a few random bytes spliced in somewhere.
fn spliced(s: String, junk: Vec<u8>, at: prop::sample::Index) -> Vec<u8> {
    let mut v = s.into_bytes();
    let i = at.index(v.len() + 1);
    v.splice(i..i, junk);
    v
}

/// `line`, or `line` with up to three random bytes spliced in.
fn maybe_damaged(line: impl Strategy<Value = String>) -> impl Strategy<Value = Vec<u8>> {
    (
        line,
        prop::collection::vec(any::<u8>(), 0..4),
        any::<prop::sample::Index>(),
        0u8..4,
    )
        .prop_map(|(s, junk, at, roll)| {
            if roll == 0 {
                spliced(s, junk, at)
            } else {
                s.into_bytes()
            }
        })
}

fn join_lines(lines: Vec<Vec<u8>>) -> Vec<u8> {
    lines.join(&b'\n')
}

/// A caller's buffer: the kstat's own entries, a few with new values,
/// then some damage (an entry moved, retyped, renamed, dropped or added).
fn damaged_buffer() -> impl Strategy<Value = Vec<KstatNamed>> {
    let live = |i: usize| if i == 6 { 120 } else { 0 };
    let entry = |i: usize| prop_oneof![3 => Just(live(i)), 1 => value()];
    let values: Vec<_> = (0..TUNABLES.len()).map(entry).collect();
    (
        values,
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec((0u8..6, 0usize..8, 0usize..31, any::<u8>()), 1..3),
        ],
    )
        .prop_map(|(values, damage)| {
            let mut buf: Vec<KstatNamed> = TUNABLES
                .iter()
                .zip(values)
                .map(|(n, v)| KstatNamed::uint64(n, v).unwrap())
                .collect();
            for (kind, i, at, byte) in damage {
                let len = buf.len();
                match kind {
                    0 if len > 1 => buf.swap(i % len, (i + 1) % len),
                    1 if len > 0 => buf[i % len].data_type = KstatDataType(byte % 11),
                    2 if len > 0 => buf[i % len].name.0[at] = byte,
                    3 => buf.truncate(i % (len + 1)),
                    4 => buf.push(KstatNamed::uint64("extra", u64::from(byte)).unwrap()),
                    _ => {}
                }
            }
            buf
        })
}

/// A request to `zfs:0:tunables`, or now and then to another kstat.
fn assignment_line() -> impl Strategy<Value = String> {
    let kstat = prop_oneof![
        4 => Just(("zfs", "0", "tunables")),
        1 => (
            prop::sample::select(vec!["zfs", "vmm", "ip"]),
            prop::sample::select(vec!["0", "1"]),
            prop::sample::select(vec!["tunables", "arcstats", "arc_headroom", "arc_resv"]),
        ),
    ];
    (
        kstat,
        tunable(),
        value(),
        any::<bool>(),
        prop::sample::select(vec!["", " ", "\t", "\r"]),
    )
        .prop_map(|((module, inst, kstat), stat, v, hex, blank)| {
            let v = if hex {
                format!("0x{v:x}")
            } else {
                v.to_string()
            };
            format!("{blank}{module}:{inst}:{kstat}:{stat}{blank}={blank}{v}{blank}")
        })
}

fn mdb_line() -> impl Strategy<Value = String> {
    (
        mostly(&["", "zfs`", "vmm`"]),
        tunable(),
        mostly(&["", "+4", "+1", "+6", "+8", " + 0t2 "]),
        mostly(&["Z", "z", "W", "w", "v", "J"]),
        value(),
        0u8..5,
    )
        .prop_map(|(module, name, offset, width, v, radix)| {
            let v = match radix {
                0 => format!("0x{v:x}"),
                1 => format!("0t{v}"),
                2 => format!("{v:x}"),
                3 => format!("$[ 0t{v} ]"),
                _ => format!("0o{v:o}"),
            };
            format!("{module}{name}{offset}/{width} {v}")
        })
}

fn system_line() -> impl Strategy<Value = String> {
    (
        mostly(&["set", "SET", "set64", "set32", "forceload:", "sett"]),
        mostly(&["zfs:", "vmm:", "ip:", ""]),
        tunable(),
        mostly(&[" = ", "=", " | ", " & ", " "]),
        value(),
        0u8..6,
        mostly(&["", " * a comment", " # note", " junk"]),
    )
        .prop_map(|(cmd, module, name, op, v, form, tail)| {
            let v = match form {
                0 => format!("0x{v:x}"),
                1 => format!("0{v:o}"),
                2 => format!("~{v}"),
                3 => format!("\"{v}\""),
                _ => v.to_string(),
            };
            format!("{cmd} {module}{name}{op}{v}{tail}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// `zfs:0:tunables` buffers: valid, damaged, from unprivileged
    /// callers, to the read-only kstat, with and without raw variables.
    #[test]
    fn kstat_buffer_writes_are_all_or_nothing(
        buf in damaged_buffer(),
        flags in prop_oneof![6 => Just(0u8), 1 => 0u8..8],
    ) {
        let _ = check_kstat_buffer_write(&booted, BufferWrite::from_bits(flags), &buf);
    }

    /// Random bytes as a caller's buffer (mostly refused by size or name).
    #[test]
    fn kstat_buffer_of_random_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..(KSTAT_NAMED_SIZE * 8)),
    ) {
        let buf = kstat_named_from_bytes(&bytes);
        let _ = check_kstat_buffer_write(&booted, BufferWrite::from_bits(0), &buf);
    }

    /// `module:instance:name:statistic=value` requests, written together.
    #[test]
    fn kstat_assignments_are_all_or_nothing(
        lines in prop::collection::vec(
            prop_oneof![
                8 => maybe_damaged(assignment_line()),
                1 => prop::collection::vec(any::<u8>(), 0..40),
            ],
            1..4,
        ),
    ) {
        let _ = check_assignment_lines(&booted, &join_lines(lines));
    }

    /// `mdb -kw` sessions with sync ticks (the empty lines) between
    /// writes: applied, refused and restored, reported.
    #[test]
    fn mdb_writes_and_sync_ticks_keep_the_variables_in_force(
        lines in prop::collection::vec(
            prop_oneof![
                8 => maybe_damaged(mdb_line()),
                3 => Just(Vec::new()),
                1 => prop::collection::vec(any::<u8>(), 0..40),
            ],
            1..9,
        ),
    ) {
        let _ = check_mdb_session(&booted, &join_lines(lines));
    }

    /// `/etc/system` files at boot.
    #[test]
    fn etc_system_files_apply_what_they_can_and_report_the_rest(
        lines in prop::collection::vec(
            prop_oneof![
                8 => maybe_damaged(system_line()),
                1 => Just(b"* a comment".to_vec()),
                1 => Just(Vec::new()),
                1 => prop::collection::vec(any::<u8>(), 0..40),
            ],
            0..14,
        ),
    ) {
        let _ = check_etc_system(&booting, &join_lines(lines));
    }
}

/// The outcomes the generators aim at, each reached once by name: if
/// the checks stopped reaching them (a host that cannot refuse, say), the
/// property tests above would pass without testing much.
#[test]
fn the_checks_reach_every_outcome() {
    let mut buf: Vec<KstatNamed> = TUNABLES
        .iter()
        .map(|n| KstatNamed::uint64(n, 0).unwrap())
        .collect();
    buf[7] = KstatNamed::uint64(TUNABLES[7], 120).unwrap();
    let mut with_limits = |max: u64, min: u64, flags: u8| {
        buf[0] = KstatNamed::uint64(TUNABLES[0], max).unwrap();
        buf[1] = KstatNamed::uint64(TUNABLES[1], min).unwrap();
        check_kstat_buffer_write(&booted, BufferWrite::from_bits(flags), &buf)
    };
    assert_eq!(with_limits(8 * GIB, 2 * GIB, 0), Ok(()));
    assert_eq!(with_limits(8 * GIB, 2 * GIB, 4), Ok(()));
    assert_eq!(with_limits(15 * GIB, 14 * GIB, 0), Err(EBUSY));
    assert_eq!(with_limits(4 * GIB, 8 * GIB, 0), Err(ERANGE));
    assert_eq!(with_limits(0, 1000, 0), Err(EINVAL));
    assert_eq!(with_limits(8 * GIB, 0, 1), Err(EPERM));
    assert_eq!(with_limits(8 * GIB, 0, 2), Err(EACCES));

    assert_eq!(
        check_assignment_lines(
            &booted,
            b"zfs:0:tunables:zfs_arc_max=0x3c0000000\nzfs:0:tunables:zfs_arc_min=0x380000000",
        ),
        Some(Err(EBUSY))
    );
    assert_eq!(
        check_assignment_lines(
            &booted,
            b"zfs:0:tunables:vmm_arc_page_overhead = 0x1000\n\r"
        ),
        Some(Ok(()))
    );
    assert_eq!(
        check_assignment_lines(&booted, b"zfs:0:tunables:zfs_arc_max"),
        None
    );

    // Together the pair leaves no room for the reservation; one by one,
    // zfs_arc_max applies and zfs_arc_min is refused and restored; then
    // a value under the floor is refused too.
    let out = check_mdb_session(
        &booted,
        b"zfs_arc_max/Z 0x3c0000000\nzfs_arc_min/Z 0x380000000\n\nzfs_arc_max/Z 0t1000",
    );
    assert_eq!((out.applied, out.refused), (1, 2));

    let report = check_etc_system(
        &booting,
        b"set zfs:zfs_arc_max = 0x200000000\nset zfs:zfs_arc_min = 1000\nset zfs:x = 1\nbad",
    );
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.findings.len(), 3, "{:?}", report.findings);
}
