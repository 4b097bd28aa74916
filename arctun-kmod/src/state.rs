//! The module's state: every static, every lock and condition variable,
//! and the registration flags, behind functions that take the locks in
//! the module's one order.
//!
//! # Locks
//!
//! Four adaptive mutexes and one condition variable, all statics of this
//! file, initialized by `arctun_mod_init()` and destroyed by
//! `arctun_mod_fini()`. Each has a number, its place in the order
//! ([`Rank`]):
//!
//! | # | lock | protects |
//! |---|------|----------|
//! | 1 | admin lock | the raw-variable table (each bound C variable and the value last applied from it) and the variables each client registered; it is `ks_lock` of the module's three kstats, so it also serializes their `ks_update` calls and guards their `ks_data` buffers and handles |
//! | 2 | instance table lock | vmm-client's instance table: the instances, their segments and the ids of their reservations, and the `vmm:0:arc_resv` counters; the headroom owners' table ([`owners`](crate::owners): the VMM reservoir's committed headroom, its growth in flight, its counters) |
//! | 3 | component lock | the component's state: the tunables registry, the limits and the headroom reservations. The progress condition variable is waited on with it: a guest's segment sleeps there until free memory covers it |
//! | 4 | callback lock | the ARC's callbacks (`aao_size`, `aao_evict`, `aao_admission`), held while one runs, so that `arctun_arc_unregister()` returns only once none runs or will |
//!
//! No lock guards the published limits (single atomics and a sequence
//! lock, whose write sections run with preemption disabled), the
//! tunables' values (atomics), the registration flags below, or the time
//! of the next tick (compare-and-swap): the ARC reads them from any
//! context.
//!
//! # Lock order
//!
//! A thread takes a lock only while every lock it holds is above it in
//! this list:
//!
//! ```text
//!   held by callers, never taken under any of ours:
//!      the reap zthr's zthr_state_lock    arc_reap_cb_check() runs the tick
//!      a kstat hold (kstat_hold())         the kstat driver, around ks_lock
//!      vmm's vmmdev_mtx, then vmm_mtx      around vm_create(), vm_destroy()
//!                                          and vmm's (un)registration
//!   ours:
//!   1  admin lock                          ks_lock of our kstats
//!   2  instance table lock
//!   3  component lock                      with the progress condvar
//!   4  callback lock
//!   taken by the ARC's callbacks under ours:
//!      aao_evict:     arc_size's aggsum locks; while the headroom term
//!                     shows a deficit, each ARC kmem cache's kstat lock,
//!                     depot lock and CPU cache locks (kmem_cache_stat());
//!                     arc_adjust_lock, then the adjust zthr's
//!                     zthr_state_lock
//!      aao_size:      arc_size's aggsum locks
//!      aao_admission: each ARC kmem cache's kstat lock, depot lock and
//!                     CPU cache locks (kmem_cache_stat())
//! ```
//!
//! Each step, and where it is taken:
//!
//! - reap zthr, then admin: `arctun_arc_tick()` runs in
//!   `arc_reap_cb_check()`, which a zthr calls with its `zthr_state_lock`
//!   held, and takes the admin lock for its pass over the raw variables.
//! - kstat hold, then admin: the kstat driver holds a kstat while it
//!   takes `ks_lock` and runs `ks_update`; so the module calls
//!   `kstat_install()` and `kstat_delete()`, which waits for holders,
//!   without the admin lock.
//! - vmm's locks, then ours: `vmmdev_do_vm_create()` and
//!   `vmm_do_vm_destroy_locked()` hold `vmmdev_mtx` and `vmm_mtx` around
//!   `vm_create()` and `vm_destroy()` (instance create and destroy: the
//!   table, the component), and `vmmdev_mod_incr()` and
//!   `vmmdev_mod_decr()` hold `vmmdev_mtx` around `vmm_mod_load()` and
//!   `vmm_mod_unload()` (vmm's registration: the admin lock for its
//!   variable and kstat, the component lock for its tunable).
//! - admin, then instance table: `vmm:0:arc_resv`'s update reads the
//!   table's counters under `ks_lock`.
//! - admin, then component: the tick and a `zfs:0:tunables` write apply
//!   values with the admin lock held; every kstat read takes the
//!   component's figures.
//! - instance table, then component: a segment's reservation is made,
//!   and an instance's returned, with the table lock held; an owner's
//!   growth is reserved, committed or released, and its shrink returned,
//!   with the table lock held (the growth's wait holds neither). An
//!   owner's kstat reads the table under `ks_lock`, as `vmm:0:arc_resv`
//!   does.
//! - component, then callback: a write that lowers the ceiling reads the
//!   ARC's size and kicks its evictor with the component lock held, and a
//!   reservation's admission (and a `zfs:0:arc_headroom` read, for
//!   `available_now`) asks the ARC for its size and admission figures
//!   with it held. A reservation kicks the evictor after releasing the
//!   component lock, and the
//!   ARC's registration installs and removes the callbacks, so the
//!   callback lock is also taken with nothing else held.
//! - callback, then the ARC's locks: `arc_tunables_evict()` reads the
//!   ARC's size (the aggsum's locks) and, while the headroom term shows a
//!   deficit, its kmem caches' depots (`kmem_cache_stat()`, as
//!   `arc_tunables_admission()` does) for the headroom cut, lowers `c` by
//!   it through `arc_reduce_target_size()` (the lock-free
//!   `arctun_arc_reduce_target()`, then `arc_adjust_lock` and a wakeup of
//!   the adjust zthr), takes `arc_adjust_lock`, sets its flags and then
//!   wakes the adjust zthr (`zthr_wakeup()`, its `zthr_state_lock`; not
//!   the request lock); the arctun functions it calls
//!   (`arctun_arc_headroom()`, `arctun_arc_headroom_cut()`, `arc_c`'s
//!   `arctun_arc_c()`) take no lock. And
//!   `arc_tunables_size()` is `aggsum_value(&arc_size)`, which takes the
//!   aggsum's lock and its buckets'; `arc_tunables_admission()` reads the
//!   lists' evictable sizes (atomic counters) and asks `kmem_cache_stat()`
//!   about each ARC cache's depot, which takes kmem's locks of that cache.
//!   None calls back into the module: every entry point that is not
//!   lock-free would take lock 3 or 4 again.
//!
//! The locks above ours are never held together on the module's paths,
//! and none is ever taken under one of ours. The ARC takes
//! `arc_adjust_lock` under the reap zthr's lock itself
//! (`arc_tunables_take_reap()`, patch 0002), the order the tick's path
//! already implies, and never the other way round.
//!
//! # Contexts
//!
//! | lock | interrupt | zthr | ioctl | kstat update | module load/unload |
//! |------|-----------|------|-------|--------------|--------------------|
//! | 1 admin | never | the reap zthr's check (the tick) | vmm's registration and unregistration (`VMM_CREATE_VM` of the first VM, destroy of the last) | always held: it is `ks_lock` | the ARC's registration and unregistration (`arc_init()`, `arc_fini()`) |
//! | 2 instance table | never | never | VM create and destroy; `VM_ALLOC_MEMSEG`'s reserve, mark allocated and release, never across its wait; vmm's (un)registration | `vmm:0:arc_resv` | never |
//! | 3 component | never | the tick; `arctun_arc_progress()` from the adjust and reap zthrs' callbacks | all of the above, and the wait, which sleeps on the progress condvar holding only this lock | `zfs:0:tunables` (read and write), `zfs:0:arc_headroom` | the ARC's registration; `arctun_mod_busy()` |
//! | 4 callback | never | the tick, when it lowers the ceiling | a reservation (its admission, the evictor), a release (the ARC's size) | a `zfs:0:tunables` write that lowers the ceiling; `zfs:0:arc_headroom` (`available_now`) | the ARC's registration and unregistration |
//!
//! No entry point that takes a lock may be called from interrupt
//! context; the ones the ARC may call from any context take none.
//!
//! # Checking the order
//!
//! Every lock is taken through [`enter`] (the component lock by
//! [`KernelPlatform`]'s `lock`, the table lock by [`KTableLock`]'s), which
//! in a debug build first asserts ([`assert_may_take`](crate::lock_order::assert_may_take)) that
//! the calling thread holds no lock of the same or a higher number, and
//! the wait asserts ([`assert_may_sleep`](crate::lock_order::assert_may_sleep)) that the thread
//! holds only the component lock. What a thread holds is `mutex_owned()`
//! of each of the four mutexes: sound with no per-thread storage, since an
//! adaptive mutex's owner is `curthread`. `mutex_tryenter()` is not
//! checked (a try cannot deadlock), nor are the kernel's locks around
//! ours, which the module cannot see; but an ARC callback that calls back
//! into the module takes lock 3 or 4 with lock 4 held and is caught. A
//! release build has no check, and imports no `mutex_owned()`.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::MaybeUninit;

use illumos_ddi::{kmutex_t, kstat_t};
use kstat_export::{KstatIdent, KstatNamed, RawVariables, ARC_HEADROOM, ARC_RESV, TUNABLES};
use vmm_client::{ClientConfig, VmmArcClient};
use zfs_tunables::sync::{AtomicBool, AtomicU64, Ordering};
use zfs_tunables::{ArcTunables, Bytes, Hrtime, MemoryFigures, Platform, TunableError, Wake};

use crate::error::KmodError;
use crate::kernel_platform::{self, ArcCallbacks};
use crate::ksync::{KCondvar, KMutex, KMutexGuard};
use crate::lock_order::Rank;
#[cfg(debug_assertions)]
use crate::lock_order::{self, Held};
use crate::owners::{OwnerTable, MAX_OWNERS};
use crate::preempt::{arctun_kpreempt_disable, arctun_kpreempt_enable};

// ---------------------------------------------------------------------
// The locks.
// ---------------------------------------------------------------------

/// Lock 1.
static ADMIN_LOCK: KMutex = KMutex::new();
/// Lock 2.
static TABLE_LOCK: KMutex = KMutex::new();
/// Lock 3.
static COMPONENT_LOCK: KMutex = KMutex::new();
/// Eviction progress and releases: what headroom waiters sleep on, with
/// lock 3.
static PROGRESS_CV: KCondvar = KCondvar::new();
/// Lock 4.
static CALLBACK_LOCK: KMutex = KMutex::new();

/// The mutex of `rank`.
const fn mutex(rank: Rank) -> &'static KMutex {
    match rank {
        Rank::Admin => &ADMIN_LOCK,
        Rank::InstanceTable => &TABLE_LOCK,
        Rank::Component => &COMPONENT_LOCK,
        Rank::Callback => &CALLBACK_LOCK,
    }
}

/// The module's locks the calling thread holds.
#[cfg(debug_assertions)]
fn held_by_this_thread() -> Held {
    Held::of(|r| mutex(r).owned())
}

/// Debug builds: asserts that the calling thread may take `rank`.
#[inline]
#[track_caller]
fn assert_may_take(rank: Rank) {
    #[cfg(debug_assertions)]
    lock_order::assert_may_take(held_by_this_thread(), rank);
    #[cfg(not(debug_assertions))]
    let _ = rank;
}

/// Takes the lock of `rank`, in a debug build after asserting the order;
/// it is released when the guard is dropped.
#[inline]
#[track_caller]
fn enter(rank: Rank) -> KMutexGuard<'static> {
    assert_may_take(rank);
    mutex(rank).enter()
}

/// Initializes the locks.
///
/// # Safety
///
/// They are not initialized and nothing uses them.
unsafe fn init_locks() {
    // SAFETY: per the contract.
    unsafe {
        COMPONENT_LOCK.init();
        PROGRESS_CV.init();
        CALLBACK_LOCK.init();
        ADMIN_LOCK.init();
        TABLE_LOCK.init();
    }
}

/// Destroys the locks.
///
/// # Safety
///
/// They are initialized, free, and nobody will use them again before
/// the next [`init_locks`].
unsafe fn destroy_locks() {
    // SAFETY: per the contract.
    unsafe {
        TABLE_LOCK.destroy();
        ADMIN_LOCK.destroy();
        CALLBACK_LOCK.destroy();
        PROGRESS_CV.destroy();
        COMPONENT_LOCK.destroy();
    }
}

// ---------------------------------------------------------------------
// The component, and the kernel Platform it runs on.
// ---------------------------------------------------------------------

/// The component as the kernel runs it.
pub type Component = ArcTunables<KernelPlatform>;

/// The component (`ArcTunables<KernelPlatform>`, about 50 KB) is a static
/// built at compile time by `ArcTunables::unconfigured`, so it lives in
/// the module's data section: built at run time it would pass through the
/// stack, and illumos kernel stacks are 20 KB. [`init`] configures it in
/// place for this host and then publishes `ready` with release ordering;
/// every entry point loads it with acquire ordering first and answers
/// `ENXIO` (or a neutral value, for the ARC's hot-path reads) when it is
/// clear. `_fini()` runs only once the module framework has unloaded every
/// dependent (`zfs`, `vmm`), so no entry point can race with teardown;
/// the flag guards against a misbehaving caller, it is not a lock.
struct ComponentSlot {
    ready: AtomicBool,
    component: UnsafeCell<Component>,
}

// SAFETY: `component` is mutated only by init() (configure, before
// `ready` is set with release ordering, while nothing else runs in the
// module); otherwise it is only shared, and the component is Sync.
unsafe impl Sync for ComponentSlot {}

static COMPONENT: ComponentSlot = ComponentSlot {
    ready: AtomicBool::new(false),
    component: UnsafeCell::new(ArcTunables::unconfigured(KernelPlatform)),
};

/// The component, once `arctun_mod_init()` has built it.
pub fn component() -> Result<&'static Component, KmodError> {
    if COMPONENT.ready.load(Ordering::Acquire) {
        // SAFETY: `ready` is set, with release ordering that this acquire
        // load pairs with, only after the last mutation of the component;
        // from then on it is only shared.
        Ok(unsafe { &*COMPONENT.component.get() })
    } else {
        Err(KmodError::NotInitialized)
    }
}

/// Initializes the locks and configures the component for this host
/// (`arctun_mod_init()`).
///
/// Each load of the module gets fresh static storage, so the component is
/// configured once per load: a second call, even after [`fini`] (which
/// only a userland test can make), is [`KmodError::AlreadyInitialized`].
pub fn init() -> Result<(), KmodError> {
    if COMPONENT.ready.load(Ordering::Acquire) {
        return Err(KmodError::AlreadyInitialized);
    }
    // SAFETY: the module is being loaded (or, in a userland test, was torn
    // down): nothing else runs in it, so the locks are neither initialized
    // nor in use, and no reference to the component exists.
    let configured = unsafe {
        init_locks();
        (*COMPONENT.component.get()).configure(
            kernel_platform::host_memory(),
            kernel_platform::ARC_GENERATION,
        )
    };
    if let Err(e) = configured {
        // SAFETY: initialized just above and unused since.
        unsafe { destroy_locks() };
        return Err(match e {
            TunableError::Duplicate => KmodError::AlreadyInitialized,
            e => KmodError::Tunable(e),
        });
    }
    COMPONENT.ready.store(true, Ordering::Release);
    Ok(())
}

/// Whether the module must not be unloaded: the ARC or vmm is registered,
/// or a reservation is live.
pub fn busy() -> bool {
    let Ok(c) = component() else {
        return false;
    };
    arc_registered()
        || vmm_registered()
        || owners().table().registered() > 0
        || c.headroom_stats().reservations > 0
}

/// What [`fini`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fini {
    /// Nothing: the module was not initialized.
    NotInitialized,
    /// Nothing: the module is [`busy`], and tearing it down would leave
    /// registered clients with dangling state.
    InUse,
    /// The component is gone and the locks are destroyed.
    TornDown,
}

/// Tears the module down (`arctun_mod_fini()`), unless it is in use.
pub fn fini() -> Fini {
    if !COMPONENT.ready.load(Ordering::Acquire) {
        return Fini::NotInitialized;
    }
    if busy() {
        return Fini::InUse;
    }
    COMPONENT.ready.store(false, Ordering::Release);
    // SAFETY: nothing can reach the locks any more: `ready` is clear and
    // the framework has unloaded every dependent. They are free (nothing
    // holds them outside an entry point) and nobody waits on the condition
    // variable (waiters hold reservations, and there are none).
    unsafe { destroy_locks() };
    Fini::TornDown
}

/// The kernel [`Platform`]: the component lock, the progress condition
/// variable and the ARC's callbacks of this file, and the clock and
/// memory figures of [`kernel_platform`].
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelPlatform;

// SAFETY: `lock` is mutex_enter on an adaptive kmutex_t, which returns only
// to the sole owner and is not re-entrant; `unlock` is mutex_exit by that
// owner. `wait` is cv_timedwait_sig_hrtime on PROGRESS_CV with that mutex:
// condvar(9F) releases the mutex and blocks atomically with respect to
// cv_broadcast by a thread that takes the mutex afterwards, and re-acquires
// the mutex before returning on every path (signal, timeout, wake-up).
// `now` is gethrtime(), which is monotonic.
unsafe impl Platform for KernelPlatform {
    fn lock(&self) {
        // Held until `unlock`, which the core calls on this thread.
        core::mem::forget(enter(Rank::Component));
    }

    fn try_lock(&self) -> bool {
        COMPONENT_LOCK.try_enter()
    }

    unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock (the trait's contract).
        unsafe { COMPONENT_LOCK.exit() };
    }

    unsafe fn wait(&self, deadline: Hrtime) -> Wake {
        #[cfg(debug_assertions)]
        lock_order::assert_may_sleep(held_by_this_thread());
        // SAFETY: the caller holds COMPONENT_LOCK; PROGRESS_CV is
        // initialized alongside it.
        let rv = unsafe {
            PROGRESS_CV.timedwait_sig(
                &COMPONENT_LOCK,
                kernel_platform::deadline_to_hrtime(deadline),
            )
        };
        match rv {
            0 => Wake::Interrupted,
            r if r < 0 => Wake::TimedOut,
            _ => Wake::Signalled,
        }
    }

    fn broadcast(&self) {
        PROGRESS_CV.broadcast();
    }

    fn now(&self) -> Hrtime {
        kernel_platform::now()
    }

    fn memory(&self) -> MemoryFigures {
        kernel_platform::memory()
    }

    fn admission_figures(&self) -> Option<zfs_tunables::AdmissionFigures> {
        // Without the ARC's figures (no ARC registered yet, or one whose
        // ops vector is version 1 or has no aao_admission), reservations
        // are admitted by the ceiling rule alone.
        let arc = with_callbacks(|c| {
            c.admission.map(|fill| {
                let mut arc = kernel_platform::arctun_admission_t::default();
                // SAFETY: the ARC registered this callback, which fills in
                // the structure it is given and may be called in any
                // context the module calls from; CALLBACK_LOCK keeps it
                // registered while it runs.
                unsafe { fill(&mut arc) };
                arc
            })
        })
        .flatten()?;
        Some(kernel_platform::admission_figures(arc))
    }

    fn arc_size(&self) -> Bytes {
        // SAFETY: the ARC registered this callback with a function that
        // takes no arguments and may be called in any context the module
        // calls from; CALLBACK_LOCK keeps it registered while it runs.
        Bytes(with_callbacks(|c| unsafe { (c.size)() }).unwrap_or(0))
    }

    fn kick_evictor(&self) {
        // SAFETY: as for `arc_size`.
        let _ = with_callbacks(|c| unsafe { (c.evict)() });
    }

    fn enter_write_section(&self) {
        // SAFETY: kpreempt_disable() only increments the calling thread's
        // count; the core pairs this with exit_write_section() on the same
        // thread, with only stores in between.
        unsafe { arctun_kpreempt_disable() };
    }

    fn exit_write_section(&self) {
        // SAFETY: pairs enter_write_section() on this thread.
        unsafe { arctun_kpreempt_enable() };
    }
}

// ---------------------------------------------------------------------
// The ARC's callbacks and registration.
// ---------------------------------------------------------------------

/// The registered callbacks, under the callback lock.
struct CallbackSlot {
    callbacks: UnsafeCell<Option<ArcCallbacks>>,
}

// SAFETY: the cell is only read or written with CALLBACK_LOCK held.
unsafe impl Sync for CallbackSlot {}

static CALLBACKS: CallbackSlot = CallbackSlot {
    callbacks: UnsafeCell::new(None),
};

/// Installs (or, with `None`, removes) the ARC's callbacks. When this
/// returns, no old callback is running or will run.
fn set_callbacks(callbacks: Option<ArcCallbacks>) {
    let _g = enter(Rank::Callback);
    // SAFETY: CALLBACK_LOCK is held; every access to the cell holds it.
    unsafe { *CALLBACKS.callbacks.get() = callbacks };
}

/// Runs `f` on the installed callbacks, if any, with the callback lock
/// held so that unregistration waits for it.
fn with_callbacks<R>(f: impl FnOnce(&ArcCallbacks) -> R) -> Option<R> {
    let _g = enter(Rank::Callback);
    // SAFETY: CALLBACK_LOCK is held.
    let cbs = unsafe { *CALLBACKS.callbacks.get() };
    cbs.as_ref().map(f)
}

/// Set from the start of an ARC's registration to the end of its
/// unregistration. Taken by compare-and-swap, so two registrations cannot
/// both proceed, and cleared only once a teardown is complete, so no
/// registration overlaps one; read without a lock by [`busy`].
static ARC_REGISTERED: AtomicBool = AtomicBool::new(false);

/// Set once a registration is complete. An unregistration claims its
/// teardown by compare-and-swap from true, so two unregistrations cannot
/// both tear down.
static ARC_READY: AtomicBool = AtomicBool::new(false);

/// Whether an ARC is registered.
pub fn arc_registered() -> bool {
    ARC_REGISTERED.load(Ordering::Acquire)
}

/// An ARC registration in progress: this thread claimed the ARC's slot
/// and installed its callbacks. It ends with
/// [`complete`](Self::complete) or [`abandon`](Self::abandon).
#[must_use = "a registration that is neither completed nor abandoned keeps the slot claimed"]
pub struct ArcRegistration {
    _claimed: (),
}

/// Claims the ARC's slot and installs its callbacks first, so that
/// eviction can start as soon as a boot value lowers the ceiling.
///
/// # Errors
///
/// [`KmodError::AlreadyRegistered`] while another ARC is registered or
/// being registered or torn down.
pub fn begin_arc_registration(callbacks: ArcCallbacks) -> Result<ArcRegistration, KmodError> {
    if ARC_REGISTERED
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(KmodError::AlreadyRegistered);
    }
    set_callbacks(Some(callbacks));
    Ok(ArcRegistration { _claimed: () })
}

impl ArcRegistration {
    /// Removes the callbacks and frees the slot: the registration failed.
    pub fn abandon(self) {
        set_callbacks(None);
        ARC_REGISTERED.store(false, Ordering::Release);
    }

    /// Marks the registration complete, so that an unregistration may
    /// tear it down.
    pub fn complete(self) {
        ARC_READY.store(true, Ordering::Release);
    }
}

/// An ARC unregistration in progress: this thread claimed the teardown of
/// a complete registration. It ends with [`complete`](Self::complete).
#[must_use = "a teardown that is not completed keeps the slot claimed"]
pub struct ArcTeardown {
    _claimed: (),
}

/// Claims the teardown of the ARC's registration: of two
/// unregistrations, or one racing a registration still in progress, at
/// most one gets one.
pub fn begin_arc_teardown() -> Option<ArcTeardown> {
    ARC_READY
        .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
        .then_some(ArcTeardown { _claimed: () })
}

impl ArcTeardown {
    /// Removes the callbacks (waiting for one that runs) and frees the
    /// slot.
    pub fn complete(self) {
        set_callbacks(None);
        ARC_REGISTERED.store(false, Ordering::Release);
    }
}

// ---------------------------------------------------------------------
// vmm's client and registration.
// ---------------------------------------------------------------------

/// vmm-client's table lock: lock 2.
#[derive(Clone, Copy, Debug, Default)]
pub struct KTableLock;

// SAFETY: mutex_enter on an adaptive kmutex_t returns only to the sole
// owner and is not re-entrant; mutex_exit is called by that owner.
unsafe impl vmm_client::TableLock for KTableLock {
    fn lock(&self) {
        // Held until `unlock`, which vmm-client calls on this thread.
        core::mem::forget(enter(Rank::InstanceTable));
    }

    unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock (the trait's contract).
        unsafe { TABLE_LOCK.exit() };
    }
}

/// The vmm client as the kernel runs it.
pub type KClient = VmmArcClient<KernelPlatform, &'static Component, KTableLock>;

struct ClientSlot {
    registered: AtomicBool,
    ready: AtomicBool,
    client: UnsafeCell<MaybeUninit<KClient>>,
}

// SAFETY: `client` is written only through a VmmRegistration, which exists
// only after its thread won `registered` (a compare-and-swap from false),
// so two registrations never overlap; `ready` is set (release) once the
// registration is complete. A VmmTeardown exists only after its thread
// won `ready` (a compare-and-swap from true), so two unregistrations never
// both drop the client, and it clears `registered` only after the drop,
// so no registration writes the slot while it is being torn down. vmm
// does not call the other entry points outside its registration. In
// between the client is only shared, and it is Sync.
unsafe impl Sync for ClientSlot {}

static CLIENT: ClientSlot = ClientSlot {
    registered: AtomicBool::new(false),
    ready: AtomicBool::new(false),
    client: UnsafeCell::new(MaybeUninit::uninit()),
};

/// The vmm client, while vmm is registered.
pub fn client() -> Result<&'static KClient, KmodError> {
    if CLIENT.ready.load(Ordering::Acquire) {
        // SAFETY: `ready` is set, with release ordering that this load
        // pairs with, only after the client was written, and cleared
        // before it is dropped.
        Ok(unsafe { (*CLIENT.client.get()).assume_init_ref() })
    } else {
        Err(KmodError::NotRegistered)
    }
}

/// Whether vmm is registered.
pub fn vmm_registered() -> bool {
    CLIENT.registered.load(Ordering::Acquire)
}

/// A vmm registration in progress: this thread claimed the client's slot
/// and built the client in it, unpublished. It ends with
/// [`complete`](Self::complete) or [`abandon`](Self::abandon).
#[must_use = "a registration that is neither completed nor abandoned keeps the slot claimed"]
pub struct VmmRegistration {
    _claimed: (),
}

/// Claims the vmm client's slot and builds the client (which registers
/// `vmm_arc_page_overhead` with the component) straight into it: at about
/// 115 KiB it must not pass through the stack, which the artifact's frame
/// check verifies.
///
/// # Errors
///
/// [`KmodError::AlreadyRegistered`] while vmm is registered or being
/// registered or torn down; vmm-client's refusal as [`KmodError::Vmm`],
/// which leaves the slot free.
pub fn begin_vmm_registration(
    arc: &'static Component,
    config: ClientConfig,
) -> Result<VmmRegistration, KmodError> {
    if CLIENT
        .registered
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(KmodError::AlreadyRegistered);
    }
    let built = VmmArcClient::with_config(arc, KTableLock, config);
    let client = match built {
        Ok(client) => client,
        Err(e) => {
            CLIENT.registered.store(false, Ordering::Release);
            return Err(KmodError::Vmm(e));
        }
    };
    // SAFETY: `registered` was clear and is now ours, so the slot is
    // empty and nobody else touches it; `ready` is still clear.
    unsafe { (*CLIENT.client.get()).write(client) };
    Ok(VmmRegistration { _claimed: () })
}

impl VmmRegistration {
    /// Drops the client and frees the slot: the registration failed.
    pub fn abandon(self) {
        // SAFETY: written by begin_vmm_registration() and never shared
        // (`ready` is clear).
        unsafe { (*CLIENT.client.get()).assume_init_drop() };
        CLIENT.registered.store(false, Ordering::Release);
    }

    /// Publishes the client: from now on [`client`] finds it.
    pub fn complete(self) {
        CLIENT.ready.store(true, Ordering::Release);
    }
}

/// A vmm unregistration in progress: this thread claimed the teardown of
/// a complete registration. It ends with [`complete`](Self::complete).
#[must_use = "a teardown that is not completed keeps the client and its slot"]
pub struct VmmTeardown {
    _claimed: (),
}

/// Claims the teardown of vmm's registration: of two unregistrations, or
/// one racing a registration still in progress, at most one gets one.
/// From then on [`client`] finds no client.
pub fn begin_vmm_teardown() -> Option<VmmTeardown> {
    CLIENT
        .ready
        .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
        .then_some(VmmTeardown { _claimed: () })
}

impl VmmTeardown {
    /// Drops the client, which returns any reservation left and
    /// unregisters its tunable, and frees the slot.
    pub fn complete(self) {
        // SAFETY: the client was written before `ready` was set, and this
        // teardown alone cleared `ready`, so no other teardown drops it
        // and `registered`, still set, keeps any registration out of the
        // slot. vmm calls no entry point while it unregisters (its driver
        // has no VMs then), and the caller deleted the kstat that reads
        // the client.
        unsafe { (*CLIENT.client.get()).assume_init_drop() };
        CLIENT.registered.store(false, Ordering::Release);
    }
}

// ---------------------------------------------------------------------
// The tick's clock.
// ---------------------------------------------------------------------

/// The least time between two ticks that do their work.
pub const TICK_INTERVAL: Hrtime = Hrtime::SECOND;

/// The `gethrtime()` from which the next `arctun_arc_tick()` does its
/// work; 0 until the first.
static NEXT_TICK: AtomicU64 = AtomicU64::new(0);

/// Whether a tick at `now` does its work: the first tick whose time is
/// [`TICK_INTERVAL`] or more after the last one that did. Of ticks racing
/// at the same time, one wins (compare-and-swap). `arc_reap_cb_check()`
/// runs on the reap zthr's one-second timer and again at every wakeup of
/// that zthr, which `arc_adapt()` asks for on each allocation while memory
/// is short: the module, not each caller, keeps the tick to once a second.
pub fn claim_tick(now: Hrtime) -> bool {
    let next = NEXT_TICK.load(Ordering::Acquire);
    if now.0 < next {
        return false;
    }
    NEXT_TICK
        .compare_exchange(
            next,
            now.saturating_add(TICK_INTERVAL).0,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_ok()
}

// ---------------------------------------------------------------------
// What the admin lock guards: the raw variables and the kstats.
// ---------------------------------------------------------------------

/// At most this many variables per client (`ARCTUN_MAX_VARS`).
pub const MAX_VARS: usize = 16;

/// The names of the variables one client registered, so that its
/// unregistration unbinds exactly those.
pub type VarNames = [Option<&'static str>; MAX_VARS];

/// The raw-variable table's cells: the registering modules' C globals.
pub type RawTable = RawVariables<&'static AtomicU64>;

/// A client that registers tunable variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarOwner {
    /// The ARC (`arctun_arc_register()`).
    Arc,
    /// vmm (`arctun_vmm_register()`).
    Vmm,
}

/// A cell accessed only with the admin lock held.
struct AdminCell<T>(UnsafeCell<T>);

// SAFETY: the cell is only accessed through an Admin, which exists only
// while its thread holds ADMIN_LOCK. The raw table's atomics are the
// registering modules' globals, valid until they unregister, which
// unbinds them under the same lock.
unsafe impl<T> Sync for AdminCell<T> {}

static RAW_TABLE: AdminCell<RawTable> = AdminCell(UnsafeCell::new(RawVariables::new()));
static ARC_VARS: AdminCell<VarNames> = AdminCell(UnsafeCell::new([None; MAX_VARS]));
static VMM_VARS: AdminCell<VarNames> = AdminCell(UnsafeCell::new([None; MAX_VARS]));

/// One kstat of the module: its handle and its data section, a static
/// buffer of `kstat_named_t`s (`KSTAT_FLAG_VIRTUAL`), under the admin
/// lock, which is the kstat's `ks_lock`.
struct KstatCell<const N: usize> {
    ksp: UnsafeCell<*mut kstat_t>,
    data: UnsafeCell<[KstatNamed; N]>,
}

// SAFETY: both cells are only accessed with ADMIN_LOCK held (through an
// Admin, or by the kstat framework, which holds ks_lock = ADMIN_LOCK
// around ks_update and the snapshot).
unsafe impl<const N: usize> Sync for KstatCell<N> {}

impl<const N: usize> KstatCell<N> {
    const fn new() -> Self {
        KstatCell {
            ksp: UnsafeCell::new(core::ptr::null_mut()),
            data: UnsafeCell::new([KstatNamed::ZERO; N]),
        }
    }

    fn parts(&self) -> (*mut *mut kstat_t, *mut KstatNamed, usize) {
        (self.ksp.get(), self.data.get().cast(), N)
    }
}

static TUNABLES_KSTAT: KstatCell<{ TUNABLES.ndata_max }> = KstatCell::new();
/// One kstat per headroom owner slot, `<module>:0:arc_resv_<name>`.
static OWNER_KSTATS: [KstatCell<OWNER_NDATA>; MAX_OWNERS] =
    [const { KstatCell::new() }; MAX_OWNERS];

/// The fields of a headroom owner's kstat (see [`owners`](crate::owners)).
pub const OWNER_FIELDS: [&str; 7] = [
    "reserved",
    "pending",
    "committed",
    "grows",
    "shrinks",
    "refusals",
    "failures",
];
/// How many `kstat_named_t`s an owner's kstat holds.
pub const OWNER_NDATA: usize = OWNER_FIELDS.len();
static HEADROOM_KSTAT: KstatCell<{ ARC_HEADROOM.ndata_max }> = KstatCell::new();
static RESV_KSTAT: KstatCell<{ ARC_RESV.ndata_max }> = KstatCell::new();

/// One of the module's kstats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KstatId {
    /// `zfs:0:tunables`.
    Tunables,
    /// `zfs:0:arc_headroom`.
    ArcHeadroom,
    /// `vmm:0:arc_resv`.
    ArcResv,
}

impl KstatId {
    /// The kstat's name, class, flags and size.
    #[must_use]
    pub fn ident(self) -> &'static KstatIdent {
        match self {
            KstatId::Tunables => &TUNABLES,
            KstatId::ArcHeadroom => &ARC_HEADROOM,
            KstatId::ArcResv => &ARC_RESV,
        }
    }

    /// How many `kstat_named_t`s the kstat's data section holds.
    #[must_use]
    pub fn capacity(self) -> usize {
        self.parts().2
    }

    /// The handle's cell, the data section and its length.
    fn parts(self) -> (*mut *mut kstat_t, *mut KstatNamed, usize) {
        match self {
            KstatId::Tunables => TUNABLES_KSTAT.parts(),
            KstatId::ArcHeadroom => HEADROOM_KSTAT.parts(),
            KstatId::ArcResv => RESV_KSTAT.parts(),
        }
    }
}

/// Proof that the calling thread holds the admin lock, and the way to
/// what it guards. Not `Send`: it stands for this thread's hold.
pub struct Admin<'a> {
    _guard: Option<KMutexGuard<'static>>,
    _thread: PhantomData<(*const (), &'a ())>,
}

/// Takes the admin lock (lock 1); it is released when the [`Admin`] is
/// dropped.
#[track_caller]
pub fn admin() -> Admin<'static> {
    Admin {
        _guard: Some(enter(Rank::Admin)),
        _thread: PhantomData,
    }
}

/// The admin lock's proof for a caller that holds it already: a
/// `ks_update` callback, which the kstat framework calls with `ks_lock`
/// held.
///
/// # Safety
///
/// The calling thread holds the admin lock for `'a`, and no reference
/// obtained through another [`Admin`] is used while this one lives.
pub unsafe fn admin_held<'a>() -> Admin<'a> {
    #[cfg(debug_assertions)]
    debug_assert!(
        ADMIN_LOCK.owned(),
        "a kstat update runs without its ks_lock, the admin lock"
    );
    Admin {
        _guard: None,
        _thread: PhantomData,
    }
}

impl Admin<'_> {
    /// The raw-variable table.
    pub fn raw(&mut self) -> &mut RawTable {
        // SAFETY: this thread holds ADMIN_LOCK (an Admin exists), and the
        // borrow of `self` keeps this the only reference through it.
        unsafe { &mut *RAW_TABLE.0.get() }
    }

    /// The raw-variable table and the names of `owner`'s variables.
    pub fn raw_and_names(&mut self, owner: VarOwner) -> (&mut RawTable, &mut VarNames) {
        let names = match owner {
            VarOwner::Arc => &ARC_VARS,
            VarOwner::Vmm => &VMM_VARS,
        };
        // SAFETY: as for `raw`; the two cells are distinct.
        unsafe { (&mut *RAW_TABLE.0.get(), &mut *names.0.get()) }
    }

    /// `ks_lock` for the module's kstats: the admin lock.
    pub fn ks_lock(&self) -> *mut kmutex_t {
        ADMIN_LOCK.as_ptr()
    }

    /// The cell of `kstat`'s handle (NULL while it does not exist).
    pub fn kstat_handle(&mut self, kstat: KstatId) -> &mut *mut kstat_t {
        let (ksp, _, _) = kstat.parts();
        // SAFETY: as for `raw`.
        unsafe { &mut *ksp }
    }

    /// `kstat`'s data section, for `ks_data`: the kstat framework reads
    /// and writes it with `ks_lock`, the admin lock, held.
    pub fn kstat_data_ptr(&self, kstat: KstatId) -> *mut KstatNamed {
        kstat.parts().1
    }

    /// `kstat`'s data section.
    pub fn kstat_data(&mut self, kstat: KstatId) -> &mut [KstatNamed] {
        let (_, data, len) = kstat.parts();
        // SAFETY: as for `raw`: a static array of `len` elements.
        unsafe { core::slice::from_raw_parts_mut(data, len) }
    }

    /// The cell of the handle of the kstat of the owner in `slot`.
    pub fn owner_kstat_handle(&mut self, slot: usize) -> Option<&mut *mut kstat_t> {
        let cell = OWNER_KSTATS.get(slot)?;
        // SAFETY: as for `raw`.
        Some(unsafe { &mut *cell.ksp.get() })
    }

    /// The slot whose owner kstat is `ksp`, if any.
    pub fn owner_kstat_slot(&self, ksp: *const kstat_t) -> Option<usize> {
        OWNER_KSTATS.iter().position(|cell| {
            // SAFETY: as for `raw`: a read of a static cell under the lock.
            let h = unsafe { *cell.ksp.get() };
            !h.is_null() && core::ptr::eq(h, ksp)
        })
    }

    /// The data section of the owner kstat of `slot`, for `ks_data`.
    pub fn owner_kstat_data_ptr(&self, slot: usize) -> Option<*mut KstatNamed> {
        OWNER_KSTATS.get(slot).map(|cell| cell.parts().1)
    }

    /// The data section of the owner kstat of `slot`.
    pub fn owner_kstat_data(&mut self, slot: usize) -> Option<&mut [KstatNamed]> {
        let (_, data, len) = OWNER_KSTATS.get(slot)?.parts();
        // SAFETY: as for `raw`: a static array of `len` elements.
        Some(unsafe { core::slice::from_raw_parts_mut(data, len) })
    }

    /// `zfs:0:tunables`' data section and the raw-variable table, which a
    /// write records what it applied into.
    pub fn tunables_update_parts(&mut self) -> (&mut [KstatNamed], &mut RawTable) {
        let (_, data, len) = KstatId::Tunables.parts();
        // SAFETY: as for `raw`; the two statics are distinct.
        unsafe {
            (
                core::slice::from_raw_parts_mut(data, len),
                &mut *RAW_TABLE.0.get(),
            )
        }
    }
}

// ---------------------------------------------------------------------
// The headroom owners (the VMM reservoir), under the instance table lock.
// ---------------------------------------------------------------------

/// The owners' table, accessed only with lock 2 held.
struct OwnersCell(UnsafeCell<OwnerTable>);

// SAFETY: the table is only accessed through an Owners guard, which holds
// TABLE_LOCK for as long as it lives.
unsafe impl Sync for OwnersCell {}

static OWNERS: OwnersCell = OwnersCell(UnsafeCell::new(OwnerTable::new()));

/// Proof that the calling thread holds the instance table lock, and the
/// way to the owners' table. Not `Send`: it stands for this thread's hold.
pub struct Owners {
    _guard: KMutexGuard<'static>,
    _thread: PhantomData<*const ()>,
}

/// Takes the instance table lock (lock 2) for the owners' table; it is
/// released when the [`Owners`] is dropped.
#[track_caller]
pub fn owners() -> Owners {
    Owners {
        _guard: enter(Rank::InstanceTable),
        _thread: PhantomData,
    }
}

impl Owners {
    /// The owners' table.
    pub fn table(&mut self) -> &mut OwnerTable {
        // SAFETY: this thread holds TABLE_LOCK (an Owners exists), and the
        // borrow of `self` keeps this the only reference through it.
        unsafe { &mut *OWNERS.0.get() }
    }
}
