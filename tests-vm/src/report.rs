//! What `arcsim run` prints, and its `--json` object.
//!
//! The text report opens with one summary row per policy (guests started,
//! refused, destroyed, still waiting; time to memory; pages paged out;
//! LWPs swapped; ARC lost) and a legend for every column. Then, per
//! policy, what an operator would have seen on the host: `::memstat`
//! before and after in mdb's layout, bhyve's and the kernel's lines, the
//! events, `kstat -p` reads, a line saying what `ZFS File Data` holds
//! besides the ARC, and a table of the guests that matter: the refused,
//! the destroyed, those still waiting and the slowest few, guests with
//! identical outcomes folded into one row. [`Detail::AllGuests`]
//! (`--guests`) lists every guest, every line and every event instead.
//!
//! One unit system throughout: binary sizes (KiB, MiB, GiB; mdb's
//! `::memstat` "MB" column is MiB too), seconds.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::ser::SerializeMap as _;
use serde::Serialize;

use crate::event::{Event, EventRecord};
use crate::fleet::VmOutcome;
use crate::host::memstat::Memstat;
use crate::log::LogLine;
use crate::outcome::{RunResult, Sample};
use crate::params::{HZ, PAGESIZE};
use crate::plot;
use crate::scenario::Scenario;

pub use crate::figures::{human, thousands};

fn secs(t: u64) -> f64 {
    t as f64 / HZ as f64
}

/// How much of a run the text report lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// The guests that matter (refused, destroyed, still waiting, the
    /// slowest few), and at most [`LINES_SHOWN`] log lines and guest
    /// events of the others.
    GuestsThatMatter,
    /// Every guest, every log line, every event (`--guests`).
    AllGuests,
}

/// Log lines, and guest events that succeeded, listed per policy before
/// the rest are counted instead (unless [`Detail::AllGuests`]).
pub const LINES_SHOWN: usize = 12;

/// The slowest guests set up that the guest table lists besides the
/// refused, destroyed and waiting ones.
pub const SLOWEST_SHOWN: usize = 3;

/// Rows of the guest table before the rest are counted instead (unless
/// [`Detail::AllGuests`]).
pub const ROWS_SHOWN: usize = 10;

/// What became of a guest by the end of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestState {
    /// Its memory was set up, and it is running.
    SetUp,
    /// Its create failed with an errno (and bhyve exited).
    Refused,
    /// `vm_destroy` destroyed it (before or after its memory was set up).
    Destroyed,
    /// bhyve was still retrying when the run ended.
    Waiting,
}

impl GuestState {
    /// What `v` became.
    #[must_use]
    pub fn of(v: &VmOutcome) -> GuestState {
        if v.destroyed {
            GuestState::Destroyed
        } else if v.error.is_some() {
            GuestState::Refused
        } else if v.started {
            GuestState::SetUp
        } else {
            GuestState::Waiting
        }
    }

    /// The word the text report uses.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            GuestState::SetUp => "set up",
            GuestState::Refused => "refused",
            GuestState::Destroyed => "destroyed",
            GuestState::Waiting => "waiting",
        }
    }
}

/// The guests a run's summary counts: those bhyve started after boot (the
/// ones at 0 s are the host as it was before), or every guest if none
/// was started later.
#[must_use]
pub fn counted_guests(r: &RunResult) -> Vec<&VmOutcome> {
    let late: Vec<&VmOutcome> = r.vms.iter().filter(|v| v.created_at_s > 0.0).collect();
    if late.is_empty() {
        r.vms.iter().collect()
    } else {
        late
    }
}

/// One policy's summary row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// The policy.
    pub policy: &'static str,
    /// Guests counted ([`counted_guests`]).
    pub guests: usize,
    /// Of those, guests whose memory was set up (some were destroyed
    /// later).
    pub set_up: usize,
    /// Of those, guests whose create failed with an errno.
    pub refused: usize,
    /// Of those, guests destroyed.
    pub destroyed: usize,
    /// Of those, guests bhyve was still retrying at the end.
    pub waiting: usize,
    /// The median time to memory of the guests set up (nearest rank),
    /// seconds.
    pub p50_to_memory_s: Option<f64>,
    /// The longest time to memory of the guests set up, seconds.
    pub max_to_memory_s: Option<f64>,
    /// Pages the scanner paged out.
    pub pages_paged_out: u64,
    /// LWPs the swapper swapped out.
    pub lwps_swapped: u64,
    /// ARC size before the first guest started after boot, bytes.
    pub arc_before_bytes: u64,
    /// ARC size at the end, bytes.
    pub arc_after_bytes: u64,
    /// `arc_before_bytes - arc_after_bytes` (0 if the ARC grew), bytes.
    pub arc_lost_bytes: u64,
    /// How far the ARC ended under the scenario's ideal, bytes.
    pub arc_under_ideal_bytes: u64,
}

impl Summary {
    /// The summary of `r`.
    #[must_use]
    pub fn of(r: &RunResult) -> Summary {
        let guests = counted_guests(r);
        let count = |s: GuestState| guests.iter().filter(|v| GuestState::of(v) == s).count();
        let mut latencies: Vec<f64> = guests.iter().filter_map(|v| v.start_latency_s).collect();
        latencies.sort_by(f64::total_cmp);
        Summary {
            policy: r.policy.name(),
            guests: guests.len(),
            set_up: guests.iter().filter(|v| v.started).count(),
            refused: count(GuestState::Refused),
            destroyed: count(GuestState::Destroyed),
            waiting: count(GuestState::Waiting),
            p50_to_memory_s: latencies
                .get(latencies.len().saturating_sub(1) / 2)
                .copied(),
            max_to_memory_s: latencies.last().copied(),
            pages_paged_out: r.pages_paged_out,
            lwps_swapped: r.lwps_swapped,
            arc_before_bytes: r.arc_before_bytes,
            arc_after_bytes: r.arc_after_bytes,
            arc_lost_bytes: r.arc_before_bytes.saturating_sub(r.arc_after_bytes),
            arc_under_ideal_bytes: r.arc_ideal_after_bytes.saturating_sub(r.arc_after_bytes),
        }
    }
}

fn seconds_or_dash(s: Option<f64>) -> String {
    s.map_or_else(|| "-".to_string(), |s| format!("{s:.2} s"))
}

/// The legend under the summary, a line per column.
const SUMMARY_LEGEND: [(&str, &str); 12] = [
    (
        "guests",
        "guests bhyve started after boot (those at 0 s are the host as it was before)",
    ),
    ("set up", "of those, guests whose memory was set up"),
    (
        "refused",
        "of those, guests whose create failed with an errno (bhyve exited)",
    ),
    ("destroyed", "of those, guests vm_destroy destroyed"),
    (
        "waiting",
        "of those, guests bhyve was still retrying when the run ended",
    ),
    (
        "p50 to mem",
        "median time from bhyve's start to the guest's memory set up (nearest rank)",
    ),
    ("max to mem", "the longest such time"),
    ("paged out", "pages the page scanner paged out"),
    ("LWPs swapped", "LWPs the swapper swapped out"),
    (
        "ARC lost",
        "the ARC's size before the first guest started after boot, less its size at the end",
    ),
    ("ARC after", "the ARC's size at the end (arcstats size)"),
    (
        "under ideal",
        "how far the ARC ended under the least it had to give up for the guests",
    ),
];

/// The summary table that opens the report: a row per policy, then the
/// legend.
#[must_use]
pub fn render_summary(s: &Scenario, runs: &[RunResult]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "==== {}: summary ====", s.name);
    let _ = writeln!(
        o,
        "{:<10} {:>6} {:>6} {:>7} {:>9} {:>7} {:>10} {:>10} {:>10} {:>12} {:>9} {:>9} {:>11}",
        "policy",
        "guests",
        "set up",
        "refused",
        "destroyed",
        "waiting",
        "p50 to mem",
        "max to mem",
        "paged out",
        "LWPs swapped",
        "ARC lost",
        "ARC after",
        "under ideal"
    );
    for r in runs {
        let m = Summary::of(r);
        let _ = writeln!(
            o,
            "{:<10} {:>6} {:>6} {:>7} {:>9} {:>7} {:>10} {:>10} {:>10} {:>12} {:>9} {:>9} {:>11}",
            m.policy,
            m.guests,
            m.set_up,
            m.refused,
            m.destroyed,
            m.waiting,
            seconds_or_dash(m.p50_to_memory_s),
            seconds_or_dash(m.max_to_memory_s),
            thousands(m.pages_paged_out),
            m.lwps_swapped,
            human(m.arc_lost_bytes),
            human(m.arc_after_bytes),
            human(m.arc_under_ideal_bytes),
        );
    }
    if let Some(r) = runs.first() {
        let _ = writeln!(
            o,
            "ideal: the ARC ends at {} and the guests' starts take {:.2} s (the bytes to evict at the ARC's eviction throughput, plus allocation), under every policy",
            human(r.arc_ideal_after_bytes),
            r.start_lower_bound_s
        );
    }
    o.push('\n');
    for (column, meaning) in SUMMARY_LEGEND {
        let _ = writeln!(o, "  {column:<12} {meaning}");
    }
    let _ = writeln!(
        o,
        "  sizes are binary (KiB, MiB, GiB), as are the MB of mdb's ::memstat"
    );
    o
}

/// A row of the guest table: one guest, or several with the same outcome.
struct GuestRow<'a> {
    guests: Vec<&'a VmOutcome>,
}

impl<'a> GuestRow<'a> {
    fn first(&self) -> Option<&'a VmOutcome> {
        self.guests.first().copied()
    }

    fn label(&self) -> String {
        match (self.guests.first(), self.guests.last()) {
            (Some(a), Some(b)) if self.guests.len() > 1 => {
                format!("{}..{} ({})", a.name, b.name, self.guests.len())
            }
            (Some(a), _) => a.name.clone(),
            _ => String::new(),
        }
    }
}

/// Two guests' outcomes read the same in the guest table.
fn same_row(a: &VmOutcome, b: &VmOutcome) -> bool {
    GuestState::of(a) == GuestState::of(b)
        && a.requested_bytes == b.requested_bytes
        && a.created_at_s == b.created_at_s
        && a.start_latency_s == b.start_latency_s
        && a.retry_lines == b.retry_lines
        && a.errno == b.errno
        && a.error == b.error
}

/// The order guests matter in: refused, destroyed, waiting, then set up,
/// the slowest first; guests that read the same next to each other.
fn rank(v: &VmOutcome) -> (u8, std::cmp::Reverse<u64>, u64, u64, u64) {
    let class = match GuestState::of(v) {
        GuestState::Refused => 0,
        GuestState::Destroyed => 1,
        GuestState::Waiting => 2,
        GuestState::SetUp => 3,
    };
    let ms = |s: f64| (s * 1000.0) as u64;
    (
        class,
        std::cmp::Reverse(v.start_latency_s.map_or(0, ms)),
        ms(v.created_at_s),
        v.requested_bytes,
        v.retry_lines,
    )
}

/// The rows the guest table lists, and how many guests it leaves out.
fn guest_rows(r: &RunResult, detail: Detail) -> (Vec<GuestRow<'_>>, usize) {
    let mut guests = counted_guests(r);
    let total = guests.len();
    // Stable: guests that rank the same stay in the order bhyve started
    // them.
    guests.sort_by_key(|v| rank(v));
    let mut rows: Vec<GuestRow<'_>> = Vec::new();
    for v in guests {
        match rows.last_mut() {
            Some(row)
                if detail == Detail::GuestsThatMatter
                    && row.first().is_some_and(|f| same_row(f, v)) =>
            {
                row.guests.push(v);
            }
            _ => rows.push(GuestRow { guests: vec![v] }),
        }
    }
    if detail == Detail::GuestsThatMatter {
        let mut slowest = 0;
        rows.retain(|row| {
            let set_up = row
                .first()
                .is_some_and(|v| GuestState::of(v) == GuestState::SetUp);
            slowest += usize::from(set_up);
            !set_up || slowest <= SLOWEST_SHOWN
        });
        rows.truncate(ROWS_SHOWN);
    }
    let shown: usize = rows.iter().map(|row| row.guests.len()).sum();
    (rows, total - shown)
}

/// The guest table of one run.
fn render_guests(o: &mut String, r: &RunResult, detail: Detail) {
    let (rows, left_out) = guest_rows(r, detail);
    let _ = writeln!(
        o,
        "\nguests{}:",
        if detail == Detail::AllGuests {
            ""
        } else {
            " that matter (refused, destroyed, waiting, the slowest set up)"
        }
    );
    let _ = writeln!(
        o,
        "  {:<16} {:>9} {:>9} {:<10} {:>11} {:>7}  why",
        "guest", "RAM", "bhyve at", "state", "to memory", "retries"
    );
    for row in &rows {
        let Some(v) = row.first() else { continue };
        let state = GuestState::of(v);
        let why = match (&v.error, v.errno) {
            (Some(e), Some(n)) => format!("{}: {e}", crate::event::errno_name(n)),
            (Some(e), None) => e.clone(),
            _ => String::new(),
        };
        let line = format!(
            "  {:<16} {:>9} {:>7.0} s {:<10} {:>11} {:>7}  {why}",
            row.label(),
            human(v.requested_bytes),
            v.created_at_s,
            state.word(),
            seconds_or_dash(v.start_latency_s),
            v.retry_lines,
        );
        let _ = writeln!(o, "{}", line.trim_end());
    }
    if left_out > 0 {
        let _ = writeln!(
            o,
            "  ... {left_out} more guests not listed (--guests lists every guest)"
        );
    }
}

/// The guests the text lists lines and events of, if not all: the first
/// of each row of the guest table (the others of a folded row print the
/// same).
fn guests_shown(r: &RunResult, detail: Detail) -> Option<HashSet<&str>> {
    match detail {
        Detail::AllGuests => None,
        Detail::GuestsThatMatter => {
            let (rows, _) = guest_rows(r, detail);
            Some(
                rows.iter()
                    .filter_map(|row| row.first().map(|v| v.name.as_str()))
                    .collect(),
            )
        }
    }
}

/// A guest event that says nothing the guest table does not: a create
/// or destroy that succeeded.
fn routine_guest_event(e: &EventRecord) -> Option<&str> {
    if !e.ok() {
        return None;
    }
    match &e.event {
        Event::VmCreate { name, .. } | Event::VmDestroy { name } => Some(name),
        _ => None,
    }
}

fn render_log_line(o: &mut String, l: &LogLine) {
    let _ = write!(o, "[{:>8.2} s] {}: {}", secs(l.at), l.guest, l.message);
    if l.repeats > 0 {
        let _ = write!(
            o,
            " [repeated {} times, the last at {:.2} s]",
            l.repeats,
            secs(l.last_at)
        );
    }
    o.push('\n');
}

/// What `ZFS File Data` holds besides the ARC, in words.
fn zfs_file_data_note(m: &Memstat, arc_bytes: u64) -> String {
    let zfs = m.zfs * PAGESIZE;
    let evicted = zfs.saturating_sub(arc_bytes);
    if evicted < PAGESIZE {
        format!(
            "ZFS File Data ({}) is the ARC's size ({}).",
            human(zfs),
            human(arc_bytes)
        )
    } else {
        format!(
            "ZFS File Data ({}) is more than the ARC's size ({}): the other {} are buffers the ARC \
             has evicted that are still in its kmem caches' magazines, counted as ZFS File Data \
             until a kmem reap returns them to the free lists.",
            human(zfs),
            human(arc_bytes),
            human(evicted)
        )
    }
}

/// The text report of one policy's run.
#[must_use]
pub fn render_run(s: &Scenario, r: &RunResult, detail: Detail) -> String {
    let mut o = String::new();
    // A run with few lines and events prints them all.
    let routine = r
        .events
        .iter()
        .filter(|e| routine_guest_event(e).is_some())
        .count();
    let detail = if r.log.lines.len() <= LINES_SHOWN && routine <= LINES_SHOWN {
        Detail::AllGuests
    } else {
        detail
    };
    let shown = guests_shown(r, detail);
    let listed = |guest: &str| shown.as_ref().is_none_or(|set| set.contains(guest));
    let _ = writeln!(o, "==== {} under {} ====", s.name, r.policy.name());
    let _ = writeln!(o, "\n> ::memstat (before)");
    o.push_str(&r.memstat_before.render());
    let _ = writeln!(
        o,
        "{}",
        zfs_file_data_note(&r.memstat_before, r.arc_before_bytes)
    );
    if !r.log.lines.is_empty() {
        let _ = writeln!(o, "\nbhyve and kernel messages:");
        let mut printed = 0;
        let mut held_back = 0;
        for l in &r.log.lines {
            if detail == Detail::AllGuests || (listed(&l.guest) && printed < LINES_SHOWN) {
                render_log_line(&mut o, l);
                printed += 1;
            } else {
                held_back += 1;
            }
        }
        if held_back > 0 {
            let _ = writeln!(
                o,
                "[...] {held_back} more lines, of guests not listed below or folded into a row with the guest shown (--guests prints them)"
            );
        }
        if r.log.dropped > 0 {
            let _ = writeln!(o, "[...] {} more lines", r.log.dropped);
        }
    }
    if !r.events.is_empty() {
        let _ = writeln!(o, "\nevents:");
        let mut routine_printed = 0;
        let mut held_back = 0;
        for e in &r.events {
            if let Some(guest) = routine_guest_event(e) {
                if detail == Detail::GuestsThatMatter
                    && (!listed(guest) || routine_printed >= LINES_SHOWN)
                {
                    held_back += 1;
                    continue;
                }
                routine_printed += 1;
            }
            let status = match &e.outcome {
                Ok(_) => "ok".to_string(),
                Err(r) => format!("{} ({})", crate::event::errno_name(r.errno), r.errno),
            };
            let _ = writeln!(
                o,
                "[{:>8.2} s] {} -> {}: {}",
                e.at_s(),
                e.event,
                status,
                e.message()
            );
        }
        if held_back > 0 {
            let _ = writeln!(
                o,
                "[...] {held_back} more vm_create and vm_destroy that succeeded (--guests prints them)"
            );
        }
    }
    for k in &r.kstat_reads {
        let _ = writeln!(o, "\n[{:>8.2} s] # kstat -p {}", k.at_s, k.selector);
        for l in &k.lines {
            let _ = writeln!(o, "{l}");
        }
    }
    for (at, m) in &r.memstats {
        let _ = writeln!(o, "\n[{at:>8.2} s] > ::memstat");
        o.push_str(&m.render());
    }
    let _ = writeln!(o, "\n> ::memstat (after, {:.0} s)", r.duration_s);
    o.push_str(&r.memstat_after.render());
    let _ = writeln!(
        o,
        "{}",
        zfs_file_data_note(&r.memstat_after, r.arc_after_bytes)
    );
    let _ = writeln!(
        o,
        "\nARC: {} before, {} after (ideal {}); c {}, c_min {}, c_max {}",
        human(r.arc_before_bytes),
        human(r.arc_after_bytes),
        human(r.arc_ideal_after_bytes),
        human(r.c_bytes),
        human(r.c_min_bytes),
        human(r.c_max_bytes)
    );
    let _ = writeln!(
        o,
        "host: {} LWPs swapped out, {} pages paged out, lowest freemem {}, {} system-wide kmem reaps",
        r.lwps_swapped,
        thousands(r.pages_paged_out),
        human(r.min_freemem_bytes),
        r.kmem_reaps
    );
    render_guests(&mut o, r, detail);
    o
}

/// The `--json` layout: `serde_json`'s compact output with a space after
/// each `:` and `,`, and seconds to the millisecond (`1.5`, `2`), as the
/// text report prints them; a float that is not finite is `null`.
struct JsonLayout;

impl serde_json::ser::Formatter for JsonLayout {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_f64<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        value: f64,
    ) -> std::io::Result<()> {
        let s = format!("{value:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        let s = if s.is_empty() || s == "-" { "0" } else { s };
        writer.write_all(s.as_bytes())
    }
}

/// `value` in the `--json` layout.
fn to_json<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JsonLayout);
    // Serializing these types to memory cannot fail: every map key is a
    // string, and writing to a Vec does not fail.
    if value.serialize(&mut ser).is_err() {
        return "null".to_string();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// `::memstat` in bytes, every category (zero ones included), in mdb's
/// order.
struct MemstatBytes<'a>(&'a Memstat);

impl Serialize for MemstatBytes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.all().iter().map(|(k, p)| (*k, p * PAGESIZE)))
    }
}

/// The `--json` object.
#[derive(Serialize)]
struct JsonReport<'a> {
    scenario: &'a str,
    runs: Vec<JsonRun<'a>>,
}

/// One policy's run in the `--json` object.
#[derive(Serialize)]
struct JsonRun<'a> {
    policy: &'static str,
    summary: Summary,
    vms: Vec<JsonVm<'a>>,
    lwps_swapped: u64,
    pages_paged_out: u64,
    min_freemem_bytes: u64,
    arc_before_bytes: u64,
    arc_after_bytes: u64,
    arc_ideal_after_bytes: u64,
    start_lower_bound_s: f64,
    zfs_blocked_s: f64,
    zfs_blocked_in_starts_s: f64,
    memstat_before: MemstatBytes<'a>,
    memstat_after: MemstatBytes<'a>,
    events: Vec<JsonEvent<'a>>,
    kstat_reads: Vec<JsonKstatRead<'a>>,
    log: Vec<JsonLogLine<'a>>,
    log_lines_dropped: u64,
    lotsfree_bytes: u64,
    desfree_bytes: u64,
    series_categories: SeriesCategories,
    series: Vec<JsonSample<'a>>,
}

/// One of bhyve's or the kernel's lines in the `--json` object: when,
/// whose, the text as printed, and how often it was repeated.
#[derive(Serialize)]
struct JsonLogLine<'a> {
    at_s: f64,
    guest: &'a str,
    message: String,
    repeats: u64,
    last_at_s: f64,
}

/// The plot's categories, bottom of the stack first: each sample's key
/// and the plot's label for it.
struct SeriesCategories;

/// One of [`SeriesCategories`].
#[derive(Serialize)]
struct SeriesCategory {
    key: &'static str,
    label: &'static str,
}

impl Serialize for SeriesCategories {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(plot::LAYERS.iter().map(|l| SeriesCategory {
            key: l.key,
            label: l.label,
        }))
    }
}

/// One sample of the plot's series: `t_s`, then bytes per category, the
/// keys of [`plot::LAYERS`].
struct JsonSample<'a>(&'a Sample);

impl Serialize for JsonSample<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(plot::LAYERS.len() + 2))?;
        map.serialize_entry("t_s", &self.0.t)?;
        for layer in &plot::LAYERS {
            map.serialize_entry(layer.key, &(layer.bytes)(self.0))?;
        }
        map.serialize_entry("physmem", &self.0.total)?;
        map.end()
    }
}

/// One guest in the `--json` object.
#[derive(Serialize)]
struct JsonVm<'a> {
    name: &'a str,
    requested_bytes: u64,
    created_at_s: f64,
    state: GuestState,
    destroyed: bool,
    started: bool,
    start_latency_s: Option<f64>,
    error: Option<&'a str>,
    errno: Option<i32>,
    retry_lines: u64,
}

/// One event in the `--json` object: the event as the text report prints
/// it.
#[derive(Serialize)]
struct JsonEvent<'a> {
    at_s: f64,
    event: String,
    ok: bool,
    errno: Option<i32>,
    message: &'a str,
}

/// One `kstat -p` read in the `--json` object.
#[derive(Serialize)]
struct JsonKstatRead<'a> {
    at_s: f64,
    lines: &'a [String],
}

impl<'a> JsonRun<'a> {
    fn of(r: &'a RunResult) -> JsonRun<'a> {
        JsonRun {
            policy: r.policy.name(),
            summary: Summary::of(r),
            vms: r
                .vms
                .iter()
                .map(|v| JsonVm {
                    name: &v.name,
                    requested_bytes: v.requested_bytes,
                    created_at_s: v.created_at_s,
                    state: GuestState::of(v),
                    destroyed: v.destroyed,
                    started: v.started,
                    start_latency_s: v.start_latency_s,
                    error: v.error.as_deref(),
                    errno: v.errno,
                    retry_lines: v.retry_lines,
                })
                .collect(),
            lwps_swapped: r.lwps_swapped,
            pages_paged_out: r.pages_paged_out,
            min_freemem_bytes: r.min_freemem_bytes,
            arc_before_bytes: r.arc_before_bytes,
            arc_after_bytes: r.arc_after_bytes,
            arc_ideal_after_bytes: r.arc_ideal_after_bytes,
            start_lower_bound_s: r.start_lower_bound_s,
            zfs_blocked_s: r.zfs_blocked_s,
            zfs_blocked_in_starts_s: r.zfs_blocked_in_starts_s,
            memstat_before: MemstatBytes(&r.memstat_before),
            memstat_after: MemstatBytes(&r.memstat_after),
            events: r
                .events
                .iter()
                .map(|e| JsonEvent {
                    at_s: e.at_s(),
                    event: e.event.to_string(),
                    ok: e.ok(),
                    errno: e.errno(),
                    message: e.message(),
                })
                .collect(),
            kstat_reads: r
                .kstat_reads
                .iter()
                .map(|k| JsonKstatRead {
                    at_s: k.at_s,
                    lines: &k.lines,
                })
                .collect(),
            log: r
                .log
                .lines
                .iter()
                .map(|l| JsonLogLine {
                    at_s: secs(l.at),
                    guest: &l.guest,
                    message: l.message.to_string(),
                    repeats: l.repeats,
                    last_at_s: secs(l.last_at),
                })
                .collect(),
            log_lines_dropped: r.log.dropped,
            lotsfree_bytes: r.lotsfree_bytes,
            desfree_bytes: r.desfree_bytes,
            series_categories: SeriesCategories,
            series: r.series.iter().map(JsonSample).collect(),
        }
    }
}

/// The `--json` object.
#[must_use]
pub fn render_json(s: &Scenario, runs: &[RunResult]) -> String {
    let report = JsonReport {
        scenario: &s.name,
        runs: runs.iter().map(JsonRun::of).collect(),
    };
    let mut o = to_json(&report);
    o.push('\n');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(to_json(&"a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(to_json(&1.5), "1.5");
        assert_eq!(to_json(&2.0), "2");
        assert_eq!(to_json(&f64::NAN), "null");
    }

    #[test]
    fn memstat_layout_is_mdbs() {
        // The seed's 4 GB table, before: mdb printed these exact lines.
        let m = Memstat {
            kernel: 392_116,
            boot: 76_071,
            zfs: 118_101,
            vmm: 0,
            anon: 14_558,
            exec: 539,
            page_cache: 3_520,
            cachelist: 31_806,
            freelist: 408_399,
            total: 1_045_110,
        };
        let s = m.render();
        let want = "\
Page Summary                Pages                MB  %Tot
------------     ----------------  ----------------  ----
Kernel                     392116              1531   38%
Boot pages                  76071               297    7%
ZFS File Data              118101               461   11%
Anon                        14558                56    1%
Exec and libs                 539                 2    0%
Page cache                   3520                13    0%
Free (cachelist)            31806               124    3%
Free (freelist)            408399              1595   39%

Total                     1045110              4082
";
        assert_eq!(s, want);
    }
}
