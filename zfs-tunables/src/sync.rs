//! The one place this crate gets its atomics, cells and (in std builds)
//! locks from.
//!
//! Under `--cfg loom` every item here is loom's model-checked twin, so the
//! loom tests explore every interleaving of the real code: the seqlock
//! that publishes the ARC's limits, the lock protocol of the platform
//! trait (through [`StdPlatform`](crate::std_platform::StdPlatform), which
//! is built on [`Mutex`] and [`Condvar`] from here), and the pending-bytes
//! counter read by `arc_available_memory()`. Nothing in the crate may
//! name `core::sync::atomic` or `std::sync` directly.

#[cfg(not(loom))]
pub use core::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};

#[cfg(loom)]
pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(all(not(loom), any(feature = "std", test)))]
pub use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Tells the processor (or loom's scheduler) that this thread is spinning.
#[inline]
pub fn spin_loop() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// An `UnsafeCell` whose accesses loom can check for data races.
///
/// The API is loom's (`with`, `with_mut` taking a raw pointer) so that the
/// same code compiles in both builds.
#[derive(Debug)]
pub struct UnsafeCell<T> {
    #[cfg(not(loom))]
    inner: core::cell::UnsafeCell<T>,
    #[cfg(loom)]
    inner: loom::cell::UnsafeCell<T>,
}

impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Self {
        UnsafeCell {
            inner: core::cell::UnsafeCell::new(value),
        }
    }

    /// Wraps `value`.
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        UnsafeCell {
            inner: loom::cell::UnsafeCell::new(value),
        }
    }

    /// Runs `f` with a shared pointer to the contents.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        #[cfg(not(loom))]
        {
            f(self.inner.get())
        }
        #[cfg(loom)]
        {
            self.inner.with(f)
        }
    }

    /// Runs `f` with an exclusive pointer to the contents.
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(not(loom))]
        {
            f(self.inner.get())
        }
        #[cfg(loom)]
        {
            self.inner.with_mut(f)
        }
    }
}
