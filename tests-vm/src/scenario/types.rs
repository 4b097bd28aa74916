//! The scenario's types: what a loaded scenario is, and how a file that
//! cannot be one is refused.

use std::fmt;

use super::rsrvrctl::Rsrvrctl;

/// Which `arc_init()` to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// illumos-joyent 2021 (the seed's kernels).
    Y2021,
    /// Current illumos.
    Current,
}

/// The host's memory at the start, in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSpec {
    /// Physical memory.
    pub physmem: u64,
    /// `::memstat` Kernel.
    pub kernel: u64,
    /// `::memstat` Boot pages.
    pub boot: u64,
    /// `::memstat` Anon.
    pub anon: u64,
    /// `::memstat` Exec and libs.
    pub exec: u64,
    /// `::memstat` Page cache.
    pub page_cache: u64,
    /// `arc_init()` generation.
    pub generation: Generation,
}

/// What happens at an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// bhyve starts a guest with `ram` bytes.
    VmCreate {
        /// Guest name.
        name: String,
        /// Guest RAM in bytes.
        ram: u64,
    },
    /// The guest is destroyed.
    VmDestroy(String),
    /// `kstat -w`-style write: `module:instance:name:statistic=value`.
    KstatWrite(String),
    /// `mdb -kw` write: `variable/Z value`.
    MdbWrite(String),
    /// `kstat -p` read with a selector.
    KstatRead(String),
    /// `::memstat`.
    Memstat,
    /// The reader's new rate, bytes/s.
    Arcfill(u64),
    /// Fault: the allocator of guest `vm`'s memory refuses (`ENOMEM`) the
    /// allocation that would take the guest past `after` bytes, `times`
    /// times.
    AllocFault {
        /// The guest (now or later).
        vm: String,
        /// Bytes the guest may hold before the allocator refuses.
        after: u64,
        /// How many allocations are refused before the fault clears.
        times: u64,
    },
    /// Fault: the ARC's adjust thread evicts nothing for this many ticks.
    EvictorStall(u64),
    /// `rsrvrctl`: the admin resizes the vmm reservoir.
    Rsrvrctl(Rsrvrctl),
}

/// One `[[event]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When, in ticks.
    pub at: u64,
    /// What.
    pub kind: EventKind,
}

/// A whole scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// One line about it.
    pub description: String,
    /// The host.
    pub host: HostSpec,
    /// The ARC's initial size, bytes.
    pub arc_size: u64,
    /// The reader's initial rate, bytes/s.
    pub arcfill: u64,
    /// Simulated time, ticks.
    pub duration: u64,
    /// `[sim] evict_rate`, if given.
    pub evict_rate: Option<u64>,
    /// `[sim] alloc_rate`, if given.
    pub alloc_rate: Option<u64>,
    /// `/etc/system` lines applied at boot.
    pub etc_system: Vec<String>,
    /// Events in time order (stable for equal times).
    pub events: Vec<Event>,
}

/// Why a scenario could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// 1-based line, when one line is at fault (a missing `[host]` table
    /// has none).
    pub line: Option<usize>,
    /// The field's path (`host.physmem`, `event[2].vm_create.ram`).
    pub field: Option<String>,
    /// What is wrong, quoting the offending text.
    pub message: String,
}

/// Something in a scenario that loads but may not do what its author
/// meant, which only the run can confirm (a fault armed after its guest
/// was created).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioWarning {
    /// 1-based line.
    pub line: Option<usize>,
    /// The field's path.
    pub field: Option<String>,
    /// What may be wrong.
    pub message: String,
}

/// `line 7, event[2].vm_create.ram: MESSAGE`, leaving out what is
/// unknown.
fn located(
    f: &mut fmt::Formatter<'_>,
    line: Option<usize>,
    field: Option<&str>,
    message: &str,
) -> fmt::Result {
    match (line, field) {
        (Some(l), Some(n)) => write!(f, "line {l}, {n}: {message}"),
        (Some(l), None) => write!(f, "line {l}: {message}"),
        (None, Some(n)) => write!(f, "{n}: {message}"),
        (None, None) => write!(f, "{message}"),
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        located(f, self.line, self.field.as_deref(), &self.message)
    }
}

impl fmt::Display for ScenarioWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        located(f, self.line, self.field.as_deref(), &self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A scenario as loaded from a file, with what the loader warns of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The scenario.
    pub scenario: Scenario,
    /// Warnings, in file order.
    pub warnings: Vec<ScenarioWarning>,
}
