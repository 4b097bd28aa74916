//! Tests match the run's typed event record, never its text.
//!
//! An event's rendered text (its outcome's message, the admin's
//! assignment, command or selector as typed, a guest's failure text) is
//! what the report prints; tests match on [`tests_vm::event::Event`]'s
//! variants and [`tests_vm::event::Detail`] instead, so that a change of
//! wording cannot make a test pass or fail. This test reads every test
//! file of the crate and fails on any statement that applies a string
//! matcher (`contains`, `starts_with`, `ends_with`, `strip_prefix`,
//! `strip_suffix`, `find`) to such text, naming the file and line.

use std::fs;
use std::path::Path;

/// Where a statement reads an event's text.
const EVENT_TEXT: &[&str] = &[
    ".message()",
    ".event.to_string()",
    "assignment.",
    "command.",
    "selector.",
    ".error.as_deref()",
    ".error.as_ref()",
];

/// Matchers on text.
const MATCHERS: &[&str] = &[
    ".contains(",
    ".starts_with(",
    ".ends_with(",
    ".strip_prefix(",
    ".strip_suffix(",
    ".find(",
];

/// The statements of `source` (split at `;`, comments dropped) with the
/// line each begins on.
fn statements(source: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        if current.trim().is_empty() {
            start = i + 1;
        }
        for c in code.chars() {
            if c == ';' {
                out.push((start, std::mem::take(&mut current)));
                start = i + 1;
            } else {
                current.push(c);
            }
        }
        current.push('\n');
    }
    out.push((start, current));
    out
}

/// Each statement of `source` that matches event text, as `line: text`.
fn text_matches(source: &str) -> Vec<String> {
    statements(source)
        .into_iter()
        .filter(|(_, s)| {
            let compact: String = s.split_whitespace().collect();
            EVENT_TEXT.iter().any(|t| compact.contains(t))
                && MATCHERS.iter().any(|m| compact.contains(m))
        })
        .map(|(line, s)| {
            format!(
                "{line}: {}",
                s.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect()
}

#[test]
fn no_test_matches_event_text() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut found = Vec::new();
    let mut files = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("event_matching.rs") {
            continue;
        }
        files += 1;
        let source = fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        found.extend(
            text_matches(&source)
                .into_iter()
                .map(|m| format!("{name}:{m}")),
        );
    }
    assert!(
        files > 10,
        "read only {files} test files in {}",
        dir.display()
    );
    assert!(
        found.is_empty(),
        "tests match event text; match the typed record (tests_vm::event) instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_a_match_on_event_text() {
    let bad = r#"
fn f(r: &RunResult) {
    let ev = first(r);
    assert!(ev.ok());
    assert!(ev
        .message()
        .contains("ENOMEM"));
}
"#;
    assert_eq!(
        text_matches(bad),
        vec![r#"5: assert!(ev .message() .contains("ENOMEM"))"#]
    );
    let assignment = r#"let w = e.filter(|e| matches!(&e.event, Event::KstatWrite { assignment }
        if assignment.starts_with("zfs:0:tunables:")));"#;
    assert_eq!(text_matches(assignment).len(), 1);
    // Matching the record, and reading kstat output, are fine.
    let good = r#"
    assert_eq!(ev.detail, Some(Detail::Applied { value: 4 }));
    let v = lines.iter().find_map(|l| l.strip_prefix(&prefix));
    assert!((60.0..61.0).contains(&up));
"#;
    assert_eq!(text_matches(good), Vec::<String>::new());
}
