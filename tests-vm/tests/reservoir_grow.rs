//! Growing the vmm reservoir by 64 GiB on `seed-128g`'s host (issue 14,
//! acceptance point 4): `seed-128g-reservoir-grow` runs `rsrvrctl -a
//! 65536` at 10 s where `seed-128g` starts its 64 GiB guest.
//!
//! Under `reservoir` (current illumos) `vmmr_add()` waits in
//! `page_xresv()` with `needfree` raised; the system-wide kmem reap it
//! starts gates the ARC's reap callback, `needfree` cuts `c` to `c_min`,
//! and the scanner pages while the pages are made. Under `tunables` the
//! reservoir is a headroom owner: the growth lowers the ARC's ceiling at
//! once, waits for the eviction, and is made without paging; one that
//! cannot fit now is refused at once, and a shrink gives back exactly
//! its headroom. MODEL.md's "Growing the reservoir" quotes these runs.

use tests_vm::event::{Detail, Event, EventRecord, ENOTTY};
use tests_vm::params::{Params, GIB, HZ};
use tests_vm::policy::Policy;
use tests_vm::scenario::{self, Scenario, BUILTINS};
use tests_vm::sim::{self, RunResult};
use zfs_tunables::errno::{ENOMEM, ENOSPC};

const NAME: &str = "seed-128g-reservoir-grow";
const GROWTH: u64 = 64 * GIB;

fn builtin() -> Scenario {
    scenario::builtin(NAME).unwrap().unwrap()
}

/// The built-in with its `rsrvrctl` line replaced by `lines` (TOML of
/// `[[event]]` tables).
fn variant(lines: &str) -> Scenario {
    let (_, _, text) = BUILTINS.iter().find(|(n, _, _)| *n == NAME).unwrap();
    let replaced = text.replace("[[event]]\nat = \"10s\"\nrsrvrctl = \"-a 65536\"\n", lines);
    assert_ne!(replaced, *text, "the rsrvrctl event was replaced");
    scenario::parse_scenario(&replaced, NAME).unwrap()
}

fn run(s: &Scenario, policy: Policy) -> RunResult {
    sim::run(s, policy, &Params::default())
}

/// The reservoir's `rsrvrctl` records: issued, and returned (if it was
/// under way).
fn rsrvrctl(r: &RunResult) -> (Vec<&EventRecord>, Vec<&EventRecord>) {
    let issued = r
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::Rsrvrctl { .. }))
        .collect();
    let returned = r
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::RsrvrctlReturned { .. }))
        .collect();
    (issued, returned)
}

/// The reservoir's size an `rsrvrctl` record reports, and whether it was
/// still resizing.
fn reservoir(e: &EventRecord) -> (u64, bool) {
    match e.detail {
        Some(Detail::Reservoir { size, resizing }) => (size, resizing),
        ref d => panic!("no reservoir detail: {d:?}"),
    }
}

/// Seconds from the `rsrvrctl` at 10 s to its return, and the record.
fn growth(r: &RunResult) -> (f64, &EventRecord) {
    let (issued, returned) = rsrvrctl(r);
    assert_eq!(issued.len(), 1, "{:?}", r.events);
    assert_eq!(issued[0].at, 10 * HZ);
    assert!(issued[0].ok(), "{:?}", issued[0]);
    assert_eq!(reservoir(issued[0]), (0, true), "under way, empty");
    assert_eq!(returned.len(), 1, "it returned within the run");
    (returned[0].at_s() - issued[0].at_s(), returned[0])
}

/// `c_max` in the `kstat -p zfs:0:arcstats` read at `at_s`.
fn c_max_read(r: &RunResult, at_s: f64) -> u64 {
    let read = r
        .kstat_reads
        .iter()
        .find(|k| k.at_s == at_s)
        .expect("a read then");
    read.lines
        .iter()
        .find_map(|l| l.strip_prefix("zfs:0:arcstats:c_max\t"))
        .and_then(|v| v.parse().ok())
        .expect("c_max")
}

/// VMM Memory of the running guest and the reservoir, bytes.
fn vmm_after(r: &RunResult) -> u64 {
    r.memstat_after.vmm * tests_vm::params::PAGESIZE
}

#[test]
fn under_today_s_kernel_the_growth_waits_for_the_kmem_reap_and_pages() {
    let r = run(&builtin(), Policy::Reservoir);
    let (took, ret) = growth(&r);
    assert!(ret.ok(), "{ret:?}");
    assert_eq!(reservoir(ret), (GROWTH, false));
    // page_xresv() waits until the system-wide reap that its needfree
    // started lets the ARC's reap callback return the evicted memory;
    // creating 64 GiB alone takes 16 s at the allocation rate.
    assert!(took > 120.0, "returned {took} s after rsrvrctl");
    assert!(r.kmem_reaps >= 1);
    assert!(r.pages_paged_out > 200_000, "{} pages", r.pages_paged_out);
    assert_eq!(r.lwps_swapped, 0);
    // needfree cut c to c_min in one step: the ARC is gone.
    assert_eq!(r.c_bytes, r.c_min_bytes);
    assert!(r.arc_after_bytes < 6 * GIB, "{}", r.arc_after_bytes);
    assert_eq!(vmm_after(&r), 21_525_168_128 + GROWTH);
    assert_eq!(r.owed_after.needfree_pages, 0);
    assert_eq!(r.owed_after.resv_unbacked_pages, 0);
    println!(
        "reservoir: {took:.2} s, {} pages paged out, ARC after {} bytes, ZFS blocked {:.2} s",
        r.pages_paged_out, r.arc_after_bytes, r.zfs_blocked_s
    );
}

#[test]
fn under_tunables_the_growth_lowers_the_ceiling_and_waits_for_eviction_only() {
    let r = run(&builtin(), Policy::Tunables);
    let (took, ret) = growth(&r);
    assert!(ret.ok(), "{ret:?}");
    assert_eq!(reservoir(ret), (GROWTH, false));
    // The eviction of what free memory lacks (at most the growth) and the
    // growth's page creation, at the model's rates, plus the stock
    // reaper's second.
    let p = Params::default();
    let bound = GROWTH as f64 / p.alloc_rate as f64 + GROWTH as f64 / p.evict_rate as f64 + 1.0;
    assert!(
        took < bound,
        "returned {took} s after rsrvrctl, bound {bound} s"
    );
    assert_eq!(r.pages_paged_out, 0);
    assert_eq!(r.lwps_swapped, 0);
    assert_eq!(r.kmem_reaps, 0);
    // The committed headroom keeps the ceiling lowered by the growth.
    assert_eq!(c_max_read(&r, 9.0) - c_max_read(&r, 239.0), GROWTH);
    assert_eq!(r.c_max_bytes, c_max_read(&r, 239.0));
    // The ARC keeps what the growth did not need.
    assert!(r.arc_after_bytes > 15 * GIB, "{}", r.arc_after_bytes);
    assert_eq!(vmm_after(&r), 21_525_168_128 + GROWTH);
    // Never under lotsfree: the scanner had no reason to run.
    assert!(r.min_freemem_bytes >= r.lotsfree_bytes);
    let stock = run(&builtin(), Policy::Reservoir);
    assert!(r.arc_after_bytes > 2 * stock.arc_after_bytes);
    assert!(r.zfs_blocked_s <= stock.zfs_blocked_s + 0.5);
    println!(
        "tunables: {took:.2} s, {} pages paged out, ARC after {} bytes, ZFS blocked {:.2} s",
        r.pages_paged_out, r.arc_after_bytes, r.zfs_blocked_s
    );
}

#[test]
fn the_2021_kernels_have_no_reservoir() {
    for policy in [Policy::Legacy, Policy::Os8005] {
        let r = run(&builtin(), policy);
        let (issued, returned) = rsrvrctl(&r);
        assert_eq!(issued.len(), 1);
        assert_eq!(issued[0].errno(), Some(ENOTTY), "{policy:?}");
        assert!(returned.is_empty());
        assert_eq!(vmm_after(&r), 21_525_168_128, "{policy:?}: nothing taken");
        assert_eq!(r.pages_paged_out, 0);
    }
}

#[test]
fn a_growth_that_cannot_fit_now_is_refused_at_once_under_tunables_only() {
    // 88 GiB: within vmmr_total_limit beside the running guest, more than
    // free memory and the ARC down to c_min can give.
    let s = variant("[[event]]\nat = \"10s\"\nrsrvrctl = \"-a 90112\"\n");
    let r = run(&s, Policy::Tunables);
    let (issued, returned) = rsrvrctl(&r);
    assert_eq!(issued[0].errno(), Some(ENOMEM), "{:?}", issued[0]);
    assert_eq!(reservoir(issued[0]), (0, false));
    assert!(returned.is_empty());
    assert_eq!(
        c_max_read(&r, 239.0),
        c_max_read(&r, 9.0),
        "nothing reserved"
    );
    assert_eq!(r.arc_after_bytes, r.arc_before_bytes, "nothing evicted");
    assert_eq!(r.pages_paged_out, 0);
    // Today's kernel waits in page_xresv() for good, needfree raised.
    let stock = run(&s, Policy::Reservoir);
    let (issued, returned) = rsrvrctl(&stock);
    assert!(issued[0].ok());
    assert!(returned.is_empty(), "still waiting at the end");
    assert_eq!(stock.owed_after.needfree_pages, 90112 * 256);
    assert!(stock.pages_paged_out > 0);
}

#[test]
fn a_growth_past_the_reservoir_limit_is_refused_with_enospc() {
    // 110 GiB beside the 20 GiB guest passes vmmr_total_limit (physmem
    // less 120% of pages_pp_maximum), under both kernels.
    let s = variant("[[event]]\nat = \"10s\"\nrsrvrctl = \"-a 112640\"\n");
    for policy in [Policy::Reservoir, Policy::Tunables] {
        let r = run(&s, policy);
        let (issued, returned) = rsrvrctl(&r);
        assert_eq!(issued[0].errno(), Some(ENOSPC), "{policy:?}");
        assert!(returned.is_empty());
        assert_eq!(r.pages_paged_out, 0);
        assert_eq!(vmm_after(&r), 21_525_168_128);
    }
}

#[test]
fn a_shrink_gives_back_exactly_the_headroom_it_removes() {
    let s = variant(
        "[[event]]\nat = \"10s\"\nrsrvrctl = \"-a 65536\"\n\
         [[event]]\nat = \"100s\"\nrsrvrctl = \"-r 16384\"\n\
         [[event]]\nat = \"120s\"\nkstat_read = \"zfs:0:arcstats\"\n\
         [[event]]\nat = \"200s\"\nrsrvrctl = \"-s 0\"\n",
    );
    let r = run(&s, Policy::Tunables);
    let (issued, returned) = rsrvrctl(&r);
    assert_eq!(issued.len(), 3);
    assert_eq!(returned.len(), 1, "the growth returned before 100 s");
    assert!(returned[0].at < 100 * HZ);
    // The shrinks happen at once.
    assert_eq!(reservoir(issued[1]), (48 * GIB, false));
    assert_eq!(reservoir(issued[2]), (0, false));
    let before = c_max_read(&r, 9.0);
    assert_eq!(before - c_max_read(&r, 120.0), 48 * GIB);
    assert_eq!(
        c_max_read(&r, 239.0),
        before,
        "the ceiling restored exactly"
    );
    assert_eq!(vmm_after(&r), 21_525_168_128);
    // Today's kernel gives the pages back too.
    let stock = run(&s, Policy::Reservoir);
    assert_eq!(vmm_after(&stock), 21_525_168_128);
}

#[test]
fn a_second_resize_while_one_is_under_way_is_refused() {
    let s = variant(
        "[[event]]\nat = \"10s\"\nrsrvrctl = \"-a 65536\"\n\
         [[event]]\nat = \"11s\"\nrsrvrctl = \"-a 1024\"\n",
    );
    for policy in [Policy::Reservoir, Policy::Tunables] {
        let r = run(&s, policy);
        let (issued, returned) = rsrvrctl(&r);
        assert_eq!(
            issued[1].errno(),
            Some(zfs_tunables::errno::EALREADY),
            "{policy:?}"
        );
        assert_eq!(reservoir(returned[0]), (GROWTH, false), "{policy:?}");
    }
}

#[test]
fn growing_in_chunks_keeps_the_chunks_made_when_a_later_one_is_refused() {
    // 64 GiB in chunks of 16 GiB: each chunk reserves and waits for its
    // own headroom; all four commit, the ceiling lowered by their sum.
    let s = variant("[[event]]\nat = \"10s\"\nrsrvrctl = \"-a 65536 -c 16384\"\n");
    let r = run(&s, Policy::Tunables);
    let (_, ret) = growth(&r);
    assert!(ret.ok(), "{ret:?}");
    assert_eq!(reservoir(ret), (GROWTH, false));
    assert_eq!(c_max_read(&r, 9.0) - c_max_read(&r, 239.0), GROWTH);
    assert_eq!(r.pages_paged_out, 0);
    // 88 GiB in chunks of 16 GiB: the fifth cannot fit now and is refused
    // at once; the four made stay, and so does their headroom.
    let s = variant("[[event]]\nat = \"10s\"\nrsrvrctl = \"-a 90112 -c 16384\"\n");
    let r = run(&s, Policy::Tunables);
    let (_, ret) = growth(&r);
    assert_eq!(ret.errno(), Some(ENOMEM), "{ret:?}");
    assert_eq!(reservoir(ret), (GROWTH, false));
    assert_eq!(c_max_read(&r, 9.0) - c_max_read(&r, 239.0), GROWTH);
    assert_eq!(r.pages_paged_out, 0);
}

/// The scenario's ideal counts the reservoir's growth as memory the host
/// must give, as it counts a guest's RAM: the best kernel gives up only
/// what free memory lacks. Without it the ideal was the ARC before the
/// growth, and `tunables` looked 49.9 GiB short of it.
#[test]
fn the_ideal_counts_the_reservoirs_growth() {
    let r = run(&builtin(), Policy::Tunables);
    let ratio = r.arc_after_bytes as f64 / r.arc_ideal_after_bytes as f64;
    assert!(ratio >= 0.97, "ARC after at {ratio:.3} of the ideal");
    assert!(r.start_lower_bound_s > GROWTH as f64 / Params::default().alloc_rate as f64);
    let stock = run(&builtin(), Policy::Reservoir);
    assert!(stock.arc_after_bytes < stock.arc_ideal_after_bytes);
    assert_eq!(stock.arc_ideal_after_bytes, r.arc_ideal_after_bytes);
}
