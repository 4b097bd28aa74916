//! The component's hot paths, each against a baseline measured in the
//! same run (BENCHMARKS.md at the repository root has the figures, the
//! targets and the machine).
//!
//! Run with `cargo bench -p zfs-tunables --bench hot_paths`.
//!
//! Every routine reads its inputs through `black_box` and returns its
//! result into `black_box`, so the compiler can neither hoist a load out
//! of the loop nor drop a computation; every routine that could take an
//! error path is checked once before it is timed, so the figure is the
//! path the name says. The component runs on the std twin of the platform
//! (`StdPlatform`): its lock is a flag under a std mutex with a condition
//! variable for waiters, which is what the reserve + release figures pay
//! where the kernel would take a `kmutex_t`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{
    ArcTunables, Bytes, Generation, HostMemory, PageSize, Pages, ReleaseOutcome, GIB,
};

fn component() -> ArcTunables<StdPlatform> {
    let ps = PageSize::AMD64;
    let host = HostMemory::new(Bytes(128 * GIB).to_pages_roundup(ps), ps);
    let t = ArcTunables::new(StdPlatform::manual(), host, Generation::Current);
    t.finish_boot();
    t
}

/// Bench 1: what the ARC does on every allocation: read `c`, the
/// effective `c_max` and `c_min`.
fn limits_read(c: &mut Criterion) {
    let t = component();
    let mut g = c.benchmark_group("limits_read");
    g.bench_function("published_atomics", |b| {
        b.iter(|| {
            let p = black_box(&t).published();
            black_box((p.c(), p.c_max(), p.c_min()))
        })
    });
    g.bench_function("snapshot_seqlock", |b| {
        b.iter(|| black_box(black_box(&t).limits()))
    });
    // Baseline: the same three values behind a mutex.
    let m = Mutex::new((64 * GIB, 96 * GIB, GIB));
    g.bench_function("baseline_mutex", |b| {
        b.iter(|| {
            let v = *black_box(&m).lock().unwrap_or_else(|e| e.into_inner());
            black_box(v)
        })
    });
    // Reference (not the baseline): today's arc.c reads plain globals;
    // three plain loads are the floor any published read can reach.
    let plain = (64 * GIB, 96 * GIB, GIB);
    g.bench_function("reference_plain_loads", |b| {
        b.iter(|| {
            let v = black_box(&plain);
            black_box((v.0, v.1, v.2))
        })
    });
    g.finish();
}

/// Bench 2: the headroom term of `arc_available_memory()`, with a
/// reservation pending (the term's working case; with nothing pending it
/// returns at once).
fn headroom_term(c: &mut Criterion) {
    let t = component();
    let _id = t
        .reserve("vmm", Bytes(8 * GIB))
        .expect("a pending reservation, so the term does its arithmetic");
    let (freemem, lotsfree, desfree) = (Pages(1 << 20), Pages(1 << 16), Pages(1 << 15));
    assert_ne!(t.headroom_term(freemem, lotsfree, desfree), i64::MAX);
    let mut g = c.benchmark_group("headroom_term");
    g.bench_function("term", |b| {
        b.iter(|| {
            black_box(black_box(&t).headroom_term(
                black_box(freemem),
                black_box(lotsfree),
                black_box(desfree),
            ))
        })
    });
    // The patched ARC's arc_headroom(): the smaller of the freemem half
    // and the availrmem half.
    let (availrmem, floor) = (Pages(1 << 21), Pages(1 << 14));
    assert_ne!(t.headroom_term_availrmem(availrmem, floor), i64::MAX);
    g.bench_function("both_halves", |b| {
        b.iter(|| {
            let t = black_box(&t);
            black_box(
                t.headroom_term(black_box(freemem), black_box(lotsfree), black_box(desfree))
                    .min(t.headroom_term_availrmem(black_box(availrmem), black_box(floor))),
            )
        })
    });
    // Baseline: illumos's FMR_LOTSFREE term,
    // `PAGESIZE * (freemem - lotsfree - needfree - desfree)`, on the four
    // globals it reads.
    let globals = [
        AtomicU64::new(1 << 20), // freemem
        AtomicU64::new(1 << 16), // lotsfree
        AtomicU64::new(0),       // needfree
        AtomicU64::new(1 << 15), // desfree
    ];
    g.bench_function("baseline_lotsfree_term", |b| {
        b.iter(|| {
            let [f, l, n, d] = black_box(&globals)
                .each_ref()
                .map(|a| a.load(Ordering::Relaxed));
            black_box(4096 * (f as i64 - l as i64 - n as i64 - d as i64))
        })
    });
    g.finish();
}

/// Bench 3: a validated `zfs_arc_max` change, applied and published.
fn arc_max_change(c: &mut Criterion) {
    let t = component();
    let values = [64 * GIB, 96 * GIB];
    for v in values {
        t.set("zfs_arc_max", v)
            .expect("both values are valid, so the timed path is the apply");
    }
    let mut g = c.benchmark_group("arc_max_change");
    let mut flip = 0;
    g.bench_function("validated_set", |b| {
        b.iter(|| {
            // Alternate, so every write changes the value and republishes.
            flip ^= 1;
            black_box(black_box(&t).set("zfs_arc_max", values[flip]).is_ok())
        })
    });
    // Baseline: what `mdb -kw` does today, an unvalidated store nobody
    // reads.
    let raw = AtomicU64::new(0);
    g.bench_function("baseline_raw_store", |b| {
        b.iter(|| {
            flip ^= 1;
            black_box(&raw).store(values[flip], Ordering::SeqCst)
        })
    });
    g.finish();
}

fn reserve_release_once(t: &ArcTunables<StdPlatform>) -> bool {
    match t.reserve("vmm", Bytes(GIB)) {
        Ok(id) => matches!(t.release(id), Ok(ReleaseOutcome::Released { .. })),
        Err(_) => false,
    }
}

fn mutex_round_trips(m: &Mutex<u64>) -> bool {
    *m.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    *m.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
    true
}

/// Bench 4: reserve + release, uncontended and with two threads
/// contending.
fn reserve_release(c: &mut Criterion) {
    let t = component();
    assert!(
        reserve_release_once(&t),
        "the timed path reserves and releases"
    );
    let mut g = c.benchmark_group("reserve_release");
    g.bench_function("uncontended", |b| {
        b.iter(|| black_box(reserve_release_once(black_box(&t))))
    });
    // Baseline: two mutex round trips updating a counter, the least any
    // locked reservation scheme pays (one lock to reserve, one to release).
    let m = Mutex::new(0u64);
    g.bench_function("baseline_mutex_round_trips", |b| {
        b.iter(|| black_box(mutex_round_trips(black_box(&m))))
    });

    // Two threads doing reserve + release at the same time, each `iters`
    // times: the figure is the time one pair takes on a thread while the
    // other thread does the same (wall time over `iters`). Perfect scaling
    // gives the uncontended figure; full serialization twice it.
    let component_time = SchedTime::default();
    g.bench_function("two_threads", |b| {
        b.iter_custom(|iters| two_threads(iters, &t, reserve_release_once, &component_time))
    });
    let mutex_time = SchedTime::default();
    g.bench_function("baseline_two_threads_mutex", |b| {
        b.iter_custom(|iters| two_threads(iters, &m, mutex_round_trips, &mutex_time))
    });
    g.finish();
    component_time.print("reserve_release/two_threads");
    mutex_time.print("reserve_release/baseline_two_threads_mutex");
}

/// Where the two threads' time went, summed over every sample, from
/// Linux's per-thread scheduler statistics: was the contended bench
/// really two threads at once?
#[derive(Default)]
struct SchedTime {
    /// Wall time of the samples, both threads counted (2 × wall).
    wall_ns: AtomicU64,
    /// Time the threads ran on a CPU.
    on_cpu_ns: AtomicU64,
    /// Time they were runnable but waited for a CPU (other load, or each
    /// other on a busy machine).
    runnable_ns: AtomicU64,
}

impl SchedTime {
    fn add(&self, wall: Duration, on_cpu: u64, runnable: u64) {
        let wall = u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX);
        self.wall_ns.fetch_add(2 * wall, Ordering::Relaxed);
        self.on_cpu_ns.fetch_add(on_cpu, Ordering::Relaxed);
        self.runnable_ns.fetch_add(runnable, Ordering::Relaxed);
    }

    fn print(&self, name: &str) {
        let wall = self.wall_ns.load(Ordering::Relaxed);
        if wall == 0 {
            return;
        }
        let pct = |v: u64| 100.0 * v as f64 / wall as f64;
        let on = self.on_cpu_ns.load(Ordering::Relaxed);
        let rq = self.runnable_ns.load(Ordering::Relaxed);
        println!(
            "{name}: of the two threads' time, {:.1}% on a CPU, {:.1}% waiting for a CPU, \
             {:.1}% asleep (blocked on the lock)",
            pct(on),
            pct(rq),
            pct(wall.saturating_sub(on).saturating_sub(rq)),
        );
    }
}

/// This thread's (time on a CPU, time runnable waiting for one), in ns,
/// from `/proc/thread-self/schedstat`; zeros where that file is missing.
fn thread_sched_ns() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut f = text.split_whitespace().map(|v| v.parse().unwrap_or(0));
    (f.next().unwrap_or(0), f.next().unwrap_or(0))
}

/// Runs `op` `iters` times on each of two threads released together;
/// returns the wall time from the first start to the last end.
fn two_threads<S: Sync>(iters: u64, shared: &S, op: fn(&S) -> bool, acct: &SchedTime) -> Duration {
    let barrier = Barrier::new(2);
    let run = || {
        barrier.wait();
        let (cpu0, rq0) = thread_sched_ns();
        let start = Instant::now();
        for _ in 0..iters {
            black_box(op(black_box(shared)));
        }
        let end = Instant::now();
        let (cpu1, rq1) = thread_sched_ns();
        (
            start,
            end,
            cpu1.saturating_sub(cpu0),
            rq1.saturating_sub(rq0),
        )
    };
    let (a, b) = thread::scope(|s| {
        let other = s.spawn(run);
        let mine = run();
        (mine, other.join().unwrap_or(mine))
    });
    let wall = a.1.max(b.1).duration_since(a.0.min(b.0));
    acct.add(wall, a.2 + b.2, a.3 + b.3);
    wall
}

criterion_group! {
    name = benches;
    // 100 samples over 10 s each, after 3 s of warm-up: millions of
    // iterations even for the slowest path.
    config = Criterion::default().measurement_time(Duration::from_secs(10));
    targets = limits_read, headroom_term, arc_max_change, reserve_release
}
criterion_main!(benches);
