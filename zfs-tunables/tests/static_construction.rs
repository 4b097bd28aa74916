//! A component built in place (`unconfigured` then `configure`), as the
//! kernel module keeps it in static storage, is the component `new`
//! builds.
#![cfg(not(loom))]

mod common;

use common::host_gib;
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{errno, ArcTunables, Bytes, Generation, GIB};

#[test]
fn configure_builds_what_new_builds() {
    for generation in [Generation::Y2021, Generation::Current] {
        for gib in [4, 128] {
            let made = ArcTunables::new(StdPlatform::manual(), host_gib(gib), generation);
            let mut placed = ArcTunables::unconfigured(StdPlatform::manual());
            assert_eq!(
                placed.limits().c_max,
                Bytes::ZERO,
                "unconfigured publishes zeros"
            );
            placed.configure(host_gib(gib), generation).unwrap();
            assert_eq!(placed.limits(), made.limits());
            assert_eq!(placed.configured_limits(), made.configured_limits());
            assert_eq!(placed.host(), made.host());
            assert_eq!(placed.headroom_stats(), made.headroom_stats());
            let mut names_made = Vec::new();
            made.for_each_tunable(|e| names_made.push((e.desc.name, e.value)));
            let mut names_placed = Vec::new();
            placed.for_each_tunable(|e| names_placed.push((e.desc.name, e.value)));
            assert_eq!(names_placed, names_made);
            // Boot is in progress, as after `new`.
            placed.boot_set("zfs_arc_max", 2 * GIB).unwrap();
            assert_eq!(placed.limits().c_max, Bytes(2 * GIB));
        }
    }
}

#[test]
fn configuring_twice_is_refused_and_changes_nothing() {
    let mut t = ArcTunables::unconfigured(StdPlatform::manual());
    t.configure(host_gib(16), Generation::Current).unwrap();
    t.set("zfs_arc_max", 4 * GIB).unwrap();
    let before = t.limits();
    let e = t.configure(host_gib(64), Generation::Y2021).unwrap_err();
    assert_eq!(e.to_errno(), errno::EEXIST);
    assert_eq!(t.limits(), before);
    assert_eq!(t.host(), host_gib(16));
}
