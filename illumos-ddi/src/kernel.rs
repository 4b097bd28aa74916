//! Functions and globals that exist only inside the illumos kernel
//! (`#ifdef _KERNEL`), with the headers' prototypes.
//!
//! Every item here is a kernel symbol that the module imports; the
//! module's artifact check allows exactly these undefined symbols (plus
//! the `mem*` functions the compiler emits), so adding a declaration here
//! is the one way to widen what the module may call.
//!
//! The globals are declared `static mut` because the kernel changes them
//! behind the module's back; read them only with volatile loads through a
//! raw pointer (`core::ptr::addr_of!`), never through a reference.

use crate::{
    c_char, c_int, c_void, hrtime_t, kcondvar_t, kcv_type_t, kmutex_t, kmutex_type_t, kstat_t,
    pgcnt_t, size_t, uchar_t, uint_t, vmem_t,
};

// ---------------------------------------------------------------------
// uts/common/sys/mutex.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `void mutex_init(kmutex_t *, char *, kmutex_type_t, void *);`
    pub fn mutex_init(mp: *mut kmutex_t, name: *mut c_char, ty: kmutex_type_t, ibc: *mut c_void);
    /// `void mutex_destroy(kmutex_t *);`
    pub fn mutex_destroy(mp: *mut kmutex_t);
    /// `void mutex_enter(kmutex_t *);`
    pub fn mutex_enter(mp: *mut kmutex_t);
    /// `int mutex_tryenter(kmutex_t *);` non-zero when taken.
    pub fn mutex_tryenter(mp: *mut kmutex_t) -> c_int;
    /// `void mutex_exit(kmutex_t *);`
    pub fn mutex_exit(mp: *mut kmutex_t);
    /// `int mutex_owned(const kmutex_t *);` non-zero when the calling
    /// thread holds the (adaptive) mutex; for assertions only.
    pub fn mutex_owned(mp: *const kmutex_t) -> c_int;
}

// ---------------------------------------------------------------------
// uts/common/sys/condvar.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `void cv_init(kcondvar_t *, char *, kcv_type_t, void *);`
    pub fn cv_init(cvp: *mut kcondvar_t, name: *mut c_char, ty: kcv_type_t, arg: *mut c_void);
    /// `void cv_destroy(kcondvar_t *);`
    pub fn cv_destroy(cvp: *mut kcondvar_t);
    /// `int cv_timedwait_sig_hrtime(kcondvar_t *, kmutex_t *, hrtime_t);`
    ///
    /// `tim` is an absolute `gethrtime()` value, or -1 for no timeout.
    /// Returns 0 if a signal is pending, -1 on timeout, and a positive
    /// value when woken by `cv_signal()`/`cv_broadcast()`. The mutex is
    /// held again on return, whatever the result.
    pub fn cv_timedwait_sig_hrtime(cvp: *mut kcondvar_t, mp: *mut kmutex_t, tim: hrtime_t)
        -> c_int;
    /// `void cv_broadcast(kcondvar_t *);`
    pub fn cv_broadcast(cvp: *mut kcondvar_t);
}

// ---------------------------------------------------------------------
// uts/common/sys/time.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `hrtime_t gethrtime(void);`
    pub fn gethrtime() -> hrtime_t;
}

// ---------------------------------------------------------------------
// uts/common/sys/systm.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `pgcnt_t physmem;`: physical memory, in pages.
    pub static mut physmem: pgcnt_t;
    /// `pgcnt_t freemem;`: current free memory, in pages.
    pub static mut freemem: pgcnt_t;
    /// `pgcnt_t availrmem;`: available resident (not swappable) memory,
    /// in pages: what segkmem, `page_resv()` and page locking take from.
    pub static mut availrmem: pgcnt_t;
    /// `int bcmp(const void *, const void *, size_t);`
    ///
    /// The module's code never calls it; the compiler emits calls to it
    /// for byte-slice equality (on the kernel target too), so it is one of
    /// the module's imports and is declared here to say so.
    pub fn bcmp(s1: *const c_void, s2: *const c_void, n: size_t) -> c_int;
}

// ---------------------------------------------------------------------
// uts/common/sys/vmsystm.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `pgcnt_t lotsfree;`: below this many free pages the page scanner
    /// runs ("max free before clock freezes").
    pub static mut lotsfree: pgcnt_t;
    /// `pgcnt_t desfree;`: the minimum free pages before swapping begins.
    pub static mut desfree: pgcnt_t;
}

// ---------------------------------------------------------------------
// uts/common/vm/page.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `pgcnt_t pages_pp_maximum;`: the `availrmem` that page locking
    /// leaves alone (`page_pp_lock()` fails below it).
    pub static mut pages_pp_maximum: pgcnt_t;
}

// ---------------------------------------------------------------------
// uts/common/sys/fs/swapnode.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `pgcnt_t swapfs_minfree;`: `availrmem` kept out of swapfs's reach.
    pub static mut swapfs_minfree: pgcnt_t;
}

// ---------------------------------------------------------------------
// uts/common/sys/vmem.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `size_t vmem_size(vmem_t *, int);`
    pub fn vmem_size(vmp: *mut vmem_t, typemask: c_int) -> size_t;
}

// ---------------------------------------------------------------------
// uts/common/vm/seg_kmem.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `vmem_t *heap_arena;`: the primary kernel heap arena.
    pub static mut heap_arena: *mut vmem_t;
}

// ---------------------------------------------------------------------
// uts/common/sys/kstat.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `kstat_t *kstat_create(const char *, int, const char *, const char *,
    /// uchar_t, uint_t, uchar_t);` NULL on failure.
    pub fn kstat_create(
        ks_module: *const c_char,
        ks_instance: c_int,
        ks_name: *const c_char,
        ks_class: *const c_char,
        ks_type: uchar_t,
        ks_ndata: uint_t,
        ks_flag: uchar_t,
    ) -> *mut kstat_t;
    /// `void kstat_install(kstat_t *);`
    pub fn kstat_install(ksp: *mut kstat_t);
    /// `void kstat_delete(kstat_t *);` never with the kstat's `ks_lock`
    /// held.
    pub fn kstat_delete(ksp: *mut kstat_t);
}

// ---------------------------------------------------------------------
// uts/common/sys/cmn_err.h
// ---------------------------------------------------------------------

unsafe extern "C" {
    /// `void cmn_err(int, const char *, ...);` `CE_PANIC` does not return.
    pub fn cmn_err(ce: c_int, fmt: *const c_char, ...);
}
