//! A byte cursor and checked number conversion shared by the parsers.
//!
//! Every parser here reads arbitrary bytes through [`Cursor`], which never
//! indexes out of bounds, and converts digits with [`digits_to_u64`],
//! which never wraps: the property tests feed them random input.

use crate::error::{ParseError, ParseErrorKind};

/// A position in an input of bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Cursor { input, pos: 0 }
    }

    /// The byte offset of the cursor.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The byte under the cursor.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// The byte `n` past the cursor.
    pub(crate) fn peek_at(&self, n: usize) -> Option<u8> {
        self.input.get(self.pos.checked_add(n)?).copied()
    }

    /// Takes the byte under the cursor.
    pub(crate) fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos = self.pos.saturating_add(1);
        Some(b)
    }

    /// Takes `b` if it is under the cursor.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos = self.pos.saturating_add(1);
            true
        } else {
            false
        }
    }

    /// Skips spaces and tabs.
    pub(crate) fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos = self.pos.saturating_add(1);
        }
    }

    /// Takes the longest run of bytes satisfying `pred`.
    pub(crate) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos = self.pos.saturating_add(1);
        }
        self.input.get(start..self.pos).unwrap_or(&[])
    }

    /// Whether the whole input has been consumed.
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// An error of `kind` at the cursor.
    pub(crate) fn error(&self, kind: ParseErrorKind) -> ParseError {
        ParseError::new(kind, self.pos)
    }
}

/// The value of `b` as a digit in `radix` (2 to 36), if it is one.
pub(crate) fn digit_value(b: u8, radix: u32) -> Option<u64> {
    char::from(b).to_digit(radix).map(u64::from)
}

/// `digits` (non-empty, every byte a digit of `radix`) as a number;
/// `offset` is where `digits` starts in the input, for errors. An invalid
/// digit is reported where it is; a number too large for 64 bits where
/// it starts, so a message quotes the whole number rather than the digit
/// it overflowed at.
pub(crate) fn digits_to_u64(digits: &[u8], radix: u32, offset: usize) -> Result<u64, ParseError> {
    if digits.is_empty() {
        return Err(ParseError::new(ParseErrorKind::UnexpectedEnd, offset));
    }
    let mut value: u64 = 0;
    for (i, &b) in digits.iter().enumerate() {
        let at = offset.saturating_add(i);
        let d = digit_value(b, radix).ok_or(ParseError::new(ParseErrorKind::InvalidDigit, at))?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(d))
            .ok_or(ParseError::new(ParseErrorKind::Overflow, offset))?;
    }
    Ok(value)
}

/// A name of up to `N` bytes copied into a fixed-size string, or
/// `NameTooLong` at `offset`. `bytes` must be ASCII (the parsers only
/// pass ASCII name characters).
pub(crate) fn fixed_name<const N: usize>(
    bytes: &[u8],
    offset: usize,
) -> Result<heapless::String<N>, ParseError> {
    let s = core::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(ParseErrorKind::UnexpectedByte, offset))?;
    heapless::String::try_from(s).map_err(|_| ParseError::new(ParseErrorKind::NameTooLong, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_checked() {
        assert_eq!(digits_to_u64(b"ff", 16, 0), Ok(255));
        assert_eq!(digits_to_u64(b"18446744073709551615", 10, 0), Ok(u64::MAX));
        assert_eq!(
            digits_to_u64(b"18446744073709551616", 10, 3).unwrap_err(),
            ParseError::new(ParseErrorKind::Overflow, 3)
        );
        assert_eq!(
            digits_to_u64(b"19", 8, 0).unwrap_err(),
            ParseError::new(ParseErrorKind::InvalidDigit, 1)
        );
    }
}
