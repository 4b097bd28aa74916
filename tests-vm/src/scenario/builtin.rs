//! The built-in scenarios: the seed's hosts and the fault scenarios as
//! files under `scenarios/`, and the generated fleet.

use super::load;
use super::types::{Event, EventKind, Generation, HostSpec, Scenario, ScenarioError};
use crate::params::{GIB, HZ, MIB};

/// The built-in scenarios: (name, one-line summary, TOML text).
pub const BUILTINS: [(&str, &str, &str); 6] = [
    (
        "seed-4g",
        "4 GiB host, ARC held at c_min by a reader, 1.8 GiB guest; the reader is killed after 3 minutes",
        include_str!("../../scenarios/seed-4g.toml"),
    ),
    (
        "seed-128g-home",
        "128 GiB home system, ARC 27.7 GiB, a 28.0 GiB guest running, a 70 GiB guest starts",
        include_str!("../../scenarios/seed-128g-home.toml"),
    ),
    (
        "seed-128g",
        "128 GiB host (the unpatched run's ::memstat), ARC 65.4 GiB, a 20.0 GiB guest running, a 64 GiB guest starts",
        include_str!("../../scenarios/seed-128g.toml"),
    ),
    (
        "seed-128g-fix",
        "the same host as booted for the OS-8005 test (its own ::memstat): ARC 69.0 GiB",
        include_str!("../../scenarios/seed-128g-fix.toml"),
    ),
    (
        "seed-128g-reservoir-grow",
        "seed-128g's host (ARC 65.4 GiB, a 20.0 GiB guest running); the vmm reservoir is grown by 64 GiB (rsrvrctl -a 65536)",
        include_str!("../../scenarios/seed-128g-reservoir-grow.toml"),
    ),
    (
        "busy-reader",
        "128 GiB host, a reader filling the ARC at 500 MiB/s while a 32 GiB guest starts",
        include_str!("../../scenarios/busy-reader.toml"),
    ),
];

/// The fault-injection scenarios (MODEL.md, "Faults"): (name, one-line
/// summary, TOML text).
pub const FAULTS: [(&str, &str, &str); 8] = [
    (
        "fault-alloc",
        "a 64 GiB guest's allocation fails once at 62 GiB; bhyve retries",
        include_str!("../../scenarios/faults/alloc.toml"),
    ),
    (
        "fault-evictor-stall",
        "the ARC's evictor stalls for 90 s while a 64 GiB guest waits for it",
        include_str!("../../scenarios/faults/evictor-stall.toml"),
    ),
    (
        "fault-destroy-waiting",
        "a 64 GiB guest is destroyed at 30 s while its create waits for the ARC",
        include_str!("../../scenarios/faults/destroy-waiting.toml"),
    ),
    (
        "fault-destroy-allocating",
        "a 64 GiB guest is destroyed at 30 s while its create allocates at 1 GiB/s",
        include_str!("../../scenarios/faults/destroy-allocating.toml"),
    ),
    (
        "fault-sixty-four-at-once",
        "64 guests of 2 GiB start at once on a 64 GiB host that holds 29; 5 are destroyed at 60 s",
        include_str!("../../scenarios/faults/sixty-four-at-once.toml"),
    ),
    (
        "fault-sixty-four-large-kernel",
        "64 guests of 2 GiB start at once on a 128 GiB host with 16 GiB of Kernel",
        include_str!("../../scenarios/faults/sixty-four-large-kernel.toml"),
    ),
    (
        "fault-arc-max-below-reservations",
        "zfs_arc_max lowered to 8 GiB (kstat) then 4 GiB (mdb) under a 64 GiB guest's reservation",
        include_str!("../../scenarios/faults/arc-max-below-reservations.toml"),
    ),
    (
        "fault-arc-max-below-raised-base",
        "zfs_arc_max lowered under a reservation that needs the raised base (16 GiB host)",
        include_str!("../../scenarios/faults/arc-max-below-raised-base.toml"),
    ),
];

/// The generated built-ins: (name, one-line summary).
pub const GENERATED: [(&str, &str); 1] = [(
    "fleet-1t",
    "1 TiB host, 1000 guests of 2 to 32 GiB come and go over a simulated day while a reader fills the ARC and an admin changes zfs_arc_max every hour (for benchmarks)",
)];

/// A built-in scenario by name.
pub fn builtin(name: &str) -> Option<Result<Scenario, ScenarioError>> {
    if name == "fleet-1t" {
        return Some(Ok(fleet(FLEET_1T_GUESTS, FLEET_1T_SECONDS)));
    }
    BUILTINS
        .iter()
        .chain(FAULTS.iter())
        .find(|(n, _, _)| *n == name)
        .map(|(n, _, text)| load::load(text, n).map(|l| l.scenario))
}

/// `fleet-1t`'s guests.
pub const FLEET_1T_GUESTS: usize = 1000;
/// `fleet-1t`'s simulated time, seconds (a day).
pub const FLEET_1T_SECONDS: u64 = 86_400;
/// The fleet's reader: ARC misses filled at this rate, bytes/s, all day.
pub const FLEET_READER_RATE: u64 = 256 * MIB;
/// The `zfs_arc_max` values the fleet's admin writes, one an hour, in turn.
pub const FLEET_ARC_MAX_CYCLE: [u64; 4] = [768 * GIB, 512 * GIB, 896 * GIB, 640 * GIB];

/// A 1 TiB host on which `guests` guests of 2 to 32 GiB are created at
/// random times over `seconds` and destroyed after 10 to 90 minutes
/// (those whose life would outlast the run keep running); a reader fills
/// the ARC at [`FLEET_READER_RATE`] throughout, and every hour an admin
/// writes the next value of [`FLEET_ARC_MAX_CYCLE`] to
/// `zfs:0:tunables:zfs_arc_max` (a kstat the stock kernels do not have:
/// there the write fails and changes nothing, as it would). The same every
/// time (a fixed xorshift seed).
///
/// The density is what a full host runs: in `fleet-1t` about 35 guests and
/// 440 GiB of guest RAM at once on average, 816 GiB at the peak, so every
/// guest fits beside the kernel and a shrunken ARC (with guests living up
/// to 4 hours the fleet wanted 1.1 TiB on average, more than the host has).
/// With `seconds` proportional to `guests` the density stays the same, so
/// runs of different sizes can be compared per guest.
#[must_use]
pub fn fleet(guests: usize, seconds: u64) -> Scenario {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let span = seconds.saturating_sub(60).max(1) * HZ;
    let hours = seconds / 3600;
    let mut events = Vec::with_capacity(2 * guests + hours as usize);
    for i in 0..guests {
        let at = 60 * HZ + next() % span;
        let ram = [2u64, 4, 8, 16, 32][(next() % 5) as usize] * GIB;
        let life = (600 + next() % (90 * 60 - 600)) * HZ;
        let name = format!("g{i}");
        events.push(Event {
            at,
            kind: EventKind::VmCreate {
                name: name.clone(),
                ram,
            },
        });
        if at + life < seconds * HZ {
            events.push(Event {
                at: at + life,
                kind: EventKind::VmDestroy(name),
            });
        }
    }
    for (h, v) in (1..=hours).zip(FLEET_ARC_MAX_CYCLE.iter().cycle()) {
        events.push(Event {
            at: h * 3600 * HZ,
            kind: EventKind::KstatWrite(format!("zfs:0:tunables:zfs_arc_max={v}")),
        });
    }
    events.sort_by_key(|e| e.at);
    Scenario {
        name: "fleet-1t".to_string(),
        description: GENERATED[0].1.to_string(),
        host: HostSpec {
            physmem: 1 << 40,
            kernel: 48 * GIB,
            boot: GIB,
            anon: 16 * GIB,
            exec: GIB,
            page_cache: 4 * GIB,
            generation: Generation::Y2021,
        },
        arc_size: 700 * GIB,
        arcfill: FLEET_READER_RATE,
        duration: seconds * HZ,
        evict_rate: None,
        alloc_rate: None,
        etc_system: Vec::new(),
        events,
    }
}
