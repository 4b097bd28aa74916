//! What a run records while it runs, and what it produced.
//!
//! [`Recorder`] takes the operator's observations as the run goes: the
//! `::memstat` and `kstat -p` reads the scenario asks for, the plot's
//! series, and the host before the first guest bhyve starts after boot
//! (the "before" every report compares with). [`Recorder::finish`] reads
//! the machine and the fleet once at the end into a [`RunResult`].

use crate::event::{Event, EventRecord};
use crate::fleet::{Fleet, VmOutcome};
use crate::host::memstat::Memstat;
use crate::ideal::{ideal, HostBefore};
use crate::log::Log;
use crate::machine::Machine;
use crate::params::{HZ, PAGESIZE};
use crate::policy::Policy;
use crate::scenario::{EventKind, Scenario};

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
    /// Kernel, bytes.
    pub kernel: u64,
    /// Bytes the ARC has evicted that are still in its kmem caches'
    /// magazines (ZFS File Data, but no longer the ARC's size).
    pub depot: u64,
    /// Boot pages, Anon, Exec and libs and Page cache, bytes.
    pub other: u64,
    /// `physmem`, bytes.
    pub total: u64,
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
    /// The scenario's ideal ARC afterwards, the same for every policy
    /// ([`crate::ideal`]).
    pub arc_ideal_after_bytes: u64,
    /// The scenario's shortest start: eviction plus allocation time of
    /// the guests the host can hold ([`crate::ideal`]).
    pub start_lower_bound_s: f64,
    /// The host before, as the ideal reads it.
    pub host_before: HostBefore,
    /// Seconds during which any ZFS allocation waited for eviction
    /// (`arc_is_overflowing()`), in the whole run.
    pub zfs_blocked_s: f64,
    /// Of those, the seconds inside some guest's start (from bhyve's start
    /// to its memory set up, or the end of the run), for guests created
    /// after boot.
    pub zfs_blocked_in_starts_s: f64,
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

/// Ticks in seconds.
fn ticks_s(t: u64) -> f64 {
    t as f64 / HZ as f64
}

/// Ticks of `blocked` (disjoint stretches) inside the union of `windows`.
fn overlap(blocked: &[(u64, u64)], windows: &[(u64, u64)]) -> u64 {
    blocked
        .iter()
        .map(|&(a, b)| {
            (a..b)
                .filter(|t| windows.iter().any(|&(w0, w1)| (w0..w1).contains(t)))
                .count() as u64
        })
        .sum()
}

/// How often the plot's series is sampled, ticks.
const SAMPLE_EVERY: u64 = HZ;

/// The host before the guests the comparison is about.
#[derive(Clone, Copy, Debug)]
struct Before {
    memstat: Memstat,
    arc_bytes: u64,
    host: HostBefore,
}

impl Before {
    /// The host `m` as the ideal sees it: the memory guests still setting
    /// up (`fleet`) have yet to take is theirs, not free.
    fn of(m: &Machine, fleet: &Fleet) -> Before {
        let (to_take, to_reserve) = fleet.still_to_take();
        Before {
            memstat: Memstat::of(&m.mem),
            arc_bytes: m.mem.arc_size,
            host: HostBefore {
                freemem: m.mem.freemem_bytes().saturating_sub(to_take),
                arc: m.mem.arc_size,
                arc_depot: m.mem.arc_depot,
                c_min: m.arc.c_min(),
                c_max: m.arc.c_max(),
                keep_free: (m.thr.lotsfree + m.thr.desfree) * PAGESIZE,
                availrmem: (m.mem.availrmem() * PAGESIZE).saturating_sub(to_reserve),
                availrmem_floor: (m.thr.pages_pp_maximum + m.p.arc_pages_pp_reserve) * PAGESIZE,
            },
        }
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct Recorder {
    /// When the first guest created after boot starts, tick.
    first_late_create: Option<u64>,
    before: Option<Before>,
    kstat_reads: Vec<KstatRead>,
    memstats: Vec<(f64, Memstat)>,
    series: Vec<Sample>,
}

impl Recorder {
    /// A recorder for a run of `s`.
    #[must_use]
    pub fn new(s: &Scenario) -> Recorder {
        Recorder {
            first_late_create: s
                .events
                .iter()
                .find(|e| e.at > 0 && matches!(e.kind, EventKind::VmCreate { .. }))
                .map(|e| e.at),
            before: None,
            kstat_reads: Vec::new(),
            memstats: Vec::new(),
            series: Vec::new(),
        }
    }

    /// A scenario event due at `at` is about to happen: the host is
    /// "before" if it is the first guest created after boot.
    pub fn event_due(&mut self, at: u64, m: &Machine, fleet: &Fleet) {
        if Some(at) == self.first_late_create && self.before.is_none() {
            self.before = Some(Before::of(m, fleet));
        }
    }

    /// The events due this tick happened: with no guest created after
    /// boot, "before" is now; the series takes a sample once a second.
    pub fn events_done(&mut self, m: &Machine, fleet: &Fleet) {
        if self.before.is_none() && self.first_late_create.is_none() {
            self.before = Some(Before::of(m, fleet));
        }
        if m.now.is_multiple_of(SAMPLE_EVERY) {
            self.sample(m);
        }
    }

    /// A sample of the series now.
    pub fn sample(&mut self, m: &Machine) {
        self.series.push(Sample {
            t: m.secs(),
            free: m.mem.freemem_bytes(),
            arc: m.mem.arc_size,
            vmm: m.mem.vmm * PAGESIZE,
            kernel: m.mem.kernel * PAGESIZE,
            depot: m.mem.arc_depot,
            other: (m.mem.boot + m.mem.anon + m.mem.exec + m.mem.page_cache) * PAGESIZE,
            total: m.mem.physmem * PAGESIZE,
        });
    }

    /// Time may jump to tick `to` while the host is quiescent: the tick the
    /// jump lands on, on the series' grid, after a sample now.
    pub fn skip_target(&mut self, m: &Machine, to: u64) -> u64 {
        self.sample(m);
        to - to % SAMPLE_EVERY
    }

    /// `::memstat` now.
    pub fn memstat(&mut self, m: &Machine) {
        self.memstats.push((m.secs(), Memstat::of(&m.mem)));
    }

    /// `kstat -p SELECTOR` printed `read`; a read that failed is an event
    /// too.
    pub fn kstat_read(
        &mut self,
        m: &Machine,
        selector: &str,
        read: Result<Vec<String>, (i32, String)>,
    ) -> Option<EventRecord> {
        let (lines, refusal) = match read {
            Ok(lines) => (lines, None),
            Err((errno, message)) => (
                Vec::new(),
                Some(EventRecord::refused(
                    m.now,
                    Event::KstatRead {
                        selector: selector.to_string(),
                    },
                    errno,
                    message,
                )),
            ),
        };
        self.kstat_reads.push(KstatRead {
            at_s: m.secs(),
            selector: selector.to_string(),
            lines,
        });
        refusal
    }

    /// The run is over: what it produced.
    #[must_use]
    pub fn finish(
        self,
        policy: Policy,
        s: &Scenario,
        m: &Machine,
        fleet: &Fleet,
        events: Vec<EventRecord>,
        log: Log,
    ) -> RunResult {
        let before = self.before.unwrap_or_else(|| Before::of(m, fleet));
        // The run's own host before; the run loop replaces both with the
        // scenario's ideal (`crate::sim::run`).
        let ideal = ideal(s, self.first_late_create, before.host, &m.p);
        let desfree_b = m.thr.desfree * PAGESIZE;
        let vms = fleet.outcomes();
        let blocked = m.arc.zfs_blocked_until(m.now);
        let starts: Vec<(u64, u64)> = vms
            .iter()
            .filter(|v| v.created_at_s > 0.0)
            .map(|v| {
                let from = (v.created_at_s * HZ as f64).round() as u64;
                let to = v
                    .start_latency_s
                    .map_or(m.now, |l| from + (l * HZ as f64).round() as u64);
                (from, to)
            })
            .collect();
        RunResult {
            policy,
            zfs_blocked_s: ticks_s(blocked.iter().map(|(a, b)| b - a).sum()),
            zfs_blocked_in_starts_s: ticks_s(overlap(&blocked, &starts)),
            vms,
            lwps_swapped: m.swapper.lwps_swapped,
            pages_paged_out: m.pageout.pages_paged_out,
            min_freemem_bytes: m.min_freemem * PAGESIZE,
            arc_before_bytes: before.arc_bytes,
            arc_after_bytes: m.mem.arc_size,
            arc_ideal_after_bytes: ideal.arc_after_bytes,
            start_lower_bound_s: ideal.start_lower_bound_s,
            host_before: before.host,
            memstat_before: before.memstat,
            memstat_after: Memstat::of(&m.mem),
            memstats: self.memstats,
            events,
            kstat_reads: self.kstat_reads,
            log,
            series: self.series,
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
}
