//! Write requests (`module:instance:name:statistic=value`) reach the
//! kstat driver's checks: the request form the simulator and the admin
//! command use is refused exactly as a buffer written to the same kstat.

#[path = "../../kstat-export/tests/common/mod.rs"]
mod common;

use admin_syntax::{parse_assignment, write_assignments};
use common::{booted, T0};
use kstat_export::{Credential, ExportError, KstatSet, RawVariables, Sources};
use zfs_tunables::errno::EACCES;
use zfs_tunables::GIB;

#[test]
fn a_request_to_a_read_only_kstat_is_eacces_and_changes_nothing() {
    let t = booted(16);
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    let mut ks = KstatSet::new(T0).unwrap();
    let before = (t.limits(), raw.raw_value("zfs_arc_max"));
    let req = parse_assignment(b"zfs:0:arcstats:c_max=8589934592").unwrap();
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: Some(&mut raw),
    };
    let e = write_assignments(&mut ks, &mut src, &[req], Credential::SysConfig, T0).unwrap_err();
    assert_eq!(e.to_errno(), EACCES);
    assert_eq!((t.limits(), raw.raw_value("zfs_arc_max")), before);
}

#[test]
fn a_request_to_a_kstat_that_does_not_exist_is_refused_before_anything_is_written() {
    let t = booted(16);
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    let mut ks = KstatSet::new(T0).unwrap();
    let good = parse_assignment(b"zfs:0:tunables:zfs_arc_max=8G").unwrap();
    let req = parse_assignment(b"zfs:1:tunables:zfs_arc_max=1").unwrap();
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: Some(&mut raw),
    };
    let e =
        write_assignments(&mut ks, &mut src, &[good, req], Credential::SysConfig, T0).unwrap_err();
    assert_eq!(e, ExportError::NoSuchKstat);
    assert_eq!(t.get("zfs_arc_max").unwrap(), 0);
}

#[test]
fn a_size_with_a_suffix_is_written_as_its_bytes() {
    let t = booted(16);
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    let mut ks = KstatSet::new(T0).unwrap();
    let req = parse_assignment(b"zfs:0:tunables:zfs_arc_max = 8GiB").unwrap();
    let mut src = Sources {
        tunables: &t,
        arc_resv: None,
        raw: Some(&mut raw),
    };
    write_assignments(&mut ks, &mut src, &[req], Credential::SysConfig, T0).unwrap();
    assert_eq!(t.get("zfs_arc_max").unwrap(), 8 * GIB);
    assert_eq!(raw.raw_value("zfs_arc_max"), Some(8 * GIB));
}
