//! `mdb -kw` writes to the raw variables, and the sync tick that applies
//! or undoes them.
//!
//! Input: text, one `mdb` command a line (`zfs_arc_max/Z 0x200000000`),
//! each parsed with `parse_mdb_write` and, if it parses, performed on the
//! raw variables of a real component; an empty line runs a sync tick,
//! and one more runs at the end.
//!
//! Checked (`check_mdb_session`): a parse error points inside its input;
//! an `mdb` write changes exactly the bytes it names of one variable and
//! nothing in force; after a tick every variable holds the value in
//! force; every changed variable was either applied or refused, restored
//! to the value kept and reported once with both values; and a tick that
//! applied nothing changed nothing.

#![no_main]

use arc_tunables_fuzz::admin_input_checks::check_mdb_session;
use arc_tunables_fuzz::booted;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = check_mdb_session(&booted, data);
});
