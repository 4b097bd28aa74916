//! The kernel's side of zfs-tunables' [`Platform`]: `kmutex_t`,
//! `kcondvar_t`, `gethrtime()`, `freemem`/`lotsfree`/`desfree`, and the
//! ARC's callbacks.
//!
//! | `Platform`      | here                                                |
//! |-----------------|-----------------------------------------------------|
//! | `lock`/`unlock` | `mutex_enter`/`mutex_exit` on [`COMPONENT_LOCK`]    |
//! | `try_lock`      | `mutex_tryenter`                                    |
//! | `wait`          | `cv_timedwait_sig_hrtime` on [`PROGRESS_CV`]        |
//! | `broadcast`     | `cv_broadcast`                                      |
//! | `now`           | `gethrtime()`                                       |
//! | `memory`        | volatile loads of `freemem`, `lotsfree`, `desfree`  |
//! | `arc_size`      | the ARC's `aao_size` callback (0 before it registers)|
//! | `kick_evictor`  | the ARC's `aao_evict` callback (nothing before)     |
//! | `enter_write_section`/`exit_write_section` | `kpreempt_disable()`/`kpreempt_enable()` ([`preempt`](crate::preempt)) |
//!
//! The mutexes and the condition variable live in statics: the component
//! is a static too, and a `kmutex_t` must not move once initialized.

use core::cell::UnsafeCell;
use core::ptr::{self, addr_of};

use illumos_ddi::kernel::{
    cv_broadcast, cv_destroy, cv_init, cv_timedwait_sig_hrtime, desfree, freemem, gethrtime,
    lotsfree, mutex_destroy, mutex_enter, mutex_exit, mutex_init, mutex_tryenter,
};
use illumos_ddi::{hrtime_t, kcondvar_t, kcv_type_t, kmutex_t, kmutex_type_t};
use zfs_tunables::{Bytes, Hrtime, MemoryFigures, Pages, Platform, Wake};

use crate::preempt::{arctun_kpreempt_disable, arctun_kpreempt_enable};

/// A `kmutex_t` in static storage.
pub struct KMutex {
    raw: UnsafeCell<kmutex_t>,
}

// SAFETY: a kmutex_t is designed to be shared between threads; all access
// to the cell goes through the mutex(9F) functions, which synchronize.
unsafe impl Sync for KMutex {}

impl KMutex {
    /// A zeroed mutex; [`init`](Self::init) before use.
    pub const fn new() -> Self {
        KMutex {
            raw: UnsafeCell::new(kmutex_t::zeroed()),
        }
    }

    /// The `kmutex_t *` for C.
    pub fn as_ptr(&self) -> *mut kmutex_t {
        self.raw.get()
    }

    /// `mutex_init(MUTEX_DEFAULT)`.
    ///
    /// # Safety
    ///
    /// The mutex is not initialized and no thread uses it.
    pub unsafe fn init(&self) {
        // SAFETY: per the contract, nobody else touches the mutex; a NULL
        // name and cookie are what MUTEX_DEFAULT expects.
        unsafe {
            mutex_init(
                self.as_ptr(),
                ptr::null_mut(),
                kmutex_type_t::MUTEX_DEFAULT,
                ptr::null_mut(),
            )
        };
    }

    /// `mutex_destroy()`.
    ///
    /// # Safety
    ///
    /// The mutex is initialized, not held, and no thread will use it again
    /// before the next [`init`](Self::init).
    pub unsafe fn destroy(&self) {
        // SAFETY: per the contract.
        unsafe { mutex_destroy(self.as_ptr()) };
    }

    /// `mutex_exit()` of a mutex taken without a guard.
    ///
    /// # Safety
    ///
    /// The calling thread holds the mutex, and no guard will release it.
    pub unsafe fn exit(&self) {
        // SAFETY: per the contract.
        unsafe { mutex_exit(self.as_ptr()) };
    }

    /// Takes the mutex; it is released when the guard is dropped.
    pub fn enter(&self) -> KMutexGuard<'_> {
        // SAFETY: the mutex was initialized by arctun_mod_init() before
        // any entry point that reaches here can run.
        unsafe { mutex_enter(self.as_ptr()) };
        KMutexGuard { mutex: self }
    }
}

impl Default for KMutex {
    fn default() -> Self {
        Self::new()
    }
}

/// Proof that a [`KMutex`] is held; releases it when dropped.
#[must_use = "the mutex is released as soon as this guard is dropped"]
pub struct KMutexGuard<'a> {
    mutex: &'a KMutex,
}

impl Drop for KMutexGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the guard exists only while this thread holds the mutex.
        unsafe { mutex_exit(self.mutex.as_ptr()) };
    }
}

/// A `kcondvar_t` in static storage.
pub struct KCondvar {
    raw: UnsafeCell<kcondvar_t>,
}

// SAFETY: a kcondvar_t is designed to be shared between threads; all
// access goes through the condvar(9F) functions.
unsafe impl Sync for KCondvar {}

impl KCondvar {
    /// A zeroed condition variable; [`init`](Self::init) before use.
    pub const fn new() -> Self {
        KCondvar {
            raw: UnsafeCell::new(kcondvar_t::zeroed()),
        }
    }

    fn as_ptr(&self) -> *mut kcondvar_t {
        self.raw.get()
    }

    /// `cv_init(CV_DEFAULT)`.
    ///
    /// # Safety
    ///
    /// The condition variable is not initialized and no thread uses it.
    pub unsafe fn init(&self) {
        // SAFETY: per the contract.
        unsafe {
            cv_init(
                self.as_ptr(),
                ptr::null_mut(),
                kcv_type_t::CV_DEFAULT,
                ptr::null_mut(),
            )
        };
    }

    /// `cv_destroy()`.
    ///
    /// # Safety
    ///
    /// No thread waits on it or will use it before the next `init`.
    pub unsafe fn destroy(&self) {
        // SAFETY: per the contract.
        unsafe { cv_destroy(self.as_ptr()) };
    }
}

impl Default for KCondvar {
    fn default() -> Self {
        Self::new()
    }
}

/// The component's lock: the zfs-tunables `Platform` lock.
pub static COMPONENT_LOCK: KMutex = KMutex::new();
/// Eviction progress and releases: what headroom waiters sleep on.
pub static PROGRESS_CV: KCondvar = KCondvar::new();
/// Held while an ARC callback runs, and while callbacks change.
pub static CALLBACK_LOCK: KMutex = KMutex::new();

/// The ARC's callbacks (`aao_size`, `aao_evict`).
#[derive(Clone, Copy)]
pub struct ArcCallbacks {
    /// `aggsum_value(&arc_size)`.
    pub size: unsafe extern "C" fn() -> u64,
    /// Starts eviction now.
    pub evict: unsafe extern "C" fn(),
}

/// The registered callbacks, under [`CALLBACK_LOCK`].
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
pub fn set_callbacks(callbacks: Option<ArcCallbacks>) {
    let _g = CALLBACK_LOCK.enter();
    // SAFETY: CALLBACK_LOCK is held; every access to the cell holds it.
    unsafe { *CALLBACKS.callbacks.get() = callbacks };
}

/// Whether callbacks are installed.
pub fn has_callbacks() -> bool {
    let _g = CALLBACK_LOCK.enter();
    // SAFETY: CALLBACK_LOCK is held.
    unsafe { (*CALLBACKS.callbacks.get()).is_some() }
}

/// Runs `f` on the installed callbacks, if any, with the callback lock
/// held so that unregistration waits for it.
fn with_callbacks<R>(f: impl FnOnce(&ArcCallbacks) -> R) -> Option<R> {
    let _g = CALLBACK_LOCK.enter();
    // SAFETY: CALLBACK_LOCK is held.
    let cbs = unsafe { *CALLBACKS.callbacks.get() };
    cbs.as_ref().map(f)
}

/// Converts an absolute deadline to `cv_timedwait_sig_hrtime()`'s `tim`:
/// -1 ("no timeout") when it does not fit a positive `hrtime_t`.
pub fn deadline_to_hrtime(deadline: Hrtime) -> hrtime_t {
    hrtime_t::try_from(deadline.0).unwrap_or(-1)
}

/// The kernel [`Platform`]: a handle on the statics above.
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
        // SAFETY: COMPONENT_LOCK is initialized before the component
        // exists, and destroyed only after it is gone.
        unsafe { mutex_enter(COMPONENT_LOCK.as_ptr()) };
    }

    fn try_lock(&self) -> bool {
        // SAFETY: as for `lock`.
        unsafe { mutex_tryenter(COMPONENT_LOCK.as_ptr()) != 0 }
    }

    unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock (the trait's contract).
        unsafe { mutex_exit(COMPONENT_LOCK.as_ptr()) };
    }

    unsafe fn wait(&self, deadline: Hrtime) -> Wake {
        // SAFETY: the caller holds COMPONENT_LOCK; PROGRESS_CV is
        // initialized alongside it.
        let rv = unsafe {
            cv_timedwait_sig_hrtime(
                PROGRESS_CV.as_ptr(),
                COMPONENT_LOCK.as_ptr(),
                deadline_to_hrtime(deadline),
            )
        };
        match rv {
            0 => Wake::Interrupted,
            r if r < 0 => Wake::TimedOut,
            _ => Wake::Signalled,
        }
    }

    fn broadcast(&self) {
        // SAFETY: PROGRESS_CV is initialized while the component exists.
        unsafe { cv_broadcast(PROGRESS_CV.as_ptr()) };
    }

    fn now(&self) -> Hrtime {
        // SAFETY: gethrtime() has no preconditions.
        let t = unsafe { gethrtime() };
        Hrtime(u64::try_from(t).unwrap_or(0))
    }

    fn memory(&self) -> MemoryFigures {
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

    fn admission_figures(&self) -> Option<zfs_tunables::AdmissionFigures> {
        // Not wired yet: the ARC's ops vector has no admission callback
        // (ops version 2 adds it). Until then reservations are admitted by
        // the ceiling rule alone, as before.
        None
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
