//! What `arcsim run` prints: per policy, `::memstat` before and after in
//! mdb's layout, bhyve's log lines, `kstat -p` reads, admin results and a
//! summary; then a comparison table. And the `--json` object.

use std::fmt::Write as _;

use serde::Serialize;

use crate::host::memstat::Memstat;
use crate::outcome::RunResult;
use crate::params::{HZ, MIB, PAGESIZE};
use crate::scenario::Scenario;

fn mb(bytes: u64) -> u64 {
    bytes / MIB
}

/// A byte count for people: `1.0 GiB`, `512 MiB`.
#[must_use]
pub fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{} MiB", bytes / MIB)
    }
}

fn secs(t: u64) -> f64 {
    t as f64 / HZ as f64
}

/// The text report of one policy's run.
#[must_use]
pub fn render_run(s: &Scenario, r: &RunResult) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "==== {} under {} ====", s.name, r.policy.name());
    let _ = writeln!(o, "\n> ::memstat (before)");
    o.push_str(&r.memstat_before.render());
    if !r.log.lines.is_empty() {
        let _ = writeln!(o, "\nbhyve and kernel messages:");
        for l in &r.log.lines {
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
        if r.log.dropped > 0 {
            let _ = writeln!(o, "[...] {} more lines", r.log.dropped);
        }
    }
    if !r.events.is_empty() {
        let _ = writeln!(o, "\nevents:");
        for e in &r.events {
            let status = match &e.outcome {
                Ok(_) => "ok".to_string(),
                Err(r) => format!("{} ({})", zfs_tunables::errno::name(r.errno), r.errno),
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
    let _ = writeln!(o, "\nsummary:");
    for v in &r.vms {
        let what = match (&v.start_latency_s, &v.error) {
            (Some(l), _) => format!("memory set up {l:.2} s after bhyve started"),
            (None, Some(e)) => format!("failed: {e}"),
            (None, None) => format!("not started after {:.0} s", r.duration_s - v.created_at_s),
        };
        let _ = writeln!(
            o,
            "  {} ({} MiB, at {:.0} s): {}; {} retry lines",
            v.name,
            mb(v.requested_bytes),
            v.created_at_s,
            what,
            v.retry_lines
        );
    }
    let depot = (r.memstat_after.zfs * PAGESIZE).saturating_sub(r.arc_after_bytes);
    let _ = writeln!(
        o,
        "  ARC {} MiB before, {} MiB after (ideal {} MiB; {} MiB more evicted but still in kmem magazines); c {} MiB, c_min {} MiB, c_max {} MiB",
        mb(r.arc_before_bytes),
        mb(r.arc_after_bytes),
        mb(r.arc_ideal_after_bytes),
        mb(depot),
        mb(r.c_bytes),
        mb(r.c_min_bytes),
        mb(r.c_max_bytes)
    );
    let _ = writeln!(
        o,
        "  LWPs swapped out {}, pages paged out {}, lowest freemem {} MiB, system-wide kmem reaps {}",
        r.lwps_swapped,
        r.pages_paged_out,
        mb(r.min_freemem_bytes),
        r.kmem_reaps
    );
    o
}

/// The closing comparison table.
#[must_use]
pub fn render_table(s: &Scenario, runs: &[RunResult]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "==== {}: comparison ====", s.name);
    let _ = writeln!(
        o,
        "{:<10} {:<10} {:>8} {:>10} {:>8} {:>6} {:>9} {:>9} {:>10} {:>10} {:>10} {:>8}",
        "policy",
        "guest",
        "started",
        "latency_s",
        "retries",
        "LWPs",
        "paged_out",
        "minfr_MiB",
        "ARC_bef",
        "ARC_aft",
        "ARC_ideal",
        "bound_s"
    );
    for r in runs {
        for v in r
            .vms
            .iter()
            .filter(|v| v.created_at_s > 0.0 || r.vms.len() == 1)
        {
            let lat = v
                .start_latency_s
                .map_or_else(|| "-".to_string(), |l| format!("{l:.2}"));
            let started = if v.started {
                "yes".to_string()
            } else if let Some(n) = v.errno {
                zfs_tunables::errno::name(n).to_string()
            } else {
                "no".to_string()
            };
            let _ = writeln!(
                o,
                "{:<10} {:<10} {:>8} {:>10} {:>8} {:>6} {:>9} {:>9} {:>10} {:>10} {:>10} {:>8.2}",
                r.policy.name(),
                v.name,
                started,
                lat,
                v.retry_lines,
                r.lwps_swapped,
                r.pages_paged_out,
                mb(r.min_freemem_bytes),
                mb(r.arc_before_bytes),
                mb(r.arc_after_bytes),
                mb(r.arc_ideal_after_bytes),
                r.start_lower_bound_s
            );
        }
    }
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
}

/// One guest in the `--json` object.
#[derive(Serialize)]
struct JsonVm<'a> {
    name: &'a str,
    requested_bytes: u64,
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
            vms: r
                .vms
                .iter()
                .map(|v| JsonVm {
                    name: &v.name,
                    requested_bytes: v.requested_bytes,
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
