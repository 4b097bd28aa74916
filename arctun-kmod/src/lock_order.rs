//! The ranks of the module's locks and the check of the order they are
//! taken in, free of the kernel so that it runs in a unit test.
//!
//! [`state`](crate::state) states the order and takes every lock through
//! one function per lock, which in a debug build first asks this module
//! whether the calling thread may take it. What the thread holds is a
//! [`Held`] set, which the kernel wrapper builds from `mutex_owned()` of
//! each of the module's four mutexes: exact for an adaptive mutex, whose
//! owner word is `curthread`, and free of any per-thread storage the
//! kernel does not offer the module. The tests below build it from a
//! record of what a simulated thread holds, and take locks out of order;
//! this crate has no test harness of its own (`test = false`), so
//! `arctun-checks/tests/lock_order.rs` compiles this file in and runs
//! them, and runs the C tests against a build with debug assertions,
//! where every lock the module takes is checked.

use core::fmt;

/// One of the module's locks, by its place in the order: a thread takes
/// a lock only while every lock it holds ranks below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Rank {
    /// The admin lock: the raw-variable table and `ks_lock` of every
    /// kstat of the module.
    Admin = 0,
    /// vmm-client's instance table.
    InstanceTable = 1,
    /// The component's lock (the core's `Platform` lock), which the
    /// progress condition variable is waited on with.
    Component = 2,
    /// The callback lock, held while an ARC callback runs.
    Callback = 3,
}

impl Rank {
    /// Every rank, in the order.
    pub const ALL: [Rank; 4] = [
        Rank::Admin,
        Rank::InstanceTable,
        Rank::Component,
        Rank::Callback,
    ];

    /// The lock's name, as the lock-order table names it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Rank::Admin => "admin lock",
            Rank::InstanceTable => "instance table lock",
            Rank::Component => "component lock",
            Rank::Callback => "callback lock",
        }
    }

    /// The lock's number in the lock-order table (1 to 4).
    #[must_use]
    pub const fn number(self) -> u8 {
        (self as u8).saturating_add(1)
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The module's locks one thread holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held(u8);

impl Held {
    /// No lock.
    pub const NONE: Held = Held(0);

    /// The locks for which `holds` says yes (the kernel asks
    /// `mutex_owned()`).
    #[must_use]
    pub fn of(mut holds: impl FnMut(Rank) -> bool) -> Held {
        Rank::ALL
            .into_iter()
            .filter(|&r| holds(r))
            .fold(Held::NONE, Held::with)
    }

    /// These locks and `rank`.
    #[must_use]
    pub const fn with(self, rank: Rank) -> Held {
        Held(self.0 | rank.bit())
    }

    /// These locks but `rank`.
    #[must_use]
    pub const fn without(self, rank: Rank) -> Held {
        Held(self.0 & !rank.bit())
    }

    /// Whether `rank` is among them.
    #[must_use]
    pub const fn contains(self, rank: Rank) -> bool {
        self.0 & rank.bit() != 0
    }

    /// The highest-ranked lock among them.
    #[must_use]
    pub fn highest(self) -> Option<Rank> {
        Rank::ALL.into_iter().rev().find(|&r| self.contains(r))
    }
}

/// A lock taken, or a sleep begun, against the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// `taking` was taken while `held`, which ranks at or above it, was
    /// held (the same lock twice, when they are equal).
    OutOfOrder {
        /// The lock being taken.
        taking: Rank,
        /// The highest-ranked lock the thread held.
        held: Rank,
    },
    /// A thread slept on the progress condition variable while holding
    /// `held` besides the component lock.
    SleepsHolding {
        /// The highest-ranked such lock.
        held: Rank,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Violation::OutOfOrder { taking, held } if taking == held => write!(
                f,
                "lock order: the {} (lock {}) is taken by a thread that already holds it",
                taking.name(),
                taking.number()
            ),
            Violation::OutOfOrder { taking, held } => write!(
                f,
                "lock order: the {} (lock {}) is taken while the {} (lock {}) is held; \
                 the order is the admin lock, the instance table lock, the component lock, \
                 the callback lock",
                taking.name(),
                taking.number(),
                held.name(),
                held.number()
            ),
            Violation::SleepsHolding { held } => write!(
                f,
                "lock order: a thread sleeps for headroom holding the {} (lock {}); \
                 only the component lock may be held across the sleep",
                held.name(),
                held.number()
            ),
        }
    }
}

/// Whether a thread that holds `held` may take `taking`: only if every
/// lock it holds ranks below `taking`.
///
/// # Errors
///
/// [`Violation::OutOfOrder`] naming the highest-ranked lock held at or
/// above `taking`.
pub fn check_take(held: Held, taking: Rank) -> Result<(), Violation> {
    match held.highest() {
        Some(h) if h >= taking => Err(Violation::OutOfOrder { taking, held: h }),
        _ => Ok(()),
    }
}

/// Whether a thread that holds `held` may sleep on the progress condition
/// variable: with the component lock only (the wait releases it), never
/// with the admin or instance table lock, which every kstat read and
/// every VM operation would then wait behind for as long as the sleep.
///
/// # Errors
///
/// [`Violation::SleepsHolding`] naming the highest-ranked other lock.
pub fn check_sleep(held: Held) -> Result<(), Violation> {
    match held.without(Rank::Component).highest() {
        Some(h) => Err(Violation::SleepsHolding { held: h }),
        None => Ok(()),
    }
}

/// Panics, naming the violation, unless a thread holding `held` may take
/// `taking`: the assertion the kernel wrapper makes in a debug build
/// before each `mutex_enter()`.
#[track_caller]
pub fn assert_may_take(held: Held, taking: Rank) {
    if let Err(v) = check_take(held, taking) {
        violated(v);
    }
}

/// Panics, naming the violation, unless a thread holding `held` may sleep
/// on the progress condition variable: the kernel wrapper's assertion
/// before `cv_timedwait_sig_hrtime()`.
#[track_caller]
pub fn assert_may_sleep(held: Held) {
    if let Err(v) = check_sleep(held) {
        violated(v);
    }
}

#[cold]
#[track_caller]
#[expect(
    clippy::panic,
    reason = "a failed lock-order assertion panics, as a failed ASSERT() does in a DEBUG kernel"
)]
fn violated(v: Violation) -> ! {
    panic!("{v}")
}

#[cfg(test)]
mod tests {
    use super::{assert_may_sleep, assert_may_take, check_sleep, check_take, Held, Rank};
    use super::{Rank::*, Violation};

    /// A thread as the kernel wrapper sees it, with `mutex_owned()`
    /// replaced by a record of what the thread took and has not released.
    #[derive(Default)]
    struct Thread {
        held: Held,
    }

    impl Thread {
        /// What `state`'s `enter()` does: assert, then take.
        fn take(&mut self, rank: Rank) {
            let held = Held::of(|r| self.held.contains(r));
            assert_may_take(held, rank);
            self.held = self.held.with(rank);
        }

        fn release(&mut self, rank: Rank) {
            assert!(self.held.contains(rank), "{} released unheld", rank.name());
            self.held = self.held.without(rank);
        }

        /// What the kernel platform's `wait()` does before it sleeps.
        fn sleep(&self) {
            assert_may_sleep(self.held);
        }

        /// Takes `ranks` in turn, then releases them in reverse.
        fn nest(&mut self, ranks: &[Rank]) {
            for &r in ranks {
                self.take(r);
            }
            for &r in ranks.iter().rev() {
                self.release(r);
            }
            assert_eq!(self.held, Held::NONE);
        }
    }

    #[test]
    fn the_module_s_paths_take_their_locks_in_order() {
        let mut t = Thread::default();
        // The tick: a raw write lowers the ceiling, the evictor is kicked.
        t.nest(&[Admin, Component, Callback]);
        // A vmm:0:arc_resv read (the framework holds ks_lock).
        t.nest(&[Admin, InstanceTable]);
        // A segment's reservation under the table lock kicks the evictor.
        t.nest(&[InstanceTable, Component, Callback]);
        // The evictor kicked after the component lock is dropped, and an
        // ARC registration installing its callbacks.
        t.nest(&[Callback]);
        // A zfs:0:tunables write: the table, then the component.
        t.nest(&[Admin, Component]);
        // The wait for headroom holds the component lock only.
        t.take(Component);
        t.sleep();
        t.release(Component);
    }

    #[test]
    #[should_panic(
        expected = "lock order: the admin lock (lock 1) is taken while the component lock \
                    (lock 3) is held"
    )]
    fn taking_the_admin_lock_under_the_component_lock_fires() {
        let mut t = Thread::default();
        t.take(Component);
        t.take(Admin);
    }

    #[test]
    #[should_panic(
        expected = "lock order: the component lock (lock 3) is taken while the callback lock \
                    (lock 4) is held"
    )]
    fn an_arc_callback_calling_back_into_the_module_fires() {
        // aao_evict calling, say, arctun_arc_progress().
        let mut t = Thread::default();
        t.take(Component);
        t.take(Callback);
        t.take(Component);
    }

    #[test]
    #[should_panic(
        expected = "lock order: the instance table lock (lock 2) is taken while the component \
                    lock (lock 3) is held"
    )]
    fn taking_the_instance_table_under_the_component_lock_fires() {
        let mut t = Thread::default();
        t.take(InstanceTable);
        t.release(InstanceTable);
        t.take(Component);
        t.take(InstanceTable);
    }

    #[test]
    #[should_panic(
        expected = "lock order: the admin lock (lock 1) is taken by a thread that already holds it"
    )]
    fn taking_a_lock_twice_fires() {
        let mut t = Thread::default();
        t.take(Admin);
        t.take(Admin);
    }

    #[test]
    #[should_panic(
        expected = "lock order: a thread sleeps for headroom holding the instance table lock \
                    (lock 2)"
    )]
    fn sleeping_with_the_instance_table_held_fires() {
        let mut t = Thread::default();
        t.take(InstanceTable);
        t.take(Component);
        t.sleep();
    }

    /// Every set of held locks against every lock to take: refused exactly
    /// when some held lock ranks at or above it, naming the highest.
    #[test]
    fn check_take_refuses_exactly_the_pairs_against_the_order() {
        for bits in 0u8..16 {
            let held = Held::of(|r| bits & (1 << (r as u8)) != 0);
            for taking in Rank::ALL {
                let worst = Rank::ALL
                    .into_iter()
                    .rev()
                    .find(|&r| held.contains(r) && r >= taking);
                let expected = match worst {
                    Some(h) => Err(Violation::OutOfOrder { taking, held: h }),
                    None => Ok(()),
                };
                assert_eq!(check_take(held, taking), expected, "{held:?} {taking:?}");
            }
            let sleeps = check_sleep(held);
            assert_eq!(sleeps.is_ok(), held.without(Component) == Held::NONE);
        }
    }
}
