//! The outcome tables README.md and MODEL.md quote are the runs' output:
//! each committed block equals what `arcsim tables` generates now, so a
//! change to the model that moves a figure fails here until the
//! documents are regenerated (`arcsim tables --write`).

use std::path::Path;

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
