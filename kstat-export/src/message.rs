//! Fixed-size messages for a kernel without an allocator.
//!
//! The warnings and findings of this crate implement `Display`; the
//! kernel module formats them into a fixed buffer with [`format_message`]
//! and passes the buffer to `cmn_err(CE_WARN, "%s", ...)`. A message
//! longer than the buffer is cut short, never refused.

use core::fmt;

use heapless::String;

/// The buffer size the kernel module uses for `cmn_err` messages.
pub const MESSAGE_MAX: usize = 256;

/// A `fmt::Write` into a fixed string that drops what does not fit.
struct Truncating<'a, const N: usize>(&'a mut String<N>);

impl<const N: usize> fmt::Write for Truncating<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for ch in s.chars() {
            if self.0.push(ch).is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// `message` formatted into at most `N` bytes.
#[must_use]
pub fn format_message<const N: usize>(message: &dyn fmt::Display) -> String<N> {
    let mut out = String::new();
    // Cannot fail: Truncating never returns an error, and a Display
    // implementation that does is cut short like a long message.
    let _ = fmt::write(&mut Truncating(&mut out), format_args!("{message}"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_not_refused() {
        let s: String<8> = format_message(&"zfs_arc_max: refused");
        assert_eq!(s.as_str(), "zfs_arc_");
        let s: String<64> = format_message(&42);
        assert_eq!(s.as_str(), "42");
    }
}
