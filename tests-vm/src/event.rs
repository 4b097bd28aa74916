//! The run's event record: each scenario event, each admin action and
//! each final failure of a guest's create, with when it happened and how
//! it ended.
//!
//! [`Event`] says what happened, typed; its `Display` is the line the
//! report prints (`vm_create vm1 ram=68719476736`, `sync zfs_arc_max`).
//! The admin paths and the run loop produce records, the report renders
//! them, and tests match on the variants, never on the rendered text.

use std::fmt;

use crate::params::HZ;

/// What an event was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A line of `/etc/system` read at boot (1-based).
    EtcSystem {
        /// The line number.
        line: usize,
    },
    /// bhyve started a guest of `ram` bytes (`vm_create NAME ram=N`).
    VmCreate {
        /// The guest.
        name: String,
        /// Guest RAM, bytes.
        ram: u64,
    },
    /// A `vm_create` refused because a live guest has the name
    /// (`vm_create NAME`, `EEXIST`).
    VmNameTaken {
        /// The name.
        name: String,
    },
    /// A guest's create failed for good after its launch: a timeout, an
    /// allocation failure, a destroy (`vm_create NAME`).
    VmSetupFailed {
        /// The guest.
        name: String,
    },
    /// `vm_destroy NAME`.
    VmDestroy {
        /// The guest.
        name: String,
    },
    /// A kstat write, as the admin typed it
    /// (`module:instance:name:statistic=value`).
    KstatWrite {
        /// The assignment.
        assignment: String,
    },
    /// An `mdb -kw` write, as the admin typed it.
    MdbWrite {
        /// The command.
        command: String,
    },
    /// A `kstat -p` read that failed (a read that succeeds is recorded
    /// with the lines it printed instead).
    KstatRead {
        /// The selector.
        selector: String,
    },
    /// The `alloc_fault` fault was armed.
    AllocFault {
        /// The guest (now or later).
        vm: String,
        /// Bytes the guest may hold before the allocator refuses.
        after: u64,
        /// Refusals.
        times: u64,
    },
    /// The `evictor_stall` fault: the adjust thread evicts nothing for
    /// this many ticks.
    EvictorStall {
        /// Ticks.
        ticks: u64,
    },
    /// The reader's rate changed (`arcfill`), bytes/s.
    Arcfill {
        /// Bytes/s.
        rate: u64,
    },
    /// The project's sync tick applied or refused a raw variable.
    Sync {
        /// The variable.
        variable: &'static str,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::EtcSystem { line } => write!(f, "etc_system line {line}"),
            Event::VmCreate { name, ram } => write!(f, "vm_create {name} ram={ram}"),
            Event::VmNameTaken { name } | Event::VmSetupFailed { name } => {
                write!(f, "vm_create {name}")
            }
            Event::VmDestroy { name } => write!(f, "vm_destroy {name}"),
            Event::KstatWrite { assignment } => write!(f, "kstat_write {assignment}"),
            Event::MdbWrite { command } => write!(f, "mdb_write {command}"),
            Event::KstatRead { selector } => write!(f, "kstat_read {selector}"),
            Event::AllocFault { vm, after, times } => {
                write!(f, "alloc_fault {vm} after={after} times={times}")
            }
            Event::EvictorStall { ticks } => {
                write!(f, "evictor_stall {}s", *ticks as f64 / HZ as f64)
            }
            Event::Arcfill { rate } => write!(f, "arcfill {rate}"),
            Event::Sync { variable } => write!(f, "sync {variable}"),
        }
    }
}

impl Event {
    /// The guest a `vm_create` event (at launch, or its later failure) is
    /// about.
    #[must_use]
    pub fn created_guest(&self) -> Option<&str> {
        match self {
            Event::VmCreate { name, .. }
            | Event::VmNameTaken { name }
            | Event::VmSetupFailed { name } => Some(name),
            _ => None,
        }
    }
}

/// Why an event failed: the errno the kernel (or the tool) returned, and
/// the message the admin saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The errno.
    pub errno: i32,
    /// What was printed.
    pub message: String,
}

/// One event and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// When, ticks.
    pub at: u64,
    /// What.
    pub event: Event,
    /// What it did, or why it failed.
    pub outcome: Result<String, Refusal>,
}

impl EventRecord {
    /// An event that succeeded.
    #[must_use]
    pub fn done(at: u64, event: Event, message: String) -> EventRecord {
        EventRecord {
            at,
            event,
            outcome: Ok(message),
        }
    }

    /// An event that failed with `errno`.
    #[must_use]
    pub fn refused(at: u64, event: Event, errno: i32, message: String) -> EventRecord {
        EventRecord {
            at,
            event,
            outcome: Err(Refusal { errno, message }),
        }
    }

    /// An event whose outcome is `r`.
    #[must_use]
    pub fn of(at: u64, event: Event, r: Result<String, (i32, String)>) -> EventRecord {
        match r {
            Ok(message) => EventRecord::done(at, event, message),
            Err((errno, message)) => EventRecord::refused(at, event, errno, message),
        }
    }

    /// When, seconds.
    #[must_use]
    pub fn at_s(&self) -> f64 {
        self.at as f64 / HZ as f64
    }

    /// Whether it succeeded.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// Its errno, if it failed.
    #[must_use]
    pub fn errno(&self) -> Option<i32> {
        self.outcome.as_ref().err().map(|r| r.errno)
    }

    /// What happened, or why it failed.
    #[must_use]
    pub fn message(&self) -> &str {
        match &self.outcome {
            Ok(m) => m,
            Err(r) => &r.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_print_as_the_scenario_says_them() {
        let cases = [
            (Event::EtcSystem { line: 3 }, "etc_system line 3"),
            (
                Event::VmCreate {
                    name: "vm1".into(),
                    ram: 42,
                },
                "vm_create vm1 ram=42",
            ),
            (Event::VmSetupFailed { name: "vm1".into() }, "vm_create vm1"),
            (Event::EvictorStall { ticks: 9000 }, "evictor_stall 90s"),
            (Event::EvictorStall { ticks: 150 }, "evictor_stall 1.5s"),
            (
                Event::Sync {
                    variable: "zfs_arc_max",
                },
                "sync zfs_arc_max",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
        let r = EventRecord::refused(250, Event::VmDestroy { name: "a".into() }, 2, "no".into());
        assert_eq!(
            (r.ok(), r.errno(), r.message(), r.at_s()),
            (false, Some(2), "no", 2.5)
        );
    }
}
