//! The run loop: boots the scenario's host under one policy, then tick by
//! tick hands each scenario event due to the subsystem it is for, steps
//! the guests and a reservoir resize under way, runs the raw-variable sync
//! once a second, and advances the machine (jumping over quiet
//! stretches).
//!
//! The work is the subsystems': [`Fleet`] for the guests,
//! [`ArcModel`](crate::arc_model::ArcModel) for the ARC's faults and
//! reader, the kernel's [`AdminPaths`](crate::admin::AdminPaths) for the
//! admin's commands, [`VmmReservoir`](crate::vmmr::VmmReservoir) for
//! `rsrvrctl`, [`Recorder`] for what the operator observes, and
//! [`Machine`](crate::machine::Machine) for the host's threads.

use crate::fleet::Fleet;
use crate::ideal::ideal;
use crate::log::Log;
use crate::outcome::Recorder;
use crate::params::{Params, HZ};
use crate::policy::{self, Policy};
use crate::scenario::{EventKind, Scenario};

pub use crate::fleet::VmOutcome;
pub use crate::host::memstat::Memstat;
pub use crate::outcome::{KstatRead, Owed, RunResult, Sample};

/// Runs `s` under `policy`, with the scenario's ideal ([`ideal`]): the
/// same for every policy, from the host before as `legacy` has it.
#[must_use]
pub fn run(s: &Scenario, policy: Policy, base: &Params) -> RunResult {
    let mut r = run_policy(s, policy, base);
    let first = first_late_create(s);
    let before = match first {
        Some(at) if policy != Policy::Legacy => {
            let mut upto = s.clone();
            upto.duration = at;
            run_policy(&upto, Policy::Legacy, base).host_before
        }
        _ => r.host_before,
    };
    let p = rates(s, base);
    let i = ideal(s, first, before, &p);
    r.arc_ideal_after_bytes = i.arc_after_bytes;
    r.start_lower_bound_s = i.start_lower_bound_s;
    r
}

/// The tick of the first guest created after boot.
fn first_late_create(s: &Scenario) -> Option<u64> {
    s.events
        .iter()
        .find(|e| e.at > 0 && matches!(e.kind, EventKind::VmCreate { .. }))
        .map(|e| e.at)
}

/// The parameters with the scenario's rates.
fn rates(s: &Scenario, base: &Params) -> Params {
    let mut p = base.clone();
    if let Some(r) = s.evict_rate {
        p.evict_rate = r;
    }
    if let Some(r) = s.alloc_rate {
        p.alloc_rate = r;
    }
    p
}

/// How fast the guests bhyve started at boot have their memory, bytes/s:
/// a petabyte a second, all of it within the first tick.
const BOOT_ALLOC_RATE: u64 = 1 << 50;

/// Runs `s` under `policy`, the ideal from its own host before.
fn run_policy(s: &Scenario, policy: Policy, base: &Params) -> RunResult {
    let p = rates(s, base);
    let policy::Booted {
        machine: mut m,
        guests: mut kernel,
        mut admin,
        mut events,
        mut reservoir,
    } = policy::boot(policy, p, s);
    let mut fleet = Fleet::default();
    let mut log = Log::default();
    let mut recorder = Recorder::new(s);
    let mut next_event = 0usize;
    // The guests bhyve started at boot (at 0 s) are the host as it was
    // before the run: their memory is set up at once, not at the
    // allocation rate a start after boot pays, so that no later start
    // meets a boot guest still zeroing its pages.
    let run_alloc_rate = m.p.alloc_rate;
    let mut booting = s
        .events
        .iter()
        .any(|e| e.at == 0 && matches!(e.kind, EventKind::VmCreate { .. }));
    if booting {
        m.p.alloc_rate = BOOT_ALLOC_RATE;
    }

    loop {
        while let Some(e) = s.events.get(next_event).filter(|e| e.at <= m.now) {
            if booting && e.at > 0 {
                m.p.alloc_rate = run_alloc_rate;
                booting = false;
            }
            next_event += 1;
            recorder.event_due(e.at, &m, &fleet);
            let now = m.now;
            let record = match &e.kind {
                EventKind::VmCreate { name, ram } => {
                    Some(fleet.create(name, *ram, kernel.as_mut(), &mut m, &mut log))
                }
                EventKind::VmDestroy(name) => Some(fleet.destroy(name, kernel.as_mut(), &mut m)),
                EventKind::KstatWrite(w) => Some(admin.kstat_write(&m, w)),
                EventKind::MdbWrite(w) => Some(admin.mdb_write(&m, w)),
                EventKind::KstatRead(sel) => {
                    let read = admin.kstat_read(&m, sel);
                    recorder.kstat_read(&m, sel, read)
                }
                EventKind::Memstat => {
                    recorder.memstat(&m);
                    None
                }
                EventKind::AllocFault { vm, after, times } => {
                    Some(fleet.arm_fault(vm, *after, *times, now))
                }
                EventKind::EvictorStall(ticks) => Some(m.arc.stall_evictor(now, *ticks)),
                EventKind::Arcfill(rate) => Some(m.arc.set_arcfill(now, *rate)),
                EventKind::Rsrvrctl(r) => Some(reservoir.rsrvrctl(r, &mut m)),
            };
            events.extend(record);
        }
        recorder.events_done(&m, &fleet);
        if m.now >= s.duration {
            break;
        }

        fleet.step(kernel.as_mut(), &mut m, &mut log, &mut events);
        if booting && fleet.settled() {
            m.p.alloc_rate = run_alloc_rate;
            booting = false;
        }
        events.extend(reservoir.step(&mut m));
        // The raw-variable sync rides on the reap timer (once a second).
        if m.now.is_multiple_of(HZ) {
            events.extend(admin.sync_tick(&m));
        }

        // Jump over quiet stretches.
        let next_at = s
            .events
            .get(next_event)
            .map_or(s.duration, |e| e.at.min(s.duration));
        if fleet.settled() && reservoir.idle() && m.quiescent() && next_at > m.now + HZ {
            let to = recorder.skip_target(&m, next_at - 1);
            m.skip_to(to);
        }
        m.tick();
    }

    recorder.finish(policy, s, &m, &fleet, events, log)
}
