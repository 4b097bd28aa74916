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
        state: Mutex<LockState>,
        released: Condvar,
    }

    /// The flag and who waits for it.
    #[derive(Debug, Default)]
    struct LockState {
        /// Whether a thread holds the lock.
        held: bool,
        /// Threads waiting for it: an uncontended unlock wakes nobody
        /// (std's `notify_one` is a system call even with no waiter).
        waiting: u64,
    }

    fn relock<'a>(
        r: Result<MutexGuard<'a, LockState>, std::sync::PoisonError<MutexGuard<'a, LockState>>>,
    ) -> MutexGuard<'a, LockState> {
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
                state: Mutex::new(LockState::default()),
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
    // holder calls `unlock`; a waiter counts itself in `waiting` under the
    // same mutex before it sleeps, so the `unlock` that clears the flag
    // sees it and wakes it; the lock is not re-entrant (a second `lock` on
    // the holding thread would wait forever, and the client never makes
    // one).
    unsafe impl TableLock for StdTableLock {
        fn lock(&self) {
            let mut s = relock(self.state.lock());
            while s.held {
                s.waiting = s.waiting.saturating_add(1);
                s = relock(self.released.wait(s));
                s.waiting = s.waiting.saturating_sub(1);
            }
            s.held = true;
        }

        unsafe fn unlock(&self) {
            let mut s = relock(self.state.lock());
            s.held = false;
            if s.waiting > 0 {
                self.released.notify_one();
            }
        }
    }
}

#[cfg(all(test, feature = "std", not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::thread;

    use super::{StdTableLock, TableLock};

    /// Four threads take the lock in turn many times: at most one is ever
    /// inside, and every waiter is woken (a lost wakeup hangs the test).
    #[test]
    fn std_table_lock_excludes_and_wakes_every_waiter() {
        let lock = StdTableLock::new();
        let inside = AtomicU32::new(0);
        let entries = AtomicU32::new(0);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..5_000 {
                        lock.lock();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        entries.fetch_add(1, Ordering::SeqCst);
                        assert_eq!(inside.fetch_sub(1, Ordering::SeqCst), 1);
                        // SAFETY: this thread took the lock just above.
                        unsafe { lock.unlock() };
                    }
                });
            }
        });
        assert_eq!(entries.load(Ordering::SeqCst), 20_000);
    }
}
