//! What the core needs from a kernel, as one small trait.
//!
//! The core is pure logic: it does not know whether it runs in the illumos
//! kernel, in a unit test or inside the simulator. Everything it needs from
//! its host goes through [`Platform`]:
//!
//! | method            | illumos kernel                                  |
//! |-------------------|-------------------------------------------------|
//! | `lock`/`unlock`   | `mutex_enter`/`mutex_exit` on one `kmutex_t`    |
//! | `wait`            | `cv_timedwait_sig_hrtime` on one `kcondvar_t`   |
//! | `broadcast`       | `cv_broadcast` on that condition variable       |
//! | `now`             | `gethrtime()`                                   |
//! | `memory`          | `freemem`, `lotsfree`, `desfree`                |
//! | `admission_figures` | `availrmem`, `pages_pp_maximum`, the ARC's evictable bytes and its kmem caches' full magazines, through an ARC hook |
//! | `arc_size`        | `aggsum_value(&arc_size)`, through an ARC hook  |
//! | `kick_evictor`    | `zthr_wakeup()` of the ARC's adjust/reap zthrs  |
//! | `enter_write_section`/`exit_write_section` | `kpreempt_disable()`/`kpreempt_enable()` |
//!
//! The std twin is [`StdPlatform`](crate::std_platform::StdPlatform); the
//! kernel's lives in the kernel-module crate; the simulator has its own,
//! driven by simulated time.

use crate::units::{Bytes, Hrtime, Pages};

/// Why a [`Platform::wait`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// A `broadcast` (or a spurious wake-up): re-check the condition.
    Signalled,
    /// The deadline passed.
    TimedOut,
    /// The waiting thread received a signal (`cv_timedwait_sig*` returned 0).
    Interrupted,
}

/// The kernel's free-memory figures that the headroom logic reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryFigures {
    /// `freemem`: pages on the free and cache lists.
    pub freemem: Pages,
    /// `lotsfree`: below it the page scanner runs. A waiter keeps this much
    /// free above what it allocates (with `desfree`), so a guest's start is
    /// never what sets the scanner paging processes out.
    pub lotsfree: Pages,
    /// `desfree`: the swapper's desperation threshold, the rest of the
    /// margin; together the margin is what `arc_available_memory()`'s
    /// `FMR_LOTSFREE` term keeps free anyway.
    pub desfree: Pages,
}

/// The figures a reservation's admission needs besides [`MemoryFigures`]:
/// what the host could hand over without paging anything out.
///
/// Every figure is a reading taken without the kernel's locks, as
/// `freemem` itself is; the estimate built on them is a judgement made
/// once per reservation, not an invariant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdmissionFigures {
    /// `availrmem`: pages not locked down (segkmem and `page_resv()`
    /// take from it; a guest's memory must come out of it too).
    pub availrmem: Pages,
    /// The part of `availrmem` the ARC keeps untouched:
    /// `pages_pp_maximum + arc_pages_pp_reserve`, below which
    /// `arc_available_memory()`'s `FMR_PAGES_PP_MAXIMUM` term shrinks the
    /// ARC and `page_pp_lock()` refuses to lock user pages.
    pub availrmem_floor: Pages,
    /// Bytes of the ARC that eviction could free now: the evictable data
    /// and metadata of the MRU and MFU lists. Buffers the dbuf caches hold
    /// are referenced, so they are not among them.
    pub arc_evictable: Bytes,
    /// Bytes the ARC has already evicted that wait in its kmem caches'
    /// full magazines: the next reap of those caches returns them.
    pub arc_evicted_cached: Bytes,
}

/// The kernel services the core uses.
///
/// # Safety
///
/// The core keeps its mutable state in an `UnsafeCell` and relies on this
/// trait for exclusion. An implementation must guarantee that:
/// - `lock` returns only when the calling thread is the only holder, and
///   the lock is not re-entrant (a second `lock` from the holder is never
///   made by the core);
/// - `unlock` and `wait` are called by the core only while it holds the
///   lock, and `wait` releases the lock and sleeps *atomically* with
///   respect to `broadcast` (a `broadcast` made by a thread that took the
///   lock after the waiter released it always wakes that waiter), and holds
///   the lock again when it returns, whatever it returns;
/// - `now` never goes backwards.
pub unsafe trait Platform: Sync {
    /// Takes the component's lock, sleeping if it is held.
    fn lock(&self);

    /// Takes the component's lock if it is free; returns whether it did.
    fn try_lock(&self) -> bool;

    /// Releases the component's lock.
    ///
    /// # Safety
    ///
    /// The calling thread holds the lock.
    unsafe fn unlock(&self);

    /// Releases the lock, sleeps until a `broadcast`, `deadline` or a
    /// signal, and takes the lock again.
    ///
    /// # Safety
    ///
    /// The calling thread holds the lock.
    unsafe fn wait(&self, deadline: Hrtime) -> Wake;

    /// Wakes every thread sleeping in [`wait`](Platform::wait).
    fn broadcast(&self);

    /// The current time on a clock that never goes backwards.
    fn now(&self) -> Hrtime;

    /// The current free-memory figures.
    fn memory(&self) -> MemoryFigures;

    /// The figures a reservation's admission needs besides
    /// [`memory`](Platform::memory) and [`arc_size`](Platform::arc_size).
    /// `None` from a platform with no view of the host's memory (a unit
    /// test's): reservations are then admitted by the ceiling rule alone.
    /// The kernel and the simulator always answer.
    fn admission_figures(&self) -> Option<AdmissionFigures>;

    /// The ARC's current size (all buffers, evictable or not).
    fn arc_size(&self) -> Bytes;

    /// Asks the ARC to start reclaiming now: the target `c` dropped below
    /// the ARC's size, or headroom was just reserved.
    fn kick_evictor(&self);

    /// Called just before the component opens a write section of the
    /// published limits' sequence lock, paired with
    /// [`exit_write_section`](Platform::exit_write_section) just after it
    /// closes. Readers and other writers spin while a section is open, so a
    /// kernel keeps the writer on its CPU in between (illumos:
    /// `kpreempt_disable()`). Must not block; nothing between the two calls
    /// blocks or calls back into the platform. The default does nothing.
    fn enter_write_section(&self) {}

    /// Closes what [`enter_write_section`](Platform::enter_write_section)
    /// opened (illumos: `kpreempt_enable()`). The default does nothing.
    fn exit_write_section(&self) {}
}
