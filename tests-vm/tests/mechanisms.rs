//! The mechanisms the outcomes rest on, one at a time, on a bare host.

use std::sync::Arc;

use tests_vm::arc_model::limits::{host_memory, tunables_generation, StockLimits, TunablesLimits};
use tests_vm::arc_model::ArcModel;
use tests_vm::host::memory::swapfs_minfree;
use tests_vm::machine::Machine;
use tests_vm::params::{btopr, Params, GIB, HZ, MIB, PAGESIZE};
use tests_vm::platform::SimPlatform;
use tests_vm::policy::tunables::Component;
use tests_vm::policy::Policy;
use tests_vm::scenario::parse_scenario;
use zfs_tunables::arc_limits::AdminValues;
use zfs_tunables::{ArcTunables, Bytes};

/// A bare 128 GiB host booted with `policy`'s ARC of `arc` bytes, and the
/// component if the kernel has one.
fn host_and_component(policy: Policy, arc: &str) -> (Machine, Option<Component>) {
    let s = parse_scenario(
        &format!(
            "[host]\nphysmem = \"128G\"\nkernel = \"16G\"\n[arc]\nsize = \"{arc}\"\n[sim]\nduration = \"600s\"\n"
        ),
        "bare",
    )
    .unwrap();
    let physmem = btopr(s.host.physmem);
    let host = host_memory(physmem, swapfs_minfree(physmem));
    let gen = s.host.generation;
    let (arc, component) = match policy {
        Policy::Tunables => {
            let t = Arc::new(ArcTunables::new(
                SimPlatform::new(),
                host,
                tunables_generation(gen),
            ));
            let p = Params::default();
            let limits = Box::new(TunablesLimits::new(
                Arc::clone(&t),
                p.arc_pages_pp_reserve,
                p.paced_cut,
            ));
            (ArcModel::new(limits, s.arcfill), Some(t))
        }
        _ => {
            let limits = Box::new(StockLimits::arc_init(&host, gen, &AdminValues::default()));
            let arc = ArcModel::new(limits, s.arcfill);
            let arc = if policy == Policy::Os8005 {
                arc.with_virt_machine_reserve()
            } else {
                arc
            };
            (arc, None)
        }
    };
    let mut m = Machine::new(Params::default(), &s, arc);
    m.finish_boot();
    (m, component)
}

fn host(policy: Policy, arc: &str) -> Machine {
    host_and_component(policy, arc).0
}

fn run_for(m: &mut Machine, secs: u64) {
    for _ in 0..secs * HZ {
        m.tick();
    }
}

#[test]
fn setupclock_thresholds_of_a_128g_host() {
    let m = host(Policy::Legacy, "10G");
    let pages = (128 * GIB) / PAGESIZE;
    assert_eq!(m.thr.lotsfree, pages / 64);
    assert_eq!(m.thr.desfree, m.thr.lotsfree / 2);
    assert_eq!(m.thr.minfree, 3 * m.thr.desfree / 4);
    assert_eq!(m.thr.throttlefree, m.thr.minfree);
    assert_eq!(m.thr.pageout_reserve, 3 * m.thr.throttlefree / 4);
    assert_eq!(m.thr.swapfs_minfree, 256 * MIB / PAGESIZE);
}

#[test]
fn kmem_reap_is_self_throttling() {
    let mut m = host(Policy::Legacy, "10G");
    m.kmem_reap();
    m.kmem_reap();
    assert_eq!(m.kmem.system_reaps, 1);
    // 16 GiB of Kernel at 192 MiB/s: about 85 s of work, then 15 s.
    run_for(&mut m, 80);
    assert!(m.kmem.cache_reap_active());
    m.kmem_reap();
    assert_eq!(m.kmem.system_reaps, 1);
    run_for(&mut m, 10);
    assert!(!m.kmem.cache_reap_active());
    m.kmem_reap();
    assert_eq!(m.kmem.system_reaps, 1, "within kmem_reap_interval");
    run_for(&mut m, 15);
    m.kmem_reap();
    assert_eq!(m.kmem.system_reaps, 2);
}

#[test]
fn the_reap_callback_does_nothing_while_the_kmem_taskq_is_busy() {
    let mut m = host(Policy::Legacy, "100G");
    let c0 = m.arc.c();
    m.kmem_reap();
    m.mem.needfree_add(16 * GIB / PAGESIZE);
    run_for(&mut m, 30);
    assert_eq!(m.arc.c(), c0, "c is not cut while the taskq has work");
    // When the system-wide reap is over, the callback cuts c by at least
    // needfree.
    run_for(&mut m, 70);
    assert!(m.arc.c() <= c0 - 16 * GIB, "{}", m.arc.c() / GIB);
}

#[test]
fn evicted_buffers_stay_zfs_file_data_until_reaped() {
    let mut m = host(Policy::Legacy, "100G");
    let free0 = m.mem.freemem();
    let zfs0 = m.mem.zfs_pages();
    // Lower c without pressure: the adjust thread evicts, nobody reaps.
    m.arc.reduce_target_size(50 * GIB, &m.mem, &m.p);
    run_for(&mut m, 30);
    assert!(m.mem.arc_size <= 51 * GIB);
    assert_eq!(m.mem.zfs_pages(), zfs0, "the pages are in kmem magazines");
    assert_eq!(m.mem.freemem(), free0);
    m.kmem.cache_reap_soon(m.mem.arc_depot);
    run_for(&mut m, 5);
    assert!(m.mem.freemem() >= free0 + 49 * GIB / PAGESIZE);
}

#[test]
fn tunables_reaps_once_after_a_lowered_ceiling_is_evicted() {
    let (mut m, t) = host_and_component(Policy::Tunables, "100G");
    let t = t.expect("the tunables kernel has the component");
    // A 60 GiB reservation, allocated at once (no headroom pending, so no
    // memory pressure): the ceiling drops below the ARC's size.
    let id = t.reserve("test", Bytes(60 * GIB)).unwrap();
    t.mark_allocated(id, Bytes(60 * GIB)).unwrap();
    let c = m.arc.c();
    let to_evict = m.mem.arc_size - c;
    assert!(to_evict > 30 * GIB, "{}", to_evict / GIB);
    let free0 = m.mem.freemem();
    assert!(m.arc_available_memory() > 0, "no pressure");
    // Eviction (about 1.7 s at 20 GiB/s) is under way: nothing is reaped
    // yet, the request waits for it.
    run_for(&mut m, 1);
    assert!(m.arc.adjust_needed);
    assert!(m.arc.tunables_reap_wanted);
    assert!(m.mem.arc_depot > 0);
    assert_eq!(m.mem.freemem(), free0);
    // Once it is done, the next check reaps once, and c stays.
    run_for(&mut m, 4);
    assert_eq!(m.mem.arc_size, c);
    assert!(!m.arc.tunables_reap_wanted);
    assert_eq!(m.mem.arc_depot, 0);
    assert_eq!(m.mem.freemem(), free0 + to_evict / PAGESIZE);
    assert_eq!(m.arc.c(), c, "the reap does not cut c");
}

#[test]
fn os8005_compares_pages_with_bytes() {
    let mut m = host(Policy::Os8005, "10G");
    // 100 TiB of guest: 2^35 pages, fewer than c_max's bytes.
    let pages = 100 * 1024 * GIB / PAGESIZE;
    assert!(m.arc.virt_machine_reserve(pages).is_ok());
    // Refused only once the page count itself passes c_max in bytes.
    let too_many = m.arc.c_max();
    assert!(m.arc.virt_machine_reserve(too_many).is_err());
}

#[test]
fn os8005_counts_a_running_guest_twice() {
    let mut m = host(Policy::Os8005, "10G");
    let free_before = m.arc_available_memory();
    // A 32 GiB guest reserved and allocated: its pages leave availrmem
    // and stay in arc_virt_machine_reserved.
    let pages = 32 * GIB / PAGESIZE;
    m.arc.virt_machine_reserve(pages).unwrap();
    m.mem.take_free(pages);
    m.mem.vmm += pages;
    let free_after = m.arc_available_memory();
    assert!(
        free_before - free_after >= i64::try_from(60 * GIB).unwrap(),
        "{} -> {}",
        free_before,
        free_after
    );
}

#[test]
fn overflow_band_is_the_larger_of_a_block_and_an_eighth_of_c() {
    let mut m = host(Policy::Legacy, "8G");
    let c = m.arc.c();
    m.mem.arc_size = c + (c >> 3) - 1;
    assert!(!m.arc.is_overflowing(&m.mem, &m.thr, &m.p));
    m.mem.arc_size = c + (c >> 3);
    assert!(m.arc.is_overflowing(&m.mem, &m.thr, &m.p));
}

#[test]
fn a_full_arc_sheds_only_what_cached_dbufs_do_not_pin() {
    let mut m = host(Policy::Legacy, "100G");
    m.arc.reduce_target_size(u64::MAX / 2, &m.mem, &m.p);
    run_for(&mut m, 30);
    let pinned = m.arc.pinned(&m.mem);
    assert_eq!(m.mem.arc_size, pinned);
    // dbuf_cache_max_bytes of c_max: the reads that filled the ARC filled
    // the dbuf cache; the metadata dbuf cache holds only the dataset
    // hierarchy's objects.
    let c_max = m.arc.c_max();
    assert_eq!(pinned, c_max >> 5);
}

/// The dbuf cache holds what reads put in it, up to `dbuf_cache_max_bytes`:
/// an ARC smaller than that limit pins all of itself, a reader fills the
/// cache to the limit as the ARC grows and no further, and a full ARC
/// then sheds down to what the cache holds.
#[test]
fn the_dbuf_cache_holds_what_reads_put_in_it_up_to_its_limit() {
    let mut m = host(Policy::Legacy, "2G");
    let limit = m.arc.c_max() >> 5;
    assert!(
        limit > 2 * GIB,
        "the premise: the limit is above the ARC's size"
    );
    assert_eq!(m.arc.dbuf_cached, m.mem.arc_size);
    // A reader missing 256 MiB/s: the ARC grows once arc_grow_retry has
    // passed, and the cache with it.
    let _ = m.arc.set_arcfill(m.now, 256 * MIB);
    run_for(&mut m, 300);
    assert!(m.mem.arc_size > 2 * limit, "{}", m.mem.arc_size);
    assert_eq!(m.arc.dbuf_cached, limit);
    let _ = m.arc.set_arcfill(m.now, 0);
    m.arc.reduce_target_size(u64::MAX / 2, &m.mem, &m.p);
    run_for(&mut m, 30);
    assert_eq!(m.mem.arc_size, limit);
}
