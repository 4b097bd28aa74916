//! The std twin of the kernel platform, for tests and userland tools.
//!
//! [`StdPlatform`] implements [`Platform`] with the locks of the
//! [`sync`](crate::sync) module (std's, or loom's under `--cfg loom`), a
//! clock that is either real or manual, and memory figures that the test
//! sets. A manual clock only moves when the test calls
//! [`advance`](StdPlatform::advance), which also wakes sleepers so they
//! see their deadline; tests synchronize on [`sleepers`] instead of
//! sleeping, so nothing depends on timing.
//!
//! [`sleepers`]: StdPlatform::sleepers

use crate::platform::{AdmissionFigures, MemoryFigures, Platform, Wake};
use crate::sync::{AtomicU64, Condvar, Mutex, MutexGuard, Ordering};
use crate::units::{Bytes, Hrtime, Pages};

/// Where [`StdPlatform::now`] comes from.
#[derive(Debug)]
enum Clock {
    /// Moves only through [`StdPlatform::advance`].
    Manual(AtomicU64),
    /// As `Manual`, but a thread about to sleep in `wait` moves it to its
    /// deadline instead (see [`StdPlatform::jumping`]).
    Jumping(AtomicU64),
    /// Real time since the platform was made.
    #[cfg(not(loom))]
    Real(std::time::Instant),
}

/// The condition variable's state.
#[derive(Debug, Default)]
struct CondState {
    /// Bumped by every broadcast.
    generation: u64,
    /// Signals posted and not yet taken by a waiter.
    signals: u64,
    /// Threads inside `wait`.
    sleepers: u64,
    /// Times a thread has gone to sleep on the condition variable: a
    /// waiter woken by anything (a broadcast, a clock advance) that sleeps
    /// again counts once more, which `sleepers` cannot show.
    sleeps_begun: u64,
}

/// A [`FlagLock`]'s state.
#[derive(Debug, Default)]
struct FlagState {
    /// Whether a thread holds the lock.
    held: bool,
    /// Threads waiting for it (so an uncontended unlock wakes nobody:
    /// std's `notify_one` costs a system call even with no waiter).
    waiting: u64,
}

/// Attempts to take a [`FlagLock`] by spinning before a contended
/// [`FlagLock::lock`] sleeps.
#[cfg(not(loom))]
const LOCK_SPIN_TRIES: u32 = 128;
/// CPU pause hints between two of those attempts.
#[cfg(not(loom))]
const LOCK_SPIN_PAUSES: u32 = 16;

/// The std twin of a `kmutex_t`: a flag under a mutex, waited on with a
/// condition variable, so that, unlike a `MutexGuard`, it is taken and
/// released by separate calls. Built on [`crate::sync`] (std's locks, or
/// loom's under `--cfg loom`). [`StdPlatform`]'s component lock, and the
/// std twins of other kernel locks (vmm-client's table lock).
#[derive(Debug, Default)]
pub struct FlagLock {
    state: Mutex<FlagState>,
    released: Condvar,
}

impl FlagLock {
    /// An unheld lock.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the lock, sleeping while another thread holds it.
    pub fn lock(&self) {
        // Like an illumos adaptive mutex, spin a little while the holder,
        // running on another CPU, finishes its short critical section,
        // before going to sleep: a sleep and its wakeup cost two system
        // calls, ten times the section itself. (Not under loom, where a
        // spin is only more interleavings to explore.)
        #[cfg(not(loom))]
        for _ in 0..LOCK_SPIN_TRIES {
            if self.try_lock() {
                return;
            }
            for _ in 0..LOCK_SPIN_PAUSES {
                std::hint::spin_loop();
            }
        }
        let mut l = relock(self.state.lock());
        while l.held {
            l.waiting = l.waiting.saturating_add(1);
            l = relock(self.released.wait(l));
            l.waiting = l.waiting.saturating_sub(1);
        }
        l.held = true;
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> bool {
        let mut l = relock(self.state.lock());
        if l.held {
            false
        } else {
            l.held = true;
            true
        }
    }

    /// Releases the lock (the caller holds it), waking one waiter if
    /// there is one.
    pub fn unlock(&self) {
        let mut l = relock(self.state.lock());
        l.held = false;
        if l.waiting > 0 {
            self.released.notify_one();
        }
    }
}

/// A userland [`Platform`]; see the module documentation.
#[derive(Debug)]
pub struct StdPlatform {
    held: FlagLock,
    cond: Mutex<CondState>,
    cond_cv: Condvar,
    clock: Clock,
    freemem: AtomicU64,
    lotsfree: AtomicU64,
    desfree: AtomicU64,
    arc_size: AtomicU64,
    admission: Mutex<Option<AdmissionFigures>>,
    kicks: AtomicU64,
}

fn relock<'a, T>(
    r: Result<MutexGuard<'a, T>, std::sync::PoisonError<MutexGuard<'a, T>>>,
) -> MutexGuard<'a, T> {
    // A poisoned lock means a test thread panicked; the state is still
    // usable for the remaining assertions.
    r.unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl StdPlatform {
    fn with_clock(clock: Clock) -> Self {
        StdPlatform {
            held: FlagLock::new(),
            cond: Mutex::new(CondState::default()),
            cond_cv: Condvar::new(),
            clock,
            freemem: AtomicU64::new(0),
            lotsfree: AtomicU64::new(0),
            desfree: AtomicU64::new(0),
            arc_size: AtomicU64::new(0),
            admission: Mutex::new(None),
            kicks: AtomicU64::new(0),
        }
    }

    /// A platform whose clock starts at zero and moves only when told.
    #[must_use]
    pub fn manual() -> Self {
        Self::with_clock(Clock::Manual(AtomicU64::new(0)))
    }

    /// A platform whose clock starts at zero and moves only when told,
    /// except that a `wait` that would sleep moves it to its deadline and
    /// times out: for a single-threaded test that checks what a call
    /// decides (a wait that cannot succeed ends in `ETIME`), where a
    /// sleep on [`manual`](Self::manual)'s clock would never end.
    #[must_use]
    pub fn jumping() -> Self {
        Self::with_clock(Clock::Jumping(AtomicU64::new(0)))
    }

    /// A platform on the real clock.
    #[cfg(not(loom))]
    #[must_use]
    pub fn real_time() -> Self {
        Self::with_clock(Clock::Real(std::time::Instant::now()))
    }

    /// Moves a manual clock forward by `d` and wakes sleepers so they see
    /// their deadlines. Does nothing on the real clock.
    pub fn advance(&self, d: Hrtime) {
        if let Clock::Manual(t) | Clock::Jumping(t) = &self.clock {
            // One read-modify-write: two racing advances both count.
            let _ = t.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(d.0))
            });
            let _c = relock(self.cond.lock());
            self.cond_cv.notify_all();
        }
    }

    /// Posts a signal: the thread in (or next entering) `wait` returns
    /// [`Wake::Interrupted`].
    pub fn interrupt(&self) {
        let mut c = relock(self.cond.lock());
        c.signals = c.signals.saturating_add(1);
        self.cond_cv.notify_all();
    }

    /// How many threads are asleep in `wait` right now.
    #[must_use]
    pub fn sleepers(&self) -> u64 {
        relock(self.cond.lock()).sleepers
    }

    /// How many times any thread has gone to sleep in `wait` so far (a
    /// waiter woken by a broadcast or a clock advance that sleeps again
    /// counts once more).
    #[must_use]
    pub fn sleeps_begun(&self) -> u64 {
        relock(self.cond.lock()).sleeps_begun
    }

    /// Sets `freemem`.
    pub fn set_freemem(&self, pages: Pages) {
        self.freemem.store(pages.0, Ordering::SeqCst);
    }

    /// Sets `lotsfree`.
    pub fn set_lotsfree(&self, pages: Pages) {
        self.lotsfree.store(pages.0, Ordering::SeqCst);
    }

    /// Sets `desfree`.
    pub fn set_desfree(&self, pages: Pages) {
        self.desfree.store(pages.0, Ordering::SeqCst);
    }

    /// Sets the ARC's size.
    pub fn set_arc_size(&self, bytes: Bytes) {
        self.arc_size.store(bytes.0, Ordering::SeqCst);
    }

    /// Sets the figures reservations are admitted by; `None` (the
    /// default) admits by the ceiling rule alone.
    pub fn set_admission(&self, figures: Option<AdmissionFigures>) {
        *relock(self.admission.lock()) = figures;
    }

    /// How many times the evictor was kicked.
    #[must_use]
    pub fn kicks(&self) -> u64 {
        self.kicks.load(Ordering::SeqCst)
    }
}

// SAFETY: `lock` is a mutual-exclusion lock, the [`FlagLock`] `held` (a
// flag guarded by a mutex, waited on with a condition variable); `wait` takes
// the condition's mutex *before* releasing the component lock and sleeps
// on the condition variable, so a `broadcast` (which needs the condition's
// mutex) made after the release is seen; `wait` retakes the component lock
// before returning on every path; the manual clock only moves forward.
unsafe impl Platform for StdPlatform {
    fn lock(&self) {
        self.held.lock();
    }

    fn try_lock(&self) -> bool {
        self.held.try_lock()
    }

    unsafe fn unlock(&self) {
        self.held.unlock();
    }

    unsafe fn wait(&self, deadline: Hrtime) -> Wake {
        let mut c = relock(self.cond.lock());
        let generation = c.generation;
        self.held.unlock();
        c.sleepers = c.sleepers.saturating_add(1);
        let wake = loop {
            if c.signals > 0 {
                c.signals = c.signals.saturating_sub(1);
                break Wake::Interrupted;
            }
            if c.generation != generation {
                break Wake::Signalled;
            }
            let now = self.now();
            if now >= deadline {
                break Wake::TimedOut;
            }
            c.sleeps_begun = c.sleeps_begun.saturating_add(1);
            c = match &self.clock {
                Clock::Manual(_) => relock(self.cond_cv.wait(c)),
                Clock::Jumping(t) => {
                    let _ = t.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                        Some(now.max(deadline.0))
                    });
                    c
                }
                #[cfg(not(loom))]
                Clock::Real(_) => {
                    let left = std::time::Duration::from_nanos(deadline.saturating_sub(now).0);
                    match self.cond_cv.wait_timeout(c, left) {
                        Ok((g, _)) => g,
                        Err(e) => e.into_inner().0,
                    }
                }
            };
        };
        c.sleepers = c.sleepers.saturating_sub(1);
        drop(c);
        self.held.lock();
        wake
    }

    fn broadcast(&self) {
        let mut c = relock(self.cond.lock());
        c.generation = c.generation.wrapping_add(1);
        // Sleepers register under this mutex before sleeping, so one that
        // is not counted yet will see the new generation.
        if c.sleepers > 0 {
            self.cond_cv.notify_all();
        }
    }

    fn now(&self) -> Hrtime {
        match &self.clock {
            Clock::Manual(t) | Clock::Jumping(t) => Hrtime(t.load(Ordering::SeqCst)),
            #[cfg(not(loom))]
            Clock::Real(start) => {
                Hrtime(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX))
            }
        }
    }

    fn memory(&self) -> MemoryFigures {
        MemoryFigures {
            freemem: Pages(self.freemem.load(Ordering::SeqCst)),
            lotsfree: Pages(self.lotsfree.load(Ordering::SeqCst)),
            desfree: Pages(self.desfree.load(Ordering::SeqCst)),
        }
    }

    fn admission_figures(&self) -> Option<AdmissionFigures> {
        *relock(self.admission.lock())
    }

    fn arc_size(&self) -> Bytes {
        Bytes(self.arc_size.load(Ordering::SeqCst))
    }

    fn kick_evictor(&self) {
        self.kicks.fetch_add(1, Ordering::SeqCst);
    }
}
