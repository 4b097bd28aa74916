//! Fault injection: each fault of issue #8, run under all four policies
//! on the built-in `fault-*` scenarios (tests-vm/scenarios/faults/).
//!
//! Under `tunables` every test ends by checking, on the kstats as
//! `kstat -p` printed them during the run, that nothing leaked:
//! `zfs:0:arc_headroom` holds exactly the reservations of the guests that
//! still run (`pending` 0), `vmm:0:arc_resv` agrees with it, `c_max` is
//! what the base and the admin's cap give for those reservations, and no
//! LWP was swapped. Every request refused for good is an event with an
//! errno and a message; one refused with `ENOMEM`, which bhyve retries
//! once a second under every policy, is a retry line in bhyve's log (and
//! one more failure in `vmm:0:arc_resv`). Under the stock policies each
//! test records what that kernel does with the same fault (MODEL.md,
//! "Faults"), and checks that the model's own accounting (VMM Memory,
//! `needfree`, OS-8005's reservation) returns what it took.

use kstat_export::ExportError;
use tests_vm::event::{CreateStage, Detail, Event};
use tests_vm::log::Message;
use tests_vm::params::{Params, GIB, HZ, MIB, PAGESIZE};
use tests_vm::policy::Policy;
use tests_vm::scenario::{self, Scenario};
use tests_vm::sim::{self, RunResult, VmOutcome};
use vmm_client::VmmError;
use zfs_tunables::errno::{EBUSY, ENOENT, ENOMEM, ETIME};
use zfs_tunables::{Bytes, TunableError};

/// `sizeof (page_t)` on amd64: vmm's reservation overhead per page.
const PAGE_T: u64 = 120;
/// bhyve's low-memory segment limit.
const LOWMEM: u64 = 3 * GIB;

fn scenario(name: &str) -> Scenario {
    scenario::builtin(name).unwrap().unwrap()
}

fn run(s: &Scenario, p: Policy) -> RunResult {
    sim::run(s, p, &Params::default())
}

/// What a guest of `ram` bytes reserves, computed here without the
/// client's code: each of bhyve's two segments rounded up to pages, plus
/// 120 bytes a page. Returns (reserved, overhead).
fn reservation_of(ram: u64) -> (u64, u64) {
    let low = ram.min(LOWMEM);
    let high = ram - low;
    let pages = high.div_ceil(PAGESIZE) + low.div_ceil(PAGESIZE);
    (pages * PAGESIZE + pages * PAGE_T, pages * PAGE_T)
}

/// The value of `stat` (`module:instance:name:statistic`) in the
/// `kstat -p` lines read at `at_s`.
fn kstat(r: &RunResult, at_s: f64, stat: &str) -> u64 {
    let prefix = format!("{stat}\t");
    r.kstat_reads
        .iter()
        .filter(|k| (k.at_s - at_s).abs() < 1e-9)
        .flat_map(|k| k.lines.iter())
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{:?}: no {stat} read at {at_s} s", r.policy))
        .parse()
        .unwrap()
}

/// Whether any kstat line was read at `at_s` for `stat`.
fn has_kstat(r: &RunResult, at_s: f64, stat: &str) -> bool {
    let prefix = format!("{stat}\t");
    r.kstat_reads
        .iter()
        .filter(|k| (k.at_s - at_s).abs() < 1e-9)
        .flat_map(|k| k.lines.iter())
        .any(|l| l.starts_with(&prefix))
}

fn vms<'a>(r: &'a RunResult, name: &str) -> Vec<&'a VmOutcome> {
    r.vms.iter().filter(|v| v.name == name).collect()
}

fn vm<'a>(r: &'a RunResult, name: &str) -> &'a VmOutcome {
    let v = vms(r, name);
    assert_eq!(v.len(), 1, "{:?}: guests named {name}", r.policy);
    v[0]
}

fn started_at(v: &VmOutcome) -> Option<f64> {
    v.start_latency_s.map(|l| v.created_at_s + l)
}

/// bhyve's retry lines printed before tick `at` (a `kstat -p` at that
/// tick runs before the guests' steps of the tick). bhyve prints one
/// each time `vm_setup_memory()` fails with `ENOMEM`, so under `tunables`
/// each is one create the client refused or rolled back.
fn retries_before(r: &RunResult, at: u64) -> u64 {
    assert_eq!(r.log.dropped, 0, "{:?}: the log dropped lines", r.policy);
    r.log
        .lines
        .iter()
        .filter(|l| matches!(l.message, Message::RetryingAllocation { .. }))
        .map(|l| {
            // Repeats come exactly a second apart: bhyve's sleep(1).
            assert_eq!(l.last_at, l.at + l.repeats * HZ, "{l:?}");
            (0..=l.repeats).filter(|k| l.at + k * HZ < at).count() as u64
        })
        .sum()
}

/// Every request the run refused is an event with an errno and a
/// message; every guest that failed has its failure among the events,
/// with the guest's errno.
fn assert_every_refusal_is_an_event(r: &RunResult) {
    for e in r.events.iter().filter(|e| !e.ok()) {
        assert!(e.errno().is_some_and(|n| n > 0), "{:?}: {e:?}", r.policy);
        assert!(!e.message().trim().is_empty(), "{:?}: {e:?}", r.policy);
    }
    for v in r.vms.iter().filter(|v| v.error.is_some()) {
        let found = r.events.iter().any(|e| {
            !e.ok()
                && e.event.created_guest() == Some(v.name.as_str())
                && e.errno() == v.errno
                && Some(e.message()) == v.error.as_deref()
        });
        assert!(found, "{:?}: {} failed without an event", r.policy, v.name);
    }
}

/// Under `tunables`, at `at_s`: the kstats hold exactly the reservations
/// of `running` (pending 0), vmm agrees, and `c_max` is what the base
/// gives (capped by the admin's `zfs_arc_max`, if `cap` is set).
fn assert_kstats_hold_exactly(r: &RunResult, at_s: f64, running: &[&VmOutcome], cap: Option<u64>) {
    assert_kstats_hold(r, at_s, running, 0, cap);
}

/// As [`assert_kstats_hold_exactly`], with `retrying` more instances that
/// hold no memory: guests whose bhyve retries its first segment keep the
/// instance `VMM_CREATE_VM` made.
fn assert_kstats_hold(
    r: &RunResult,
    at_s: f64,
    running: &[&VmOutcome],
    retrying: u64,
    cap: Option<u64>,
) {
    assert_eq!(r.policy, Policy::Tunables);
    let (reserved, overhead) = running
        .iter()
        .map(|v| reservation_of(v.requested_bytes))
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    let n = running.len() as u64;
    // One reservation per segment (`VM_ALLOC_MEMSEG`): two for a guest
    // above the low-memory limit.
    let segments: u64 = running
        .iter()
        .map(|v| if v.requested_bytes > LOWMEM { 2 } else { 1 })
        .sum();
    let h = |s: &str| kstat(r, at_s, &format!("zfs:0:arc_headroom:{s}"));
    assert_eq!(h("reserved"), reserved, "reserved at {at_s} s");
    assert_eq!(h("pending"), 0, "pending at {at_s} s");
    assert_eq!(h("allocated"), reserved, "allocated at {at_s} s");
    assert_eq!(h("reservations"), segments, "reservations at {at_s} s");
    assert_eq!(h("consumers"), u64::from(n > 0), "consumers at {at_s} s");
    let v = |s: &str| kstat(r, at_s, &format!("vmm:0:arc_resv:{s}"));
    assert_eq!(v("instances"), n + retrying, "instances at {at_s} s");
    assert_eq!(v("reserved_bytes"), reserved, "reserved_bytes at {at_s} s");
    assert_eq!(v("overhead_bytes"), overhead, "overhead_bytes at {at_s} s");
    // The ceiling: MAX(c_min, MIN(admin cap, base - reserved)).
    let base = h("c_max_base");
    let c_min = kstat(r, at_s, "zfs:0:arcstats:c_min");
    let want = base
        .saturating_sub(reserved)
        .min(cap.unwrap_or(u64::MAX))
        .max(c_min);
    assert_eq!(h("c_max_effective"), want, "c_max_effective at {at_s} s");
    assert_eq!(
        kstat(r, at_s, "zfs:0:arcstats:c_max"),
        want,
        "c_max at {at_s} s"
    );
    // Failed creates are counted, each under one cause: those that ended
    // a guest, and those bhyve retried.
    let failures: u64 = [
        "fail_no_headroom",
        "fail_no_memory",
        "fail_never_fits",
        "fail_timeout",
        "fail_interrupted",
        "fail_alloc",
        "fail_table_full",
        "fail_invalid",
    ]
    .iter()
    .map(|s| v(s))
    .sum();
    let failed_by_then = r
        .vms
        .iter()
        .filter(|g| g.error.is_some())
        .filter(|g| {
            r.events.iter().any(|e| {
                !e.ok() && e.event.created_guest() == Some(g.name.as_str()) && e.at_s() <= at_s
            })
        })
        .count() as u64;
    let retried = retries_before(r, (at_s * HZ as f64).round() as u64);
    assert_eq!(
        failures,
        failed_by_then + retried,
        "failure counters at {at_s} s"
    );
}

/// Under `tunables`, at the end of the run: the kstats as above, the
/// guests' memory is exactly what `running` holds, and nothing was
/// swapped.
fn assert_nothing_leaked(r: &RunResult, running: &[&VmOutcome], cap: Option<u64>) {
    // A guest whose bhyve still retries its segment keeps its instance.
    let retrying = r
        .vms
        .iter()
        .filter(|v| !v.started && !v.destroyed && v.error.is_none())
        .count() as u64;
    assert_kstats_hold(r, r.duration_s, running, retrying, cap);
    let ram: u64 = running
        .iter()
        .map(|v| v.requested_bytes.div_ceil(PAGESIZE))
        .sum();
    assert_eq!(r.memstat_after.vmm, ram, "VMM Memory at the end");
    for v in &r.vms {
        if !running.iter().any(|g| std::ptr::eq(*g, v)) {
            assert_eq!(v.held_bytes, 0, "{} still holds memory", v.name);
        }
    }
    assert_eq!(r.lwps_swapped, 0, "LWPs swapped under tunables");
    assert_every_refusal_is_an_event(r);
}

/// Under a stock policy: the model's own accounting returns what it
/// took. VMM Memory is what the guests hold, a destroyed or failed guest
/// holds nothing, and once no guest is still setting up, `needfree`,
/// unbacked `page_resv()`s and OS-8005's reservation are those of the
/// running guests only.
fn assert_stock_accounting_returns(r: &RunResult) {
    assert_ne!(r.policy, Policy::Tunables);
    let held: u64 = r.vms.iter().map(|v| v.held_bytes).sum();
    assert_eq!(r.memstat_after.vmm * PAGESIZE, held, "{:?}", r.policy);
    for v in r.vms.iter().filter(|v| v.destroyed || v.error.is_some()) {
        assert_eq!(v.held_bytes, 0, "{:?}: {} holds memory", r.policy, v.name);
    }
    let setting_up = r
        .vms
        .iter()
        .any(|v| !v.started && !v.destroyed && v.error.is_none());
    if !setting_up {
        assert_eq!(r.owed_after.needfree_pages, 0, "{:?}", r.policy);
        assert_eq!(r.owed_after.resv_unbacked_pages, 0, "{:?}", r.policy);
        let running: u64 = r
            .vms
            .iter()
            .filter(|v| v.started && !v.destroyed)
            .map(|v| v.requested_bytes.div_ceil(PAGESIZE))
            .sum();
        let want = if r.policy == Policy::Os8005 {
            running
        } else {
            0
        };
        assert_eq!(r.owed_after.vm_arc_reserved_pages, want, "{:?}", r.policy);
    }
    assert_every_refusal_is_an_event(r);
}

/// The fault's log line: the bytes the guest held when it was refused.
fn held_when_refused(r: &RunResult, guest: &str) -> u64 {
    r.log
        .lines
        .iter()
        .filter(|l| l.guest == guest)
        .find_map(|l| match l.message {
            Message::AllocatorRefuses { held, .. } => Some(held),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{:?}: no refusal logged", r.policy))
}

/// The tick of the first injected allocation failure.
fn first_refusal_at(r: &RunResult) -> u64 {
    r.log
        .lines
        .iter()
        .find(|l| matches!(l.message, Message::AllocatorRefuses { .. }))
        .unwrap()
        .at
}

const STOCK: [Policy; 3] = [Policy::Legacy, Policy::Os8005, Policy::Reservoir];

/// The sync tick's record for `zfs_arc_max`.
const ARC_MAX_SYNC: Event = Event::Sync {
    variable: "zfs_arc_max",
};

// ---------------------------------------------------------------------
// 1. Guest allocation failing part-way
// ---------------------------------------------------------------------

#[test]
fn an_allocation_failing_part_way_rolls_back_its_segment() {
    let s = scenario("fault-alloc");
    let r = run(&s, Policy::Tunables);
    let g = vm(&r, "vm64");
    // Refused inside the low segment, after the 61 GiB high one.
    let held = held_when_refused(&r, "vm64");
    assert!((61 * GIB..62 * GIB).contains(&held), "held {held}");
    // The kernel's reason, then bhyve's retry line, in the same tick:
    // ENOMEM is worth a retry.
    let refused_at = first_refusal_at(&r);
    let lines: Vec<Message> = r
        .log
        .lines
        .iter()
        .filter(|l| l.at == refused_at && !matches!(l.message, Message::AllocatorRefuses { .. }))
        .map(|l| l.message)
        .collect();
    assert_eq!(
        lines,
        [
            Message::Vmm(VmmError::AllocFailed { errno: ENOMEM }),
            Message::RetryingAllocation { ram: 64 * GIB }
        ]
    );
    assert_eq!(
        lines[0].to_string(),
        "vmm: allocating guest memory failed (ENOMEM)"
    );
    // The low segment is rolled back at once; the high one, committed
    // before, stays: before the retry exactly its reservation is held,
    // and the ceiling is lowered by exactly that.
    assert!(refused_at < 37 * HZ + HZ / 2 && refused_at + HZ > 37 * HZ + HZ / 2);
    let c_max_start = kstat(&r, 1.0, "zfs:0:arcstats:c_max");
    let high = 64 * GIB - LOWMEM;
    let high_reservation = high + high / PAGESIZE * PAGE_T;
    let h = |s: &str| kstat(&r, 37.5, &format!("zfs:0:arc_headroom:{s}"));
    assert_eq!(
        (
            h("reserved"),
            h("allocated"),
            h("pending"),
            h("reservations")
        ),
        (high_reservation, high_reservation, 0, 1)
    );
    assert_eq!(kstat(&r, 37.5, "vmm:0:arc_resv:instances"), 1);
    assert_eq!(
        kstat(&r, 37.5, "vmm:0:arc_resv:reserved_bytes"),
        high_reservation
    );
    assert_eq!(
        kstat(&r, 37.5, "zfs:0:arcstats:c_max"),
        c_max_start - high_reservation
    );
    assert_eq!(kstat(&r, 37.5, "vmm:0:arc_resv:fail_alloc"), 1);
    assert_eq!(kstat(&r, 37.5, "zfs:0:arc_headroom:releases"), 1);
    // bhyve's retry a second later repeats VM_ALLOC_MEMSEG for the low
    // segment only; the fault is spent, the guest starts and holds
    // exactly its reservation.
    assert!(g.started && g.error.is_none(), "{g:?}");
    assert_eq!(g.retry_lines, 1);
    let up = started_at(g).unwrap();
    assert!(up > refused_at as f64 / HZ as f64 + 1.0, "up at {up} s");
    assert_kstats_hold_exactly(&r, 90.0, &[g], None);
    assert_nothing_leaked(&r, &[g], None);
    assert_eq!(kstat(&r, 240.0, "vmm:0:arc_resv:creates"), 1);
    // High, low (refused by the allocator), low again.
    assert_eq!(kstat(&r, 240.0, "zfs:0:arc_headroom:reserves"), 3);

    for p in STOCK {
        let r = run(&s, p);
        let g = vm(&r, "vm64");
        // Whole-segment allocators (legacy, os8005) keep the high segment
        // and fail the low one; the reservoir's page-by-page creation is
        // refused at 62 GiB and unwinds only the low segment. bhyve prints
        // its retry line and tries again a second later, and the fault is
        // spent: the guest starts.
        let held = held_when_refused(&r, "vm64");
        match p {
            Policy::Reservoir => assert_eq!(held, 62 * GIB, "{p:?}"),
            _ => assert_eq!(held, 61 * GIB, "{p:?}"),
        }
        let refused_at = first_refusal_at(&r);
        assert!(
            r.log
                .lines
                .iter()
                .any(|l| l.at == refused_at
                    && matches!(l.message, Message::RetryingAllocation { .. })),
            "{p:?}"
        );
        assert!(g.started, "{p:?}");
        assert_eq!(g.held_bytes, 64 * GIB, "{p:?}");
        assert_stock_accounting_returns(&r);
    }
}

// ---------------------------------------------------------------------
// 2. The evictor stalling past the wait's deadline
// ---------------------------------------------------------------------

#[test]
fn an_evictor_stalled_past_the_deadline_times_out_and_rolls_back() {
    let s = scenario("fault-evictor-stall");
    let r = run(&s, Policy::Tunables);
    let g = vm(&r, "vm64");
    assert_eq!(g.errno, Some(ETIME));
    let ev = r
        .events
        .iter()
        .find(|e| matches!(&e.event, Event::VmSetupFailed { name } if name == "vm64"))
        .unwrap();
    assert!(!ev.ok());
    assert_eq!(ev.at, 70 * HZ, "ETIME at {} s", ev.at_s());
    assert_eq!(
        ev.detail,
        Some(Detail::SetupFailed(Message::Vmm(VmmError::Arc(
            TunableError::TimedOut
        ))))
    );
    let c_max_start = kstat(&r, 1.0, "zfs:0:arcstats:c_max");
    for at in [75.0, 240.0] {
        assert_kstats_hold_exactly(&r, at, &[], None);
        assert_eq!(kstat(&r, at, "zfs:0:arcstats:c_max"), c_max_start);
        assert_eq!(kstat(&r, at, "zfs:0:arc_headroom:wait_timeouts"), 1);
        assert_eq!(kstat(&r, at, "vmm:0:arc_resv:fail_timeout"), 1);
    }
    // The rollback cancels the cut of c made for the guest that the
    // stalled evictor never carried out: once the evictor runs again the
    // ARC does not shrink for a guest that is gone.
    let size_at_rollback = kstat(&r, 75.0, "zfs:0:arcstats:size");
    assert_eq!(kstat(&r, 75.0, "zfs:0:arcstats:c"), size_at_rollback);
    assert_eq!(kstat(&r, 240.0, "zfs:0:arcstats:size"), size_at_rollback);
    assert_eq!(r.pages_paged_out, 0);
    assert_nothing_leaked(&r, &[], None);

    for p in STOCK {
        let r = run(&s, p);
        let g = vm(&r, "vm64");
        // No deadline that gives up: each kernel keeps trying and starts
        // the guest once the evictor runs again (99 s).
        assert!(g.started, "{p:?}");
        assert!(started_at(g).unwrap() > 99.0, "{p:?}: {g:?}");
        assert_eq!(g.error, None, "{p:?}");
        assert_stock_accounting_returns(&r);
    }
}

// ---------------------------------------------------------------------
// 3. A bhyve process dying mid-create
// ---------------------------------------------------------------------

fn destroyed_mid_create(name: &str, stage: CreateStage) {
    let s = scenario(name);
    let r = run(&s, Policy::Tunables);
    let g = vm(&r, "vm64");
    let (reservation, _) = reservation_of(64 * GIB);
    // Just before the destroy, the create was where the scenario says.
    match stage {
        CreateStage::WaitsForHeadroom => {
            // The first segment (above the low-memory limit) is reserved,
            // the low one not yet: only the first's page overhead is
            // marked allocated (it is never waited for); its RAM is all
            // pending.
            let high = 64 * GIB - LOWMEM;
            let overhead = high / PAGESIZE * PAGE_T;
            assert!(overhead < reservation - 64 * GIB);
            assert_eq!(kstat(&r, 30.0, "zfs:0:arc_headroom:allocated"), overhead);
            assert_eq!(kstat(&r, 30.0, "zfs:0:arc_headroom:pending"), high);
        }
        CreateStage::Allocates => {
            let allocated = kstat(&r, 30.0, "zfs:0:arc_headroom:allocated");
            assert!(allocated > 0 && allocated < 64 * GIB, "{allocated}");
        }
    }
    let destroy = r
        .events
        .iter()
        .find(|e| matches!(&e.event, Event::VmDestroy { name } if name == "vm64"))
        .unwrap();
    assert!(destroy.ok(), "{destroy:?}");
    assert_eq!(destroy.detail, Some(Detail::DestructionBegun { stage }));
    // The create saw the destroy at its next step and rolled back.
    assert_eq!(g.errno, Some(ENOENT));
    assert!(g.destroyed && !g.started);
    let failed = r
        .events
        .iter()
        .find(|e| matches!(&e.event, Event::VmSetupFailed { name } if name == "vm64"))
        .unwrap();
    assert_eq!(
        failed.detail,
        Some(Detail::SetupFailed(Message::Vmm(VmmError::Destroyed)))
    );
    let c_max_start = kstat(&r, 1.0, "zfs:0:arcstats:c_max");
    // A create still waiting owns no memory: the destroy releases its
    // reservation at once. One that has claimed its segment and taken its
    // pages is the driver's until `vm_object_allocate()` returns: the
    // segment stays reserved (claimed, so still pending) while the driver
    // zeroes it, and rolls back when it would be marked allocated.
    let rolled_back = match stage {
        CreateStage::WaitsForHeadroom => 31.0,
        CreateStage::Allocates => {
            let high = 64 * GIB - LOWMEM;
            let h = |s: &str| kstat(&r, 31.0, &format!("zfs:0:arc_headroom:{s}"));
            assert_eq!(h("reserved"), high + high / PAGESIZE * PAGE_T);
            assert_eq!(h("pending"), high);
            assert_eq!(h("releases"), 0);
            180.0
        }
    };
    for at in [rolled_back, 180.0] {
        assert_kstats_hold_exactly(&r, at, &[], None);
        assert_eq!(kstat(&r, at, "zfs:0:arcstats:c_max"), c_max_start);
        assert_eq!(kstat(&r, at, "vmm:0:arc_resv:fail_interrupted"), 1);
        // The instance VMM_CREATE_VM made, and its destruction, which
        // finished with the rollback.
        assert_eq!(kstat(&r, at, "vmm:0:arc_resv:creates"), 1);
        assert_eq!(kstat(&r, at, "vmm:0:arc_resv:destroys"), 1);
        assert_eq!(kstat(&r, at, "zfs:0:arc_headroom:releases"), 1);
    }
    assert_nothing_leaked(&r, &[], None);

    for p in STOCK {
        let r = run(&s, p);
        let g = vm(&r, "vm64");
        // Each stock kernel is still waiting for memory at 30 s
        // (vm_reserve_pages() or page_xresv()); the destroy returns its
        // needfree.
        assert!(!g.started && g.destroyed, "{p:?}: {g:?}");
        assert_eq!(r.memstat_after.vmm, 0, "{p:?}");
        assert_stock_accounting_returns(&r);
    }
}

#[test]
fn a_create_destroyed_while_it_waits_rolls_back() {
    destroyed_mid_create("fault-destroy-waiting", CreateStage::WaitsForHeadroom);
}

#[test]
fn a_create_destroyed_while_it_allocates_rolls_back() {
    destroyed_mid_create("fault-destroy-allocating", CreateStage::Allocates);
}

// ---------------------------------------------------------------------
// 4. 64 guests starting at once
// ---------------------------------------------------------------------

fn guest_names() -> Vec<String> {
    (0..64).map(|i| format!("g{i:02}")).collect()
}

/// The reason the client gave a guest refused at launch, from its
/// `vm_create` event (bhyve started, and retries).
fn launch_refusal(r: &RunResult, name: &str) -> Option<Detail> {
    let ev = r
        .events
        .iter()
        .find(|e| matches!(&e.event, Event::VmCreate { name: n, .. } if n == name))
        .unwrap();
    assert!(ev.ok(), "{ev:?}");
    ev.detail
}

#[test]
fn sixty_four_guests_at_once_admit_what_fits_in_order_and_the_rest_retry() {
    let s = scenario("fault-sixty-four-at-once");
    let r = run(&s, Policy::Tunables);
    let names = guest_names();
    let all: Vec<&VmOutcome> = names.iter().map(|n| vm(&r, n)).collect();
    // The 29 oldest start. All 64 ask in the same tick, before
    // dbuf_evict_thread() has trimmed the dbuf cache to the ceiling the
    // first reservations lowered, so the buffers it still holds are not
    // evictable yet: 28 are admitted at once, and the 29th is refused
    // once (ENOMEM: the host is short of it now) and admitted at its
    // retry a second later.
    let at_once = all.iter().take_while(|v| v.retry_lines == 0).count();
    assert_eq!(at_once, 28);
    let last = all[at_once];
    assert!(
        matches!(
            launch_refusal(&r, &last.name),
            Some(Detail::Retrying {
                errno: ENOMEM,
                why: Message::CannotReserve(VmmError::Arc(TunableError::ShortOfMemory { .. })),
            })
        ),
        "{last:?}"
    );
    assert_eq!(last.retry_lines, 1, "{last:?}");
    let admitted = at_once + 1;
    // Every one of them starts, in creation order (first come, first
    // served).
    for v in &all[..admitted] {
        assert!(v.started, "{v:?}");
    }
    for w in all[..admitted].windows(2) {
        assert!(started_at(w[0]) <= started_at(w[1]), "{w:?}");
    }
    // The rest are refused at once (at 10 s) with ENOMEM and the reason;
    // bhyve prints its retry line and tries again every second, each try
    // refused at once with nothing reserved (59 s: only the 29).
    for v in &all[admitted..] {
        // ENOMEM, retried every second: at launch the host is short of it
        // (the 29th's refusal, above), later the reservation does not
        // fit above c_min beside the live ones.
        let why = launch_refusal(&r, &v.name);
        assert!(
            matches!(
                why,
                Some(Detail::Retrying {
                    errno: ENOMEM,
                    why: Message::CannotReserve(VmmError::Arc(
                        TunableError::NoHeadroom { .. } | TunableError::ShortOfMemory { .. }
                    )),
                })
            ),
            "{why:?}"
        );
        assert_eq!(v.error, None, "{v:?}");
        let first = r
            .log
            .lines
            .iter()
            .find(|l| l.guest == v.name && matches!(l.message, Message::RetryingAllocation { .. }))
            .unwrap();
        assert_eq!(first.at, 10 * HZ);
    }
    // Each retrying bhyve keeps the instance VMM_CREATE_VM made and
    // repeats VM_ALLOC_MEMSEG for its segment.
    let retrying = (all.len() - admitted) as u64;
    assert_kstats_hold(&r, 59.0, &all[..admitted], retrying, None);
    // The launch's 36 refusals for want of memory now, then 35 x 48
    // that do not fit beside the live ones.
    assert_eq!(kstat(&r, 59.0, "zfs:0:arc_headroom:rejections_memory"), 36);
    assert_eq!(kstat(&r, 59.0, "zfs:0:arc_headroom:rejections"), 35 * 48);
    // Five running guests are destroyed at 60 s; five of the retrying
    // ones get in at their next retry, in the same second.
    let destroyed: Vec<&&VmOutcome> = all.iter().filter(|v| v.destroyed).collect();
    assert_eq!(destroyed.len(), 5);
    let late: Vec<&&VmOutcome> = all[admitted..].iter().filter(|v| v.started).collect();
    assert_eq!(late.len(), 5);
    // They claim in creation order as free memory covers each one's
    // segment plus every older one still pending: a claimed segment stays
    // pending for younger waiters while the driver zeroes it (0.8 s for
    // 2 GiB at the allocation rate), so the last waits for up to all five
    // zeroings.
    let zero_s = 2.0 * GIB as f64 / Params::default().alloc_rate as f64;
    for v in &late {
        assert_eq!(v.retry_lines, 50, "{v:?}");
        let up = started_at(v).unwrap();
        assert!(
            (60.0..=60.0 + 5.0 * zero_s + 0.05).contains(&up),
            "{} up at {up} s",
            v.name
        );
    }
    for w in late.windows(2) {
        assert!(started_at(w[0]) <= started_at(w[1]), "{w:?}");
    }
    // The other 30 are still retrying at the end, never refused for good.
    let retrying: Vec<&&VmOutcome> = all[admitted..].iter().filter(|v| !v.started).collect();
    assert_eq!(retrying.len(), 30);
    for v in &retrying {
        assert_eq!((v.retry_lines, v.held_bytes), (110, 0), "{v:?}");
    }
    // Each retry is one rejection: the counters agree with bhyve's log.
    let retries: u64 = all.iter().map(|v| v.retry_lines).sum();
    assert_eq!(retries, 1 + 5 * 50 + 30 * 110);
    let memory = kstat(&r, 120.0, "zfs:0:arc_headroom:rejections_memory");
    assert_eq!(memory, 36);
    assert_eq!(
        kstat(&r, 120.0, "zfs:0:arc_headroom:rejections") + memory,
        retries
    );
    assert_eq!(
        kstat(&r, 120.0, "vmm:0:arc_resv:fail_no_headroom") + memory,
        retries
    );
    assert_eq!(kstat(&r, 120.0, "vmm:0:arc_resv:fail_no_memory"), memory);
    assert_eq!(kstat(&r, 120.0, "zfs:0:arc_headroom:wait_timeouts"), 0);
    assert_eq!(r.pages_paged_out, 0);
    let running: Vec<&VmOutcome> = all
        .iter()
        .filter(|v| v.started && !v.destroyed)
        .copied()
        .collect();
    assert_eq!(running.len(), 29);
    assert_nothing_leaked(&r, &running, None);

    for p in STOCK {
        let r = run(&s, p);
        let all: Vec<&VmOutcome> = names.iter().map(|n| vm(&r, n)).collect();
        // The same 29 fit, some after retries, and five more once five
        // are destroyed at 60 s; the other 30 are never refused. legacy
        // and os8005 loop (60 s in vm_reserve_pages(), a retry line,
        // again); the reservoir waits in page_xresv(), which has no
        // deadline, holding its needfree for good. Their needfree keeps
        // the scanner paging.
        let started = all.iter().filter(|v| v.started).count();
        assert_eq!(started, 34, "{p:?}");
        for v in all.iter().filter(|v| v.started && v.created_at_s > 0.0) {
            let up = started_at(v).unwrap();
            assert!(up < 30.0 || (60.0..70.0).contains(&up), "{p:?}: {v:?}");
        }
        let waiting: Vec<_> = all.iter().filter(|v| !v.started).collect();
        assert_eq!(waiting.len(), 30, "{p:?}");
        for v in &waiting {
            assert_eq!(v.error, None, "{p:?}");
            assert_eq!(v.retry_lines > 0, p != Policy::Reservoir, "{p:?}: {v:?}");
        }
        if p == Policy::Reservoir {
            let needfree = waiting.len() as u64 * 2 * GIB / PAGESIZE;
            assert_eq!(r.owed_after.needfree_pages, needfree);
        }
        assert!(r.pages_paged_out > 0, "{p:?}");
        assert_stock_accounting_returns(&r);
    }
}

// ---------------------------------------------------------------------
// 5. An admin lowering zfs_arc_max below the current reservations
// ---------------------------------------------------------------------

#[test]
fn lowering_arc_max_below_the_reservations_is_accepted_and_keeps_them() {
    let s = scenario("fault-arc-max-below-reservations");
    let r = run(&s, Policy::Tunables);
    let g = vm(&r, "vm64");
    assert!(g.started);
    let (reservation, _) = reservation_of(64 * GIB);
    let c_max_start = kstat(&r, 1.0, "zfs:0:arcstats:c_max");
    assert_kstats_hold_exactly(&r, 40.0, &[g], None);
    // The kstat write is accepted; the ceiling is the admin's at once and
    // the ARC has shed down to it; the reservation is untouched.
    let w = r
        .events
        .iter()
        .find(|e| {
            matches!(&e.event, Event::KstatWrite { assignment }
                if assignment == "zfs:0:tunables:zfs_arc_max=8589934592")
        })
        .unwrap();
    assert!(w.ok(), "{w:?}");
    assert_kstats_hold_exactly(&r, 50.0, &[g], Some(8 * GIB));
    assert_eq!(kstat(&r, 50.0, "zfs:0:arcstats:c_max"), 8 * GIB);
    assert!(kstat(&r, 50.0, "zfs:0:arcstats:size") <= 8 * GIB);
    assert_eq!(kstat(&r, 50.0, "zfs:0:arc_headroom:reserved"), reservation);
    // The same through mdb, picked up by the sync tick.
    assert!(r.events.iter().any(|e| e.event == ARC_MAX_SYNC
        && e.ok()
        && e.detail == Some(Detail::Applied { value: 4 * GIB })));
    assert_kstats_hold_exactly(&r, 62.0, &[g], Some(4 * GIB));
    assert_eq!(kstat(&r, 62.0, "zfs:0:arcstats:c_max"), 4 * GIB);
    // With the guest gone the admin's cap is what remains.
    assert_kstats_hold_exactly(&r, 91.0, &[], Some(4 * GIB));
    assert_eq!(kstat(&r, 91.0, "zfs:0:arcstats:c_max"), 4 * GIB);
    // And with the cap removed, the ceiling is where it started.
    assert_eq!(kstat(&r, 120.0, "zfs:0:arcstats:c_max"), c_max_start);
    assert_nothing_leaked(&r, &[], None);

    for p in STOCK {
        let r = run(&s, p);
        // No zfs:0:tunables; the mdb write changes a variable that only
        // arc_init() read: c_max never moves.
        let w = r
            .events
            .iter()
            .find(|e| matches!(e.event, Event::KstatWrite { .. }))
            .unwrap();
        assert_eq!(w.errno(), Some(ENOENT), "{p:?}");
        assert!(r
            .events
            .iter()
            .any(|e| matches!(e.event, Event::MdbWrite { .. }) && e.ok()));
        for at in [1.0, 50.0, 62.0, 91.0, 120.0] {
            assert_eq!(kstat(&r, at, "zfs:0:arcstats:c_max"), c_max_start, "{p:?}");
            assert!(!has_kstat(&r, at, "zfs:0:arc_headroom:reserved"));
        }
        assert_stock_accounting_returns(&r);
    }
}

#[test]
fn lowering_arc_max_under_a_reservation_that_needs_the_raised_base_is_ebusy() {
    let s = scenario("fault-arc-max-below-raised-base");
    let r = run(&s, Policy::Tunables);
    let g = vm(&r, "big");
    assert!(g.started);
    let raised: u64 = 15_872 * MIB; // 0x3e0000000, the /etc/system value
    let (reservation, _) = reservation_of(14592 * MIB);
    assert_eq!(kstat(&r, 40.0, "zfs:0:arc_headroom:c_max_base"), raised);
    assert_kstats_hold_exactly(&r, 40.0, &[g], None);
    // Refused by kstat, with why.
    let w = r.events.iter().find(|e| e.at == 41 * HZ).unwrap();
    assert_eq!(w.errno(), Some(EBUSY));
    assert!(
        matches!(
            w.detail,
            Some(Detail::KstatRefused(ExportError::Refused(
                TunableError::ConflictsWithReservations { reserved, .. }
            ))) if reserved == Bytes(reservation)
        ),
        "{w:?}"
    );
    // Refused by the sync tick after an mdb write, which restores the
    // variable with a warning naming the refused value and the one kept.
    let sync = r.events.iter().find(|e| e.event == ARC_MAX_SYNC).unwrap();
    assert_eq!(sync.errno(), Some(EBUSY));
    assert!(
        matches!(sync.detail, Some(Detail::Restored(w)) if w.kept == raised && w.refused != raised),
        "{sync:?}"
    );
    // Nothing changed.
    assert_eq!(kstat(&r, 45.0, "zfs:0:tunables:zfs_arc_max"), raised);
    assert_kstats_hold_exactly(&r, 45.0, &[g], None);
    // With the guest gone the same write is accepted.
    let later = r.events.iter().find(|e| e.at == 61 * HZ).unwrap();
    assert!(later.ok(), "{later:?}");
    assert_nothing_leaked(&r, &[], Some(8 * GIB));
    assert_eq!(kstat(&r, 120.0, "zfs:0:arcstats:c_max"), 8 * GIB);

    for p in STOCK {
        let r = run(&s, p);
        // arc_init() took the /etc/system value; nothing later moves it.
        for at in [1.0, 45.0, 120.0] {
            assert_eq!(kstat(&r, at, "zfs:0:arcstats:c_max"), raised, "{p:?}");
        }
        assert!(vm(&r, "big").started, "{p:?}");
        assert_stock_accounting_returns(&r);
    }
}

// ---------------------------------------------------------------------
// Every fault scenario, every policy: the accounting always adds up.
// ---------------------------------------------------------------------

#[test]
fn every_fault_scenario_adds_up_under_every_policy() {
    for (name, _, _) in scenario::FAULTS {
        let s = scenario(name);
        for p in Policy::ALL {
            let r = run(&s, p);
            let m = r.memstat_after;
            let sum = m.kernel
                + m.boot
                + m.zfs
                + m.vmm
                + m.anon
                + m.exec
                + m.page_cache
                + m.cachelist
                + m.freelist;
            assert_eq!(sum, m.total, "{name} {p:?}");
            assert_every_refusal_is_an_event(&r);
            if p == Policy::Tunables {
                assert_eq!(r.lwps_swapped, 0, "{name}");
            }
        }
    }
}
