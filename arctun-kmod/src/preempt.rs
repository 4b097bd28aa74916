//! Kernel preemption disabled around every write section of the published
//! limits' sequence lock.
//!
//! While a write section is open, snapshot readers and the other writers
//! (the ARC's allocation path among them) spin. A section is a handful of
//! stores, but an illumos kernel thread can be preempted inside the kernel
//! by a thread at or above `kpreemptpri` (real-time threads, and system
//! threads at `maxclsyspri`, which ZFS's I/O taskqs reach and which
//! allocate ARC buffers), and a preempted writer keeps everyone spinning
//! until it runs again: if the spinner is the thread that preempted it, on
//! the same CPU, until another CPU picks the writer up. So in this module
//! every write section runs with preemption disabled:
//!
//! - the component's publication of new limits (tunable writes, the tick,
//!   reservations and releases, registration), which zfs-tunables brackets
//!   with `Platform::enter_write_section()`/`exit_write_section()`, and
//!   [`KernelPlatform`](crate::state::KernelPlatform) implements
//!   with [`NoPreempt`]'s two calls;
//! - the ARC's own moves of `c` (`arctun_arc_set_target()`,
//!   `arctun_arc_grow_target()` unless `c` is already at the ceiling,
//!   `arctun_arc_reduce_target()`), which [`arc_entry`](crate::arc_entry)
//!   brackets with a [`NoPreempt`].
//!
//! Nothing else is: `arctun_arc_set_p()` is one store outside any section,
//! and a snapshot reader that is preempted only retries. Interrupts still
//! run inside a section: an interrupt thread pins the writer for as long as
//! its handler runs, which is bounded, and a section never blocks.
//!
//! `kpreempt_disable()` and `kpreempt_enable()` are macros of
//! `<sys/disp.h>` on `curthread->t_preempt` (and `CPU->cpu_kprunrun`),
//! which Rust cannot expand, and no function form exists; so the module's
//! C half (`uts/common/os/arctun.c`, in patch 0001) wraps each in a
//! function, local to the module (its mapfile exports only
//! `<sys/arctun.h>`). The declarations below quote the C definitions; the
//! artifact check allows exactly the functions that file defines, and
//! compares their prototypes with these.

use core::marker::PhantomData;

unsafe extern "C" {
    /// `void arctun_kpreempt_disable(void);` (`kpreempt_disable()`).
    pub fn arctun_kpreempt_disable();
    /// `void arctun_kpreempt_enable(void);` (`kpreempt_enable()`, which
    /// may switch to a thread that became runnable meanwhile).
    pub fn arctun_kpreempt_enable();
}

/// Preemption disabled for this thread until dropped. Not `Send`: it
/// stands for the count of the thread that made it.
#[must_use = "preemption is enabled again as soon as this guard is dropped"]
pub struct NoPreempt {
    _thread: PhantomData<*const ()>,
}

impl NoPreempt {
    /// `kpreempt_disable()`.
    #[inline]
    pub fn enter() -> Self {
        // SAFETY: kpreempt_disable() only increments curthread->t_preempt;
        // it is valid in any context, and Drop pairs it on this thread.
        unsafe { arctun_kpreempt_disable() };
        NoPreempt {
            _thread: PhantomData,
        }
    }
}

impl Drop for NoPreempt {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: pairs the kpreempt_disable() of `enter` on the same
        // thread (the guard is not Send).
        unsafe { arctun_kpreempt_enable() };
    }
}
