//! The outcome tables README.md and MODEL.md quote (the seed's outcomes,
//! the admission grid, the seconds of ZFS blocked in starts) are the
//! runs' output:
//! each committed block equals what `arcsim tables` generates now, so a
//! change to the model that moves a figure fails here until the
//! documents are regenerated (`arcsim tables --write`).

use std::path::Path;

use tests_vm::params::{Params, GIB};
use tests_vm::scenario::{self, EventKind};
use tests_vm::tables::{self, Block};

fn committed(block: &Block) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(block.document)).unwrap()
}

fn assert_current(block: &Block) {
    let text = committed(block);
    let regenerated = tables::splice(&text, block).unwrap();
    assert!(
        regenerated == text,
        "{} quotes figures the model no longer gives; run `cargo run -p tests-vm --bin arcsim -- tables --write`.\nexpected:\n{}",
        block.document,
        block.body
    );
}

#[test]
fn readmes_comparison_table_is_the_runs_output() {
    assert_current(&tables::readme_block().unwrap());
}

#[test]
fn models_outcome_table_is_the_runs_output() {
    assert_current(&tables::model_block().unwrap());
}

#[test]
fn models_admission_grid_table_is_the_runs_output() {
    assert_current(&tables::grid_block().unwrap());
}

#[test]
fn models_zfs_stall_table_is_the_runs_output() {
    assert_current(&tables::stall_block().unwrap());
}

#[test]
fn models_reservoir_growth_table_is_the_runs_output() {
    assert_current(&tables::reservoir_block().unwrap());
}

#[test]
fn every_generated_block_has_its_own_markers() {
    // Two blocks of one document with one marker would overwrite each
    // other.
    let blocks = tables::blocks().unwrap();
    for (i, a) in blocks.iter().enumerate() {
        for b in &blocks[i + 1..] {
            assert_ne!(a.begin_marker, b.begin_marker);
        }
        assert_eq!(committed(a).matches(a.begin_marker).count(), 1);
    }
}

#[test]
fn a_document_without_its_markers_is_refused_with_a_sentence() {
    let block = tables::readme_block().unwrap();
    let e = tables::splice("no markers here\n", &block).unwrap_err();
    assert!(e.contains("README.md has no line <!-- generated"), "{e}");
    let opened = format!("{}\nold table\n", block.begin_marker);
    let e = tables::splice(&opened, &block).unwrap_err();
    assert!(
        e.contains("has no line <!-- end of generated table -->"),
        "{e}"
    );
}

#[test]
fn thousands_and_seconds_read_as_the_documents_write_them() {
    assert_eq!(tables::thousands(233_751), "233,751");
    assert_eq!(tables::thousands(999), "999");
    assert_eq!(tables::thousands(1_000), "1,000");
    assert_eq!(tables::seconds(142.6), "143 s");
    assert_eq!(tables::seconds(19.51), "19.5 s");
}

/// `Params::default()`'s fields, by name, as its `Debug` rendering writes
/// them (`Params { evict_rate: 21474836480, paced_cut: true, ... }`).
fn params_by_name() -> Vec<(String, String)> {
    let text = format!("{:?}", Params::default());
    let inner = text
        .strip_prefix("Params { ")
        .and_then(|t| t.strip_suffix(" }"))
        .expect("Params' Debug layout");
    inner
        .split(", ")
        .filter_map(|field| {
            let (name, value) = field.split_once(": ")?;
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

/// A Constants table default as `Debug` writes the field: `20 GiB/s`,
/// `16 MiB`, `64 pages`, `40 pages/s` and `1000` as the number of bytes
/// or units, `on` and `off` as `true` and `false`.
fn documented_value(text: &str) -> Option<String> {
    match text {
        "on" => return Some("true".into()),
        "off" => return Some("false".into()),
        _ => {}
    }
    let mut words = text.split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    let unit = words.next().unwrap_or("");
    let unit = unit.strip_suffix("/s").unwrap_or(unit);
    let scale: u64 = match unit {
        "" | "pages" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale).map(|v| v.to_string())
}

/// MODEL.md's Constants table gives every constant of `Params` with its
/// default, and no other.
#[test]
fn models_constants_table_is_params_default() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = std::fs::read_to_string(root.join("tests-vm/MODEL.md")).unwrap();
    let section = model
        .split("\n## Constants\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("MODEL.md has a Constants section");
    let documented: Vec<(String, String)> = section
        .lines()
        .filter_map(|l| {
            let mut cells = l.split('|').map(str::trim).skip(1);
            let name = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells.next()?.to_string()))
        })
        .collect();
    let params = params_by_name();
    assert!(params.len() > 30, "{params:?}");
    let mut wrong = Vec::new();
    for (name, default) in &documented {
        match params.iter().find(|(n, _)| n == name) {
            None => wrong.push(format!("MODEL.md lists {name}, which Params does not have")),
            Some((_, v)) if documented_value(default).as_ref() != Some(v) => wrong.push(format!(
                "MODEL.md says {name} is {default}; Params::default() has {v}"
            )),
            Some(_) => {}
        }
    }
    for (name, _) in &params {
        if !documented.iter().any(|(n, _)| n == name) {
            wrong.push(format!(
                "Params::{name} is missing from MODEL.md's Constants"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(
        documented_value("20 GiB/s"),
        Some((20u64 << 30).to_string())
    );
    assert_eq!(documented_value("64 pages"), Some("64".into()));
    assert_eq!(documented_value("on"), Some("true".into()));
    assert_eq!(documented_value("about 20"), None);
}

/// README.md's words for `seed-128g` ("128 GiB, a 20 GiB guest running,
/// an ARC of 65 GiB, and a 64 GiB guest being started") are the built-in
/// scenario's figures, in whole GiB.
#[test]
fn readmes_description_of_the_main_scenario_is_the_scenarios() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let s = scenario::builtin("seed-128g").unwrap().unwrap();
    let gib = |b: u64| (b as f64 / GIB as f64).round() as u64;
    let rams: Vec<u64> = s
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::VmCreate { ram, .. } => Some(gib(*ram)),
            _ => None,
        })
        .collect();
    assert_eq!(rams.len(), 2, "a guest running and one being started");
    let said = format!(
        "`seed-128g` is the seed's failing host: {} GiB, a {} GiB guest running,\n\
         an ARC of {} GiB, and a {} GiB guest being started.",
        gib(s.host.physmem),
        rams[0],
        gib(s.arc_size),
        rams[1]
    );
    assert!(readme.contains(&said), "README.md should say:\n{said}");
}
