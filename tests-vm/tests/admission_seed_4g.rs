//! Admission on `seed-4g` (issue 13, acceptance 1): while the reader
//! holds the ARC, the 1.8 GB guest cannot be given its memory without
//! paging, so every create is refused at once with `ENOMEM` naming the
//! shortfall, bhyve retries once a second as in the seed's log, and the
//! host pages nothing. After the reader stops the guest still does not
//! fit above `c_min` and the margin (see MODEL.md, "Admission on
//! seed-4g"), at the default margin and at `desfree`.

use tests_vm::event::{Detail, Event};
use tests_vm::log::Message;
use tests_vm::params::{Params, HZ};
use tests_vm::policy::Policy;
use tests_vm::scenario::{self, parse_scenario, Scenario};
use tests_vm::sim::{self, RunResult, VmOutcome};
use zfs_tunables::errno;

fn seed_4g() -> Scenario {
    scenario::builtin("seed-4g").unwrap().unwrap()
}

fn vm1(r: &RunResult) -> &VmOutcome {
    r.vms.iter().find(|v| v.name == "vm1").unwrap()
}

/// The shortfalls of every refusal in the log, with the tick it was
/// printed at.
fn refusals(r: &RunResult) -> Vec<(u64, u64, u64)> {
    r.log
        .short_of_memory()
        .into_iter()
        .map(|l| (l.at, l.requested, l.available))
        .collect()
}

#[test]
fn seed_4g_every_create_beside_the_reader_is_refused_at_once_and_nothing_pages() {
    let r = sim::run(&seed_4g(), Policy::Tunables, &Params::default());
    let g = vm1(&r);
    // Refused at the ioctl, in the tick bhyve made it (10 s), not after a
    // deadline.
    let create = r
        .events
        .iter()
        .find(|e| matches!(e.event, Event::VmCreate { .. }))
        .unwrap();
    assert_eq!(create.at, 10 * HZ);
    assert!(
        matches!(
            create.detail,
            Some(Detail::Retrying {
                errno: errno::ENOMEM,
                ..
            })
        ),
        "{create:?}"
    );
    let refused = refusals(&r);
    let first = refused.first().expect("a refusal is logged");
    assert_eq!(first.0, 10 * HZ, "refused within the second of its ioctl");
    // The message names the shortfall in bytes.
    let line = r
        .log
        .lines
        .iter()
        .find(|l| matches!(l.message, Message::CannotReserve(_)))
        .unwrap();
    let short = first.1 - first.2;
    assert!(short > 0);
    assert!(
        line.message
            .to_string()
            .contains(&format!("{short} bytes short")),
        "{}",
        line.message
    );
    // bhyve's retry line, once a second, from the first refusal to the
    // end of the run: every create while the reader runs (10 s to 190 s)
    // is one of them, refused in its own tick.
    let retries: Vec<_> = r
        .log
        .lines
        .iter()
        .filter(|l| matches!(l.message, Message::RetryingAllocation { .. }))
        .collect();
    assert!(!retries.is_empty());
    for l in &retries {
        assert_eq!(
            l.last_at - l.at,
            l.repeats * HZ,
            "a retry every second: {l:?}"
        );
    }
    let covered: u64 = retries.iter().map(|l| l.repeats + 1).sum();
    assert!(covered >= 180, "{covered} creates between 10 s and 190 s");
    assert!(g.retry_lines >= 180);
    assert!(!g.started);
    assert_ne!(g.errno, Some(errno::ETIME), "never waits out the deadline");
    assert_eq!(r.lwps_swapped, 0);
    assert_eq!(r.pages_paged_out, 0);
}

/// The run with `zfs_arc_headroom_margin` written to `margin` bytes at
/// 1 s.
fn with_margin(margin: u64) -> RunResult {
    let mut text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/seed-4g.toml"
    ))
    .unwrap();
    text.push_str(&format!(
        "\n[[event]]\nat = \"1s\"\nkstat_write = \"zfs:0:tunables:zfs_arc_headroom_margin={margin}\"\n"
    ));
    let s = parse_scenario(&text, "seed-4g-desfree").unwrap();
    sim::run(&s, Policy::Tunables, &Params::default())
}

#[test]
fn seed_4g_after_the_reader_stops_the_guest_is_short_at_both_margins() {
    let default = sim::run(&seed_4g(), Policy::Tunables, &Params::default());
    let lowered = with_margin(default.desfree_bytes);
    let write = lowered
        .events
        .iter()
        .find(|e| matches!(e.event, Event::KstatWrite { .. }))
        .unwrap();
    assert!(write.ok(), "{}", write.message());
    for (what, r) in [("default margin", &default), ("desfree", &lowered)] {
        let after: Vec<_> = refusals(r)
            .into_iter()
            .filter(|(at, _, _)| *at >= 190 * HZ)
            .collect();
        let g = vm1(r);
        assert!(!g.started, "{what}: the guest does not fit without paging");
        let last = refusals(r).last().copied().unwrap();
        assert!(last.1 > last.2, "{what}: still short at the end: {last:?}");
        let _ = after;
        assert_eq!(r.pages_paged_out, 0, "{what}");
        assert_eq!(r.lwps_swapped, 0, "{what}");
    }
    // A lower margin is a smaller shortfall, by the margin's difference.
    let d = refusals(&default).last().copied().unwrap();
    let l = refusals(&lowered).last().copied().unwrap();
    assert!(l.2 > d.2, "desfree gives more: {l:?} vs {d:?}");
}
