//! The operator's view of a run: `arcsim run` opens with a summary row
//! per policy and a legend for every column, lists only the guests that
//! matter unless asked (`--guests`), calls a destroyed guest destroyed,
//! writes sizes in binary units only, and says what `ZFS File Data`
//! holds besides the ARC.

use std::process::Command;

use tests_vm::params::{Params, PAGESIZE};
use tests_vm::policy::Policy;
use tests_vm::report::{self, Detail, GuestState, Summary};
use tests_vm::scenario::{self, Scenario, BUILTINS, FAULTS};
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

fn arcsim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_arcsim"))
        .args(args)
        .output()
        .expect("arcsim runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The summary table's row for `policy`.
fn summary_row<'a>(text: &'a str, policy: &str) -> &'a str {
    let table = text
        .split("==== ")
        .find(|part| part.contains(": summary ===="))
        .expect("a summary");
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(policy))
        .unwrap_or_else(|| panic!("no summary row for {policy}:\n{table}"))
}

#[test]
fn the_summary_comes_first_and_every_column_has_a_legend() {
    let out = arcsim(&["run", "seed-128g"]);
    let summary = out.find("==== seed-128g: summary ====").expect("a summary");
    let first_run = out.find("==== seed-128g under ").expect("a run");
    let first_guests = out.find("\nguests").expect("a guest table");
    assert_eq!(summary, 0, "the report opens with the summary");
    assert!(summary < first_run && first_run < first_guests);
    let header = out.lines().nth(1).unwrap();
    let legend: Vec<&str> = out[..first_run]
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .collect();
    for column in [
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
        "under ideal",
    ] {
        assert!(header.contains(column), "{column} not in {header:?}");
        assert!(
            legend.iter().any(|l| l.starts_with(column)
                && l.len() > column.len() + 5
                && l.as_bytes().get(column.len()) == Some(&b' ')),
            "no legend line for {column}:\n{}",
            legend.join("\n")
        );
    }
    // The rows are the runs' figures.
    let s = builtin("seed-128g");
    for r in runs(&s) {
        let m = Summary::of(&r);
        let row = summary_row(&out, m.policy);
        assert!(row.contains(&report::thousands(m.pages_paged_out)), "{row}");
        assert!(row.contains(&report::human(m.arc_lost_bytes)), "{row}");
        let max = m.max_to_memory_s.expect("vm64 is set up");
        assert!(row.contains(&format!("{max:.2} s")), "{row}");
    }
}

#[test]
fn sixty_four_guests_list_the_ones_that_matter_and_all_behind_a_flag() {
    let brief = arcsim(&["run", "fault-sixty-four-at-once", "--policy", "tunables"]);
    let all = arcsim(&[
        "run",
        "fault-sixty-four-at-once",
        "--policy",
        "tunables",
        "--guests",
    ]);
    // Every guest is in the full listing, each on its own row.
    let s = builtin("fault-sixty-four-at-once");
    let r = sim::run(&s, Policy::Tunables, &Params::default());
    let table = |text: &str| -> Vec<String> {
        let start = text.find("\nguests").unwrap();
        text[start..]
            .lines()
            .skip(3)
            .take_while(|l| l.starts_with("  ") && !l.starts_with("  ..."))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect()
    };
    let every = table(&all);
    assert_eq!(every.len(), r.vms.len(), "{all}");
    for v in &r.vms {
        assert!(every.contains(&v.name), "{} not listed", v.name);
    }
    // The brief one folds the 30 guests still waiting into one row, the
    // five destroyed into another, and says how many it leaves out.
    let brief_rows = table(&brief);
    assert!(brief_rows.len() <= report::ROWS_SHOWN, "{brief_rows:?}");
    assert!(brief.contains("g34..g63 (30)"), "{brief}");
    assert!(brief.contains("g00..g04 (5)"), "{brief}");
    assert!(
        brief.contains("more guests not listed (--guests"),
        "{brief}"
    );
    // bhyve's lines: a few of the guests shown, or every one.
    let log_lines = |text: &str| {
        text.lines()
            .filter(|l| {
                l.starts_with('[')
                    && l.split_once("] g")
                        .is_some_and(|(_, r)| r.get(2..4) == Some(": "))
            })
            .count()
    };
    assert!(log_lines(&brief) <= report::LINES_SHOWN, "{brief}");
    assert_eq!(log_lines(&all), r.log.lines.len());
    assert!(
        brief.contains("more lines, of guests not listed below"),
        "{brief}"
    );
    // Refused, destroyed and waiting guests are never left out.
    let m = Summary::of(&r);
    assert_eq!((m.destroyed, m.waiting), (5, 30));
}

#[test]
fn a_destroyed_guest_is_called_destroyed_in_text_and_json() {
    let s = builtin("fault-destroy-waiting");
    let r = sim::run(&s, Policy::Tunables, &Params::default());
    let vm = r.vms.iter().find(|v| v.name == "vm64").unwrap();
    assert_eq!(GuestState::of(vm), GuestState::Destroyed);
    let text = report::render_run(&s, &r, Detail::GuestsThatMatter);
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("vm64 "))
        .expect("vm64's row");
    assert!(row.contains(" destroyed "), "{row}");
    let json: serde_json::Value =
        serde_json::from_str(&report::render_json(&s, std::slice::from_ref(&r))).unwrap();
    let v = &json["runs"][0]["vms"][0];
    assert_eq!(v["state"], "destroyed", "{v}");
    assert_eq!(v["destroyed"], true);
    assert_eq!(json["runs"][0]["summary"]["destroyed"], 1);
}

/// Figures in decimal units (or in neither) in arcsim's output: a
/// figure followed by GB, MB, TB or KB, apart or joined.
fn decimal_units(text: &str) -> Vec<String> {
    const UNITS: [&str; 5] = ["GB", "MB", "TB", "KB", "kB"];
    let clean = |w: &str| {
        w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.')
            .trim_end_matches('.')
            .to_string()
    };
    let is_figure = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let words: Vec<String> = text.split_whitespace().map(clean).collect();
    let mut found = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let apart =
            UNITS.contains(&w.as_str()) && i > 0 && words.get(i - 1).is_some_and(|p| is_figure(p));
        let joined = UNITS
            .iter()
            .any(|u| w.strip_suffix(u).is_some_and(is_figure));
        if apart {
            found.push(format!("{} {w}", words[i - 1]));
        } else if joined {
            found.push(w.clone());
        }
    }
    found
}

#[test]
fn sizes_are_binary_throughout() {
    let list = arcsim(&["list"]);
    assert_eq!(decimal_units(&list), Vec::<String>::new(), "{list}");
    for name in ["seed-128g", "fault-sixty-four-at-once", "busy-reader"] {
        let out = arcsim(&["run", name]);
        assert_eq!(decimal_units(&out), Vec::<String>::new(), "{name}");
    }
    // The summaries `arcsim list` prints are the files' own descriptions.
    for (name, summary, _) in BUILTINS.iter().chain(FAULTS.iter()) {
        assert_eq!(builtin(name).description, *summary, "{name}");
    }
    assert_eq!(
        decimal_units("ARC 66.9 GB, 1.8GB and (512 MB) in MiB"),
        ["66.9 GB", "1.8GB", "512 MB"]
    );
}

#[test]
fn the_text_says_why_zfs_file_data_is_more_than_the_arc() {
    let s = builtin("seed-128g-fix");
    let r = sim::run(&s, Policy::Reservoir, &Params::default());
    let zfs = r.memstat_after.zfs * PAGESIZE;
    assert!(
        zfs > r.arc_after_bytes + PAGESIZE,
        "the premise: evicted buffers still in kmem at the end"
    );
    let text = report::render_run(&s, &r, Detail::GuestsThatMatter);
    let note = format!(
        "ZFS File Data ({}) is more than the ARC's size ({}): the other {} are buffers the ARC has \
         evicted that are still in its kmem caches' magazines",
        report::human(zfs),
        report::human(r.arc_after_bytes),
        report::human(zfs - r.arc_after_bytes)
    );
    assert!(text.contains(&note), "{note}\nnot in\n{text}");
    // Where they are equal, it says so instead.
    let s = builtin("seed-128g");
    let r = sim::run(&s, Policy::Tunables, &Params::default());
    let text = report::render_run(&s, &r, Detail::GuestsThatMatter);
    assert!(
        text.contains(&format!(
            "ZFS File Data ({}) is the ARC's size",
            report::human(r.memstat_after.zfs * PAGESIZE)
        )),
        "{text}"
    );
}
