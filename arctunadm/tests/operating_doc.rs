//! OPERATING.md's `arctunadm` examples are what the command prints. The
//! `console` blocks whose commands are `arctunadm`'s run in the
//! document's order on one simulated host, `tour.host`, with a temporary
//! root: `$ arctunadm ARGS` runs the command (arguments split at blanks),
//! `$ cat /PATH` prints a file under the root, `$ echo $?` the last exit
//! status; the lines after a command are its standard output then its
//! standard error, exactly, except that a line `...` stands for any
//! number of lines.

mod common;

use std::path::Path;

use common::{adm, host, TempDir};

const TOUR: &str = include_str!("simulated-hosts/tour.host");

/// The `console` blocks of OPERATING.md.
fn console_blocks() -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../OPERATING.md");
    let doc = std::fs::read_to_string(path).expect("OPERATING.md");
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

#[test]
fn the_arctunadm_examples_are_what_it_prints() {
    let root = TempDir::new("operating-doc");
    let mut h = host(TOUR);
    let mut status = 0;
    let mut ran = Vec::new();
    // (command, quoted output), in the document's order.
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for block in console_blocks()
        .into_iter()
        .filter(|b| b.iter().any(|l| l.starts_with("$ arctunadm ")))
    {
        for line in block {
            match line.strip_prefix("$ ") {
                Some(command) => steps.push((command.to_string(), Vec::new())),
                None => steps
                    .last_mut()
                    .expect("a block starts with a command")
                    .1
                    .push(line),
            }
        }
    }
    for (command, quoted) in steps {
        let words: Vec<&str> = command.split_whitespace().collect();
        let printed = match words.as_slice() {
            ["arctunadm", args @ ..] => {
                let out = adm(&mut h, root.path(), args);
                status = out.status;
                ran.push(args.first().copied().unwrap_or_default().to_string());
                format!("{}{}", out.stdout, out.stderr)
            }
            ["cat", file] => {
                let path = root.path().join(file.trim_start_matches('/'));
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cat {file}: {e}"))
            }
            ["echo", "$?"] => format!("{status}\n"),
            _ => panic!("OPERATING.md: a console block runs {command:?}"),
        };
        let lines: Vec<&str> = printed.lines().collect();
        assert!(
            matches(&quoted, &lines),
            "OPERATING.md quotes for `{command}`:\n{}\nbut it prints:\n{printed}",
            quoted.join("\n")
        );
    }
    // Every subcommand an operator needs is shown.
    for sub in ["get", "set", "status", "profile", "reset"] {
        assert!(ran.iter().any(|r| r == sub), "no {sub} example: {ran:?}");
    }
}

#[test]
fn an_elided_quote_still_has_to_match() {
    let q = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(matches(&q(&["...", "c"]), &["a", "b", "c"]));
    assert!(!matches(&q(&["...", "d"]), &["a", "b", "c"]));
    assert!(!matches(&q(&["a"]), &["a", "b"]));
}
