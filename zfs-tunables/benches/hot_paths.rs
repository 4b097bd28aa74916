//! The component's hot paths, each against a baseline measured in the
//! same run (see BENCHMARKS.md for the figures and targets).
//!
//! Run with `cargo bench -p zfs-tunables --bench hot_paths`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{ArcTunables, Bytes, Generation, HostMemory, PageSize, Pages, GIB};

fn component() -> ArcTunables<StdPlatform> {
    let ps = PageSize::AMD64;
    let host = HostMemory::new(Bytes(128 * GIB).to_pages_roundup(ps), ps);
    let t = ArcTunables::new(StdPlatform::manual(), host, Generation::Current);
    t.finish_boot();
    t
}

/// Bench 1: what the ARC does on every allocation: read c, c_max and c_min.
fn limits_read(c: &mut Criterion) {
    let t = component();
    let mut g = c.benchmark_group("limits_read");
    g.bench_function("published_atomics", |b| {
        let p = t.published();
        b.iter(|| {
            let c = p.c();
            let max = p.c_max();
            let min = p.c_min();
            black_box((c, max, min))
        })
    });
    g.bench_function("snapshot_seqlock", |b| b.iter(|| black_box(t.limits())));
    // Baseline: the same three values behind a mutex.
    let m = Mutex::new((1u64, 2u64, 3u64));
    g.bench_function("baseline_mutex", |b| {
        b.iter(|| {
            let v = *m.lock().unwrap_or_else(|e| e.into_inner());
            black_box(v)
        })
    });
    g.finish();
}

/// Bench 2: the headroom term of arc_available_memory(), with a reservation
/// pending (the term's working case).
fn headroom_term(c: &mut Criterion) {
    let t = component();
    let _id = t.reserve("vmm", Bytes(8 * GIB));
    let mut g = c.benchmark_group("headroom_term");
    g.bench_function("term", |b| {
        b.iter(|| black_box(t.headroom_term(black_box(Pages(1 << 20)), black_box(Pages(1 << 15)))))
    });
    // Baseline: illumos's existing FMR_LOTSFREE term, plain arithmetic on
    // globals it reads.
    let freemem = AtomicU64::new(1 << 20);
    g.bench_function("baseline_lotsfree_term", |b| {
        b.iter(|| {
            let f = freemem.load(Ordering::Relaxed) as i64;
            black_box(4096 * (f - black_box(1 << 16) - black_box(0) - black_box(1 << 15)))
        })
    });
    g.finish();
}

/// Bench 3: a validated zfs_arc_max change, applied and published.
fn arc_max_change(c: &mut Criterion) {
    let t = component();
    let mut g = c.benchmark_group("arc_max_change");
    let mut flip = false;
    g.bench_function("validated_set", |b| {
        b.iter(|| {
            flip = !flip;
            let v = if flip { 64 * GIB } else { 96 * GIB };
            black_box(t.set("zfs_arc_max", v).is_ok())
        })
    });
    // Baseline: what `mdb -kw` does today, an unvalidated store nobody
    // reads.
    let raw = AtomicU64::new(0);
    g.bench_function("baseline_raw_store", |b| {
        b.iter(|| {
            flip = !flip;
            raw.store(if flip { 64 * GIB } else { 96 * GIB }, Ordering::SeqCst)
        })
    });
    g.finish();
}

/// Bench 4: reserve + release, uncontended and with two threads contending.
fn reserve_release(c: &mut Criterion) {
    let t = Arc::new(component());
    let mut g = c.benchmark_group("reserve_release");
    g.bench_function("uncontended", |b| {
        b.iter(|| {
            let id = t
                .reserve("vmm", Bytes(GIB))
                .unwrap_or(zfs_tunables::ReservationId(0));
            black_box(t.release(id).is_ok())
        })
    });
    // Baseline: one mutex round trip updating a counter, the least any
    // locked reservation scheme pays.
    let m = Mutex::new(0u64);
    g.bench_function("baseline_mutex_counter", |b| {
        b.iter(|| {
            *m.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            *m.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        })
    });
    // Two threads doing reserve + release at once; the time per pair is
    // the wall time over both threads' pairs.
    g.bench_function("two_threads", |b| {
        b.iter_custom(|iters| {
            contended(
                iters,
                |t: &ArcTunables<StdPlatform>| {
                    let id = t
                        .reserve("vmm", Bytes(GIB))
                        .unwrap_or(zfs_tunables::ReservationId(0));
                    black_box(t.release(id).is_ok());
                },
                &t,
            )
        })
    });
    let m = Arc::new(Mutex::new(0u64));
    g.bench_function("baseline_two_threads_mutex", |b| {
        b.iter_custom(|iters| contended_mutex(iters, &m))
    });
    g.finish();
}

fn contended(
    iters: u64,
    f: fn(&ArcTunables<StdPlatform>),
    t: &Arc<ArcTunables<StdPlatform>>,
) -> Duration {
    let per = iters.div_ceil(2);
    let barrier = Arc::new(Barrier::new(2));
    let other = {
        let t = Arc::clone(t);
        let barrier = Arc::clone(&barrier);
        thread::spawn(move || {
            barrier.wait();
            for _ in 0..per {
                f(&t);
            }
        })
    };
    barrier.wait();
    let start = Instant::now();
    for _ in 0..per {
        f(t);
    }
    let _ = other.join();
    start.elapsed()
}

fn contended_mutex(iters: u64, m: &Arc<Mutex<u64>>) -> Duration {
    let per = iters.div_ceil(2);
    let barrier = Arc::new(Barrier::new(2));
    let run = move |m: &Mutex<u64>| {
        for _ in 0..per {
            *m.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            *m.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        }
    };
    let other = {
        let m = Arc::clone(m);
        let barrier = Arc::clone(&barrier);
        thread::spawn(move || {
            barrier.wait();
            run(&m);
        })
    };
    barrier.wait();
    let start = Instant::now();
    run(m);
    let _ = other.join();
    start.elapsed()
}

criterion_group!(
    benches,
    limits_read,
    headroom_term,
    arc_max_change,
    reserve_release
);
criterion_main!(benches);
