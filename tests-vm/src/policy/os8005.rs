//! The OS-8005 fix as it was written (`os8005`): `vm_arc_resv()` at
//! launch (refused with "Could not shrink ARC" when `pages + c_min >
//! c_max`, pages against bytes: [`ArcModel::virt_machine_reserve`]),
//! released at destroy; between the two, the `legacy` path.
//!
//! [`ArcModel::virt_machine_reserve`]: crate::arc_model::ArcModel::virt_machine_reserve

use crate::guest::{Guest, GuestMemory};
use crate::log::{Log, Message};
use crate::machine::Machine;
use crate::params::btopr;
use crate::policy::legacy;

/// The `os8005` kernel's guest memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Os8005;

impl GuestMemory for Os8005 {
    fn launch(&mut self, g: &mut Guest, m: &mut Machine, log: &mut Log) {
        let pages = btopr(g.requested);
        if let Err(e) = m.arc.virt_machine_reserve(pages) {
            g.fail(e, Message::CouldNotShrinkArc, log, m.now);
            return;
        }
        g.arc_resv_pages = pages;
    }

    fn setup_step(&mut self, g: &mut Guest, m: &mut Machine, log: &mut Log) {
        legacy::setup_step(g, m, log);
    }

    fn destroy(&mut self, g: &mut Guest, m: &mut Machine) -> String {
        g.free_all(m);
        if g.arc_resv_pages > 0 {
            m.arc.virt_machine_release(g.arc_resv_pages);
            g.arc_resv_pages = 0;
        }
        "destroyed".to_string()
    }
}
