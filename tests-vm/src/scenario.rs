//! Scenario files (TOML) and the built-in scenarios.
//!
//! The vocabulary (and nothing else) is:
//!
//! ```toml
//! name = "seed-4g"                 # optional
//! description = "..."              # optional
//! [host]
//! physmem = "4G"    # sizes: plain bytes or K/M/G/T (binary) suffixes
//! kernel = "1531M"
//! boot = "297M"
//! anon = "56M"
//! exec = "2M"
//! page_cache = "13M"
//! generation = "2021"              # or "current"
//! [arc]
//! size = "461M"                    # the ARC's size at the start
//! [workload]
//! arcfill = "117M"                 # reader rate in bytes/s, "0" for none
//! [sim]
//! duration = "300s"
//! evict_rate = "20G"               # bytes/s
//! alloc_rate = "4G"                # bytes/s
//! [boot]
//! etc_system = [ "set zfs:zfs_arc_max = 0x200000000" ]
//! [[event]]
//! at = "10s"
//! vm_create = { name = "vm1", ram = "1844M" }
//! ```
//!
//! Each `[[event]]` has `at` and exactly one of `vm_create`, `vm_destroy`,
//! `kstat_write`, `mdb_write`, `kstat_read`, `memstat`, `arcfill`, or one
//! of the two faults:
//!
//! ```toml
//! alloc_fault = { vm = "vm1", after = "40G", times = 1 }  # see below
//! evictor_stall = "90s"
//! ```
//!
//! `alloc_fault` makes the allocator of guest `vm1`'s memory refuse
//! (`ENOMEM`) the allocation that would take the guest past `after` bytes,
//! `times` times (default 1), as a `vmem_alloc(KM_NOSLEEP)` or a
//! `page_create_va()` that loses a race for the pages would; armed before
//! the guest exists, it waits for a guest of that name. `evictor_stall`
//! makes the ARC's adjust thread evict nothing for that long, as when
//! `arc_adjust()` is stuck behind a lock. A bad file is an error naming
//! the line (for TOML syntax) or the field, never a panic.

use std::fmt;

use crate::params::{GIB, HZ, MIB, PAGESIZE};

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
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The field's path (`host.physmem`, `event[2].vm_create.ram`).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.line, &self.field) {
            (Some(l), Some(n)) => write!(f, "line {l}: {n}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            (None, Some(n)) => write!(f, "{n}: {}", self.message),
            (None, None) => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Parses a size: plain bytes, or a number (decimals allowed) followed by
/// `K`, `M`, `G` or `T` (powers of 1024), optionally followed by `B` or
/// `iB`, optionally followed by `/s` (for rates).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t).trim_end();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], MIB),
        Some('G' | 'g') => (&t[..t.len() - 1], GIB),
        Some('T' | 't') => (&t[..t.len() - 1], 1u64 << 40),
        _ => (t, 1),
    };
    let num = num.trim();
    if num.is_empty() {
        return Err(format!(
            "\"{s}\" is not a size (expected e.g. 4096, 64G, 1.5T)"
        ));
    }
    scaled(num, mult)
        .ok_or_else(|| format!("\"{s}\" is not a size (expected e.g. 4096, 64G, 1.5T)"))
}

/// `num × mult` for a decimal `num` (digits, at most one point), exactly
/// when possible, `None` on junk or overflow.
fn scaled(num: &str, mult: u64) -> Option<u64> {
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 9 {
        return None;
    }
    let i: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let whole = i.checked_mul(mult)?;
    if frac.is_empty() {
        return Some(whole);
    }
    let f: u128 = frac.parse().ok()?;
    let den = 10u128.pow(u32::try_from(frac.len()).ok()?);
    let part = u64::try_from(f * u128::from(mult) / den).ok()?;
    whole.checked_add(part)
}

/// Parses a duration: a number with `ms`, `s`, `m` or `h`, or plain
/// seconds; returns ticks.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("\"{s}\" is not a duration (expected e.g. 10s, 500ms, 2m, 1h)");
    let (num, ms_per_unit) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1u64)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (t, 1000)
    };
    let ms = scaled(num.trim(), ms_per_unit).ok_or_else(bad)?;
    Ok(ms.checked_mul(HZ).ok_or_else(bad)? / 1000)
}

/// Finds the line of `key` in the `index`-th occurrence of `[[event]]`
/// (or in `[section]` when `index` is `None`), for error messages.
fn locate(text: &str, section: &str, index: Option<usize>, key: &str) -> Option<usize> {
    let mut seen: Option<usize> = None;
    let mut inside = false;
    let header = if index.is_some() {
        "[[event]]".to_string()
    } else {
        format!("[{section}]")
    };
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            if l == header {
                seen = Some(seen.map_or(0, |s| s + 1));
                inside = match index {
                    Some(i) => seen == Some(i),
                    None => true,
                };
            } else {
                inside = false;
            }
            continue;
        }
        if inside && (l.starts_with(key) || key.is_empty()) {
            return Some(n + 1);
        }
    }
    None
}

/// A key from the file as a field path shows it: bare if TOML would
/// take it bare, quoted otherwise (`""`, `"a.b"`), so an error never
/// names an empty or misleading field.
fn key_name(k: &str) -> String {
    let bare = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

struct Reader<'a> {
    text: &'a str,
}

impl Reader<'_> {
    fn err(&self, section: &str, index: Option<usize>, key: &str, msg: String) -> ScenarioError {
        let field = match index {
            Some(i) => format!("event[{i}].{key}"),
            None if section.is_empty() => key.to_string(),
            None => format!("{section}.{key}"),
        };
        let first_key = key.split('.').next().unwrap_or(key);
        ScenarioError {
            line: locate(self.text, section, index, first_key),
            field: Some(field),
            message: msg,
        }
    }

    fn size_of(
        &self,
        v: &toml::Value,
        section: &str,
        index: Option<usize>,
        key: &str,
    ) -> Result<u64, ScenarioError> {
        match v {
            toml::Value::Integer(i) => u64::try_from(*i)
                .map_err(|_| self.err(section, index, key, format!("{i} is negative"))),
            toml::Value::String(s) => parse_size(s).map_err(|m| self.err(section, index, key, m)),
            other => Err(self.err(
                section,
                index,
                key,
                format!(
                    "expected a size string or integer, found {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn duration_of(
        &self,
        v: &toml::Value,
        section: &str,
        index: Option<usize>,
        key: &str,
    ) -> Result<u64, ScenarioError> {
        match v {
            toml::Value::Integer(i) => u64::try_from(*i)
                .ok()
                .and_then(|s| s.checked_mul(HZ))
                .ok_or_else(|| self.err(section, index, key, format!("{i} is not a duration"))),
            toml::Value::String(s) => {
                parse_duration(s).map_err(|m| self.err(section, index, key, m))
            }
            other => Err(self.err(
                section,
                index,
                key,
                format!("expected a duration string, found {}", other.type_str()),
            )),
        }
    }

    fn table<'v>(
        &self,
        root: &'v toml::Table,
        name: &str,
        allowed: &[&str],
    ) -> Result<Option<&'v toml::Table>, ScenarioError> {
        match root.get(name) {
            None => Ok(None),
            Some(toml::Value::Table(t)) => {
                for k in t.keys() {
                    if !allowed.contains(&k.as_str()) {
                        return Err(self.err(
                            name,
                            None,
                            &key_name(k),
                            format!("unknown key (allowed: {})", allowed.join(", ")),
                        ));
                    }
                }
                Ok(Some(t))
            }
            Some(_) => Err(self.err("", None, name, "expected a table".into())),
        }
    }
}

/// Parses a scenario file's text. `default_name` names it when the file
/// has no `name`.
pub fn parse_scenario(text: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
    let root: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map(|s| {
            text.get(..s.start)
                .map_or(1, |p| p.matches('\n').count() + 1)
        });
        // toml says nothing for some bytes it cannot start a line with
        // (a lone carriage return); name the byte rather than print an
        // empty reason.
        let message = match e.message().trim() {
            "" => match e.span().and_then(|s| text.get(s.start..)?.chars().next()) {
                Some(c) => format!("unexpected character {c:?}"),
                None => "unexpected end of file".to_string(),
            },
            m => m.to_string(),
        };
        ScenarioError {
            line,
            field: None,
            message,
        }
    })?;
    let r = Reader { text };
    for k in root.keys() {
        if ![
            "name",
            "description",
            "host",
            "arc",
            "workload",
            "sim",
            "boot",
            "event",
        ]
        .contains(&k.as_str())
        {
            return Err(r.err(
                "",
                None,
                &key_name(k),
                "unknown top-level key (allowed: name, description, host, arc, workload, sim, boot, event)".into(),
            ));
        }
    }
    let name = match root.get("name") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(_) => return Err(r.err("", None, "name", "expected a string".into())),
        None => default_name.to_string(),
    };
    let description = match root.get("description") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(_) => return Err(r.err("", None, "description", "expected a string".into())),
        None => String::new(),
    };

    let host_keys = [
        "physmem",
        "kernel",
        "boot",
        "anon",
        "exec",
        "page_cache",
        "generation",
    ];
    let host = r
        .table(&root, "host", &host_keys)?
        .ok_or_else(|| r.err("", None, "host", "missing [host] table".into()))?;
    let size = |k: &str, required: bool| -> Result<u64, ScenarioError> {
        match host.get(k) {
            Some(v) => r.size_of(v, "host", None, k),
            None if required => Err(r.err("host", None, k, "missing".into())),
            None => Ok(0),
        }
    };
    let physmem = size("physmem", true)?;
    if physmem < 64 * MIB {
        return Err(r.err(
            "host",
            None,
            "physmem",
            format!("{physmem} bytes is too small for an illumos host (at least 64M)"),
        ));
    }
    let generation = match host.get("generation") {
        None => Generation::Y2021,
        Some(toml::Value::String(s)) if s == "2021" => Generation::Y2021,
        Some(toml::Value::String(s)) if s == "current" => Generation::Current,
        Some(toml::Value::Integer(2021)) => Generation::Y2021,
        Some(v) => {
            return Err(r.err(
                "host",
                None,
                "generation",
                format!("expected \"2021\" or \"current\", found {v:?}"),
            ))
        }
    };
    let hs = HostSpec {
        physmem,
        kernel: size("kernel", false)?,
        boot: size("boot", false)?,
        anon: size("anon", false)?,
        exec: size("exec", false)?,
        page_cache: size("page_cache", false)?,
        generation,
    };

    let arc_size = match r.table(&root, "arc", &["size"])? {
        Some(t) => match t.get("size") {
            Some(v) => r.size_of(v, "arc", None, "size")?,
            None => 0,
        },
        None => 0,
    };
    let arcfill = match r.table(&root, "workload", &["arcfill"])? {
        Some(t) => match t.get("arcfill") {
            Some(v) => r.size_of(v, "workload", None, "arcfill")?,
            None => 0,
        },
        None => 0,
    };
    let mut duration = 300 * HZ;
    let mut evict_rate = None;
    let mut alloc_rate = None;
    if let Some(t) = r.table(&root, "sim", &["duration", "evict_rate", "alloc_rate"])? {
        if let Some(v) = t.get("duration") {
            duration = r.duration_of(v, "sim", None, "duration")?;
            if duration == 0 {
                return Err(r.err("sim", None, "duration", "must be positive".into()));
            }
        }
        for (k, slot) in [
            ("evict_rate", &mut evict_rate),
            ("alloc_rate", &mut alloc_rate),
        ] {
            if let Some(v) = t.get(k) {
                let rate = r.size_of(v, "sim", None, k)?;
                if rate < PAGESIZE {
                    return Err(r.err(
                        "sim",
                        None,
                        k,
                        "must be at least one page per second".into(),
                    ));
                }
                *slot = Some(rate);
            }
        }
    }
    let mut etc_system = Vec::new();
    if let Some(t) = r.table(&root, "boot", &["etc_system"])? {
        match t.get("etc_system") {
            Some(toml::Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    match v {
                        toml::Value::String(s) => etc_system.push(s.clone()),
                        _ => {
                            return Err(r.err(
                                "boot",
                                None,
                                "etc_system",
                                format!("element {i} is not a string"),
                            ))
                        }
                    }
                }
            }
            Some(_) => {
                return Err(r.err(
                    "boot",
                    None,
                    "etc_system",
                    "expected an array of strings".into(),
                ))
            }
            None => {}
        }
    }

    let mut events = Vec::new();
    match root.get("event") {
        None => {}
        Some(toml::Value::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                let t = match v {
                    toml::Value::Table(t) => t,
                    _ => return Err(r.err("", Some(i), "", "expected a table".into())),
                };
                events.push(parse_event(&r, i, t)?);
            }
        }
        Some(_) => return Err(r.err("", None, "event", "expected [[event]] tables".into())),
    }
    events.sort_by_key(|e| e.at);
    Ok(Scenario {
        name,
        description,
        host: hs,
        arc_size,
        arcfill,
        duration,
        evict_rate,
        alloc_rate,
        etc_system,
        events,
    })
}

const EVENT_KINDS: [&str; 9] = [
    "vm_create",
    "vm_destroy",
    "kstat_write",
    "mdb_write",
    "kstat_read",
    "memstat",
    "arcfill",
    "alloc_fault",
    "evictor_stall",
];

fn parse_event(r: &Reader<'_>, i: usize, t: &toml::Table) -> Result<Event, ScenarioError> {
    let idx = Some(i);
    for k in t.keys() {
        if k != "at" && !EVENT_KINDS.contains(&k.as_str()) {
            return Err(r.err(
                "",
                idx,
                &key_name(k),
                format!("unknown key (allowed: at, {})", EVENT_KINDS.join(", ")),
            ));
        }
    }
    let at = match t.get("at") {
        Some(v) => r.duration_of(v, "", idx, "at")?,
        None => return Err(r.err("", idx, "at", "missing".into())),
    };
    let kinds: Vec<&String> = t.keys().filter(|k| *k != "at").collect();
    let key = match kinds.as_slice() {
        [k] => k.as_str(),
        [] => {
            return Err(r.err(
                "",
                idx,
                "",
                format!("needs one of {}", EVENT_KINDS.join(", ")),
            ))
        }
        _ => return Err(r.err("", idx, kinds[1], "an event has exactly one action".into())),
    };
    let v = t
        .get(key)
        .ok_or_else(|| r.err("", idx, key, "missing".into()))?;
    let string = |v: &toml::Value| -> Result<String, ScenarioError> {
        match v {
            toml::Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err(r.err("", idx, key, "expected a non-empty string".into())),
        }
    };
    let kind = match key {
        "vm_create" => {
            let tt = match v {
                toml::Value::Table(tt) => tt,
                _ => {
                    return Err(r.err(
                        "",
                        idx,
                        key,
                        "expected { name = \"...\", ram = \"...\" }".into(),
                    ))
                }
            };
            only_keys(r, idx, tt, "vm_create", &["name", "ram"])?;
            let name = guest_name(r, idx, tt, "vm_create.name", "a name")?;
            let ram = match tt.get("ram") {
                Some(v) => r.size_of(v, "", idx, "vm_create.ram")?,
                None => return Err(r.err("", idx, "vm_create.ram", "missing".into())),
            };
            if ram == 0 {
                return Err(r.err("", idx, "vm_create.ram", "must be positive".into()));
            }
            EventKind::VmCreate { name, ram }
        }
        "vm_destroy" => EventKind::VmDestroy(string(v)?),
        "kstat_write" => EventKind::KstatWrite(string(v)?),
        "mdb_write" => EventKind::MdbWrite(string(v)?),
        "kstat_read" => EventKind::KstatRead(string(v)?),
        "memstat" => match v {
            toml::Value::Boolean(true) => EventKind::Memstat,
            _ => return Err(r.err("", idx, key, "expected true".into())),
        },
        "arcfill" => EventKind::Arcfill(r.size_of(v, "", idx, key)?),
        "alloc_fault" => parse_alloc_fault(r, idx, v)?,
        "evictor_stall" => {
            let ticks = r.duration_of(v, "", idx, key)?;
            if ticks == 0 {
                return Err(r.err("", idx, key, "must be positive".into()));
            }
            EventKind::EvictorStall(ticks)
        }
        _ => return Err(r.err("", idx, key, "unknown action".into())),
    };
    Ok(Event { at, kind })
}

/// Refuses a key of the inline table `t` (the value of `what`) that is
/// not in `allowed`.
fn only_keys(
    r: &Reader<'_>,
    idx: Option<usize>,
    t: &toml::Table,
    what: &str,
    allowed: &[&str],
) -> Result<(), ScenarioError> {
    match t.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(r.err(
            "",
            idx,
            &format!("{what}.{}", key_name(k)),
            format!("unknown key (allowed: {})", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A guest's name from `field` (`table.key`) of `t`: 1 to 64 characters;
/// `noun` says what the message expects.
fn guest_name(
    r: &Reader<'_>,
    idx: Option<usize>,
    t: &toml::Table,
    field: &str,
    noun: &str,
) -> Result<String, ScenarioError> {
    let key = field.rsplit('.').next().unwrap_or(field);
    match t.get(key) {
        Some(toml::Value::String(s)) if !s.is_empty() && s.len() <= 64 => Ok(s.clone()),
        _ => Err(r.err(
            "",
            idx,
            field,
            format!("expected {noun} of 1 to 64 characters"),
        )),
    }
}

/// `alloc_fault = { vm = "...", after = "...", times = N }`.
fn parse_alloc_fault(
    r: &Reader<'_>,
    idx: Option<usize>,
    v: &toml::Value,
) -> Result<EventKind, ScenarioError> {
    let toml::Value::Table(t) = v else {
        return Err(r.err(
            "",
            idx,
            "alloc_fault",
            "expected { vm = \"...\", after = \"...\" }".into(),
        ));
    };
    only_keys(r, idx, t, "alloc_fault", &["vm", "after", "times"])?;
    let vm = guest_name(r, idx, t, "alloc_fault.vm", "a guest name")?;
    let after = match t.get("after") {
        Some(v) => r.size_of(v, "", idx, "alloc_fault.after")?,
        None => return Err(r.err("", idx, "alloc_fault.after", "missing".into())),
    };
    let times = match t.get("times") {
        None => 1,
        Some(toml::Value::Integer(n)) if *n >= 1 => u64::try_from(*n).unwrap_or(1),
        Some(_) => {
            return Err(r.err(
                "",
                idx,
                "alloc_fault.times",
                "expected a positive integer".into(),
            ))
        }
    };
    Ok(EventKind::AllocFault { vm, after, times })
}

/// The built-in scenarios: (name, one-line summary, TOML text).
pub const BUILTINS: [(&str, &str, &str); 5] = [
    (
        "seed-4g",
        "4 GB host, ARC held at c_min by a reader, 1.8 GB guest; the reader is killed after 3 minutes",
        include_str!("../scenarios/seed-4g.toml"),
    ),
    (
        "seed-128g-home",
        "128 GB home system, ARC 28 GB, a 28 GB guest running, a 70 GB guest starts",
        include_str!("../scenarios/seed-128g-home.toml"),
    ),
    (
        "seed-128g",
        "128 GB host (the unpatched run's ::memstat), ARC 66.9 GB, a 20 GB guest running, a 64 GB guest starts",
        include_str!("../scenarios/seed-128g.toml"),
    ),
    (
        "seed-128g-fix",
        "the same host as booted for the OS-8005 test (its own ::memstat): ARC 70.6 GB",
        include_str!("../scenarios/seed-128g-fix.toml"),
    ),
    (
        "busy-reader",
        "128 GiB host, a reader filling the ARC at 500 MB/s while a 32 GiB guest starts",
        include_str!("../scenarios/busy-reader.toml"),
    ),
];

/// The fault-injection scenarios (MODEL.md, "Faults"): (name, one-line
/// summary, TOML text).
pub const FAULTS: [(&str, &str, &str); 8] = [
    (
        "fault-alloc",
        "a 64 GiB guest's allocation fails once at 62 GiB; bhyve retries",
        include_str!("../scenarios/faults/alloc.toml"),
    ),
    (
        "fault-evictor-stall",
        "the ARC's evictor stalls for 90 s while a 64 GiB guest waits for it",
        include_str!("../scenarios/faults/evictor-stall.toml"),
    ),
    (
        "fault-destroy-waiting",
        "a 64 GiB guest is destroyed at 30 s while its create waits for the ARC",
        include_str!("../scenarios/faults/destroy-waiting.toml"),
    ),
    (
        "fault-destroy-allocating",
        "a 64 GiB guest is destroyed at 30 s while its create allocates at 1 GiB/s",
        include_str!("../scenarios/faults/destroy-allocating.toml"),
    ),
    (
        "fault-sixty-four-at-once",
        "64 guests of 2 GiB start at once on a 64 GiB host that holds 29; 5 are destroyed at 60 s",
        include_str!("../scenarios/faults/sixty-four-at-once.toml"),
    ),
    (
        "fault-sixty-four-large-kernel",
        "64 guests of 2 GiB start at once on a 128 GiB host with 16 GiB of Kernel",
        include_str!("../scenarios/faults/sixty-four-large-kernel.toml"),
    ),
    (
        "fault-arc-max-below-reservations",
        "zfs_arc_max lowered to 8 GiB (kstat) then 4 GiB (mdb) under a 64 GiB guest's reservation",
        include_str!("../scenarios/faults/arc-max-below-reservations.toml"),
    ),
    (
        "fault-arc-max-below-raised-base",
        "zfs_arc_max lowered under a reservation that needs the raised base (16 GiB host)",
        include_str!("../scenarios/faults/arc-max-below-raised-base.toml"),
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
        .map(|(n, _, text)| parse_scenario(text, n))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64G"), Ok(64 * GIB));
        assert_eq!(parse_size("1.5K"), Ok(1536));
        assert_eq!(parse_size("20G/s"), Ok(20 * GIB));
        assert_eq!(parse_size("2MiB"), Ok(2 * MIB));
        assert!(parse_size("64Q").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert!(parse_size("-1").is_err());
        assert_eq!(parse_duration("10s"), Ok(10 * HZ));
        assert_eq!(parse_duration("250ms"), Ok(25));
        assert_eq!(parse_duration("2m"), Ok(120 * HZ));
        assert_eq!(parse_duration("1.5s"), Ok(150));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn builtins_parse() {
        for (n, summary, _) in BUILTINS.iter().chain(FAULTS.iter()) {
            let s = builtin(n).unwrap().unwrap();
            assert_eq!(s.name, *n);
            assert!(!s.events.is_empty());
            if n.starts_with("fault-") {
                assert_eq!(s.description, *summary, "{n}");
            }
        }
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = parse_scenario("[host]\nphysmem = \"4Q\"\n", "x").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.field.as_deref(), Some("host.physmem"));
        let e = parse_scenario(
            "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\nvm_create = { name = \"a\", ram = \"x\" }\n",
            "x",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("event[0].vm_create.ram"));
        assert_eq!(e.line, Some(5));
        let e = parse_scenario("[host\n", "x").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = parse_scenario("[host]\nphysmem = \"4G\"\ncolour = 1\n", "x").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("host.colour"));
        let e = parse_scenario(
            "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\nmemstat = true\narcfill = \"0\"\n",
            "x",
        )
        .unwrap_err();
        assert!(e.message.contains("exactly one"));
    }

    #[test]
    fn a_toml_error_without_a_reason_still_says_what_is_wrong() {
        // A lone carriage return at the start of a line: toml's message
        // for it is empty.
        let e = parse_scenario("[host]\n\rphysmem = \"4G\"\n", "x").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.message, "unexpected character '\\r'");
        assert_eq!(e.to_string(), "line 2: unexpected character '\\r'");
    }

    #[test]
    fn an_unknown_key_is_named_even_when_empty_or_dotted() {
        let e = parse_scenario("\"\" = 1\n[host]\nphysmem = \"4G\"\n", "x").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("\"\""));
        assert!(
            e.to_string().starts_with("\"\": unknown top-level key"),
            "{e}"
        );
        let e = parse_scenario("[host]\nphysmem = \"4G\"\n\"a.b\" = 1\n", "x").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("host.\"a.b\""));
        let head = "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\n";
        let e = parse_scenario(&format!("{head}\"\" = 1\n"), "x").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("event[0].\"\""));
        let e = parse_scenario(
            &format!("{head}vm_create = {{ name = \"a\", ram = 1, \"\" = 2 }}\n"),
            "x",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("event[0].vm_create.\"\""));
        // Bare keys stay bare.
        let e = parse_scenario("[host]\nphysmem = \"4G\"\ncolour-2 = 1\n", "x").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("host.colour-2"));
    }

    #[test]
    fn faults_parse_and_bad_ones_name_their_field() {
        let head = "[host]\nphysmem = \"4G\"\n[[event]]\nat = \"1s\"\n";
        let s = parse_scenario(
            &format!("{head}alloc_fault = {{ vm = \"a\", after = \"1G\", times = 3 }}\n"),
            "x",
        )
        .unwrap();
        assert_eq!(
            s.events[0].kind,
            EventKind::AllocFault {
                vm: "a".into(),
                after: GIB,
                times: 3
            }
        );
        let s = parse_scenario(
            &format!("{head}alloc_fault = {{ vm = \"a\", after = 0 }}\n"),
            "x",
        )
        .unwrap();
        assert!(matches!(
            s.events[0].kind,
            EventKind::AllocFault { times: 1, .. }
        ));
        let s = parse_scenario(&format!("{head}evictor_stall = \"90s\"\n"), "x").unwrap();
        assert_eq!(s.events[0].kind, EventKind::EvictorStall(90 * HZ));
        for (text, field) in [
            (
                "alloc_fault = { after = \"1G\" }",
                "event[0].alloc_fault.vm",
            ),
            ("alloc_fault = { vm = \"a\" }", "event[0].alloc_fault.after"),
            (
                "alloc_fault = { vm = \"a\", after = \"1Q\" }",
                "event[0].alloc_fault.after",
            ),
            (
                "alloc_fault = { vm = \"a\", after = 1, times = 0 }",
                "event[0].alloc_fault.times",
            ),
            (
                "alloc_fault = { vm = \"a\", after = 1, when = 2 }",
                "event[0].alloc_fault.when",
            ),
            ("alloc_fault = \"a\"", "event[0].alloc_fault"),
            ("evictor_stall = \"0s\"", "event[0].evictor_stall"),
            ("evictor_stall = \"soon\"", "event[0].evictor_stall"),
        ] {
            let e = parse_scenario(&format!("{head}{text}\n"), "x").unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{text}: {e}");
            assert_eq!(e.line, Some(5), "{text}: {e}");
        }
    }
}
