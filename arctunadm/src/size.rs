//! Sizes as an operator types them, and as the command prints them.
//!
//! A value is a decimal integer with an optional suffix `K`, `M`, `G` or
//! `T` (either case, powers of 1024, as `zfs(8)` and `swap(8)` read
//! them), or a `0x` hexadecimal integer without a suffix (as `mdb` and
//! `/etc/system` write them). Nothing else: no fractions, no signs, no
//! blanks, no `B`. Arithmetic is checked, so a value past 64 bits is an
//! error, never a wrap.

use std::fmt;

use zfs_tunables::{GIB, KIB, MIB, TIB};

/// Why a value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeError {
    /// Nothing was given.
    Empty,
    /// A character that is neither a digit nor a known suffix, at this
    /// byte offset.
    Unexpected(usize),
    /// A suffix with no digits before it.
    NoDigits,
    /// The value does not fit in 64 bits.
    Overflow,
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeError::Empty => write!(f, "no value"),
            SizeError::Unexpected(at) => write!(
                f,
                "unexpected character at offset {at} (a size is digits with an optional K, M, G or T, or 0x and hex digits)"
            ),
            SizeError::NoDigits => write!(f, "no digits before the suffix"),
            SizeError::Overflow => write!(f, "the value exceeds 64 bits"),
        }
    }
}

/// The multiplier of a suffix letter.
fn suffix(b: u8) -> Option<u64> {
    match b.to_ascii_uppercase() {
        b'K' => Some(KIB),
        b'M' => Some(MIB),
        b'G' => Some(GIB),
        b'T' => Some(TIB),
        _ => None,
    }
}

/// Parses `text` as a size in bytes (see the module documentation).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(SizeError::Empty);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if hex.is_empty() {
            return Err(SizeError::NoDigits);
        }
        let mut v: u64 = 0;
        for (i, b) in hex.bytes().enumerate() {
            let d = char::from(b)
                .to_digit(16)
                .ok_or(SizeError::Unexpected(i.saturating_add(2)))?;
            v = v
                .checked_mul(16)
                .and_then(|v| v.checked_add(u64::from(d)))
                .ok_or(SizeError::Overflow)?;
        }
        return Ok(v);
    }
    let mut v: u64 = 0;
    let mut digits = 0usize;
    let mut multiplier = 1u64;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_digit() {
            digits = digits.saturating_add(1);
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or(SizeError::Overflow)?;
        } else if let Some(m) = suffix(b).filter(|_| i.saturating_add(1) == bytes.len()) {
            if digits == 0 {
                return Err(SizeError::NoDigits);
            }
            multiplier = m;
        } else {
            return Err(SizeError::Unexpected(i));
        }
    }
    v.checked_mul(multiplier).ok_or(SizeError::Overflow)
}

/// `bytes` in binary units with one decimal (`8.0 GiB`), or exact below
/// 1 KiB (`120 B`).
#[must_use]
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(TIB, "TiB"), (GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit {
            // Tenths, rounded to nearest, in 128-bit so nothing overflows.
            let tenths = (u128::from(bytes) * 10 + u128::from(unit) / 2) / u128::from(unit);
            return format!("{}.{} {name}", tenths / 10, tenths % 10);
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_powers_of_1024() {
        assert_eq!(parse_size("8G"), Ok(8 * GIB));
        assert_eq!(parse_size("8g"), Ok(8 * GIB));
        assert_eq!(parse_size("512M"), Ok(512 * MIB));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("2T"), Ok(2 * TIB));
        assert_eq!(parse_size("120"), Ok(120));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("0x200000000"), Ok(8 * GIB));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert_eq!(parse_size(""), Err(SizeError::Empty));
        assert_eq!(parse_size("G"), Err(SizeError::NoDigits));
        assert_eq!(parse_size("0x"), Err(SizeError::NoDigits));
        assert_eq!(parse_size("bad"), Err(SizeError::Unexpected(0)));
        assert_eq!(parse_size("8GB"), Err(SizeError::Unexpected(1)));
        assert_eq!(parse_size("1.5G"), Err(SizeError::Unexpected(1)));
        assert_eq!(parse_size("-1"), Err(SizeError::Unexpected(0)));
        assert_eq!(parse_size(" 1"), Err(SizeError::Unexpected(0)));
        assert_eq!(parse_size("0x1G"), Err(SizeError::Unexpected(3)));
        assert_eq!(parse_size("18446744073709551616"), Err(SizeError::Overflow));
        assert_eq!(parse_size("16777216T"), Err(SizeError::Overflow));
        assert_eq!(parse_size("0x10000000000000000"), Err(SizeError::Overflow));
    }

    #[test]
    fn sizes_print_in_binary_units() {
        assert_eq!(format_size(120), "120 B");
        assert_eq!(format_size(8 * GIB), "8.0 GiB");
        assert_eq!(format_size(1_006_632_960), "960.0 MiB");
        assert_eq!(format_size(136_096_776_192), "126.8 GiB");
        assert_eq!(format_size(u64::MAX), "16777216.0 TiB");
    }
}
