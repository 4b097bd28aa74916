//! Bench 5: `arcsim` on `fleet-1t`, a 1 TiB host on which 1000 guests
//! come and go over a simulated day while a reader fills the ARC and an
//! admin changes `zfs_arc_max` every hour (`tests_vm::scenario::fleet`).
//!
//! Run with `cargo bench -p tests-vm --bench fleet`. It reports:
//!
//! - `fleet_1t/<policy>`: one policy's run of the day; criterion's
//!   throughput (elem/s) is simulated seconds per wall second;
//! - `fleet_guests/<n>`: the project's kernel (`tunables`) on fleets of
//!   500, 1000 and 2000 guests at the same density (simulated time grows
//!   with the guests: 86.4 s each), so equal throughput (guests per wall
//!   second) means a cost linear in the number of guests;
//! - `fleet_day/<n>`: the same on one simulated day with 0, 250, 500
//!   and 1000 guests (the density grows with them), which separates the
//!   cost of simulated time (the 0-guest run: the timers, the reader,
//!   the hourly admin writes) from the cost each guest adds;
//! - before those, the peak memory of each run, measured two ways: the
//!   peak of live heap bytes during one `sim::run` (a counting global
//!   allocator: the memory the run itself needs, exactly, per policy),
//!   and the peak resident set of a separate `arcsim run fleet-1t --stats`
//!   process (its `VmHWM`, which it reports), which adds the binary, the C library
//!   and the rendering of the report: what an operator's machine pays.
//!
//! The scenario is built outside the timed loop; the timed routine is
//! `sim::run`, everything `arcsim run` does but parse arguments and print.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, SamplingMode, Throughput};
use tests_vm::params::Params;
use tests_vm::policy::Policy;
use tests_vm::scenario::{self, Scenario, FLEET_1T_GUESTS, FLEET_1T_SECONDS};
use tests_vm::sim;

/// The system allocator, counting live bytes, their peak and the number
/// of allocations.
struct CountingAllocator;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn grew(by: usize) {
    let now = LIVE_BYTES.fetch_add(by, Ordering::Relaxed) + by;
    PEAK_BYTES.fetch_max(now, Ordering::Relaxed);
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counters are only
// statistics and never influence an allocation.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// A fleet of `guests` at `fleet-1t`'s density.
fn fleet_of(guests: usize) -> Scenario {
    let seconds = FLEET_1T_SECONDS * guests as u64 / FLEET_1T_GUESTS as u64;
    scenario::fleet(guests, seconds)
}

const SIZES: [usize; 3] = [500, 1000, 2000];

/// Guests on one simulated day, for `fleet_day`.
const DAY_SIZES: [usize; 4] = [0, 250, 500, 1000];

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// One run of `s` under `policy` with the heap counted: (result, peak
/// heap bytes above what was live before, allocations, wall seconds).
fn counted_run(s: &Scenario, policy: Policy) -> (sim::RunResult, usize, u64, f64) {
    let base = LIVE_BYTES.load(Ordering::Relaxed);
    PEAK_BYTES.store(base, Ordering::Relaxed);
    let allocs = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    let r = sim::run(s, policy, &Params::default());
    let wall = start.elapsed().as_secs_f64();
    let peak = PEAK_BYTES.load(Ordering::Relaxed).saturating_sub(base);
    (r, peak, ALLOCATIONS.load(Ordering::Relaxed) - allocs, wall)
}

/// The peak resident set of `arcsim run fleet-1t` with `args`, in bytes,
/// as the process reports it (`--stats`: `VmHWM`, the high-water mark of
/// its own address space), and its wall time; `None` if it could not be
/// run or does not know.
///
/// Not `ru_maxrss` from `wait4()`: Linux folds the address space a process
/// had before `exec` into it, and this bench spawns from a process much
/// larger than `arcsim`, so that figure is the bench's own.
fn arcsim_peak_rss(args: &[&str]) -> Option<(u64, f64)> {
    use std::process::{Command, Stdio};
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_arcsim"))
        .args(["run", "fleet-1t", "--stats"])
        .args(args)
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let wall = start.elapsed().as_secs_f64();
    if !out.status.success() {
        return None;
    }
    let err = String::from_utf8(out.stderr).ok()?;
    let kib: u64 = err
        .split("peak resident set ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((kib * 1024, wall))
}

/// Peak memory and outcomes, printed before the timings.
fn memory_report() {
    let day = scenario::builtin("fleet-1t")
        .and_then(Result::ok)
        .unwrap_or_else(|| fleet_of(FLEET_1T_GUESTS));
    println!("fleet-1t: peak live heap of one sim::run (counting allocator)");
    for p in Policy::ALL {
        let (r, peak, allocs, wall) = counted_run(&day, p);
        let started = r.vms.iter().filter(|v| v.started).count();
        println!(
            "  {:<9} peak heap {:>6.2} MiB, {:>7} allocations, {:.3} s wall; \
             {}/{} guests started, {} LWPs swapped, {} pages paged out",
            p.name(),
            mib(peak as u64),
            allocs,
            wall,
            started,
            r.vms.len(),
            r.lwps_swapped,
            r.pages_paged_out
        );
    }
    for n in SIZES {
        let (r, peak, allocs, wall) = counted_run(&fleet_of(n), Policy::Tunables);
        println!(
            "  tunables, {n:>4} guests over {:>6.0} s: peak heap {:>6.2} MiB, {:>7} allocations, \
             {:.3} s wall",
            r.duration_s,
            mib(peak as u64),
            allocs,
            wall
        );
    }
    println!("fleet-1t: peak resident set of a separate arcsim process (its VmHWM)");
    for args in [&["--policy", "tunables"][..], &[][..]] {
        let what = if args.is_empty() {
            "arcsim run fleet-1t (all four policies)".to_string()
        } else {
            format!("arcsim run fleet-1t {}", args.join(" "))
        };
        match arcsim_peak_rss(args) {
            Some((rss, wall)) => {
                println!("  {what}: max RSS {:.2} MiB, {wall:.3} s wall", mib(rss));
            }
            None => println!("  {what}: not measured"),
        }
    }
}

/// A run takes a fraction of a second to a second: 20 samples of the
/// same number of runs each, over 10 s.
fn long_runs(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
}

/// Each policy's run of `fleet-1t`; throughput in simulated seconds.
fn fleet_1t(c: &mut Criterion) {
    let day = fleet_of(FLEET_1T_GUESTS);
    let params = Params::default();
    let mut g = c.benchmark_group("fleet_1t");
    long_runs(&mut g);
    g.throughput(Throughput::Elements(FLEET_1T_SECONDS));
    for p in Policy::ALL {
        g.bench_function(p.name(), |b| {
            b.iter(|| black_box(sim::run(black_box(&day), p, &params)))
        });
    }
    g.finish();
}

/// The project's kernel on fleets of 500, 1000 and 2000 guests at the
/// same density; throughput in guests.
fn fleet_guests(c: &mut Criterion) {
    let params = Params::default();
    let mut g = c.benchmark_group("fleet_guests");
    long_runs(&mut g);
    for n in SIZES {
        let s = fleet_of(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &s, |b, s| {
            b.iter(|| black_box(sim::run(black_box(s), Policy::Tunables, &params)))
        });
    }
    g.finish();
}

/// One simulated day with 0 to 1000 guests: the day's fixed cost, and
/// what each guest adds to it.
fn fleet_day(c: &mut Criterion) {
    let params = Params::default();
    let mut g = c.benchmark_group("fleet_day");
    long_runs(&mut g);
    g.throughput(Throughput::Elements(FLEET_1T_SECONDS));
    for n in DAY_SIZES {
        let s = scenario::fleet(n, FLEET_1T_SECONDS);
        g.bench_with_input(BenchmarkId::from_parameter(n), &s, |b, s| {
            b.iter(|| black_box(sim::run(black_box(s), Policy::Tunables, &params)))
        });
    }
    g.finish();
}

criterion_group!(benches, fleet_1t, fleet_guests, fleet_day);

fn main() {
    // Criterion's test mode (`cargo test --benches`) and `--list` only
    // check that the benches exist; skip the memory runs there.
    let quick = std::env::args().any(|a| a == "--test" || a == "--list");
    if !quick {
        memory_report();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
