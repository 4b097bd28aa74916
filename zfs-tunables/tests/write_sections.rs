//! The component brackets each publication of the limits for its platform
//! (where the kernel disables preemption), and calls nothing else of the
//! platform while a section is open.

#![cfg(not(loom))]

mod common;

use common::host_gib;
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::sync::{AtomicU64, Ordering};
use zfs_tunables::{
    AdmissionFigures, ArcTunables, Bytes, Generation, Hrtime, MemoryFigures, Platform, Wake, GIB,
};

/// `StdPlatform` that counts write sections and records any other platform
/// call made while one is open, or any section that nests or does not
/// pair.
#[derive(Debug)]
struct SectionPlatform {
    inner: StdPlatform,
    open: AtomicU64,
    sections: AtomicU64,
    violations: AtomicU64,
}

impl SectionPlatform {
    fn new() -> Self {
        SectionPlatform {
            inner: StdPlatform::manual(),
            open: AtomicU64::new(0),
            sections: AtomicU64::new(0),
            violations: AtomicU64::new(0),
        }
    }

    fn outside_a_section(&self) {
        if self.open.load(Ordering::SeqCst) != 0 {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn sections(&self) -> u64 {
        self.sections.load(Ordering::SeqCst)
    }

    fn violations(&self) -> u64 {
        self.violations.load(Ordering::SeqCst)
    }
}

// SAFETY: every method delegates to StdPlatform, which upholds the trait's
// contract; the counting around the calls changes nothing they do.
unsafe impl Platform for SectionPlatform {
    fn lock(&self) {
        self.outside_a_section();
        self.inner.lock();
    }

    fn try_lock(&self) -> bool {
        self.outside_a_section();
        self.inner.try_lock()
    }

    unsafe fn unlock(&self) {
        self.outside_a_section();
        // SAFETY: the core holds the lock, per the trait's contract.
        unsafe { self.inner.unlock() }
    }

    unsafe fn wait(&self, deadline: Hrtime) -> Wake {
        self.outside_a_section();
        // SAFETY: the core holds the lock, per the trait's contract.
        unsafe { self.inner.wait(deadline) }
    }

    fn broadcast(&self) {
        self.outside_a_section();
        self.inner.broadcast();
    }

    fn now(&self) -> Hrtime {
        self.outside_a_section();
        self.inner.now()
    }

    fn memory(&self) -> MemoryFigures {
        self.outside_a_section();
        self.inner.memory()
    }

    fn admission_figures(&self) -> Option<AdmissionFigures> {
        self.outside_a_section();
        self.inner.admission_figures()
    }

    fn arc_size(&self) -> Bytes {
        self.outside_a_section();
        self.inner.arc_size()
    }

    fn kick_evictor(&self) {
        self.outside_a_section();
        self.inner.kick_evictor();
    }

    fn enter_write_section(&self) {
        // A second open section would be a nested one.
        if self.open.fetch_add(1, Ordering::SeqCst) != 0 {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        self.sections.fetch_add(1, Ordering::SeqCst);
    }

    fn exit_write_section(&self) {
        if self.open.fetch_sub(1, Ordering::SeqCst) != 1 {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn booted() -> ArcTunables<SectionPlatform> {
    let t = ArcTunables::new(SectionPlatform::new(), host_gib(64), Generation::Current);
    t.finish_boot();
    let c = t.limits().c;
    t.platform().inner.set_arc_size(c);
    t
}

#[test]
fn every_publication_is_one_closed_section_with_nothing_inside() {
    let t = booted();
    let p = t.platform();
    assert!(p.sections() > 0, "boot publishes");
    assert_eq!(p.violations(), 0);

    // A write that lowers c below the ARC's size: one publication, and
    // the kick that follows it comes after the section closed.
    let before = p.sections();
    let kicks = p.inner.kicks();
    t.set("zfs_arc_max", 16 * GIB).unwrap();
    assert_eq!(t.limits().c_max, Bytes(16 * GIB));
    assert_eq!(p.sections(), before + 1);
    assert!(p.inner.kicks() > kicks);

    // A refused write publishes nothing.
    let before = p.sections();
    assert!(t.set("zfs_arc_max", 1).is_err());
    assert_eq!(p.sections(), before);

    // A reservation and its release each publish the new ceiling; a
    // release of a reservation still pending also cancels the cut of c
    // not yet evicted, in a section of its own.
    let before = p.sections();
    let id = t.reserve("test", Bytes(4 * GIB)).unwrap();
    t.release(id).unwrap();
    assert_eq!(p.sections(), before + 3);
    let before = p.sections();
    let id = t.reserve("test", Bytes(4 * GIB)).unwrap();
    t.mark_allocated(id, Bytes(4 * GIB)).unwrap();
    t.release(id).unwrap();
    assert_eq!(p.sections(), before + 2);

    assert_eq!(p.open.load(Ordering::SeqCst), 0);
    assert_eq!(p.violations(), 0);
}

/// `finish_boot()` moves `c` back to the ceiling in a write section of
/// its own, bracketed like every other publication. The ARC may have cut
/// `c` before boot ends (its reap thread already runs when `arc_init()`
/// registers), so the move is a real one.
#[test]
fn finish_boot_brackets_its_move_of_c() {
    let t = ArcTunables::new(SectionPlatform::new(), host_gib(64), Generation::Current);
    t.platform().enter_write_section();
    t.published()
        .reduce_target(Bytes(8 * GIB), Bytes(u64::MAX), 64);
    t.platform().exit_write_section();
    let c_before = t.limits().c;
    let sections = t.platform().sections();
    t.finish_boot();
    assert!(t.limits().c > c_before, "finish_boot moved c");
    assert_eq!(
        t.platform().sections(),
        sections + 1,
        "finish_boot opened a write section without enter_write_section()"
    );
    assert_eq!(t.platform().violations(), 0);
}

/// Building the component publishes and then sets `c` to the ceiling:
/// each in a bracketed section, so the sections counted match the
/// sequence lock's write sections.
#[test]
fn building_the_component_brackets_every_write_section() {
    let t = ArcTunables::new(SectionPlatform::new(), host_gib(64), Generation::Current);
    let p = t.platform();
    assert_eq!(p.sections(), 2, "one publication and one move of c");
    assert_eq!(p.open.load(Ordering::SeqCst), 0);
    assert_eq!(p.violations(), 0);
}
