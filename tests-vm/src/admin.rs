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

use admin_syntax::etc_system::SetValue;
use admin_syntax::kstat_p::snapshots;
use admin_syntax::{
    parse_assignment, parse_mdb_write, parse_selector, parse_system_line, perform_mdb_write,
    render_kstat_p, write_assignments, BootFinding, KstatSnapshot, OperatorMessage, StatValue,
    SystemLine,
};
use kstat_export::{Credential, KstatSet, RawVariables, Sources};
use zfs_tunables::arc_limits::AdminValues;
use zfs_tunables::errno;
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::Hrtime;

use crate::arc_model;
use crate::guests::VmmClient;
use crate::machine::{Limits, Machine};
use crate::params::HZ;
use crate::sim::EventRecord;

/// The admin-facing state of one run.
pub struct AdminState {
    /// Raw variables of the 2021 kernels (written by mdb, read by nobody
    /// after boot).
    pub raw_plain: BTreeMap<String, u64>,
    /// The project's kstats (under `tunables`).
    pub kstats: Option<KstatSet>,
    /// The project's raw variables (under `tunables`).
    pub raw: Option<RawVariables<AtomicU64>>,
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

fn hrtime(m: &Machine) -> Hrtime {
    Hrtime(m.now.saturating_mul(1_000_000_000 / HZ))
}

impl AdminState {
    /// The state for `m`'s kernel.
    #[must_use]
    pub fn new(m: &Machine) -> AdminState {
        match &m.limits {
            Limits::Tunables(t) => AdminState {
                raw_plain: BTreeMap::new(),
                kstats: KstatSet::new(Hrtime(0)).ok(),
                raw: RawVariables::with_owned_cells(t).ok(),
            },
            Limits::Own { .. } => AdminState {
                raw_plain: BTreeMap::new(),
                kstats: None,
                raw: None,
            },
        }
    }
}

fn rec(at_s: f64, event: String, r: Result<String, (i32, String)>) -> EventRecord {
    match r {
        Ok(message) => EventRecord {
            at_s,
            event,
            ok: true,
            errno: None,
            message,
        },
        Err((e, message)) => EventRecord {
            at_s,
            event,
            ok: false,
            errno: Some(e),
            message,
        },
    }
}

/// Applies `/etc/system` at boot (before `finish_boot()`); each applied
/// value and each warning is an event at 0 s.
pub fn apply_etc_system(m: &mut Machine, lines: &[String]) -> Vec<EventRecord> {
    let mut out = Vec::new();
    if lines.is_empty() {
        return out;
    }
    let text = lines.join("\n");
    match &m.limits {
        Limits::Tunables(t) => {
            let report = admin_syntax::apply_etc_system(t.as_ref(), text.as_bytes());
            for (name, value, line) in &report.applied {
                out.push(rec(
                    0.0,
                    format!("etc_system line {line}"),
                    Ok(format!("{name} = {value}")),
                ));
            }
            for f in &report.findings {
                out.push(rec(
                    0.0,
                    format!("etc_system line {}", f.line),
                    Err((errno::EINVAL, f.to_string())),
                ));
            }
        }
        Limits::Own { .. } => {
            // arc_init() reads the variables krtld set; a value it cannot
            // use it ignores silently, as the 2021 kernel does.
            let mut admin = AdminValues::default();
            for (n, line) in lines.iter().enumerate() {
                let ev = format!("etc_system line {}", n + 1);
                match parse_system_line(line.as_bytes()) {
                    Ok(SystemLine::Set(cmd)) => {
                        let var = cmd.variable.as_str();
                        let SetValue::Integer { value, .. } = cmd.value else {
                            out.push(rec(
                                0.0,
                                ev,
                                Err((errno::EINVAL, format!("{var}: not a number"))),
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
                                out.push(rec(
                                    0.0,
                                    ev,
                                    Err((
                                        errno::ENOENT,
                                        format!(
                                            "sorry, variable '{var}' is not defined; line ignored"
                                        ),
                                    )),
                                ));
                                continue;
                            }
                        };
                        *slot = value;
                        out.push(rec(
                            0.0,
                            ev,
                            Ok(format!("{var} = {value} (read once by arc_init())")),
                        ));
                    }
                    Ok(_) => {}
                    Err(e) => out.push(rec(
                        0.0,
                        ev,
                        Err((
                            errno::EINVAL,
                            BootFinding::malformed(
                                u32::try_from(n + 1).unwrap_or(u32::MAX),
                                line.as_bytes(),
                                e,
                            )
                            .to_string(),
                        )),
                    )),
                }
            }
            arc_model::apply_boot_admin(m, &admin);
        }
    }
    out
}

/// vmm's `arc_resv` statistics, when vmm is the project's client.
fn arc_resv_fields(
    vmm: Option<&VmmClient>,
) -> Option<[(&'static str, u64); vmm_client::ArcResvStats::FIELDS]> {
    vmm.map(|c| c.stats().fields())
}

/// The 2021 kernel's `zfs:0:arcstats`, from the model's ARC.
fn own_arcstats(m: &Machine) -> KstatSnapshot {
    let (meta_limit, meta_min) = arc_model::meta(m);
    let u = |n: &str, v: u64| (n.to_string(), StatValue::Uint64(v));
    KstatSnapshot {
        module: "zfs".into(),
        instance: 0,
        name: "arcstats".into(),
        class: "misc".into(),
        crtime: Hrtime(0),
        snaptime: hrtime(m),
        data: vec![
            u("p", arc_model::p(m)),
            u("c", arc_model::c(m)),
            u("c_min", arc_model::c_min(m)),
            u("c_max", arc_model::c_max(m)),
            u("size", m.arc.size),
            u("arc_meta_limit", meta_limit),
            u("arc_meta_min", meta_min),
        ],
    }
}

/// `kstat -p SELECTOR`. An empty result means no kstat matched.
pub fn kstat_read(
    m: &Machine,
    st: &mut AdminState,
    vmm: Option<&VmmClient>,
    sel: &str,
) -> Result<Vec<String>, (i32, String)> {
    let selector = parse_selector(sel.as_bytes()).map_err(|error| {
        let message = OperatorMessage::BadSelector {
            operand: sel.as_bytes(),
            error,
        };
        (errno::EINVAL, format!("kstat: {message}"))
    })?;
    let text = match (&m.limits, st.kstats.as_mut()) {
        (Limits::Tunables(t), Some(ks)) => {
            let fields = arc_resv_fields(vmm);
            let mut src = Sources {
                tunables: t.as_ref(),
                arc_resv: fields.as_ref().map(|f| &f[..]),
                raw: None,
            };
            let snaps = snapshots(ks, &mut src, hrtime(m))
                .map_err(|e| (e.to_errno(), format!("kstat: {e}")))?;
            render_kstat_p(&snaps, &[selector])
        }
        _ => render_kstat_p(&[own_arcstats(m)], &[selector]),
    };
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return Err((
            errno::ENOENT,
            format!("kstat: no kstat matches {sel} on this kernel"),
        ));
    }
    Ok(lines)
}

/// A kstat write, `module:instance:name:statistic=value`, made as root.
pub fn kstat_write(
    m: &mut Machine,
    st: &mut AdminState,
    vmm: Option<&VmmClient>,
    w: &str,
    at_s: f64,
) -> EventRecord {
    let ev = format!("kstat_write {w}");
    let a = match parse_assignment(w.as_bytes()) {
        Ok(a) => a,
        Err(error) => {
            let message = OperatorMessage::BadWriteRequest {
                request: w.as_bytes(),
                error,
            };
            return rec(at_s, ev, Err((errno::EINVAL, format!("kstat: {message}"))));
        }
    };
    let now = hrtime(m);
    let r = match (&m.limits, st.kstats.as_mut()) {
        (Limits::Tunables(t), Some(ks)) => {
            let fields = arc_resv_fields(vmm);
            let mut src = Sources {
                tunables: t.as_ref(),
                arc_resv: fields.as_ref().map(|f| &f[..]),
                raw: st
                    .raw
                    .as_mut()
                    .map(|r| r as &mut dyn kstat_export::RecordApplied),
            };
            write_assignments(
                ks,
                &mut src,
                std::slice::from_ref(&a),
                Credential::SysConfig,
                now,
            )
            .map(|()| format!("{} = {}", a.statistic.as_str(), a.value))
            .map_err(|error| {
                let message = OperatorMessage::KstatWriteRefused { request: &a, error };
                (error.to_errno(), format!("kstat: {message}"))
            })
        }
        _ => {
            if a.module.as_str() == "zfs" && a.instance == 0 && a.name.as_str() == "arcstats" {
                Err((
                    errno::EACCES,
                    "kstat: write failed: zfs:0:arcstats is not writable".into(),
                ))
            } else {
                Err((
                    errno::ENOENT,
                    format!(
                        "kstat: {}:{}:{} does not exist on this kernel",
                        a.module.as_str(),
                        a.instance,
                        a.name.as_str()
                    ),
                ))
            }
        }
    };
    rec(at_s, ev, r)
}

/// An `mdb -kw` write such as `zfs_arc_max/Z 0x200000000`.
pub fn mdb_write(m: &mut Machine, st: &mut AdminState, w: &str, at_s: f64) -> EventRecord {
    let ev = format!("mdb_write {w}");
    let parsed = match parse_mdb_write(w.as_bytes()) {
        Ok(p) => p,
        Err(error) => {
            let message = OperatorMessage::MdbSyntax {
                command: w.as_bytes(),
                error,
            };
            return rec(at_s, ev, Err((errno::EINVAL, format!("mdb: {message}"))));
        }
    };
    let r = match (&m.limits, st.raw.as_ref()) {
        (Limits::Tunables(_), Some(raw)) => perform_mdb_write(raw, &parsed)
            .map(|o| {
                format!(
                    "{}: 0x{:x} = 0x{:x} (the sync tick picks it up)",
                    o.name, o.old, o.new
                )
            })
            .map_err(|error| {
                let message = OperatorMessage::MdbWriteRefused {
                    write: &parsed,
                    error,
                };
                (error.to_errno(), format!("mdb: {message}"))
            }),
        _ => {
            let var = parsed.symbol.as_str();
            if ARC_VARS.contains(&var) && parsed.offset == 0 {
                let old = st.raw_plain.get(var).copied().unwrap_or(0);
                let mask = parsed.width.mask();
                let new = (old & !mask) | (parsed.value & mask);
                st.raw_plain.insert(var.to_string(), new);
                Ok(format!(
                    "{var}: 0x{old:x} = 0x{new:x} (read only by arc_init(); nothing else changes)"
                ))
            } else {
                Err((
                    errno::ENOENT,
                    format!("mdb: failed to dereference symbol: unknown symbol name '{var}'"),
                ))
            }
        }
    };
    rec(at_s, ev, r)
}

/// The sync tick (once a second, on the ARC's reap timer): a raw variable
/// that differs from the value last applied is applied, or restored with
/// a warning. Only the project's kernel has it.
pub fn sync_tick(m: &mut Machine, st: &mut AdminState) -> Vec<EventRecord> {
    let mut out = Vec::new();
    let (Limits::Tunables(t), Some(raw)) = (&m.limits, st.raw.as_mut()) else {
        return out;
    };
    let before: Vec<(&'static str, Option<u64>)> =
        raw.names().map(|n| (n, raw.last_applied(n))).collect();
    let mut warnings = Vec::new();
    raw.sync_tick(t.as_ref(), &mut |w| {
        warnings.push((w.name, w.error.to_errno(), w.to_string()))
    });
    let at_s = m.secs();
    for (name, e, text) in warnings {
        out.push(rec(
            at_s,
            format!("sync {name}"),
            Err((e, format!("WARNING: {text}"))),
        ));
    }
    for (name, old) in before {
        let new = raw.last_applied(name);
        if new != old {
            out.push(rec(
                at_s,
                format!("sync {name}"),
                Ok(format!("{name} = {} applied", new.unwrap_or(0))),
            ));
        }
    }
    out
}
