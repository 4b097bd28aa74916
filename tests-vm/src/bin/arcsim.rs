//! `arcsim`: replays a scenario on a simulated illumos host under the four
//! guest-memory policies and prints what an operator would have seen.
//!
//! ```text
//! arcsim list
//! arcsim run <name-or-file> [--policy legacy|os8005|reservoir|tunables|all]
//!                           [--guests] [--json] [--plot FILE.svg] [--stats]
//! arcsim tables [--write] [--root DIR]
//! arcsim import [--name NAME] [-o FILE.toml] [FILE...|-]
//! arcsim fit (--scenario <name-or-file> | FILE...|-) --ram SIZE [--ram SIZE...]
//!            [--arcfill RATE] [--within DURATION] [--json]
//! ```
//!
//! `run` prints a summary row per policy first, then each policy's run,
//! listing the guests that matter (refused, destroyed, waiting, the
//! slowest few); `--guests` lists every guest, log line and event.
//!
//! `import` writes a scenario of an operator's host from its `mdb -ke
//! ::memstat`, `kstat -p zfs:0:arcstats` and `kstat -p
//! unix:0:system_pages` output (`tests_vm::import`); `fit` says whether
//! guests of the given sizes start now on such a host, under each kernel
//! (`tests_vm::fit`).
//!
//! `tables` prints the outcome tables README.md and tests-vm/MODEL.md
//! quote; `--write` puts them into those documents (under `DIR`, the
//! repository's root, by default the current directory) between their
//! markers.
//!
//! `--stats` adds one line on standard error: the simulated time, the
//! wall time it took, and the process's peak resident set (`VmHWM` from
//! `/proc/self/status`, on Linux): what the run cost the machine.

use std::process::ExitCode;

use tests_vm::params::Params;
use tests_vm::policy::Policy;
use tests_vm::scenario::{self, Scenario};
use tests_vm::{plot, report, sim, tables};

const USAGE: &str = "usage:
  arcsim list
  arcsim run <name-or-file> [--policy legacy|os8005|reservoir|tunables|all] [--guests] [--json] [--plot FILE.svg] [--stats]
  arcsim tables [--write] [--root DIR]
  arcsim import [--name NAME] [-o FILE.toml] [FILE...|-]   (::memstat, kstat -p zfs:0:arcstats, kstat -p unix:0:system_pages)
  arcsim fit (--scenario <name-or-file> | FILE...|-) --ram SIZE [--ram SIZE...] [--arcfill RATE] [--within DURATION] [--json]";

fn load(arg: &str) -> Result<Scenario, String> {
    if let Some(r) = scenario::builtin(arg) {
        return r.map_err(|e| format!("built-in scenario {arg}: {e}"));
    }
    let text = std::fs::read_to_string(arg).map_err(|e| {
        format!("{arg}: not a built-in scenario (see `arcsim list`) and not a readable file: {e}")
    })?;
    let stem = std::path::Path::new(arg)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(arg);
    let loaded = scenario::load_scenario(&text, stem).map_err(|e| format!("{arg}: {e}"))?;
    for w in &loaded.warnings {
        eprintln!("arcsim: {arg}: warning: {w}");
    }
    Ok(loaded.scenario)
}

fn run(args: &[String]) -> Result<(), String> {
    let mut file = None;
    let mut policies: Vec<Policy> = Policy::ALL.to_vec();
    let mut json = false;
    let mut detail = report::Detail::GuestsThatMatter;
    let mut plot_to = None;
    let mut stats = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--guests" => detail = report::Detail::AllGuests,
            "--stats" => stats = true,
            "--policy" => {
                let p = it.next().ok_or("--policy needs a value")?;
                policies = if p == "all" {
                    Policy::ALL.to_vec()
                } else {
                    vec![Policy::from_name(p).ok_or_else(|| {
                        format!("unknown policy {p} (legacy, os8005, reservoir, tunables, all)")
                    })?]
                };
            }
            "--plot" => plot_to = Some(it.next().ok_or("--plot needs a file name")?.clone()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{USAGE}")),
            s => {
                if file.replace(s.to_string()).is_some() {
                    return Err(format!("one scenario at a time\n{USAGE}"));
                }
            }
        }
    }
    let file = file.ok_or_else(|| format!("which scenario?\n{USAGE}"))?;
    let s = load(&file)?;
    let params = Params::default();
    let start = std::time::Instant::now();
    let runs: Vec<sim::RunResult> = policies.iter().map(|p| sim::run(&s, *p, &params)).collect();
    if json {
        print!("{}", report::render_json(&s, &runs));
    } else {
        println!("{}", report::render_summary(&s, &runs));
        for r in &runs {
            println!("{}", report::render_run(&s, r, detail));
        }
    }
    if let Some(path) = plot_to {
        std::fs::write(&path, plot::render_svg(&s, &runs))
            .map_err(|e| format!("cannot write {path}: {e}"))?;
        if !json {
            println!("\nplot written to {path}");
        }
    }
    if stats {
        let wall = start.elapsed().as_secs_f64();
        let simulated: f64 = runs.iter().map(|r| r.duration_s).sum();
        let peak =
            peak_resident_kib().map_or_else(|| "unknown".to_string(), |k| format!("{k} KiB"));
        eprintln!(
            "arcsim: stats: {} run(s), {simulated:.0} simulated s in {wall:.3} wall s \
             ({:.0} simulated s per wall s), peak resident set {peak}",
            runs.len(),
            simulated / wall.max(f64::MIN_POSITIVE)
        );
    }
    Ok(())
}

fn tables_command(args: &[String]) -> Result<(), String> {
    let mut write = false;
    let mut root = std::path::PathBuf::from(".");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--write" => write = true,
            "--root" => root = it.next().ok_or("--root needs a directory")?.into(),
            s => return Err(format!("unknown argument {s}\n{USAGE}")),
        }
    }
    for block in tables::blocks()? {
        if !write {
            println!("{}:\n{}", block.document, block.body);
            continue;
        }
        let path = root.join(block.document);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let new = tables::splice(&text, &block)?;
        if new != text {
            std::fs::write(&path, new)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("{}: table regenerated", path.display());
        } else {
            println!("{}: table unchanged", path.display());
        }
    }
    Ok(())
}

/// This process's peak resident set, KiB (`VmHWM`), where the system
/// reports it.
fn peak_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("list") => {
            for (name, summary, _) in scenario::BUILTINS {
                println!("{name:<16} {summary}");
            }
            for (name, summary) in scenario::GENERATED {
                println!("{name:<16} {summary}");
            }
            println!("\nfault injection (MODEL.md, \"Faults\"):");
            for (name, summary, _) in scenario::FAULTS {
                println!("{name:<32} {summary}");
            }
            Ok(())
        }
        Some("run") => run(args.get(1..).unwrap_or(&[])),
        Some("import") => tests_vm::import::cli(args.get(1..).unwrap_or(&[])),
        Some("fit") => tests_vm::fit::cli(args.get(1..).unwrap_or(&[]), &load),
        Some("tables") => tables_command(args.get(1..).unwrap_or(&[])),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arcsim: {e}");
            ExitCode::from(2)
        }
    }
}
