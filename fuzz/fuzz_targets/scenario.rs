//! The simulator's scenario files (TOML), and the admin input they carry.
//!
//! Input: a scenario file (invalid UTF-8 replaced), parsed with
//! `tests_vm::scenario::parse_scenario`. When it parses, the admin input
//! inside it goes where the simulator sends it: the `[boot] etc_system`
//! lines to `/etc/system` at boot, each `kstat_write` to the kstat write
//! path, each `mdb_write` to an `mdb` session with a sync tick, each
//! `kstat_read` to the selector parser.
//!
//! Checked (`check_scenario`, then the admin-syntax checks): an error
//! names a line of the file and says what is wrong; a scenario has a host
//! that boots, a positive duration, rates of at least a page a second,
//! events in time order, named guests with memory, trimmed commands and
//! faults that name a guest and fire;
//! parsing is a function of the text; and every embedded admin input
//! keeps the invariants its own target checks.

#![no_main]

use arc_tunables_fuzz::admin_input_checks::{
    check_assignment_lines, check_etc_system, check_mdb_session,
};
use arc_tunables_fuzz::scenario_checks::check_scenario;
use arc_tunables_fuzz::{booted, booting};
use admin_syntax::parse_selector;
use libfuzzer_sys::fuzz_target;
use tests_vm::scenario::EventKind;

fuzz_target!(|data: &[u8]| {
    let Ok(scenario) = check_scenario(data) else {
        return;
    };
    if !scenario.etc_system.is_empty() {
        let _ = check_etc_system(&booting, scenario.etc_system.join("\n").as_bytes());
    }
    for event in &scenario.events {
        match &event.kind {
            EventKind::KstatWrite(w) => {
                let _ = check_assignment_lines(&booted, w.as_bytes());
            }
            EventKind::MdbWrite(w) => {
                let _ = check_mdb_session(&booted, w.as_bytes());
            }
            EventKind::KstatRead(selector) => {
                if let Err(e) = parse_selector(selector.as_bytes()) {
                    assert!(e.offset <= selector.len(), "{e:?}");
                }
            }
            EventKind::VmCreate { .. }
            | EventKind::VmDestroy(_)
            | EventKind::Memstat
            | EventKind::Arcfill(_)
            | EventKind::AllocFault { .. }
            | EventKind::EvictorStall(_)
            | EventKind::Rsrvrctl(_) => {}
        }
    }
});
