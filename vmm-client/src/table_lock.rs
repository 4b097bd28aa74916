//! The lock that protects the instance table, as a small trait: a
//! `kmutex_t` in the kernel, [`StdTableLock`] in tests and the simulator.

/// Mutual exclusion for the instance table.
///
/// The client keeps its table in an `UnsafeCell` and relies on this trait
/// for exclusion, as zfs-tunables relies on its
/// [`Platform`](zfs_tunables::Platform) lock. The client never holds it
/// while it sleeps for headroom or allocates memory (see the crate
/// documentation for the protocol), so a plain adaptive mutex serves.
///
/// # Safety
///
/// An implementation must guarantee that `lock` returns only when the
/// calling thread is the only holder, and that the lock is not
/// re-entrant (the client never takes it twice on one thread).
pub unsafe trait TableLock: Sync {
    /// Takes the lock, sleeping while another thread holds it
    /// (`mutex_enter`).
    fn lock(&self);

    /// Releases the lock (`mutex_exit`).
    ///
    /// # Safety
    ///
    /// The calling thread holds the lock.
    unsafe fn unlock(&self);
}

#[cfg(feature = "std")]
pub use std_table_lock::StdTableLock;

#[cfg(feature = "std")]
mod std_table_lock {
    use zfs_tunables::sync::{Condvar, Mutex, MutexGuard};

    use super::TableLock;

    /// The std twin of the kernel's `kmutex_t`, built on
    /// [`zfs_tunables::sync`] (std's locks, or loom's under `--cfg loom`).
    ///
    /// A flag under a mutex, waited on with a condition variable: unlike a
    /// `MutexGuard`, it can be taken and released by separate calls, as a
    /// `kmutex_t` is.
    #[derive(Debug)]
    pub struct StdTableLock {
        held: Mutex<bool>,
        released: Condvar,
    }

    fn relock<'a>(
        r: Result<MutexGuard<'a, bool>, std::sync::PoisonError<MutexGuard<'a, bool>>>,
    ) -> MutexGuard<'a, bool> {
        // A poisoned mutex means a test thread panicked while holding the
        // flag's mutex (never while the table lock itself is held: the
        // flag's mutex is only held to flip the flag). The flag is valid.
        r.unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    impl StdTableLock {
        /// An unheld lock.
        #[must_use]
        pub fn new() -> Self {
            StdTableLock {
                held: Mutex::new(false),
                released: Condvar::new(),
            }
        }
    }

    impl Default for StdTableLock {
        fn default() -> Self {
            Self::new()
        }
    }

    // SAFETY: `lock` sets `held` only after seeing it clear, both under the
    // flag's mutex, so at most one thread returns from `lock` until the
    // holder calls `unlock`; the lock is not re-entrant (a second `lock` on
    // the holding thread would wait forever, and the client never makes
    // one).
    unsafe impl TableLock for StdTableLock {
        fn lock(&self) {
            let mut held = relock(self.held.lock());
            while *held {
                held = relock(self.released.wait(held));
            }
            *held = true;
        }

        unsafe fn unlock(&self) {
            let mut held = relock(self.held.lock());
            *held = false;
            self.released.notify_one();
        }
    }
}
