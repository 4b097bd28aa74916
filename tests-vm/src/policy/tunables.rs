//! The project's kernel: the `zfs-tunables` component under the ARC,
//! `vmm-client` under bhyve, and `kstat-export` (the kernel side) with
//! `admin-syntax` (what the admin types and reads) for every admin path.
//!
//! Guest memory is set up a segment at a time, in the kernel's sequence,
//! through the same entry points the kernel module exports
//! (`vmm_client::ioctl_commands`): bhyve's `vm_setup_memory()` asks for
//! the segment above 4 GiB, then the low one; for each, `memseg_reserve()`
//! reserves its RAM plus `page_t` overhead (a later segment queued in its
//! guest's place), `memseg_poll()` each tick until the headroom is there
//! and claims it (60 s deadline), the driver takes the segment's pages
//! from the free lists at once (without `PG_WAIT`, keeping
//! `pageout_reserve`) and zeroes them at the allocation rate, and
//! `memseg_commit()` marks them allocated; any failure is
//! `memseg_release()`d, which frees and releases that segment only. The
//! errno bhyve sees is the ioctl's, `ioctl_errno`, as the kernel module
//! returns it: `ENOMEM` when the segment does not fit now or the allocator
//! failed (bhyve retries every second, keeping its instance and the
//! segments it has), `ENOSPC` when it can never fit, `ETIME` and `EINTR`
//! from the wait. A guest destroyed while a segment is in flight only has
//! its destruction begun: the segment rolls itself back at its next step.
//!
//! The admin has the four kstats (`zfs:0:arcstats`, the writable
//! `zfs:0:tunables`, `zfs:0:arc_headroom`, `vmm:0:arc_resv`) and the raw
//! variables with their sync tick, exactly as `kstat-export` implements
//! them over the component; `admin-syntax` parses what the admin types.

use std::rc::Rc;
use std::sync::Arc;

use admin_syntax::kstat_p::snapshots;
use admin_syntax::{
    parse_assignment, parse_mdb_write, perform_mdb_write, render_kstat_p, write_assignments,
    OperatorMessage,
};
use kstat_export::{Credential, KstatSet, RawVariables, Sources};
use vmm_client::ioctl_commands::{
    ioctl_errno, memseg_commit, memseg_poll, memseg_release, memseg_reserve, MemsegCreate,
    MemsegPolled,
};
use vmm_client::table_lock::StdTableLock;
use vmm_client::{
    bhyve_memsegs, ClientConfig, DestroyOutcome, DriverAllocates, VmmArcClient, VmmError,
};
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::{errno, ArcTunables, Bytes, Hrtime, ReservationId, TunableError, WaitTicket};

use crate::admin::{hrtime, kstat_lines, selector, AdminPaths};
use crate::event::{CreateStage, Detail, Event, EventRecord};
use crate::guest::{AllocFault, Guest, GuestMemory, InFlight, Phase};
use crate::log::{Log, Message};
use crate::machine::Machine;
use crate::params::{btopr, ptob, Params, HZ};
use crate::platform::SimPlatform;
use crate::vmmr::ReservoirHeadroom;

/// The component, as the ARC, vmm and the kstats share it.
pub type Component = Arc<ArcTunables<SimPlatform>>;

/// The project's vmm client, on the simulator's component.
pub type VmmClient = VmmArcClient<SimPlatform, Component, StdTableLock>;

/// The vmm client: it registers `vmm_arc_page_overhead` with the
/// component, and waits at most `vmm_wait_deadline_s`.
#[must_use]
pub fn vmm_client(component: &Component, p: &Params) -> Option<VmmClient> {
    let config = ClientConfig {
        wait_limit: Hrtime::from_secs(p.vmm_wait_deadline_s),
        ..ClientConfig::default()
    };
    VmmArcClient::with_config(Arc::clone(component), StdTableLock::new(), config).ok()
}

/// The project's guest memory: bhyve's creates through the vmm client
/// (none if the client could not register).
pub struct TunablesGuests {
    client: Option<Rc<VmmClient>>,
}

impl TunablesGuests {
    /// Creates through `client`.
    #[must_use]
    pub fn new(client: Option<Rc<VmmClient>>) -> TunablesGuests {
        TunablesGuests { client }
    }
}

impl GuestMemory for TunablesGuests {
    fn launch(&mut self, g: &mut Guest, m: &mut Machine, log: &mut Log) {
        if let Some(client) = &self.client {
            vm_create(g, m, log, client);
        }
    }

    fn setup_step(&mut self, g: &mut Guest, m: &mut Machine, log: &mut Log) {
        if let Some(client) = &self.client {
            step(g, m, log, client);
        }
    }

    fn destroy(&mut self, g: &mut Guest, m: &mut Machine) -> Option<CreateStage> {
        if let Some(client) = &self.client {
            if g.instance.is_some() {
                let r = client.destroy_by_name(g.name.as_bytes());
                if let (Ok(DestroyOutcome::Deferred), true) = (r, g.creation.is_some()) {
                    g.dying = true;
                    return Some(match g.phase {
                        Phase::HeadroomWait { .. } => CreateStage::WaitsForHeadroom,
                        _ => CreateStage::Allocates,
                    });
                }
            }
            g.instance = None;
            g.creation = None;
        }
        g.free_all(m);
        None
    }
}

/// `VMM_CREATE_VM` (bhyve's `vm_create()`, before `vm_setup_memory()`):
/// the instance, with no memory, then its first segment.
fn vm_create(g: &mut Guest, m: &mut Machine, log: &mut Log, client: &VmmClient) {
    m.sync_platform();
    match client.create_instance(g.name.as_bytes()) {
        Ok(id) => {
            g.instance = Some(id);
            reserve_segment(g, m, log, client);
        }
        Err(e) => setup_failed(g, m, log, client, e, Message::CannotReserve(e)),
    }
}

/// `VM_ALLOC_MEMSEG` for the segment bhyve's `vm_setup_memory()` is at
/// (high first, then low; a retry skips the segments that exist, as
/// libvmmapi does): its reservation, made or refused at once
/// (`arctun_vmm_reserve()`).
fn reserve_segment(g: &mut Guest, m: &mut Machine, log: &mut Log, client: &VmmClient) {
    let Some(id) = g.instance else {
        return;
    };
    m.sync_platform();
    let r = bhyve_memsegs(Bytes(g.requested)).and_then(|segs| {
        let seg = segs.get(g.seg).copied().ok_or(VmmError::OutOfOrder)?;
        memseg_reserve(
            client,
            id,
            i64::from(seg.segid.get()),
            seg.len.0,
            seg.sysmem,
        )
    });
    match r {
        Ok(c) => {
            g.creation = Some(InFlight::Waiting(c));
            g.phase = Phase::HeadroomWait {
                deadline: m.now + m.p.vmm_wait_deadline_s * HZ,
            };
        }
        Err(e) => setup_failed(g, m, log, client, e, Message::CannotReserve(e)),
    }
}

/// The ioctl failed with `e` (`why` says so), and its segment is rolled
/// back: bhyve retries `ENOMEM`, exits on anything else. An exiting
/// bhyve's VM is destroyed with its zone, so its instance and any segment
/// it had committed go.
fn setup_failed(
    g: &mut Guest,
    m: &mut Machine,
    log: &mut Log,
    client: &VmmClient,
    e: VmmError,
    why: Message,
) {
    let errno = ioctl_errno(e);
    if g.dying {
        // bhyve was killed; its instance's destruction, begun then,
        // finished with the rollback.
        exit_bhyve(g, m, client);
        g.fail(errno, why, log, m.now);
    } else if errno == zfs_tunables::errno::ENOMEM {
        // The reason once, not with every retry (unless it changes).
        if g.last_refusal.as_ref().is_none_or(|(_, last)| *last != why) {
            log.push(m.now, &g.name, why);
        }
        g.last_refusal = Some((errno, why));
        g.enomem_retry(m, log);
    } else {
        exit_bhyve(g, m, client);
        g.fail(errno, why, log, m.now);
        log.push(m.now, &g.name, Message::SetupFailed { errno });
    }
}

/// bhyve is gone for good: its instance is destroyed (unless its
/// destruction already began) and the memory of its committed segments is
/// freed.
fn exit_bhyve(g: &mut Guest, m: &mut Machine, client: &VmmClient) {
    if let (Some(id), false) = (g.instance.take(), g.dying) {
        m.sync_platform();
        let _ = client.destroy(id);
    }
    m.mem.vmm -= g.vmm_pages.min(m.mem.vmm);
    g.vmm_pages = 0;
}

/// The driver's `vm_object_allocate()` for a claimed segment: its pages
/// leave the free lists at once (`page_create_va()` without `PG_WAIT`:
/// `freemem` must stay above `pageout_reserve`) and become VMM Memory;
/// zeroing them takes the allocation rate. `ENOMEM` if they are not there
/// or the allocator refuses (an `alloc_fault`).
fn take_segment(g: &mut Guest, m: &mut Machine, log: &mut Log) -> Result<(), VmmError> {
    let pages = g.npages();
    let enomem = VmmError::AllocFailed {
        errno: zfs_tunables::errno::ENOMEM,
    };
    if m.mem.freemem().saturating_sub(m.thr.pageout_reserve) < pages {
        return Err(enomem);
    }
    if AllocFault::allow(&mut g.alloc_fault, g.vmm_pages, pages) < pages {
        log.push(
            m.now,
            &g.name,
            Message::AllocatorRefuses {
                bytes: ptob(pages),
                held: ptob(g.vmm_pages),
            },
        );
        return Err(enomem);
    }
    m.mem.take_free(pages);
    m.mem.vmm += pages;
    g.vmm_pages += pages;
    g.seg_created = pages;
    g.phase = Phase::Zeroing {
        until: m.now + Guest::zero_ticks(m, pages),
    };
    Ok(())
}

/// The driver frees the segment it took, after a failed commit.
fn free_segment(g: &mut Guest, m: &mut Machine) {
    let pages = g.seg_created.min(g.vmm_pages);
    m.mem.vmm -= pages.min(m.mem.vmm);
    g.vmm_pages -= pages;
    g.seg_created = 0;
}

/// One transition of the segment's create, the kernel's sequence: the
/// headroom wait and its claim (`arctun_vmm_wait()`), the driver taking
/// and zeroing the pages, the commit (`arctun_vmm_mark_allocated()`);
/// after any failure the release (`arctun_vmm_release()`).
fn step(g: &mut Guest, m: &mut Machine, log: &mut Log, client: &VmmClient) {
    match g.phase {
        Phase::RetrySleep { until } if m.now >= until => {
            g.phase = Phase::Setup;
            return;
        }
        Phase::Setup => {
            reserve_segment(g, m, log, client);
            return;
        }
        _ => {}
    }
    let Some(c) = g.creation.take() else {
        return;
    };
    m.sync_platform();
    let failed = match (g.phase, c) {
        (Phase::HeadroomWait { .. }, InFlight::Waiting(c)) => match memseg_poll(client, c) {
            Ok(MemsegPolled::Waiting(c)) => {
                g.creation = Some(InFlight::Waiting(c));
                None
            }
            Ok(MemsegPolled::Claimed(c)) => match take_segment(g, m, log) {
                Ok(()) => {
                    g.creation = Some(InFlight::Zeroing(c));
                    None
                }
                Err(e) => Some(memseg_release(
                    client,
                    MemsegCreate::Claimed(c),
                    &mut DriverAllocates,
                    e,
                )),
            },
            Err((c, e)) => Some(memseg_release(client, c, &mut DriverAllocates, e)),
        },
        (Phase::Zeroing { until }, InFlight::Zeroing(c)) if m.now >= until => {
            match memseg_commit(client, c, &mut DriverAllocates) {
                Ok(()) => {
                    g.segment_done(m);
                    None
                }
                Err(e) => {
                    free_segment(g, m);
                    Some(e)
                }
            }
        }
        (_, c) => {
            g.creation = Some(c);
            None
        }
    };
    if let Some(e) = failed {
        setup_failed(g, m, log, client, e, Message::Vmm(e));
    }
}

/// The vmm reservoir as a headroom owner of the component ("reservoir"),
/// as arctun-kmod's `OwnerTable` keeps one: one committed reservation for
/// what the reservoir holds, at most one growth in flight, waited for in
/// its place in the queue (60 s, `GROWTH_WAIT_LIMIT`), claimed when its
/// wait ends, then folded into the committed one or released.
pub struct ReservoirOwner {
    component: Component,
    held: Option<ReservationId>,
    growth: Option<OwnerGrowth>,
}

#[derive(Clone, Copy, Debug)]
struct OwnerGrowth {
    reservation: ReservationId,
    bytes: Bytes,
    deadline: Hrtime,
    ticket: WaitTicket,
}

impl ReservoirOwner {
    /// The owner, registered with `component`, holding nothing.
    #[must_use]
    pub fn new(component: Component) -> ReservoirOwner {
        ReservoirOwner {
            component,
            held: None,
            growth: None,
        }
    }
}

/// A component refusal as the owner entry points return it: `NeverFits`
/// is `ENOSPC` at an owner's boundary (arctun-kmod's `KmodError`), so the
/// caller does not retry.
fn owner_refusal(e: TunableError) -> (i32, String) {
    let errno = match e {
        TunableError::NeverFits { .. } => errno::ENOSPC,
        e => e.to_errno(),
    };
    (errno, e.to_string())
}

impl ReservoirHeadroom for ReservoirOwner {
    fn grow(&mut self, m: &Machine, bytes: u64) -> Result<(), (i32, String)> {
        if self.growth.is_some() {
            return Err((errno::EBUSY, "a growth is in flight".to_string()));
        }
        m.sync_platform();
        let bytes = Bytes(btopr(bytes) * crate::params::PAGESIZE);
        let reservation = self
            .component
            .reserve("reservoir", bytes)
            .map_err(owner_refusal)?;
        self.growth = Some(OwnerGrowth {
            reservation,
            bytes,
            deadline: crate::admin::hrtime(m.now)
                .saturating_add(Hrtime::from_secs(m.p.vmm_wait_deadline_s)),
            ticket: WaitTicket::default(),
        });
        Ok(())
    }

    fn poll(&mut self, m: &Machine) -> Result<bool, (i32, String)> {
        let Some(g) = self.growth.as_mut() else {
            return Ok(true);
        };
        m.sync_platform();
        let ready = self
            .component
            .poll_wait(g.reservation, g.deadline, &mut g.ticket)
            .and_then(|ready| {
                if ready {
                    self.component.claim(g.reservation)?;
                }
                Ok(ready)
            });
        match ready {
            Ok(r) => Ok(r),
            Err(e) => {
                self.release(m);
                Err(owner_refusal(e))
            }
        }
    }

    fn commit(&mut self, m: &Machine) {
        let Some(g) = self.growth.take() else {
            return;
        };
        m.sync_platform();
        let joined = match self.held {
            Some(held) => self.component.merge_allocated(held, g.reservation),
            None => self.component.mark_allocated(g.reservation, g.bytes),
        };
        match joined {
            Ok(()) => {
                if self.held.is_none() {
                    self.held = Some(g.reservation);
                }
            }
            // It cannot fail for a growth this owner made; if it did, the
            // headroom goes back, as arctun-kmod's commit does.
            Err(_) => {
                let _ = self.component.release(g.reservation);
            }
        }
    }

    fn release(&mut self, m: &Machine) {
        if let Some(g) = self.growth.take() {
            m.sync_platform();
            let _ = self.component.release(g.reservation);
        }
    }

    fn shrink(&mut self, m: &Machine, bytes: u64) {
        let Some(held) = self.held else {
            return;
        };
        m.sync_platform();
        let bytes = Bytes(btopr(bytes) * crate::params::PAGESIZE);
        if let Ok(Bytes(0)) = self.component.shrink(held, bytes) {
            self.held = None;
        }
    }
}

/// `/etc/system` at boot (before `finish_boot()`), through the component;
/// each applied value and each warning is an event at 0 s.
#[must_use]
pub fn apply_etc_system(component: &Component, lines: &[String]) -> Vec<EventRecord> {
    let mut out = Vec::new();
    if lines.is_empty() {
        return out;
    }
    let text = lines.join("\n");
    let report = admin_syntax::apply_etc_system(component.as_ref(), text.as_bytes());
    for (name, value, line) in &report.applied {
        out.push(EventRecord::done(
            0,
            Event::EtcSystem {
                line: usize::try_from(*line).unwrap_or(usize::MAX),
            },
            format!("{name} = {value}"),
        ));
    }
    for f in &report.findings {
        out.push(EventRecord::refused(
            0,
            Event::EtcSystem {
                line: usize::try_from(f.line).unwrap_or(usize::MAX),
            },
            errno::EINVAL,
            f.to_string(),
        ));
    }
    out
}

/// The project's admin paths.
pub struct TunablesAdmin {
    component: Component,
    vmm: Option<Rc<VmmClient>>,
    kstats: KstatSet,
    raw: RawVariables<AtomicU64>,
}

impl TunablesAdmin {
    /// The kstats and raw variables over `component`, with vmm's
    /// `arc_resv` from `vmm`.
    #[must_use]
    pub fn new(component: Component, vmm: Option<Rc<VmmClient>>) -> Option<TunablesAdmin> {
        Some(TunablesAdmin {
            kstats: KstatSet::new(Hrtime(0)).ok()?,
            raw: RawVariables::with_owned_cells(&component).ok()?,
            component,
            vmm,
        })
    }

    fn arc_resv_fields(&self) -> Option<[(&'static str, u64); vmm_client::ArcResvStats::FIELDS]> {
        self.vmm.as_ref().map(|c| c.stats().fields())
    }
}

impl AdminPaths for TunablesAdmin {
    fn kstat_read(&mut self, m: &Machine, sel: &str) -> Result<Vec<String>, (i32, String)> {
        let selector = selector(sel)?;
        let fields = self.arc_resv_fields();
        let mut src = Sources {
            tunables: self.component.as_ref(),
            arc_resv: fields.as_ref().map(|f| &f[..]),
            raw: None,
        };
        let snaps = snapshots(&mut self.kstats, &mut src, hrtime(m.now))
            .map_err(|e| (e.to_errno(), format!("kstat: {e}")))?;
        kstat_lines(&render_kstat_p(&snaps, &[selector]), sel)
    }

    fn kstat_write(&mut self, m: &Machine, w: &str) -> EventRecord {
        let ev = Event::KstatWrite {
            assignment: w.to_string(),
        };
        let a = match parse_assignment(w.as_bytes()) {
            Ok(a) => a,
            Err(error) => {
                let message = OperatorMessage::BadWriteRequest {
                    request: w.as_bytes(),
                    error,
                };
                return EventRecord::refused(m.now, ev, errno::EINVAL, format!("kstat: {message}"));
            }
        };
        let fields = self.arc_resv_fields();
        let mut src = Sources {
            tunables: self.component.as_ref(),
            arc_resv: fields.as_ref().map(|f| &f[..]),
            raw: Some(&mut self.raw as &mut dyn kstat_export::RecordApplied),
        };
        match write_assignments(
            &mut self.kstats,
            &mut src,
            std::slice::from_ref(&a),
            Credential::SysConfig,
            hrtime(m.now),
        ) {
            Ok(()) => {
                EventRecord::done(m.now, ev, format!("{} = {}", a.statistic.as_str(), a.value))
            }
            Err(error) => {
                let message = OperatorMessage::KstatWriteRefused { request: &a, error };
                EventRecord::refused(m.now, ev, error.to_errno(), format!("kstat: {message}"))
                    .with_detail(Detail::KstatRefused(error))
            }
        }
    }

    fn mdb_write(&mut self, m: &Machine, w: &str) -> EventRecord {
        let ev = Event::MdbWrite {
            command: w.to_string(),
        };
        let parsed = match parse_mdb_write(w.as_bytes()) {
            Ok(p) => p,
            Err(error) => {
                let message = OperatorMessage::MdbSyntax {
                    command: w.as_bytes(),
                    error,
                };
                return EventRecord::refused(m.now, ev, errno::EINVAL, format!("mdb: {message}"));
            }
        };
        let r = perform_mdb_write(&self.raw, &parsed)
            .map(|o| {
                format!(
                    "{}: 0x{:x} = 0x{:x} (the sync tick picks it up)",
                    o.name, o.old, o.new
                )
            })
            .map_err(|error| {
                let message = OperatorMessage::MdbWriteRefused {
                    write: &parsed,
                    error,
                };
                (error.to_errno(), format!("mdb: {message}"))
            });
        EventRecord::of(m.now, ev, r)
    }

    fn sync_tick(&mut self, m: &Machine) -> Vec<EventRecord> {
        let raw = &mut self.raw;
        let before: Vec<(&'static str, Option<u64>)> =
            raw.names().map(|n| (n, raw.last_applied(n))).collect();
        let mut warnings = Vec::new();
        raw.sync_tick(self.component.as_ref(), &mut |w| warnings.push(*w));
        let mut out = Vec::new();
        for w in warnings {
            let restored = Detail::Restored(w);
            out.push(
                EventRecord::refused(
                    m.now,
                    Event::Sync { variable: w.name },
                    w.error.to_errno(),
                    restored.to_string(),
                )
                .with_detail(restored),
            );
        }
        for (name, old) in before {
            let new = raw.last_applied(name);
            if new != old {
                let applied = Detail::Applied {
                    value: new.unwrap_or(0),
                };
                out.push(
                    EventRecord::done(
                        m.now,
                        Event::Sync { variable: name },
                        format!("{name} = {applied}"),
                    )
                    .with_detail(applied),
                );
            }
        }
        out
    }
}
