//! The host's guests: every guest bhyve started in the run, the live ones
//! by name, the ones still setting up, and allocation faults armed for
//! guests not created yet.
//!
//! The fleet carries out the scenario's guest actions (`vm_create`,
//! `vm_destroy`, `alloc_fault`) through the kernel's guest-memory path and
//! answers each with an [`EventRecord`]; every tick it steps the guests
//! still setting up, and records a create that fails after its launch.
//! A failed or destroyed guest frees its name.

use std::collections::HashMap;

use crate::event::{Detail, Event, EventRecord};
use crate::guest::{AllocFault, Guest, GuestMemory, Phase};
use crate::log::Log;
use crate::machine::Machine;
use crate::params::{btopr, ptob, HZ, PAGESIZE};

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

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Fleet {
    /// Every guest, in the order bhyve started them.
    guests: Vec<Guest>,
    /// Live guests by name (failed and destroyed ones free their name).
    live: HashMap<String, usize>,
    /// Guests still setting up.
    active: Vec<usize>,
    /// Allocation faults armed for guests not created yet, by name.
    armed: HashMap<String, AllocFault>,
}

impl Fleet {
    /// `vm_create`: bhyve starts guest `name` with `ram` bytes, and takes
    /// its first step at once; refused with `EEXIST` while a live guest
    /// has the name.
    pub fn create(
        &mut self,
        name: &str,
        ram: u64,
        kernel: &mut dyn GuestMemory,
        m: &mut Machine,
        log: &mut Log,
    ) -> EventRecord {
        let at = m.now;
        let taken = self
            .live
            .get(name)
            .and_then(|&i| self.guests.get(i))
            .is_some_and(|g| !matches!(g.phase, Phase::Destroyed | Phase::Failed));
        if taken {
            return EventRecord::refused(
                at,
                Event::VmNameTaken {
                    name: name.to_string(),
                },
                zfs_tunables::errno::EEXIST,
                format!("a guest named {name} exists"),
            );
        }
        let mut g = Guest::new(name, ram, m.now, m.p.lowmem_limit);
        g.alloc_fault = self.armed.remove(name);
        kernel.launch(&mut g, m, log);
        g.step(kernel, m, log);
        let event = Event::VmCreate {
            name: name.to_string(),
            ram,
        };
        let record = match (g.error, g.last_refusal) {
            (Some((errno, msg)), _) => EventRecord::refused(at, event, errno, msg.to_string())
                .with_detail(Detail::SetupFailed(msg)),
            (None, Some((errno, why))) => {
                let retrying = Detail::Retrying { errno, why };
                EventRecord::done(at, event, retrying.to_string()).with_detail(retrying)
            }
            (None, None) => EventRecord::done(at, event, "bhyve started".to_string()),
        };
        let active = g.active();
        self.guests.push(g);
        let i = self.guests.len() - 1;
        self.live.insert(name.to_string(), i);
        if active {
            self.active.push(i);
        }
        record
    }

    /// `vm_destroy`: the live guest `name` is destroyed; refused with
    /// `ENOENT` when there is none.
    pub fn destroy(
        &mut self,
        name: &str,
        kernel: &mut dyn GuestMemory,
        m: &mut Machine,
    ) -> EventRecord {
        let found = self
            .live
            .remove(name)
            .and_then(|i| self.guests.get_mut(i))
            .filter(|g| g.phase != Phase::Destroyed);
        let event = Event::VmDestroy {
            name: name.to_string(),
        };
        match found {
            Some(g) => match kernel.destroy(g, m) {
                None => EventRecord::done(m.now, event, "destroyed".to_string()),
                Some(stage) => {
                    let begun = Detail::DestructionBegun { stage };
                    EventRecord::done(m.now, event, begun.to_string()).with_detail(begun)
                }
            },
            None => EventRecord::refused(
                m.now,
                event,
                zfs_tunables::errno::ENOENT,
                format!("no guest named {name}"),
            ),
        }
    }

    /// `alloc_fault`: arms the fault on the guest `vm` if it is setting up,
    /// else on the next guest of that name.
    pub fn arm_fault(&mut self, vm: &str, after: u64, times: u64, now: u64) -> EventRecord {
        let fault = AllocFault {
            after,
            refusals_left: times,
        };
        let target = self
            .live
            .get(vm)
            .and_then(|&i| self.guests.get_mut(i))
            .filter(|g| g.active());
        let whom = match target {
            Some(g) => {
                g.alloc_fault = Some(fault);
                format!("{vm}'s")
            }
            None => {
                self.armed.insert(vm.to_string(), fault);
                format!("the next guest {vm}'s")
            }
        };
        EventRecord::done(
            now,
            Event::AllocFault {
                vm: vm.to_string(),
                after,
                times,
            },
            format!(
                "armed: {whom} allocator refuses what would take it past {after} bytes, {times} time(s)"
            ),
        )
    }

    /// One tick of every guest still setting up; a create that fails
    /// after its launch (a timeout, an allocation failure, a destroy) is
    /// an event too.
    pub fn step(
        &mut self,
        kernel: &mut dyn GuestMemory,
        m: &mut Machine,
        log: &mut Log,
        events: &mut Vec<EventRecord>,
    ) {
        let guests = &mut self.guests;
        self.active
            .retain(|&i| guests.get(i).is_some_and(Guest::active));
        for &i in &self.active {
            if let Some(g) = guests.get_mut(i) {
                let had_failed = g.error.is_some();
                g.step(kernel, m, log);
                if let (false, Some((errno, message))) = (had_failed, g.error) {
                    events.push(
                        EventRecord::refused(
                            m.now,
                            Event::VmSetupFailed {
                                name: g.name.clone(),
                            },
                            errno,
                            message.to_string(),
                        )
                        .with_detail(Detail::SetupFailed(message)),
                    );
                }
            }
        }
    }

    /// Whether no guest was setting up after the last step.
    #[must_use]
    pub fn settled(&self) -> bool {
        self.active.is_empty()
    }

    /// What the guests still setting up have yet to take, bytes: their
    /// segments' pages less the pages they hold, and of that the part not
    /// yet reserved from `availrmem`. Free memory now that is already
    /// theirs: a guest bhyve started at boot may still be creating its
    /// pages when the first guest after boot starts.
    #[must_use]
    pub fn still_to_take(&self) -> (u64, u64) {
        self.active
            .iter()
            .filter_map(|&i| self.guests.get(i))
            .map(|g| {
                let left = g.segs.iter().sum::<u64>().saturating_sub(g.vmm_pages);
                (left * PAGESIZE, left.saturating_sub(g.unbacked) * PAGESIZE)
            })
            .fold((0, 0), |(a, b), (x, y)| (a + x, b + y))
    }

    /// Bytes of guest RAM (page-rounded) of the guests created at or after
    /// tick `since` that started and still run.
    #[must_use]
    pub fn started_since(&self, since: Option<u64>) -> u64 {
        self.guests
            .iter()
            .filter(|g| {
                g.started_at.is_some() && g.phase != Phase::Destroyed && Some(g.created_at) >= since
            })
            .map(|g| ptob(btopr(g.requested)))
            .sum()
    }

    /// Each guest's outcome, in the order bhyve started them.
    #[must_use]
    pub fn outcomes(&self) -> Vec<VmOutcome> {
        self.guests
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
            .collect()
    }
}
