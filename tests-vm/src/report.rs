//! What `arcsim run` prints: per policy, `::memstat` before and after in
//! mdb's layout, bhyve's log lines, `kstat -p` reads, admin results and a
//! summary; then a comparison table. And the `--json` object.

use std::fmt::Write as _;

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

/// A JSON string literal.
fn js(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON number from a float (finite; `null` otherwise).
fn jf(x: f64) -> String {
    if x.is_finite() {
        let s = format!("{x:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() || s == "-" {
            "0".to_string()
        } else {
            s.to_string()
        }
    } else {
        "null".to_string()
    }
}

fn memstat_json(m: &Memstat) -> String {
    let parts: Vec<String> = m
        .all()
        .iter()
        .map(|(k, p)| format!("{}: {}", js(k), p * PAGESIZE))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The `--json` object.
#[must_use]
pub fn render_json(s: &Scenario, runs: &[RunResult]) -> String {
    let mut runs_j = Vec::new();
    for r in runs {
        let vms: Vec<String> = r
            .vms
            .iter()
            .map(|v| {
                format!(
                    "{{\"name\": {}, \"requested_bytes\": {}, \"started\": {}, \"start_latency_s\": {}, \"error\": {}, \"errno\": {}, \"retry_lines\": {}}}",
                    js(&v.name),
                    v.requested_bytes,
                    v.started,
                    v.start_latency_s.map_or_else(|| "null".to_string(), jf),
                    v.error.as_ref().map_or_else(|| "null".to_string(), |e| js(e)),
                    v.errno.map_or_else(|| "null".to_string(), |n| n.to_string()),
                    v.retry_lines
                )
            })
            .collect();
        let events: Vec<String> =
            r.events
                .iter()
                .map(|e| {
                    format!(
                    "{{\"at_s\": {}, \"event\": {}, \"ok\": {}, \"errno\": {}, \"message\": {}}}",
                    jf(e.at_s()),
                    js(&e.event.to_string()),
                    e.ok(),
                    e.errno().map_or_else(|| "null".to_string(), |n| n.to_string()),
                    js(e.message())
                )
                })
                .collect();
        let reads: Vec<String> = r
            .kstat_reads
            .iter()
            .map(|k| {
                let lines: Vec<String> = k.lines.iter().map(|l| js(l)).collect();
                format!(
                    "{{\"at_s\": {}, \"lines\": [{}]}}",
                    jf(k.at_s),
                    lines.join(", ")
                )
            })
            .collect();
        runs_j.push(format!(
            "{{\"policy\": {}, \"vms\": [{}], \"lwps_swapped\": {}, \"pages_paged_out\": {}, \"min_freemem_bytes\": {}, \"arc_before_bytes\": {}, \"arc_after_bytes\": {}, \"arc_ideal_after_bytes\": {}, \"start_lower_bound_s\": {}, \"memstat_before\": {}, \"memstat_after\": {}, \"events\": [{}], \"kstat_reads\": [{}]}}",
            js(r.policy.name()),
            vms.join(", "),
            r.lwps_swapped,
            r.pages_paged_out,
            r.min_freemem_bytes,
            r.arc_before_bytes,
            r.arc_after_bytes,
            r.arc_ideal_after_bytes,
            jf(r.start_lower_bound_s),
            memstat_json(&r.memstat_before),
            memstat_json(&r.memstat_after),
            events.join(", "),
            reads.join(", ")
        ));
    }
    format!(
        "{{\"scenario\": {}, \"runs\": [{}]}}\n",
        js(&s.name),
        runs_j.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(js("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(jf(1.5), "1.5");
        assert_eq!(jf(2.0), "2");
        assert_eq!(jf(f64::NAN), "null");
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
