//! Acceptance 6: every parser returns an error, never panics, on arbitrary
//! bytes; and what each accepts satisfies its invariants. Random bytes
//! mostly fail early, so each parser also gets near-valid input from a
//! grammar-shaped generator, which reaches the deep paths.

#[path = "../../kstat-export/tests/common/mod.rs"]
mod common;

use admin_syntax::kstat_operands::glob_match;
use admin_syntax::{
    apply_etc_system, parse_assignment, parse_mdb_write, parse_mdb_write_with_radix,
    parse_selector, parse_system_line, perform_mdb_write, ParseError,
};
use common::{booted, booting};
use kstat_export::RawVariables;
use proptest::prelude::*;

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..300)
}

fn offset_within(e: &ParseError, input: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        e.offset <= input.len(),
        "{e:?} past the end of {} bytes",
        input.len()
    );
    Ok(())
}

const MDB_VALID: &str = "[ \t]{0,2}(zfs`)?(zfs_arc_max|zfs_arc_min|zfs_arc_meta_limit|[a-z_]{1,8})\
                         ( ?\\+ ?[0-9])? ?/ ?[vwWZz] ?(0x[0-9a-f]{1,16}|0t[0-9]{1,20}|[0-9a-f]{1,16}|\
                         0i[01]{1,64}|0o[0-7]{1,22}|\\$\\[ ?0t[0-9]{1,5} ?\\])[ ]?;?";

const SYSTEM_VALID: &str =
    "[ \t]{0,2}(set|SET|set64|set32) (zfs|vmm|ip) ?: ?(zfs_arc_max|zfs_arc_min|\
                            vmm_arc_page_overhead|[a-z_]{1,10}) ?[=&|] ?[~-]?(0x[0-9a-f]{1,16}|\
                            0[0-7]{1,21}|[1-9][0-9]{0,19})( \\* [a-z ]{0,10})?";

const SELECTOR_LIKE: &str = "[a-z*?\\[\\]!\\\\/0-9:_-]{0,40}";

const ASSIGNMENT_VALID: &str =
    "[ ]?(zfs|vmm):(0|[1-9][0-9]{0,9}):(tunables|arcstats|[a-z_]{1,30}):\
                                (zfs_arc_max|[a-z_]{1,30}) ?= ?(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})";

/// Valid input from `grammar`, or valid input with a few random bytes
/// spliced in somewhere: input that fails late, deep in the parser.
fn near_valid(grammar: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        grammar.prop_map(String::into_bytes),
        (
            grammar,
            prop::collection::vec(any::<u8>(), 1..4),
            any::<prop::sample::Index>()
        )
            .prop_map(|(s, junk, at)| {
                let mut v = s.into_bytes();
                let i = at.index(v.len() + 1);
                v.splice(i..i, junk);
                v
            }),
    ]
}

fn check_mdb(input: &[u8], radix: u32) -> Result<(), TestCaseError> {
    match parse_mdb_write_with_radix(input, radix) {
        Err(e) => offset_within(&e, input)?,
        Ok(w) => {
            prop_assert!(!w.symbol.is_empty());
            prop_assert!(matches!(w.width.bytes(), 1 | 2 | 4 | 8));
            // Whatever parses must also be safe to perform.
            let t = booted(16);
            let raw = RawVariables::with_owned_cells(&t).unwrap();
            if let Ok(out) = perform_mdb_write(&raw, &w) {
                let shift = 8 * w.offset as u32;
                let mask = w.width.mask() << shift;
                prop_assert_eq!(
                    out.new & !mask,
                    out.old & !mask,
                    "bytes outside the write changed"
                );
                prop_assert_eq!(out.new & mask, (w.value << shift) & mask);
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn mdb_parser_on_random_bytes(input in bytes(), radix in 0u32..40) {
        check_mdb(&input, radix)?;
        check_mdb(&input, 16)?;
    }

    #[test]
    fn mdb_parser_on_near_valid_input(input in near_valid(MDB_VALID)) {
        check_mdb(&input, 16)?;
        check_mdb(&input, 10)?;
        prop_assert_eq!(parse_mdb_write(&input), parse_mdb_write_with_radix(&input, 16));
    }

    #[test]
    fn system_line_parser_on_any_input(input in bytes(), near in near_valid(SYSTEM_VALID)) {
        for line in [&input[..], &near[..]] {
            if let Err(e) = parse_system_line(line) {
                offset_within(&e, line)?;
            }
        }
    }

    #[test]
    fn etc_system_application_keeps_the_limits_consistent(
        lines in prop::collection::vec(prop_oneof![
            near_valid(SYSTEM_VALID),
            bytes(),
            Just(b"set zfs:zfs_arc_max = 0x200000000".to_vec()),
            Just(b"set zfs:zfs_arc_min = 0x80000000".to_vec()),
        ], 0..12)
    ) {
        let text = lines.join(&b'\n');
        let t = booting(16);
        let report = apply_etc_system(&t, &text);
        t.finish_boot();
        let line_count = text.split(|&b| b == b'\n').count() as u32;
        for f in &report.findings {
            prop_assert!(f.line >= 1 && f.line <= line_count, "{f}");
            prop_assert!(!f.to_string().is_empty());
        }
        for &(name, value, line) in &report.applied {
            prop_assert_eq!(t.get(name).unwrap(), value);
            prop_assert!(line >= 1 && line <= line_count);
        }
        let l = t.limits();
        prop_assert!(l.c_min <= l.c && l.c <= l.c_max, "{l:?}");
    }

    #[test]
    fn selector_parser_and_globs_on_any_input(
        input in bytes(), near in SELECTOR_LIKE, text in "[a-z_*?\\[\\]]{0,20}"
    ) {
        for sel in [&input[..], near.as_bytes()] {
            match parse_selector(sel) {
                Err(e) => offset_within(&e, sel)?,
                Ok(s) => {
                    let _ = s.matches_kstat(text.as_bytes(), -1, text.as_bytes());
                    let _ = s.matches_statistic(&input);
                }
            }
            // The matcher itself takes any pattern, closed or not.
            let _ = glob_match(sel, text.as_bytes());
            let _ = glob_match(sel, &input);
        }
        // Every text matches itself when it has no special characters.
        let plain: Vec<u8> = text.bytes().filter(|b| b"*?[]\\".iter().all(|s| s != b)).collect();
        prop_assert!(glob_match(&plain, &plain));
    }

    #[test]
    fn assignment_parser_on_any_input(input in bytes(), near in near_valid(ASSIGNMENT_VALID)) {
        for a in [&input[..], &near[..]] {
            match parse_assignment(a) {
                Err(e) => offset_within(&e, a)?,
                Ok(r) => {
                    prop_assert!(r.instance >= 0);
                    for name in [&r.module, &r.name, &r.statistic] {
                        prop_assert!(!name.is_empty() && name.len() <= 30);
                        prop_assert!(!name.contains(['*', '?', '[', ':', '=']));
                    }
                }
            }
        }
    }
}
