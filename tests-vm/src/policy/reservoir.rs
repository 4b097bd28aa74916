//! Current illumos (`reservoir`), the vmm reservoir's transient path:
//! `vmmr_add(sz, transient)`: `ENOSPC` above `vmmr_total_limit`;
//! `page_xresv()` (succeeds if `availrmem >= t_minarmem + npages`, else
//! `page_needfree(npages)` and a loop of `kmem_reap()` and
//! quarter-second waits, without deadline); then page by page
//! `page_create_va()` without `PG_WAIT` (`freemem >= 1 +
//! pageout_reserve`), zeroing each page; a failure unwinds the segment
//! and bhyve retries in 1 s.

use crate::guest::{AllocFault, Guest, GuestMemory, Phase};
use crate::log::{Log, Message};
use crate::machine::Machine;
use crate::params::{ms_to_ticks, per_tick, ptob, PAGESIZE};

/// The `reservoir` kernel's guest memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reservoir;

impl GuestMemory for Reservoir {
    fn launch(&mut self, _: &mut Guest, _: &mut Machine, _: &mut Log) {}

    fn setup_step(&mut self, g: &mut Guest, m: &mut Machine, log: &mut Log) {
        setup_step(g, m, log);
    }

    fn destroy(&mut self, g: &mut Guest, m: &mut Machine) -> String {
        g.free_all(m);
        "destroyed".to_string()
    }
}

fn setup_step(g: &mut Guest, m: &mut Machine, log: &mut Log) {
    let npages = g.npages();
    match g.phase {
        Phase::Setup => {
            // vmmr_add(): the reservoir's limit, then page_xresv().
            let limit_pages = (m.mem.physmem * 10).saturating_sub(m.thr.pages_pp_maximum * 12) / 10;
            let in_use = m.mem.vmm + m.mem.resv_unbacked;
            if in_use + npages > limit_pages {
                let errno = zfs_tunables::errno::ENOSPC;
                g.fail(errno, Message::SetupFailed { errno }, log, m.now);
                return;
            }
            if m.mem.availrmem() >= m.p.t_minarmem + npages {
                xresv_granted(g, m, npages);
            } else {
                m.mem.needfree_add(npages);
                g.needfree_held = npages;
                m.kmem_reap();
                g.phase = Phase::XresvWait {
                    next: m.now + ms_to_ticks(m.p.vmmr_resv_wait_ms),
                };
            }
        }
        Phase::XresvWait { next } if m.now >= next => {
            if m.mem.availrmem() >= m.p.t_minarmem + npages {
                m.mem.needfree_sub(g.needfree_held);
                g.needfree_held = 0;
                xresv_granted(g, m, npages);
            } else {
                m.kmem_reap();
                g.phase = Phase::XresvWait {
                    next: next + ms_to_ticks(m.p.vmmr_resv_wait_ms),
                };
            }
        }
        Phase::Creating { left } => {
            let chunk = left.min(per_tick(m.p.alloc_rate) / PAGESIZE).max(1);
            let allowed = m.mem.freemem().saturating_sub(m.thr.pageout_reserve);
            let mut n = chunk.min(allowed);
            if n == chunk {
                n = AllocFault::allow(&mut g.alloc_fault, g.vmm_pages, chunk);
                if n < chunk {
                    log.push(
                        m.now,
                        &g.name,
                        Message::AllocatorRefuses {
                            bytes: ptob(chunk - n),
                            held: ptob(g.vmm_pages + n),
                        },
                    );
                }
            }
            m.mem.take_free(n);
            m.mem.vmm += n;
            m.mem.resv_unbacked -= n.min(m.mem.resv_unbacked);
            g.unbacked -= n.min(g.unbacked);
            g.vmm_pages += n;
            g.seg_created += n;
            if n < chunk {
                // vmmr_alloc_pages() failed: destroy what was made,
                // page_unresv() the rest; bhyve sees ENOMEM.
                m.mem.vmm -= g.seg_created;
                g.vmm_pages -= g.seg_created;
                g.seg_created = 0;
                m.mem.resv_unbacked -= g.unbacked.min(m.mem.resv_unbacked);
                g.unbacked = 0;
                g.enomem_retry(m, log);
            } else if left - n == 0 {
                g.segment_done(m);
            } else {
                g.phase = Phase::Creating { left: left - n };
            }
        }
        Phase::RetrySleep { until } if m.now >= until => {
            g.phase = Phase::Setup;
        }
        _ => {}
    }
}

fn xresv_granted(g: &mut Guest, m: &mut Machine, npages: u64) {
    m.mem.resv_unbacked += npages;
    g.unbacked = npages;
    g.seg_created = 0;
    g.phase = Phase::Creating { left: npages };
}
