//! `arcsim run --json` carries what the text shows and the plot draws:
//! each policy's summary row, bhyve's and the kernel's lines, and the
//! plot's time series in the plot's categories; parsed here and held to
//! the text report and the run.

use serde_json::Value;

use tests_vm::params::{Params, PAGESIZE};
use tests_vm::plot;
use tests_vm::policy::Policy;
use tests_vm::report::{self, Detail, Summary};
use tests_vm::scenario::{self, Scenario};
use tests_vm::sim::{self, RunResult};

fn builtin(name: &str) -> Scenario {
    scenario::builtin(name).unwrap().unwrap()
}

fn runs(s: &Scenario) -> Vec<RunResult> {
    Policy::ALL
        .iter()
        .map(|p| sim::run(s, *p, &Params::default()))
        .collect()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn the_series_is_the_plots_and_ends_at_the_texts_memstat() {
    let s = builtin("seed-128g");
    let runs = runs(&s);
    let json: Value = serde_json::from_str(&report::render_json(&s, &runs)).unwrap();
    let text = report::render_summary(&s, &runs);
    for (r, j) in runs.iter().zip(json["runs"].as_array().unwrap()) {
        // The categories are the plot's, in its stacking order.
        let categories = j["series_categories"].as_array().unwrap();
        let keys: Vec<&str> = plot::LAYERS.iter().map(|l| l.key).collect();
        assert_eq!(categories.len(), plot::LAYERS.len());
        for (c, l) in categories.iter().zip(&plot::LAYERS) {
            assert_eq!((&c["key"], &c["label"]), (&l.key.into(), &l.label.into()));
        }
        let series = j["series"].as_array().unwrap();
        assert_eq!(series.len(), r.series.len());
        // Each sample's categories add up to physmem, as the plot stacks
        // them: to within a page, as the ARC and what it evicted are
        // counted in bytes and ZFS File Data in whole pages.
        for sample in series {
            let sum: u64 = keys.iter().map(|k| u(&sample[*k])).sum();
            let physmem = u(&sample["physmem"]);
            assert!(sum <= physmem && physmem - sum < PAGESIZE, "{sample}");
        }
        // The last sample is the host the text's ::memstat (after) shows,
        // and the summary's ARC after.
        let last = series.last().unwrap();
        let m = &r.memstat_after;
        assert_eq!(last["t_s"].as_f64(), Some(r.duration_s));
        assert_eq!(u(&last["kernel"]), m.kernel * PAGESIZE);
        assert_eq!(u(&last["vmm"]), m.vmm * PAGESIZE);
        assert_eq!(u(&last["free"]), (m.freelist + m.cachelist) * PAGESIZE);
        let zfs = u(&last["zfs_arc"]) + u(&last["zfs_evicted_in_kmem"]);
        assert_eq!(zfs.div_ceil(PAGESIZE), m.zfs);
        let summary = &j["summary"];
        assert_eq!(u(&last["zfs_arc"]), u(&summary["arc_after_bytes"]));
        // The lowest free memory the text gives is at or under every
        // sample's (the run tracks it every tick, the series once a
        // second).
        let lowest = series.iter().map(|x| u(&x["free"])).min().unwrap();
        assert!(r.min_freemem_bytes <= lowest);
        // The summary row the text prints is the JSON's.
        let m = Summary::of(r);
        assert_eq!(u(&summary["pages_paged_out"]), m.pages_paged_out);
        assert_eq!(u(&summary["set_up"]), m.set_up as u64);
        assert_eq!(
            summary["max_to_memory_s"]
                .as_f64()
                .map(|x| format!("{x:.2} s")),
            m.max_to_memory_s.map(|x| format!("{x:.2} s"))
        );
        let row = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(r.policy.name()))
            .unwrap();
        assert!(
            row.contains(&report::human(u(&summary["arc_lost_bytes"]))),
            "{row}"
        );
        assert!(
            row.contains(&report::thousands(u(&summary["pages_paged_out"]))),
            "{row}"
        );
    }
}

#[test]
fn the_log_lines_are_the_texts() {
    let s = builtin("seed-128g");
    let runs = runs(&s);
    let json: Value = serde_json::from_str(&report::render_json(&s, &runs)).unwrap();
    for (r, j) in runs.iter().zip(json["runs"].as_array().unwrap()) {
        let text = report::render_run(&s, r, Detail::AllGuests);
        let log = j["log"].as_array().unwrap();
        assert_eq!(log.len(), r.log.lines.len());
        for l in log {
            let line = format!(
                "[{:>8.2} s] {}: {}",
                l["at_s"].as_f64().unwrap(),
                l["guest"].as_str().unwrap(),
                l["message"].as_str().unwrap()
            );
            assert!(text.contains(&line), "{line} not in the text");
        }
        // bhyve's retry lines, repeats counted, are each guest's retries.
        for v in &r.vms {
            let printed: u64 = log
                .iter()
                .filter(|l| l["guest"] == v.name.as_str())
                .filter(|l| {
                    l["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("Unable to allocate")
                })
                .map(|l| 1 + u(&l["repeats"]))
                .sum();
            assert_eq!(
                printed,
                v.retry_lines,
                "{} under {}",
                v.name,
                r.policy.name()
            );
        }
    }
    // The seed's unpatched run printed retry lines: the check is not
    // vacuous.
    assert!(runs[0].vms.iter().any(|v| v.retry_lines > 0));
}
