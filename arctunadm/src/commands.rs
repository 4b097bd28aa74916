//! The subcommands, over any [`Backend`].

use std::cmp::Ordering;
use std::fmt::Write as _;

use admin_syntax::{KstatSnapshot, StatValue};
use zfs_tunables::errno;
use zfs_tunables::registry::{TunableFlags, Unit};

use crate::backend::{
    Backend, BackendError, KstatCall, KstatRef, ARCSTATS, ARC_HEADROOM, ARC_RESV, SYSTEM_PAGES,
    TUNABLES,
};
use crate::boot_config::{boot_values, persist, read_fragment, Persist};
use crate::cli::{Invocation, ResetTarget, Subcommand, USAGE};
use crate::host_model::{allmem, default_value, descriptor, module_of, Figures};
use crate::profiles::{self, PROFILES};
use crate::refusal::message;
use crate::size::format_size;

/// What a run printed and its exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The exit status: 0, 1 (refused, or a failure), 2 (usage).
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A failure: its exit status and its one-line message.
struct Failure(i32, String);

type Step<T> = Result<T, Failure>;

fn bad_usage(msg: String) -> Failure {
    Failure(2, msg)
}

/// The page size of every host bhyve runs on (amd64).
const PAGE_SIZE: u64 = 4096;

struct Ctx<'a> {
    backend: &'a mut dyn Backend,
    out: String,
    notes: String,
}

impl Ctx<'_> {
    fn read(&mut self, ks: KstatRef) -> Step<KstatSnapshot> {
        self.backend
            .read(ks)
            .map_err(|e| Failure(1, message(&e, ks, &[], self.backend)))
    }

    fn write(&mut self, ks: KstatRef, values: &[(&str, u64)]) -> Step<()> {
        self.backend
            .write(ks, values)
            .map_err(|e| Failure(1, message(&e, ks, values, self.backend)))
    }

    fn note(&mut self, line: &str) {
        let _ = writeln!(self.notes, "arctunadm: {line}");
    }
}

/// The tunables' names and values, in kstat order.
fn tunables(s: &KstatSnapshot) -> Vec<(String, u64)> {
    s.data
        .iter()
        .filter_map(|(n, v)| v.as_u64().map(|v| (n.clone(), v)))
        .collect()
}

/// Refuses a name `zfs:0:tunables` does not have: exit 2 for a name no
/// module registers, exit 1 for a tunable of a module that is not loaded.
fn check_names<'n>(
    names: impl IntoIterator<Item = &'n str>,
    present: &[(String, u64)],
) -> Step<()> {
    for n in names {
        if !present.iter().any(|(p, _)| p == n) {
            if let Some(module) = module_of(n) {
                return Err(Failure(
                    1,
                    format!(
                        "{n} is a tunable of the {module} module, which has not registered it: \
                         {TUNABLES} has it only while {module} is loaded"
                    ),
                ));
            }
            let known: Vec<&str> = present.iter().map(|(p, _)| p.as_str()).collect();
            return Err(bad_usage(format!(
                "unknown tunable '{n}' ({} has: {})",
                TUNABLES,
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// `strcasecmp()`, as `kstat` orders names.
fn strcasecmp(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// `module:instance:name:statistic<TAB>value` for each of `stats`.
fn parsable_lines(out: &mut String, s: &KstatSnapshot, stats: &[(String, StatValue)]) {
    for (stat, value) in stats {
        let _ = writeln!(
            out,
            "{}:{}:{}:{stat}\t{value}",
            s.module, s.instance, s.name
        );
    }
}

/// A kstat's statistics in `kstat -p`'s order (by name), without its
/// pseudo-statistics (`class`, `crtime`, `snaptime`).
fn sorted_stats(s: &KstatSnapshot, only: Option<&[&str]>) -> Vec<(String, StatValue)> {
    let mut v: Vec<(String, StatValue)> = s
        .data
        .iter()
        .filter(|(n, _)| only.is_none_or(|o| o.contains(&n.as_str())))
        .cloned()
        .collect();
    v.sort_by(|a, b| strcasecmp(&a.0, &b.0));
    v
}

/// A tunable's value for a person.
fn shown_value(name: &str, v: u64) -> String {
    let Some(d) = descriptor(name) else {
        return v.to_string();
    };
    let default = if v == default_value(d) {
        " (default)"
    } else {
        ""
    };
    match d.unit {
        Unit::Bytes if v == 0 && d.flags.contains(TunableFlags::ZERO_IS_DEFAULT) => {
            "0 (default)".to_string()
        }
        Unit::Bytes => format!("{v} ({}){default}", format_size(v)),
        Unit::BytesPerPage => format!("{v} bytes per page{default}"),
        Unit::Pages => format!("{v} pages{default}"),
        Unit::Seconds => format!("{v} s{default}"),
        Unit::Count | Unit::Shift => format!("{v}{default}"),
    }
}

fn tunable_table(out: &mut String, rows: &[(String, u64)]) {
    let _ = writeln!(out, "{:<31}VALUE", "TUNABLE");
    for (n, v) in rows {
        let _ = writeln!(out, "{n:<31}{}", shown_value(n, *v));
    }
}

fn get(c: &mut Ctx<'_>, inv: &Invocation, names: &[String]) -> Step<()> {
    let s = c.read(TUNABLES)?;
    let present = tunables(&s);
    check_names(names.iter().map(String::as_str), &present)?;
    let rows: Vec<(String, u64)> = if names.is_empty() {
        present
    } else {
        names
            .iter()
            .filter_map(|n| present.iter().find(|(p, _)| p == n).cloned())
            .collect()
    };
    if inv.parsable {
        let stats: Vec<(String, StatValue)> = if names.is_empty() {
            sorted_stats(&s, None)
        } else {
            rows.iter()
                .map(|(n, v)| (n.clone(), StatValue::Uint64(*v)))
                .collect()
        };
        parsable_lines(&mut c.out, &s, &stats);
    } else {
        tunable_table(&mut c.out, &rows);
    }
    Ok(())
}

/// Writes `values` to `zfs:0:tunables` and, with `--persist`, keeps
/// them (`keep`) in the fragment.
fn apply(
    c: &mut Ctx<'_>,
    inv: &Invocation,
    values: &[(&str, u64)],
    keep: &[Persist<'_>],
) -> Step<()> {
    if inv.persist {
        // A fragment the command cannot rewrite is found before the
        // kernel is changed, so that the command fails having done nothing.
        read_fragment(&inv.root).map_err(|e| Failure(1, e))?;
    }
    c.write(TUNABLES, values)?;
    if inv.persist {
        let notes = persist(&inv.root, keep).map_err(|e| {
            Failure(
                1,
                format!("the values are in force, but not kept for the next boot: {e}"),
            )
        })?;
        for n in notes {
            c.note(&format!("note: {n}"));
        }
    }
    Ok(())
}

fn set(c: &mut Ctx<'_>, inv: &Invocation, assignments: &[(String, u64)]) -> Step<()> {
    let present = tunables(&c.read(TUNABLES)?);
    check_names(assignments.iter().map(|(n, _)| n.as_str()), &present)?;
    let values: Vec<(&str, u64)> = assignments.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let keep: Vec<Persist<'_>> = values.iter().map(|&(n, v)| Persist::Set(n, v)).collect();
    apply(c, inv, &values, &keep)
}

/// The default of `name`, or a failure for a tunable this command does
/// not know.
fn default_of(name: &str) -> Step<u64> {
    descriptor(name).map(default_value).ok_or_else(|| {
        Failure(
            1,
            format!("{name}: its default is not known to this arctunadm (a newer kernel?)"),
        )
    })
}

fn reset(c: &mut Ctx<'_>, inv: &Invocation, target: &ResetTarget) -> Step<()> {
    let present = tunables(&c.read(TUNABLES)?);
    let names: Vec<String> = match target {
        ResetTarget::Names(n) => {
            check_names(n.iter().map(String::as_str), &present)?;
            n.clone()
        }
        ResetTarget::All => present.iter().map(|(n, _)| n.clone()).collect(),
        ResetTarget::EtcSystem => {
            let known = Figures::read(c.backend).ok().and_then(|f| allmem(&f).ok());
            let boot = boot_values(&inv.root, known).map_err(|e| Failure(1, e))?;
            for w in &boot.warnings {
                c.note(&format!("warning: {w}"));
            }
            let mut values = Vec::new();
            for (n, _) in &present {
                let v = match boot.values.iter().find(|(b, _)| b == n) {
                    Some(&(_, v)) => v,
                    None => default_of(n)?,
                };
                values.push((n.as_str(), v));
            }
            return c.write(TUNABLES, &values);
        }
    };
    let mut values = Vec::new();
    for n in &names {
        values.push((n.as_str(), default_of(n)?));
    }
    let keep: Vec<Persist<'_>> = names.iter().map(|n| Persist::Remove(n)).collect();
    apply(c, inv, &values, &keep)
}

fn profile(c: &mut Ctx<'_>, inv: &Invocation, name: Option<&str>) -> Step<()> {
    let chosen = match name {
        Some(n) => Some(profiles::find(n).ok_or_else(|| {
            let all: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
            bad_usage(format!(
                "unknown profile '{n}' (profiles: {})",
                all.join(", ")
            ))
        })?),
        None => None,
    };
    let figures =
        Figures::read(c.backend).map_err(|e| Failure(1, message(&e, TUNABLES, &[], c.backend)))?;
    let host = allmem(&figures);
    let Some(p) = chosen else {
        let _ = writeln!(
            c.out,
            "{:<16}{:>12}{:>12}  DESCRIPTION",
            "PROFILE", "ARC_MIN", "ARC_MAX"
        );
        for p in &PROFILES {
            let (min, max) = match host.map(|a| p.values(a)) {
                Ok(Ok(v)) => (
                    if v.arc_min == 0 {
                        "default".to_string()
                    } else {
                        format_size(v.arc_min)
                    },
                    format_size(v.arc_max),
                ),
                _ => ("-".to_string(), "-".to_string()),
            };
            let _ = writeln!(c.out, "{:<16}{min:>12}{max:>12}  {}", p.name, p.description);
        }
        if let Err(e) = host {
            c.note(&format!("note: no values: {e}"));
        }
        return Ok(());
    };
    let allmem = host.map_err(|e| Failure(1, format!("profile {}: {e}", p.name)))?;
    let v = p.values(allmem).map_err(|e| Failure(1, e))?;
    let values = [("zfs_arc_min", v.arc_min), ("zfs_arc_max", v.arc_max)];
    let keep = [
        Persist::Set("zfs_arc_min", v.arc_min),
        Persist::Set("zfs_arc_max", v.arc_max),
    ];
    apply(c, inv, &values, &keep)?;
    let rows: Vec<(String, u64)> = values.iter().map(|&(n, v)| (n.to_string(), v)).collect();
    tunable_table(&mut c.out, &rows);
    Ok(())
}

fn stat(s: &KstatSnapshot, name: &str) -> u64 {
    s.get(name).and_then(StatValue::as_u64).unwrap_or(0)
}

/// One line of `status`: a label, a size or count, and a note.
fn row(out: &mut String, label: &str, value: &str, note: &str) {
    let line = format!("  {label:<24}{value:>12}  {note}");
    let _ = writeln!(out, "{}", line.trim_end());
}

fn status(c: &mut Ctx<'_>, inv: &Invocation) -> Step<()> {
    let arc = c.read(ARCSTATS)?;
    let head = c.read(ARC_HEADROOM)?;
    let optional = |r: Result<KstatSnapshot, BackendError>| match r {
        Ok(s) => Ok(Some(s)),
        Err(BackendError::Errno {
            call: KstatCall::Lookup,
            errno: errno::ENOENT,
        }) => Ok(None),
        Err(e) => Err(e),
    };
    let resv = optional(c.backend.read(ARC_RESV))
        .map_err(|e| Failure(1, message(&e, ARC_RESV, &[], c.backend)))?;
    let pages = optional(c.backend.read(SYSTEM_PAGES))
        .map_err(|e| Failure(1, message(&e, SYSTEM_PAGES, &[], c.backend)))?;
    const PAGE_STATS: [&str; 3] = ["freemem", "lotsfree", "desfree"];
    if inv.parsable {
        // kstat's order: by module, instance, then name.
        if let Some(p) = &pages {
            parsable_lines(&mut c.out, p, &sorted_stats(p, Some(&PAGE_STATS)));
        }
        if let Some(r) = &resv {
            parsable_lines(&mut c.out, r, &sorted_stats(r, None));
        }
        parsable_lines(&mut c.out, &head, &sorted_stats(&head, None));
        parsable_lines(&mut c.out, &arc, &sorted_stats(&arc, None));
        return Ok(());
    }
    let o = &mut c.out;
    let size = |s: &KstatSnapshot, n: &str| format_size(stat(s, n));
    let _ = writeln!(o, "ARC ({ARCSTATS})");
    row(o, "size", &size(&arc, "size"), "");
    row(o, "target (c)", &size(&arc, "c"), "");
    row(
        o,
        "ceiling (c_max)",
        &size(&arc, "c_max"),
        "zfs_arc_max, or c_max_base less what guests hold",
    );
    row(o, "floor (c_min)", &size(&arc, "c_min"), "");
    let _ = writeln!(o, "Headroom ({ARC_HEADROOM})");
    row(
        o,
        "ceiling without guests",
        &size(&head, "c_max_base"),
        "c_max_base",
    );
    row(
        o,
        "ceiling with guests",
        &size(&head, "c_max_effective"),
        "c_max_effective",
    );
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    row(
        o,
        "reserved",
        &size(&head, "reserved"),
        &format!(
            "{}, {}",
            plural(stat(&head, "reservations"), "reservation", "reservations"),
            plural(stat(&head, "consumers"), "consumer", "consumers")
        ),
    );
    row(
        o,
        "  pending",
        &size(&head, "pending"),
        "promised to starting guests, not yet allocated",
    );
    row(o, "  allocated", &size(&head, "allocated"), "");
    if head.get("available_now").is_some() {
        row(
            o,
            "available now",
            &size(&head, "available_now"),
            "what a start could have without paging",
        );
    }
    // `rejections` counts every refusal; the kinds are broken out.
    let never_fit = stat(&head, "rejections_never_fit");
    let memory = head.get("rejections_memory").and_then(StatValue::as_u64);
    let no_headroom = stat(&head, "rejections")
        .saturating_sub(never_fit)
        .saturating_sub(memory.unwrap_or(0));
    let memory_note = memory.map_or(String::new(), |m| format!(", {m} not the memory now"));
    row(
        o,
        "starts",
        &stat(&head, "reserves").to_string(),
        &format!(
            "{} waited, {} timed out, {} interrupted; refused: {no_headroom} no headroom, \
             {never_fit} never fit{memory_note}",
            stat(&head, "waits"),
            stat(&head, "wait_timeouts"),
            stat(&head, "wait_interrupts"),
        ),
    );
    match &resv {
        Some(r) => {
            let _ = writeln!(o, "Guests ({ARC_RESV})");
            row(o, "instances", &stat(r, "instances").to_string(), "");
            row(
                o,
                "reserved",
                &size(r, "reserved_bytes"),
                &format!("of which {} page_t overhead", size(r, "overhead_bytes")),
            );
            row(
                o,
                "failed creates",
                &(stat(r, "fail_no_headroom")
                    .saturating_add(stat(r, "fail_never_fits"))
                    .saturating_add(stat(r, "fail_timeout"))
                    .saturating_add(stat(r, "fail_interrupted"))
                    .saturating_add(stat(r, "fail_alloc"))
                    .saturating_add(stat(r, "fail_table_full"))
                    .saturating_add(stat(r, "fail_invalid")))
                .to_string(),
                &format!(
                    "{} no headroom, {} never fit, {} timed out, {} other",
                    stat(r, "fail_no_headroom"),
                    stat(r, "fail_never_fits"),
                    stat(r, "fail_timeout"),
                    stat(r, "fail_interrupted")
                        .saturating_add(stat(r, "fail_alloc"))
                        .saturating_add(stat(r, "fail_table_full"))
                        .saturating_add(stat(r, "fail_invalid"))
                ),
            );
            row(
                o,
                "per guest",
                "-",
                "not exported: vmm:0:arc_resv has totals only",
            );
        }
        None => {
            let _ = writeln!(o, "Guests: vmm is not loaded ({ARC_RESV} does not exist)");
        }
    }
    // The margin a starting guest leaves free: the module's own figure
    // where it exports one, else its default, lotsfree + desfree.
    let exported_margin = head.get("margin").and_then(StatValue::as_u64);
    if let Some(p) = &pages {
        let bytes = |n: &str| stat(p, n).saturating_mul(PAGE_SIZE);
        let _ = writeln!(o, "Free memory ({SYSTEM_PAGES})");
        row(o, "free", &format_size(bytes("freemem")), "freemem");
        if exported_margin.is_none() {
            row(
                o,
                "margin",
                &format_size(bytes("lotsfree").saturating_add(bytes("desfree"))),
                "lotsfree + desfree: kept free beyond what starting guests wait for",
            );
        }
    }
    if let Some(m) = exported_margin {
        if pages.is_none() {
            let _ = writeln!(o, "Free memory");
        }
        row(
            o,
            "margin",
            &format_size(m),
            "zfs_arc_headroom_margin: kept free beyond what starting guests wait for",
        );
    }
    Ok(())
}

/// Runs a parsed invocation against the backend `open` gives.
pub fn execute<B: Backend>(inv: &Invocation, open: impl FnOnce() -> Result<B, String>) -> Outcome {
    if inv.subcommand == Subcommand::Help {
        return Outcome {
            status: 0,
            stdout: USAGE.to_string(),
            stderr: String::new(),
        };
    }
    let mut backend = match open() {
        Ok(b) => b,
        Err(e) => {
            return Outcome {
                status: 1,
                stdout: String::new(),
                stderr: format!("arctunadm: {e}\n"),
            }
        }
    };
    let mut c = Ctx {
        backend: &mut backend,
        out: String::new(),
        notes: String::new(),
    };
    let r = match &inv.subcommand {
        Subcommand::Get(names) => get(&mut c, inv, names),
        Subcommand::Set(a) => set(&mut c, inv, a),
        Subcommand::Reset(t) => reset(&mut c, inv, t),
        Subcommand::Profile(p) => profile(&mut c, inv, p.as_deref()),
        Subcommand::Status => status(&mut c, inv),
        Subcommand::Help => Ok(()),
    };
    let mut stderr = std::mem::take(&mut c.notes);
    let status = match r {
        Ok(()) => 0,
        Err(Failure(code, msg)) => {
            let _ = writeln!(stderr, "arctunadm: {msg}");
            code
        }
    };
    Outcome {
        status,
        stdout: c.out,
        stderr,
    }
}
