//! Guests and the four ways their memory is set up.
//!
//! bhyve's `vm_setup_memory()` makes two memory segments, first the one
//! above `VM_LOWMEM_LIMIT` (`VM_HIGHMEM`), then the one below; each is
//! allocated by the kernel path of the policy:
//!
//! - `legacy`: `vm_object_allocate()` → `vm_reserve_pages()` (if
//!   `availrmem < npages`: `page_needfree(npages)`, up to 60 polls of 1 s
//!   until `availrmem >= npages`, `page_needfree(-npages)`), then
//!   `vmem_alloc(KM_NOSLEEP)` → `segkmem_xalloc()`: `page_resv()` needs
//!   `availrmem >= t_minarmem + npages`, `page_create_va()` needs
//!   `freemem >= npages + pageout_reserve`; on failure `vmem_xalloc()`
//!   calls `kmem_reap()` and bhyve prints its retry line and sleeps 1 s.
//!   Pages are taken at once, then zeroed at the allocation rate.
//! - `os8005`: the same, after `vm_arc_resv()` at launch (refused with
//!   "Could not shrink ARC" when `pages + c_min > c_max`, pages against
//!   bytes), released at destroy.
//! - `reservoir`: `vmmr_add(sz, transient)`: `ENOSPC` above
//!   `vmmr_total_limit`; `page_xresv()` (succeeds if `availrmem >=
//!   t_minarmem + npages`, else `page_needfree(npages)` and a loop of
//!   `kmem_reap()` and quarter-second waits, without deadline); then page
//!   by page `page_create_va()` without `PG_WAIT` (`freemem >= 1 +
//!   pageout_reserve`), zeroing each page; a failure unwinds the segment
//!   and bhyve retries in 1 s.
//! - `tunables`: the project's vmm client (`vmm-client`) step by step:
//!   `begin_create()` reserves guest RAM plus `page_t` overhead for both
//!   segments, `poll_headroom()` each tick until the headroom is there (60 s
//!   deadline), `allocate_chunk()` each tick at the allocation rate (pages
//!   leave `freemem` without `PG_WAIT`, and are marked allocated as they
//!   do), `finish()`; any failure is `abort()`ed, which frees and
//!   releases everything.
//!
//! bhyve is the same under every policy: the 2021 `bhyverun.c` loop
//! around `vm_setup_memory()`. While the error is `ENOMEM` it prints
//! "Unable to allocate memory (N), retrying in 1 second", sleeps 1 s and
//! tries again; on any other error it prints "Unable to setup memory (N)"
//! and exits. Under `tunables` the errno bhyve sees is the ioctl's,
//! `vmm_client::ioctl_commands::ioctl_errno`, as the kernel module
//! returns it: `ENOMEM` when the reservation does not fit now or the
//! allocator failed (each retry is a new create, refused at once with
//! nothing reserved while there is no headroom), `ENOSPC` when it can
//! never fit, `ETIME` and `EINTR` from the wait.

use vmm_client::ioctl_commands::ioctl_errno;
use vmm_client::{
    bhyve_memsegs, AllocProgress, Creation, DestroyOutcome, InstanceId, SegmentAllocator,
    SegmentId, VmmError,
};
use zfs_tunables::Bytes;

use crate::log::{Log, Message};
use crate::machine::Machine;
use crate::params::{btopr, ms_to_ticks, per_tick, ptob, HZ, PAGESIZE};
use crate::policy::tunables::VmmClient;
use crate::policy::Policy;

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
    fn allow(fault: &mut Option<AllocFault>, held: u64, want: u64) -> u64 {
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

/// The driver's page allocator for a guest's segments: pages leave the
/// free lists at once (`page_create_va()` without `PG_WAIT`: `freemem`
/// must stay above `pageout_reserve`) and become VMM Memory.
struct GuestPages<'a> {
    m: &'a mut Machine,
    held: &'a mut u64,
    fault: &'a mut Option<AllocFault>,
    log: &'a mut Log,
    name: &'a str,
}

impl SegmentAllocator for GuestPages<'_> {
    fn allocate(&mut self, _: InstanceId, _: SegmentId, bytes: Bytes) -> Result<(), i32> {
        let pages = btopr(bytes.0);
        if self
            .m
            .mem
            .freemem()
            .saturating_sub(self.m.thr.pageout_reserve)
            < pages
        {
            return Err(zfs_tunables::errno::ENOMEM);
        }
        if AllocFault::allow(self.fault, *self.held, pages) < pages {
            self.log.push(
                self.m.now,
                self.name,
                Message::AllocatorRefuses {
                    bytes: ptob(pages),
                    held: ptob(*self.held),
                },
            );
            return Err(zfs_tunables::errno::ENOMEM);
        }
        self.m.mem.take_free(pages);
        self.m.mem.vmm += pages;
        *self.held += pages;
        Ok(())
    }

    fn free(&mut self, _: InstanceId, _: SegmentId, bytes: Bytes) {
        let pages = btopr(bytes.0).min(*self.held);
        self.m.mem.vmm -= pages.min(self.m.mem.vmm);
        *self.held -= pages;
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
    /// Allocating against the reservation (`tunables`).
    HeadroomAlloc {
        /// Pages still to allocate.
        left: u64,
    },
    /// The guest's memory is set up.
    Running,
    /// Setup failed for good (bhyve exited).
    Failed,
    /// Destroyed.
    Destroyed,
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
    /// `tunables`: its create in flight in the vmm client.
    pub creation: Option<Creation>,
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

    fn npages(&self) -> u64 {
        self.segs.get(self.seg).copied().unwrap_or(0)
    }

    fn fail(&mut self, errno: i32, msg: Message, log: &mut Log, now: u64) {
        log.push(now, &self.name, msg);
        self.error = Some((errno, msg));
        self.phase = if self.dying {
            Phase::Destroyed
        } else {
            Phase::Failed
        };
    }

    fn enomem_retry(&mut self, m: &mut Machine, log: &mut Log) {
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

    fn segment_done(&mut self, m: &Machine) {
        self.seg += 1;
        self.seg_created = 0;
        if self.seg >= self.segs.len() {
            self.phase = Phase::Running;
            self.started_at = Some(m.now);
        } else {
            self.phase = Phase::Setup;
        }
    }

    fn zero_ticks(m: &Machine, pages: u64) -> u64 {
        (ptob(pages).saturating_mul(HZ)).div_ceil(m.p.alloc_rate.max(1))
    }

    /// bhyve starts: the steps that happen at launch, before the first
    /// segment (`vm_arc_resv()` under `os8005`, the reservation under
    /// `tunables`).
    pub fn launch(
        &mut self,
        policy: Policy,
        m: &mut Machine,
        log: &mut Log,
        vmm: Option<&VmmClient>,
    ) {
        match policy {
            Policy::Os8005 => {
                let pages = btopr(self.requested);
                if let Err(e) = m.arc.virt_machine_reserve(pages) {
                    self.fail(e, Message::CouldNotShrinkArc, log, m.now);
                    return;
                }
                self.arc_resv_pages = pages;
            }
            Policy::Tunables => {
                if let Some(client) = vmm {
                    self.begin_tunables(m, log, client);
                }
            }
            Policy::Legacy | Policy::Reservoir => {}
        }
    }

    /// One tick of this guest's setup.
    pub fn step(
        &mut self,
        policy: Policy,
        m: &mut Machine,
        log: &mut Log,
        vmm: Option<&VmmClient>,
    ) {
        // A few transitions may happen in one tick (a segment that fits at
        // once, then the next one).
        for _ in 0..4 {
            let before = self.phase;
            match policy {
                Policy::Legacy | Policy::Os8005 => self.step_legacy(m, log),
                Policy::Reservoir => self.step_reservoir(m, log),
                Policy::Tunables => self.step_tunables(m, log, vmm),
            }
            // Progress within a phase (pages created this tick) ends the
            // tick; a change of phase may be followed by another.
            if std::mem::discriminant(&self.phase) == std::mem::discriminant(&before)
                || !self.active()
            {
                break;
            }
        }
    }

    fn step_legacy(&mut self, m: &mut Machine, log: &mut Log) {
        let npages = self.npages();
        match self.phase {
            Phase::Setup => {
                // vm_reserve_pages()
                if m.mem.availrmem() < npages {
                    m.mem.needfree_add(npages);
                    self.needfree_held = npages;
                    self.phase = Phase::ReserveWait {
                        polls_left: m.p.vm_reserve_retries,
                        next: m.now + ms_to_ticks(m.p.vm_reserve_poll_ms),
                    };
                } else {
                    self.vmem_alloc_nosleep(m, log);
                }
            }
            Phase::ReserveWait { polls_left, next } if m.now >= next => {
                let left = polls_left.saturating_sub(1);
                if m.mem.availrmem() >= npages || left == 0 {
                    m.mem.needfree_sub(self.needfree_held);
                    self.needfree_held = 0;
                    self.vmem_alloc_nosleep(m, log);
                } else {
                    self.phase = Phase::ReserveWait {
                        polls_left: left,
                        next: next + ms_to_ticks(m.p.vm_reserve_poll_ms),
                    };
                }
            }
            Phase::Zeroing { until } if m.now >= until => {
                self.segment_done(m);
            }
            Phase::RetrySleep { until } if m.now >= until => {
                self.phase = Phase::Setup;
            }
            _ => {}
        }
    }

    /// `vmem_alloc(vmm_alloc_arena, size, KM_NOSLEEP)` through
    /// `segkmem_xalloc()`.
    fn vmem_alloc_nosleep(&mut self, m: &mut Machine, log: &mut Log) {
        let npages = self.npages();
        let resv_ok = m.mem.availrmem() >= m.p.t_minarmem + npages;
        let create_ok = m.mem.freemem() >= npages + m.thr.pageout_reserve;
        let refused = resv_ok
            && create_ok
            && AllocFault::allow(&mut self.alloc_fault, self.vmm_pages, npages) < npages;
        if refused {
            log.push(
                m.now,
                &self.name,
                Message::AllocatorRefuses {
                    bytes: ptob(npages),
                    held: ptob(self.vmm_pages),
                },
            );
        }
        if resv_ok && create_ok && !refused {
            m.mem.take_free(npages);
            m.mem.vmm += npages;
            self.vmm_pages += npages;
            self.phase = Phase::Zeroing {
                until: m.now + Self::zero_ticks(m, npages),
            };
        } else {
            // vmem_xalloc(): the import failed; kmem_reap(), then give up
            // (VM_NOSLEEP).
            m.kmem_reap();
            self.enomem_retry(m, log);
        }
    }

    fn step_reservoir(&mut self, m: &mut Machine, log: &mut Log) {
        let npages = self.npages();
        match self.phase {
            Phase::Setup => {
                // vmmr_add(): the reservoir's limit, then page_xresv().
                let limit_pages =
                    (m.mem.physmem * 10).saturating_sub(m.thr.pages_pp_maximum * 12) / 10;
                let in_use = m.mem.vmm + m.mem.resv_unbacked;
                if in_use + npages > limit_pages {
                    let errno = zfs_tunables::errno::ENOSPC;
                    self.fail(errno, Message::SetupFailed { errno }, log, m.now);
                    return;
                }
                if m.mem.availrmem() >= m.p.t_minarmem + npages {
                    self.xresv_granted(m, npages);
                } else {
                    m.mem.needfree_add(npages);
                    self.needfree_held = npages;
                    m.kmem_reap();
                    self.phase = Phase::XresvWait {
                        next: m.now + ms_to_ticks(m.p.vmmr_resv_wait_ms),
                    };
                }
            }
            Phase::XresvWait { next } if m.now >= next => {
                if m.mem.availrmem() >= m.p.t_minarmem + npages {
                    m.mem.needfree_sub(self.needfree_held);
                    self.needfree_held = 0;
                    self.xresv_granted(m, npages);
                } else {
                    m.kmem_reap();
                    self.phase = Phase::XresvWait {
                        next: next + ms_to_ticks(m.p.vmmr_resv_wait_ms),
                    };
                }
            }
            Phase::Creating { left } => {
                let chunk = left.min(per_tick(m.p.alloc_rate) / PAGESIZE).max(1);
                let allowed = m.mem.freemem().saturating_sub(m.thr.pageout_reserve);
                let mut n = chunk.min(allowed);
                if n == chunk {
                    n = AllocFault::allow(&mut self.alloc_fault, self.vmm_pages, chunk);
                    if n < chunk {
                        log.push(
                            m.now,
                            &self.name,
                            Message::AllocatorRefuses {
                                bytes: ptob(chunk - n),
                                held: ptob(self.vmm_pages + n),
                            },
                        );
                    }
                }
                m.mem.take_free(n);
                m.mem.vmm += n;
                m.mem.resv_unbacked -= n.min(m.mem.resv_unbacked);
                self.unbacked -= n.min(self.unbacked);
                self.vmm_pages += n;
                self.seg_created += n;
                if n < chunk {
                    // vmmr_alloc_pages() failed: destroy what was made,
                    // page_unresv() the rest; bhyve sees ENOMEM.
                    m.mem.vmm -= self.seg_created;
                    self.vmm_pages -= self.seg_created;
                    self.seg_created = 0;
                    m.mem.resv_unbacked -= self.unbacked.min(m.mem.resv_unbacked);
                    self.unbacked = 0;
                    self.enomem_retry(m, log);
                } else if left - n == 0 {
                    self.segment_done(m);
                } else {
                    self.phase = Phase::Creating { left: left - n };
                }
            }
            Phase::RetrySleep { until } if m.now >= until => {
                self.phase = Phase::Setup;
            }
            _ => {}
        }
    }

    fn xresv_granted(&mut self, m: &mut Machine, npages: u64) {
        m.mem.resv_unbacked += npages;
        self.unbacked = npages;
        self.seg_created = 0;
        self.phase = Phase::Creating { left: npages };
    }

    /// bhyve's `vm_setup_memory()` under `tunables`: the create's first
    /// step, which reserves or is refused at once.
    fn begin_tunables(&mut self, m: &mut Machine, log: &mut Log, client: &VmmClient) {
        m.sync_platform();
        let r = bhyve_memsegs(Bytes(self.requested))
            .and_then(|segs| client.begin_create(self.name.as_bytes(), &segs));
        match r {
            Ok(c) => {
                self.creation = Some(c);
                self.phase = Phase::HeadroomWait {
                    deadline: m.now + m.p.vmm_wait_deadline_s * HZ,
                };
            }
            Err(e) => self.setup_failed(m, log, e, Message::CannotReserve(e)),
        }
    }

    /// The ioctl failed with `e` (`why` says so): bhyve retries `ENOMEM`,
    /// exits on anything else.
    fn setup_failed(&mut self, m: &mut Machine, log: &mut Log, e: VmmError, why: Message) {
        let errno = ioctl_errno(e);
        if self.dying {
            // bhyve was killed; its instance is gone.
            self.fail(errno, why, log, m.now);
        } else if errno == zfs_tunables::errno::ENOMEM {
            // The reason once, not with every retry (unless it changes).
            if self
                .last_refusal
                .as_ref()
                .is_none_or(|(_, last)| *last != why)
            {
                log.push(m.now, &self.name, why);
            }
            self.last_refusal = Some((errno, why));
            self.enomem_retry(m, log);
        } else {
            self.fail(errno, why, log, m.now);
            log.push(m.now, &self.name, Message::SetupFailed { errno });
        }
    }

    fn step_tunables(&mut self, m: &mut Machine, log: &mut Log, vmm: Option<&VmmClient>) {
        let Some(client) = vmm else {
            return;
        };
        match self.phase {
            Phase::RetrySleep { until } if m.now >= until => {
                self.phase = Phase::Setup;
                return;
            }
            Phase::Setup => {
                self.begin_tunables(m, log, client);
                return;
            }
            _ => {}
        }
        let Some(mut c) = self.creation.take() else {
            return;
        };
        m.sync_platform();
        let mut pages = GuestPages {
            m,
            held: &mut self.vmm_pages,
            fault: &mut self.alloc_fault,
            log,
            name: &self.name,
        };
        let outcome: Result<Option<Creation>, VmmError> = match self.phase {
            Phase::HeadroomWait { .. } => match client.poll_headroom(&mut c) {
                Ok(true) => {
                    self.phase = Phase::HeadroomAlloc {
                        left: self.segs.iter().sum(),
                    };
                    Ok(Some(c))
                }
                Ok(false) => Ok(Some(c)),
                Err(e) => Err(client.abort(c, &mut pages, e)),
            },
            Phase::HeadroomAlloc { left } => {
                let chunk = Bytes(per_tick(pages.m.p.alloc_rate));
                match client.allocate_chunk(&mut c, &mut pages, chunk) {
                    Ok(AllocProgress::More) => {
                        self.phase = Phase::HeadroomAlloc {
                            left: left.saturating_sub(btopr(chunk.0)),
                        };
                        Ok(Some(c))
                    }
                    Ok(AllocProgress::Done) => client.finish(c, &mut pages).map(|_| None),
                    Err(e) => Err(client.abort(c, &mut pages, e)),
                }
            }
            _ => Ok(Some(c)),
        };
        match outcome {
            Ok(Some(c)) => self.creation = Some(c),
            Ok(None) => {
                self.phase = Phase::Running;
                self.started_at = Some(m.now);
            }
            Err(e) => self.setup_failed(m, log, e, Message::Vmm(e)),
        }
    }

    /// The guest is destroyed: its pages are freed, and whatever it holds
    /// (needfree, reservations) is given back. Under `tunables` a guest
    /// whose create is in flight only has its destruction begun: the
    /// create rolls itself back at its next step (see the module
    /// documentation). Returns what happened, for the run's events.
    pub fn destroy(&mut self, m: &mut Machine, vmm: Option<&VmmClient>) -> String {
        if let Some(client) = vmm {
            if self.error.is_none() {
                let r = client.destroy_by_name(self.name.as_bytes());
                if let (Ok(DestroyOutcome::Deferred), true) = (r, self.creation.is_some()) {
                    self.dying = true;
                    let what = match self.phase {
                        Phase::HeadroomWait { .. } => "waits for headroom",
                        _ => "allocates",
                    };
                    return format!(
                        "destruction begun; its create {what} and rolls back at its next step"
                    );
                }
            }
            self.creation = None;
        }
        m.mem.vmm -= self.vmm_pages.min(m.mem.vmm);
        self.vmm_pages = 0;
        m.mem.resv_unbacked -= self.unbacked.min(m.mem.resv_unbacked);
        self.unbacked = 0;
        m.mem.needfree_sub(self.needfree_held);
        self.needfree_held = 0;
        if self.arc_resv_pages > 0 {
            m.arc.virt_machine_release(self.arc_resv_pages);
            self.arc_resv_pages = 0;
        }
        self.phase = Phase::Destroyed;
        "destroyed".to_string()
    }
}
