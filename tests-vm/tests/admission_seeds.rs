//! The seeds under `tunables` against the scenario's ideal (issue 13,
//! acceptance 4): the ARC afterwards at least 97% of the amended ideal
//! (`tests_vm::ideal`), and the start within 1.1 x the lower bound plus
//! 0.1 s. Both figures are the scenario's, the same for every policy.

use tests_vm::params::Params;
use tests_vm::policy::Policy;
use tests_vm::scenario::{self, Scenario};
use tests_vm::sim::{self, RunResult};

const SEEDS: [&str; 3] = ["seed-128g", "seed-128g-home", "seed-128g-fix"];
const ALL: [Policy; 4] = [
    Policy::Legacy,
    Policy::Os8005,
    Policy::Reservoir,
    Policy::Tunables,
];

fn builtin(name: &str) -> Scenario {
    scenario::builtin(name).unwrap().unwrap()
}

fn run(name: &str, p: Policy) -> RunResult {
    sim::run(&builtin(name), p, &Params::default())
}

#[test]
fn admission_seeds_the_arc_ends_at_97_percent_of_the_ideal_and_starts_near_the_bound() {
    for name in SEEDS {
        let r = run(name, Policy::Tunables);
        let ratio = r.arc_after_bytes as f64 / r.arc_ideal_after_bytes as f64;
        assert!(
            ratio >= 0.97,
            "{name}: ARC after at {ratio:.3} of the ideal"
        );
        let g = r.vms.iter().find(|v| v.created_at_s > 0.0).unwrap();
        let l = g.start_latency_s.unwrap();
        let bound = 1.1 * r.start_lower_bound_s + 0.1;
        assert!(l <= bound, "{name}: started in {l} s, bound {bound} s");
        assert_eq!((r.pages_paged_out, r.lwps_swapped), (0, 0), "{name}");
    }
}

#[test]
fn admission_seeds_the_ideal_is_the_scenarios_not_the_policys() {
    for name in [
        "seed-4g",
        "seed-128g",
        "seed-128g-home",
        "seed-128g-fix",
        "busy-reader",
    ] {
        let runs: Vec<RunResult> = ALL.iter().map(|&p| run(name, p)).collect();
        let first = &runs[0];
        for r in &runs[1..] {
            assert_eq!(
                r.arc_ideal_after_bytes, first.arc_ideal_after_bytes,
                "{name} {:?}",
                r.policy
            );
            assert_eq!(
                r.start_lower_bound_s, first.start_lower_bound_s,
                "{name} {:?}",
                r.policy
            );
        }
    }
}

#[test]
fn admission_seeds_the_ideal_keeps_lotsfree_and_desfree_free() {
    // seed-4g's guest does not fit above c_min and lotsfree + desfree:
    // the host holds no guest, so the ideal is the ARC before, reached in
    // no time.
    let r = run("seed-4g", Policy::Legacy);
    assert_eq!(r.arc_ideal_after_bytes, r.host_before.arc);
    assert_eq!(r.start_lower_bound_s, 0.0);
    // On the 128 GiB seeds the ideal leaves lotsfree + desfree free (and
    // availrmem above its floor) once the guest is in: at least the
    // margin stays free.
    for name in SEEDS {
        let r = run(name, Policy::Tunables);
        let h = r.host_before;
        let g = r.vms.iter().find(|v| v.created_at_s > 0.0).unwrap();
        let free_after_ideal =
            (h.freemem + h.arc).saturating_sub(g.requested_bytes + r.arc_ideal_after_bytes);
        assert!(free_after_ideal >= h.keep_free, "{name}");
    }
}

/// The guests bhyve started at boot are the host as it was: their memory
/// is in place from the first ticks (one per segment), however slowly the model zeroes
/// pages, and the ideal ARC does not move with the allocation rate. At
/// 1 GiB/s `seed-128g-home`'s 28 GiB boot guest would otherwise still be
/// creating its pages when `vm70` starts at 10 s, and the ideal counted
/// what it had yet to take as free room (17.6 GiB instead of 14.6 at
/// the published rate).
#[test]
fn admission_seeds_the_boot_guests_are_in_place_and_the_ideal_ignores_the_rate() {
    let s = builtin("seed-128g-home");
    let at = |alloc_rate: u64| {
        let p = Params {
            alloc_rate,
            ..Params::default()
        };
        sim::run(&s, Policy::Tunables, &p)
    };
    let default = at(Params::default().alloc_rate);
    let slow = at(tests_vm::params::GIB);
    let boot = slow.vms.iter().find(|v| v.name == "running").unwrap();
    // Two segments, a tick each (the kernel's sequence).
    assert!(boot.start_latency_s.unwrap() <= 0.02, "{boot:?}");
    assert_eq!(
        slow.arc_ideal_after_bytes, default.arc_ideal_after_bytes,
        "the ideal moved with the allocation rate"
    );
}
