//! `arcsim fit`: will these guests start now on this host, under each
//! kernel?
//!
//! # Design
//!
//! The question an operator asks before `vmadm start`. The host is a
//! scenario's (a built-in, a file, or one `arcsim import` makes from the
//! host's own output): its `[host]`, `[arc]`, `[workload]`, `[sim]` rates
//! and `[boot]`, and the guests it creates at 0 s (the ones running). Its
//! later events are left out: `fit` starts its own guests, the `--ram`
//! sizes, all at [`START_S`] (as the built-in seed scenarios start theirs,
//! so that the running guests are set up first), and watches the host for
//! `--within` (default [`DEFAULT_WITHIN_S`]) under `legacy`, `os8005`,
//! `reservoir` and `tunables`, through the same [`sim::run`] as `arcsim
//! run`. A host `fit` builds from a built-in scenario is therefore that
//! scenario's run up to its first guest start, and `fit` on it gives the
//! times `arcsim run` gives (`tests/fit_verdicts.rs`).
//!
//! For each kernel one line: each guest's outcome (memory set up after how
//! long, refused with which errno, or still retrying at the end), what was
//! paged out and swapped, how much ARC is left. Then one line, the
//! verdict for the patched kernel (`tunables`): whether every guest
//! starts now, and for one that does not, why, in the kernel's own
//! figures: its refusal of a guest that can never fit (`ENOSPC`), and for
//! one that does not fit now, the admission's `ENOMEM` with the bytes it is
//! short of and what the host can give without paging (free memory and
//! the ARC down to `c_min`, less earlier reservations and
//! `zfs_arc_headroom_margin`), which bhyve meets again at every retry.
//! `--json` gives the same as one object.

use serde::Serialize;

use vmm_client::VmmError;
use zfs_tunables::{errno, TunableError};

use crate::log::Message;
use crate::params::{Params, HZ, PAGESIZE};
use crate::policy::Policy;
use crate::report::human;
use crate::scenario::{self, Event, EventKind, Scenario};
use crate::sim::{self, RunResult, VmOutcome};

/// When the guests `fit` asks about start, seconds into the run.
pub const START_S: u64 = 10;
/// How long `fit` watches after they start, seconds, unless told.
pub const DEFAULT_WITHIN_S: u64 = 600;
/// The longest `--within`, seconds: the host is simulated tick by tick
/// under four kernels, and a guest not set up within the hour is not
/// starting "now".
pub const MAX_WITHIN_S: u64 = 3600;

/// What `fit` is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitRequest {
    /// The guests' RAM, bytes, in order.
    pub ram: Vec<u64>,
    /// A reader filling the ARC at this rate, bytes/s, instead of the
    /// scenario's `[workload] arcfill`.
    pub arcfill: Option<u64>,
    /// How long to watch after the start, ticks.
    pub within: u64,
}

/// The scenario `fit` runs: `base`'s host and its guests at 0 s, and the
/// requested guests at [`START_S`].
#[must_use]
pub fn fit_scenario(base: &Scenario, req: &FitRequest) -> Scenario {
    let mut events: Vec<Event> = base.events.iter().filter(|e| e.at == 0).cloned().collect();
    let taken = |n: &str| {
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::VmCreate { name, .. } if name == n))
    };
    let mut names = Vec::new();
    for (i, _) in req.ram.iter().enumerate() {
        let mut name = format!("vm{}", i.saturating_add(1));
        while taken(&name) {
            name = format!("new-{name}");
        }
        names.push(name);
    }
    for (name, ram) in names.into_iter().zip(&req.ram) {
        events.push(Event {
            at: START_S * HZ,
            kind: EventKind::VmCreate { name, ram: *ram },
        });
    }
    Scenario {
        name: base.name.clone(),
        description: format!("fit on {}: {}", base.name, base.description),
        host: base.host.clone(),
        arc_size: base.arc_size,
        arcfill: req.arcfill.unwrap_or(base.arcfill),
        duration: (START_S * HZ).saturating_add(req.within),
        evict_rate: base.evict_rate,
        alloc_rate: base.alloc_rate,
        etc_system: base.etc_system.clone(),
        events,
    }
}

/// The host when the guests start (under `tunables`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostView {
    /// `physmem`.
    pub physmem_bytes: u64,
    /// `::memstat` Kernel and Boot pages.
    pub kernel_bytes: u64,
    /// Anon, Exec and libs, Page cache.
    pub processes_bytes: u64,
    /// VMM Memory: the guests already running.
    pub running_guests_bytes: u64,
    /// The ARC (ZFS File Data).
    pub arc_bytes: u64,
    /// `freemem`.
    pub free_bytes: u64,
    /// `c_min`.
    pub c_min_bytes: u64,
    /// `lotsfree`.
    pub lotsfree_bytes: u64,
    /// `desfree`.
    pub desfree_bytes: u64,
    /// The reader's rate, bytes/s (0: none).
    pub arcfill_bytes_per_s: u64,
}

/// How a guest ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its memory was set up.
    Started,
    /// The kernel refused it and bhyve exited.
    Refused,
    /// bhyve was still retrying at the end.
    Waiting,
}

/// One guest under one kernel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuestFit {
    /// Its name in the run.
    pub name: String,
    /// Its RAM, bytes.
    pub ram_bytes: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// Seconds from bhyve's start to its memory set up.
    pub setup_s: Option<f64>,
    /// bhyve's "Unable to allocate memory" lines.
    pub retry_lines: u64,
    /// The errno of a refusal.
    pub errno: Option<i32>,
    /// Its name (`ENOSPC`).
    pub errno_name: Option<&'static str>,
    /// The kernel's message for it.
    pub message: Option<String>,
    /// The patched kernel's last refusal of a create for lack of memory
    /// (`ENOMEM`, retried by bhyve).
    pub shortfall: Option<Shortfall>,
}

/// The patched kernel's admission refusing a create now (`ENOMEM`):
/// `TunableError::ShortOfMemory`'s figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shortfall {
    /// The bytes the guest's segments not yet set up would reserve (the
    /// kernel refuses one segment, and the later ones would follow it).
    pub requested_bytes: u64,
    /// The bytes of the segment the kernel refused.
    pub segment_bytes: u64,
    /// What the host can give now without paging.
    pub available_bytes: u64,
    /// `zfs_arc_headroom_margin`, the free memory a start leaves.
    pub margin_bytes: u64,
    /// The kernel's message (`ShortOfMemory`'s sentence).
    pub message: String,
}

/// One kernel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyFit {
    /// `legacy`, `os8005`, `reservoir` or `tunables`.
    pub policy: &'static str,
    /// The guests asked about.
    pub guests: Vec<GuestFit>,
    /// Pages the scanner paged out.
    pub pages_paged_out: u64,
    /// LWPs the swapper swapped out.
    pub lwps_swapped: u64,
    /// The ARC at the end, bytes.
    pub arc_after_bytes: u64,
    /// The lowest `freemem`, bytes.
    pub min_freemem_bytes: u64,
}

/// The patched kernel's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// Whether every guest's memory is set up.
    pub all_start: bool,
    /// The guests that can never start on this host.
    pub never_fit: Vec<String>,
    /// The line `fit` prints.
    pub line: String,
}

/// Everything `fit` found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FitReport {
    /// The host's scenario.
    pub scenario: String,
    /// The host when the guests start.
    pub host: HostView,
    /// When they start, seconds.
    pub start_s: u64,
    /// How long the run watched them, seconds.
    pub within_s: f64,
    /// Each kernel, in `arcsim run`'s order.
    pub policies: Vec<PolicyFit>,
    /// The patched kernel's verdict.
    pub verdict: Verdict,
}

/// The last admission refusal for lack of memory the run logged for
/// guest `v`, with what its segments not yet set up ask for in all.
fn shortfall(r: &RunResult, v: &VmOutcome) -> Option<Shortfall> {
    let rest = v.requested_bytes.saturating_sub(v.held_bytes);
    r.log
        .lines
        .iter()
        .rev()
        .filter(|l| l.guest == v.name)
        .find_map(|l| match l.message {
            Message::CannotReserve(VmmError::Arc(TunableError::ShortOfMemory {
                requested,
                available,
                margin,
            })) => Some(Shortfall {
                requested_bytes: requested.0.max(rest),
                segment_bytes: requested.0,
                available_bytes: available.0,
                margin_bytes: margin.0,
                message: kernel_says(Some(&l.message.to_string())),
            }),
            _ => None,
        })
}

fn guest_fit(r: &RunResult, v: &VmOutcome) -> GuestFit {
    let outcome = if v.started {
        Outcome::Started
    } else if v.error.is_some() {
        Outcome::Refused
    } else {
        Outcome::Waiting
    };
    GuestFit {
        name: v.name.clone(),
        ram_bytes: v.requested_bytes,
        outcome,
        setup_s: v.start_latency_s,
        retry_lines: v.retry_lines,
        errno: v.errno,
        errno_name: v.errno.map(errno::name),
        message: v.error.clone(),
        shortfall: if outcome == Outcome::Waiting {
            shortfall(r, v)
        } else {
            None
        },
    }
}

/// Runs `base`'s host with the requested guests under every kernel.
#[must_use]
pub fn fit(base: &Scenario, req: &FitRequest) -> FitReport {
    let s = fit_scenario(base, req);
    let params = Params::default();
    let runs: Vec<RunResult> = Policy::ALL
        .iter()
        .map(|p| sim::run(&s, *p, &params))
        .collect();
    let start = START_S as f64;
    let policies: Vec<PolicyFit> = runs
        .iter()
        .map(|r| PolicyFit {
            policy: r.policy.name(),
            guests: r
                .vms
                .iter()
                .filter(|v| v.created_at_s >= start)
                .map(|v| guest_fit(r, v))
                .collect(),
            pages_paged_out: r.pages_paged_out,
            lwps_swapped: r.lwps_swapped,
            arc_after_bytes: r.arc_after_bytes,
            min_freemem_bytes: r.min_freemem_bytes,
        })
        .collect();
    let tunables = runs.iter().find(|r| r.policy == Policy::Tunables);
    let host = tunables.map_or_else(
        || HostView {
            physmem_bytes: s.host.physmem,
            kernel_bytes: 0,
            processes_bytes: 0,
            running_guests_bytes: 0,
            arc_bytes: 0,
            free_bytes: 0,
            c_min_bytes: 0,
            lotsfree_bytes: 0,
            desfree_bytes: 0,
            arcfill_bytes_per_s: s.arcfill,
        },
        |r| {
            let m = &r.memstat_before;
            let b = |p: u64| p.saturating_mul(PAGESIZE);
            HostView {
                physmem_bytes: b(m.total),
                kernel_bytes: b(m.kernel.saturating_add(m.boot)),
                processes_bytes: b(m.anon.saturating_add(m.exec).saturating_add(m.page_cache)),
                running_guests_bytes: b(m.vmm),
                arc_bytes: r.arc_before_bytes,
                free_bytes: b(m.cachelist.saturating_add(m.freelist)),
                c_min_bytes: r.c_min_bytes,
                lotsfree_bytes: r.lotsfree_bytes,
                desfree_bytes: r.desfree_bytes,
                arcfill_bytes_per_s: s.arcfill,
            }
        },
    );
    let patched = policies
        .iter()
        .find(|p| p.policy == Policy::Tunables.name());
    let verdict = verdict(patched, req);
    FitReport {
        scenario: s.name.clone(),
        host,
        start_s: START_S,
        within_s: req.within as f64 / HZ as f64,
        policies,
        verdict,
    }
}

/// The kernel's message without the `vmm: cannot reserve memory: ` its
/// log line starts with.
fn kernel_says(message: Option<&str>) -> String {
    message
        .map(|m| {
            let m = m.strip_prefix("vmm: ").unwrap_or(m);
            m.strip_prefix("cannot reserve memory: ")
                .unwrap_or(m)
                .to_string()
        })
        .unwrap_or_default()
}

fn verdict(patched: Option<&PolicyFit>, req: &FitRequest) -> Verdict {
    let Some(p) = patched else {
        return Verdict {
            all_start: false,
            never_fit: Vec::new(),
            line: "verdict: no run of the patched kernel".to_string(),
        };
    };
    let n = p.guests.len();
    let all_start = p.guests.iter().all(|g| g.outcome == Outcome::Started);
    let never_fit: Vec<String> = p
        .guests
        .iter()
        .filter(|g| g.errno == Some(errno::ENOSPC))
        .map(|g| g.name.clone())
        .collect();
    let paged = if p.pages_paged_out == 0 && p.lwps_swapped == 0 {
        "nothing is paged out or swapped".to_string()
    } else {
        format!(
            "{} pages are paged out and {} LWPs swapped out",
            p.pages_paged_out, p.lwps_swapped
        )
    };
    let guests_word = if n == 1 {
        format!(
            "the {} guest",
            human(p.guests.first().map_or(0, |g| g.ram_bytes))
        )
    } else {
        format!("the {n} guests")
    };
    if all_start {
        let times: Vec<String> = p
            .guests
            .iter()
            .map(|g| format!("{:.1} s", g.setup_s.unwrap_or(0.0)))
            .collect();
        let whose = if n == 1 { "its" } else { "their" };
        let start_word = if n == 1 { "starts" } else { "start" };
        return Verdict {
            all_start,
            never_fit,
            line: format!(
                "verdict: on the patched kernel (tunables) {guests_word} {start_word} now: {whose} \
                 memory is set up in {}, {paged}, and {} of ARC is left.",
                times.join(" and "),
                human(p.arc_after_bytes)
            ),
        };
    }
    let mut why: Vec<String> = Vec::new();
    for g in p.guests.iter().filter(|g| g.outcome != Outcome::Started) {
        let size = human(g.ram_bytes);
        let what = match (g.outcome, g.errno) {
            (Outcome::Refused, Some(errno::ENOSPC)) => format!(
                "the {size} guest can never start on this host: the kernel refuses it at once \
                 (ENOSPC: {}) and bhyve exits",
                kernel_says(g.message.as_deref())
            ),
            (Outcome::Refused, Some(errno::ETIME)) => format!(
                "the {size} guest does not start now: the ARC could not free its memory within \
                 the wait's minute (ETIME) and bhyve exits"
            ),
            (Outcome::Refused, e) => format!(
                "the {size} guest is refused ({}: {}) and bhyve exits",
                e.map_or("?", errno::name),
                kernel_says(g.message.as_deref())
            ),
            (_, _) => {
                let watched = format!(
                    "bhyve retries every second ({} lines in {:.0} s)",
                    g.retry_lines,
                    req.within as f64 / HZ as f64
                );
                match &g.shortfall {
                    Some(f) => format!(
                        "the {size} guest does not fit now: the kernel refuses each create at \
                         once (ENOMEM), {} short of the {} it would reserve, since the host \
                         can give {} without paging (free memory and the ARC down to c_min, \
                         less earlier reservations and the {} zfs_arc_headroom_margin); \
                         {watched}, and it starts once that much more is free (a guest \
                         destroyed, or zfs_arc_min or zfs_arc_headroom_margin lowered)",
                        human(f.requested_bytes.saturating_sub(f.available_bytes)),
                        human(f.requested_bytes),
                        human(f.available_bytes),
                        human(f.margin_bytes)
                    ),
                    None => format!("the {size} guest is not set up yet: {watched}"),
                }
            }
        };
        why.push(what);
    }
    let started = p
        .guests
        .iter()
        .filter(|g| g.outcome == Outcome::Started)
        .count();
    let lead = if n == 1 {
        String::new()
    } else {
        let verb = if started == 1 { "starts" } else { "start" };
        format!("{started} of the {n} guests {verb}; ")
    };
    Verdict {
        all_start,
        never_fit,
        line: format!(
            "verdict: on the patched kernel (tunables) {lead}{}.",
            why.join("; ")
        ),
    }
}

/// One guest's outcome in a policy's line.
fn guest_text(g: &GuestFit, within_s: f64) -> String {
    let size = human(g.ram_bytes);
    let retries = match g.retry_lines {
        0 => String::new(),
        1 => " (1 retry line)".to_string(),
        k => format!(" ({k} retry lines)"),
    };
    match g.outcome {
        Outcome::Started => format!(
            "{size} set up in {:.1} s{retries}",
            g.setup_s.unwrap_or(0.0)
        ),
        Outcome::Refused => format!("{size} refused: {}{retries}", g.errno_name.unwrap_or("?")),
        Outcome::Waiting => {
            format!("{size} not set up after {within_s:.0} s, bhyve still retrying{retries}")
        }
    }
}

/// The text report: the host, one line per kernel, the verdict.
#[must_use]
pub fn render_text(r: &FitReport) -> String {
    let h = &r.host;
    let running = if h.running_guests_bytes == 0 {
        "no guest running".to_string()
    } else {
        format!("guests running {}", human(h.running_guests_bytes))
    };
    let mut o = format!(
        "{}: {} host; Kernel {}, processes {}, {running}, ARC {} (c_min {}), free {}\n",
        r.scenario,
        human(h.physmem_bytes),
        human(h.kernel_bytes),
        human(h.processes_bytes),
        human(h.arc_bytes),
        human(h.c_min_bytes),
        human(h.free_bytes)
    );
    let sizes: Vec<String> = r
        .policies
        .first()
        .map(|p| p.guests.iter().map(|g| human(g.ram_bytes)).collect())
        .unwrap_or_default();
    let reader = if h.arcfill_bytes_per_s > 0 {
        format!(
            ", a reader filling the ARC at {}/s",
            human(h.arcfill_bytes_per_s)
        )
    } else {
        String::new()
    };
    o.push_str(&format!(
        "starting {} at {} s{reader}; watched for {:.0} s\n\n",
        sizes.join(" and "),
        r.start_s,
        r.within_s
    ));
    for p in &r.policies {
        let guests: Vec<String> = p.guests.iter().map(|g| guest_text(g, r.within_s)).collect();
        let paging = if p.pages_paged_out == 0 && p.lwps_swapped == 0 {
            "nothing paged out or swapped".to_string()
        } else {
            format!(
                "{} pages paged out, {} LWPs swapped out",
                p.pages_paged_out, p.lwps_swapped
            )
        };
        o.push_str(&format!(
            "{:<10} {}; {paging}; ARC {} left\n",
            p.policy,
            guests.join(", "),
            human(p.arc_after_bytes)
        ));
    }
    o.push('\n');
    o.push_str(&r.verdict.line);
    o.push('\n');
    o
}

/// `--json`.
#[must_use]
pub fn render_json(r: &FitReport) -> String {
    let mut s = serde_json::to_string_pretty(r).unwrap_or_else(|e| {
        format!(
            "{{\"error\": {}}}",
            serde_json::Value::String(e.to_string())
        )
    });
    s.push('\n');
    s
}

/// `arcsim fit`'s usage line.
pub const USAGE: &str = "  arcsim fit (--scenario <name-or-file> | FILE...|-) --ram SIZE [--ram SIZE...] [--arcfill RATE] [--within DURATION] [--json]";

/// `arcsim fit ...`; `load` reads `--scenario`'s operand as `arcsim run`
/// does.
pub fn cli(args: &[String], load: &dyn Fn(&str) -> Result<Scenario, String>) -> Result<(), String> {
    let mut scenario_arg: Option<String> = None;
    let mut files: Vec<String> = Vec::new();
    let mut ram: Vec<u64> = Vec::new();
    let mut arcfill = None;
    let mut within = DEFAULT_WITHIN_S * HZ;
    let mut json = false;
    let mut it = args.iter();
    let value = |it: &mut std::slice::Iter<'_, String>, opt: &str| {
        it.next()
            .cloned()
            .ok_or_else(|| format!("fit: {opt} needs a value\n{USAGE}"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--scenario" => scenario_arg = Some(value(&mut it, "--scenario")?),
            "--ram" => {
                let v = value(&mut it, "--ram")?;
                let bytes = scenario::parse_size(&v).map_err(|e| format!("fit: --ram: {e}"))?;
                if bytes == 0 {
                    return Err(format!("fit: --ram {v}: a guest has some RAM"));
                }
                ram.push(bytes);
            }
            "--arcfill" => {
                let v = value(&mut it, "--arcfill")?;
                arcfill =
                    Some(scenario::parse_size(&v).map_err(|e| format!("fit: --arcfill: {e}"))?);
            }
            "--within" => {
                let v = value(&mut it, "--within")?;
                within = scenario::parse_duration(&v).map_err(|e| format!("fit: --within: {e}"))?;
                if within == 0 {
                    return Err(format!("fit: --within {v}: watch for some time"));
                }
                if within > MAX_WITHIN_S * HZ {
                    return Err(format!(
                        "fit: --within {v}: fit watches at most {}s (1h)",
                        MAX_WITHIN_S
                    ));
                }
            }
            s if s.starts_with("--") || (s.starts_with('-') && s != "-") => {
                return Err(format!("fit: unknown option {s}\n{USAGE}"));
            }
            s => files.push(s.to_string()),
        }
    }
    if ram.is_empty() {
        return Err(format!("fit: which guests? (--ram SIZE)\n{USAGE}"));
    }
    let base = match (scenario_arg, files.is_empty()) {
        (Some(_), false) => {
            return Err(format!(
                "fit: a host from --scenario or from import inputs, not both\n{USAGE}"
            ))
        }
        (Some(s), true) => load(&s)?,
        (None, false) => {
            let inputs = crate::import::read_inputs(&files)?;
            let imported = crate::import::import(&inputs, None).map_err(|e| e.to_string())?;
            for w in &imported.warnings {
                eprintln!("arcsim: fit: warning: {w}");
            }
            imported.scenario
        }
        (None, true) => {
            return Err(format!(
                "fit: which host? (--scenario, or ::memstat and kstat -p files)\n{USAGE}"
            ))
        }
    };
    let report = fit(
        &base,
        &FitRequest {
            ram,
            arcfill,
            within,
        },
    );
    if json {
        print!("{}", render_json(&report));
    } else {
        print!("{}", render_text(&report));
    }
    Ok(())
}
