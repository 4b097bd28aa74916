//! What the module reads from the kernel: the clock, the free-memory
//! figures, the host's memory as `arc_init()` sees it, and the shape of the
//! ARC's callbacks.
//!
//! The kernel's side of zfs-tunables' [`Platform`](zfs_tunables::Platform)
//! is [`state::KernelPlatform`](crate::state::KernelPlatform), beside the
//! locks it takes; it calls these for everything else:
//!
//! | `Platform`      | in the kernel                                       |
//! |-----------------|-----------------------------------------------------|
//! | `lock`/`unlock` | `mutex_enter`/`mutex_exit` of the component lock    |
//! | `try_lock`      | `mutex_tryenter`                                    |
//! | `wait`          | `cv_timedwait_sig_hrtime` on the progress condvar   |
//! | `broadcast`     | `cv_broadcast`                                      |
//! | `now`           | [`now`]: `gethrtime()`                              |
//! | `memory`        | [`memory`]: volatile loads of `freemem`, `lotsfree`, `desfree` |
//! | `admission_figures` | the ARC's `aao_admission` callback (`None` without one), and [`admission_figures`]: `availrmem`, `pages_pp_maximum` |
//! | `arc_size`      | the ARC's `aao_size` callback (0 before it registers)|
//! | `kick_evictor`  | the ARC's `aao_evict` callback (nothing before)     |
//! | `enter_write_section`/`exit_write_section` | `kpreempt_disable()`/`kpreempt_enable()` ([`preempt`](crate::preempt)) |

use core::ptr::{self, addr_of};

use illumos_ddi::hrtime_t;
use illumos_ddi::kernel::{
    availrmem, desfree, freemem, gethrtime, heap_arena, lotsfree, pages_pp_maximum, physmem,
    swapfs_minfree, vmem_size,
};
use illumos_ddi::{VMEM_ALLOC, VMEM_FREE};
use zfs_tunables::{
    AdmissionFigures, Bytes, Generation, HostMemory, Hrtime, MemoryFigures, PageSize, Pages,
};

/// Which `arc_init()` this module reproduces: the patches target
/// illumos-joyent of 2021 (`c_min = MAX(allmem/32, 64 MiB)`, raised to
/// `arc_meta_limit/2`, clamped to 1 GiB). A port to current illumos
/// changes this constant together with the `arc.c` patch.
pub const ARC_GENERATION: Generation = Generation::Y2021;

/// amd64's `PAGESIZE`. bhyve, and so this module, exists only there.
pub const PAGE_SIZE: PageSize = PageSize::AMD64;

/// `arctun_admission_t`: the ARC's figures for a reservation's admission.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct arctun_admission_t {
    /// Bytes eviction could free now (the MRU's and MFU's `arcs_esize`).
    pub aad_evictable: u64,
    /// Bytes evicted that wait in the ARC's kmem caches' depots.
    pub aad_evicted_cached: u64,
    /// Pages of `availrmem` the ARC keeps above `pages_pp_maximum`
    /// (`arc_pages_pp_reserve`).
    pub aad_pp_reserve: u64,
}

const _: () = assert!(core::mem::size_of::<arctun_admission_t>() == 24);

/// The ARC's callbacks (`aao_size`, `aao_evict`, and, from ops version 2
/// on, `aao_admission` unless it is NULL).
#[derive(Clone, Copy)]
pub struct ArcCallbacks {
    /// `aggsum_value(&arc_size)`.
    pub size: unsafe extern "C" fn() -> u64,
    /// Starts eviction now.
    pub evict: unsafe extern "C" fn(),
    /// Fills in the ARC's admission figures.
    pub admission: Option<unsafe extern "C" fn(*mut arctun_admission_t)>,
}

/// Converts an absolute deadline to `cv_timedwait_sig_hrtime()`'s `tim`:
/// -1 ("no timeout") when it does not fit a positive `hrtime_t`.
pub fn deadline_to_hrtime(deadline: Hrtime) -> hrtime_t {
    hrtime_t::try_from(deadline.0).unwrap_or(-1)
}

/// `gethrtime()`, which is monotonic.
pub fn now() -> Hrtime {
    // SAFETY: gethrtime() has no preconditions.
    let t = unsafe { gethrtime() };
    Hrtime(u64::try_from(t).unwrap_or(0))
}

/// `freemem`, `lotsfree` and `desfree`.
pub fn memory() -> MemoryFigures {
    // SAFETY: the kernel's globals are always mapped; a volatile load
    // of a naturally aligned word reads one whole value.
    let (free, lots, des) = unsafe {
        (
            ptr::read_volatile(addr_of!(freemem)),
            ptr::read_volatile(addr_of!(lotsfree)),
            ptr::read_volatile(addr_of!(desfree)),
        )
    };
    MemoryFigures {
        freemem: Pages(free),
        lotsfree: Pages(lots),
        desfree: Pages(des),
    }
}

/// A reservation's admission figures: the ARC's, with `availrmem` and
/// `pages_pp_maximum` read here. The floor is `pages_pp_maximum +
/// arc_pages_pp_reserve`, below which `arc_available_memory()`'s
/// `FMR_PAGES_PP_MAXIMUM` term shrinks the ARC and page locking fails.
pub fn admission_figures(arc: arctun_admission_t) -> AdmissionFigures {
    // SAFETY: as in `memory`.
    let (avail, pp_max) = unsafe {
        (
            ptr::read_volatile(addr_of!(availrmem)),
            ptr::read_volatile(addr_of!(pages_pp_maximum)),
        )
    };
    AdmissionFigures {
        availrmem: Pages(avail),
        availrmem_floor: Pages(pp_max.saturating_add(arc.aad_pp_reserve)),
        arc_evictable: Bytes(arc.aad_evictable),
        arc_evicted_cached: Bytes(arc.aad_evicted_cached),
    }
}

/// The host's memory as `arc_init()` reads it: `physmem`,
/// `swapfs_minfree`, and half the kernel heap as a bound on
/// `arc_meta_limit`.
pub fn host_memory() -> HostMemory {
    // SAFETY: kernel globals, always mapped; volatile loads of aligned
    // words. heap_arena is set up long before any module loads, and
    // vmem_size() only reads the arena's statistics.
    let (phys, minfree, heap) = unsafe {
        (
            ptr::read_volatile(addr_of!(physmem)),
            ptr::read_volatile(addr_of!(swapfs_minfree)),
            vmem_size(
                ptr::read_volatile(addr_of!(heap_arena)),
                VMEM_ALLOC | VMEM_FREE,
            ),
        )
    };
    HostMemory {
        physmem: Pages(phys),
        swapfs_minfree: Pages(minfree),
        page_size: PAGE_SIZE,
        heap: Some(Bytes(heap)),
    }
}
