//! MODEL.md's "Scenario files" is the one statement of the vocabulary:
//! its example loads, uses every key the loader's schema declares and
//! no other, and its table describes exactly those keys.

use std::collections::BTreeSet;
use std::path::Path;

use tests_vm::scenario::{load_scenario, vocabulary};

/// MODEL.md's "Scenario files" section.
fn section() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("MODEL.md");
    let doc = std::fs::read_to_string(path).expect("MODEL.md");
    let start = doc
        .find("\n## Scenario files\n")
        .expect("a Scenario files section");
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// The section's one `toml` block.
fn example(section: &str) -> String {
    let blocks: Vec<&str> = section
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().expect("a closed block"))
        .collect();
    assert_eq!(blocks.len(), 1, "one example");
    blocks[0].to_string()
}

/// Every key path `value` uses below `prefix`: tables, inline tables and
/// arrays of tables (`event`) are walked, a key of every element of an
/// array of tables counts once.
fn keys_used(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        out.insert(path.clone());
        match v {
            toml::Value::Table(t) => keys_used(&path, t, out),
            toml::Value::Array(a) => {
                for t in a.iter().filter_map(toml::Value::as_table) {
                    keys_used(&path, t, out);
                }
            }
            _ => {}
        }
    }
}

/// The keys the section's table describes (its first column).
fn keys_described(section: &str) -> Vec<String> {
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once("` |"))
        .map(|(k, _)| k.to_string())
        .collect()
}

#[test]
fn the_documented_example_loads_without_warnings() {
    let text = example(&section());
    let loaded = load_scenario(&text, "doc").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.warnings, []);
    assert_eq!(loaded.scenario.name, "example");
    assert_eq!(loaded.scenario.events.len(), 10);
}

#[test]
fn the_example_uses_every_key_of_the_schema_and_no_other() {
    let text = example(&section());
    let table: toml::Table = text.parse().expect("TOML");
    let mut used = BTreeSet::new();
    keys_used("", &table, &mut used);
    let schema: BTreeSet<String> = vocabulary().into_iter().collect();
    let missing: Vec<&String> = schema.difference(&used).collect();
    let unknown: Vec<&String> = used.difference(&schema).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "the example lacks {missing:?} and has keys the schema does not know: {unknown:?}"
    );
}

#[test]
fn the_table_describes_every_key_of_the_schema_once_in_its_order() {
    let described = keys_described(&section());
    assert_eq!(described, vocabulary(), "MODEL.md's table of keys");
}
