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
    use zfs_tunables::std_platform::FlagLock;

    use super::TableLock;

    /// The std twin of the kernel's `kmutex_t`: zfs-tunables'
    /// [`FlagLock`], which, unlike a `MutexGuard`, is taken and released
    /// by separate calls, as a `kmutex_t` is.
    #[derive(Debug, Default)]
    pub struct StdTableLock(FlagLock);

    impl StdTableLock {
        /// An unheld lock.
        #[must_use]
        pub fn new() -> Self {
            Self::default()
        }
    }

    // SAFETY: `FlagLock::lock` returns only to the thread that found the
    // flag clear and set it, both under the flag's mutex, so at most one
    // thread holds the lock until the holder calls `unlock`; the lock is
    // not re-entrant (a second `lock` on the holding thread would wait
    // forever, and the client never makes one).
    unsafe impl TableLock for StdTableLock {
        fn lock(&self) {
            self.0.lock();
        }

        unsafe fn unlock(&self) {
            self.0.unlock();
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
