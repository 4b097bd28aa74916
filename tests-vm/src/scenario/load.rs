//! From a file's text to a [`Scenario`]: TOML, then the derived schema,
//! then the checks that need more than one value, each error with the
//! line and the field it is about.

use std::collections::HashMap;
use std::ops::Range;

use serde_path_to_error::Segment;
use toml::Spanned;

use super::schema::{self, EventTable, ScenarioFile};
use super::types::{
    Event, EventKind, Generation, HostSpec, Loaded, Scenario, ScenarioError, ScenarioWarning,
};
use super::units::{page_rounded, show_duration, show_size};
use crate::params::{HZ, MIB, PAGESIZE};

/// The run's length when `[sim] duration` is not given.
const DEFAULT_DURATION: u64 = 300 * HZ;

/// The text being loaded, to turn byte offsets into lines.
struct Source<'a> {
    text: &'a str,
}

impl Source<'_> {
    /// The 1-based line of byte `offset`.
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text
            .as_bytes()
            .get(..end)
            .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
            + 1
    }

    /// An error about `field` at `span`.
    fn err(&self, span: &Range<usize>, field: String, message: String) -> ScenarioError {
        ScenarioError {
            line: Some(self.line(span.start)),
            field: Some(field),
            message,
        }
    }
}

/// A key as a field path shows it: bare if TOML would take it bare,
/// quoted otherwise (`""`, `"a.b"`), so an error never names an empty or
/// misleading field.
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

/// A field path from its keys and indices: `event[2].vm_create.ram`.
fn field_path(segments: &[PathPart]) -> String {
    let mut out = String::new();
    for s in segments {
        match s {
            PathPart::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&key_name(k));
            }
            PathPart::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// One step of a field path.
enum PathPart {
    Key(String),
    Index(usize),
}

/// The path serde walked to an error, without the steps `Spanned` adds.
fn path_parts(path: &serde_path_to_error::Path) -> Vec<PathPart> {
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(PathPart::Index(*index)),
            Segment::Map { key } if key.starts_with("$__serde_spanned_private") => None,
            Segment::Map { key } | Segment::Enum { variant: key } => {
                Some(PathPart::Key(key.clone()))
            }
            Segment::Unknown => Some(PathPart::Key("?".to_string())),
        })
        .collect()
}

/// A TOML syntax error: the line and toml's reason.
fn syntax_error(src: &Source<'_>, e: &toml::de::Error) -> ScenarioError {
    let message = match e.message().trim() {
        // Name the byte rather than print an empty reason.
        "" => match e
            .span()
            .and_then(|s| src.text.get(s.start..)?.chars().next())
        {
            Some(c) => format!("unexpected character {c:?}"),
            None => "unexpected end of file".to_string(),
        },
        m => m.to_string(),
    };
    ScenarioError {
        line: e.span().map(|s| src.line(s.start)),
        field: None,
        message,
    }
}

/// An error the schema found, with its field path, in the file's terms:
/// a missing or unknown key says which, and what the table allows.
fn schema_error(src: &Source<'_>, e: serde_path_to_error::Error<toml::de::Error>) -> ScenarioError {
    let mut parts = path_parts(e.path());
    let inner = e.into_inner();
    let mut line = inner.span().map(|s| src.line(s.start));
    let raw = inner.message();
    let message = if let Some(key) = raw
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        let at_top = parts.is_empty();
        parts.push(PathPart::Key(key.to_string()));
        if at_top {
            // Nothing in the file is wrong: something is absent.
            line = None;
            format!("missing [{key}] table")
        } else {
            "is required but missing".to_string()
        }
    } else if raw.starts_with("unknown field `") {
        // The table's own keys, from the schema (the key is the last step).
        let table: Vec<&str> = parts
            .iter()
            .take(parts.len().saturating_sub(1))
            .filter_map(|p| match p {
                PathPart::Key(k) => Some(k.as_str()),
                PathPart::Index(_) => None,
            })
            .collect();
        let table = table.join(".");
        match schema::tables().into_iter().find(|(t, _)| *t == table) {
            Some(("", keys)) => format!("unknown top-level key (allowed: {})", keys.join(", ")),
            Some((_, keys)) => format!("unknown key (allowed: {})", keys.join(", ")),
            None => raw.to_string(),
        }
    } else {
        raw.to_string()
    };
    ScenarioError {
        line,
        field: Some(field_path(&parts)).filter(|f| !f.is_empty()),
        message,
    }
}

/// Parses and checks a scenario file's text (see MODEL.md, "Scenario
/// files").
pub(super) fn load(text: &str, default_name: &str) -> Result<Loaded, ScenarioError> {
    let src = Source { text };
    let de = toml::Deserializer::parse(text).map_err(|e| syntax_error(&src, &e))?;
    let file: ScenarioFile =
        serde_path_to_error::deserialize(de).map_err(|e| schema_error(&src, e))?;
    build(&src, file, default_name)
}

/// Where an event is in the file, for the checks across events.
struct Place {
    /// Its index among the `[[event]]` tables.
    index: usize,
    /// The span of its action.
    action: Range<usize>,
    /// The span of `alloc_fault.vm`, for a fault.
    fault_vm: Option<Range<usize>>,
}

/// The action of an `[[event]]`: its key, its span and what it does.
struct Action {
    key: &'static str,
    span: Range<usize>,
    kind: EventKind,
}

/// The actions `t` has, in file order.
fn actions(t: EventTable) -> Vec<Action> {
    fn one<T>(
        key: &'static str,
        v: Option<Spanned<T>>,
        kind: impl FnOnce(T) -> EventKind,
    ) -> Option<Action> {
        v.map(|s| {
            let span = s.span();
            Action {
                key,
                span,
                kind: kind(s.into_inner()),
            }
        })
    }
    let mut all: Vec<Action> = [
        one("vm_create", t.vm_create, |v| EventKind::VmCreate {
            name: v.name.0,
            ram: v.ram.0,
        }),
        one("vm_destroy", t.vm_destroy, |v| EventKind::VmDestroy(v.text)),
        one("kstat_write", t.kstat_write, |v| {
            EventKind::KstatWrite(v.text)
        }),
        one("mdb_write", t.mdb_write, |v| EventKind::MdbWrite(v.text)),
        one("kstat_read", t.kstat_read, |v| EventKind::KstatRead(v.text)),
        one("memstat", t.memstat, |_| EventKind::Memstat),
        one("arcfill", t.arcfill, |v| EventKind::Arcfill(v.0)),
        one("alloc_fault", t.alloc_fault, |v| EventKind::AllocFault {
            vm: v.vm.into_inner().0,
            after: v.after.0,
            times: v.times.map_or(1, |n| n.0),
        }),
        one("evictor_stall", t.evictor_stall, |v| {
            EventKind::EvictorStall(v.0)
        }),
        one("rsrvrctl", t.rsrvrctl, |v| EventKind::Rsrvrctl(v.0)),
    ]
    .into_iter()
    .flatten()
    .collect();
    all.sort_by_key(|a| a.span.start);
    all
}

/// The schema's values as a [`Scenario`], refused if no host could be in
/// that state or the run could not do what the file asks.
fn build(
    src: &Source<'_>,
    file: ScenarioFile,
    default_name: &str,
) -> Result<Loaded, ScenarioError> {
    let host_span = file.host.span();
    let h = file.host.into_inner();
    let physmem = h.physmem.get_ref().0;
    if physmem < 64 * MIB {
        return Err(src.err(
            &h.physmem.span(),
            "host.physmem".into(),
            format!(
                "{} bytes is too small for an illumos host (at least 64M)",
                physmem
            ),
        ));
    }
    let host = HostSpec {
        physmem,
        kernel: h.kernel.map_or(0, |s| s.0),
        boot: h.boot.map_or(0, |s| s.0),
        anon: h.anon.map_or(0, |s| s.0),
        exec: h.exec.map_or(0, |s| s.0),
        page_cache: h.page_cache.map_or(0, |s| s.0),
        generation: h.generation.map_or(Generation::Y2021, |g| g.0),
    };
    let left = memory_left(&host).map_err(|m| src.err(&host_span, "host".into(), m))?;

    let mut duration = DEFAULT_DURATION;
    let mut evict_rate = None;
    let mut alloc_rate = None;
    if let Some(sim) = file.sim {
        if let Some(d) = sim.duration {
            duration = d.get_ref().0;
            if duration == 0 {
                return Err(src.err(
                    &d.span(),
                    "sim.duration".into(),
                    "a run of 0s: the duration must be positive".into(),
                ));
            }
        }
        for (key, rate, slot) in [
            ("evict_rate", sim.evict_rate, &mut evict_rate),
            ("alloc_rate", sim.alloc_rate, &mut alloc_rate),
        ] {
            if let Some(r) = rate {
                let bytes = r.get_ref().0;
                if bytes < PAGESIZE {
                    return Err(src.err(
                        &r.span(),
                        format!("sim.{key}"),
                        format!(
                            "must be at least one page per second ({bytes} bytes/s is under {PAGESIZE})"
                        ),
                    ));
                }
                *slot = Some(bytes);
            }
        }
    }

    let mut events = Vec::with_capacity(file.event.0.len());
    // Where each event is, for the checks across events.
    let mut places = Vec::with_capacity(file.event.0.len());
    for (i, e) in file.event.0.into_iter().enumerate() {
        let span = e.span();
        let t = e.into_inner();
        let at = t.at.get_ref().0;
        let at_span = t.at.span();
        let fault_vm_span = t.alloc_fault.as_ref().map(|f| f.get_ref().vm.span());
        let mut acts = actions(t);
        if acts.len() > 1 {
            let names: Vec<&str> = acts.iter().map(|a| a.key).collect();
            let second = &acts[1];
            return Err(src.err(
                &second.span,
                format!("event[{i}].{}", second.key),
                format!(
                    "an event has exactly one action (this one has {})",
                    names.join(" and ")
                ),
            ));
        }
        let Some(action) = acts.pop() else {
            return Err(src.err(
                &span,
                format!("event[{i}]"),
                format!("needs one action, one of {}", schema::actions().join(", ")),
            ));
        };
        if at > duration {
            return Err(src.err(
                &at_span,
                format!("event[{i}].at"),
                format!(
                    "{} is after the end of the run ([sim] duration = \"{}\")",
                    show_duration(at),
                    show_duration(duration)
                ),
            ));
        }
        if matches!(action.kind, EventKind::EvictorStall(0)) {
            return Err(src.err(
                &action.span,
                format!("event[{i}].evictor_stall"),
                "a stall of 0s: the duration must be positive".into(),
            ));
        }
        places.push(Place {
            index: i,
            action: action.span.clone(),
            fault_vm: fault_vm_span,
        });
        events.push(Event {
            at,
            kind: action.kind,
        });
    }

    let arc_size = arc_size(src, file.arc, left, &events, &places)?;
    let warnings = check_faults(src, &events, &places)?;

    let mut etc_system = Vec::new();
    if let Some(lines) = file.boot.and_then(|b| b.etc_system) {
        etc_system = lines.0.into_iter().map(|l| l.0).collect();
    }
    events.sort_by_key(|e| e.at);
    Ok(Loaded {
        scenario: Scenario {
            name: file.name.unwrap_or_else(|| default_name.to_string()),
            description: file.description.unwrap_or_default(),
            host,
            arc_size,
            arcfill: file.workload.and_then(|w| w.arcfill).map_or(0, |s| s.0),
            duration,
            evict_rate,
            alloc_rate,
            etc_system,
            events,
        },
        warnings,
    })
}

/// What `physmem` leaves after the `::memstat` categories the file
/// gives (each rounded up to whole pages, as the kernel counts them), or
/// why they cannot all be there.
fn memory_left(h: &HostSpec) -> Result<u64, String> {
    let parts = [
        ("kernel", h.kernel),
        ("boot", h.boot),
        ("anon", h.anon),
        ("exec", h.exec),
        ("page_cache", h.page_cache),
    ];
    let total: u128 = parts
        .iter()
        .map(|(_, b)| u128::from(page_rounded(*b)))
        .sum();
    let physmem = page_rounded(h.physmem);
    match u64::try_from(total)
        .ok()
        .and_then(|t| physmem.checked_sub(t))
    {
        Some(left) => Ok(left),
        None => {
            let terms: Vec<String> = parts
                .iter()
                .filter(|(_, b)| *b > 0)
                .map(|(k, b)| format!("{k} {}", show_size(page_rounded(*b))))
                .collect();
            let total = u64::try_from(total).map_or_else(|_| total.to_string(), show_size);
            Err(format!(
                "the ::memstat categories add up to {total} ({}), more than physmem ({}): no host has that memory",
                terms.join(" + "),
                show_size(physmem)
            ))
        }
    }
}

/// `[arc] size`, which must fit in what the categories leave, and must be
/// said when the file creates a guest.
fn arc_size(
    src: &Source<'_>,
    arc: Option<Spanned<schema::ArcTable>>,
    left: u64,
    events: &[Event],
    places: &[Place],
) -> Result<u64, ScenarioError> {
    let (table_span, size) = match arc {
        Some(t) => {
            let span = t.span();
            (Some(span), t.into_inner().size)
        }
        None => (None, None),
    };
    match size {
        Some(s) => {
            let bytes = s.get_ref().0;
            if page_rounded(bytes) > left {
                return Err(src.err(
                    &s.span(),
                    "arc.size".into(),
                    format!(
                        "an ARC of {} does not fit: physmem less the ::memstat categories leaves {}",
                        show_size(bytes),
                        show_size(left)
                    ),
                ));
            }
            Ok(bytes)
        }
        None => {
            let first_guest = events
                .iter()
                .zip(places)
                .find(|(e, _)| matches!(e.kind, EventKind::VmCreate { .. }));
            match first_guest {
                None => Ok(0),
                Some((_, place)) => {
                    let (i, create_span) = (place.index, &place.action);
                    let span = table_span.unwrap_or_else(|| create_span.clone());
                    Err(src.err(
                        &span,
                        "arc.size".into(),
                        format!(
                            "is required when the file creates a guest (event[{i}] at line {}): \
                             the ARC's size at the start decides what must be evicted for it; \
                             write size = \"0\" for an empty ARC",
                            src.line(create_span.start)
                        ),
                    ))
                }
            }
        }
    }
}

/// Refuses a fault armed for a guest no event creates; warns of one armed
/// after every creation of its guest, which fires only if that guest is
/// still being set up when it is armed (only the run can tell).
fn check_faults(
    src: &Source<'_>,
    events: &[Event],
    places: &[Place],
) -> Result<Vec<ScenarioWarning>, ScenarioError> {
    // The last creation of each guest name.
    let mut last_create: HashMap<&str, u64> = HashMap::new();
    for e in events {
        if let EventKind::VmCreate { name, .. } = &e.kind {
            let t = last_create.entry(name.as_str()).or_insert(e.at);
            *t = (*t).max(e.at);
        }
    }
    let mut warnings = Vec::new();
    for (e, place) in events.iter().zip(places) {
        let EventKind::AllocFault { vm, .. } = &e.kind else {
            continue;
        };
        let span = place.fault_vm.as_ref().unwrap_or(&place.action);
        let field = format!("event[{}].alloc_fault.vm", place.index);
        match last_create.get(vm.as_str()) {
            None => {
                return Err(src.err(
                    span,
                    field,
                    format!("no vm_create in this file creates a guest named {vm:?}: the fault could never fire"),
                ))
            }
            Some(&last) if last < e.at => warnings.push(ScenarioWarning {
                line: Some(src.line(span.start)),
                field: Some(field),
                message: format!(
                    "armed at {} for {vm:?}, whose last vm_create is at {}: it fires only if that guest is still being set up then",
                    show_duration(e.at),
                    show_duration(last)
                ),
            }),
            Some(_) => {}
        }
    }
    Ok(warnings)
}
