//! The kmem layer between the ARC and free memory (`kmem.c`): the single
//! `kmem_taskq`, system-wide `kmem_reap()` with its 15 s self-throttle,
//! `kmem_cache_reap_soon()` of the ARC's caches, and the working sets of
//! their depots.
//!
//! The evicted buffers themselves are counted in
//! [`Memory::arc_depot`](crate::host::memory::Memory::arc_depot); this
//! layer keeps the taskq, the timers and the working-set limits, and
//! touches no counter but that one and `Kernel`.

use std::collections::VecDeque;

use crate::host::memory::Memory;
use crate::params::{per_tick, Params, HZ, PAGESIZE};

/// One unit of work on the single-threaded `kmem_taskq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KmemTask {
    /// `kmem_reap_start()`: every cache's `kmem_cache_reap()`. Lasts
    /// `Kernel / kmem_reap_scan_rate`; when it reaches the ARC's caches it
    /// reaps their depot within its working-set limits.
    SystemReap {
        /// Ticks of work left.
        ticks_left: u64,
    },
    /// `kmem_depot_ws_reap()` of the ARC's caches (queued by
    /// `kmem_cache_reap_soon()` or by the system reap): bytes still to
    /// return, `None` until it starts (the amount is fixed then).
    ArcWsReap {
        /// Bytes left, once started.
        bytes_left: Option<u64>,
    },
    /// `kmem_reap_done()`: arms the 15 s timer that clears `kmem_reaping`.
    ReapDone,
}

/// The kmem layer's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kmem {
    /// The taskq's queue; the head is running.
    pub queue: VecDeque<KmemTask>,
    /// `kmem_reaping`: a system-wide reap is running or was within 15 s.
    pub reaping: bool,
    /// When the 15 s timer clears `kmem_reaping`.
    pub reaping_clears_at: Option<u64>,
    /// `ml_min` of the ARC's caches' magazines, in bytes.
    pub depot_min: u64,
    /// `ml_reaplimit`, in bytes.
    pub depot_reaplimit: u64,
    /// Next `kmem_update()` (working-set refresh).
    pub next_update: u64,
    /// Kernel pages in full magazines outside the working sets, which the
    /// next system-wide reap returns.
    pub kernel_reapable: u64,
    /// System-wide reaps started (for the report).
    pub system_reaps: u64,
}

impl Kmem {
    /// The kmem layer at boot, over `kernel` pages of Kernel memory.
    #[must_use]
    pub fn boot(kernel: u64, p: &Params) -> Kmem {
        Kmem {
            next_update: p.kmem_reap_interval_s * HZ,
            kernel_reapable: kernel * p.kmem_kernel_reapable_permille.min(1000) / 1000,
            ..Kmem::default()
        }
    }

    /// `kmem_reap()`: a system-wide reap of `kernel` pages of Kernel
    /// memory, unless one ran within `kmem_reap_interval`
    /// (`kmem_reap_common()`'s flag).
    pub fn reap(&mut self, kernel: u64, p: &Params) {
        if self.reaping {
            return;
        }
        self.reaping = true;
        self.system_reaps += 1;
        let secs_x_hz = (kernel * PAGESIZE).saturating_mul(HZ) / p.kmem_reap_scan_rate.max(1);
        self.queue.push_back(KmemTask::SystemReap {
            ticks_left: secs_x_hz.max(1),
        });
        self.queue.push_back(KmemTask::ReapDone);
    }

    /// `kmem_cache_reap_active()`: the taskq has work.
    #[must_use]
    pub fn cache_reap_active(&self) -> bool {
        !self.queue.is_empty()
    }

    /// `kmem_cache_reap_soon()` on the ARC's caches: everything in their
    /// depot (`depot` bytes) becomes reapable (`kmem_depot_ws_zero()`),
    /// and a reap task is queued.
    pub fn cache_reap_soon(&mut self, depot: u64) {
        self.depot_reaplimit = depot;
        self.depot_min = depot;
        self.queue
            .push_back(KmemTask::ArcWsReap { bytes_left: None });
    }

    /// Evicted buffers go back to their caches' magazines.
    pub fn free_to_depot(mem: &mut Memory, bytes: u64) {
        mem.arc_depot = mem.arc_depot.saturating_add(bytes);
    }

    /// An ARC allocation takes buffers from the magazines first; returns
    /// how many bytes it got there.
    pub fn alloc_from_depot(&mut self, mem: &mut Memory, bytes: u64) -> u64 {
        let x = bytes.min(mem.arc_depot);
        mem.arc_depot -= x;
        self.depot_min = self.depot_min.min(mem.arc_depot);
        x
    }

    /// One tick of the taskq and its timers. Returns whether the ARC's
    /// header caches were reaped this tick: their reclaim callback,
    /// `hdr_recl()`, wakes the ARC's reap zthr.
    pub fn tick(&mut self, now: u64, mem: &mut Memory, p: &Params) -> bool {
        if now >= self.next_update {
            // kmem_update() -> kmem_depot_ws_update().
            self.depot_reaplimit = self.depot_min;
            self.depot_min = mem.arc_depot;
            self.next_update = now + p.kmem_reap_interval_s * HZ;
        }
        if let Some(t) = self.reaping_clears_at {
            if now >= t {
                self.reaping = false;
                self.reaping_clears_at = None;
            }
        }
        let mut budget = per_tick(p.kmem_reap_rate);
        while let Some(task) = self.queue.front_mut() {
            match task {
                KmemTask::SystemReap { ticks_left } => {
                    if *ticks_left > 1 {
                        *ticks_left -= 1;
                        return true;
                    }
                    // Every cache has been reaped within its working set:
                    // the kernel's idle magazines are gone, and the ARC's
                    // caches' depot goes the same way.
                    mem.kernel -= self.kernel_reapable.min(mem.kernel);
                    self.kernel_reapable = 0;
                    *task = KmemTask::ArcWsReap { bytes_left: None };
                    return false;
                }
                KmemTask::ArcWsReap { bytes_left } => {
                    let left = match bytes_left {
                        Some(b) => *b,
                        None => self.depot_reaplimit.min(self.depot_min),
                    };
                    let x = left.min(budget).min(mem.arc_depot);
                    mem.arc_depot -= x;
                    self.depot_min = self.depot_min.min(mem.arc_depot);
                    budget -= x;
                    let left = left - x;
                    if left == 0 || mem.arc_depot == 0 {
                        self.queue.pop_front();
                        if budget == 0 {
                            return false;
                        }
                    } else {
                        *bytes_left = Some(left);
                        return false;
                    }
                }
                KmemTask::ReapDone => {
                    self.queue.pop_front();
                    self.reaping_clears_at = Some(now + p.kmem_reap_interval_s * HZ);
                }
            }
        }
        false
    }

    /// Jumps the timers to tick `to` while the taskq is idle.
    pub fn skip_to(&mut self, to: u64, p: &Params) {
        if self.reaping_clears_at.is_some_and(|t| t <= to) {
            self.reaping = false;
            self.reaping_clears_at = None;
        }
        while self.next_update <= to {
            self.next_update += p.kmem_reap_interval_s * HZ;
        }
    }
}
