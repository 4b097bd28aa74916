//! The vmm reservoir of current illumos (`vmm_reservoir.c`), resized by
//! the admin's `rsrvrctl` (scenario action `rsrvrctl`).
//!
//! `rsrvrctl -a`, `-r` and `-s` compute a target and issue one
//! `VMM_RESV_SET_TARGET` ioctl, which blocks until it is done:
//! `vmmr_set_target()` refuses a second resize while one is under way
//! (`EALREADY`), then calls `vmmr_add()` or `vmmr_remove()` one chunk at a
//! time (the whole difference when no `-c` was given) until the reservoir
//! is at the target or a step fails; the chunks already added stay.
//!
//! `vmmr_add(sz, false)`: `ENOSPC` if the reservoir and every transient
//! allocation (in the model: all VMM Memory and what is reserved for it)
//! would pass `vmmr_total_limit` (`physmem` less 120% of
//! `pages_pp_maximum`); `page_xresv()` (at once if `availrmem >=
//! t_minarmem + npages`, else `page_needfree(npages)`, `kmem_reap()` and
//! quarter-second waits, without deadline: the same wait as a transient
//! guest's under `reservoir`); then `page_create_va()` page by page
//! without `PG_WAIT` (`freemem` must stay above `pageout_reserve`), each
//! page zeroed, at the allocation rate. A page that cannot be created
//! unwinds the step (its pages destroyed, `page_unresv()`) and the ioctl
//! fails with `ENOMEM`; `rsrvrctl` prints "Could not add N bytes to
//! reservoir" and exits, it does not retry. Nothing in it touches the
//! ARC: the ARC sees `availrmem` and `freemem` fall, and `needfree` while
//! `page_xresv()` waits, through `arc_available_memory()`.
//! `vmmr_remove(sz, false)`: `ENOSPC` above the reservoir's free memory,
//! else the pages are destroyed and `page_unresv()`ed at once.
//!
//! The reservoir's pages are `kvps[KV_VVP]` pages, so `::memstat` counts
//! them as VMM Memory, and locked (`p_lckcnt`), so they are out of
//! `availrmem`. The simulator's guests never take reservoir memory (their
//! memory is transient under `reservoir`), so all of the reservoir is
//! free memory of the reservoir and a shrink is only refused above its
//! size.
//!
//! Under `tunables` the reservoir is a headroom owner of the project's
//! component (patches/0003, `vmm_arc.c`; arctun-kmod's `owners.rs`): each
//! `vmmr_add()` first reserves what it is about to take (the ARC's
//! ceiling drops at once; `ENOSPC` if it can never fit, `ENOMEM` if not
//! next to the live reservations), waits until free memory covers it (60
//! s, `ETIME`), claims it, then takes the stock path above, which finds
//! `availrmem` ready; the headroom is committed once the pages are the
//! reservoir's and released if the step fails; `vmmr_remove()` gives back
//! exactly what it removed. [`ReservoirHeadroom`] is that owner, which
//! `policy::tunables` implements over the component.
//!
//! The 2021 kernels (`legacy`, `os8005`) have no reservoir: their vmm
//! answers `VMM_RESV_SET_TARGET` (an ioctl it does not know) with
//! `ENOTTY`, and nothing changes.

use crate::event::{errno_name, Detail, Event, EventRecord, ENOTTY};
use crate::machine::Machine;
use crate::params::{ms_to_ticks, per_tick, ptob, PAGESIZE};
use crate::scenario::Rsrvrctl;

/// The reservoir as a headroom owner of the project's component
/// (`tunables`): one growth in flight at most, errnos as the module's
/// `arctun_owner_*` entry points return them, each with the component's
/// reason.
pub trait ReservoirHeadroom {
    /// `arctun_owner_grow()`: reserves `bytes`, lowering the ARC's
    /// ceiling at once; never waits. `ENOSPC` if it can never fit,
    /// `ENOMEM` if not now, with nothing reserved.
    fn grow(&mut self, m: &Machine, bytes: u64) -> Result<(), (i32, String)>;
    /// One check of `arctun_owner_wait()`: `Ok(true)` once free memory
    /// covers the growth (then it is claimed), `Ok(false)` to check again
    /// next tick, `ETIME` at its deadline, with the growth released.
    fn poll(&mut self, m: &Machine) -> Result<bool, (i32, String)>;
    /// `arctun_owner_commit()`: the growth's pages are the reservoir's.
    fn commit(&mut self, m: &Machine);
    /// `arctun_owner_release()`: the growth failed; its headroom returns.
    fn release(&mut self, m: &Machine);
    /// `arctun_owner_shrink()`: `bytes` of committed headroom return.
    fn shrink(&mut self, m: &Machine, bytes: u64);
}

/// Which vmm the kernel has.
pub enum ReservoirKernel {
    /// The 2021 vmm: no reservoir.
    Absent,
    /// Current illumos, unpatched.
    Stock,
    /// Current illumos with the project's patches: a headroom owner.
    Headroom(Box<dyn ReservoirHeadroom>),
}

/// Where one `vmmr_add()` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// `arctun_owner_wait()` (`tunables`).
    HeadroomWait,
    /// `page_xresv()`'s loop: `needfree` raised, next check at `next`.
    XresvWait { next: u64 },
    /// `vmmr_alloc_pages()`: `created` of the step's pages so far.
    Creating { created: u64 },
}

/// One `vmmr_add()` in flight.
#[derive(Clone, Copy, Debug)]
struct Add {
    pages: u64,
    step: Step,
    /// `needfree` it holds (in `page_xresv()`'s loop).
    needfree: u64,
    /// Whether it holds a headroom growth.
    headroom: bool,
}

/// One `VMM_RESV_SET_TARGET` in flight.
#[derive(Clone, Debug)]
struct Resize {
    command: String,
    /// Target, pages.
    target: u64,
    /// Chunk, pages (0: the whole difference).
    chunk: u64,
    add: Option<Add>,
}

/// See the module documentation.
pub struct VmmReservoir {
    kernel: ReservoirKernel,
    /// Pages in the reservoir (all free: no guest allocates from it).
    pages: u64,
    resize: Option<Resize>,
}

impl VmmReservoir {
    /// An empty reservoir in `kernel`'s vmm.
    #[must_use]
    pub fn new(kernel: ReservoirKernel) -> VmmReservoir {
        VmmReservoir {
            kernel,
            pages: 0,
            resize: None,
        }
    }

    /// Bytes in the reservoir.
    #[must_use]
    pub fn size(&self) -> u64 {
        ptob(self.pages)
    }

    /// Whether no resize is under way.
    #[must_use]
    pub fn idle(&self) -> bool {
        self.resize.is_none()
    }

    /// `rsrvrctl` is run: refused at once, done at once, or under way
    /// (then [`step`](Self::step) reports its return).
    pub fn rsrvrctl(&mut self, r: &Rsrvrctl, m: &mut Machine) -> EventRecord {
        let ev = Event::Rsrvrctl {
            command: r.text.clone(),
        };
        if matches!(self.kernel, ReservoirKernel::Absent) {
            return EventRecord::refused(
                m.now,
                ev,
                ENOTTY,
                "rsrvrctl: Could not query reservoir sizing: Inappropriate ioctl for device \
                 (the 2021 vmm has no reservoir)"
                    .to_string(),
            );
        }
        if self.resize.is_some() {
            return EventRecord::refused(
                m.now,
                ev,
                zfs_tunables::errno::EALREADY,
                "rsrvrctl: Operation already in progress (another resize is under way)".to_string(),
            )
            .with_detail(self.detail());
        }
        let Some((target, chunk)) = r.target(self.size()) else {
            return EventRecord::done(m.now, ev, "the reservoir is empty".to_string())
                .with_detail(self.detail());
        };
        self.resize = Some(Resize {
            command: r.text.clone(),
            target: target / PAGESIZE,
            chunk: chunk / PAGESIZE,
            add: None,
        });
        match self.advance(m) {
            None => EventRecord::done(m.now, ev, "resizing".to_string()).with_detail(self.detail()),
            Some(end) => self.ended(m, ev, end),
        }
    }

    /// One tick of the resize under way: its return, once it returns.
    pub fn step(&mut self, m: &mut Machine) -> Option<EventRecord> {
        let command = self.resize.as_ref()?.command.clone();
        let end = self.advance(m)?;
        Some(self.ended(m, Event::RsrvrctlReturned { command }, end))
    }

    fn detail(&self) -> Detail {
        Detail::Reservoir {
            size: self.size(),
            resizing: self.resize.is_some(),
        }
    }

    /// The record of a resize that ended with `end`.
    fn ended(&mut self, m: &Machine, ev: Event, end: Result<(), (i32, String)>) -> EventRecord {
        self.resize = None;
        let size = self.size();
        let r = EventRecord::of(
            m.now,
            ev,
            end.map(|()| format!("the reservoir holds {size} bytes")),
        );
        r.with_detail(self.detail())
    }

    /// Advances the resize by what happens in one tick; `Some` once the
    /// ioctl returns.
    fn advance(&mut self, m: &mut Machine) -> Option<Result<(), (i32, String)>> {
        // A few transitions may happen in one tick (a chunk reserved, its
        // pages granted, the first of them made); progress within a step
        // (pages made, a wait that goes on) ends the tick.
        for _ in 0..4 {
            let resize = self.resize.as_ref()?;
            let Some(add) = resize.add else {
                let (target, chunk) = (resize.target, resize.chunk);
                if self.pages == target {
                    return Some(Ok(()));
                }
                let want = self.pages.abs_diff(target);
                let n = if chunk == 0 { want } else { want.min(chunk) };
                if self.pages > target {
                    self.remove(m, n);
                } else if let Err(e) = self.begin_add(m, n) {
                    return Some(Err(e));
                }
                continue;
            };
            let before = std::mem::discriminant(&add.step);
            let outcome = self.add_step(m, add);
            let resize = self.resize.as_mut()?;
            match outcome {
                Ok(Some(next)) => {
                    resize.add = Some(next);
                    if std::mem::discriminant(&next.step) == before {
                        return None;
                    }
                }
                Ok(None) => {
                    // The chunk's pages are the reservoir's.
                    resize.add = None;
                    self.pages += add.pages;
                    if let (true, ReservoirKernel::Headroom(h)) = (add.headroom, &mut self.kernel) {
                        h.commit(m);
                    }
                }
                Err(e) => {
                    resize.add = None;
                    return Some(Err(e));
                }
            }
        }
        None
    }

    /// `vmmr_remove(n pages)`: the pages are destroyed, `page_unresv()`ed,
    /// and (`tunables`) their headroom returned.
    fn remove(&mut self, m: &mut Machine, n: u64) {
        let n = n.min(self.pages);
        self.pages -= n;
        m.mem.vmm -= n.min(m.mem.vmm);
        if let ReservoirKernel::Headroom(h) = &mut self.kernel {
            h.shrink(m, ptob(n));
        }
    }

    /// `vmmr_add(n pages)` begins: its limit, then (`tunables`) its
    /// headroom; then `page_xresv()`.
    fn begin_add(&mut self, m: &mut Machine, n: u64) -> Result<(), (i32, String)> {
        let limit = (m.mem.physmem * 10).saturating_sub(m.thr.pages_pp_maximum * 12) / 10;
        let in_use = m.mem.vmm + m.mem.resv_unbacked;
        if in_use + n > limit {
            return Err((
                zfs_tunables::errno::ENOSPC,
                format!(
                    "vmmr_add() of {} bytes failed (ENOSPC): the reservoir and transient \
                     guest memory would pass vmmr_total_limit, {} bytes",
                    ptob(n),
                    ptob(limit)
                ),
            ));
        }
        let mut add = Add {
            pages: n,
            step: Step::XresvWait { next: m.now },
            needfree: 0,
            headroom: false,
        };
        if let ReservoirKernel::Headroom(h) = &mut self.kernel {
            h.grow(m, ptob(n)).map_err(|(e, why)| refused(n, e, &why))?;
            add.headroom = true;
            add.step = Step::HeadroomWait;
        }
        if let Some(r) = self.resize.as_mut() {
            r.add = Some(add);
        }
        Ok(())
    }

    /// One transition of `add`: `Ok(Some)` while it goes on, `Ok(None)`
    /// once its pages are made, `Err` if it failed (unwound).
    fn add_step(&mut self, m: &mut Machine, mut add: Add) -> Result<Option<Add>, (i32, String)> {
        let n = add.pages;
        match add.step {
            Step::HeadroomWait => {
                let ReservoirKernel::Headroom(h) = &mut self.kernel else {
                    add.step = Step::XresvWait { next: m.now };
                    return Ok(Some(add));
                };
                match h.poll(m) {
                    Ok(true) => add.step = Step::XresvWait { next: m.now },
                    Ok(false) => {}
                    Err((e, why)) => return Err(refused(n, e, &why)),
                }
                Ok(Some(add))
            }
            Step::XresvWait { next } if m.now >= next => {
                if m.mem.availrmem() >= m.p.t_minarmem + n {
                    m.mem.needfree_sub(add.needfree);
                    add.needfree = 0;
                    m.mem.resv_unbacked += n;
                    add.step = Step::Creating { created: 0 };
                } else {
                    if add.needfree == 0 {
                        m.mem.needfree_add(n);
                        add.needfree = n;
                    }
                    m.kmem_reap();
                    add.step = Step::XresvWait {
                        next: m.now + ms_to_ticks(m.p.vmmr_resv_wait_ms),
                    };
                }
                Ok(Some(add))
            }
            Step::XresvWait { .. } => Ok(Some(add)),
            Step::Creating { created } => {
                let left = n - created;
                let chunk = left.min(per_tick(m.p.alloc_rate) / PAGESIZE).max(1);
                let allowed = m.mem.freemem().saturating_sub(m.thr.pageout_reserve);
                let got = chunk.min(allowed);
                m.mem.take_free(got);
                m.mem.vmm += got;
                m.mem.resv_unbacked -= got.min(m.mem.resv_unbacked);
                let created = created + got;
                if got < chunk {
                    // A page could not be created: the step's pages are
                    // destroyed and the rest page_unresv()ed.
                    m.mem.vmm -= created.min(m.mem.vmm);
                    m.mem.resv_unbacked -= (n - created).min(m.mem.resv_unbacked);
                    if let (true, ReservoirKernel::Headroom(h)) = (add.headroom, &mut self.kernel) {
                        h.release(m);
                    }
                    return Err(refused(
                        n,
                        zfs_tunables::errno::ENOMEM,
                        "page_create_va() found freemem at pageout_reserve",
                    ));
                }
                if created == n {
                    return Ok(None);
                }
                add.step = Step::Creating { created };
                Ok(Some(add))
            }
        }
    }
}

/// The refusal of a `vmmr_add()` of `n` pages with `errno`, for `why`.
fn refused(n: u64, errno: i32, why: &str) -> (i32, String) {
    (
        errno,
        format!(
            "vmmr_add() of {} bytes failed ({}): {why}",
            ptob(n),
            errno_name(errno)
        ),
    )
}
