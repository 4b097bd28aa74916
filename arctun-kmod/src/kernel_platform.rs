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
//! | `arc_size`      | the ARC's `aao_size` callback (0 before it registers)|
//! | `kick_evictor`  | the ARC's `aao_evict` callback (nothing before)     |
//! | `enter_write_section`/`exit_write_section` | `kpreempt_disable()`/`kpreempt_enable()` ([`preempt`](crate::preempt)) |

use core::ptr::{self, addr_of};

use illumos_ddi::hrtime_t;
use illumos_ddi::kernel::{
    desfree, freemem, gethrtime, heap_arena, lotsfree, physmem, swapfs_minfree, vmem_size,
};
use illumos_ddi::{VMEM_ALLOC, VMEM_FREE};
use zfs_tunables::{Bytes, Generation, HostMemory, Hrtime, MemoryFigures, PageSize, Pages};

/// Which `arc_init()` this module reproduces: the patches target
/// illumos-joyent of 2021 (`c_min = MAX(allmem/32, 64 MiB)`, raised to
/// `arc_meta_limit/2`, clamped to 1 GiB). A port to current illumos
/// changes this constant together with the `arc.c` patch.
pub const ARC_GENERATION: Generation = Generation::Y2021;

/// amd64's `PAGESIZE`. bhyve, and so this module, exists only there.
pub const PAGE_SIZE: PageSize = PageSize::AMD64;

/// The ARC's callbacks (`aao_size`, `aao_evict`).
#[derive(Clone, Copy)]
pub struct ArcCallbacks {
    /// `aggsum_value(&arc_size)`.
    pub size: unsafe extern "C" fn() -> u64,
    /// Starts eviction now.
    pub evict: unsafe extern "C" fn(),
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
