//! The admin's paths: `/etc/system` at boot, `kstat -p` reads, kstat
//! writes, `mdb -kw` writes and the periodic sync that picks raw writes
//! up, through the `kstat-export` crate (the kernel side) and the
//! `admin-syntax` crate (what the admin types and reads).
//!
//! Under `tunables` the project's kernel has the four kstats
//! (`zfs:0:arcstats`, the writable `zfs:0:tunables`, `zfs:0:arc_headroom`,
//! `vmm:0:arc_resv`) and the raw variables with their sync tick, exactly
//! as `kstat-export` implements them over the component.
//!
//! On the 2021 kernels (`legacy`, `os8005`) and current illumos
//! (`reservoir`) only `zfs:0:arcstats` exists, read-only, showing the
//! model's own ARC; `arc_init()` reads `zfs_arc_max` and friends once, so
//! `/etc/system` sets them at boot and a later `mdb -kw` write changes a
//! variable nobody reads. The same parsers read what the admin typed.

use std::collections::BTreeMap;

use admin_syntax::etc_system::{SetValue, SystemLine};
use admin_syntax::{
    parse_assignment, parse_mdb_write, parse_selector, parse_system_line, render_kstat_p,
    BootFinding, KstatSelector, KstatSnapshot, OperatorMessage, StatValue,
};
use zfs_tunables::arc_limits::AdminValues;
use zfs_tunables::errno;
use zfs_tunables::Hrtime;

use crate::event::{Event, EventRecord};
use crate::machine::Machine;
use crate::params::HZ;

/// What the admin can do on a running kernel.
pub trait AdminPaths {
    /// `kstat -p SELECTOR`: the lines printed, or why nothing was.
    fn kstat_read(&mut self, m: &Machine, sel: &str) -> Result<Vec<String>, (i32, String)>;
    /// A kstat write, `module:instance:name:statistic=value`, made as
    /// root.
    fn kstat_write(&mut self, m: &Machine, w: &str) -> EventRecord;
    /// An `mdb -kw` write such as `zfs_arc_max/Z 0x200000000`.
    fn mdb_write(&mut self, m: &Machine, w: &str) -> EventRecord;
    /// The sync tick (once a second, on the ARC's reap timer): a raw
    /// variable that differs from the value last applied is applied, or
    /// restored with a warning. Only the project's kernel has it.
    fn sync_tick(&mut self, m: &Machine) -> Vec<EventRecord>;
}

/// The kernel's clock at tick `now`.
#[must_use]
pub fn hrtime(now: u64) -> Hrtime {
    Hrtime(now.saturating_mul(1_000_000_000 / HZ))
}

/// The variables the 2021 `arc_init()` reads.
const ARC_VARS: [&str; 6] = [
    "zfs_arc_max",
    "zfs_arc_min",
    "zfs_arc_meta_limit",
    "zfs_arc_meta_min",
    "dbuf_cache_max_bytes",
    "dbuf_metadata_cache_max_bytes",
];

/// `/etc/system` as the stock kernels read it: krtld sets the variables,
/// and `arc_init()` reads them once; a value it cannot use it ignores
/// silently, as the 2021 kernel does. Returns the values `arc_init()`
/// sees, and an event at 0 s for each line applied or refused.
#[must_use]
pub fn read_etc_system(lines: &[String]) -> (AdminValues, Vec<EventRecord>) {
    let mut out = Vec::new();
    let mut admin = AdminValues::default();
    for (n, line) in lines.iter().enumerate() {
        let ev = Event::EtcSystem { line: n + 1 };
        match parse_system_line(line.as_bytes()) {
            Ok(SystemLine::Set(cmd)) => {
                let var = cmd.variable.as_str();
                let SetValue::Integer { value, .. } = cmd.value else {
                    out.push(EventRecord::refused(
                        0,
                        ev,
                        errno::EINVAL,
                        format!("{var} takes a number, not a string; line ignored"),
                    ));
                    continue;
                };
                let slot = match var {
                    "zfs_arc_max" => &mut admin.arc_max,
                    "zfs_arc_min" => &mut admin.arc_min,
                    "zfs_arc_meta_limit" => &mut admin.arc_meta_limit,
                    "zfs_arc_meta_min" => &mut admin.arc_meta_min,
                    "dbuf_cache_max_bytes" => &mut admin.dbuf_cache_max,
                    "dbuf_metadata_cache_max_bytes" => &mut admin.dbuf_metadata_cache_max,
                    _ => {
                        out.push(EventRecord::refused(
                            0,
                            ev,
                            errno::ENOENT,
                            format!("sorry, variable '{var}' is not defined; line ignored"),
                        ));
                        continue;
                    }
                };
                *slot = value;
                out.push(EventRecord::done(
                    0,
                    ev,
                    format!("{var} = {value} (read once by arc_init())"),
                ));
            }
            Ok(_) => {}
            Err(e) => out.push(EventRecord::refused(
                0,
                ev,
                errno::EINVAL,
                BootFinding::malformed(
                    u32::try_from(n + 1).unwrap_or(u32::MAX),
                    line.as_bytes(),
                    e,
                )
                .to_string(),
            )),
        }
    }
    (admin, out)
}

/// The stock kernels' admin paths: `zfs:0:arcstats` read-only over the
/// ARC's own variables, and raw variables that `mdb -kw` writes and
/// nobody reads after boot.
#[derive(Clone, Debug, Default)]
pub struct StockAdmin {
    /// The raw variables `mdb -kw` wrote.
    pub raw_plain: BTreeMap<String, u64>,
}

/// The stock kernel's `zfs:0:arcstats`, from the model's ARC.
fn stock_arcstats(m: &Machine) -> KstatSnapshot {
    let (meta_limit, meta_min) = m.arc.limits.meta();
    let u = |n: &str, v: u64| (n.to_string(), StatValue::Uint64(v));
    KstatSnapshot {
        module: "zfs".into(),
        instance: 0,
        name: "arcstats".into(),
        class: "misc".into(),
        crtime: Hrtime(0),
        snaptime: hrtime(m.now),
        data: vec![
            u("p", m.arc.p()),
            u("c", m.arc.c()),
            u("c_min", m.arc.c_min()),
            u("c_max", m.arc.c_max()),
            u("size", m.mem.arc_size),
            u("arc_meta_limit", meta_limit),
            u("arc_meta_min", meta_min),
        ],
    }
}

/// `kstat -p` output as lines; no line means no kstat matched `sel`.
pub fn kstat_lines(text: &str, sel: &str) -> Result<Vec<String>, (i32, String)> {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return Err((
            errno::ENOENT,
            format!("kstat: no kstat matches {sel} on this kernel"),
        ));
    }
    Ok(lines)
}

/// The selector the admin typed, or why it is not one.
pub fn selector(sel: &str) -> Result<KstatSelector, (i32, String)> {
    parse_selector(sel.as_bytes()).map_err(|error| {
        let message = OperatorMessage::BadSelector {
            operand: sel.as_bytes(),
            error,
        };
        (errno::EINVAL, format!("kstat: {message}"))
    })
}

impl AdminPaths for StockAdmin {
    fn kstat_read(&mut self, m: &Machine, sel: &str) -> Result<Vec<String>, (i32, String)> {
        let selector = selector(sel)?;
        kstat_lines(&render_kstat_p(&[stock_arcstats(m)], &[selector]), sel)
    }

    fn kstat_write(&mut self, m: &Machine, w: &str) -> EventRecord {
        let ev = Event::KstatWrite {
            assignment: w.to_string(),
        };
        let a = match parse_assignment(w.as_bytes()) {
            Ok(a) => a,
            Err(error) => {
                let message = OperatorMessage::BadWriteRequest {
                    request: w.as_bytes(),
                    error,
                };
                return EventRecord::refused(m.now, ev, errno::EINVAL, format!("kstat: {message}"));
            }
        };
        if a.module.as_str() == "zfs" && a.instance == 0 && a.name.as_str() == "arcstats" {
            EventRecord::refused(
                m.now,
                ev,
                errno::EACCES,
                format!(
                    "kstat: cannot set zfs:0:arcstats:{} to {}: zfs:0:arcstats is not writable",
                    a.statistic.as_str(),
                    a.value
                ),
            )
        } else {
            EventRecord::refused(
                m.now,
                ev,
                errno::ENOENT,
                format!(
                    "kstat: {}:{}:{} does not exist on this kernel",
                    a.module.as_str(),
                    a.instance,
                    a.name.as_str()
                ),
            )
        }
    }

    fn mdb_write(&mut self, m: &Machine, w: &str) -> EventRecord {
        let ev = Event::MdbWrite {
            command: w.to_string(),
        };
        let parsed = match parse_mdb_write(w.as_bytes()) {
            Ok(p) => p,
            Err(error) => {
                let message = OperatorMessage::MdbSyntax {
                    command: w.as_bytes(),
                    error,
                };
                return EventRecord::refused(m.now, ev, errno::EINVAL, format!("mdb: {message}"));
            }
        };
        let var = parsed.symbol.as_str();
        if ARC_VARS.contains(&var) && parsed.offset == 0 {
            let old = self.raw_plain.get(var).copied().unwrap_or(0);
            let mask = parsed.width.mask();
            let new = (old & !mask) | (parsed.value & mask);
            self.raw_plain.insert(var.to_string(), new);
            EventRecord::done(
                m.now,
                ev,
                format!(
                    "{var}: 0x{old:x} = 0x{new:x} (read only by arc_init(); nothing else changes)"
                ),
            )
        } else {
            EventRecord::refused(
                m.now,
                ev,
                errno::ENOENT,
                format!("mdb: failed to dereference symbol: unknown symbol name '{var}'"),
            )
        }
    }

    fn sync_tick(&mut self, _: &Machine) -> Vec<EventRecord> {
        Vec::new()
    }
}
