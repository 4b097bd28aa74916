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
/// `[host]`) and says what is wrong; a scenario has a host an illumos kernel boots on, a positive
/// duration, rates of at least a page a second, events in time order,
/// guests with names and memory, trimmed, non-empty admin commands, and
/// faults that name a guest and fire;
/// and the same text always gives the same result. Returns the result.
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
            assert!(s.duration > 0);
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
                    EventKind::VmCreate { name, ram } => {
                        assert!(!name.is_empty() && name.len() <= 64, "{name:?}");
                        assert!(*ram > 0);
                    }
                    EventKind::VmDestroy(c)
                    | EventKind::KstatWrite(c)
                    | EventKind::MdbWrite(c)
                    | EventKind::KstatRead(c) => {
                        assert!(!c.is_empty() && c.trim() == c, "{c:?}");
                    }
                    EventKind::AllocFault { vm, times, .. } => {
                        assert!(!vm.is_empty() && vm.len() <= 64, "{vm:?}");
                        assert!(*times >= 1, "a fault that never fires");
                    }
                    EventKind::EvictorStall(ticks) => assert!(*ticks > 0),
                    EventKind::Memstat | EventKind::Arcfill(_) => {}
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
