//! OPERATING.md's `arcsim import` and `arcsim fit` examples are what the
//! commands print. Each `console` block whose commands are `arcsim`'s is
//! run from the repository's root: `$ cd DIR` changes directory, `$
//! arcsim ARGS` runs the binary (arguments split at blanks), `$ echo $?`
//! prints the last exit status; the lines after a command are its
//! standard output then its standard error, exactly, except that a line
//! `...` stands for any number of lines.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository")
}

/// The `console` blocks of OPERATING.md.
fn console_blocks() -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(root().join("OPERATING.md")).expect("OPERATING.md");
    let mut out = Vec::new();
    let mut open: Option<(bool, Vec<String>)> = None;
    for line in doc.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(tag)) => open = Some((tag == "console", Vec::new())),
            (Some(_), Some(_)) => {
                if let Some((true, body)) = open.take() {
                    out.push(body);
                }
            }
            (Some((_, body)), None) => body.push(line.to_string()),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed block");
    out
}

/// One command and the lines the document says it prints.
struct Step {
    command: String,
    output: Vec<String>,
}

fn steps(block: &[String]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for line in block {
        if let Some(typed) = line.strip_prefix("$ ") {
            out.push(Step {
                command: typed.to_string(),
                output: Vec::new(),
            });
        } else {
            out.last_mut()
                .expect("a block starts with a command")
                .output
                .push(line.clone());
        }
    }
    out
}

/// Whether `printed` is `quoted`, where a quoted `...` matches any number
/// of printed lines.
fn matches(quoted: &[String], printed: &[&str]) -> bool {
    match quoted.split_first() {
        None => printed.is_empty(),
        Some((q, rest)) if q == "..." => {
            (0..=printed.len()).any(|skip| matches(rest, printed.get(skip..).unwrap_or(&[])))
        }
        Some((q, rest)) => printed
            .split_first()
            .is_some_and(|(p, more)| p == q && matches(rest, more)),
    }
}

/// Runs the block; returns how many `arcsim` commands it checked.
fn check(block: &[String]) -> usize {
    let mut dir = root();
    let mut status = 0;
    let mut ran = 0;
    for step in steps(block) {
        let words: Vec<&str> = step.command.split_whitespace().collect();
        let printed: String = match words.as_slice() {
            ["cd", to] => {
                dir = root().join(to);
                assert!(dir.is_dir(), "cd {to}");
                String::new()
            }
            ["echo", "$?"] => format!("{status}\n"),
            ["arcsim", args @ ..] => {
                let out = Command::new(env!("CARGO_BIN_EXE_arcsim"))
                    .args(args)
                    .current_dir(&dir)
                    .output()
                    .expect("arcsim runs");
                status = out.status.code().expect("an exit status");
                ran += 1;
                let mut text = String::from_utf8(out.stdout).expect("UTF-8");
                text.push_str(&String::from_utf8(out.stderr).expect("UTF-8"));
                text
            }
            _ => panic!("OPERATING.md: a console block runs {:?}", step.command),
        };
        let lines: Vec<&str> = printed.lines().collect();
        assert!(
            matches(&step.output, &lines),
            "OPERATING.md quotes for `{}`:\n{}\nbut it prints:\n{printed}",
            step.command,
            step.output.join("\n")
        );
    }
    ran
}

#[test]
fn the_import_and_fit_examples_are_what_arcsim_prints() {
    let blocks: Vec<Vec<String>> = console_blocks()
        .into_iter()
        .filter(|b| b.iter().any(|l| l.starts_with("$ arcsim ")))
        .collect();
    let ran: usize = blocks.iter().map(|b| check(b)).sum();
    // import, fit on one guest, fit on two and a mistyped size.
    assert_eq!(ran, 4);
}

#[test]
fn an_elided_quote_still_has_to_match() {
    let q = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(matches(&q(&["...", "c"]), &["a", "b", "c"]));
    assert!(matches(&q(&["a", "..."]), &["a", "b"]));
    assert!(!matches(&q(&["...", "d"]), &["a", "b", "c"]));
    assert!(!matches(&q(&["a"]), &["a", "b"]));
}
