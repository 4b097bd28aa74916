//! The module's C interface: what the Rust code exports is what
//! `sys/arctun.h` declares, function by function and type by type.

use arctun_checks::c_decls::{header_prototypes, rust_exports};
use arctun_checks::repo_root;

#[test]
fn every_export_has_the_header_prototype_and_nothing_else_is_exported() {
    let root = repo_root().join("arctun-kmod");
    let header = std::fs::read_to_string(root.join("include/sys/arctun.h")).unwrap();
    let declared = header_prototypes(&header).unwrap();
    let exported = rust_exports(&root.join("src")).unwrap();
    assert!(declared.len() >= 10, "parsed too little: {declared:?}");
    for (name, proto) in &declared {
        let Some(rust) = exported.get(name) else {
            panic!("{name} is declared in the header but not exported");
        };
        assert_eq!(
            rust, proto,
            "{name}: Rust exports {rust}, the header says {proto}"
        );
    }
    for name in exported.keys() {
        // The canary exists only in a build the artifact check refuses.
        if name != "arctun_std_canary" {
            assert!(
                declared.contains_key(name),
                "{name} is exported but not declared"
            );
        }
    }
}
