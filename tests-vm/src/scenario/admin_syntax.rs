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

use admin_syntax::{parse_assignment, parse_mdb_write, parse_selector, OperatorMessage};

/// `Ok` if `text` is a kstat write (`module:instance:name:statistic=value`,
/// the value in decimal, `0x` hex or a size such as `8G`), else why not.
pub(super) fn kstat_write(text: &str) -> Result<(), String> {
    let request = text.as_bytes();
    parse_assignment(request).map(drop).map_err(|error| {
        refusal(
            OperatorMessage::BadWriteRequest { request, error },
            "a kstat write is module:instance:name:statistic=value",
        )
    })
}

/// `Ok` if `text` is an `mdb -kw` write to a named variable
/// (`variable/Z value`), else why not.
pub(super) fn mdb_write(text: &str) -> Result<(), String> {
    let command = text.as_bytes();
    parse_mdb_write(command).map(drop).map_err(|error| {
        refusal(
            OperatorMessage::MdbSyntax { command, error },
            "an mdb write is variable/Z value",
        )
    })
}

/// `Ok` if `text` is a `kstat -p` selector
/// (`module:instance:name:statistic`, shell globs allowed), else why not.
pub(super) fn kstat_read(text: &str) -> Result<(), String> {
    let operand = text.as_bytes();
    parse_selector(operand).map(drop).map_err(|error| {
        refusal(
            OperatorMessage::BadSelector { operand, error },
            "a kstat selector is module:instance:name:statistic",
        )
    })
}

/// What the admin's tool would say (the same sentence the run prints),
/// and the form the field takes.
fn refusal(message: OperatorMessage<'_>, form: &str) -> String {
    format!("{message} ({form})")
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
        // Sizes take the suffixes a scenario's own sizes take; a letter
        // that is no suffix is refused where it stands.
        assert_eq!(kstat_write("zfs:0:tunables:zfs_arc_max=8G"), Ok(()));
        assert_eq!(
            kstat_write("zfs:0:tunables:zfs_arc_max=8X"),
            Err(
                "cannot parse 'zfs:0:tunables:zfs_arc_max=8X' at column 29 ('X'): \
                 digit is invalid in the number's base \
                 (a kstat write is module:instance:name:statistic=value)"
                    .to_string()
            )
        );
        let e = kstat_write("zfs:0:tunables").unwrap_err();
        assert!(
            e.contains("at its end (column 15): expected a value to write"),
            "{e}"
        );
        let e = mdb_write("zfs_arc_max/J 1").unwrap_err();
        assert!(
            e.starts_with("syntax error in 'zfs_arc_max/J 1' at column 13 ('J 1')"),
            "{e}"
        );
        assert!(!e.contains("ParseError") && !e.contains('{'), "{e}");
        let e = kstat_read("zfs:0:/arc/").unwrap_err();
        assert!(
            e.starts_with("bad selector 'zfs:0:/arc/' at column 7"),
            "{e}"
        );
        assert!(e.contains("use a glob"), "{e}");
    }
}
