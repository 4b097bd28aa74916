//! Admission on `fault-sixty-four-large-kernel` (issue 13, acceptance
//! 2): 64 guests of 2 GiB at once on a host with 16 GiB of Kernel. The
//! ceiling rule alone (`c_min + reserved + request <= c_max_base`) knows
//! nothing of Kernel memory and admitted more than the host holds; the
//! admission estimate counts free memory, `availrmem` and what the ARC
//! can shed, so each guest either starts or is refused at once, none
//! waits out its deadline, and as many start as fit without paging.

use tests_vm::event::{Detail, Event};
use tests_vm::params::Params;
use tests_vm::policy::Policy;
use tests_vm::scenario::{self, Scenario};
use tests_vm::sim::{self, RunResult, VmOutcome};
use zfs_tunables::errno::{ENOMEM, ETIME};

const STOCK: [Policy; 3] = [Policy::Legacy, Policy::Os8005, Policy::Reservoir];

fn scenario() -> Scenario {
    scenario::builtin("fault-sixty-four-large-kernel")
        .unwrap()
        .unwrap()
}

fn run(s: &Scenario, p: Policy) -> RunResult {
    sim::run(s, p, &Params::default())
}

fn started(r: &RunResult) -> Vec<&VmOutcome> {
    r.vms.iter().filter(|v| v.started).collect()
}

#[test]
fn sixty_four_large_kernel_tunables_starts_or_refuses_at_once_and_never_pages() {
    let s = scenario();
    let r = run(&s, Policy::Tunables);
    assert_eq!(r.vms.len(), 64);
    assert!(
        r.vms.iter().all(|v| v.errno != Some(ETIME)),
        "no guest waits out its deadline"
    );
    assert!(r.vms.iter().all(|v| v.error.is_none()), "bhyve never exits");
    let up = started(&r);
    // Started: within seconds (eviction and allocation), not a deadline.
    for v in &up {
        let l = v.start_latency_s.unwrap();
        assert!(l < 10.0, "{v:?}");
    }
    // The others are refused at their ioctl with ENOMEM and retry.
    for v in r.vms.iter().filter(|v| !v.started) {
        let ev = r
            .events
            .iter()
            .find(|e| matches!(&e.event, Event::VmCreate { name, .. } if *name == v.name))
            .unwrap();
        assert!(
            matches!(ev.detail, Some(Detail::Retrying { errno: ENOMEM, .. })),
            "{ev:?}"
        );
        assert!(v.retry_lines > 0, "{v:?}");
    }
    assert_eq!(r.pages_paged_out, 0);
    assert_eq!(r.lwps_swapped, 0);
    // First come, first served: the started ones are the oldest.
    let first_waiting = r.vms.iter().position(|v| !v.started).unwrap();
    assert!(r.vms[first_waiting..].iter().all(|v| !v.started));
    // As many as fit without paging: at least what every stock kernel
    // starts (53, by paging).
    for p in STOCK {
        let stock = run(&s, p);
        assert_eq!(started(&stock).len(), 53, "{p:?}");
        assert!(stock.pages_paged_out > 0, "{p:?} pages to start them");
        assert!(up.len() >= started(&stock).len(), "{p:?}");
    }
    assert_eq!(up.len(), 53, "the count MODEL.md quotes");
}
