//! The syntax of the admin commands a scenario carries, checked when the
//! file is loaded.
//!
//! A `kstat_write`, `mdb_write` or `kstat_read` that the admin's own tool
//! could not parse is a mistake in the file, so the file is refused with
//! its line. Whether a well-formed command is accepted (a value in
//! bounds, a kstat that exists on the kernel under test) is the kernel's
//! to judge during the run, as on a host: the run's events carry its
//! answer. The parsers are the ones the run hands the commands to; this is
//! the one place the scenario loader names them.

use kstat_export::{parse_assignment, parse_mdb_write, parse_selector, ParseError};

/// `Ok` if `text` is a kstat write (`module:instance:name:statistic=value`,
/// the value in decimal or `0x` hex), else why not.
pub(super) fn kstat_write(text: &str) -> Result<(), String> {
    parse_assignment(text.as_bytes()).map(drop).map_err(|e| {
        refusal(
            text,
            "a kstat write (module:instance:name:statistic=value)",
            e,
        )
    })
}

/// `Ok` if `text` is an `mdb -kw` write to a named variable
/// (`variable/Z value`), else why not.
pub(super) fn mdb_write(text: &str) -> Result<(), String> {
    parse_mdb_write(text.as_bytes())
        .map(drop)
        .map_err(|e| refusal(text, "an mdb write (variable/Z value)", e))
}

/// `Ok` if `text` is a `kstat -p` selector
/// (`module:instance:name:statistic`, shell globs allowed), else why not.
pub(super) fn kstat_read(text: &str) -> Result<(), String> {
    parse_selector(text.as_bytes())
        .map(drop)
        .map_err(|e| refusal(text, "a kstat selector (module:instance:name:statistic)", e))
}

/// `"TEXT" is not WHAT: REASON at byte N ("REST")`, naming what the
/// parser stopped at.
fn refusal(text: &str, what: &str, e: ParseError) -> String {
    let reason = e.kind.describe();
    let at = e.offset.min(text.len());
    match text.get(at..) {
        Some("") | None => format!("{text:?} is not {what}: {reason}, at its end"),
        Some(rest) => {
            let near: String = rest.chars().take(16).collect();
            format!("{text:?} is not {what}: {reason}, at byte {at} ({near:?})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_commands_pass() {
        assert_eq!(kstat_write("zfs:0:tunables:zfs_arc_max=8589934592"), Ok(()));
        assert_eq!(
            kstat_write("zfs:0:tunables:zfs_arc_max=0x200000000"),
            Ok(())
        );
        assert_eq!(mdb_write("zfs_arc_max/Z 0x100000000"), Ok(()));
        assert_eq!(mdb_write("zfs_arc_min/Z 0t1000"), Ok(()));
        assert_eq!(kstat_read("zfs:0:arcstats:c_max"), Ok(()));
        assert_eq!(kstat_read("zfs::arc*"), Ok(()));
    }

    #[test]
    fn a_refusal_quotes_the_command_and_where_the_parser_stopped() {
        // The kstat write path takes bytes in decimal or hex, no suffix.
        assert_eq!(
            kstat_write("zfs:0:tunables:zfs_arc_max=8G"),
            Err("\"zfs:0:tunables:zfs_arc_max=8G\" is not a kstat write \
                 (module:instance:name:statistic=value): digit is invalid in the \
                 number's base, at byte 28 (\"G\")"
                .to_string())
        );
        let e = kstat_write("zfs:0:tunables").unwrap_err();
        assert!(e.contains("expected a value to write, at its end"), "{e}");
        let e = mdb_write("zfs_arc_max/J 1").unwrap_err();
        assert!(
            e.starts_with("\"zfs_arc_max/J 1\" is not an mdb write"),
            "{e}"
        );
        assert!(!e.contains("ParseError") && !e.contains('{'), "{e}");
        let e = kstat_read("zfs:0:/arc/").unwrap_err();
        assert!(e.contains("use a glob"), "{e}");
    }
}
