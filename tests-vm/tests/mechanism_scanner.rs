//! The page scanner by its rates: what it frees comes from how fast the
//! hands go, how long memory stays short and how much of the pageable
//! memory is idle, not from a fixed share.

use tests_vm::host::kmem::Kmem;
use tests_vm::host::memory::{Memory, Thresholds};
use tests_vm::host::pageout::Pageout;
use tests_vm::params::{Params, GIB, HZ, MIB, PAGESIZE};
use tests_vm::policy::Policy;
use tests_vm::scenario;
use tests_vm::sim::{self, RunResult};

fn run(name: &str, policy: Policy) -> RunResult {
    sim::run(
        &scenario::builtin(name).unwrap().unwrap(),
        policy,
        &Params::default(),
    )
}

fn mb(pages: u64) -> u64 {
    pages * PAGESIZE / MIB
}

/// A 16 GiB host with 1 GiB of Anon (its working set `ws_pct` percent)
/// and nothing free, so `schedpaging()` keeps the scanner running.
fn short_host(p: &Params) -> (Memory, Thresholds) {
    let physmem = 16 * GIB / PAGESIZE;
    let anon = GIB / PAGESIZE;
    let mem = Memory {
        physmem,
        kernel: physmem - anon,
        anon,
        pageable_floor: anon * p.pageable_working_set_pct / 100,
        ..Memory::default()
    };
    let thr = Thresholds::setup(&mem, p);
    (mem, thr)
}

/// Runs `schedpaging()` and the scanner for `secs` seconds; returns the
/// scanner.
fn scan_for(secs: u64, mem: &mut Memory, thr: &Thresholds, p: &Params) -> Pageout {
    let mut vm = Pageout::boot(mem.freemem());
    let mut kmem = Kmem::boot(mem.kernel, p);
    let period = HZ / p.schedpaging_hz;
    for tick in 0..secs * HZ {
        if tick % period == 0 {
            vm.schedpaging(mem, thr, &mut kmem, p);
        }
        vm.scanner_tick(mem, thr, p);
    }
    vm
}

/// The seed's check: on its own host, under the kernel it ran, Anon fell
/// from 1075 MB to 475 MB.
#[test]
fn seed_128g_fix_os8005_pages_anon_down_to_the_seeds_figure() {
    let r = run("seed-128g-fix", Policy::Os8005);
    assert_eq!(mb(r.memstat_before.anon), 1075);
    let after = mb(r.memstat_after.anon);
    assert!(
        after.abs_diff(475) <= 100,
        "Anon {after} MB after (seed 475)"
    );
}

/// Nothing is freed before the hands are a spread apart: the front hand
/// must clear a page's reference bit before the back hand can free it.
#[test]
fn the_back_hand_frees_nothing_before_the_hands_are_a_spread_apart() {
    let p = Params::default();
    let (mut mem, thr) = short_host(&p);
    let anon0 = mem.anon;
    // The first period scans fastscan / 4 pages, under the spread.
    assert!(thr.fastscan / p.schedpaging_hz < thr.handspreadpages);
    let mut vm = Pageout::boot(mem.freemem());
    let mut kmem = Kmem::boot(mem.kernel, &p);
    vm.schedpaging(&mem, &thr, &mut kmem, &p);
    for _ in 0..HZ / p.schedpaging_hz {
        vm.scanner_tick(&mut mem, &thr, &p);
    }
    assert!(vm.pages_scanned > 0);
    assert_eq!(mem.anon, anon0, "freed before the back hand came");
}

/// What the scanner frees grows with the time it runs, and never reaches
/// the working set.
#[test]
fn the_scanner_frees_more_the_longer_it_runs_and_never_the_working_set() {
    let p = Params::default();
    let freed = |secs| {
        let (mut mem, thr) = short_host(&p);
        let anon0 = mem.anon;
        let vm = scan_for(secs, &mut mem, &thr, &p);
        assert_eq!(vm.pages_paged_out, anon0 - mem.anon);
        assert!(mem.anon >= mem.pageable_floor, "the working set was freed");
        anon0 - mem.anon
    };
    let (two, three, long) = (freed(2), freed(3), freed(600));
    assert!(
        0 < two && two < three && three < long,
        "{two} {three} {long}"
    );
    let (mem, thr) = short_host(&p);
    let idle = mem.anon - mem.pageable_floor;
    // Left running, it stops where `schedpaging()` stops it: once the
    // freed pages bring `freemem` to `lotsfree`, short of the idle Anon.
    assert!(thr.lotsfree < idle);
    assert!(
        long >= thr.lotsfree && long < thr.lotsfree + thr.lotsfree / 50,
        "{long}"
    );
}

/// A faster scanner frees more in the same time.
#[test]
fn a_faster_scanner_frees_more() {
    let slow = Params {
        pageout_scan_rate: Params::default().pageout_scan_rate / 4,
        ..Params::default()
    };
    let fast = Params::default();
    let freed = |p: &Params| {
        let (mut mem, thr) = short_host(p);
        scan_for(5, &mut mem, &thr, p).pages_paged_out
    };
    assert!(freed(&slow) < freed(&fast));
}

/// The stock kernels page different amounts on one host: each keeps
/// memory short for its own time.
#[test]
fn the_stock_kernels_page_what_their_own_pressure_lasts() {
    let paged: Vec<u64> = [Policy::Legacy, Policy::Os8005, Policy::Reservoir]
        .into_iter()
        .map(|p| run("seed-128g", p).pages_paged_out)
        .collect();
    assert!(paged.iter().all(|&n| n > 0), "{paged:?}");
    assert!(
        paged.windows(2).any(|w| w[0] != w[1]),
        "identical paging {paged:?}"
    );
    // And none is the old fixed share (60% of the pageable memory).
    let r = run("seed-128g", Policy::Legacy);
    let before = &r.memstat_before;
    let fixed = (before.anon + before.exec + before.page_cache) * 60 / 100;
    assert!(paged.iter().all(|&n| n.abs_diff(fixed) > 1000), "{paged:?}");
}
