//! Messages through `cmn_err(9F)`, formatted without an allocator.
//!
//! A message is formatted into a fixed buffer on the stack (truncated, on
//! a character boundary, if it does not fit) and handed to `cmn_err` as
//! the argument of a constant `"arctun: %s"` format (`"!arctun: %s"` for
//! the system log only), so nothing in a message (a tunable name, a
//! value) is ever interpreted as a format directive.

use core::ffi::CStr;
use core::fmt::{self, Write};

use illumos_ddi::kernel::cmn_err;
use illumos_ddi::{c_char, c_int, CE_NOTE, CE_PANIC, CE_WARN};

/// Bytes of a formatted message, NUL included. `cmn_err` itself truncates
/// messages at `LOG_MSGSIZE` (200); a little more keeps the tail intact
/// when the console is not the log.
const MESSAGE_LEN: usize = 256;

/// A NUL-terminated message being formatted.
struct MessageBuf {
    bytes: [u8; MESSAGE_LEN],
    len: usize,
}

impl MessageBuf {
    const fn new() -> Self {
        MessageBuf {
            bytes: [0; MESSAGE_LEN],
            len: 0,
        }
    }

    /// The message as a C string; the last byte is always NUL.
    fn as_ptr(&self) -> *const c_char {
        self.bytes.as_ptr().cast()
    }
}

impl Write for MessageBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Room for the terminating NUL is always kept.
        let room = MESSAGE_LEN.saturating_sub(1).saturating_sub(self.len);
        let mut take = core::cmp::min(room, s.len());
        while !s.is_char_boundary(take) {
            take = take.saturating_sub(1);
        }
        let (Some(src), Some(dst)) = (
            s.as_bytes().get(..take),
            self.bytes.get_mut(self.len..self.len.saturating_add(take)),
        ) else {
            return Err(fmt::Error);
        };
        dst.copy_from_slice(src);
        self.len = self.len.saturating_add(take);
        if take < s.len() {
            // Truncated: the rest of the message is dropped.
            return Err(fmt::Error);
        }
        Ok(())
    }
}

/// Formats `args` and hands them to `cmn_err(level, format, ...)`, where
/// `format` is one of this file's constant formats with one `%s`.
fn emit_as(level: c_int, format: &'static CStr, args: fmt::Arguments<'_>) {
    let mut buf = MessageBuf::new();
    // A formatting error only means the message was truncated; what fit
    // is still worth printing.
    let _ = buf.write_fmt(args);
    // SAFETY: the format is a constant C string with one `%s` (every
    // caller passes one of this file's), matched by one pointer to a
    // NUL-terminated buffer (MessageBuf never writes its last byte, which
    // stays 0) that outlives the call.
    unsafe { cmn_err(level, format.as_ptr(), buf.as_ptr()) };
}

fn emit(level: c_int, args: fmt::Arguments<'_>) {
    emit_as(level, c"arctun: %s", args);
}

/// `cmn_err(CE_WARN, ...)`.
pub fn warn(args: fmt::Arguments<'_>) {
    emit(CE_WARN, args);
}

/// `cmn_err(CE_NOTE, "!...")`: to the system log only, not the console,
/// for what may repeat once a second (bhyve retries a refused start).
pub fn note_to_log(args: fmt::Arguments<'_>) {
    emit_as(CE_NOTE, c"!arctun: %s", args);
}

/// Panics the system with the Rust panic's message and location.
pub fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    emit(CE_PANIC, format_args!("{info}"));
    // cmn_err(CE_PANIC) does not return; if a stand-in for it does, stop
    // here rather than return into code that panicked.
    loop {
        core::hint::spin_loop();
    }
}
