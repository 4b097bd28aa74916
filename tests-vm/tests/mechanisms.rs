//! The mechanisms the outcomes rest on, one at a time, on a bare host.

use tests_vm::arc_model;
use tests_vm::machine::{Limits, Machine, Policy};
use tests_vm::params::{Params, GIB, HZ, MIB, PAGESIZE};
use tests_vm::scenario::parse_scenario;
use zfs_tunables::Bytes;

fn host(policy: Policy, arc: &str) -> Machine {
    let s = parse_scenario(
        &format!(
            "[host]\nphysmem = \"128G\"\nkernel = \"16G\"\n[arc]\nsize = \"{arc}\"\n[sim]\nduration = \"600s\"\n"
        ),
        "bare",
    )
    .unwrap();
    let mut m = Machine::new(Params::default(), policy, &s);
    m.finish_boot();
    m
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
    assert_eq!(m.lotsfree, pages / 64);
    assert_eq!(m.desfree, m.lotsfree / 2);
    assert_eq!(m.minfree, 3 * m.desfree / 4);
    assert_eq!(m.throttlefree, m.minfree);
    assert_eq!(m.pageout_reserve, 3 * m.throttlefree / 4);
    assert_eq!(m.swapfs_minfree, 256 * MIB / PAGESIZE);
}

#[test]
fn kmem_reap_is_self_throttling() {
    let mut m = host(Policy::Legacy, "10G");
    m.kmem_reap();
    m.kmem_reap();
    assert_eq!(m.kmem.system_reaps, 1);
    // 16 GiB of Kernel at 192 MiB/s: about 85 s of work, then 15 s.
    run_for(&mut m, 80);
    assert!(m.kmem_cache_reap_active());
    m.kmem_reap();
    assert_eq!(m.kmem.system_reaps, 1);
    run_for(&mut m, 10);
    assert!(!m.kmem_cache_reap_active());
    m.kmem_reap();
    assert_eq!(m.kmem.system_reaps, 1, "within kmem_reap_interval");
    run_for(&mut m, 15);
    m.kmem_reap();
    assert_eq!(m.kmem.system_reaps, 2);
}

#[test]
fn the_reap_callback_does_nothing_while_the_kmem_taskq_is_busy() {
    let mut m = host(Policy::Legacy, "100G");
    let c0 = arc_model::c(&m);
    m.kmem_reap();
    m.needfree_add(16 * GIB / PAGESIZE);
    run_for(&mut m, 30);
    assert_eq!(
        arc_model::c(&m),
        c0,
        "c is not cut while the taskq has work"
    );
    // When the system-wide reap is over, the callback cuts c by at least
    // needfree.
    run_for(&mut m, 70);
    assert!(
        arc_model::c(&m) <= c0 - 16 * GIB,
        "{}",
        arc_model::c(&m) / GIB
    );
}

#[test]
fn evicted_buffers_stay_zfs_file_data_until_reaped() {
    let mut m = host(Policy::Legacy, "100G");
    let free0 = m.freemem();
    let zfs0 = m.zfs_pages();
    // Lower c without pressure: the adjust thread evicts, nobody reaps.
    arc_model::arc_reduce_target_size(&mut m, 50 * GIB);
    run_for(&mut m, 30);
    assert!(m.arc.size <= 51 * GIB);
    assert_eq!(m.zfs_pages(), zfs0, "the pages are in kmem magazines");
    assert_eq!(m.freemem(), free0);
    m.kmem_cache_reap_soon();
    run_for(&mut m, 5);
    assert!(m.freemem() >= free0 + 49 * GIB / PAGESIZE);
}

#[test]
fn tunables_reaps_once_after_a_lowered_ceiling_is_evicted() {
    let mut m = host(Policy::Tunables, "100G");
    let Limits::Tunables(t) = &m.limits else {
        panic!("not the tunables kernel");
    };
    let t = t.clone();
    // A 60 GiB reservation, allocated at once (no headroom pending, so no
    // memory pressure): the ceiling drops below the ARC's size.
    let id = t.reserve("test", Bytes(60 * GIB)).unwrap();
    t.mark_allocated(id, Bytes(60 * GIB)).unwrap();
    let c = arc_model::c(&m);
    let to_evict = m.arc.size - c;
    assert!(to_evict > 30 * GIB, "{}", to_evict / GIB);
    let free0 = m.freemem();
    assert!(arc_model::arc_available_memory(&m) > 0, "no pressure");
    // Eviction (about 1.7 s at 20 GiB/s) is under way: nothing is reaped
    // yet, the request waits for it.
    run_for(&mut m, 1);
    assert!(m.arc.adjust_needed);
    assert!(m.arc.tunables_reap_wanted);
    assert!(m.kmem.depot > 0);
    assert_eq!(m.freemem(), free0);
    // Once it is done, the next check reaps once, and c stays.
    run_for(&mut m, 4);
    assert_eq!(m.arc.size, c);
    assert!(!m.arc.tunables_reap_wanted);
    assert_eq!(m.kmem.depot, 0);
    assert_eq!(m.freemem(), free0 + to_evict / PAGESIZE);
    assert_eq!(arc_model::c(&m), c, "the reap does not cut c");
}

#[test]
fn os8005_compares_pages_with_bytes() {
    let mut m = host(Policy::Os8005, "10G");
    // 100 TiB of guest: 2^35 pages, fewer than c_max's bytes.
    let pages = 100 * 1024 * GIB / PAGESIZE;
    assert!(arc_model::arc_virt_machine_reserve(&mut m, pages).is_ok());
    // Refused only once the page count itself passes c_max in bytes.
    let too_many = arc_model::c_max(&m);
    assert!(arc_model::arc_virt_machine_reserve(&mut m, too_many).is_err());
}

#[test]
fn os8005_counts_a_running_guest_twice() {
    let mut m = host(Policy::Os8005, "10G");
    let free_before = arc_model::arc_available_memory(&m);
    // A 32 GiB guest reserved and allocated: its pages leave availrmem
    // and stay in arc_virt_machine_reserved.
    let pages = 32 * GIB / PAGESIZE;
    arc_model::arc_virt_machine_reserve(&mut m, pages).unwrap();
    m.take_free(pages);
    m.vmm += pages;
    let free_after = arc_model::arc_available_memory(&m);
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
    let c = arc_model::c(&m);
    m.arc.size = c + (c >> 3) - 1;
    assert!(!arc_model::arc_is_overflowing(&m));
    m.arc.size = c + (c >> 3);
    assert!(arc_model::arc_is_overflowing(&m));
}

#[test]
fn a_full_arc_sheds_only_what_cached_dbufs_do_not_pin() {
    let mut m = host(Policy::Legacy, "100G");
    arc_model::arc_reduce_target_size(&mut m, u64::MAX / 2);
    run_for(&mut m, 30);
    let pinned = arc_model::pinned(&m);
    assert_eq!(m.arc.size, pinned);
    // dbuf_cache_max_bytes + dbuf_metadata_cache_max_bytes of c_max.
    let c_max = arc_model::c_max(&m);
    assert_eq!(pinned, (c_max >> 5) + (c_max >> 6));
}
