//! What the best possible kernel would end a scenario with: the ideal ARC
//! afterwards and the shortest start, the same for every policy.
//!
//! Both are properties of the scenario and of the host *before* the first
//! guest created after boot (the host every policy has then: no policy
//! acts before a guest asks for memory). The host can hold a guest if,
//! with the guests before it, it fits in the free memory *before* plus
//! what the ARC can shed down to `c_min` (and its evicted bytes still in
//! kmem magazines), keeping `lotsfree + desfree` free as the stock ARC's
//! `FMR_LOTSFREE` term does and `availrmem` above `pages_pp_maximum +
//! arc_pages_pp_reserve` as its `FMR_PAGES_PP_MAXIMUM` term does (on a
//! large host with little pageable memory that is the larger of the two). The guests it holds are taken in the order
//! bhyve starts them, skipping those the scenario destroys, and the VMM
//! reservoir holds what `rsrvrctl` sets it to. The ideal ARC
//! is the ARC *before* less what those guests must take from it, under the
//! lowest ceiling the scenario sets (`c_max` at boot, or a `zfs_arc_max`
//! an admin writes later). The lower bound on the start is that eviction
//! at the model's eviction rate plus the guests' bytes at its allocation
//! rate.

use crate::params::{btopr, ptob, Params};
use crate::scenario::{EventKind, ReservoirOp, Scenario};

/// The host before the first guest created after boot (bytes), with the
/// memory that guests bhyve started earlier and still setting up have yet
/// to take counted as theirs, not as free.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostBefore {
    /// `freemem`.
    pub freemem: u64,
    /// The ARC's size.
    pub arc: u64,
    /// Evicted ARC bytes still in kmem magazines.
    pub arc_depot: u64,
    /// `c_min`.
    pub c_min: u64,
    /// `c_max`.
    pub c_max: u64,
    /// `lotsfree + desfree`.
    pub keep_free: u64,
    /// `availrmem`.
    pub availrmem: u64,
    /// `pages_pp_maximum + arc_pages_pp_reserve`: the `availrmem` the ARC
    /// keeps untouched (`FMR_PAGES_PP_MAXIMUM`).
    pub availrmem_floor: u64,
}

/// The scenario's ideal outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ideal {
    /// The largest ARC afterwards that leaves room for every guest the
    /// host can hold, keeps `lotsfree + desfree` free, under the lowest
    /// ceiling, bytes.
    pub arc_after_bytes: u64,
    /// Eviction plus allocation time those guests need, seconds.
    pub start_lower_bound_s: f64,
    /// Bytes of guest RAM the host can hold.
    pub guests_bytes: u64,
}

/// The value of a `zfs_arc_max` write (a kstat or an mdb write), if the
/// text is one.
fn arc_max_written(kind: &EventKind) -> Option<u64> {
    match kind {
        EventKind::KstatWrite(w) => {
            let (stat, value) = w.split_once('=')?;
            if !stat.ends_with(":zfs_arc_max") {
                return None;
            }
            value.trim().parse().ok()
        }
        EventKind::MdbWrite(w) => {
            let rest = w.trim().strip_prefix("zfs_arc_max/")?;
            let value = rest.split_whitespace().nth(1)?;
            match value.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => value.parse().ok(),
            }
        }
        _ => None,
    }
}

/// The ideal for scenario `s` whose first guest after boot is created at
/// tick `first_create` (`None`: no guest after boot), on the host
/// `before`.
#[must_use]
pub fn ideal(s: &Scenario, first_create: Option<u64>, before: HostBefore, p: &Params) -> Ideal {
    let destroyed = |name: &str, at: u64| {
        s.events
            .iter()
            .any(|e| e.at >= at && matches!(&e.kind, EventKind::VmDestroy(n) if n == name))
    };
    // The lowest ceiling the scenario sets; writes under c_min are refused.
    let ceiling = s
        .events
        .iter()
        .filter_map(|e| arc_max_written(&e.kind))
        .filter(|&v| v >= before.c_min)
        .fold(before.c_max, u64::min);
    let shed = before.arc.saturating_sub(before.c_min) + before.arc_depot;
    let free_room = before
        .freemem
        .saturating_sub(before.keep_free)
        .min(before.availrmem.saturating_sub(before.availrmem_floor));
    let room = free_room + shed;
    let mut held = 0u64;
    // Events from the first guest after boot on (with none, from the
    // first tick after the start) come after "before".
    let from = first_create.unwrap_or(1);
    let mut reservoir = 0u64;
    for e in s.events.iter().filter(|e| e.at >= from) {
        match &e.kind {
            EventKind::VmCreate { name, ram } if !destroyed(name, e.at) => {
                let bytes = ptob(btopr(*ram));
                if held + bytes <= room {
                    held += bytes;
                }
            }
            // The reservoir holds what `rsrvrctl` sets it to, as a guest
            // holds its RAM (its pages have their page_ts from boot).
            EventKind::Rsrvrctl(r) => {
                let target = ptob(btopr(match r.op {
                    ReservoirOp::Add => reservoir.saturating_add(r.bytes),
                    ReservoirOp::Remove => reservoir.saturating_sub(r.bytes),
                    ReservoirOp::Set => r.bytes,
                }));
                if target >= reservoir {
                    let grow = target - reservoir;
                    if held + grow <= room {
                        held += grow;
                        reservoir = target;
                    }
                } else {
                    held = held.saturating_sub(reservoir - target);
                    reservoir = target;
                }
            }
            _ => {}
        }
    }
    let from_arc = held.saturating_sub(free_room).min(before.arc);
    let after = (before.arc - from_arc).min(ceiling.max(before.c_min));
    let must_evict = before.arc.saturating_sub(after).min(before.arc);
    Ideal {
        arc_after_bytes: after,
        start_lower_bound_s: must_evict as f64 / p.evict_rate.max(1) as f64
            + held as f64 / p.alloc_rate.max(1) as f64,
        guests_bytes: held,
    }
}
