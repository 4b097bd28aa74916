//! `/etc/system`: the line parser, and `apply_etc_system` at boot.
//!
//! Input: the whole file, applied to a host during boot (zfs's and vmm's
//! tunables registered); then boot finishes and `zfs:0:tunables` is read.
//!
//! Checked (`check_etc_system`): a parse error points inside its line;
//! every finding names a line of the file and prints; every malformed
//! line is reported; every value reported applied is in force; every
//! other tunable kept its value (a refused value changes nothing); after
//! boot the limits are ordered and the kstat shows the values in force.

#![no_main]

use arc_tunables_fuzz::admin_input_checks::check_etc_system;
use arc_tunables_fuzz::booting;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = check_etc_system(&booting, data);
});
