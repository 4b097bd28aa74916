//! The kstat write path: `module:instance:name:statistic=value` requests,
//! and raw `kstat_named_t` buffers handed to `zfs:0:tunables`.
//!
//! Input, by its first byte:
//!
//! - `0x00`: a buffer write. The next byte holds flags (bit 0: an
//!   unprivileged caller; bit 1: write `zfs:0:arcstats` instead; bit 2:
//!   no raw variables to tell), and the rest is the caller's `ks_data`,
//!   48 bytes a `kstat_named_t` (name[31], data_type, the 16-byte value
//!   union, little-endian); a trailing partial entry is dropped.
//! - anything else: text, one assignment a line, parsed with
//!   `parse_assignment`; those that parse are written together as root.
//!
//! Checked (`check_kstat_buffer_write`, `check_assignment_lines`): a
//! refused write changes no tunable, no limit, no headroom figure and no
//! raw variable; an accepted one leaves exactly the written values in
//! force and in the raw variables; and the outcome, errno included, is
//! the one the kstat driver's rules and `set_many` on a twin host give.

#![no_main]

use arc_tunables_fuzz::admin_input_checks::{
    check_assignment_lines, check_kstat_buffer_write, kstat_named_from_bytes, BufferWrite,
};
use arc_tunables_fuzz::booted;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| match data {
    [0, flags, buffer @ ..] => {
        let buf = kstat_named_from_bytes(buffer);
        let _ = check_kstat_buffer_write(&booted, BufferWrite::from_bits(*flags), &buf);
    }
    [0] => {}
    text => {
        let _ = check_assignment_lines(&booted, text);
    }
});
