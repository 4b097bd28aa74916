//! One guest as bhyve starts it, and the trait each kernel's
//! guest-memory path implements.
//!
//! bhyve's `vm_setup_memory()` makes two memory segments, first the one
//! above `VM_LOWMEM_LIMIT` (`VM_HIGHMEM`), then the one below; each is
//! allocated by the kernel's path ([`GuestMemory`], one implementation per
//! policy under [`crate::policy`]).
//!
//! bhyve is the same under every policy: the 2021 `bhyverun.c` loop
//! around `vm_setup_memory()`. While the error is `ENOMEM` it prints
//! "Unable to allocate memory (N), retrying in 1 second", sleeps 1 s and
//! tries again; on any other error it prints "Unable to setup memory (N)"
//! and exits.

use vmm_client::{Claimed, Creation, InstanceId, Reserved};

use crate::event::CreateStage;
use crate::log::{Log, Message};
use crate::machine::Machine;
use crate::params::{btopr, ms_to_ticks, ptob, HZ, PAGESIZE};

/// A kernel's guest-memory path: what happens at bhyve's launch, at each
/// step of the guest's setup, and at its destroy.
pub trait GuestMemory {
    /// bhyve starts: the steps that happen at launch, before the first
    /// segment.
    fn launch(&mut self, g: &mut Guest, m: &mut Machine, log: &mut Log);
    /// One transition of the guest's setup.
    fn setup_step(&mut self, g: &mut Guest, m: &mut Machine, log: &mut Log);
    /// The guest is destroyed: `None` when its memory is freed now,
    /// `Some(stage)` when only its destruction has begun because its
    /// create is in flight at `stage` (it rolls back at its next step).
    fn destroy(&mut self, g: &mut Guest, m: &mut Machine) -> Option<CreateStage>;
}

/// An injected allocation failure (scenario action `alloc_fault`): the
/// allocator of one guest's memory refuses the allocation that would take
/// the guest past `after` bytes, `refusals_left` more times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocFault {
    /// Bytes the guest may hold before the allocator refuses.
    pub after: u64,
    /// Refusals still to come; the fault clears at zero.
    pub refusals_left: u64,
}

impl AllocFault {
    /// How many of `want` pages may be allocated by a guest holding `held`
    /// pages; fewer than `want` consumes one refusal.
    pub fn allow(fault: &mut Option<AllocFault>, held: u64, want: u64) -> u64 {
        let Some(f) = fault.as_mut().filter(|f| f.refusals_left > 0) else {
            return want;
        };
        let room = (f.after / PAGESIZE).saturating_sub(held);
        if want <= room {
            return want;
        }
        f.refusals_left -= 1;
        room
    }
}

/// Where a guest is in its memory setup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// bhyve is about to set up the current segment.
    Setup,
    /// In `vm_reserve_pages()`'s poll loop.
    ReserveWait {
        /// Polls left.
        polls_left: u64,
        /// Next poll.
        next: u64,
    },
    /// Pages taken; zeroing until then.
    Zeroing {
        /// Tick the zeroing ends.
        until: u64,
    },
    /// bhyve's `sleep(1)` after `ENOMEM`; then `vm_setup_memory()` again.
    RetrySleep {
        /// Tick it wakes.
        until: u64,
    },
    /// In `page_xresv()`'s loop.
    XresvWait {
        /// Next re-check.
        next: u64,
    },
    /// Creating pages one by one.
    Creating {
        /// Pages of the segment still to create.
        left: u64,
    },
    /// Waiting for headroom (`tunables`).
    HeadroomWait {
        /// The wait's deadline, in ticks.
        deadline: u64,
    },
    /// The guest's memory is set up.
    Running,
    /// Setup failed for good (bhyve exited).
    Failed,
    /// Destroyed.
    Destroyed,
}

/// `tunables`: a guest's create in flight in the vmm client, in the state
/// its last step left it.
#[derive(Debug)]
pub enum InFlight {
    /// The segment is reserved and waits for headroom.
    Waiting(Creation<Reserved>),
    /// Its headroom is claimed, its pages taken; they are being zeroed.
    Zeroing(Creation<Claimed>),
}

/// One guest.
#[derive(Debug)]
pub struct Guest {
    /// Its name.
    pub name: String,
    /// Guest RAM, bytes.
    pub requested: u64,
    /// When bhyve started, tick.
    pub created_at: u64,
    /// Segment sizes, pages.
    pub segs: Vec<u64>,
    /// The segment being set up.
    pub seg: usize,
    /// Where it is.
    pub phase: Phase,
    /// When its memory was set up.
    pub started_at: Option<u64>,
    /// Why it failed: errno and message.
    pub error: Option<(i32, Message)>,
    /// bhyve retry lines printed.
    pub retry_lines: u64,
    /// `tunables`: the last refusal bhyve retried, errno and why.
    pub last_refusal: Option<(i32, Message)>,
    /// Pages it holds (VMM Memory).
    pub vmm_pages: u64,
    /// Pages of the current segment created so far (reservoir, tunables).
    pub seg_created: u64,
    /// `availrmem` it reserved and has not backed yet.
    pub unbacked: u64,
    /// Whether it holds `needfree`, and how much.
    pub needfree_held: u64,
    /// OS-8005: pages of `arc_virt_machine_reserved` it holds.
    pub arc_resv_pages: u64,
    /// `tunables`: its vmm instance (`VMM_CREATE_VM`), until bhyve exits
    /// or the guest is destroyed.
    pub instance: Option<InstanceId>,
    /// `tunables`: its segment's create in flight in the vmm client.
    pub creation: Option<InFlight>,
    /// An armed allocation fault.
    pub alloc_fault: Option<AllocFault>,
    /// `tunables`: destroyed while its create was in flight; the create
    /// rolls back at its next step.
    pub dying: bool,
}

impl Guest {
    /// A guest bhyve starts now.
    #[must_use]
    pub fn new(name: &str, ram: u64, now: u64, lowmem_limit: u64) -> Guest {
        // vm_setup_memory() on illumos allocates VM_HIGHMEM (above the
        // low-memory limit) first, then VM_LOWMEM.
        let pages = btopr(ram);
        let low = pages.min(btopr(lowmem_limit));
        let mut segs = Vec::with_capacity(2);
        if pages > low {
            segs.push(pages - low);
        }
        segs.push(low);
        Guest {
            name: name.to_string(),
            requested: ram,
            created_at: now,
            segs,
            seg: 0,
            phase: Phase::Setup,
            started_at: None,
            error: None,
            retry_lines: 0,
            last_refusal: None,
            vmm_pages: 0,
            seg_created: 0,
            unbacked: 0,
            needfree_held: 0,
            arc_resv_pages: 0,
            instance: None,
            creation: None,
            alloc_fault: None,
            dying: false,
        }
    }

    /// Whether the guest still needs steps.
    #[must_use]
    pub fn active(&self) -> bool {
        !matches!(
            self.phase,
            Phase::Running | Phase::Failed | Phase::Destroyed
        )
    }

    /// Start latency in ticks.
    #[must_use]
    pub fn latency(&self) -> Option<u64> {
        self.started_at.map(|s| s - self.created_at)
    }

    /// Pages of the segment being set up.
    #[must_use]
    pub fn npages(&self) -> u64 {
        self.segs.get(self.seg).copied().unwrap_or(0)
    }

    /// The create failed for good with `errno`: the kernel's or bhyve's
    /// line `msg` is printed, and the guest has failed (or is gone, if it
    /// was being destroyed).
    pub fn fail(&mut self, errno: i32, msg: Message, log: &mut Log, now: u64) {
        log.push(now, &self.name, msg);
        self.error = Some((errno, msg));
        self.phase = if self.dying {
            Phase::Destroyed
        } else {
            Phase::Failed
        };
    }

    /// bhyve saw `ENOMEM`: it prints its retry line and sleeps a second.
    pub fn enomem_retry(&mut self, m: &mut Machine, log: &mut Log) {
        self.retry_lines += 1;
        log.push(
            m.now,
            &self.name,
            Message::RetryingAllocation {
                ram: self.requested,
            },
        );
        self.phase = Phase::RetrySleep {
            until: m.now + ms_to_ticks(m.p.bhyve_retry_ms),
        };
    }

    /// The segment is set up: on to the next, or the guest runs.
    pub fn segment_done(&mut self, m: &Machine) {
        self.seg += 1;
        self.seg_created = 0;
        if self.seg >= self.segs.len() {
            self.phase = Phase::Running;
            self.started_at = Some(m.now);
        } else {
            self.phase = Phase::Setup;
        }
    }

    /// Ticks to zero `pages` at the allocation rate.
    #[must_use]
    pub fn zero_ticks(m: &Machine, pages: u64) -> u64 {
        (ptob(pages).saturating_mul(HZ)).div_ceil(m.p.alloc_rate.max(1))
    }

    /// One tick of this guest's setup under `kernel`.
    pub fn step(&mut self, kernel: &mut dyn GuestMemory, m: &mut Machine, log: &mut Log) {
        // A few transitions may happen in one tick (a segment that fits at
        // once, then the next one).
        for _ in 0..4 {
            let before = self.phase;
            kernel.setup_step(self, m, log);
            // Progress within a phase (pages created this tick) ends the
            // tick; a change of phase may be followed by another.
            if std::mem::discriminant(&self.phase) == std::mem::discriminant(&before)
                || !self.active()
            {
                break;
            }
        }
    }

    /// The guest is gone: its pages are freed, and the `needfree` and
    /// `page_resv()`s it holds are given back.
    pub fn free_all(&mut self, m: &mut Machine) {
        m.mem.vmm -= self.vmm_pages.min(m.mem.vmm);
        self.vmm_pages = 0;
        m.mem.resv_unbacked -= self.unbacked.min(m.mem.resv_unbacked);
        self.unbacked = 0;
        m.mem.needfree_sub(self.needfree_held);
        self.needfree_held = 0;
        self.phase = Phase::Destroyed;
    }
}
