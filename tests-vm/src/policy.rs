//! The four kernels the simulator runs, one module each, named by their
//! guest-memory policy, and [`boot`], which builds the machine with the
//! kernel's ARC and returns the kernel's guest-memory and admin paths.
//!
//! | policy | ARC limits | guest memory | admin |
//! |---|---|---|---|
//! | [`legacy`] | stock | `vm_reserve_pages()`, `vmem_alloc()` | stock |
//! | [`os8005`] | stock, with `arc_virt_machine_reserve()` | `vm_arc_resv()`, then `legacy` | stock |
//! | [`reservoir`] | stock | `vmmr_add()`: `page_xresv()`, page by page | stock |
//! | [`tunables`] | the component | the vmm client | `kstat-export` |
//!
//! The vmm reservoir ([`crate::vmmr`]) exists in current illumos only:
//! stock under `reservoir`, a headroom owner of the component under
//! `tunables`, absent (`rsrvrctl` gets `ENOTTY`) under `legacy` and
//! `os8005`.

use std::rc::Rc;
use std::sync::Arc;

use zfs_tunables::ArcTunables;

use crate::admin::{self, AdminPaths, StockAdmin};
use crate::arc_model::limits::{host_memory, tunables_generation, StockLimits, TunablesLimits};
use crate::arc_model::ArcModel;
use crate::event::EventRecord;
use crate::guest::GuestMemory;
use crate::host::memory::swapfs_minfree;
use crate::machine::Machine;
use crate::params::{btopr, Params};
use crate::platform::SimPlatform;
use crate::scenario::Scenario;
use crate::vmmr::{ReservoirKernel, VmmReservoir};

pub mod legacy;
pub mod os8005;
pub mod reservoir;
pub mod tunables;

/// Which kernel the host runs (the guest-memory policy also decides how the
/// ARC is built: its own limits, or the project's published limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// The 2021 kernel without the fix: `vm_reserve_pages()`.
    Legacy,
    /// The OS-8005 fix as it was written.
    Os8005,
    /// Current illumos: the vmm reservoir's transient path (`page_xresv`).
    Reservoir,
    /// This project: runtime tunables and headroom reservations.
    Tunables,
}

impl Policy {
    /// All four, in the order reports list them.
    pub const ALL: [Policy; 4] = [
        Policy::Legacy,
        Policy::Os8005,
        Policy::Reservoir,
        Policy::Tunables,
    ];

    /// The CLI name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Policy::Legacy => "legacy",
            Policy::Os8005 => "os8005",
            Policy::Reservoir => "reservoir",
            Policy::Tunables => "tunables",
        }
    }

    /// Parses a CLI name.
    #[must_use]
    pub fn from_name(s: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.name() == s)
    }
}

/// A booted host: the machine, its kernel's paths, and what `/etc/system`
/// did at boot.
pub struct Booted {
    /// The host and its ARC, at the end of boot.
    pub machine: Machine,
    /// The kernel's guest-memory path.
    pub guests: Box<dyn GuestMemory>,
    /// The kernel's admin paths.
    pub admin: Box<dyn AdminPaths>,
    /// One event per `/etc/system` line applied or refused.
    pub events: Vec<EventRecord>,
    /// The vmm reservoir, empty (`rsrvrctl` resizes it).
    pub reservoir: VmmReservoir,
}

/// Boots `s`'s host with `policy`'s kernel: `arc_init()` (with
/// `/etc/system`), the end of boot, and the kernel's paths.
#[must_use]
pub fn boot(policy: Policy, p: Params, s: &Scenario) -> Booted {
    let physmem = btopr(s.host.physmem);
    let host = host_memory(physmem, swapfs_minfree(physmem));
    if policy == Policy::Tunables {
        let gen = tunables_generation(s.host.generation);
        let component = Arc::new(ArcTunables::new(SimPlatform::new(), host, gen));
        let limits = Box::new(TunablesLimits::new(
            Arc::clone(&component),
            p.arc_pages_pp_reserve,
            p.paced_cut,
        ));
        let mut machine = Machine::new(p, s, ArcModel::new(limits, s.arcfill));
        // vmm loads before /etc/system is read, so its tunable can be set
        // there.
        let vmm = tunables::vmm_client(&component, &machine.p).map(Rc::new);
        let events = tunables::apply_etc_system(&component, &s.etc_system);
        machine.finish_boot();
        let reservoir = VmmReservoir::new(ReservoirKernel::Headroom(Box::new(
            tunables::ReservoirOwner::new(Arc::clone(&component)),
        )));
        let admin: Box<dyn AdminPaths> = match tunables::TunablesAdmin::new(component, vmm.clone())
        {
            Some(a) => Box::new(a),
            None => Box::new(StockAdmin::default()),
        };
        return Booted {
            machine,
            guests: Box::new(tunables::TunablesGuests::new(vmm)),
            admin,
            events,
            reservoir,
        };
    }
    // arc_init() reads what /etc/system set, once.
    let (values, events) = admin::read_etc_system(&s.etc_system);
    let limits = Box::new(StockLimits::arc_init(&host, s.host.generation, &values));
    let arc = ArcModel::new(limits, s.arcfill);
    let (arc, guests): (ArcModel, Box<dyn GuestMemory>) = match policy {
        Policy::Os8005 => (arc.with_virt_machine_reserve(), Box::new(os8005::Os8005)),
        Policy::Reservoir => (arc, Box::new(reservoir::Reservoir)),
        Policy::Legacy | Policy::Tunables => (arc, Box::new(legacy::Legacy)),
    };
    let mut machine = Machine::new(p, s, arc);
    machine.finish_boot();
    // The reservoir came to illumos after the 2021 kernels.
    let reservoir = VmmReservoir::new(match policy {
        Policy::Reservoir => ReservoirKernel::Stock,
        Policy::Legacy | Policy::Os8005 | Policy::Tunables => ReservoirKernel::Absent,
    });
    Booted {
        machine,
        guests,
        admin: Box::new(StockAdmin::default()),
        events,
        reservoir,
    }
}
