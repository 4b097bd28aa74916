//! The simulator held to the seed's logs: one test per figure the seed
//! (OS-8005 and its comments) shows, each with the seed's figure and a
//! band, so a change to the model that drifts from the seed fails here.
//!
//! Times are seconds after bhyve started ("after launch"), as the seed's
//! zoneadmd log gives them; sizes are `::memstat`'s MB (MiB).
//!
//! The last tests switch one mechanism off (the system-wide kmem reap's
//! cost, the page scanner's rate) and assert that the seed's figure is
//! then lost: it comes from that mechanism, not from a figure chosen to
//! match.

use tests_vm::log::Message;
use tests_vm::params::{Params, MIB, PAGESIZE};
use tests_vm::policy::Policy;
use tests_vm::scenario::{self, Scenario};
use tests_vm::sim::{self, RunResult, VmOutcome};

fn builtin(name: &str) -> Scenario {
    scenario::builtin(name).unwrap().unwrap()
}

fn run_with(name: &str, policy: Policy, params: &Params) -> RunResult {
    sim::run(&builtin(name), policy, params)
}

fn run(name: &str, policy: Policy) -> RunResult {
    run_with(name, policy, &Params::default())
}

fn vm<'a>(r: &'a RunResult, name: &str) -> &'a VmOutcome {
    r.vms.iter().find(|v| v.name == name).unwrap()
}

fn mb(pages: u64) -> u64 {
    pages * PAGESIZE / MIB
}

/// Every "Unable to allocate memory (N), retrying in 1 second" the guest
/// printed, repeats unfolded, in seconds after its launch.
fn retry_lines_after_launch(r: &RunResult, guest: &str) -> Vec<f64> {
    let launch = vm(r, guest).created_at_s;
    let mut at = Vec::new();
    for l in r.log.lines.iter().filter(|l| l.guest == guest) {
        if !matches!(l.message, Message::RetryingAllocation { .. }) {
            continue;
        }
        let first = l.at as f64 / 100.0 - launch;
        at.push(first);
        if l.repeats > 0 {
            let last = l.last_at as f64 / 100.0 - launch;
            let step = (last - first) / l.repeats as f64;
            at.extend((1..=l.repeats).map(|i| first + step * i as f64));
        }
    }
    at
}

fn near(value: f64, seed: f64, band: f64) -> bool {
    (value - seed).abs() <= band
}

// ---------------------------------------------------------------------
// seed-128g, legacy (2021-03-05: lines at 18:27:30 and 18:28:31, 60 and
// 121 s after the launch at 18:26:30; not executing by then)
// ---------------------------------------------------------------------

#[test]
fn seed_128g_legacy_prints_its_retry_lines_60_and_121_s_after_launch() {
    let r = run("seed-128g", Policy::Legacy);
    let lines = retry_lines_after_launch(&r, "vm64");
    assert!(lines.len() >= 2, "retry lines {lines:?}");
    assert!(near(lines[0], 60.0, 1.0), "first line at {} s", lines[0]);
    assert!(near(lines[1], 121.0, 1.0), "second line at {} s", lines[1]);
}

#[test]
fn seed_128g_legacy_is_not_set_up_at_121_s() {
    let r = run("seed-128g", Policy::Legacy);
    let g = vm(&r, "vm64");
    assert!(
        g.start_latency_s.is_none_or(|l| l > 121.0),
        "memory set up {:?} s after launch",
        g.start_latency_s
    );
}

// ---------------------------------------------------------------------
// seed-128g-fix, os8005 (2021-03-07: launch 00:57:41; lines at 60, 87
// and 88 s; the guest executing, "rdmsr", at 128 s)
// ---------------------------------------------------------------------

#[test]
fn seed_128g_fix_os8005_prints_its_first_line_60_s_after_launch() {
    let r = run("seed-128g-fix", Policy::Os8005);
    let lines = retry_lines_after_launch(&r, "vm64");
    assert!(!lines.is_empty(), "no retry line");
    assert!(near(lines[0], 60.0, 1.0), "first line at {} s", lines[0]);
}

#[test]
fn seed_128g_fix_os8005_sets_up_its_memory_between_89_and_128_s() {
    let r = run("seed-128g-fix", Policy::Os8005);
    let l = vm(&r, "vm64").start_latency_s.expect("vm64 never started");
    assert!((89.0..=128.0).contains(&l), "memory set up at {l} s");
}

/// The seed prints three lines, the model one: MODEL.md ("What the model
/// does not reproduce") says why. This pins the model's count so that a
/// change to it is seen and the explanation revisited.
#[test]
fn seed_128g_fix_os8005_prints_the_one_line_model_md_explains() {
    let r = run("seed-128g-fix", Policy::Os8005);
    let lines = retry_lines_after_launch(&r, "vm64");
    assert_eq!(lines.len(), 1, "retry lines at {lines:?} s");
    assert_eq!(vm(&r, "vm64").retry_lines, 1);
}

#[test]
fn seed_128g_fix_os8005_ends_with_the_seeds_memstat() {
    let r = run("seed-128g-fix", Policy::Os8005);
    let (before, after) = (&r.memstat_before, &r.memstat_after);
    let zfs = mb(after.zfs);
    assert!(
        (4000..=12000).contains(&zfs),
        "ZFS File Data {zfs} MB (seed 7790)"
    );
    let vmm = mb(after.vmm);
    assert!(
        vmm.abs_diff(86096) <= 1024,
        "VMM Memory {vmm} MB (seed 86096)"
    );
    let free = mb(after.freelist + after.cachelist);
    assert!(free >= 10 * 1024, "free {free} MB (seed 19406)");
    assert!(
        after.anon < before.anon,
        "Anon {} MB after, {} MB before (seed 475 from 1075)",
        mb(after.anon),
        mb(before.anon)
    );
}

// ---------------------------------------------------------------------
// seed-128g-home, os8005 (the arc-testing branch, 2020-03-27: a 70 GB
// guest starts; ZFS File Data 4985 MB, VMM Memory 100388 MB after)
// ---------------------------------------------------------------------

#[test]
fn seed_128g_home_os8005_starts_with_the_seeds_memstat() {
    let r = run("seed-128g-home", Policy::Os8005);
    assert!(vm(&r, "vm70").started, "{:?}", vm(&r, "vm70"));
    let zfs = mb(r.memstat_after.zfs);
    assert!(
        (2500..=8000).contains(&zfs),
        "ZFS File Data {zfs} MB (seed 4985)"
    );
    let vmm = mb(r.memstat_after.vmm);
    assert!(
        vmm.abs_diff(100388) <= 1024,
        "VMM Memory {vmm} MB (seed 100388)"
    );
}

// ---------------------------------------------------------------------
// seed-4g, legacy (2020-03-19: a retry line every second while arcfill
// runs, the guest starts once it is killed; arcstat c 358M)
// ---------------------------------------------------------------------

const SEED_4G_READER_STOPS_S: f64 = 190.0;

#[test]
fn seed_4g_legacy_prints_a_retry_line_every_second_while_the_reader_runs() {
    let r = run("seed-4g", Policy::Legacy);
    let launch = vm(&r, "vm1").created_at_s;
    let reader_stops = SEED_4G_READER_STOPS_S - launch;
    let lines: Vec<f64> = retry_lines_after_launch(&r, "vm1")
        .into_iter()
        .filter(|t| *t < reader_stops)
        .collect();
    assert!(!lines.is_empty(), "no retry line while the reader runs");
    // From the first line to the reader's end, a line a second, but for
    // the model's pauses of about 10 s after each run of 61 lines (a new
    // `vm_reserve_pages()` wait, whose `needfree` lets a reap return
    // what it can): at least 85% of the seconds have their line.
    let span = reader_stops - lines[0];
    assert!(
        lines.len() as f64 >= span * 0.85,
        "{} lines in the {span} s between the first and the reader's end",
        lines.len()
    );
    for pair in lines.windows(2) {
        assert!(
            pair[1] - pair[0] <= 10.5,
            "a gap of {} s",
            pair[1] - pair[0]
        );
    }
}

#[test]
fn seed_4g_legacy_sets_up_its_memory_after_the_reader_stops() {
    let r = run("seed-4g", Policy::Legacy);
    let g = vm(&r, "vm1");
    let l = g.start_latency_s.expect("vm1 never started");
    assert!(
        g.created_at_s + l > SEED_4G_READER_STOPS_S,
        "memory set up at {} s, the reader stops at {SEED_4G_READER_STOPS_S} s",
        g.created_at_s + l
    );
}

#[test]
fn seed_4g_legacy_ends_with_the_seeds_memstat() {
    let r = run("seed-4g", Policy::Legacy);
    let after = &r.memstat_after;
    let vmm = mb(after.vmm);
    assert!(vmm.abs_diff(1861) <= 64, "VMM Memory {vmm} MB (seed 1861)");
    let zfs = mb(after.zfs);
    let c_min = r.c_min_bytes / MIB;
    assert!(
        zfs <= c_min + 32,
        "ZFS File Data {zfs} MB, c_min {c_min} MB (seed 337, c 358)"
    );
    let free = mb(after.freelist + after.cachelist);
    assert!(free < 100, "free {free} MB (seed 49)");
}

/// arcstat's `c` on the seed's host is 358M at every sample the seed
/// took: the first while the reader runs, with the guest's start under
/// way (the seed's text starts the VM, then runs `::memstat` and
/// `arcstat`; and only pressure takes `c` to `c_min`, since `arc_init()`
/// starts it at `c_max`), the second after the guest started. The
/// scenario reads the arcstats 2 s after the launch (the reclaim thread's
/// one-second wait and the `needfree` tick) and at the end; both must say
/// 358 MiB. The read before the launch is the host before the attempt,
/// which the seed did not sample.
#[test]
fn seed_4g_legacy_arcstat_c_is_358_mib_at_every_sample_the_seed_took() {
    let r = run("seed-4g", Policy::Legacy);
    assert_eq!(r.c_min_bytes / MIB, 358);
    let launch = vm(&r, "vm1").created_at_s;
    let reads: Vec<(f64, u64)> = r
        .kstat_reads
        .iter()
        .filter(|k| k.at_s > launch)
        .flat_map(|k| k.lines.iter().map(move |l| (k.at_s, l)))
        .filter_map(|(t, l)| l.strip_prefix("zfs:0:arcstats:c\t").map(|v| (t, v)))
        .map(|(t, v)| (t - launch, v.parse::<u64>().unwrap() / MIB))
        .collect();
    assert!(
        reads.iter().any(|(t, _)| *t <= 2.0),
        "no arcstats read within 2 s of the launch: {reads:?}"
    );
    assert!(
        reads.iter().any(|(t, _)| *t > 280.0),
        "no arcstats read after the guest started: {reads:?}"
    );
    assert!(
        reads.iter().all(|(_, c)| *c == 358),
        "c (s after launch, MiB) {reads:?}"
    );
}

// ---------------------------------------------------------------------
// Mechanisms switched off
// ---------------------------------------------------------------------

/// With the system-wide kmem reap free (a scan rate no Kernel takes a
/// tick to walk), the ARC's reap callback is never held off, the evicted
/// memory returns at once, and `os8005` no longer waits into the seed's
/// window: the window comes from the reap's cost.
#[test]
fn without_the_kmem_reaps_cost_os8005_misses_the_seeds_window() {
    let free_reap = Params {
        kmem_reap_scan_rate: u64::MAX / 4,
        ..Params::default()
    };
    let r = run_with("seed-128g-fix", Policy::Os8005, &free_reap);
    let l = vm(&r, "vm64").start_latency_s.expect("vm64 never started");
    assert!(l < 89.0, "memory set up at {l} s even with a free reap");
}

/// The same switch on `legacy`: its second line (121 s) is the second
/// 60-poll loop timing out behind the reap; with the reap free the guest
/// is up before it.
#[test]
fn without_the_kmem_reaps_cost_legacy_starts_before_its_second_line() {
    let free_reap = Params {
        kmem_reap_scan_rate: u64::MAX / 4,
        ..Params::default()
    };
    let r = run_with("seed-128g", Policy::Legacy, &free_reap);
    let lines = retry_lines_after_launch(&r, "vm64");
    assert!(
        lines.len() < 2,
        "retry lines at {lines:?} s with a free reap"
    );
}

/// With the page scanner's measured rate at zero (`fastscan` 0 once it
/// has sampled itself; its first second at the unsampled `fastscan`
/// brings the hands only one spread apart), nothing is paged and
/// `seed_128g_fix_os8005_ends_with_the_seeds_memstat` loses its Anon
/// figure: the seed's 1075 to 475 MB comes from the scanner's rate and
/// the time memory stays short.
#[test]
fn without_the_scanners_rate_os8005_keeps_all_its_anon() {
    let no_scan = Params {
        pageout_scan_rate: 0,
        ..Params::default()
    };
    let r = run_with("seed-128g-fix", Policy::Os8005, &no_scan);
    assert_eq!(r.pages_paged_out, 0);
    assert_eq!(
        r.memstat_after.anon,
        r.memstat_before.anon,
        "Anon {} MB after, {} MB before",
        mb(r.memstat_after.anon),
        mb(r.memstat_before.anon)
    );
}
