//! The 2021 kernel without the fix (`legacy`): `vm_object_allocate()`
//! → `vm_reserve_pages()` (if `availrmem < npages`:
//! `page_needfree(npages)`, up to 60 polls of 1 s until `availrmem >=
//! npages`, `page_needfree(-npages)`), then `vmem_alloc(KM_NOSLEEP)` →
//! `segkmem_xalloc()`: `page_resv()` needs `availrmem >= t_minarmem +
//! npages`, `page_create_va()` needs `freemem >= npages +
//! pageout_reserve`; on failure `vmem_xalloc()` calls `kmem_reap()` and
//! bhyve prints its retry line and sleeps 1 s. Pages are taken at once,
//! then zeroed at the allocation rate.

use crate::guest::{AllocFault, Guest, GuestMemory, Phase};
use crate::log::{Log, Message};
use crate::machine::Machine;
use crate::params::{ms_to_ticks, ptob};

/// The `legacy` kernel's guest memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Legacy;

impl GuestMemory for Legacy {
    fn launch(&mut self, _: &mut Guest, _: &mut Machine, _: &mut Log) {}

    fn setup_step(&mut self, g: &mut Guest, m: &mut Machine, log: &mut Log) {
        setup_step(g, m, log);
    }

    fn destroy(&mut self, g: &mut Guest, m: &mut Machine) -> String {
        g.free_all(m);
        "destroyed".to_string()
    }
}

/// One transition of `vm_reserve_pages()` and `vmem_alloc()` for the
/// current segment (the `os8005` kernel's path too).
pub fn setup_step(g: &mut Guest, m: &mut Machine, log: &mut Log) {
    let npages = g.npages();
    match g.phase {
        Phase::Setup => {
            // vm_reserve_pages()
            if m.mem.availrmem() < npages {
                m.mem.needfree_add(npages);
                g.needfree_held = npages;
                g.phase = Phase::ReserveWait {
                    polls_left: m.p.vm_reserve_retries,
                    next: m.now + ms_to_ticks(m.p.vm_reserve_poll_ms),
                };
            } else {
                vmem_alloc_nosleep(g, m, log);
            }
        }
        Phase::ReserveWait { polls_left, next } if m.now >= next => {
            let left = polls_left.saturating_sub(1);
            if m.mem.availrmem() >= npages || left == 0 {
                m.mem.needfree_sub(g.needfree_held);
                g.needfree_held = 0;
                vmem_alloc_nosleep(g, m, log);
            } else {
                g.phase = Phase::ReserveWait {
                    polls_left: left,
                    next: next + ms_to_ticks(m.p.vm_reserve_poll_ms),
                };
            }
        }
        Phase::Zeroing { until } if m.now >= until => {
            g.segment_done(m);
        }
        Phase::RetrySleep { until } if m.now >= until => {
            g.phase = Phase::Setup;
        }
        _ => {}
    }
}

/// `vmem_alloc(vmm_alloc_arena, size, KM_NOSLEEP)` through
/// `segkmem_xalloc()`.
fn vmem_alloc_nosleep(g: &mut Guest, m: &mut Machine, log: &mut Log) {
    let npages = g.npages();
    let resv_ok = m.mem.availrmem() >= m.p.t_minarmem + npages;
    let create_ok = m.mem.freemem() >= npages + m.thr.pageout_reserve;
    let refused =
        resv_ok && create_ok && AllocFault::allow(&mut g.alloc_fault, g.vmm_pages, npages) < npages;
    if refused {
        log.push(
            m.now,
            &g.name,
            Message::AllocatorRefuses {
                bytes: ptob(npages),
                held: ptob(g.vmm_pages),
            },
        );
    }
    if resv_ok && create_ok && !refused {
        m.mem.take_free(npages);
        m.mem.vmm += npages;
        g.vmm_pages += npages;
        g.phase = Phase::Zeroing {
            until: m.now + Guest::zero_ticks(m, npages),
        };
    } else {
        // vmem_xalloc(): the import failed; kmem_reap(), then give up
        // (VM_NOSLEEP).
        m.kmem_reap();
        g.enomem_retry(m, log);
    }
}
