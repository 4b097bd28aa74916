//! OPERATING.md quotes a run of `admin-tour.toml`; this keeps the quotes
//! true: every `kstat -p` line and the console warning it shows are what
//! that run prints, and its example host file is one arcsim accepts.

use std::path::Path;
use std::process::Command;

use tests_vm::scenario::parse_scenario;

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../OPERATING.md");
    std::fs::read_to_string(path).expect("OPERATING.md")
}

/// The lines of the fenced blocks of `doc` whose info string is `info`.
fn blocks(doc: &str, info: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut open: Option<(bool, Vec<String>)> = None;
    for line in doc.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(tag)) => open = Some((tag == info, Vec::new())),
            (Some(_), Some(_)) => {
                if let Some((true, body)) = open.take() {
                    out.push(body);
                }
                open = None;
            }
            (Some((_, body)), None) => body.push(line.to_string()),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed block");
    out
}

fn tour() -> String {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/examples/admin-tour.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_arcsim"))
        .arg("run")
        .arg(&scenario)
        .args(["--policy", "tunables"])
        .output()
        .expect("arcsim runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn every_quoted_kstat_line_is_what_the_tour_prints() {
    let doc = doc();
    let printed = tour();
    let quoted: Vec<String> = blocks(&doc, "")
        .into_iter()
        .flatten()
        .filter(|l| l.starts_with("zfs:0:") || l.starts_with("vmm:0:"))
        .collect();
    assert!(quoted.len() >= 20, "{quoted:?}");
    for line in quoted {
        assert!(
            printed.lines().any(|p| p == line.as_str()),
            "OPERATING.md quotes {line:?}, which the tour does not print"
        );
    }
}

#[test]
fn the_quoted_warning_is_the_one_the_module_gives() {
    let doc = doc();
    let printed = tour();
    let warning = blocks(&doc, "")
        .into_iter()
        .flatten()
        .find_map(|l| l.strip_prefix("WARNING: arctun: ").map(str::to_string))
        .expect("a quoted console warning");
    // cmn_err adds "arctun: "; arcsim prints the message after WARNING.
    assert!(
        printed.contains(&format!("WARNING: {warning}")),
        "{warning:?} not printed"
    );
}

#[test]
fn the_example_host_file_is_one_arcsim_accepts() {
    let doc = doc();
    let toml = blocks(&doc, "toml");
    assert_eq!(toml.len(), 1);
    let s = parse_scenario(&toml[0].join("\n"), "my-host").expect("the example parses");
    assert_eq!(s.events.len(), 1);
}
