//! The run's event record: each scenario event, each admin action and
//! each final failure of a guest's create, with when it happened and how
//! it ended.
//!
//! [`Event`] says what happened, typed; its `Display` is the line the
//! report prints (`vm_create vm1 ram=68719476736`, `sync zfs_arc_max`).
//! An outcome is the text the report prints, and, where the outcome says
//! more than its errno, a [`Detail`] it was rendered from: the refusal bhyve
//! retries, the line a failed create printed, a destruction begun under a
//! create in flight, the kernel's reason for refusing a write, what the
//! sync tick applied or wrote back. The admin paths and the run loop
//! produce records, the report renders them, and tests match on the
//! variants and the details, never on the rendered text
//! (`tests/event_matching.rs` keeps it so).

use std::fmt;

use kstat_export::{ExportError, RawSyncWarning};

use crate::log::Message;
use crate::params::HZ;

/// `ENOTTY` (`sys/errno.h`): an ioctl the driver does not know (the 2021
/// vmm's answer to `rsrvrctl`). Not among the component's errnos.
pub const ENOTTY: i32 = 25;

/// The symbolic name of an errno a run's event can carry: the
/// component's, and [`ENOTTY`].
#[must_use]
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        ENOTTY => "ENOTTY",
        e => zfs_tunables::errno::name(e),
    }
}

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
    /// The admin ran `rsrvrctl` (`rsrvrctl -a 65536`): refused at once,
    /// done at once, or still resizing the reservoir (then
    /// [`Event::RsrvrctlReturned`] says when and how it ended).
    Rsrvrctl {
        /// The command line, as the admin typed it.
        command: String,
    },
    /// An `rsrvrctl` that was still resizing the reservoir when it was
    /// run returned (`rsrvrctl -a 65536`).
    RsrvrctlReturned {
        /// The command line.
        command: String,
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
            Event::Rsrvrctl { command } | Event::RsrvrctlReturned { command } => {
                write!(f, "rsrvrctl {command}")
            }
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

/// Where a create was when its guest was destroyed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateStage {
    /// Waiting for headroom: it holds a reservation and no memory.
    WaitsForHeadroom,
    /// Allocating against its reservation.
    Allocates,
}

impl fmt::Display for CreateStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CreateStage::WaitsForHeadroom => "waits for headroom",
            CreateStage::Allocates => "allocates",
        })
    }
}

/// What an outcome says beyond its errno, typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// bhyve started, and its first `vm_setup_memory()` was refused with
    /// `errno` (`ENOMEM`) for `why`; bhyve retries it every second.
    Retrying {
        /// The ioctl's errno.
        errno: i32,
        /// The line the kernel printed.
        why: Message,
    },
    /// The guest's create failed for good: the line its kernel (or bhyve)
    /// printed.
    SetupFailed(Message),
    /// The guest's destruction has begun while its create is in flight at
    /// `stage`; the create rolls back at its next step.
    DestructionBegun {
        /// Where the create was.
        stage: CreateStage,
    },
    /// The kernel refused a kstat write.
    KstatRefused(ExportError),
    /// The sync tick applied a raw variable's new value.
    Applied {
        /// The value now in force.
        value: u64,
    },
    /// The sync tick refused a raw write and wrote back the value kept
    /// (the kernel's `cmn_err(CE_WARN)`).
    Restored(RawSyncWarning),
    /// `rsrvrctl` returned, or goes on resizing: the reservoir's size
    /// then (what `rsrvrctl -q` would show as free plus allocated).
    Reservoir {
        /// Bytes in the reservoir.
        size: u64,
        /// Whether the resize is still under way.
        resizing: bool,
    },
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Detail::Retrying { errno, why } => write!(
                f,
                "bhyve started; {} ({why}): bhyve retries every second",
                errno_name(*errno)
            ),
            Detail::SetupFailed(why) => write!(f, "{why}"),
            Detail::DestructionBegun { stage } => write!(
                f,
                "destruction begun; its create {stage} and rolls back at its next step"
            ),
            Detail::KstatRefused(e) => write!(f, "{e}"),
            Detail::Applied { value } => write!(f, "{value} applied"),
            Detail::Restored(w) => write!(f, "WARNING: {w}"),
            Detail::Reservoir { size, resizing } => write!(
                f,
                "the reservoir holds {size} bytes{}",
                if *resizing { " and is resizing" } else { "" }
            ),
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
    /// What the outcome says beyond its errno, where it says more.
    pub detail: Option<Detail>,
}

impl EventRecord {
    /// An event that succeeded.
    #[must_use]
    pub fn done(at: u64, event: Event, message: String) -> EventRecord {
        EventRecord {
            at,
            event,
            outcome: Ok(message),
            detail: None,
        }
    }

    /// An event that failed with `errno`.
    #[must_use]
    pub fn refused(at: u64, event: Event, errno: i32, message: String) -> EventRecord {
        EventRecord {
            at,
            event,
            outcome: Err(Refusal { errno, message }),
            detail: None,
        }
    }

    /// The same record, with `detail`.
    #[must_use]
    pub fn with_detail(self, detail: Detail) -> EventRecord {
        EventRecord {
            detail: Some(detail),
            ..self
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
        let details = [
            (
                Detail::Retrying {
                    errno: zfs_tunables::errno::ENOMEM,
                    why: Message::CouldNotShrinkArc,
                },
                "bhyve started; ENOMEM (Could not shrink ARC: Not enough space): \
                 bhyve retries every second",
            ),
            (
                Detail::DestructionBegun {
                    stage: CreateStage::WaitsForHeadroom,
                },
                "destruction begun; its create waits for headroom and rolls back at its next step",
            ),
            (Detail::Applied { value: 4096 }, "4096 applied"),
        ];
        for (d, text) in details {
            assert_eq!(d.to_string(), text);
        }
        let r = EventRecord::refused(250, Event::VmDestroy { name: "a".into() }, 2, "no".into());
        assert_eq!(
            (r.ok(), r.errno(), r.message(), r.at_s()),
            (false, Some(2), "no", 2.5)
        );
    }
}
