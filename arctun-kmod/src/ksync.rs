//! `kmutex_t` and `kcondvar_t` in static storage: mutex(9F) and
//! condvar(9F) behind two Rust types.
//!
//! Only [`state`](crate::state) makes them, as statics (a `kmutex_t` must
//! not move once initialized), and takes them in the module's one order;
//! nothing else calls these methods.

use core::cell::UnsafeCell;
use core::ptr;

#[cfg(debug_assertions)]
use illumos_ddi::kernel::mutex_owned;
use illumos_ddi::kernel::{
    cv_broadcast, cv_destroy, cv_init, cv_timedwait_sig_hrtime, mutex_destroy, mutex_enter,
    mutex_exit, mutex_init, mutex_tryenter,
};
use illumos_ddi::{c_int, hrtime_t, kcondvar_t, kcv_type_t, kmutex_t, kmutex_type_t};

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

    /// `mutex_tryenter()`: takes the mutex if it is free, without a
    /// guard (the caller releases it with [`exit`](Self::exit)).
    pub fn try_enter(&self) -> bool {
        // SAFETY: as for `enter`.
        unsafe { mutex_tryenter(self.as_ptr()) != 0 }
    }

    /// `mutex_owned()`: whether the calling thread holds the mutex. Exact
    /// for an adaptive mutex (its owner is `curthread`); the kernel
    /// answers yes to everything while it panics. Debug builds only: it
    /// serves assertions, and a release build imports nothing for it.
    #[cfg(debug_assertions)]
    pub fn owned(&self) -> bool {
        // SAFETY: the mutex is initialized (as for `enter`); mutex_owned()
        // only reads its owner word.
        unsafe { mutex_owned(self.as_ptr()) != 0 }
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

    /// `cv_timedwait_sig_hrtime(cv, mutex, tim)`: releases `mutex`, sleeps
    /// until a broadcast, the absolute time `tim` (-1: none) or a signal,
    /// and takes `mutex` again. Its return value: 0 for a signal,
    /// negative for a timeout, positive for a wake-up.
    ///
    /// # Safety
    ///
    /// Both are initialized, and the calling thread holds `mutex`.
    pub unsafe fn timedwait_sig(&self, mutex: &KMutex, tim: hrtime_t) -> c_int {
        // SAFETY: per the contract.
        unsafe { cv_timedwait_sig_hrtime(self.as_ptr(), mutex.as_ptr(), tim) }
    }

    /// `cv_broadcast()`.
    pub fn broadcast(&self) {
        // SAFETY: the condition variable is initialized while any entry
        // point that reaches here can run (arctun_mod_init() to _fini).
        unsafe { cv_broadcast(self.as_ptr()) };
    }
}

impl Default for KCondvar {
    fn default() -> Self {
        Self::new()
    }
}
