//! What must hold after parsing any scenario file, whatever its bytes.
//!
//! Driven from two sides: the property tests in
//! `scenario_parser_invariants.rs` (stable, run in CI) and the
//! `scenario` fuzz target under `fuzz/` (nightly, libFuzzer), which
//! includes this file. A broken invariant panics.

use tests_vm::params::{MIB, PAGESIZE};
use tests_vm::scenario::{parse_scenario, EventKind, Scenario, ScenarioError};

/// The name a scenario without `name` gets.
pub const DEFAULT_NAME: &str = "unnamed";

/// Parses `bytes` (as UTF-8, invalid sequences replaced) as a scenario
/// file: an error names a line of the file (unless the file has no
/// `[host]`) and says what is wrong; a scenario has a host an illumos
/// kernel boots on, whose `::memstat` categories and ARC fit in
/// `physmem`, a positive duration, rates of at least a page a second,
/// events in time order and within the run, named guests, trimmed,
/// non-empty admin commands, `rsrvrctl` sizes in whole MiB, and faults
/// that name a guest the file
/// creates and fire; and the same text always gives the same result.
/// Returns the result.
pub fn check_scenario(bytes: &[u8]) -> Result<Scenario, ScenarioError> {
    let text = String::from_utf8_lossy(bytes);
    let result = parse_scenario(&text, DEFAULT_NAME);
    match &result {
        Err(e) => {
            let lines = text.matches('\n').count() + 1;
            // Every error names its line, however the file is written,
            // except an absent [host] table: no line is at fault.
            assert!(
                e.line.is_some() || e.message == "missing [host] table",
                "{e} names no line"
            );
            if let Some(line) = e.line {
                assert!(
                    line >= 1 && line <= lines,
                    "{e} (the text has {lines} lines)"
                );
            }
            if let Some(field) = &e.field {
                assert!(!field.is_empty(), "{e:?}");
            }
            assert!(!e.message.is_empty(), "{e:?}");
            assert!(!e.to_string().is_empty());
        }
        Ok(s) => {
            assert!(s.host.physmem >= 64 * MIB, "{:?}", s.host);
            let h = &s.host;
            let pages = |b: u64| u128::from(b.div_ceil(PAGESIZE));
            let used = [h.kernel, h.boot, h.anon, h.exec, h.page_cache, s.arc_size]
                .into_iter()
                .map(pages)
                .sum::<u128>();
            assert!(used <= pages(h.physmem), "{h:?}, ARC {}", s.arc_size);
            assert!(s.duration > 0);
            assert!(
                s.events.iter().all(|e| e.at <= s.duration),
                "{:?}",
                s.events
            );
            for rate in [s.evict_rate, s.alloc_rate].into_iter().flatten() {
                assert!(rate >= PAGESIZE, "a rate of {rate} bytes/s");
            }
            assert!(
                s.events.windows(2).all(|w| w[0].at <= w[1].at),
                "{:?}",
                s.events
            );
            for e in &s.events {
                match &e.kind {
                    // Any size of guest loads (0 bytes too): the driver
                    // judges it during the run, as on a host.
                    EventKind::VmCreate { name, .. } => {
                        assert!(!name.is_empty() && name.len() <= 64, "{name:?}");
                    }
                    EventKind::VmDestroy(c)
                    | EventKind::KstatWrite(c)
                    | EventKind::MdbWrite(c)
                    | EventKind::KstatRead(c) => {
                        assert!(!c.is_empty() && c.trim() == c, "{c:?}");
                    }
                    EventKind::AllocFault { vm, times, .. } => {
                        assert!(!vm.is_empty() && vm.len() <= 64, "{vm:?}");
                        assert!(
                            s.events.iter().any(|c| matches!(
                                &c.kind,
                                EventKind::VmCreate { name, .. } if name == vm
                            )),
                            "a fault for {vm:?}, whom no event creates"
                        );
                        assert!(*times >= 1, "a fault that never fires");
                    }
                    EventKind::EvictorStall(ticks) => assert!(*ticks > 0),
                    EventKind::Memstat | EventKind::Arcfill(_) => {}
                    // rsrvrctl's sizes are whole MiB, as the tool takes them.
                    EventKind::Rsrvrctl(r) => {
                        assert!(!r.text.is_empty() && r.text.trim() == r.text, "{r:?}");
                        assert!(r.bytes % MIB == 0 && r.chunk % MIB == 0, "{r:?}");
                    }
                }
            }
        }
    }
    assert_eq!(
        parse_scenario(&text, DEFAULT_NAME),
        result,
        "parsing is a function of the text"
    );
    result
}
