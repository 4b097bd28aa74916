//! Runs a scenario under one policy and records what an operator would
//! have seen.

use std::collections::HashMap;

use crate::event::{Event, EventRecord};
use crate::guest::{AllocFault, Guest, Phase};
use crate::log::Log;
use crate::machine::Machine;
use crate::params::{Params, HZ, PAGESIZE};
use crate::policy::{self, Policy};
use crate::scenario::{EventKind, Scenario};

/// `::memstat`'s categories, in pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memstat {
    /// Kernel.
    pub kernel: u64,
    /// Boot pages.
    pub boot: u64,
    /// ZFS File Data.
    pub zfs: u64,
    /// VMM Memory.
    pub vmm: u64,
    /// Anon.
    pub anon: u64,
    /// Exec and libs.
    pub exec: u64,
    /// Page cache.
    pub page_cache: u64,
    /// Free (cachelist).
    pub cachelist: u64,
    /// Free (freelist).
    pub freelist: u64,
    /// Total (`physmem`).
    pub total: u64,
}

impl Memstat {
    /// The host's `::memstat` now.
    #[must_use]
    pub fn of(m: &Machine) -> Memstat {
        Memstat {
            kernel: m.mem.kernel,
            boot: m.mem.boot,
            zfs: m.mem.zfs_pages(),
            vmm: m.mem.vmm,
            anon: m.mem.anon,
            exec: m.mem.exec,
            page_cache: m.mem.page_cache,
            cachelist: m.mem.cachelist,
            freelist: m.mem.freelist(),
            total: m.mem.physmem,
        }
    }

    /// (category, pages) in mdb's order; Boot pages, ZFS File Data and VMM
    /// Memory only when non-zero, as mdb prints them.
    #[must_use]
    pub fn rows(&self) -> Vec<(&'static str, u64)> {
        let mut v = vec![("Kernel", self.kernel)];
        if self.boot != 0 {
            v.push(("Boot pages", self.boot));
        }
        if self.zfs != 0 {
            v.push(("ZFS File Data", self.zfs));
        }
        if self.vmm != 0 {
            v.push(("VMM Memory", self.vmm));
        }
        v.push(("Anon", self.anon));
        v.push(("Exec and libs", self.exec));
        v.push(("Page cache", self.page_cache));
        v.push(("Free (cachelist)", self.cachelist));
        v.push(("Free (freelist)", self.freelist));
        v
    }

    /// Every category (including zero ones), for JSON.
    #[must_use]
    pub fn all(&self) -> [(&'static str, u64); 9] {
        [
            ("Kernel", self.kernel),
            ("Boot pages", self.boot),
            ("ZFS File Data", self.zfs),
            ("VMM Memory", self.vmm),
            ("Anon", self.anon),
            ("Exec and libs", self.exec),
            ("Page cache", self.page_cache),
            ("Free (cachelist)", self.cachelist),
            ("Free (freelist)", self.freelist),
        ]
    }

    /// mdb's `::memstat` output.
    #[must_use]
    pub fn render(&self) -> String {
        let mb = |p: u64| p * PAGESIZE / (1024 * 1024);
        let pct = |p: u64| (5 * self.total + p * 1000) / (self.total.max(1) * 10);
        let mut s = String::new();
        s.push_str("Page Summary                Pages                MB  %Tot\n");
        s.push_str("------------     ----------------  ----------------  ----\n");
        for (name, p) in self.rows() {
            s.push_str(&format!(
                "{name:<16} {p:>16}  {:>16}  {:>3}%\n",
                mb(p),
                pct(p)
            ));
        }
        s.push_str(&format!(
            "\nTotal            {:>16}  {:>16}\n",
            self.total,
            mb(self.total)
        ));
        s
    }
}

/// One guest's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct VmOutcome {
    /// Its name.
    pub name: String,
    /// Guest RAM, bytes.
    pub requested_bytes: u64,
    /// Whether its memory was set up.
    pub started: bool,
    /// Seconds from bhyve's start to memory set up.
    pub start_latency_s: Option<f64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// The errno, if it failed.
    pub errno: Option<i32>,
    /// Retry lines bhyve printed.
    pub retry_lines: u64,
    /// When bhyve started, seconds.
    pub created_at_s: f64,
    /// VMM Memory it holds at the end, bytes.
    pub held_bytes: u64,
    /// Whether it was destroyed.
    pub destroyed: bool,
}

/// One `kstat -p` read.
#[derive(Clone, Debug, PartialEq)]
pub struct KstatRead {
    /// When, seconds.
    pub at_s: f64,
    /// The selector.
    pub selector: String,
    /// The lines.
    pub lines: Vec<String>,
}

/// One sample of the plot's series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Seconds.
    pub t: f64,
    /// `freemem`, bytes.
    pub free: u64,
    /// ARC size, bytes.
    pub arc: u64,
    /// VMM Memory, bytes.
    pub vmm: u64,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The policy.
    pub policy: Policy,
    /// Each guest.
    pub vms: Vec<VmOutcome>,
    /// LWPs the swapper swapped out.
    pub lwps_swapped: u64,
    /// Pages the scanner paged out.
    pub pages_paged_out: u64,
    /// The lowest `freemem`, bytes.
    pub min_freemem_bytes: u64,
    /// ARC size before, bytes.
    pub arc_before_bytes: u64,
    /// ARC size after, bytes.
    pub arc_after_bytes: u64,
    /// The largest ARC leaving room for every started guest above
    /// `desfree` (see the crate documentation).
    pub arc_ideal_after_bytes: u64,
    /// Eviction plus allocation time of the bytes that had to move.
    pub start_lower_bound_s: f64,
    /// `::memstat` before.
    pub memstat_before: Memstat,
    /// `::memstat` after.
    pub memstat_after: Memstat,
    /// `::memstat` events.
    pub memstats: Vec<(f64, Memstat)>,
    /// Admin and lifecycle events.
    pub events: Vec<EventRecord>,
    /// `kstat -p` reads.
    pub kstat_reads: Vec<KstatRead>,
    /// bhyve's and the kernel's lines.
    pub log: Log,
    /// Plot series.
    pub series: Vec<Sample>,
    /// `desfree`, bytes.
    pub desfree_bytes: u64,
    /// `lotsfree`, bytes.
    pub lotsfree_bytes: u64,
    /// `c_min` at the end, bytes.
    pub c_min_bytes: u64,
    /// `c_max` at the end, bytes.
    pub c_max_bytes: u64,
    /// `c` at the end, bytes.
    pub c_bytes: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// System-wide kmem reaps.
    pub kmem_reaps: u64,
    /// What the kernel still owes at the end, for leak checks.
    pub owed_after: Owed,
}

/// What the stock kernels' own accounting still holds at the end of a run
/// (the project's kernel shows its accounting in its kstats instead).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Owed {
    /// `needfree`, pages (`vm_reserve_pages()`, `page_xresv()`).
    pub needfree_pages: u64,
    /// `availrmem` reserved and not backed by pages (`page_xresv()`).
    pub resv_unbacked_pages: u64,
    /// OS-8005's `arc_virt_machine_reserved`, pages.
    pub vm_arc_reserved_pages: u64,
}

/// How often the plot's series is sampled, ticks.
const SAMPLE_EVERY: u64 = HZ;

/// Runs `s` under `policy`.
#[must_use]
pub fn run(s: &Scenario, policy: Policy, base: &Params) -> RunResult {
    let mut p = base.clone();
    if let Some(r) = s.evict_rate {
        p.evict_rate = r;
    }
    if let Some(r) = s.alloc_rate {
        p.alloc_rate = r;
    }
    let policy::Booted {
        machine: mut m,
        guests: mut kernel,
        mut admin,
        mut events,
    } = policy::boot(policy, p, s);

    let mut guests: Vec<Guest> = Vec::new();
    // Live guests by name (failed and destroyed ones free their name).
    let mut live: HashMap<String, usize> = HashMap::new();
    let mut active: Vec<usize> = Vec::new();
    let mut log = Log::default();
    let mut kstat_reads = Vec::new();
    let mut memstats = Vec::new();
    let mut series = Vec::new();
    let mut before: Option<(Memstat, u64, u64)> = None;
    let first_late_create = s
        .events
        .iter()
        .find(|e| e.at > 0 && matches!(e.kind, EventKind::VmCreate { .. }))
        .map(|e| e.at);
    let mut next_event = 0usize;
    // Allocation faults armed for guests not created yet, by name.
    let mut armed: HashMap<String, AllocFault> = HashMap::new();

    loop {
        // Events due now.
        while let Some(e) = s.events.get(next_event) {
            if e.at > m.now {
                break;
            }
            next_event += 1;
            if Some(e.at) == first_late_create && before.is_none() {
                before = Some((Memstat::of(&m), m.mem.arc_size, m.mem.freemem()));
            }
            let at_s = m.secs();
            let at = m.now;
            match &e.kind {
                EventKind::VmCreate { name, ram } => {
                    let taken = live
                        .get(name)
                        .and_then(|&i| guests.get(i))
                        .is_some_and(|g| !matches!(g.phase, Phase::Destroyed | Phase::Failed));
                    if taken {
                        events.push(EventRecord::refused(
                            at,
                            Event::VmNameTaken { name: name.clone() },
                            zfs_tunables::errno::EEXIST,
                            format!("a guest named {name} exists"),
                        ));
                        continue;
                    }
                    let mut g = Guest::new(name, *ram, m.now, m.p.lowmem_limit);
                    g.alloc_fault = armed.remove(name);
                    kernel.launch(&mut g, &mut m, &mut log);
                    g.step(kernel.as_mut(), &mut m, &mut log);
                    let event = Event::VmCreate {
                        name: name.clone(),
                        ram: *ram,
                    };
                    events.push(match (&g.error, &g.last_refusal) {
                        (Some((errno, msg)), _) => {
                            EventRecord::refused(at, event, *errno, msg.to_string())
                        }
                        (None, Some((n, why))) => EventRecord::done(
                            at,
                            event,
                            format!(
                                "bhyve started; {} ({why}): bhyve retries every second",
                                zfs_tunables::errno::name(*n)
                            ),
                        ),
                        (None, None) => EventRecord::done(at, event, "bhyve started".to_string()),
                    });
                    guests.push(g);
                    let i = guests.len() - 1;
                    live.insert(name.clone(), i);
                    if guests.last().is_some_and(Guest::active) {
                        active.push(i);
                    }
                }
                EventKind::VmDestroy(name) => {
                    let found = live
                        .remove(name)
                        .and_then(|i| guests.get_mut(i))
                        .filter(|g| g.phase != Phase::Destroyed);
                    let event = Event::VmDestroy { name: name.clone() };
                    let rec = match found {
                        Some(g) => EventRecord::done(at, event, kernel.destroy(g, &mut m)),
                        None => EventRecord::refused(
                            at,
                            event,
                            zfs_tunables::errno::ENOENT,
                            format!("no guest named {name}"),
                        ),
                    };
                    events.push(rec);
                }
                EventKind::KstatWrite(w) => {
                    events.push(admin.kstat_write(&m, w));
                }
                EventKind::MdbWrite(w) => {
                    events.push(admin.mdb_write(&m, w));
                }
                EventKind::KstatRead(sel) => {
                    let lines = match admin.kstat_read(&m, sel) {
                        Ok(lines) => lines,
                        Err((errno, message)) => {
                            events.push(EventRecord::refused(
                                at,
                                Event::KstatRead {
                                    selector: sel.clone(),
                                },
                                errno,
                                message,
                            ));
                            Vec::new()
                        }
                    };
                    kstat_reads.push(KstatRead {
                        at_s,
                        selector: sel.clone(),
                        lines,
                    });
                }
                EventKind::Memstat => memstats.push((at_s, Memstat::of(&m))),
                EventKind::AllocFault { vm, after, times } => {
                    let fault = AllocFault {
                        after: *after,
                        refusals_left: *times,
                    };
                    let target = live
                        .get(vm)
                        .and_then(|&i| guests.get_mut(i))
                        .filter(|g| g.active());
                    let whom = match target {
                        Some(g) => {
                            g.alloc_fault = Some(fault);
                            format!("{vm}'s")
                        }
                        None => {
                            armed.insert(vm.clone(), fault);
                            format!("the next guest {vm}'s")
                        }
                    };
                    events.push(EventRecord::done(
                        at,
                        Event::AllocFault {
                            vm: vm.clone(),
                            after: *after,
                            times: *times,
                        },
                        format!(
                            "armed: {whom} allocator refuses what would take it past {after} bytes, {times} time(s)"
                        ),
                    ));
                }
                EventKind::EvictorStall(ticks) => {
                    m.arc.stalled_until = m.now.saturating_add(*ticks);
                    events.push(EventRecord::done(
                        at,
                        Event::EvictorStall { ticks: *ticks },
                        format!(
                            "the ARC's adjust thread evicts nothing until {:.2} s",
                            m.arc.stalled_until as f64 / HZ as f64
                        ),
                    ));
                }
                EventKind::Arcfill(rate) => {
                    m.arc.arcfill = *rate;
                    m.arc.reader_blocked = false;
                    events.push(EventRecord::done(
                        at,
                        Event::Arcfill { rate: *rate },
                        if *rate == 0 {
                            "reader stopped".to_string()
                        } else {
                            format!("reader at {rate} bytes/s")
                        },
                    ));
                }
            }
        }
        if before.is_none() && first_late_create.is_none() {
            before = Some((Memstat::of(&m), m.mem.arc_size, m.mem.freemem()));
        }
        if m.now.is_multiple_of(SAMPLE_EVERY) {
            series.push(Sample {
                t: m.secs(),
                free: m.mem.freemem_bytes(),
                arc: m.mem.arc_size,
                vmm: m.mem.vmm * PAGESIZE,
            });
        }
        if m.now >= s.duration {
            break;
        }

        // Guests.
        active.retain(|&i| guests.get(i).is_some_and(Guest::active));
        for &i in &active {
            if let Some(g) = guests.get_mut(i) {
                let had_failed = g.error.is_some();
                g.step(kernel.as_mut(), &mut m, &mut log);
                // A create that fails after its launch (a timeout, an
                // allocation failure, a destroy) is an event too.
                if let (false, Some((errno, message))) = (had_failed, &g.error) {
                    events.push(EventRecord::refused(
                        m.now,
                        Event::VmSetupFailed {
                            name: g.name.clone(),
                        },
                        *errno,
                        message.to_string(),
                    ));
                }
            }
        }
        // The raw-variable sync rides on the reap timer (once a second).
        if m.now.is_multiple_of(HZ) {
            events.extend(admin.sync_tick(&m));
        }

        // Jump over quiet stretches.
        let next_at = s
            .events
            .get(next_event)
            .map_or(s.duration, |e| e.at.min(s.duration));
        if active.is_empty() && m.quiescent() && next_at > m.now + HZ {
            let to = next_at - 1;
            series.push(Sample {
                t: m.secs(),
                free: m.mem.freemem_bytes(),
                arc: m.mem.arc_size,
                vmm: m.mem.vmm * PAGESIZE,
            });
            m.skip_to(to - to % SAMPLE_EVERY);
        }
        m.tick();
    }

    let (mb, arc_before, free_before) =
        before.unwrap_or((Memstat::of(&m), m.mem.arc_size, m.mem.freemem()));
    let after = Memstat::of(&m);
    let vms: Vec<VmOutcome> = guests
        .iter()
        .map(|g| VmOutcome {
            name: g.name.clone(),
            requested_bytes: g.requested,
            started: g.started_at.is_some(),
            start_latency_s: g.latency().map(|t| t as f64 / HZ as f64),
            error: g.error.as_ref().map(|e| e.1.to_string()),
            errno: g.error.as_ref().map(|e| e.0),
            retry_lines: g.retry_lines,
            created_at_s: g.created_at as f64 / HZ as f64,
            held_bytes: g.vmm_pages * PAGESIZE,
            destroyed: g.phase == Phase::Destroyed,
        })
        .collect();

    // The ideal: what "before" leaves for the ARC once every guest that
    // started after it (and still runs) is in memory, keeping desfree free.
    let late_started: u64 = guests
        .iter()
        .filter(|g| {
            g.started_at.is_some()
                && g.phase != Phase::Destroyed
                && Some(g.created_at) >= first_late_create
        })
        .map(|g| crate::params::ptob(crate::params::btopr(g.requested)))
        .sum();
    let desfree_b = m.thr.desfree * PAGESIZE;
    let room = (free_before * PAGESIZE).saturating_sub(desfree_b);
    let must_evict = late_started.saturating_sub(room).min(arc_before);
    let arc_ideal = arc_before - must_evict;
    let lower_bound = must_evict as f64 / m.p.evict_rate.max(1) as f64
        + late_started as f64 / m.p.alloc_rate.max(1) as f64;

    RunResult {
        policy,
        vms,
        lwps_swapped: m.swapper.lwps_swapped,
        pages_paged_out: m.pageout.pages_paged_out,
        min_freemem_bytes: m.min_freemem * PAGESIZE,
        arc_before_bytes: arc_before,
        arc_after_bytes: m.mem.arc_size,
        arc_ideal_after_bytes: arc_ideal,
        start_lower_bound_s: lower_bound,
        memstat_before: mb,
        memstat_after: after,
        memstats,
        events,
        kstat_reads,
        log,
        series,
        desfree_bytes: desfree_b,
        lotsfree_bytes: m.thr.lotsfree * PAGESIZE,
        c_min_bytes: m.arc.c_min(),
        c_max_bytes: m.arc.c_max(),
        c_bytes: m.arc.c(),
        duration_s: s.duration as f64 / HZ as f64,
        kmem_reaps: m.kmem.system_reaps,
        owed_after: Owed {
            needfree_pages: m.mem.needfree,
            resv_unbacked_pages: m.mem.resv_unbacked,
            vm_arc_reserved_pages: m.arc.vm_reserved_pages.unwrap_or(0),
        },
    }
}
