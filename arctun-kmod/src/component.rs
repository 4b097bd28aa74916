//! The component in static storage, and the module's lifecycle entry
//! points (`arctun_mod_init`, `arctun_mod_busy`, `arctun_mod_fini`).
//!
//! The component (`ArcTunables<KernelPlatform>`, about 50 KB) is a static
//! built at compile time by `ArcTunables::unconfigured`, so it lives in
//! the module's data section: built at run time it would pass through the
//! stack, and illumos kernel stacks are 20 KB. `arctun_mod_init()`, from
//! the module's `_init()`, configures it in place for this host and then
//! publishes a flag with release ordering; every entry point loads the flag
//! with acquire ordering first and answers `ENXIO` (or a neutral value, for
//! the ARC's hot-path reads) when it is clear. `_fini()` runs only once the
//! module framework has unloaded every dependent (`zfs`, `vmm`), so no
//! entry point can race with teardown; the flag guards against a
//! misbehaving caller, it is not a lock.
//!
//! Each load of the module gets fresh static storage, so the component is
//! configured once per load: `arctun_mod_init()` after `arctun_mod_fini()`
//! in the same load (which only a userland test can do) is `EBUSY`.

use core::cell::UnsafeCell;
use core::ptr::{addr_of, read_volatile};

use illumos_ddi::c_int;
use illumos_ddi::kernel::{heap_arena, physmem, swapfs_minfree, vmem_size};
use illumos_ddi::{VMEM_ALLOC, VMEM_FREE};
use zfs_tunables::sync::{AtomicBool, Ordering};
use zfs_tunables::{ArcTunables, Bytes, Generation, HostMemory, PageSize, Pages, TunableError};

use crate::kernel_platform::{KernelPlatform, CALLBACK_LOCK, COMPONENT_LOCK, PROGRESS_CV};
use crate::raw_vars::ADMIN_LOCK;
use crate::vmm_entry::VMM_TABLE_LOCK;
use crate::{arc_entry, messages, vmm_entry, KmodError};

/// The component as the kernel runs it.
pub type Component = ArcTunables<KernelPlatform>;

/// Which `arc_init()` this module reproduces: the patches target
/// illumos-joyent of 2021 (`c_min = MAX(allmem/32, 64 MiB)`, raised to
/// `arc_meta_limit/2`, clamped to 1 GiB). A port to current illumos
/// changes this constant together with the `arc.c` patch.
pub const ARC_GENERATION: Generation = Generation::Y2021;

/// amd64's `PAGESIZE`. bhyve, and so this module, exists only there.
pub const PAGE_SIZE: PageSize = PageSize::AMD64;

struct ComponentSlot {
    ready: AtomicBool,
    component: UnsafeCell<Component>,
}

// SAFETY: `component` is mutated only by arctun_mod_init() (configure,
// before `ready` is set with release ordering, while nothing else runs in
// the module); otherwise it is only shared, and the component is Sync.
unsafe impl Sync for ComponentSlot {}

static SLOT: ComponentSlot = ComponentSlot {
    ready: AtomicBool::new(false),
    component: UnsafeCell::new(ArcTunables::unconfigured(KernelPlatform)),
};

/// The component, once `arctun_mod_init()` has built it.
pub fn component() -> Result<&'static Component, KmodError> {
    if SLOT.ready.load(Ordering::Acquire) {
        // SAFETY: `ready` is set, with release ordering that this acquire
        // load pairs with, only after the last mutation of the component;
        // from then on it is only shared.
        Ok(unsafe { &*SLOT.component.get() })
    } else {
        Err(KmodError::NotInitialized)
    }
}

/// The host's memory as `arc_init()` reads it: `physmem`,
/// `swapfs_minfree`, and half the kernel heap as a bound on
/// `arc_meta_limit`.
fn host_memory() -> HostMemory {
    // SAFETY: kernel globals, always mapped; volatile loads of aligned
    // words. heap_arena is set up long before any module loads, and
    // vmem_size() only reads the arena's statistics.
    let (phys, minfree, heap) = unsafe {
        (
            read_volatile(addr_of!(physmem)),
            read_volatile(addr_of!(swapfs_minfree)),
            vmem_size(read_volatile(addr_of!(heap_arena)), VMEM_ALLOC | VMEM_FREE),
        )
    };
    HostMemory {
        physmem: Pages(phys),
        swapfs_minfree: Pages(minfree),
        page_size: PAGE_SIZE,
        heap: Some(Bytes(heap)),
    }
}

fn mod_init() -> Result<(), KmodError> {
    if SLOT.ready.load(Ordering::Acquire) {
        return Err(KmodError::AlreadyInitialized);
    }
    // SAFETY: the module is being loaded (or, in a userland test, was torn
    // down): nothing else runs in it, so the locks are neither initialized
    // nor in use, and no reference to the component exists.
    let configured = unsafe {
        COMPONENT_LOCK.init();
        PROGRESS_CV.init();
        CALLBACK_LOCK.init();
        ADMIN_LOCK.init();
        VMM_TABLE_LOCK.init();
        (*SLOT.component.get()).configure(host_memory(), ARC_GENERATION)
    };
    if let Err(e) = configured {
        // SAFETY: initialized just above and unused since.
        unsafe { destroy_locks() };
        return Err(match e {
            TunableError::Duplicate => KmodError::AlreadyInitialized,
            e => KmodError::Tunable(e),
        });
    }
    SLOT.ready.store(true, Ordering::Release);
    Ok(())
}

/// Destroys the module's locks.
///
/// # Safety
///
/// They are initialized, free, and nobody will use them again before
/// the next `arctun_mod_init()`.
unsafe fn destroy_locks() {
    // SAFETY: per the contract.
    unsafe {
        VMM_TABLE_LOCK.destroy();
        ADMIN_LOCK.destroy();
        CALLBACK_LOCK.destroy();
        PROGRESS_CV.destroy();
        COMPONENT_LOCK.destroy();
    }
}

/// Initializes the module: its locks and the component. From `_init()`.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_mod_init() -> c_int {
    match mod_init() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

fn busy() -> bool {
    let Ok(c) = component() else {
        return false;
    };
    arc_entry::arc_registered()
        || vmm_entry::vmm_registered()
        || c.headroom_stats().reservations > 0
}

/// Non-zero while the module must not be unloaded: the ARC or vmm is
/// registered, or a reservation is live. From `_fini()`.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_mod_busy() -> c_int {
    c_int::from(busy())
}

/// Tears the module down. From `_fini()`, after `arctun_mod_busy()`
/// returned 0 and `mod_remove()` succeeded.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_mod_fini() {
    if !SLOT.ready.load(Ordering::Acquire) {
        return;
    }
    if busy() {
        // The caller broke the contract; tearing down now would leave
        // registered clients with dangling state. Keep everything.
        messages::warn(format_args!(
            "arctun_mod_fini() called while the module is in use; ignored"
        ));
        return;
    }
    SLOT.ready.store(false, Ordering::Release);
    // SAFETY: nothing can reach the locks any more: `ready` is clear and
    // the framework has unloaded every dependent. They are free (nothing
    // holds them outside an entry point) and nobody waits on the condition
    // variable (waiters hold reservations, and there are none).
    unsafe { destroy_locks() };
}
