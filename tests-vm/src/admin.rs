//! The admin's paths: `/etc/system` at boot, `kstat -p` reads, kstat
//! writes, `mdb -kw` writes and the periodic sync that picks raw writes up.
//!
//! On the 2021 kernels (`legacy`, `os8005`) and current illumos
//! (`reservoir`) only `zfs:0:arcstats` exists, it is read-only, and the ARC
//! reads `zfs_arc_max` and friends once, in `arc_init()`: a later raw write
//! changes a variable nobody reads. Under `tunables` the project's
//! component owns the tunables and their kstats.

use std::collections::BTreeMap;

use zfs_tunables::arc_limits::AdminValues;
use zfs_tunables::errno;

use crate::arc_model;
use crate::guests::Guest;
use crate::machine::{Limits, Machine, Policy};
use crate::sim::EventRecord;

/// Raw variables and what was last applied from them.
#[derive(Clone, Debug, Default)]
pub struct AdminState {
    /// Raw values as mdb left them.
    pub raw: BTreeMap<String, u64>,
    /// Values last applied (tunables) or read at boot (others).
    pub applied: BTreeMap<String, u64>,
}

/// The variables the ARC's `arc_init()` reads.
const ARC_VARS: [&str; 6] = [
    "zfs_arc_max",
    "zfs_arc_min",
    "zfs_arc_meta_limit",
    "zfs_arc_meta_min",
    "dbuf_cache_max_bytes",
    "dbuf_metadata_cache_max_bytes",
];

/// Parses an `/etc/system` or mdb number: `0x` hex, leading `0` octal,
/// else decimal.
fn parse_c_number(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// Parses one `/etc/system` line into (module, variable, value); `None`
/// for blank lines and comments.
pub fn parse_etc_system_line(line: &str) -> Result<Option<(String, String, u64)>, String> {
    let l = line.trim();
    if l.is_empty() || l.starts_with('*') {
        return Ok(None);
    }
    let rest = l
        .strip_prefix("set ")
        .ok_or_else(|| format!("unsupported directive: {l}"))?;
    let (lhs, rhs) = rest
        .split_once('=')
        .ok_or_else(|| format!("expected 'set [module:]variable = value': {l}"))?;
    let lhs = lhs.trim();
    let (module, var) = match lhs.split_once(':') {
        Some((m, v)) => (m.trim().to_string(), v.trim().to_string()),
        None => (String::new(), lhs.to_string()),
    };
    let value =
        parse_c_number(rhs).ok_or_else(|| format!("bad value '{}' for {var}", rhs.trim()))?;
    Ok(Some((module, var, value)))
}

/// Applies `/etc/system` at boot; each line's outcome is an event at 0 s.
pub fn apply_etc_system(m: &mut Machine, st: &mut AdminState, lines: &[String]) -> Vec<EventRecord> {
    let mut out = Vec::new();
    let mut admin = AdminValues::default();
    for (n, line) in lines.iter().enumerate() {
        let rec = |ok: bool, e: Option<i32>, msg: String| EventRecord {
            at_s: 0.0,
            event: format!("etc_system[{n}] {line}"),
            ok,
            errno: e,
            message: msg,
        };
        match parse_etc_system_line(line) {
            Ok(None) => {}
            Err(msg) => out.push(rec(false, Some(errno::EINVAL), format!("ignored: {msg}"))),
            Ok(Some((_module, var, value))) => {
                if !ARC_VARS.contains(&var.as_str()) {
                    out.push(rec(
                        false,
                        Some(errno::ENOENT),
                        format!("ignored: unknown variable {var}"),
                    ));
                    continue;
                }
                st.raw.insert(var.clone(), value);
                match &m.limits {
                    Limits::Tunables(t) => match t.boot_set(&var, value) {
                        Ok(()) => {
                            st.applied.insert(var.clone(), value);
                            out.push(rec(true, None, format!("{var} = {value}")));
                        }
                        Err(e) => out.push(rec(
                            false,
                            Some(e.to_errno()),
                            format!("ignored: {e}"),
                        )),
                    },
                    Limits::Own { .. } => {
                        set_admin(&mut admin, &var, value);
                        st.applied.insert(var.clone(), value);
                        out.push(rec(true, None, format!("{var} = {value} (read by arc_init())")));
                    }
                }
            }
        }
    }
    if matches!(m.limits, Limits::Own { .. }) {
        arc_model::apply_boot_admin(m, &admin);
    }
    out
}

fn set_admin(a: &mut AdminValues, var: &str, v: u64) {
    match var {
        "zfs_arc_max" => a.arc_max = v,
        "zfs_arc_min" => a.arc_min = v,
        "zfs_arc_meta_limit" => a.arc_meta_limit = v,
        "zfs_arc_meta_min" => a.arc_meta_min = v,
        "dbuf_cache_max_bytes" => a.dbuf_cache_max = v,
        "dbuf_metadata_cache_max_bytes" => a.dbuf_metadata_cache_max = v,
        _ => {}
    }
}

/// `kstat -p`-style selection: `module:instance:name:statistic`, empty or
/// `*` fields match anything.
fn selects(sel: &str, module: &str, inst: &str, name: &str, stat: &str) -> bool {
    let f: Vec<&str> = sel.split(':').collect();
    let m = |i: usize, v: &str| f.get(i).is_none_or(|p| p.is_empty() || *p == "*" || *p == v);
    f.len() <= 4 && m(0, module) && m(1, inst) && m(2, name) && m(3, stat)
}

/// The kstats this kernel has, as (module, instance, name, statistics).
fn kstats(m: &Machine, guests: &[Guest]) -> Vec<(&'static str, &'static str, &'static str, Vec<(String, u64)>)> {
    let (meta_limit, meta_min) = arc_model::meta(m);
    let mut arcstats = vec![
        ("c".to_string(), arc_model::c(m)),
        ("c_max".to_string(), arc_model::c_max(m)),
        ("c_min".to_string(), arc_model::c_min(m)),
        ("p".to_string(), arc_model::p(m)),
        ("size".to_string(), m.arc.size),
        ("data_size".to_string(), m.arc.size),
        ("arc_meta_limit".to_string(), meta_limit),
        ("arc_meta_min".to_string(), meta_min),
        ("evict_skip".to_string(), 0),
    ];
    arcstats.retain(|(n, _)| n != "evict_skip");
    let mut v = vec![("zfs", "0", "arcstats", arcstats)];
    if let Limits::Tunables(t) = &m.limits {
        let mut tun = Vec::new();
        t.for_each_tunable(|e| tun.push((e.desc.name.to_string(), e.value)));
        v.push(("zfs", "0", "tunables", tun));
        let h = t.headroom_stats();
        v.push((
            "zfs",
            "0",
            "arc_headroom",
            vec![
                ("reserved".into(), h.reserved.0),
                ("pending".into(), h.pending.0),
                ("allocated".into(), h.allocated.0),
                ("consumers".into(), h.consumers),
                ("c_max_base".into(), h.c_max_base.0),
                ("c_max_effective".into(), h.c_max_effective.0),
                ("reserves".into(), h.counters.reserves),
                ("rejections".into(), h.counters.rejections),
                ("waits".into(), h.counters.waits),
                ("wait_timeouts".into(), h.counters.wait_timeouts),
            ],
        ));
        let running = guests.iter().filter(|g| g.resv.is_some()).count() as u64;
        v.push(("vmm", "0", "arc_resv", vec![("instances".into(), running)]));
    }
    v
}

/// `kstat -p SELECTOR`: sorted `module:instance:name:statistic\tvalue`.
#[must_use]
pub fn kstat_read(m: &Machine, guests: &[Guest], sel: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (module, inst, name, stats) in kstats(m, guests) {
        let mut stats = stats;
        stats.sort();
        for (stat, value) in stats {
            if selects(sel, module, inst, name, &stat) {
                out.push(format!("{module}:{inst}:{name}:{stat}\t{value}"));
            }
        }
    }
    out
}

/// A kstat write, `module:instance:name:statistic=value`.
pub fn kstat_write(m: &mut Machine, _st: &mut AdminState, w: &str, at_s: f64) -> EventRecord {
    let rec = |ok: bool, e: Option<i32>, msg: String| EventRecord {
        at_s,
        event: format!("kstat_write {w}"),
        ok,
        errno: e,
        message: msg,
    };
    let Some((lhs, rhs)) = w.split_once('=') else {
        return rec(false, Some(errno::EINVAL), "expected module:instance:name:statistic=value".into());
    };
    let f: Vec<&str> = lhs.split(':').collect();
    let (Some(module), Some(inst), Some(name), Some(stat), None) =
        (f.first(), f.get(1), f.get(2), f.get(3), f.get(4))
    else {
        return rec(false, Some(errno::EINVAL), "expected module:instance:name:statistic=value".into());
    };
    let Some(value) = parse_c_number(rhs) else {
        return rec(false, Some(errno::EINVAL), format!("bad value '{}'", rhs.trim()));
    };
    match (&m.limits, *module, *inst, *name) {
        (_, "zfs", "0", "arcstats") => rec(
            false,
            Some(errno::EACCES),
            "zfs:0:arcstats is not writable".into(),
        ),
        (Limits::Tunables(t), "zfs", "0", "tunables") => match t.set(stat, value) {
            Ok(()) => rec(true, None, format!("{stat} = {value}")),
            Err(e) => rec(false, Some(e.to_errno()), format!("refused: {e}")),
        },
        _ => rec(
            false,
            Some(errno::ENOENT),
            format!("kstat {module}:{inst}:{name} does not exist on this kernel"),
        ),
    }
}

/// An `mdb -kw` write, `variable/Z value` (`/W` for 4 bytes); mdb's default
/// radix is 16, `0t` marks decimal, `0x` hex.
pub fn mdb_write(m: &mut Machine, st: &mut AdminState, w: &str, at_s: f64) -> EventRecord {
    let rec = |ok: bool, e: Option<i32>, msg: String| EventRecord {
        at_s,
        event: format!("mdb_write {w}"),
        ok,
        errno: e,
        message: msg,
    };
    let parsed = (|| {
        let (var, rest) = w.split_once('/')?;
        let rest = rest.trim_start();
        let (fmt, val) = rest.split_at(rest.find(char::is_whitespace)?);
        let val = val.trim();
        let v = if let Some(d) = val.strip_prefix("0t") {
            d.parse::<u64>().ok()?
        } else {
            let h = val.strip_prefix("0x").unwrap_or(val);
            u64::from_str_radix(h, 16).ok()?
        };
        let v = match fmt {
            "Z" => v,
            "W" => u64::from(u32::try_from(v).ok()?),
            _ => return None,
        };
        Some((var.trim().to_string(), v))
    })();
    let Some((var, value)) = parsed else {
        return rec(false, Some(errno::EINVAL), "mdb: syntax error (expected 'variable/Z value')".into());
    };
    if !ARC_VARS.contains(&var.as_str()) {
        return rec(false, Some(errno::ENOENT), format!("mdb: failed to dereference symbol: unknown symbol name '{var}'"));
    }
    let old = st.raw.get(&var).copied().unwrap_or(0);
    st.raw.insert(var.clone(), value);
    let note = match m.policy {
        Policy::Tunables => "picked up at the next sync tick",
        _ => "read only by arc_init(): nothing else changes",
    };
    rec(true, None, format!("{var}: 0x{old:x} = 0x{value:x} ({note})"))
}

/// The sync tick (once a second, on the ARC's reap timer): a raw variable
/// that differs from what was last applied is applied, or restored with a
/// warning. Only the `tunables` kernel has it.
pub fn sync_tick(m: &mut Machine, st: &mut AdminState) -> Vec<EventRecord> {
    let mut out = Vec::new();
    let Limits::Tunables(t) = &m.limits else {
        return out;
    };
    let changed: Vec<(String, u64)> = st
        .raw
        .iter()
        .filter(|(k, v)| st.applied.get(*k).copied().unwrap_or(0) != **v)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    for (var, value) in changed {
        let kept = st.applied.get(&var).copied().unwrap_or(0);
        match t.set(&var, value) {
            Ok(()) => {
                st.applied.insert(var.clone(), value);
                out.push(EventRecord {
                    at_s: 0.0,
                    event: format!("sync {var}"),
                    ok: true,
                    errno: None,
                    message: format!("{var} = {value} applied"),
                });
            }
            Err(e) => {
                st.raw.insert(var.clone(), kept);
                out.push(EventRecord {
                    at_s: 0.0,
                    event: format!("sync {var}"),
                    ok: false,
                    errno: Some(e.to_errno()),
                    message: format!(
                        "WARNING: {var}: refused {value} ({e}); keeping {kept}"
                    ),
                });
            }
        }
    }
    out
}

/// Nothing to do while time jumps: a raw write is an event, and events
/// stop the jump.
pub fn skip_sync(_m: &mut Machine, _st: &mut AdminState) {}
