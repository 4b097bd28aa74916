//! Sizes and durations as a scenario file writes them.

use crate::params::{GIB, HZ, MIB, PAGESIZE};

/// Parses a size: plain bytes, or a number (decimals allowed) followed by
/// `K`, `M`, `G` or `T` (powers of 1024), optionally followed by `B` or
/// `iB`, optionally followed by `/s` (for rates).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t).trim_end();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], MIB),
        Some('G' | 'g') => (&t[..t.len() - 1], GIB),
        Some('T' | 't') => (&t[..t.len() - 1], 1u64 << 40),
        _ => (t, 1),
    };
    let num = num.trim();
    let bad = || format!("{s:?} is not a size (expected e.g. 4096, 64G, 1.5T)");
    if num.is_empty() {
        return Err(bad());
    }
    scaled(num, mult).ok_or_else(bad)
}

/// `num × mult` for a decimal `num` (digits, at most one point), exactly
/// when possible, `None` on junk or overflow.
fn scaled(num: &str, mult: u64) -> Option<u64> {
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 9 {
        return None;
    }
    let i: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let whole = i.checked_mul(mult)?;
    if frac.is_empty() {
        return Some(whole);
    }
    let f: u128 = frac.parse().ok()?;
    let den = 10u128.pow(u32::try_from(frac.len()).ok()?);
    let part = u64::try_from(f * u128::from(mult) / den).ok()?;
    whole.checked_add(part)
}

/// Parses a duration: a number with `ms`, `s`, `m` or `h`, or plain
/// seconds; returns ticks.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("{s:?} is not a duration (expected e.g. 10s, 500ms, 2m, 1h)");
    let (num, ms_per_unit) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1u64)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (t, 1000)
    };
    let ms = scaled(num.trim(), ms_per_unit).ok_or_else(bad)?;
    Ok(ms.checked_mul(HZ).ok_or_else(bad)? / 1000)
}

/// `bytes` rounded up to whole pages, as the kernel counts memory.
pub(super) fn page_rounded(bytes: u64) -> u64 {
    bytes.div_ceil(PAGESIZE).saturating_mul(PAGESIZE)
}

/// A size as a scenario file would write it: with the largest suffix
/// that says it exactly, else in bytes.
pub(super) fn show_size(bytes: u64) -> String {
    const TIB: u64 = 1 << 40;
    match bytes {
        0 => "0".to_string(),
        b if b.is_multiple_of(TIB) => format!("{}T", b / TIB),
        b if b.is_multiple_of(GIB) => format!("{}G", b / GIB),
        b if b.is_multiple_of(MIB) => format!("{}M", b / MIB),
        b if b.is_multiple_of(1024) => format!("{}K", b / 1024),
        b => b.to_string(),
    }
}

/// Ticks as a scenario file would write them.
pub(super) fn show_duration(ticks: u64) -> String {
    if ticks.is_multiple_of(HZ) {
        format!("{}s", ticks / HZ)
    } else {
        format!("{}ms", ticks.saturating_mul(1000) / HZ)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64G"), Ok(64 * GIB));
        assert_eq!(parse_size("1.5K"), Ok(1536));
        assert_eq!(parse_size("20G/s"), Ok(20 * GIB));
        assert_eq!(parse_size("2MiB"), Ok(2 * MIB));
        assert!(parse_size("64Q").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert!(parse_size("-1").is_err());
        assert_eq!(parse_duration("10s"), Ok(10 * HZ));
        assert_eq!(parse_duration("250ms"), Ok(25));
        assert_eq!(parse_duration("2m"), Ok(120 * HZ));
        assert_eq!(parse_duration("1.5s"), Ok(150));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn a_bad_size_or_duration_is_quoted_in_its_message() {
        assert_eq!(
            parse_size("64Q"),
            Err("\"64Q\" is not a size (expected e.g. 4096, 64G, 1.5T)".to_string())
        );
        assert_eq!(
            parse_duration("soon"),
            Err("\"soon\" is not a duration (expected e.g. 10s, 500ms, 2m, 1h)".to_string())
        );
    }

    #[test]
    fn figures_are_shown_in_the_files_own_units() {
        assert_eq!(show_size(0), "0");
        assert_eq!(show_size(64 * GIB), "64G");
        assert_eq!(show_size(1 << 40), "1T");
        assert_eq!(show_size(293 * MIB), "293M");
        assert_eq!(show_size(4_280_770_560), "4180440K");
        assert_eq!(show_size(4097), "4097");
        assert_eq!(page_rounded(4097), 8192);
        assert_eq!(page_rounded(0), 0);
        assert_eq!(show_duration(90 * HZ), "90s");
        assert_eq!(show_duration(25), "250ms");
    }
}
